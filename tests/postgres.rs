//! What only PostgreSQL has: `keel migrate-to`, and processes that hear of each
//! other's deliveries through LISTEN/NOTIFY. Built with the `postgres-tests`
//! feature and run with `TEST_DATABASE=postgres` (as `.ci/run` does under
//! `pg_virtualenv`); it fails when PostgreSQL cannot be reached.
#![cfg(feature = "postgres-tests")]

#[path = "support/keel.rs"]
mod support;
use support::database;

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

/// A platform that records what it is given to deliver.
struct Recorder(std::sync::Mutex<Vec<String>>);

impl keel::jobs::outbox::Notifier for Recorder {
    fn platform(&self) -> keel::domain::Platform {
        keel::domain::Platform::Console
    }
    fn deliver<'a>(
        &'a self,
        delivery: &'a keel::store::outbox::Delivery,
    ) -> futures_util::future::BoxFuture<
        'a,
        Result<keel::store::outbox::Posted, keel::jobs::outbox::DeliveryError>,
    > {
        Box::pin(async move {
            self.0
                .lock()
                .unwrap()
                .push(delivery.body.title.clone().unwrap_or_default());
            Ok(keel::store::outbox::Posted {
                channel: "C1".into(),
                message: delivery.announcement.to_string(),
            })
        })
    }
}

/// A jobs worker in one process hears at once of announcements another
/// process queued (migration 0014's NOTIFY), rather than at its next look 30 s
/// on.
#[tokio::test(flavor = "multi_thread")]
async fn a_jobs_worker_hears_at_once_of_what_another_process_queued() {
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(keel::domain::clock::ManualClock::new(chrono::Utc::now()));
    let web = support::open(&dir, clock.clone()).await;
    let jobs = support::open(&dir, clock.clone()).await;
    let recorder = Arc::new(Recorder(std::sync::Mutex::new(Vec::new())));
    let (stop, shutdown) = keel::jobs::shutdown_pair();
    let worker = tokio::spawn(
        keel::jobs::outbox::Deliverer::new(jobs.clone(), vec![recorder.clone()]).run(shutdown),
    );
    // Nothing is due: the worker settles into its wait.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let member = support::actor(&web, "forest", "ann", keel::domain::Role::Organiser).await;
    web.handle_line(&member, "contribute Planted a tree")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while recorder.0.lock().unwrap().len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivered = recorder.0.lock().unwrap().clone();
    assert_eq!(delivered.len(), 2, "{delivered:?}");
    stop.trigger();
    worker.await.unwrap();
}
