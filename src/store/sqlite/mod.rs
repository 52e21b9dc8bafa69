//! The SQLite engine: one database file in WAL mode, one writer connection that
//! writers take in turn, a pool of read-only connections beside it, group commit
//! for contributions, checkpoints, and online backup.
//!
//! Storage discipline (RELIABILITY.md Q1–Q3): WAL, `synchronous=FULL` unless the
//! operator chooses otherwise, foreign keys on, a busy timeout, and every write in a
//! `BEGIN IMMEDIATE` transaction on the one writer connection. Reads use a separate
//! pool and never block the writer.

pub mod backup;
mod checkpoint;
pub(in crate::store) mod group_commit;
mod placeholders;
pub(in crate::store) mod script;
mod write_connection;

/// The engine's types, as the queries both engines share (`store/sql`) name them.
pub(in crate::store) mod engine {
    pub use sqlx::SqliteConnection as Conn;
    pub use sqlx::SqliteExecutor as Executor;
    pub use sqlx::SqlitePool as Pool;

    /// Marks SQL assembled at run time as safe (see [`crate::store::built`]), its
    /// placeholders as SQLite binds them fastest. SQLite finds each numbered one
    /// (`$7`), when it parses the statement and again when sqlx binds it, by a
    /// linear search of the statement's names: a statement of 4,410 took 93 ms
    /// where `?` took under 1 ms. `$1`, `$2`, … each once and in order are `?`s.
    pub fn built(sql: String) -> sqlx::AssertSqlSafe<String> {
        crate::store::built(super::placeholders::in_order(sql))
    }

    /// Takes a community's write turn within a transaction already begun:
    /// nothing to do, every write already runs on the one writer connection.
    pub async fn lock_community(
        _: &mut Conn,
        _: crate::domain::CommunityId,
    ) -> crate::error::Result<()> {
        Ok(())
    }

    /// A read transaction that sees one snapshot throughout (a deferred
    /// transaction on a read connection: no lock).
    pub async fn snapshot(
        pool: &Pool,
    ) -> crate::error::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(pool.begin().await?)
    }
}

// The shared queries, compiled once for this engine: loading the same files as
// a module of each engine is the point (see store/sql/mod.rs).
#[allow(clippy::duplicate_mod)]
#[path = "../sql/mod.rs"]
pub(in crate::store) mod sql;

pub(in crate::store) mod native;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool};
use write_connection::WriteConnection;
pub use write_connection::WriteTransaction;

use super::{StoreOptions, built, milestones, private_files, redact_url};
use crate::domain::CommunityId;
use crate::error::{Error, Result};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The SQLite engine: one file, one writer connection, a pool of readers.
#[derive(Clone)]
pub(in crate::store) struct Backend {
    /// Many readers; WAL lets them run beside the writer.
    pub(in crate::store) read: SqlitePool,
    /// Exactly one connection: SQLite allows one writer at a time anyway, and one
    /// writer connection also sidesteps the WAL-reset bug on older SQLite (Q3).
    pub(in crate::store) write: WriteConnection,
    pub(in crate::store) contributions: super::writer_queue::Writer,
    pub(in crate::store) custom_milestones: milestones::CustomHint,
    checkpointer: checkpoint::Checkpointer,
}

impl Backend {
    /// Opens (creating if needed) the database, applies migrations and starts the
    /// contribution writer.
    pub(in crate::store) async fn open(options: &StoreOptions) -> Result<Backend> {
        let connect = SqliteConnectOptions::from_str(&options.url)
            .map_err(|e| Error::internal("database url", e))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(if options.synchronous_full {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout)
            .pragma("temp_store", "memory")
            // Deleted content is overwritten with zeros, in b-tree pages and on the
            // freelist alike, so erased text is not left in the file (R8). It costs
            // nothing on the contribution path, which only ever adds rows.
            .pragma("secure_delete", "on");
        if !options.url.contains(":memory:") && !options.url.contains("mode=memory") {
            private_files::prepare_database(connect.get_filename())?;
        }
        // Room for every row a contribution batch's script returns, so SQLite's
        // thread never stops mid-script to wait for them to be read.
        let write = WriteConnection::open(
            connect
                .clone()
                .row_buffer_size(4 * super::writer_queue::MAX_BATCH)
                .pragma("wal_autocheckpoint", checkpoint::BACKSTOP.to_string()),
        )
        .await?;
        MIGRATOR
            .run(&mut *write.lock().await?)
            .await
            .map_err(|e| Error::internal("applying migrations", e))?;
        let read = SqlitePoolOptions::new()
            .max_connections(options.read_connections.max(1))
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(connect.clone().read_only(true))
            .await?;
        let version: String = sqlx::query_scalar("SELECT sqlite_version()")
            .fetch_one(&read)
            .await?;
        tracing::info!(sqlite_version = %version, url = %redact_url(&options.url), "database open");
        let file = Some(connect.get_filename().to_path_buf())
            .filter(|f| !options.url.contains(":memory:") && f.exists());
        // Its checkpoints never wait on a busy handler: a PASSIVE one never does,
        // and a TRUNCATE one (scrubbing the WAL) retries rather than hold the lock
        // while it waits for readers.
        let checkpoints = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(connect.busy_timeout(Duration::ZERO))
            .await?;
        let wal_restart = checkpoint::WalRestart::default();
        let custom_milestones = milestones::CustomHint::default();
        let contributions = group_commit::start(
            write.clone(),
            group_commit::Hints {
                custom: custom_milestones.clone(),
                wal_restart: wal_restart.clone(),
            },
        );
        Ok(Backend {
            checkpointer: checkpoint::Checkpointer::start(checkpoints, file, wal_restart),
            custom_milestones,
            read,
            write,
            contributions,
        })
    }

    /// The SQLite library version in use.
    pub(in crate::store) async fn sqlite_version(&self) -> Result<String> {
        Ok(sqlx::query_scalar("SELECT sqlite_version()")
            .fetch_one(&self.read)
            .await?)
    }

    /// Waits for the writer connection and starts a write transaction on it with
    /// `BEGIN IMMEDIATE`; other writers wait until it is committed or dropped.
    pub(in crate::store) async fn begin_write(&self) -> Result<WriteTransaction> {
        self.write.lock().await?.begin().await
    }

    /// Runs `work` in one write transaction and commits it; on error nothing is kept.
    pub(in crate::store) async fn write<T>(
        &self,
        work: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T>,
    ) -> Result<T> {
        let mut tx = self.begin_write().await?;
        match work(&mut tx).await {
            Ok(out) => {
                tx.commit().await?;
                Ok(out)
            }
            Err(e) => {
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }

    /// Runs `work` in one write transaction for `community`. On SQLite every write
    /// transaction already runs alone, so this is [`Backend::write`]; PostgreSQL
    /// takes the community's lock first.
    pub(in crate::store) async fn write_in<T>(
        &self,
        _community: CommunityId,
        work: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T>,
    ) -> Result<T> {
        self.write(work).await
    }

    /// [`Backend::write_or_refuse`] for `community` (see [`Backend::write_in`]).
    pub(in crate::store) async fn write_or_refuse_in<T, Refusal>(
        &self,
        _community: CommunityId,
        work: impl AsyncFnOnce(&mut SqliteConnection) -> Result<Result<T, Refusal>>,
    ) -> Result<Result<T, Refusal>> {
        self.write_or_refuse(work).await
    }

    /// Runs `work` in one write transaction, like [`Backend::write`], but keeps what
    /// it did only if it goes ahead: a refusal (`Ok(Err(..))`, such as a limit
    /// reached) is rolled back like an error and handed to the caller.
    pub(in crate::store) async fn write_or_refuse<T, Refusal>(
        &self,
        work: impl AsyncFnOnce(&mut SqliteConnection) -> Result<Result<T, Refusal>>,
    ) -> Result<Result<T, Refusal>> {
        let mut tx = self.begin_write().await?;
        match work(&mut tx).await {
            Ok(Ok(out)) => {
                tx.commit().await?;
                Ok(Ok(out))
            }
            Ok(Err(refused)) => {
                let _ = tx.rollback().await;
                Ok(Err(refused))
            }
            Err(e) => {
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }

    /// Empties the WAL once nothing uses it, so no older version of a page (an
    /// erased member's text) stays in the WAL file; tries for up to `patience`.
    /// Returns how long the write lock was held for it, or None if the WAL stayed
    /// in use throughout.
    pub(in crate::store) async fn scrub_wal(&self, patience: Duration) -> Result<Option<Duration>> {
        let started = std::time::Instant::now();
        loop {
            if let Some(held) = self.checkpointer.truncate().await? {
                return Ok(Some(held));
            }
            if started.elapsed() >= patience {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub(in crate::store) fn contributions(&self) -> &super::writer_queue::Writer {
        &self.contributions
    }

    /// Tells the contribution writer a custom milestone now exists.
    pub(in crate::store) fn custom_milestone_added(&self) {
        self.custom_milestones.added();
    }

    /// Waits for queued writes and closes every connection (checkpointing the WAL).
    pub(in crate::store) async fn close(&self) {
        self.contributions.close().await;
        self.checkpointer.close().await;
        self.read.close().await;
        self.write.close().await;
    }
}

/// Waiting out another process's write lock: 20 ms doubling to 2 s, 20 times.
pub(crate) struct BusyBackoff {
    delay: Duration,
    attempt: u32,
}

impl Default for BusyBackoff {
    fn default() -> Self {
        BusyBackoff {
            delay: Duration::from_millis(20),
            attempt: 0,
        }
    }
}

impl BusyBackoff {
    /// Whether to try again after an error (`busy` if the lock was the cause),
    /// having waited.
    pub(crate) async fn wait(&mut self, busy: bool) -> bool {
        if !busy || self.attempt >= 20 {
            return false;
        }
        self.attempt += 1;
        tracing::warn!(
            attempt = self.attempt,
            "database busy; retrying BEGIN IMMEDIATE"
        );
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(Duration::from_secs(2));
        true
    }
}

pub(crate) fn is_busy(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("5") | Some("6") | Some("517")))
}
