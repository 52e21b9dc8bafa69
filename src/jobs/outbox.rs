//! Delivers queued announcements and private messages through each platform's
//! notifier.
//!
//! **What is guaranteed** (RELIABILITY.md R1–R4, R9):
//! - Nothing is lost: a delivery is a row, marked done only after the platform
//!   accepted it, so it survives restarts and outages.
//! - Nothing is posted twice to a channel, by this mechanism: the attempt is
//!   recorded before the post. If no answer comes (a deadline passed, the
//!   connection dropped, Keel was stopped or crashed), the attempt stays on record
//!   and the delivery is *uncertain*. Before posting an uncertain delivery again,
//!   its notifier asks the platform whether it went through ([`Notifier::find_posted`]):
//!   Slack by the message metadata naming it in the channel's recent history,
//!   Discord by the message nonce (which Discord itself dedupes for a few minutes)
//!   and past that by the marker in the channel's recent messages. A post found is
//!   marked delivered; only one not found is posted again.
//! - A private message to a member whose attempt was uncertain is sent again at
//!   most once.
//! - An announcement that outlived its use (a milestone older than its configured
//!   age, a digest whose next period has come) expires instead of posting late.
//! - One slow workspace never holds up another: each workspace's deliveries go in
//!   order, by one worker at a time, and up to `concurrency` workspaces at once.
//!   Every call has a deadline; running out of it is an uncertain attempt. When a
//!   platform asks to wait or fails, the rest of that workspace's deliveries wait
//!   with it, in order.
//! - At shutdown, calls in flight are abandoned at once; their deliveries stay
//!   pending (uncertain) and are resolved after the restart.
//! - A message already posted whose announcement was redacted since (its member
//!   was erased) is edited in place ([`Notifier::edit`]), at the channel and
//!   message id its post kept. An edit sets the message to the body as it is, so
//!   repeating one does no harm: it needs no record of uncertain attempts, and it
//!   never expires. A post or edit that went out with a body redacted meanwhile is
//!   followed by another edit (the body's revision tells).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use futures_util::{StreamExt, stream};
use rand::Rng;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::Shutdown;
use crate::app::App;
use crate::domain::{AnnouncementId, Platform, WorkspaceId};
use crate::error::Result;
use crate::store::outbox::{self, Action, Delivery, Lease, Outcome, Posted};

/// Why a delivery did not go through.
#[derive(Debug, Clone)]
pub enum DeliveryError {
    /// Not posted; try again later: rate limited (with the platform's
    /// Retry-After), a 5xx, a connection refused.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// No answer came: the post may have gone through (a timeout, a connection
    /// dropped after the request was sent).
    Uncertain(String),
    /// Will never work as it is (channel deleted, no access): kept, marked failed.
    Permanent(String),
}

/// Posts announcements and private messages to one platform.
pub trait Notifier: Send + Sync + 'static {
    fn platform(&self) -> Platform;
    /// Posts the delivery: to the workspace's channel, or privately to its
    /// recipient. On success, where it landed.
    fn deliver<'a>(
        &'a self,
        delivery: &'a Delivery,
    ) -> BoxFuture<'a, Result<Posted, DeliveryError>>;
    /// Of these channel posts, all of one workspace and each possibly posted by an
    /// attempt whose answer was lost, those that were: looked up on the platform.
    fn find_posted<'a>(
        &'a self,
        uncertain: &'a [Delivery],
    ) -> BoxFuture<'a, Result<Vec<(AnnouncementId, Posted)>, DeliveryError>> {
        let _ = uncertain;
        Box::pin(async { Ok(Vec::new()) })
    }
    /// Changes the message `posted` made for this delivery to show its body as it
    /// is now (redacted). The same edit may be made twice.
    fn edit<'a>(
        &'a self,
        delivery: &'a Delivery,
        posted: &'a Posted,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        let _ = (delivery, posted);
        Box::pin(async {
            Err(DeliveryError::Permanent(
                "this platform's notifier cannot edit a posted message".into(),
            ))
        })
    }
    /// The least time between two posts (or edits) to one workspace.
    fn pace(&self) -> Duration {
        Duration::ZERO
    }
}

/// How delivery runs; see `[delivery]` in config.example.toml.
#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    /// The longest any one platform call may take.
    pub call_timeout: Duration,
    /// Workspaces delivered to at the same time.
    pub concurrency: usize,
    /// How long a worker's hold on a workspace lasts unless renewed (each attempt
    /// renews it): how long a dead worker's workspaces wait for another.
    pub lease: Duration,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            call_timeout: Duration::from_secs(10),
            concurrency: 8,
            lease: Duration::from_secs(60),
        }
    }
}

/// How long to wait after the nth failed attempt: doubling from 2 s, at most an
/// hour, with up to a quarter more at random so retries do not stampede.
pub fn backoff(attempts: i64) -> Duration {
    let base = 2u64.saturating_pow(attempts.clamp(1, 12) as u32).min(3600);
    let jitter = rand::rng().random_range(0..=base * 250);
    Duration::from_secs(base) + Duration::from_millis(jitter)
}

/// A name for this worker no other has: the host, the process and a random
/// part (a process id comes back after a restart).
fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!(
        "{}:{}:{:08x}",
        host.trim(),
        std::process::id(),
        rand::rng().random::<u32>()
    )
}

/// Counts a delivery's outcome for `/metrics`.
fn count_delivery(delivery: &Delivery, outcome: &'static str) {
    metrics::counter!(crate::ops::names::DELIVERIES,
        "platform" => delivery.platform.as_str(), "outcome" => outcome)
    .increment(1);
}

/// The most deliveries of one workspace fetched at once.
const BATCH: i64 = 50;
/// The most workspaces looked at in one round.
const WORKSPACES_PER_ROUND: i64 = 1000;
/// How often stale deliveries are swept while running.
const EXPIRY_SWEEP: Duration = Duration::from_secs(60);

/// What became of one delivery.
enum Attempt {
    Delivered,
    /// Not posted, for good: failed or expired.
    Dropped,
    /// Not yet: it and the rest of its workspace's deliveries wait.
    Held,
    /// Shutdown came first; it stays pending.
    Interrupted,
    /// This worker's lease ran out and another worker has the workspace now, or
    /// the delivery is no longer pending: nothing was sent.
    Lost,
}

#[derive(Clone)]
pub struct Deliverer {
    inner: Arc<Inner>,
}

struct Inner {
    app: App,
    notifiers: Vec<Arc<dyn Notifier>>,
    options: DeliveryOptions,
    /// When each workspace was last posted to, to keep its notifier's pace.
    last_post: Mutex<HashMap<WorkspaceId, Instant>>,
    /// Set by `run`: work in flight stops at shutdown.
    shutdown: Option<Shutdown>,
    /// Who this worker is to the other workers, in the leases it holds.
    holder: String,
}

impl Deliverer {
    pub fn new(app: App, notifiers: Vec<Arc<dyn Notifier>>) -> Self {
        Deliverer::with_options(app, notifiers, DeliveryOptions::default())
    }

    pub fn with_options(
        app: App,
        notifiers: Vec<Arc<dyn Notifier>>,
        options: DeliveryOptions,
    ) -> Self {
        Deliverer {
            inner: Arc::new(Inner {
                app,
                notifiers,
                options,
                last_post: Mutex::new(HashMap::new()),
                shutdown: None,
                holder: worker_name(),
            }),
        }
    }

    /// Delivers everything due now, every workspace's in turn; returns how many
    /// were delivered.
    pub async fn deliver_due(&self) -> Result<usize> {
        let inner = &self.inner;
        inner.expire_stale().await?;
        let mut delivered = 0;
        for notifier in &inner.notifiers {
            let workspaces = inner
                .app
                .store()
                .due_delivery_workspaces(notifier.platform(), inner.app.now(), WORKSPACES_PER_ROUND)
                .await?;
            let mut drained = stream::iter(workspaces)
                .map(|w| inner.drain(notifier.as_ref(), w))
                .buffer_unordered(inner.options.concurrency.max(1));
            while let Some(count) = drained.next().await {
                delivered += count?;
            }
        }
        Ok(delivered)
    }

    /// Delivers until shutdown: a worker per workspace with deliveries due, up to
    /// `concurrency` at once, started when woken, when a worker finishes, or when
    /// the next retry is due (checking at least every 30 s).
    pub async fn run(self, mut shutdown: Shutdown) {
        let inner = Arc::new(Inner {
            app: self.inner.app.clone(),
            notifiers: self.inner.notifiers.clone(),
            options: self.inner.options.clone(),
            last_post: Mutex::new(HashMap::new()),
            shutdown: Some(shutdown.clone()),
            holder: self.inner.holder.clone(),
        });
        let mut workers: JoinSet<WorkspaceId> = JoinSet::new();
        let mut busy: HashSet<WorkspaceId> = HashSet::new();
        let mut last_sweep: Option<Instant> = None;
        // Deliveries other processes queue (PostgreSQL); without it they wait
        // for the next look.
        let mut wakeups = match inner.app.store().outbox_wakeups().await {
            Ok(wakeups) => Some(wakeups),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for other processes' deliveries; looking every 30 s");
                None
            }
        };
        loop {
            if last_sweep.is_none_or(|at| at.elapsed() >= EXPIRY_SWEEP) {
                if let Err(e) = inner.expire_stale().await {
                    tracing::error!(error = %e, "expiring stale announcements failed");
                }
                last_sweep = Some(Instant::now());
            }
            if let Err(e) = inner.start_workers(&mut workers, &mut busy).await {
                tracing::error!(error = %e, "announcement delivery failed");
            }
            // A workspace already being served is due but needs no new worker:
            // its worker finishing wakes this loop, so it need not poll meanwhile.
            let wait = match inner.until_next().await {
                wait if workers.is_empty() => wait,
                wait => wait.max(Duration::from_secs(1)),
            };
            let woken = async {
                match wakeups.as_mut() {
                    Some(wakeups) => wakeups.next().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = inner.app.outbox_signal().notified() => {}
                heard = woken => {
                    if let Err(e) = heard {
                        // sqlx reconnects the listener; a notice missed meanwhile
                        // waits for the next look at most.
                        tracing::warn!(error = %e, "listening for other processes' deliveries");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                Some(finished) = workers.join_next() => {
                    if let Ok(workspace) = finished {
                        busy.remove(&workspace);
                    }
                }
                _ = shutdown.wait() => break,
            }
        }
        // Workers abandon their calls at shutdown; any that has not yet is stopped.
        let stopping = async { while workers.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(2), stopping)
            .await
            .is_err()
        {
            workers.abort_all();
        }
        tracing::info!("announcement delivery stopped");
    }
}

impl Inner {
    async fn expire_stale(&self) -> Result<()> {
        let now = self.app.now();
        let max_age = self.app.freshness().milestone_max_age;
        let expired = self
            .app
            .store()
            .expire_stale_deliveries(now, max_age)
            .await?;
        if expired > 0 {
            tracing::info!(
                expired,
                "announcements expired unposted: past their useful life"
            );
        }
        Ok(())
    }

    /// Starts a worker for each workspace with deliveries due that has none.
    async fn start_workers(
        self: &Arc<Self>,
        workers: &mut JoinSet<WorkspaceId>,
        busy: &mut HashSet<WorkspaceId>,
    ) -> Result<()> {
        for (index, notifier) in self.notifiers.iter().enumerate() {
            let due = self
                .app
                .store()
                .due_delivery_workspaces(notifier.platform(), self.app.now(), WORKSPACES_PER_ROUND)
                .await?;
            for workspace in due {
                if workers.len() >= self.options.concurrency.max(1) {
                    return Ok(());
                }
                if !busy.insert(workspace) {
                    continue;
                }
                let inner = self.clone();
                workers.spawn(async move {
                    let notifier = inner.notifiers[index].clone();
                    if let Err(e) = inner.drain(notifier.as_ref(), workspace).await {
                        tracing::error!(error = %e, workspace = %workspace, "announcement delivery failed");
                    }
                    workspace
                });
            }
        }
        Ok(())
    }

    /// This worker's lease on a workspace, from `now`.
    fn lease(&self, now: DateTime<Utc>) -> Lease {
        Lease {
            holder: self.holder.clone(),
            until: now
                + chrono::Duration::from_std(self.options.lease).unwrap_or(chrono::Duration::MAX),
        }
    }

    /// Delivers a workspace's due deliveries in order, until none is due or the
    /// platform asks to wait, holding the workspace's lease meanwhile; returns
    /// how many were delivered. Nothing, if another worker holds the lease.
    async fn drain(&self, notifier: &dyn Notifier, workspace: WorkspaceId) -> Result<usize> {
        let store = self.app.store();
        let now = self.app.now();
        if !store
            .take_delivery_lease(workspace, &self.lease(now), now)
            .await?
        {
            return Ok(0);
        }
        let drained = self.drain_leased(notifier, workspace).await;
        if let Err(e) = store.release_delivery_lease(workspace, &self.holder).await {
            // It runs out by itself.
            tracing::warn!(error = %e, %workspace, "giving a delivery lease back failed");
        }
        drained
    }

    async fn drain_leased(&self, notifier: &dyn Notifier, workspace: WorkspaceId) -> Result<usize> {
        let mut delivered = 0;
        loop {
            let due = self
                .app
                .store()
                .due_deliveries(workspace, self.app.now(), BATCH)
                .await?;
            if due.is_empty() {
                return Ok(delivered);
            }
            let Some(due) = self.resolve_uncertain(notifier, due).await? else {
                return Ok(delivered);
            };
            delivered += due.found;
            for delivery in &due.to_post {
                match self.attempt(notifier, delivery).await? {
                    Attempt::Delivered => delivered += 1,
                    Attempt::Dropped => {}
                    Attempt::Held | Attempt::Interrupted | Attempt::Lost => return Ok(delivered),
                }
            }
        }
    }

    /// Asks the platform which uncertain channel posts went through after all, and
    /// marks those delivered. None when the platform asked to wait: the workspace is
    /// then held.
    async fn resolve_uncertain(
        &self,
        notifier: &dyn Notifier,
        due: Vec<Delivery>,
    ) -> Result<Option<Resolved>> {
        let uncertain: Vec<Delivery> = due
            .iter()
            .filter(|d| {
                d.action == Action::Post && d.uncertain() && !d.is_private() && !self.expired(d)
            })
            .cloned()
            .collect();
        if uncertain.is_empty() {
            return Ok(Some(Resolved {
                found: 0,
                to_post: due,
            }));
        }
        let looked_up = self
            .call(notifier.find_posted(&uncertain), "looking for a post")
            .await;
        let found = match looked_up {
            None => return Ok(None),
            Some(Ok(found)) => found,
            Some(Err(DeliveryError::Permanent(reason))) => {
                // Without the history there is no telling; posting again risks a
                // second message, not posting risks none at all.
                tracing::warn!(workspace = %uncertain[0].workspace, %reason,
                    "cannot look for an uncertain announcement; posting it again");
                Vec::new()
            }
            Some(Err(DeliveryError::Retry { after, reason })) => {
                self.hold(&uncertain[0], after, &reason, Outcome::Uncertain)
                    .await?;
                return Ok(None);
            }
            Some(Err(DeliveryError::Uncertain(reason))) => {
                self.hold(&uncertain[0], None, &reason, Outcome::Uncertain)
                    .await?;
                return Ok(None);
            }
        };
        let now = self.app.now();
        let found: HashMap<AnnouncementId, Posted> = found.into_iter().collect();
        let mut count = 0;
        let mut to_post = Vec::new();
        for delivery in due {
            match found.get(&delivery.announcement) {
                Some(posted) if delivery.uncertain() && !delivery.is_private() => {
                    tracing::info!(announcement = %delivery.announcement, workspace = %delivery.workspace,
                        "an uncertain announcement was posted after all; not posting it again");
                    // Which revision that attempt posted is unknown: any body but
                    // the first gets an edit.
                    self.app
                        .store()
                        .mark_delivered(&delivery, posted, 0, now)
                        .await?;
                    count += 1;
                }
                _ => to_post.push(delivery),
            }
        }
        Ok(Some(Resolved {
            found: count,
            to_post,
        }))
    }

    fn expired(&self, d: &Delivery) -> bool {
        let now = self.app.now();
        if d.action == Action::Edit {
            return false;
        }
        d.expires_at.is_some_and(|at| at <= now)
            || (d.kind == outbox::Kind::Milestone
                && d.created_at + self.app.freshness().milestone_max_age <= now)
    }

    async fn attempt(&self, notifier: &dyn Notifier, delivery: &Delivery) -> Result<Attempt> {
        let store = self.app.store();
        if delivery.action == Action::Edit {
            let Some(posted) = &delivery.posted else {
                let reason = "an edit of a message that was never posted";
                store.fail_delivery(delivery, reason).await?;
                return Ok(Attempt::Dropped);
            };
            return self.edit(notifier, delivery, posted).await;
        }
        if self.expired(delivery) {
            store.expire_delivery(delivery).await?;
            count_delivery(delivery, "expired");
            return Ok(Attempt::Dropped);
        }
        if delivery.is_private() && delivery.uncertain_attempts >= 2 {
            let reason = "no answer to two attempts; a private message is not sent a third time";
            tracing::warn!(announcement = %delivery.announcement, workspace = %delivery.workspace, reason);
            store.fail_delivery(delivery, reason).await?;
            return Ok(Attempt::Dropped);
        }
        if !self.keep_pace(notifier.pace(), delivery.workspace).await {
            return Ok(Attempt::Interrupted);
        }
        let started = self.app.now();
        if !store
            .begin_delivery_attempt(delivery, &self.lease(started), started)
            .await?
        {
            tracing::info!(announcement = %delivery.announcement, workspace = %delivery.workspace,
                "the workspace's lease was lost to another worker; leaving its deliveries to it");
            return Ok(Attempt::Lost);
        }
        let outcome = self
            .call(notifier.deliver(delivery), "posting an announcement")
            .await;
        self.last_post
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(delivery.workspace, Instant::now());
        self.settle(
            delivery,
            outcome,
            Outcome::Uncertain,
            "announcement cannot be delivered",
        )
        .await
    }

    /// Edits a posted message to show the body as it is now. Any failure to answer
    /// is a plain retry: the same edit made twice does no harm.
    async fn edit(
        &self,
        notifier: &dyn Notifier,
        delivery: &Delivery,
        posted: &Posted,
    ) -> Result<Attempt> {
        let store = self.app.store();
        if !self.keep_pace(notifier.pace(), delivery.workspace).await {
            return Ok(Attempt::Interrupted);
        }
        store.begin_delivery_edit(delivery).await?;
        let outcome = self
            .call(
                notifier.edit(delivery, posted),
                "editing a posted announcement",
            )
            .await;
        self.last_post
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(delivery.workspace, Instant::now());
        // An edit whose answer was lost is simply made again: the same edit
        // twice does no harm.
        let outcome = outcome.map(|done| done.map(|()| posted.clone()));
        self.settle(
            delivery,
            outcome,
            Outcome::NotPosted,
            "a posted announcement cannot be edited",
        )
        .await
    }

    /// Records what became of a call: delivered (where it landed), held for a
    /// retry (`lost` says whether a call with no answer may have gone through),
    /// or failed for good.
    async fn settle(
        &self,
        delivery: &Delivery,
        outcome: Option<Result<Posted, DeliveryError>>,
        lost: Outcome,
        failed: &str,
    ) -> Result<Attempt> {
        let store = self.app.store();
        let now = self.app.now();
        let counted = match &outcome {
            None => None,
            Some(Ok(_)) => Some("delivered"),
            Some(Err(DeliveryError::Retry { .. })) => Some("retry"),
            Some(Err(DeliveryError::Uncertain(_))) => Some("uncertain"),
            Some(Err(DeliveryError::Permanent(_))) => Some("failed"),
        };
        if let Some(outcome) = counted {
            count_delivery(delivery, outcome);
        }
        match outcome {
            None => Ok(Attempt::Interrupted),
            Some(Ok(posted)) => {
                store
                    .mark_delivered(delivery, &posted, delivery.revision, now)
                    .await?;
                Ok(Attempt::Delivered)
            }
            Some(Err(DeliveryError::Retry { after, reason })) => {
                self.hold(delivery, after, &reason, Outcome::NotPosted)
                    .await?;
                Ok(Attempt::Held)
            }
            Some(Err(DeliveryError::Uncertain(reason))) => {
                self.hold(delivery, None, &reason, lost).await?;
                Ok(Attempt::Held)
            }
            Some(Err(DeliveryError::Permanent(reason))) => {
                tracing::error!(platform = %delivery.platform, announcement = %delivery.announcement, %reason, "{failed}");
                store.fail_delivery(delivery, &reason).await?;
                Ok(Attempt::Dropped)
            }
        }
    }

    /// A platform call within its deadline (running out of it is an uncertain
    /// outcome); None if shutdown came first.
    async fn call<T>(
        &self,
        call: BoxFuture<'_, Result<T, DeliveryError>>,
        doing: &str,
    ) -> Option<Result<T, DeliveryError>> {
        let timeout = self.options.call_timeout;
        let bounded = async {
            tokio::time::timeout(timeout, call)
                .await
                .unwrap_or_else(|_| {
                    Err(DeliveryError::Uncertain(format!(
                        "no answer within {} s while {doing}",
                        timeout.as_secs_f64()
                    )))
                })
        };
        match self.shutdown.clone() {
            Some(mut shutdown) => tokio::select! {
                outcome = bounded => Some(outcome),
                _ = shutdown.wait() => None,
            },
            None => Some(bounded.await),
        }
    }

    /// Schedules another attempt and holds the workspace's other deliveries until
    /// then.
    async fn hold(
        &self,
        delivery: &Delivery,
        after: Option<Duration>,
        reason: &str,
        outcome: Outcome,
    ) -> Result<()> {
        let wait = after.map_or_else(
            || backoff(delivery.attempts + 1),
            |a| a.max(Duration::from_millis(100)),
        );
        tracing::warn!(
            platform = %delivery.platform, announcement = %delivery.announcement,
            attempts = delivery.attempts + 1, wait_ms = wait.as_millis() as u64,
            uncertain = outcome == Outcome::Uncertain, %reason,
            "announcement not delivered; will retry"
        );
        let at =
            self.app.now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
        self.app
            .store()
            .retry_delivery(delivery, at, reason, outcome)
            .await
    }

    /// Waits until `pace` has passed since the workspace was last posted to; false
    /// if shutdown came first.
    async fn keep_pace(&self, pace: Duration, workspace: WorkspaceId) -> bool {
        let last = self
            .last_post
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&workspace)
            .copied();
        if let Some(last) = last.filter(|_| !pace.is_zero()) {
            let paced = tokio::time::sleep_until(last + pace);
            if let Some(mut shutdown) = self.shutdown.clone() {
                tokio::select! {
                    _ = paced => {}
                    _ = shutdown.wait() => return false,
                }
            } else {
                paced.await;
            }
        }
        !self.shutdown.as_ref().is_some_and(Shutdown::is_triggered)
    }

    async fn until_next(&self) -> Duration {
        let mut wait = Duration::from_secs(30);
        for n in &self.notifiers {
            if let Ok(Some(next)) = self.app.store().next_delivery_due(n.platform()).await {
                let until = (next - self.app.now()).to_std().unwrap_or(Duration::ZERO);
                wait = wait.min(until.max(Duration::from_millis(50)));
            }
        }
        wait
    }
}

/// A workspace's due deliveries once the uncertain ones were looked for.
struct Resolved {
    /// Found posted, and marked delivered.
    found: usize,
    /// Still to post, in order.
    to_post: Vec<Delivery>,
}
