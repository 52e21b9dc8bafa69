//! What the operator's `/metrics` reads from the store at each scrape: the
//! outbox's backlog and the connection pool (issue 20 §3).

use chrono::{DateTime, Utc};

use crate::error::Result;

/// Deliveries waiting to go out, and since when the oldest has waited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    pub pending: i64,
    pub oldest: Option<DateTime<Utc>>,
}

/// The read pool's connections: open, and of those in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    pub open: u32,
    pub in_use: u32,
}

impl super::Store {
    pub async fn outbox_backlog(&self) -> Result<Backlog> {
        let (pending, oldest) = on_engine!(self, e => sql::outbox::backlog(&e.read).await)?;
        Ok(Backlog {
            pending,
            oldest: oldest.as_deref().map(super::parse_ts).transpose()?,
        })
    }

    /// The pool reads (and, on PostgreSQL, writes) take connections from.
    pub fn pool_use(&self) -> PoolUse {
        on_engine!(self, e => {
            let open = e.read.size();
            PoolUse {
                open,
                in_use: open.saturating_sub(e.read.num_idle() as u32),
            }
        })
    }
}

/// Notice, from the database, that deliveries were queued or fell due again,
/// in any process: PostgreSQL's LISTEN on the channel migration 0014's trigger
/// notifies. SQLite has one process, which wakes its worker in memory: there,
/// none ever comes.
pub struct OutboxWakeups(Option<sqlx::postgres::PgListener>);

impl OutboxWakeups {
    /// Resolves at the next notice.
    pub async fn next(&mut self) -> Result<()> {
        match &mut self.0 {
            Some(listener) => {
                listener.recv().await?;
                Ok(())
            }
            None => std::future::pending().await,
        }
    }
}

impl super::Store {
    /// Starts listening for the outbox's notices (holding one connection of
    /// the pool on PostgreSQL).
    pub async fn outbox_wakeups(&self) -> Result<OutboxWakeups> {
        match &self.engine {
            super::Engine::Sqlite(_) => Ok(OutboxWakeups(None)),
            super::Engine::Postgres(e) => {
                let mut listener = sqlx::postgres::PgListener::connect_with(&e.read).await?;
                listener.listen("keel_outbox").await?;
                Ok(OutboxWakeups(Some(listener)))
            }
        }
    }
}
