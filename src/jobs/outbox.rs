//! Delivers queued announcements through each platform's notifier, with retry and
//! backoff. A delivery is marked done only after the platform accepted it, so an
//! announcement survives a restart or an outage and is posted once. When a
//! platform asks to wait or fails, the rest of that workspace's announcements wait
//! too, in order, instead of each being tried in turn.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use futures_util::future::BoxFuture;
use rand::Rng;

use super::Shutdown;
use crate::app::App;
use crate::domain::{Platform, WorkspaceId};
use crate::error::Result;
use crate::store::outbox::{self, Delivery};
use crate::store::parse_ts;

/// Why a delivery did not go through.
#[derive(Debug, Clone)]
pub enum DeliveryError {
    /// Try again later: rate limited (with the platform's Retry-After), a 5xx, a
    /// network error.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// Will never work as it is (channel deleted, no access): kept, marked failed.
    Permanent(String),
}

/// Posts announcements to one platform.
pub trait Notifier: Send + Sync + 'static {
    fn platform(&self) -> Platform;
    fn deliver<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), DeliveryError>>;
    /// The least time between two posts to one workspace's announcement channel.
    fn pace(&self) -> Duration {
        Duration::ZERO
    }
}

/// How long to wait after the nth failed attempt: doubling from 2 s, at most an
/// hour, with up to a quarter more at random so retries do not stampede.
pub fn backoff(attempts: i64) -> Duration {
    let base = 2u64.saturating_pow(attempts.clamp(1, 12) as u32).min(3600);
    let jitter = rand::rng().random_range(0..=base * 250);
    Duration::from_secs(base) + Duration::from_millis(jitter)
}

/// What became of one delivery attempt.
enum Attempt {
    Delivered,
    /// Not yet: it and the rest of its workspace's deliveries wait.
    Retry,
    Failed,
}

/// The deliveries in turns, each workspace's in order: every workspace's first,
/// then every one's second, and so on, so that one workspace's backlog, posted at
/// its channel's pace, does not hold up the others.
fn in_turns(due: Vec<Delivery>) -> Vec<Delivery> {
    let mut turns: HashMap<WorkspaceId, usize> = HashMap::new();
    let mut ranked: Vec<(usize, usize, Delivery)> = due
        .into_iter()
        .enumerate()
        .map(|(order, delivery)| {
            let turn = turns.entry(delivery.workspace).or_default();
            *turn += 1;
            (*turn, order, delivery)
        })
        .collect();
    ranked.sort_by_key(|(turn, order, _)| (*turn, *order));
    ranked
        .into_iter()
        .map(|(_, _, delivery)| delivery)
        .collect()
}

/// The most deliveries fetched at once.
const BATCH: i64 = 50;

pub struct Deliverer {
    app: App,
    notifiers: Vec<Arc<dyn Notifier>>,
    /// When each workspace was last posted to, to keep its notifier's pace.
    last_post: Mutex<HashMap<WorkspaceId, Instant>>,
    /// Set by `run`: a round stops at shutdown rather than keep pace through a backlog.
    shutdown: Option<Shutdown>,
}

impl Deliverer {
    pub fn new(app: App, notifiers: Vec<Arc<dyn Notifier>>) -> Self {
        Deliverer {
            app,
            notifiers,
            last_post: Mutex::new(HashMap::new()),
            shutdown: None,
        }
    }

    /// Delivers everything due now; returns how many were delivered.
    pub async fn deliver_due(&self) -> Result<usize> {
        let mut delivered = 0;
        for notifier in &self.notifiers {
            loop {
                let due = outbox::due(
                    &self.app.store().read,
                    notifier.platform(),
                    self.app.now(),
                    BATCH,
                )
                .await?;
                let fetched = due.len();
                // Workspaces whose platform asked to wait in this round: their
                // other deliveries fetched with it were just moved to the retry.
                let mut held = HashSet::new();
                for delivery in in_turns(due) {
                    if held.contains(&delivery.workspace) {
                        continue;
                    }
                    self.keep_pace(notifier.pace(), delivery.workspace).await;
                    if self.shutdown.as_ref().is_some_and(Shutdown::is_triggered) {
                        return Ok(delivered);
                    }
                    let attempt = self.deliver_one(notifier.as_ref(), &delivery).await;
                    self.last_post
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(delivery.workspace, Instant::now());
                    match attempt? {
                        Attempt::Delivered => delivered += 1,
                        Attempt::Retry => {
                            held.insert(delivery.workspace);
                        }
                        Attempt::Failed => {}
                    }
                }
                if (fetched as i64) < BATCH {
                    break;
                }
            }
        }
        Ok(delivered)
    }

    /// Waits until `pace` has passed since the workspace was last posted to.
    async fn keep_pace(&self, pace: Duration, workspace: WorkspaceId) {
        let last = self
            .last_post
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&workspace)
            .copied();
        let Some(last) = last.filter(|_| !pace.is_zero()) else {
            return;
        };
        let paced = tokio::time::sleep_until(last + pace);
        match self.shutdown.clone() {
            Some(mut shutdown) => tokio::select! {
                _ = paced => {}
                _ = shutdown.wait() => {}
            },
            None => paced.await,
        }
    }

    async fn deliver_one(&self, notifier: &dyn Notifier, delivery: &Delivery) -> Result<Attempt> {
        let outcome = notifier.deliver(delivery).await;
        let now = self.app.now();
        let store = self.app.store();
        match outcome {
            Ok(()) => {
                store
                    .write(async |conn| outbox::mark_delivered(conn, delivery, now).await)
                    .await?;
                Ok(Attempt::Delivered)
            }
            Err(DeliveryError::Retry { after, reason }) => {
                let wait = after.map_or_else(
                    || backoff(delivery.attempts + 1),
                    |a| a.max(Duration::from_millis(100)),
                );
                tracing::warn!(
                    platform = %delivery.platform, announcement = %delivery.announcement,
                    attempts = delivery.attempts + 1, wait_ms = wait.as_millis() as u64, %reason,
                    "announcement not delivered; will retry"
                );
                let at =
                    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
                store
                    .write(async |conn| outbox::mark_retry(conn, delivery, at, &reason).await)
                    .await?;
                Ok(Attempt::Retry)
            }
            Err(DeliveryError::Permanent(reason)) => {
                tracing::error!(platform = %delivery.platform, announcement = %delivery.announcement, %reason, "announcement cannot be delivered");
                store
                    .write(async |conn| outbox::mark_failed(conn, delivery, &reason).await)
                    .await?;
                Ok(Attempt::Failed)
            }
        }
    }

    /// Delivers until shutdown: at once when woken, else when the next retry is due
    /// (checking at least every 30 s).
    pub async fn run(mut self, mut shutdown: Shutdown) {
        self.shutdown = Some(shutdown.clone());
        loop {
            if let Err(e) = self.deliver_due().await {
                tracing::error!(error = %e, "announcement delivery failed");
            }
            let wait = self.until_next().await;
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.app.outbox_signal().notified() => {}
                _ = shutdown.wait() => break,
            }
        }
        tracing::info!("announcement delivery stopped");
    }

    async fn until_next(&self) -> Duration {
        let mut wait = Duration::from_secs(30);
        for n in &self.notifiers {
            if let Ok(Some(next)) = outbox::next_due(&self.app.store().read, n.platform()).await
                && let Ok(next) = parse_ts(&next)
            {
                let until = (next - self.app.now()).to_std().unwrap_or(Duration::ZERO);
                wait = wait.min(until.max(Duration::from_millis(50)));
            }
        }
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AnnouncementId, CommunityId, Reply};

    fn delivery(announcement: i64, workspace: i64) -> Delivery {
        Delivery {
            announcement: AnnouncementId(announcement),
            workspace: WorkspaceId(workspace),
            community: CommunityId(1),
            platform: Platform::Slack,
            workspace_external_id: format!("T{workspace}"),
            channel: Some("C1".into()),
            attempts: 0,
            body: Reply::public("milestone"),
        }
    }

    #[test]
    fn a_backlog_takes_turns_with_other_workspaces_in_order() {
        let due = [(1, 7), (2, 7), (3, 7), (4, 8), (5, 9), (6, 8)]
            .map(|(a, w)| delivery(a, w))
            .to_vec();
        let order: Vec<(i64, i64)> = in_turns(due)
            .iter()
            .map(|d| (d.announcement.0, d.workspace.0))
            .collect();
        assert_eq!(order, [(1, 7), (4, 8), (5, 9), (2, 7), (6, 8), (3, 7)]);
    }
}
