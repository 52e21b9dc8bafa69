//! Finishes erasures in the background: those `forget-me` left (a member with
//! more rows than it erases before answering), those a purge requested, and any a
//! restart interrupted. Each is a row in `erasures`, so none is lost; each step is
//! a short write transaction of its own (see `app::erasure`).

use std::time::Duration;

use super::Shutdown;
use crate::app::{App, erase_pending};

/// How often it looks without being woken: an erasure whose WAL scrub had to wait
/// for readers is tried again then.
const EVERY: Duration = Duration::from_secs(60);

pub async fn run(app: App, mut shutdown: Shutdown) {
    loop {
        let stop = shutdown.clone();
        match erase_pending(&app, || !stop.is_triggered()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(members = n, "erasures finished"),
            Err(e) => tracing::error!(error = %e, "erasing members failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = app.erasure_signal().notified() => {}
            _ = shutdown.wait() => break,
        }
    }
    tracing::info!("erasures stopped");
}
