//! Background jobs over a real SQLite file: announcement delivery with retries, and
//! schedules kept in the database.

#[path = "support/db.rs"]
mod db;
#[path = "support/keel.rs"]
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use keel::app::{App, run_due_schedules};
use keel::domain::clock::Clock;
use keel::domain::clock::ManualClock;
use keel::domain::{Actor, Platform, Role};
use keel::jobs::outbox::{Deliverer, DeliveryError, Notifier};
use keel::store::outbox::{self, Delivery, Posted};
use support::{actor, open};

/// A platform that fails as scripted, then accepts, recording what it accepted.
struct FlakyPlatform {
    script: Mutex<Vec<DeliveryError>>,
    calls: AtomicUsize,
    delivered: Mutex<Vec<String>>,
    recipients: Mutex<Vec<Option<String>>>,
}

impl FlakyPlatform {
    fn new(script: Vec<DeliveryError>) -> Arc<Self> {
        Arc::new(FlakyPlatform {
            script: Mutex::new(script),
            calls: AtomicUsize::new(0),
            delivered: Mutex::new(Vec::new()),
            recipients: Mutex::new(Vec::new()),
        })
    }
    fn delivered(&self) -> Vec<String> {
        self.delivered.lock().unwrap().clone()
    }
    fn recipients(&self) -> Vec<Option<String>> {
        self.recipients.lock().unwrap().clone()
    }
}

impl Notifier for FlakyPlatform {
    fn platform(&self) -> Platform {
        Platform::Console
    }
    fn deliver<'a>(
        &'a self,
        delivery: &'a Delivery,
    ) -> BoxFuture<'a, Result<Posted, DeliveryError>> {
        async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let mut script = self.script.lock().unwrap();
            if !script.is_empty() {
                return Err(script.remove(0));
            }
            self.delivered
                .lock()
                .unwrap()
                .push(delivery.body.title.clone().unwrap_or_default());
            self.recipients
                .lock()
                .unwrap()
                .push(delivery.recipient.clone());
            Ok(Posted {
                channel: "C1".into(),
                message: delivery.announcement.to_string(),
            })
        }
        .boxed()
    }
}

async fn organiser(app: &App) -> Actor {
    actor(app, "forest", "alice", Role::Organiser).await
}

fn wednesday_noon() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

async fn pending(app: &App) -> i64 {
    db::scalar(
        app,
        "SELECT count(*) FROM announcement_deliveries WHERE status = 'pending'",
        &[],
    )
    .await
}

/// A platform that asks to wait (429 with Retry-After) or fails (5xx) is not asked
/// again for that workspace until the wait is over: the workspace's other
/// announcements wait with the one that failed, and then all go, once each.
#[tokio::test]
async fn rate_limits_and_server_errors_hold_the_workspace_back_but_never_lose_or_repeat() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(wednesday_noon()));
    let app = open(&dir, clock.clone()).await;
    let alice = organiser(&app).await;
    // The first contribution reaches two milestones: the community's and alice's first.
    app.handle_line(&alice, "contribute Planted a tree")
        .await
        .unwrap();
    assert_eq!(pending(&app).await, 2);

    let platform = FlakyPlatform::new(vec![
        DeliveryError::Retry {
            after: Some(Duration::from_secs(30)),
            reason: "429".into(),
        },
        DeliveryError::Retry {
            after: None,
            reason: "500".into(),
        },
    ]);
    let deliverer = Deliverer::new(app.clone(), vec![platform.clone()]);
    assert_eq!(deliverer.deliver_due().await.unwrap(), 0, "rate limited");
    assert_eq!(
        platform.calls.load(Ordering::SeqCst),
        1,
        "the second announcement was tried despite the rate limit"
    );
    // Announcements queued during the wait wait too: the 10th contribution is the
    // community's 10th and alice's.
    for n in 2..=10 {
        app.handle_line(&alice, &format!("contribute Tree {n}"))
            .await
            .unwrap();
    }
    assert_eq!(pending(&app).await, 4);
    clock.advance(chrono::Duration::seconds(10));
    assert_eq!(deliverer.deliver_due().await.unwrap(), 0);
    assert_eq!(
        platform.calls.load(Ordering::SeqCst),
        1,
        "an announcement was tried before Retry-After"
    );
    // After it, the first gets a 5xx: all wait its backoff (2 × 2 s, and up to a
    // quarter more).
    clock.advance(chrono::Duration::seconds(25));
    assert_eq!(deliverer.deliver_due().await.unwrap(), 0, "server error");
    assert_eq!(platform.calls.load(Ordering::SeqCst), 2);
    clock.advance(chrono::Duration::seconds(6));
    assert_eq!(deliverer.deliver_due().await.unwrap(), 4, "all go after it");
    assert_eq!(pending(&app).await, 0);
    clock.advance(chrono::Duration::hours(2));
    assert_eq!(deliverer.deliver_due().await.unwrap(), 0);
    assert_eq!(
        platform.delivered(),
        vec![
            "🎉 The community logged its first contribution!".to_string(),
            "🎉 alice logged their first contribution!".to_string(),
            "🎉 The community reached 10 contributions!".to_string(),
            "🎉 alice logged their 10th contribution!".to_string(),
        ],
        "in the order they were queued, each once"
    );
    let attempts: i64 = db::scalar(
        &app,
        "SELECT CAST(sum(attempts) AS BIGINT) FROM announcement_deliveries",
        &[],
    )
    .await;
    assert_eq!(attempts, 6, "two failures and four deliveries");
}

#[tokio::test]
async fn queued_announcements_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(wednesday_noon()));
    {
        let app = open(&dir, clock.clone()).await;
        let alice = organiser(&app).await;
        app.handle_line(&alice, "contribute Planted a tree")
            .await
            .unwrap();
        app.store().close().await;
    }
    let app = open(&dir, clock.clone()).await;
    let platform = FlakyPlatform::new(Vec::new());
    let deliverer = Deliverer::new(app.clone(), vec![platform.clone()]);
    assert_eq!(deliverer.deliver_due().await.unwrap(), 2);
    assert_eq!(deliverer.deliver_due().await.unwrap(), 0);
    assert_eq!(platform.delivered().len(), 2);
}

#[tokio::test]
async fn a_permanent_failure_is_kept_as_failed_and_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(wednesday_noon()));
    let app = open(&dir, clock.clone()).await;
    let alice = organiser(&app).await;
    app.handle_line(&alice, "contribute Planted a tree")
        .await
        .unwrap();
    let platform = FlakyPlatform::new(vec![
        DeliveryError::Permanent("channel deleted".into()),
        DeliveryError::Permanent("channel deleted".into()),
    ]);
    let deliverer = Deliverer::new(app.clone(), vec![platform.clone()]);
    deliverer.deliver_due().await.unwrap();
    clock.advance(chrono::Duration::days(1));
    deliverer.deliver_due().await.unwrap();
    assert_eq!(platform.calls.load(Ordering::SeqCst), 2);
    let failed: i64 = db::scalar(
        &app,
        "SELECT count(*) FROM announcement_deliveries WHERE status = 'failed' AND last_error = 'channel deleted'",
        &[],
    )
    .await;
    assert_eq!(failed, 2);
}

#[tokio::test]
async fn schedules_post_once_per_period_in_the_community_time_zone() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(wednesday_noon()));
    let app = open(&dir, clock.clone()).await;
    let alice = organiser(&app).await;
    app.handle_line(&alice, "mission set Grow a forest")
        .await
        .unwrap();
    app.handle_line(&alice, "setup timezone Europe/Paris")
        .await
        .unwrap();
    app.handle_line(&alice, "contribute Planted a tree")
        .await
        .unwrap();
    let platform = FlakyPlatform::new(Vec::new());
    let deliverer = Deliverer::new(app.clone(), vec![platform.clone()]);
    deliverer.deliver_due().await.unwrap();
    let milestones = platform.delivered().len();

    // Nothing is due on Wednesday.
    assert_eq!(run_due_schedules(&app).await.unwrap(), 0);
    // The digest is due Monday 09:00 in Paris, which is 08:00 UTC in winter.
    clock.set(Utc.with_ymd_and_hms(2026, 11, 30, 7, 59, 0).unwrap());
    assert_eq!(run_due_schedules(&app).await.unwrap(), 0);
    clock.set(Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap());
    assert_eq!(run_due_schedules(&app).await.unwrap(), 1);
    assert_eq!(run_due_schedules(&app).await.unwrap(), 0, "once per period");
    deliverer.deliver_due().await.unwrap();
    let delivered = platform.delivered();
    assert_eq!(delivered.len(), milestones + 1);
    assert!(
        delivered.last().unwrap().starts_with("Digest · forest"),
        "{delivered:?}"
    );

    // The mission reminder: the 1st of the month, 09:00 Paris. In the 30 days
    // before, two contributions reflected "care" and none "learning".
    app.handle_line(&alice, "mission value add care")
        .await
        .unwrap();
    app.handle_line(&alice, "mission value add learning")
        .await
        .unwrap();
    clock.set(Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap());
    app.handle_line(&alice, "contribute Watered value=care")
        .await
        .unwrap();
    app.handle_line(&alice, "contribute Weeded value=Care")
        .await
        .unwrap();
    clock.set(Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap());
    assert_eq!(run_due_schedules(&app).await.unwrap(), 1);
    deliverer.deliver_due().await.unwrap();
    assert_eq!(platform.delivered().last().unwrap(), "Mission reminder");
    let body: String = db::scalar(
        &app,
        "SELECT body FROM announcements WHERE kind = 'mission_reminder' ORDER BY id DESC LIMIT 1",
        &[],
    )
    .await;
    assert!(
        body.contains("reflected care most (2) and learning least (0)"),
        "{body}"
    );

    // Turned off, it stays quiet.
    app.handle_line(&alice, "setup digest off").await.unwrap();
    clock.set(Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap());
    assert_eq!(run_due_schedules(&app).await.unwrap(), 0);
}

#[tokio::test]
async fn forgetting_a_member_keeps_the_community_milestone_but_not_their_name() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(wednesday_noon()));
    let app = open(&dir, clock.clone()).await;
    let zebulon = actor(&app, "forest", "zebulon", Role::Member).await;
    app.handle_line(&zebulon, "contribute Planted the very first tree")
        .await
        .unwrap();
    app.handle_line(&zebulon, "forget-me confirm")
        .await
        .unwrap();
    let platform = FlakyPlatform::new(Vec::new());
    Deliverer::new(app.clone(), vec![platform.clone()])
        .deliver_due()
        .await
        .unwrap();
    assert_eq!(
        platform.delivered(),
        vec!["🎉 The community logged its first contribution!".to_string()]
    );
    let bodies: Vec<String> = db::scalars(&app, "SELECT body FROM announcements", &[]).await;
    assert_eq!(bodies.len(), 1);
    assert!(
        !bodies[0].contains("zebulon") && !bodies[0].contains("very first tree"),
        "{}",
        bodies[0]
    );
}

/// The outbox sends private messages to a member, not only channel posts. One
/// whose answer was lost (it may have arrived) is sent once more, never a third
/// time.
#[tokio::test]
async fn a_private_message_goes_through_the_outbox_and_is_repeated_at_most_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(wednesday_noon()));
    let app = open(&dir, clock.clone()).await;
    let alice = organiser(&app).await;
    let message = |text: &str| {
        let body = keel::domain::Reply::private(text);
        let (community, member, workspace) = (alice.community, alice.member, alice.workspace);
        let now = clock.now();
        let app = app.clone();
        async move {
            let new = outbox::NewAnnouncement {
                community,
                kind: outbox::Kind::Direct,
                achievement_id: None,
                contribution: None,
                about_member: Some(member),
                body: &body,
                expires_at: None,
            };
            let mut writer = db::writer(&app).await;
            let queued = writer
                .steps()
                .enqueue_direct(&new, workspace, "alice", now)
                .await
                .unwrap();
            writer.commit().await;
            queued
        }
    };
    message("Your contribution #12 was approved.").await;
    let lost = || DeliveryError::Uncertain("no answer within 10 s".into());
    let platform = FlakyPlatform::new(vec![lost(), lost()]);
    let deliverer = Deliverer::new(app.clone(), vec![platform.clone()]);
    for _ in 0..3 {
        assert_eq!(deliverer.deliver_due().await.unwrap(), 0);
        clock.advance(chrono::Duration::hours(1));
    }
    assert_eq!(
        platform.calls.load(Ordering::SeqCst),
        2,
        "sent twice at most"
    );
    let failed: String = db::scalar(
        &app,
        "SELECT last_error FROM announcement_deliveries WHERE status = 'failed' AND recipient = 'alice'",
        &[],
    )
    .await;
    assert!(failed.contains("not sent a third time"), "{failed}");

    message("Your contribution #13 was approved.").await;
    assert_eq!(deliverer.deliver_due().await.unwrap(), 1);
    assert_eq!(platform.recipients(), vec![Some("alice".to_string())]);
}

/// A platform whose posts wait until the test lets each through.
struct GatedPlatform {
    gate: tokio::sync::Semaphore,
    entered: tokio::sync::Notify,
    delivered: Mutex<Vec<String>>,
}

impl Notifier for GatedPlatform {
    fn platform(&self) -> Platform {
        Platform::Console
    }
    fn deliver<'a>(
        &'a self,
        delivery: &'a Delivery,
    ) -> BoxFuture<'a, Result<Posted, DeliveryError>> {
        async move {
            self.entered.notify_one();
            self.gate.acquire().await.unwrap().forget();
            self.delivered
                .lock()
                .unwrap()
                .push(delivery.body.title.clone().unwrap_or_default());
            Ok(Posted {
                channel: "C1".into(),
                message: delivery.announcement.to_string(),
            })
        }
        .boxed()
    }
}

/// Two workers (as in two processes on one PostgreSQL) never deliver one
/// workspace at once: the first holds its lease. Killed mid-post, its
/// workspace waits for the lease to run out, then the other delivers it.
#[tokio::test]
async fn one_worker_at_a_time_delivers_a_workspace_and_a_dead_ones_lease_runs_out() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(wednesday_noon()));
    let app = open(&dir, clock.clone()).await;
    let alice = organiser(&app).await;
    app.handle_line(&alice, "contribute Planted a tree")
        .await
        .unwrap();
    assert_eq!(pending(&app).await, 2);

    let stuck = Arc::new(GatedPlatform {
        gate: tokio::sync::Semaphore::new(0),
        entered: tokio::sync::Notify::new(),
        delivered: Mutex::new(Vec::new()),
    });
    let first = Deliverer::new(app.clone(), vec![stuck.clone()]);
    let entered = stuck.entered.notified();
    let dying = tokio::spawn(async move { first.deliver_due().await });
    entered.await;

    let other = FlakyPlatform::new(Vec::new());
    let second = Deliverer::new(app.clone(), vec![other.clone()]);
    assert_eq!(second.deliver_due().await.unwrap(), 0, "the first holds it");
    assert_eq!(other.calls.load(Ordering::SeqCst), 0);

    dying.abort();
    let _ = dying.await;
    assert_eq!(
        second.deliver_due().await.unwrap(),
        0,
        "its lease still runs"
    );
    clock.advance(chrono::Duration::seconds(61));
    assert_eq!(second.deliver_due().await.unwrap(), 2);
    assert_eq!(other.delivered().len(), 2);
    assert!(stuck.delivered.lock().unwrap().is_empty());
    assert_eq!(pending(&app).await, 0);
}

/// Processes starting Discord shards at once (shard processes on one
/// PostgreSQL) each get a window of their own to connect in, one after the
/// other, 5.5 s a shard.
#[tokio::test]
async fn shard_processes_take_turns_to_connect() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(wednesday_noon()));
    let app = open(&dir, clock.clone()).await;
    let spacing = chrono::Duration::milliseconds(5_500);
    let now = clock.now();
    let store = app.store();
    let (a, b) = tokio::join!(
        store.reserve_discord_identify(4, spacing, now),
        store.reserve_discord_identify(4, spacing, now)
    );
    let mut starts = [a.unwrap(), b.unwrap()];
    starts.sort();
    assert_eq!(starts[0], now);
    assert_eq!(starts[1], now + spacing * 4);
    // Later, once the windows are past, a process connects at once.
    let later = now + chrono::Duration::minutes(5);
    assert_eq!(
        store
            .reserve_discord_identify(2, spacing, later)
            .await
            .unwrap(),
        later
    );
}

/// Three processes on one database (three Keel apps here) find the digest due
/// at once: it is queued once, and its run is recorded for its period.
#[tokio::test(flavor = "multi_thread")]
async fn a_digest_due_in_three_processes_at_once_is_queued_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(wednesday_noon()));
    let first = open(&dir, clock.clone()).await;
    let alice = organiser(&first).await;
    first
        .handle_line(&alice, "contribute Planted a tree")
        .await
        .unwrap();
    let (second, third) = (
        open(&dir, clock.clone()).await,
        open(&dir, clock.clone()).await,
    );
    // Monday 09:00 UTC, the default digest's time.
    clock.set(Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap());
    let (a, b, c) = tokio::join!(
        run_due_schedules(&first),
        run_due_schedules(&second),
        run_due_schedules(&third)
    );
    assert_eq!(a.unwrap() + b.unwrap() + c.unwrap(), 1);
    let digests = db::scalar::<i64>(
        &first,
        "SELECT count(*) FROM announcements WHERE kind = 'digest'",
        &[],
    )
    .await;
    assert_eq!(digests, 1);
    let period: String = db::scalar(
        &first,
        "SELECT period FROM schedule_runs WHERE kind = 'digest'",
        &[],
    )
    .await;
    assert!(period.starts_with("2026-11-30T09:00:00"), "{period}");
}
