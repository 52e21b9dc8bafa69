//! Storage: the [`Store`] facade, one module per aggregate (its types and its
//! operations), the queries both engines run (`sql/`), and each engine's own
//! machinery (`sqlite/`).

/// Runs `$body` on the engine that holds the data, with `$e` its backend, `sql`
/// its instance of the shared queries (`store/sql`) and `native` its own
/// statements where the engines differ (same names in each engine's `native`):
/// a facade operation is written once and compiled for each engine. Each backend offers the same
/// surface: `read` (a pool for reads), `write`, `write_in` and
/// `write_or_refuse_in` (one write transaction).
macro_rules! on_engine {
    ($store:expr, $e:ident => $body:expr) => {
        match &$store.engine {
            $crate::store::Engine::Sqlite($e) => {
                #[allow(unused_imports)]
                use $crate::store::sqlite::{native, sql};
                $body
            }
            $crate::store::Engine::Postgres($e) => {
                #[allow(unused_imports)]
                use $crate::store::postgres::{native, sql};
                $body
            }
        }
    };
}

pub mod activity;
pub mod communities;
pub mod contributions;
pub mod corrections;
pub mod demo;
pub mod discord_events;
pub(crate) mod errors;
pub mod event_figures;
pub mod events;
pub mod export;
pub mod forget;
pub mod goals;
pub mod health;
mod ids;
pub mod insights;
mod inspect;
pub mod kudos;
pub mod links;
mod migrate_to;
pub mod milestones;
pub mod mission;
pub mod notices;
pub mod ops;
pub mod outbox;
pub mod pairing;
mod postgres;
pub mod private_files;
pub mod redaction;
pub mod review;
pub mod schedules;
#[cfg(feature = "slack")]
pub mod slack;
mod sqlite;
pub mod stats;
pub mod windows;
mod writer_queue;

use std::time::Duration;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
pub use inspect::{Inspect, InspectWrite};
pub use migrate_to::{Migrated, migrate_to};
pub use postgres::MIGRATOR as POSTGRES_MIGRATOR;
pub use sqlite::backup;
pub use sqlite::{MIGRATOR, WriteTransaction};

pub use crate::domain::contribution::{ContributionRequest, Recorded};
use crate::error::{Error, Result};

/// How to open the database; see `[database]` in config.example.toml.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub url: String,
    /// FULL by default: an acknowledged contribution survives power loss.
    pub synchronous_full: bool,
    pub busy_timeout: Duration,
    pub read_connections: u32,
    /// PostgreSQL: connections this process keeps.
    pub pool_size: u32,
}

impl StoreOptions {
    pub fn new(url: impl Into<String>) -> Self {
        StoreOptions {
            url: url.into(),
            synchronous_full: true,
            busy_timeout: Duration::from_secs(5),
            read_connections: 4,
            pool_size: 10,
        }
    }
}

/// Keel's data, behind named operations that speak domain types. Which engine
/// holds it is the store's business: the operations are written once (the
/// queries in `store/sql`, compiled for each engine) and each engine keeps its
/// own machinery in its folder.
#[derive(Clone)]
pub struct Store {
    engine: Engine,
}

#[derive(Clone)]
enum Engine {
    Sqlite(std::sync::Arc<sqlite::Backend>),
    Postgres(std::sync::Arc<postgres::Backend>),
}

impl Store {
    /// Opens (creating if needed) the database the URL names, applies migrations
    /// and starts the contribution writer.
    pub async fn open(options: &StoreOptions) -> Result<Store> {
        let engine = if is_postgres(&options.url) {
            Engine::Postgres(std::sync::Arc::new(postgres::Backend::open(options).await?))
        } else {
            Engine::Sqlite(std::sync::Arc::new(sqlite::Backend::open(options).await?))
        };
        Ok(Store { engine })
    }

    /// The database engine and its version, such as "SQLite 3.51.3"; a query that
    /// answers, so it also says the database is reachable.
    pub async fn engine_version(&self) -> Result<String> {
        match &self.engine {
            Engine::Sqlite(b) => Ok(format!("SQLite {}", b.sqlite_version().await?)),
            Engine::Postgres(b) => Ok(format!("PostgreSQL {}", b.server_version().await?)),
        }
    }

    /// Records a contribution through the engine's group commit; answers once it
    /// is durable.
    pub async fn record_contribution(&self, request: ContributionRequest) -> Result<Recorded> {
        match &self.engine {
            Engine::Sqlite(b) => b.contributions().record(request).await,
            Engine::Postgres(b) => b.contributions().record(request).await,
        }
    }

    /// Empties SQLite's WAL once nothing uses it, so no older version of a page
    /// (an erased member's text) stays in the WAL file; tries for up to `patience`.
    /// Returns how long the write lock was held for it, or None if the WAL stayed
    /// in use throughout.
    pub async fn scrub_wal(&self, patience: Duration) -> Result<Option<Duration>> {
        match &self.engine {
            Engine::Sqlite(b) => b.scrub_wal(patience).await,
            // PostgreSQL keeps no file of Keel's to scrub; see the README on VACUUM.
            Engine::Postgres(_) => Ok(Some(Duration::ZERO)),
        }
    }

    /// Waits for queued writes and closes every connection.
    pub async fn close(&self) {
        match &self.engine {
            Engine::Sqlite(b) => b.close().await,
            Engine::Postgres(b) => b.close().await,
        }
    }
}

/// Copies the database into `target`, a new file, while Keel runs; returns its
/// size. SQLite: `VACUUM INTO`, fsync and an integrity check. PostgreSQL:
/// `pg_dump --format=custom`.
pub async fn backup_to(url: &str, target: &std::path::Path) -> Result<u64> {
    if is_postgres(url) {
        postgres::dump::backup(url, target).await
    } else {
        sqlite::backup::backup(url, target).await
    }
}

/// Puts a backup in place of the database (Keel stopped). SQLite keeps the file it
/// replaces and returns where; PostgreSQL's `pg_restore` replaces the tables in one
/// transaction.
pub async fn restore_from(
    url: &str,
    backup: &std::path::Path,
) -> Result<Option<std::path::PathBuf>> {
    if is_postgres(url) {
        postgres::dump::restore(url, backup).await?;
        Ok(None)
    } else {
        sqlite::backup::restore(url, backup).await
    }
}

/// Whether a database URL names PostgreSQL.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The URL without its password or query (which may hold one, or a key file):
/// `postgres://keel:secret@db/keel?sslmode=require` shows as `postgres://keel:***@db/keel`.
pub fn redact_url(url: &str) -> String {
    let url = url.split('?').next().unwrap_or(url);
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Times are stored as RFC 3339 UTC text with milliseconds, so they sort as text.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::internal("stored timestamp", e))
}

pub fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub fn parse_day(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| Error::internal("stored day", e))
}

/// `($1,$2),($3,$4)…`: numbered placeholders for a multi-row VALUES list, the
/// first numbered `first` (1 unless other parameters come before).
pub fn numbered_values(first: usize, rows: usize, columns: usize) -> String {
    let mut out = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        out.push_str(if row == 0 { "(" } else { ",(" });
        for column in 0..columns {
            if column > 0 {
                out.push(',');
            }
            out.push('$');
            out.push_str(&(first + row * columns + column).to_string());
        }
        out.push(')');
    }
    out
}

/// `(?,?),(?,?)…`: placeholders for a multi-row VALUES list.
pub fn values_placeholders(rows: usize, columns: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(","));
    vec![row; rows].join(",")
}

/// Marks SQL assembled at run time as safe. Every such string in this module is
/// built from constant fragments and `?` placeholders only; values are always bound.
pub fn built(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbered_values_count_on_from_the_first() {
        assert_eq!(super::numbered_values(1, 2, 2), "($1,$2),($3,$4)");
        assert_eq!(super::numbered_values(3, 1, 3), "($3,$4,$5)");
    }
}
