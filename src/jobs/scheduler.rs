//! Runs due schedules (digest, mission reminder) and events' reminders until
//! shutdown.

use std::time::Duration;

use super::Shutdown;
use crate::app::{App, next_schedule, run_due_event_reminders, run_due_pairing, run_due_schedules};

pub async fn run(app: App, mut shutdown: Shutdown) {
    loop {
        let now = app.now();
        match app.store().purge_due_workspaces(now).await {
            Ok(purged) if purged.workspaces == 0 => {}
            Ok(purged) => {
                app.forget_cached_actors();
                if purged.members_to_erase > 0 {
                    app.member_jobs_signal().notify_one();
                }
                tracing::info!(
                    workspaces = purged.workspaces,
                    members_to_erase = purged.members_to_erase,
                    "purged the data of removed workspaces"
                );
            }
            Err(e) => tracing::error!(error = %e, "purging removed workspaces failed"),
        }
        match run_due_schedules(&app).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(posts = n, "scheduled posts queued"),
            Err(e) => tracing::error!(error = %e, "running schedules failed"),
        }
        match run_due_event_reminders(&app).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(reminders = n, "event reminders queued"),
            Err(e) => tracing::error!(error = %e, "queueing event reminders failed"),
        }
        match run_due_pairing(&app).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rounds_and_follow_ups = n, "pairing work done"),
            Err(e) => tracing::error!(error = %e, "pairing rounds or follow-ups failed"),
        }
        // Sleep until the next one is due, but wake at least each minute: a
        // schedule changed by a command must not wait for an old, later deadline.
        let wait = match next_schedule(&app).await {
            Ok(Some(next)) => (next - app.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_millis(200), Duration::from_secs(60)),
            _ => Duration::from_secs(60),
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait() => break,
        }
    }
    tracing::info!("scheduler stopped");
}
