//! Which database a test's Keel runs on. SQLite, in a file in the test's own
//! directory, unless `TEST_DATABASE` asks for PostgreSQL:
//! - `TEST_DATABASE=postgres`: the server the `PG*` variables name (as
//!   `pg_virtualenv` sets them, which is how `.ci/run` runs the contract suite);
//! - `TEST_DATABASE=postgres://user:password@host:port`: that server.
//!
//! Each test directory gets a database of its own on the server, the same one
//! each time it is opened, so a test can reopen Keel as after a restart. A run
//! told to use PostgreSQL that cannot reach it fails; it never falls back.
#![allow(dead_code)] // each test file uses its own part

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

use sqlx::{Connection, PgConnection};

/// Whether this run uses PostgreSQL.
pub fn postgres() -> bool {
    std::env::var("TEST_DATABASE").is_ok_and(|v| v.starts_with("postgres"))
}

/// The server's URL without a database, from `TEST_DATABASE`, else the `PG*`
/// variables.
pub fn server() -> String {
    let chosen = std::env::var("TEST_DATABASE").unwrap_or_default();
    if chosen.starts_with("postgres://") {
        return chosen.trim_end_matches('/').to_string();
    }
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    format!(
        "postgres://{}:{}@{}:{}",
        var("PGUSER", "postgres"),
        var("PGPASSWORD", ""),
        var("PGHOST", "localhost"),
        var("PGPORT", "5432"),
    )
}

/// The database URL for a test that keeps its data in `dir`, created if need be.
pub async fn url(dir: &Path) -> String {
    if !postgres() {
        return format!("sqlite://{}", dir.join("keel.db").display());
    }
    let mut hasher = DefaultHasher::new();
    dir.hash(&mut hasher);
    postgres_database(&server(), &format!("keel_test_{:016x}", hasher.finish()))
        .await
        .0
}

/// The database `name` on the PostgreSQL server at `server` (a URL without a
/// database), created if missing: its URL, and whether it was just made.
pub async fn postgres_database(server: &str, name: &str) -> (String, bool) {
    let server = server.trim_end_matches('/');
    let mut admin = PgConnection::connect(&format!("{server}/postgres"))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL was asked for, but {} cannot be reached: {e}",
                keel::store::redact_url(server)
            )
        });
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut admin)
            .await
            .unwrap();
    if !exists {
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    (format!("{server}/{name}"), !exists)
}
