//! Keel over a fresh database with a clock the test moves, and console members.

use std::sync::Arc;

use keel::app::App;
use keel::domain::clock::ManualClock;
use keel::domain::{Actor, Envelope, Platform, Role};
use keel::store::{Store, StoreOptions};
use tempfile::TempDir;

#[path = "database.rs"]
pub mod database;

/// Opens (or reopens) the database of `dir` (see support/database.rs).
pub async fn open(dir: &TempDir, clock: Arc<ManualClock>) -> App {
    let url = database::url(dir.path()).await;
    let store = Store::open(&StoreOptions::new(url)).await.unwrap();
    App::new(store, clock)
}

/// A console member of the community named `workspace`.
pub async fn actor(app: &App, workspace: &str, name: &str, role: Role) -> Actor {
    let envelope = Envelope {
        platform: Platform::Console,
        workspace_id: workspace.into(),
        workspace_name: workspace.into(),
        user_id: name.into(),
        user_name: name.into(),
        role,
    };
    app.actor(&envelope).await.unwrap()
}
