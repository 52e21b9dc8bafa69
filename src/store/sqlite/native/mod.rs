//! SQLite's own statements where the engines differ: the contribution writer's
//! JSON-array batches and scripts and what shares them, `COLLATE NOCASE` lookups
//! that read SQLite's indexes, and numbering rows past `sqlite_sequence`. The
//! PostgreSQL engine has its own, by the same names.

pub mod activity;
pub mod communities;
pub mod contributions;
pub mod demo;
pub mod insights;
pub mod milestones;
pub mod outbox;
