//! A database made by an earlier Keel, upgraded by `Store::open`: what it held is
//! still there, and the schema is the one the code now expects.

use std::str::FromStr;

use keel::domain::{CommunityId, MemberId};
use keel::store::{MIGRATOR, Store, StoreOptions, contributions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

/// A database as Keel left it before migration 0008: one community, two members,
/// five contributions.
async fn database_before_0008(path: &std::path::Path) {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .create_if_missing(true)
        .foreign_keys(true);
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    MIGRATOR.run_to(7, &mut conn).await.unwrap();
    sqlx::raw_sql(
        "INSERT INTO communities (id, name, contribution_count, created_at)
             VALUES (1, 'forest', 5, '2026-11-01T09:00:00Z');
         INSERT INTO members (id, community_id, display_name, joined_at, contribution_count)
             VALUES (1, 1, 'ada', '2026-11-01T09:00:00Z', 3),
                    (2, 1, 'bo', '2026-11-01T09:00:00Z', 2);
         INSERT INTO contributions (community_id, member_id, description, platform, happened_on, created_at)
             VALUES (1, 1, 'planted oaks', 'console', '2026-11-02', '2026-11-02T10:00:00Z'),
                    (1, 2, 'watered', 'console', '2026-11-02', '2026-11-02T11:00:00Z'),
                    (1, 1, 'mulched', 'console', '2026-11-03', '2026-11-03T10:00:00Z'),
                    (1, 2, 'weeded', 'console', '2026-11-04', '2026-11-04T10:00:00Z'),
                    (1, 1, 'pruned', 'console', '2026-11-05', '2026-11-05T10:00:00Z');",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
}

async fn strings(store: &Store, sql: &str) -> Vec<String> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(&store.read)
        .await
        .unwrap()
}

/// The steps of SQLite's plan for a statement.
async fn plan(store: &Store, sql: &str) -> Vec<String> {
    let plan: Vec<(i64, i64, i64, String)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
            .fetch_all(&store.read)
            .await
            .unwrap();
    plan.into_iter().map(|(_, _, _, step)| step).collect()
}

#[tokio::test]
async fn contributions_keep_their_members_after_the_member_index_goes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keel.db");
    database_before_0008(&path).await;

    let store = Store::open(&StoreOptions::new(format!("sqlite://{}", path.display())))
        .await
        .unwrap();

    // The member key is gone from the schema (its rule is kept in code); the
    // community and goal keys stay.
    let keys = strings(
        &store,
        "SELECT \"table\" FROM pragma_foreign_key_list('contributions') ORDER BY 1",
    )
    .await;
    assert_eq!(keys, ["communities", "goals"]);
    let indexes = strings(
        &store,
        "SELECT name FROM pragma_index_list('contributions') ORDER BY 1",
    )
    .await;
    assert_eq!(
        indexes,
        ["contributions_by_community", "contributions_by_goal"]
    );
    let columns = strings(
        &store,
        "SELECT name FROM pragma_index_info('contributions_by_community') ORDER BY seqno",
    )
    .await;
    assert_eq!(columns, ["community_id", "id", "member_id"]);

    // Every contribution is still there, under its member, newest first.
    let ada = contributions::by_member(&store.read, CommunityId(1), MemberId(1), 10)
        .await
        .unwrap();
    let described: Vec<&str> = ada.iter().map(|c| c.description.as_str()).collect();
    assert_eq!(described, ["pruned", "mulched", "planted oaks"]);
    assert!(ada.iter().all(|c| c.member == "ada"));
    let bo = contributions::by_member(&store.read, CommunityId(1), MemberId(2), 10)
        .await
        .unwrap();
    assert_eq!(bo.len(), 2);
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&store.read)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");

    // A member's contributions are found inside the community's index, never by
    // scanning the table, for every statement that looks them up by member; nor
    // does deleting them scan another table for the rows naming them (migration
    // 0009).
    for sql in [
        "SELECT c.id FROM contributions c JOIN members m ON m.id = c.member_id
         WHERE c.community_id = 1 AND c.member_id = 1 ORDER BY c.happened_on DESC, c.id DESC LIMIT 10",
        "DELETE FROM contributions WHERE community_id = 1 AND member_id = 1",
        "UPDATE contributions SET member_id = 2 WHERE community_id = 1 AND member_id = 1",
    ] {
        let steps = plan(&store, sql).await;
        assert!(
            steps
                .iter()
                .any(|s| s.contains("USING") && s.contains("INDEX contributions_by_community")),
            "{sql}: {steps:?}"
        );
        assert!(!steps.iter().any(|s| s.starts_with("SCAN")), "{sql}: {steps:?}");
    }
    // Deleting a member scans only tables that hold a few rows per community.
    let sql = "DELETE FROM members WHERE community_id = 1 AND id = 1";
    let mut scanned: Vec<String> = plan(&store, sql)
        .await
        .into_iter()
        .filter_map(|s| s.strip_prefix("SCAN ").map(str::to_string))
        .collect();
    scanned.sort();
    assert_eq!(
        scanned,
        ["goals", "link_codes", "milestones", "mission_versions"],
        "{sql}"
    );
    store.close().await;
}
