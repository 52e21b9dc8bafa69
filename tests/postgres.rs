//! What only PostgreSQL has: `keel migrate-to`. Built with the `postgres-tests`
//! feature and run with `TEST_DATABASE=postgres` (as `.ci/run` does under
//! `pg_virtualenv`); it fails when PostgreSQL cannot be reached.
#![cfg(feature = "postgres-tests")]

#[path = "support/database.rs"]
mod database;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use sqlx::Connection;

fn keel(dir: &Path, url: &str, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(args)
        .current_dir(dir)
        .env("KEEL_DATABASE__URL", url)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "keel {args:?}: {out:?}");
    out
}

/// What an organiser sees: every figure `stats`, `health` and `goal list` give.
fn figures(dir: &Path, url: &str) -> String {
    let out = keel(
        dir,
        url,
        &[
            "console",
            "--as",
            "Organiser",
            "--organiser",
            "--community",
            "Demo",
        ],
        "stats\nhealth\ngoal list\nleaderboard\ncontributions\n",
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[tokio::test]
async fn migrate_to_keeps_every_row_id_and_stats_figure() {
    assert!(database::postgres(), "run with TEST_DATABASE=postgres");
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("keel.db").display());
    keel(
        dir.path(),
        &sqlite,
        &[
            "demo",
            "--community",
            "Demo",
            "--members",
            "150",
            "--contributions",
            "4000",
            "--days",
            "90",
        ],
        "",
    );
    let before = figures(dir.path(), &sqlite);
    assert!(before.contains("Contributions"), "{before}");

    let postgres = database::url(&dir.path().join("pg")).await;
    let out = keel(dir.path(), &sqlite, &["migrate-to", &postgres], "");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("contributions") && said.contains("4000 rows"),
        "{said}"
    );

    let after = figures(dir.path(), &postgres);
    assert_eq!(before, after);

    // Ids are kept, and the next one comes after them.
    let mut pg = sqlx::PgConnection::connect(&postgres).await.unwrap();
    let first_ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM contributions ORDER BY id LIMIT 3")
            .fetch_all(&mut pg)
            .await
            .unwrap();
    assert_eq!(first_ids, [1, 2, 3]);
    keel(
        dir.path(),
        &postgres,
        &["console", "--as", "Organiser", "--community", "Demo"],
        "contribute After the move\n",
    );
    let newest: (i64, String) =
        sqlx::query_as("SELECT id, description FROM contributions ORDER BY id DESC LIMIT 1")
            .fetch_one(&mut pg)
            .await
            .unwrap();
    assert_eq!(newest, (4001, "After the move".to_string()));

    // A second copy into a database that holds data is refused.
    let again = Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["migrate-to", &postgres])
        .current_dir(dir.path())
        .env("KEEL_DATABASE__URL", &sqlite)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already holds Keel data"),
        "{again:?}"
    );
}
