//! PostgreSQL's own statements where the engines differ, by the names SQLite's
//! `native` gives them.

pub mod activity;
pub mod communities;
pub mod demo;
pub mod insights;
