//! The queries both engines run, written once in the SQL they share (`$1`
//! placeholders, `ON CONFLICT`, `RETURNING`) and compiled once per engine: each
//! engine includes this folder as its `sql` module, with its own connection types
//! in `super::engine`.

pub mod activity;
pub mod communities;
pub mod contribution_batch;
pub mod contributions;
pub mod corrections;
pub mod demo;
pub mod discord_events;
pub mod event_figures;
pub mod events;
pub mod export;
pub mod forget;
pub mod goals;
pub mod health;
pub mod insights;
pub mod kudos;
pub mod links;
pub mod milestones;
pub mod mission;
pub mod notices;
pub mod outbox;
pub mod pairing;
pub mod redaction;
pub mod review;
pub mod schedules;
#[cfg(feature = "slack")]
pub mod slack;
pub mod stats;
pub mod windows;

use super::engine::{Conn, Executor, Pool};

/// Ids bound to one statement at most: a list of them is sent in statements of
/// this many, well within either engine's limit on arguments (SQLite 32766,
/// PostgreSQL 65535).
const IDS_PER_STATEMENT: usize = 500;

/// `($first,…)`: numbered placeholders for an `IN` list of `n` values (at least
/// one: `IN ()` is SQLite's alone).
fn numbered_list(first: usize, n: usize) -> String {
    crate::store::numbered_values(first, 1, n)
}
