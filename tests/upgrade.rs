//! A database made by an earlier Keel, upgraded by `Store::open`: what it held is
//! still there, and the schema is the one the code now expects.

#[path = "support/db.rs"]
mod db;

use std::str::FromStr;

use keel::domain::{CommunityId, MemberId};
use keel::store::{MIGRATOR, Store, StoreOptions};
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
    db::scalars(store, sql, &[]).await
}

/// The steps of SQLite's plan for a statement.
async fn plan(store: &Store, sql: &str) -> Vec<String> {
    let plan: Vec<(i64, i64, i64, String)> =
        db::rows(store, &format!("EXPLAIN QUERY PLAN {sql}"), &[]).await;
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
    let ada = store
        .contributions_by_member(CommunityId(1), MemberId(1), 10)
        .await
        .unwrap();
    let described: Vec<&str> = ada.iter().map(|c| c.description.as_str()).collect();
    assert_eq!(described, ["pruned", "mulched", "planted oaks"]);
    assert!(ada.iter().all(|c| c.member == "ada"));
    let bo = store
        .contributions_by_member(CommunityId(1), MemberId(2), 10)
        .await
        .unwrap();
    assert_eq!(bo.len(), 2);
    let integrity: String = db::scalar(&store, "PRAGMA integrity_check", &[]).await;
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

/// A database as Keel left it before migration 0012: ada's first contribution
/// reached the community's first milestone and her own, both announced and
/// posted, and a digest listed her milestone; bodies named her by text only.
async fn database_before_0012(path: &std::path::Path) {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .create_if_missing(true)
        .foreign_keys(true);
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    MIGRATOR.run_to(10, &mut conn).await.unwrap();
    let body = |title: &str, line: &str| {
        serde_json::json!({"visibility": "Public", "title": title, "lines": [[{"Text": line}]], "fields": []})
            .to_string()
    };
    let community = body(
        "🎉 The community logged its first contribution!",
        "Reached with ada's contribution: “planted oaks”",
    );
    let own = body(
        "🎉 ada logged their first contribution!",
        "Their contribution: “planted oaks”",
    );
    let digest = body(
        "Digest · forest · last 7 days",
        "• ada logged their first contribution!",
    );
    sqlx::query(
        "INSERT INTO communities (id, name, contribution_count, created_at)
             VALUES (1, 'forest', 1, '2026-11-01T09:00:00Z');
         INSERT INTO workspaces (id, community_id, platform, external_id, name, created_at)
             VALUES (1, 1, 'console', 'forest', 'forest', '2026-11-01T09:00:00Z');
         INSERT INTO members (id, community_id, display_name, joined_at, contribution_count)
             VALUES (1, 1, 'ada', '2026-11-01T09:00:00Z', 1), (2, 1, 'bo', '2026-11-01T09:00:00Z', 0);
         INSERT INTO identities (workspace_id, external_user_id, member_id) VALUES (1, 'ada', 1), (1, 'bo', 2);
         INSERT INTO contributions (id, community_id, member_id, description, platform, happened_on, created_at)
             VALUES (1, 1, 1, 'planted oaks', 'console', '2026-11-02', '2026-11-02T10:00:00Z');
         INSERT INTO member_daily_activity (community_id, day, member_id, contributions)
             VALUES (1, '2026-11-02', 1, 1);
         INSERT INTO milestone_achievements (id, community_id, milestone_key, subject, title, member_id, contribution_id, achieved_at)
             VALUES (1, 1, 'community.count.1', 'community', 'The community logged its first contribution!', NULL, 1, '2026-11-02T10:00:00.000Z'),
                    (2, 1, 'member.count.1', 'member:1', 'ada logged their first contribution!', 1, 1, '2026-11-02T10:00:00.000Z');
         INSERT INTO announcements (id, community_id, kind, achievement_id, about_member_id, body, created_at)
             VALUES (1, 1, 'milestone', 1, 1, ?1, '2026-11-02T10:00:00.000Z'),
                    (2, 1, 'milestone', 2, 1, ?2, '2026-11-02T10:00:00.000Z'),
                    (3, 1, 'digest', NULL, NULL, ?3, '2026-11-09T09:00:00.000Z');
         INSERT INTO announcement_deliveries (announcement_id, workspace_id, status, next_attempt_at, posted_channel, posted_message)
             VALUES (1, 1, 'delivered', '2026-11-02T10:00:00.000Z', 'console', '1'),
                    (2, 1, 'delivered', '2026-11-02T10:00:00.000Z', 'console', '2'),
                    (3, 1, 'delivered', '2026-11-09T09:00:00.000Z', 'console', '3');",
    )
    .bind(community)
    .bind(own)
    .bind(digest)
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
}

/// Migration 0012 records whom earlier announcements and digests name, so an
/// erasure after the upgrade redacts them too (whole: their bodies name her by
/// text, not by id) and edits what was posted.
#[tokio::test]
async fn announcements_from_before_0012_are_redacted_by_member() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keel.db");
    database_before_0012(&path).await;
    let store = Store::open(&StoreOptions::new(format!("sqlite://{}", path.display())))
        .await
        .unwrap();
    let named: Vec<(i64, i64, i64)> = db::rows(
        &store,
        "SELECT announcement_id, member_id, whole FROM announcement_members ORDER BY 1",
        &[],
    )
    .await;
    assert_eq!(named, [(1, 1, 0), (2, 1, 1), (3, 1, 0)]);

    let clock = std::sync::Arc::new(keel::domain::clock::ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z")
            .unwrap()
            .to_utc(),
    ));
    let app = keel::app::App::new(store, clock);
    let ada = app
        .actor(&keel::domain::Envelope {
            platform: keel::domain::Platform::Console,
            workspace_id: "forest".into(),
            workspace_name: "forest".into(),
            user_id: "ada".into(),
            user_name: "ada".into(),
            role: keel::domain::Role::Member,
        })
        .await
        .unwrap();
    app.handle_line(&ada, "forget-me confirm").await.unwrap();
    let bodies = strings(app.store(), "SELECT body FROM announcements ORDER BY id").await;
    assert_eq!(bodies.len(), 3);
    for body in &bodies {
        assert!(!body.contains("ada") && !body.contains("oaks"), "{body}");
    }
    let edits = strings(
        app.store(),
        "SELECT posted_message FROM announcement_deliveries
         WHERE status = 'pending' AND action = 'edit' ORDER BY 1",
    )
    .await;
    assert_eq!(edits, ["1", "2", "3"]);
    app.store().close().await;
}
