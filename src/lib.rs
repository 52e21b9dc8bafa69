//! # Keel
//!
//! A bot that keeps purpose-driven communities on course: their mission and how it
//! evolves, members' contributions, goals and milestones (announced exactly once),
//! and engagement. One process serves Discord, Slack and a console through one core.
//!
//! ## Layout
//! - [`domain`]: platform-free commands, the text parser, validated values, rules,
//!   milestones and the platform-neutral [`domain::Reply`].
//! - [`store`]: SQLite. One module per aggregate; all writes go through one writer
//!   connection, and contributions through a group-commit batcher.
//! - [`app`]: [`app::App::handle`], the one seam every platform calls.
//! - `discord`, `slack`: the platform adapters (features of the same names).
//! - [`charts`]: PNG charts (plotters, an embedded font) for `stats chart` and goals.
//! - [`spool`]: large reply files (exports) gzipped into private temporary files.
//! - [`console`]: the terminal adapter, for trying Keel without tokens and scripting.
//! - [`jobs`]: background work (announcement delivery, schedules) with shutdown.
//! - [`config`], [`cli`]: the operator's side.

/// Every binary built on Keel (the `keel` command, tests, benchmarks) allocates
/// through mimalloc; see Cargo.toml for why.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod app;
pub mod charts;
pub mod cli;
pub mod config;
pub mod console;
pub mod demo;
#[cfg(feature = "discord")]
pub mod discord;
pub mod domain;
pub mod error;
pub mod jobs;
pub mod ops;
#[cfg(feature = "slack")]
pub mod slack;
pub mod spool;
pub mod store;
