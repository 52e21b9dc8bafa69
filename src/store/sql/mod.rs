//! The queries both engines run, written once in the SQL they share (`$1`
//! placeholders, `ON CONFLICT`, `RETURNING`) and compiled once per engine: each
//! engine includes this folder as its `sql` module, with its own connection types
//! in `super::engine`.

pub mod activity;
pub mod export;
pub mod health;
pub mod insights;
pub mod mission;
pub mod outbox;
#[cfg(feature = "slack")]
pub mod slack;
pub mod stats;
pub mod windows;

use super::engine::{Conn, Executor, Pool};
