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
