//! SQLite's own statements where the engines differ: the contribution writer's
//! JSON-array batches and scripts, and what shares them. PostgreSQL's `native`
//! has the same names.

pub mod activity;
pub mod insights;
pub mod outbox;
