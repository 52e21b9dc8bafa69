//! Checkpoints the WAL off the writer's path.
//!
//! SQLite's automatic checkpoint runs on the connection that commits, right after
//! the commit that takes the WAL past a thousand frames (about every thirty
//! contribution batches under load): copying them back into the database and
//! syncing it held the contribution writer, and every caller waiting on it, for up
//! to 7–10 ms at a time. Here a connection of its own copies the frames in the
//! background (a PASSIVE checkpoint never blocks the writer).
//! Only a writer can start the WAL over, and only once every frame is copied: so
//! when the WAL is long, the background copies again what came in meanwhile and
//! asks the writer to finish ([`WalRestart`]). The writer's own checkpoint then has
//! only the last few frames to copy, and its next transaction writes from the start
//! of the WAL again.
//!
//! A checkpoint syncs the database file only when it reaches the end of the WAL,
//! which under load only the writer's does: so before asking, the background syncs
//! the file itself, and the writer's sync has only those last frames to flush.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::mpsc;

use crate::error::Result;

/// How often the background copies the WAL while it grows.
const EVERY: Duration = Duration::from_millis(25);
/// How often it looks while nothing is being written.
const IDLE: Duration = Duration::from_secs(1);
/// WAL frames (pages) past which the writer is asked to start the WAL over.
const RESTART_AT: i64 = 2000;
/// The writer's own automatic checkpoint (`wal_autocheckpoint`), in frames: only
/// reached should the background stop keeping up.
pub(super) const BACKSTOP: u32 = 16_000;
/// The writer's finishing checkpoint, run between two of its transactions.
pub(super) const FINISH: &str = "PRAGMA wal_checkpoint(PASSIVE)";

/// Raised by the background once nearly all the WAL is copied; the writer takes it.
#[derive(Clone, Default)]
pub(super) struct WalRestart(Arc<AtomicBool>);

impl WalRestart {
    fn request(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether the writer should run [`FINISH`] before its next transaction.
    pub(super) fn take(&self) -> bool {
        self.0.swap(false, Ordering::AcqRel)
    }
}

/// Keeps the background checkpoint running while any clone is alive.
#[derive(Clone)]
pub(super) struct Checkpointer {
    pool: SqlitePool,
    _alive: mpsc::Sender<()>,
}

impl Checkpointer {
    /// Starts checkpointing on `pool` (one connection of its own, not read-only) the
    /// database in `file` (none when in memory).
    pub(super) fn start(
        pool: SqlitePool,
        file: Option<PathBuf>,
        restart: WalRestart,
    ) -> Checkpointer {
        let (alive, stopped) = mpsc::channel(1);
        tokio::spawn(run(pool.clone(), file, restart, stopped));
        Checkpointer {
            pool,
            _alive: alive,
        }
    }

    /// Copies the WAL into the database and empties the WAL file, so that no older
    /// version of a page (an erased member's text) stays in it. The copy is made
    /// first by a PASSIVE checkpoint, beside the writer; the TRUNCATE that follows
    /// holds the write lock only to copy what came in meanwhile and cut the file.
    /// It never waits: while a writer or a reader is using the WAL it returns None,
    /// and the caller tries again. Else it returns how long the lock was held.
    pub(super) async fn truncate(&self) -> Result<Option<Duration>> {
        pass(&self.pool).await?;
        let held = std::time::Instant::now();
        let (busy, _frames, _copied): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&self.pool)
                .await?;
        Ok((busy == 0).then(|| held.elapsed()))
    }

    pub(super) async fn close(&self) {
        self.pool.close().await;
    }
}

async fn run(
    pool: SqlitePool,
    file: Option<PathBuf>,
    restart: WalRestart,
    mut stopped: mpsc::Receiver<()>,
) {
    let mut wait = EVERY;
    let mut failing = false;
    let mut last = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped.recv() => break,
        }
        if pool.is_closed() {
            break;
        }
        match pass(&pool).await {
            Ok(frames) => {
                failing = false;
                wait = if frames == last { IDLE } else { EVERY };
                last = frames;
                // Copy what came in during the pass, so the writer has little left.
                if frames >= RESTART_AT && pass(&pool).await.is_ok() {
                    if let Some(file) = file.clone() {
                        let synced = tokio::task::spawn_blocking(move || {
                            std::fs::OpenOptions::new()
                                .write(true)
                                .open(file)?
                                .sync_data()
                        })
                        .await;
                        if let Ok(Err(e)) = synced {
                            tracing::warn!(error = %e, "syncing the database file for a checkpoint");
                        }
                    }
                    restart.request();
                }
            }
            // Closed by `close` while the pass ran: shutting down, not failing.
            Err(_) if pool.is_closed() => break,
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "background checkpoint failed; the writer's own checkpoint takes over");
                }
                failing = true;
                wait = IDLE;
            }
        }
    }
    pool.close().await;
}

/// One PASSIVE checkpoint; returns how many frames the WAL held.
async fn pass(pool: &SqlitePool) -> Result<i64> {
    let (_busy, frames, _copied): (i64, i64, i64) = sqlx::query_as(FINISH).fetch_one(pool).await?;
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

    use super::*;

    async fn frames_in_wal(pool: &SqlitePool) -> i64 {
        pass(pool).await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_never_pauses_yet_the_wal_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let connect = SqliteConnectOptions::from_str(&format!(
            "sqlite://{}",
            dir.path().join("wal.db").display()
        ))
        .unwrap()
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                connect
                    .clone()
                    .pragma("wal_autocheckpoint", BACKSTOP.to_string()),
            )
            .await
            .unwrap();
        sqlx::query("CREATE TABLE pages (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
            .execute(&write)
            .await
            .unwrap();
        let background = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(connect)
            .await
            .unwrap();
        let restart = WalRestart::default();
        let checkpointer = Checkpointer::start(
            background.clone(),
            Some(dir.path().join("wal.db")),
            restart.clone(),
        );

        // Write without pause, as the contribution writer does under load; each
        // transaction dirties a few pages, rows all over the table.
        let mut conn = write.acquire().await.unwrap();
        let mut finished_at = None;
        let mut started_over = false;
        let started = std::time::Instant::now();
        let mut n: i64 = 0;
        while started.elapsed() < Duration::from_secs(30) {
            n += 1;
            let mut script = String::new();
            if restart.take() {
                script.push_str(FINISH);
                script.push(';');
                finished_at = Some(n);
            }
            script.push_str("BEGIN IMMEDIATE;");
            for row in 0..8 {
                let id = (n * 8 + row) * 7919 % 5000;
                script.push_str(&format!(
                    "INSERT INTO pages (id, body) VALUES ({id}, randomblob(1500))
                     ON CONFLICT (id) DO UPDATE SET body = excluded.body;"
                ));
            }
            script.push_str("COMMIT;");
            sqlx::raw_sql(sqlx::AssertSqlSafe(script))
                .execute(&mut *conn)
                .await
                .unwrap();
            // Ten transactions after a finish, the WAL holds only their frames if
            // it started over, not the thousands before. (Should the background
            // have been mid-pass, the finish found it busy; the next one counts.)
            if finished_at == Some(n - 10) && frames_in_wal(&background).await < RESTART_AT / 2 {
                started_over = true;
                break;
            }
        }
        assert!(
            finished_at.is_some(),
            "the background never asked the writer to finish"
        );
        assert!(started_over, "the WAL never started over");
        drop(conn);
        checkpointer.close().await;
        write.close().await;
    }
}
