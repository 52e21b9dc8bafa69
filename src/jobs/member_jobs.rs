//! Finishes erasures and merges in the background: those `forget-me` and `link`
//! left (a member with more rows than they handle before answering), erasures a
//! purge requested, and any a restart interrupted. Each is a row (`erasures`,
//! `merges`), so none is lost; each step is a short write transaction of its own
//! (see `app::erasure` and `app::merge`).

use std::time::Duration;

use super::Shutdown;
use crate::app::{App, erase_pending, merge_pending};

/// How often it looks without being woken: an erasure whose WAL scrub had to wait
/// for readers is tried again then.
const EVERY: Duration = Duration::from_secs(60);

pub async fn run(app: App, mut shutdown: Shutdown) {
    loop {
        let stop = shutdown.clone();
        // Merges first: one whose member was then erased hands its rest to an erasure.
        match merge_pending(&app, || !stop.is_triggered()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(members = n, "merges finished"),
            Err(e) => tracing::error!(error = %e, "merging members failed"),
        }
        match erase_pending(&app, || !stop.is_triggered()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(members = n, "erasures finished"),
            Err(e) => tracing::error!(error = %e, "erasing members failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = app.member_jobs_signal().notified() => {}
            _ = shutdown.wait() => break,
        }
    }
    tracing::info!("erasures and merges stopped");
}
