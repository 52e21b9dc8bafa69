//! Keeps the rolling-window totals caught up with new contributions and kudos, and
//! the health signals with changed active days (a new day recomputes them all), a
//! few seconds behind, so a stats or health read rarely has anything left to count.

use std::time::Duration;

use super::Shutdown;
use crate::app::App;

const EVERY: Duration = Duration::from_secs(10);

pub async fn run(app: App, mut shutdown: Shutdown) {
    loop {
        if let Err(e) = catch_up_all(&app).await {
            tracing::error!(error = %e, "catching up window totals failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = shutdown.wait() => break,
        }
    }
}

/// Catches up every community that is behind; returns how many there were.
pub async fn catch_up_all(app: &App) -> crate::error::Result<usize> {
    let behind = app.store().windows_behind().await?;
    let today = app.today();
    for community in &behind {
        app.store().catch_up_windows(*community, today).await?;
    }
    for community in app.store().signals_behind(today).await? {
        app.store().refresh_signals(community, today).await?;
    }
    Ok(behind.len())
}
