//! The PostgreSQL engine: one pool per process, shared by reads and writes, for
//! operators who host many communities or run several Keel processes.
//!
//! Writes are READ COMMITTED transactions. A write for one community first locks
//! that community's row (`write_in`), so its writes run one at a time, as every
//! write does on SQLite, while communities write side by side. Counters only ever
//! change by `x = x + delta` and effects that must happen once have unique keys
//! (`ON CONFLICT`), as on SQLite. Contributions still go through group commit
//! (`group_commit.rs`): one transaction per batch, not per contribution, because
//! a community's counter rows are hot.

pub mod dump;
pub(in crate::store) mod group_commit;
pub(in crate::store) mod native;
pub(in crate::store) mod script;

/// The engine's types, as the queries both engines share (`store/sql`) name them.
pub(in crate::store) mod engine {
    pub use sqlx::PgConnection as Conn;
    pub use sqlx::PgExecutor as Executor;
    pub use sqlx::PgPool as Pool;

    /// Marks SQL assembled at run time as safe (see [`crate::store::built`]);
    /// PostgreSQL takes `$N` as it is.
    pub fn built(sql: String) -> sqlx::AssertSqlSafe<String> {
        crate::store::built(sql)
    }

    /// Takes a community's write turn within a transaction already begun: its
    /// row, locked until the transaction ends, against other processes.
    pub async fn lock_community(
        conn: &mut Conn,
        community: crate::domain::CommunityId,
    ) -> crate::error::Result<()> {
        super::lock_community(conn, community).await
    }

    /// A read-only transaction that sees one snapshot throughout (PostgreSQL's
    /// default, READ COMMITTED, takes a new one per statement).
    pub async fn snapshot(
        pool: &Pool,
    ) -> crate::error::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        Ok(pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?)
    }
}

// The shared queries, compiled once for this engine: loading the same files as
// a module of each engine is the point (see store/sql/mod.rs).
#[allow(clippy::duplicate_mod)]
#[path = "../sql/mod.rs"]
pub(in crate::store) mod sql;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool};

use super::milestones::CustomHint;
use super::{StoreOptions, redact_url};
use crate::domain::CommunityId;
use crate::error::{Error, Result};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The PostgreSQL engine: a pool, and the contribution writer on it.
#[derive(Clone)]
pub(in crate::store) struct Backend {
    /// Reads and writes alike; a write holds its connection for its transaction.
    pub(in crate::store) read: PgPool,
    contributions: super::writer_queue::Writer,
    pub(in crate::store) custom_milestones: CustomHint,
}

impl Backend {
    /// Connects, applies migrations and starts the contribution writer.
    pub(in crate::store) async fn open(options: &StoreOptions) -> Result<Backend> {
        let connect = PgConnectOptions::from_str(&options.url)
            .map_err(|e| Error::internal("database url", e))?
            .application_name("keel");
        let read = PgPoolOptions::new()
            .max_connections(options.pool_size.max(2))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(connect)
            .await
            .map_err(|e| {
                Error::internal(
                    "connecting to PostgreSQL",
                    format!("{} ({e})", redact_url(&options.url)),
                )
            })?;
        // Several processes may start at once: sqlx's migrator takes PostgreSQL's
        // migration lock for the time it runs, so one applies and the rest wait.
        MIGRATOR
            .run(&read)
            .await
            .map_err(|e| Error::internal("applying migrations", e))?;
        let version: String = sqlx::query_scalar("SELECT current_setting('server_version')")
            .fetch_one(&read)
            .await?;
        tracing::info!(postgres_version = %version, url = %redact_url(&options.url), "database open");
        let custom_milestones = CustomHint::default();
        let contributions = group_commit::start(read.clone(), custom_milestones.clone());
        Ok(Backend {
            read,
            contributions,
            custom_milestones,
        })
    }

    /// The server's version, such as "15.10".
    pub(in crate::store) async fn server_version(&self) -> Result<String> {
        Ok(
            sqlx::query_scalar("SELECT current_setting('server_version')")
                .fetch_one(&self.read)
                .await?,
        )
    }

    /// Runs `work` in one write transaction and commits it; on error nothing is kept.
    pub(in crate::store) async fn write<T>(
        &self,
        work: impl AsyncFnOnce(&mut PgConnection) -> Result<T>,
    ) -> Result<T> {
        let mut tx = self.read.begin().await?;
        let out = work(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Runs `work` in one write transaction that first locks `community`, so the
    /// community's writes run one at a time, in every Keel process.
    pub(in crate::store) async fn write_in<T>(
        &self,
        community: CommunityId,
        work: impl AsyncFnOnce(&mut PgConnection) -> Result<T>,
    ) -> Result<T> {
        let mut tx = self.read.begin().await?;
        lock_community(&mut tx, community).await?;
        let out = work(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Like [`Backend::write`], but a refusal (`Ok(Err(..))`, such as a limit
    /// reached) is rolled back like an error and handed to the caller.
    pub(in crate::store) async fn write_or_refuse<T, Refusal>(
        &self,
        work: impl AsyncFnOnce(&mut PgConnection) -> Result<Result<T, Refusal>>,
    ) -> Result<Result<T, Refusal>> {
        let mut tx = self.read.begin().await?;
        match work(&mut tx).await? {
            Ok(out) => {
                tx.commit().await?;
                Ok(Ok(out))
            }
            Err(refused) => {
                tx.rollback().await?;
                Ok(Err(refused))
            }
        }
    }

    /// [`Backend::write_or_refuse`] for `community` (see [`Backend::write_in`]).
    pub(in crate::store) async fn write_or_refuse_in<T, Refusal>(
        &self,
        community: CommunityId,
        work: impl AsyncFnOnce(&mut PgConnection) -> Result<Result<T, Refusal>>,
    ) -> Result<Result<T, Refusal>> {
        self.write_or_refuse(async |conn| {
            lock_community(conn, community).await?;
            work(conn).await
        })
        .await
    }

    /// Tells the contribution writer a custom milestone now exists.
    pub(in crate::store) fn custom_milestone_added(&self) {
        self.custom_milestones.added();
    }

    pub(in crate::store) fn contributions(&self) -> &super::writer_queue::Writer {
        &self.contributions
    }

    /// Waits for queued contributions, then closes the pool.
    pub(in crate::store) async fn close(&self) {
        self.contributions.close().await;
        self.read.close().await;
    }
}

/// Locks a community's row for the rest of the transaction. A community that
/// does not exist (yet) has nothing to guard.
pub(in crate::store) async fn lock_community(
    conn: &mut PgConnection,
    community: CommunityId,
) -> Result<()> {
    sqlx::query("SELECT 1 FROM communities WHERE id = $1 FOR UPDATE")
        .bind(community)
        .fetch_optional(conn)
        .await?;
    Ok(())
}
