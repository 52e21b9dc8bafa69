//! PostgreSQL's own statements where the engines differ, by the names SQLite's
//! `native` gives them.

pub mod activity;
pub mod communities;
pub mod contributions;
pub mod demo;
pub mod insights;
pub mod milestones;
pub mod outbox;
