//! Rolling deploys (issue 20 §3): while processes are replaced one by one, the
//! previous release's code runs on the schema the new release migrated to. So
//! migrations since then only expand (new tables, new nullable or defaulted
//! columns, new indexes and triggers), and every statement the previous release
//! runs, as its source wrote it (tests/previous_release/statements.tsv), is
//! still accepted by the database: prepared on the new schema wherever the
//! previous schema accepted it. On SQLite, and on PostgreSQL with
//! `TEST_DATABASE=postgres`.

#[path = "support/database.rs"]
mod database;

use std::path::Path;

use sqlx::{Connection, Executor};

/// The last migrations of the previous release (f3e590c, before issue 20).
const PREVIOUS_SQLITE: i64 = 24;
const PREVIOUS_POSTGRES: i64 = 11;

/// What a migration must not do while the previous release still runs: take
/// away or change what its statements use.
const CONTRACTING: [&str; 9] = [
    "DROP TABLE",
    "DROP COLUMN",
    "DROP VIEW",
    "DROP TRIGGER",
    "DROP FUNCTION",
    "RENAME",
    "SET NOT NULL",
    "ALTER COLUMN",
    "DELETE FROM",
];

/// The migrations of `folder` numbered past `previous`: (file name, SQL
/// without comments).
fn migrations_since(folder: &str, previous: i64) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let mut found: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().to_string())
        .filter(|name| {
            name.split('_')
                .next()
                .and_then(|n| n.parse::<i64>().ok())
                .is_some_and(|n| n > previous)
        })
        .map(|name| {
            let sql = std::fs::read_to_string(dir.join(&name)).unwrap();
            let code: Vec<&str> = sql.lines().map(|l| l.split("--").next().unwrap()).collect();
            (name, code.join("\n"))
        })
        .collect();
    found.sort();
    found
}

/// Why `sql` would break the previous release, if it would.
fn contracts(sql: &str) -> Option<String> {
    let upper = sql.to_uppercase();
    if let Some(word) = CONTRACTING.iter().find(|w| upper.contains(*w)) {
        return Some(format!("it has {word}"));
    }
    // A column the previous release does not write must fill itself in.
    upper
        .split(';')
        .filter(|s| s.contains("ADD COLUMN") && s.contains("NOT NULL") && !s.contains("DEFAULT"))
        .map(|s| format!("it adds a NOT NULL column without a DEFAULT: {}", s.trim()))
        .next()
}

#[test]
fn migrations_since_the_previous_release_only_expand() {
    let since = [
        migrations_since("migrations/sqlite", PREVIOUS_SQLITE),
        migrations_since("migrations/postgres", PREVIOUS_POSTGRES),
    ]
    .concat();
    assert!(since.len() >= 7, "issue 20's migrations: {since:?}");
    for (name, sql) in &since {
        assert_eq!(contracts(sql), None, "{name}");
    }
    // The check finds what it looks for.
    assert!(contracts("ALTER TABLE members DROP COLUMN left_at;").is_some());
    assert!(contracts("ALTER TABLE members ADD COLUMN x TEXT NOT NULL;").is_some());
    assert_eq!(
        contracts("ALTER TABLE members ADD COLUMN x TEXT NOT NULL DEFAULT '';"),
        None
    );
}

/// The previous release's statements: (source file, SQL).
fn previous_statements() -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/previous_release/statements.tsv");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('\t'))
        .map(|(file, sql)| (file.to_string(), sql.to_string()))
        .collect()
}

/// Which statements `conn`'s schema accepts: each prepared, none run.
async fn accepted<C>(conn: &mut C, statements: &[(String, String)]) -> Vec<Result<(), String>>
where
    for<'c> &'c mut C: Executor<'c>,
{
    let mut results = Vec::new();
    for (_, sql) in statements {
        results.push(
            conn.prepare(sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(
                sql.as_str(),
            )))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        );
    }
    results
}

#[tokio::test]
async fn the_previous_release_statements_are_accepted_by_the_new_schema() {
    let statements = previous_statements();
    assert!(statements.len() > 300, "{}", statements.len());
    let (previous_dir, current_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (previous_url, current_url) = (
        database::url(previous_dir.path()).await,
        database::url(current_dir.path()).await,
    );
    let (before, after) = if database::postgres() {
        let mut previous = sqlx::PgConnection::connect(&previous_url).await.unwrap();
        let mut current = sqlx::PgConnection::connect(&current_url).await.unwrap();
        let migrator = &keel::store::POSTGRES_MIGRATOR;
        migrator
            .run_to(PREVIOUS_POSTGRES, &mut previous)
            .await
            .unwrap();
        migrator.run(&mut current).await.unwrap();
        (
            accepted(&mut previous, &statements).await,
            accepted(&mut current, &statements).await,
        )
    } else {
        let connect = async |url: &str| {
            let options: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
            sqlx::SqliteConnection::connect_with(&options.create_if_missing(true))
                .await
                .unwrap()
        };
        let (mut previous, mut current) =
            (connect(&previous_url).await, connect(&current_url).await);
        let migrator = &keel::store::MIGRATOR;
        migrator
            .run_to(PREVIOUS_SQLITE, &mut previous)
            .await
            .unwrap();
        migrator.run(&mut current).await.unwrap();
        (
            accepted(&mut previous, &statements).await,
            accepted(&mut current, &statements).await,
        )
    };
    // Nearly all prepare on the schema they were written for (on PostgreSQL a
    // few cannot without their binds' types), so the comparison says something.
    let prepared = before.iter().filter(|r| r.is_ok()).count();
    assert!(
        prepared * 10 >= statements.len() * 9,
        "only {prepared} of {} prepared on the previous schema: {:?}",
        statements.len(),
        before
            .iter()
            .filter_map(|r| r.as_ref().err())
            .take(5)
            .collect::<Vec<_>>()
    );
    let broken: Vec<String> = statements
        .iter()
        .zip(before.iter().zip(&after))
        .filter(|(_, (before, after))| before.is_ok() && after.is_err())
        .map(|((file, sql), (_, after))| {
            format!("{file}: {sql}\n  {}", after.as_ref().unwrap_err())
        })
        .collect();
    assert!(
        broken.is_empty(),
        "the new schema refuses:\n{}",
        broken.join("\n")
    );
}
