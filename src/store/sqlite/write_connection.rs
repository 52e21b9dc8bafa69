//! The one write connection, behind a fair lock.
//!
//! Writers queue for it in turn (tokio's mutex is first come, first served) and
//! hand it on the moment they are done. A one-connection sqlx pool did the same
//! job, but taking a connection back spawns a task and pings SQLite's thread
//! before the next writer may have it: under load that hand-over cost more than
//! many of the writes it separated.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::{BusyBackoff, is_busy};
use crate::error::{Error, Result};

#[derive(Clone)]
pub(crate) struct WriteConnection {
    slot: Arc<Mutex<Slot>>,
    options: SqliteConnectOptions,
}

struct Slot {
    /// None once a connection was discarded, until the next writer opens another.
    conn: Option<SqliteConnection>,
    /// A transaction was begun and not yet committed or rolled back. Should the
    /// connection come back to the lock so, its writer never finished (its future
    /// was dropped, even halfway through BEGIN): the next writer rolls it back.
    in_transaction: bool,
    closed: bool,
}

impl WriteConnection {
    pub(crate) async fn open(options: SqliteConnectOptions) -> Result<WriteConnection> {
        let conn = options.connect().await?;
        Ok(WriteConnection {
            slot: Arc::new(Mutex::new(Slot {
                conn: Some(conn),
                in_transaction: false,
                closed: false,
            })),
            options,
        })
    }

    /// Waits for the connection. It comes with no transaction open.
    pub(crate) async fn lock(&self) -> Result<WriteGuard> {
        let mut slot = self.slot.clone().lock_owned().await;
        if slot.closed {
            return Err(Error::internal("database", "the database is closed"));
        }
        if std::mem::take(&mut slot.in_transaction)
            && let Some(conn) = slot.conn.as_mut()
            && let Err(e) = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await
        {
            tracing::warn!(error = %e, "rolling back an abandoned write failed; reconnecting");
            if let Some(conn) = slot.conn.take() {
                let _ = conn.close_hard().await;
            }
        }
        if slot.conn.is_none() {
            slot.conn = Some(self.options.connect().await?);
        }
        Ok(WriteGuard { slot })
    }

    /// Closes the connection (checkpointing the WAL); writers after this fail.
    pub(crate) async fn close(&self) {
        let mut slot = self.slot.lock().await;
        slot.closed = true;
        if let Some(conn) = slot.conn.take() {
            let _ = conn.close().await;
        }
    }
}

/// The write connection, held: others wait until it is dropped.
pub(crate) struct WriteGuard {
    slot: OwnedMutexGuard<Slot>,
}

impl WriteGuard {
    /// Closes a connection whose state is unknown (a ROLLBACK failed); the next
    /// writer opens a fresh one.
    pub(crate) async fn discard(mut self) {
        if let Some(conn) = self.slot.conn.take() {
            let _ = conn.close_hard().await;
        }
    }

    /// Starts a write transaction with `BEGIN IMMEDIATE`, so the write lock is
    /// taken up front and no `SQLITE_BUSY` can surface halfway through (Q2). If
    /// another process holds the lock past the busy timeout, it tries again rather
    /// than lose the write.
    pub(crate) async fn begin(mut self) -> Result<WriteTransaction> {
        let mut busy = BusyBackoff::default();
        self.slot.in_transaction = true;
        loop {
            match sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *self).await {
                Ok(_) => return Ok(WriteTransaction { guard: self }),
                Err(e) if busy.wait(is_busy(&e)).await => {}
                Err(e) => {
                    self.slot.in_transaction = false;
                    return Err(e.into());
                }
            }
        }
    }
}

impl Deref for WriteGuard {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        self.slot
            .conn
            .as_ref()
            .expect("a held write connection is open")
    }
}

impl DerefMut for WriteGuard {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.slot
            .conn
            .as_mut()
            .expect("a held write connection is open")
    }
}

/// A write transaction on the held connection. Dropped unfinished, it is rolled
/// back before the connection's next use.
pub struct WriteTransaction {
    guard: WriteGuard,
}

impl WriteTransaction {
    pub async fn commit(self) -> Result<()> {
        self.finish("COMMIT").await
    }

    pub async fn rollback(self) -> Result<()> {
        self.finish("ROLLBACK").await
    }

    async fn finish(mut self, statement: &'static str) -> Result<()> {
        sqlx::raw_sql(statement).execute(&mut *self.guard).await?;
        self.guard.slot.in_transaction = false;
        Ok(())
    }
}

impl Deref for WriteTransaction {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        &self.guard
    }
}

impl DerefMut for WriteTransaction {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.guard
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    async fn open(dir: &tempfile::TempDir) -> WriteConnection {
        let options = SqliteConnectOptions::from_str(&format!(
            "sqlite://{}",
            dir.path().join("w.db").display()
        ))
        .unwrap()
        .create_if_missing(true);
        let write = WriteConnection::open(options).await.unwrap();
        sqlx::raw_sql("CREATE TABLE notes (body TEXT NOT NULL)")
            .execute(&mut *write.lock().await.unwrap())
            .await
            .unwrap();
        write
    }

    async fn notes(write: &WriteConnection) -> Vec<String> {
        sqlx::query_scalar("SELECT body FROM notes ORDER BY rowid")
            .fetch_all(&mut *write.lock().await.unwrap())
            .await
            .unwrap()
    }

    async fn note(tx: &mut WriteTransaction, body: &str) {
        sqlx::query("INSERT INTO notes (body) VALUES (?)")
            .bind(body)
            .execute(&mut **tx)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_transaction_dropped_unfinished_is_rolled_back_before_the_next_writer() {
        let dir = tempfile::tempdir().unwrap();
        let write = open(&dir).await;
        let mut abandoned = write.lock().await.unwrap().begin().await.unwrap();
        note(&mut abandoned, "abandoned").await;
        drop(abandoned);

        // Were it still open, this BEGIN would fail ("within a transaction").
        let mut next = write.lock().await.unwrap().begin().await.unwrap();
        note(&mut next, "kept").await;
        next.commit().await.unwrap();

        // Dropped halfway through its BEGIN: SQLite's thread still opens the
        // transaction, with no one left to finish it.
        let halfway = write.lock().await.unwrap().begin();
        let _ = tokio::time::timeout(std::time::Duration::ZERO, halfway).await;
        let mut next = write.lock().await.unwrap().begin().await.unwrap();
        note(&mut next, "kept too").await;
        next.commit().await.unwrap();
        assert_eq!(notes(&write).await, ["kept", "kept too"]);
    }

    #[tokio::test]
    async fn writers_wait_their_turn_and_a_discarded_connection_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let write = open(&dir).await;
        let mut first = write.lock().await.unwrap().begin().await.unwrap();
        let second = tokio::spawn({
            let write = write.clone();
            async move {
                let mut tx = write.lock().await.unwrap().begin().await.unwrap();
                note(&mut tx, "second").await;
                tx.commit().await.unwrap();
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(
            !second.is_finished(),
            "the second writer waits for the first"
        );
        note(&mut first, "first").await;
        first.commit().await.unwrap();
        second.await.unwrap();
        assert_eq!(notes(&write).await, ["first", "second"]);

        // Left mid-transaction and discarded: nothing of it is kept, and the next
        // writer gets a fresh connection.
        let mut guard = write.lock().await.unwrap();
        sqlx::raw_sql("BEGIN IMMEDIATE; INSERT INTO notes (body) VALUES ('lost')")
            .execute(&mut *guard)
            .await
            .unwrap();
        guard.discard().await;
        let mut tx = write.lock().await.unwrap().begin().await.unwrap();
        note(&mut tx, "third").await;
        tx.commit().await.unwrap();
        assert_eq!(notes(&write).await, ["first", "second", "third"]);

        write.close().await;
        assert!(write.lock().await.is_err(), "no writes after close");
    }
}
