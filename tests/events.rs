//! Events (issue 19 §1) through the seam, `App::handle_line`, on a real database
//! (SQLite, or PostgreSQL with TEST_DATABASE): every form with its refusals,
//! capacity and the waitlist, reminders once across a restart, attendance
//! counted once per member towards the goal and its milestones, check-in codes
//! refused when wrong or late, the code never in a public reply, and each
//! event's public card (posted and edited through the real outbox as its
//! answers change) and calendar file.
//!
//! The clock starts at 2026-11-26 12:00 UTC (a Thursday) and is moved by hand.

#[path = "support/database.rs"]
mod database;
#[path = "support/db.rs"]
mod db;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use keel::app::{App, run_due_event_reminders};
use keel::domain::clock::{Clock, ManualClock};
use keel::domain::{Actor, Envelope, Platform, Reply, Role, UserError};
use keel::jobs::outbox::{Deliverer, DeliveryError, Notifier};
use keel::store::outbox::{Delivery, Posted};
use keel::store::{Store, StoreOptions};
use tempfile::TempDir;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

async fn open(dir: &TempDir, clock: &Arc<ManualClock>) -> App {
    let url = database::url(dir.path()).await;
    let store = Store::open(&StoreOptions::new(url)).await.unwrap();
    App::new(store, clock.clone())
}

/// A fresh app on a fresh database; keep the `TempDir` alive for the test.
async fn app() -> (TempDir, App, Arc<ManualClock>) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let app = open(&dir, &clock).await;
    (dir, app, clock)
}

async fn actor(app: &App, user: &str, role: Role) -> Actor {
    app.actor(&Envelope {
        platform: Platform::Console,
        workspace_id: "forest".into(),
        workspace_name: "forest".into(),
        user_id: user.into(),
        user_name: user.into(),
        role,
    })
    .await
    .unwrap()
}

async fn organiser(app: &App) -> Actor {
    actor(app, "olga", Role::Organiser).await
}

async fn member(app: &App, name: &str) -> Actor {
    actor(app, name, Role::Member).await
}

async fn ok(app: &App, actor: &Actor, line: &str) -> Reply {
    match app.handle_line(actor, line).await {
        Ok(reply) => reply,
        Err(e) => panic!("`{line}` failed: {e}"),
    }
}

async fn err(app: &App, actor: &Actor, line: &str) -> UserError {
    match app.handle_line(actor, line).await {
        Ok(reply) => panic!(
            "`{line}` should be refused, but replied:\n{}",
            reply.plain()
        ),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_has(reply: &Reply, needle: &str) {
    let text = reply.plain();
    assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
}

#[track_caller]
fn assert_lacks(reply: &Reply, needle: &str) {
    let text = reply.plain();
    assert!(
        !text.contains(needle),
        "did not expect {needle:?} in:\n{text}"
    );
}

#[track_caller]
fn refused(e: &UserError, needle: &str) {
    let text = e.to_string();
    assert!(
        text.contains(needle),
        "expected {needle:?} in the refusal:\n{text}"
    );
}

async fn count(app: &App, sql: &str) -> i64 {
    db::scalar(app, sql, &[]).await
}

/// The private messages queued, as (recipient, body), oldest first.
async fn told(app: &App) -> Vec<(String, String)> {
    db::rows(
        app,
        "SELECT d.recipient, a.body FROM announcement_deliveries d
         JOIN announcements a ON a.id = d.announcement_id WHERE d.recipient IS NOT NULL
         ORDER BY a.id",
        &[],
    )
    .await
}

/// Who was told something whose body holds `needle`, in order.
async fn told_of(app: &App, needle: &str) -> Vec<String> {
    told(app)
        .await
        .into_iter()
        .filter(|(_, body)| body.contains(needle))
        .map(|(to, _)| to)
        .collect()
}

/// The check-in code an organiser's `event show` gives.
async fn code_of(app: &App, olga: &Actor, id: i64) -> String {
    let reply = ok(app, olga, &format!("event show #{id}")).await;
    assert!(reply.is_private());
    let text = reply.plain();
    let code = text
        .lines()
        .find_map(|l| l.strip_prefix("Check-in code: "))
        .unwrap_or_else(|| panic!("no code in:\n{text}"))
        .to_string();
    assert!(
        code.len() >= 4
            && code
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
        "{code:?}"
    );
    code
}

// ---------------------------------------------------------------------------
// Every form, with its refusals
// ---------------------------------------------------------------------------

#[tokio::test]
async fn every_event_form_works_for_whom_it_is_and_refuses_the_rest() {
    let (_dir, app, _clock) = app().await;
    let olga = organiser(&app).await;
    let mo = member(&app, "mo").await;
    let ann = member(&app, "ann").await;
    ok(&app, &olga, "setup timezone Europe/Paris").await;
    ok(
        &app,
        &olga,
        "goal create Plant trees target=100 unit=trees slug=trees",
    )
    .await;

    // Members are refused the organisers' forms, and nothing is written.
    for (line, command) in [
        ("event create Party at=2026-12-05T10:00", "event create"),
        ("event attend #1 @ann", "event attend"),
        ("event edit #1 title=Party", "event edit"),
        (r#"event cancel #1 reason="no""#, "event cancel"),
    ] {
        assert_eq!(
            err(&app, &mo, line).await,
            UserError::OrganiserOnly {
                command: command.into()
            },
            "{line}"
        );
    }
    assert_eq!(count(&app, "SELECT count(*) FROM events").await, 0);

    // Bad times, each with the form's words.
    refused(
        &err(&app, &olga, "event create Party at=2026-13-01T10:00").await,
        "is not a date and time",
    );
    refused(
        &err(&app, &olga, "event create Party at=2027-03-28T02:30").await,
        "does not exist in Europe/Paris",
    );
    refused(
        &err(&app, &olga, "event create Party at=2026-08-01T10:00").await,
        "more than 90 days ago",
    );
    refused(
        &err(&app, &olga, "event create Party at=2029-01-01T10:00").await,
        "730 days ahead",
    );
    refused(
        &err(
            &app,
            &olga,
            "event create Party at=2026-12-05T10:00 duration=2",
        )
        .await,
        "duration=2h",
    );
    refused(
        &err(
            &app,
            &olga,
            "event create Party at=2026-12-05T10:00 goal=nope",
        )
        .await,
        "No goal `nope`",
    );
    refused(&err(&app, &olga, "event create Party").await, "Missing at=");
    assert_eq!(count(&app, "SELECT count(*) FROM events").await, 0);

    // Created in the community's time zone: 10:00 in Paris is 09:00 UTC.
    let r = ok(
        &app,
        &olga,
        r#"event create Planting day at=2026-12-05T10:00 duration=2h where="Riverside park" goal=trees amount=5 capacity=20"#,
    )
    .await;
    assert!(!r.is_private(), "a new event is news");
    assert_has(&r, "Event #1 Planting day planned");
    assert_has(&r, "When: 2026-12-05 09:00 UTC – 2026-12-05 11:00 UTC (2h)");
    assert_has(&r, "Where: Riverside park");
    assert_has(&r, "Attending counts 5 trees towards the goal trees.");
    assert_has(&r, "event rsvp #1 yes|no|maybe");
    let code = code_of(&app, &olga, 1).await;
    assert_lacks(&r, &code);

    // list and show, for a member.
    let r = ok(&app, &mo, "event list").await;
    assert_has(
        &r,
        "#1 · 2026-12-05 09:00 UTC · Planting day · Riverside park · 0 of 20 going",
    );
    let r = ok(&app, &mo, "events").await;
    assert_has(&r, "Planting day");
    let r = ok(&app, &mo, "event show 1").await;
    assert!(r.is_private());
    assert_has(&r, "Event #1 Planting day");
    assert_has(&r, "You have not answered");
    assert_lacks(&r, "Check-in code");
    assert_lacks(&r, &code);

    // Unknown ids.
    for line in [
        "event show #99",
        "event rsvp #99 yes",
        "event checkin #99 code=ABCD",
    ] {
        refused(&err(&app, &mo, line).await, "Event #99 not found");
    }
    for line in [
        "event attend #99 @ann",
        "event edit #99 title=X",
        r#"event cancel #99 reason="x""#,
    ] {
        refused(&err(&app, &olga, line).await, "Event #99 not found");
    }
    refused(
        &err(&app, &mo, "event rsvp #1 sure").await,
        "yes, no or maybe",
    );
    refused(
        &err(&app, &mo, "event rsvp #one yes").await,
        "`#one` is not an event id",
    );

    // rsvp: yes, maybe, no.
    let r = ok(&app, &mo, "event rsvp #1 yes").await;
    assert!(r.is_private());
    assert_has(&r, "You are going to #1 Planting day");
    let r = ok(&app, &ann, "event rsvp 1 maybe").await;
    assert_has(&r, "Maybe for #1 Planting day");
    assert_has(&r, "A maybe takes no place");
    let bo = member(&app, "bo").await;
    ok(&app, &bo, "event rsvp #1 no").await;
    let r = ok(&app, &mo, "event show #1").await;
    assert_has(&r, "Answers: 1 of 20 going · 1 maybe · 1 not going");
    assert_has(&r, "Your answer: yes.");

    // Check-in and attendance before it starts are refused.
    refused(
        &err(&app, &mo, &format!("event checkin #1 code={code}")).await,
        "Check-in opens when the event starts, at 2026-12-05 10:00 (Europe/Paris)",
    );
    refused(
        &err(&app, &olga, "event attend #1 @mo").await,
        "has not started yet",
    );

    // edit: a title alone tells no one; a new time and place tell yes and maybe
    // (not no), each once.
    let r = ok(&app, &olga, r#"event edit #1 title="Spring planting""#).await;
    assert_has(&r, "Title: Spring planting (was Planting day)");
    assert!(told(&app).await.is_empty());
    refused(
        &err(&app, &olga, "event edit #1 at=tomorrow").await,
        "not a date and time",
    );
    let r = ok(
        &app,
        &olga,
        r#"event edit #1 at=2026-12-06T14:00 where="North meadow""#,
    )
    .await;
    assert_has(&r, "When: 2026-12-06 13:00 UTC – 2026-12-06 15:00 UTC (2h)");
    assert_has(&r, "Where: North meadow (was Riverside park)");
    assert_has(
        &r,
        "2 members who answered yes or maybe are told privately.",
    );
    assert_eq!(
        told_of(&app, "Event #1 Spring planting has changed").await,
        ["mo", "ann"]
    );
    let (_, body) = &told(&app).await[0];
    assert!(
        body.contains("North meadow") && body.contains("olga"),
        "{body}"
    );

    // cancel: a reason is required; yes and maybe are told it.
    refused(&err(&app, &olga, "event cancel #1").await, "reason=");
    let r = ok(&app, &olga, r#"event cancel #1 reason="storm warning""#).await;
    assert_has(&r, "Event #1 Spring planting cancelled");
    assert_has(&r, "2 members who answered yes or maybe are told privately");
    let cancelled = told(&app)
        .await
        .into_iter()
        .filter(|(_, b)| b.contains("is cancelled"))
        .collect::<Vec<_>>();
    assert_eq!(cancelled.len(), 2);
    assert!(cancelled.iter().all(|(_, b)| b.contains("storm warning")));

    // A cancelled event takes nothing more, and is listed no more.
    for (who, line) in [
        (&mo, "event rsvp #1 yes".to_string()),
        (&mo, format!("event checkin #1 code={code}")),
        (&olga, "event attend #1 @mo".to_string()),
        (&olga, "event edit #1 capacity=5".to_string()),
        (&olga, r#"event cancel #1 reason="again""#.to_string()),
    ] {
        refused(&err(&app, who, &line).await, "was cancelled: storm warning");
    }
    assert_has(
        &ok(&app, &mo, "event show #1").await,
        "Cancelled: storm warning",
    );
    assert_has(&ok(&app, &mo, "event list").await, "None planned yet.");

    // help lists the group, with the organisers' forms for organisers only.
    let r = ok(&app, &mo, "help").await;
    assert_has(&r, "Events");
    assert_has(&r, "event rsvp <#id> yes|no|maybe");
    assert_lacks(&r, "event create");
    assert_has(
        &ok(&app, &olga, "help event").await,
        "event create <title> at=",
    );
}

// ---------------------------------------------------------------------------
// Capacity and the waitlist
// ---------------------------------------------------------------------------

/// Answers a minute after the last answer, as members do: places go in order.
async fn answer(app: &App, clock: &ManualClock, who: &Actor, line: &str) -> Reply {
    clock.advance(Duration::minutes(1));
    ok(app, who, line).await
}

#[tokio::test]
async fn places_go_in_order_of_yes_and_the_waitlist_moves_up_with_a_private_notice() {
    let (_dir, app, clock) = app().await;
    let olga = organiser(&app).await;
    ok(
        &app,
        &olga,
        "event create Workshop at=2026-12-01T18:00 capacity=2",
    )
    .await;
    let mut people = Vec::new();
    for name in ["ann", "bo", "cy", "dee", "eve"] {
        people.push(member(&app, name).await);
    }
    let [ann, bo, cy, dee, eve] = &people[..] else {
        unreachable!()
    };

    assert_has(
        &answer(&app, &clock, ann, "event rsvp #1 yes").await,
        "You are going",
    );
    assert_has(
        &answer(&app, &clock, bo, "event rsvp #1 yes").await,
        "You are going",
    );
    let r = answer(&app, &clock, cy, "event rsvp #1 yes").await;
    assert_has(&r, "You are on the waitlist for #1 Workshop (1st in line)");
    // A maybe takes no place.
    answer(&app, &clock, dee, "event rsvp #1 maybe").await;
    let r = answer(&app, &clock, eve, "event rsvp #1 yes").await;
    assert_has(&r, "(2nd in line)");
    assert_has(
        &ok(&app, &olga, "event show #1").await,
        "Answers: 2 of 2 going · 2 waiting · 1 maybe",
    );
    assert_has(
        &ok(&app, eve, "event show #1").await,
        "Your answer: yes, on the waitlist (2nd in line).",
    );
    // A yes given again keeps its place.
    assert_has(
        &answer(&app, &clock, ann, "event rsvp #1 yes").await,
        "You are going",
    );
    assert!(told(&app).await.is_empty());

    // Bo drops out: the first in line moves up, and is told privately.
    let r = answer(&app, &clock, bo, "event rsvp #1 no").await;
    assert_has(&r, "Your place went to the next on the waitlist");
    assert_eq!(told_of(&app, "A place freed up").await, ["cy"]);
    assert_has(&ok(&app, cy, "event show #1").await, "Your answer: yes.");
    assert_has(&ok(&app, eve, "event show #1").await, "(1st in line)");

    // Bo's yes again goes to the back of the line.
    assert_has(
        &answer(&app, &clock, bo, "event rsvp #1 yes").await,
        "(2nd in line)",
    );

    // More places: those waiting move up in order.
    let r = ok(&app, &olga, "event edit #1 capacity=3").await;
    assert_has(&r, "Places: 3 (was 2)");
    assert_has(&r, "1 member moved up from the waitlist");
    assert_eq!(told_of(&app, "A place freed up").await, ["cy", "eve"]);
    // Fewer places take none away; the next yes waits.
    ok(&app, &olga, "event edit #1 capacity=1").await;
    assert_has(
        &ok(&app, &olga, "event show #1").await,
        "Answers: 3 of 1 going · 1 waiting · 1 maybe",
    );
    // No limit: everyone waiting goes.
    ok(&app, &olga, "event edit #1 capacity=none").await;
    assert_eq!(told_of(&app, "A place freed up").await, ["cy", "eve", "bo"]);
    assert_has(
        &ok(&app, &olga, "event show #1").await,
        "Answers: 4 going · 1 maybe",
    );
}

// ---------------------------------------------------------------------------
// Reminders
// ---------------------------------------------------------------------------

async fn reminders(app: &App, what: &str) -> Vec<String> {
    told_of(app, &format!("Reminder: #1 Planting day starts {what}")).await
}

#[tokio::test]
async fn reminders_go_a_day_and_an_hour_before_each_once_even_across_a_restart() {
    let (dir, app, clock) = app().await;
    let olga = organiser(&app).await;
    let (ann, bo, cy) = (
        member(&app, "ann").await,
        member(&app, "bo").await,
        member(&app, "cy").await,
    );
    let starts = utc(2026, 11, 28, 10, 0);
    ok(&app, &olga, "event create Planting day at=2026-11-28T10:00").await;
    ok(&app, &olga, "event create Rained off at=2026-11-28T10:00").await;
    ok(&app, &ann, "event rsvp #1 yes").await;
    ok(&app, &bo, "event rsvp #1 maybe").await;
    ok(&app, &cy, "event rsvp #1 no").await;
    ok(&app, &ann, "event rsvp #2 yes").await;
    ok(&app, &olga, r#"event cancel #2 reason="rain""#).await;
    let cancelled_told = told(&app).await.len();

    clock.set(starts - Duration::hours(25));
    assert_eq!(run_due_event_reminders(&app).await.unwrap(), 0);

    clock.set(starts - Duration::hours(23));
    assert_eq!(run_due_event_reminders(&app).await.unwrap(), 2);
    assert_eq!(reminders(&app, "tomorrow").await, ["ann", "bo"]);
    // Dee answers after the day's reminder was due: she gets the hour's only.
    let dee = member(&app, "dee").await;
    ok(&app, &dee, "event rsvp #1 yes").await;
    assert_eq!(run_due_event_reminders(&app).await.unwrap(), 0);

    // A restart: a new process on the same database sends nothing twice.
    app.store().close().await;
    let app = open(&dir, &clock).await;
    assert_eq!(run_due_event_reminders(&app).await.unwrap(), 0);
    assert_eq!(reminders(&app, "tomorrow").await, ["ann", "bo"]);

    clock.set(starts - Duration::minutes(45));
    assert_eq!(run_due_event_reminders(&app).await.unwrap(), 3);
    assert_eq!(reminders(&app, "in an hour").await, ["ann", "bo", "dee"]);
    assert_eq!(run_due_event_reminders(&app).await.unwrap(), 0);
    app.store().close().await;
    let app = open(&dir, &clock).await;
    assert_eq!(run_due_event_reminders(&app).await.unwrap(), 0);
    clock.set(starts + Duration::minutes(5));
    assert_eq!(run_due_event_reminders(&app).await.unwrap(), 0);

    assert_eq!(reminders(&app, "tomorrow").await, ["ann", "bo"]);
    assert_eq!(reminders(&app, "in an hour").await, ["ann", "bo", "dee"]);
    // Nothing for the cancelled event, or for those who said no.
    assert_eq!(told(&app).await.len(), cancelled_told + 5);
    assert_eq!(count(&app, "SELECT count(*) FROM event_reminders").await, 5);
    // Each expires when it is no longer worth delivering.
    let expiries: Vec<Option<String>> = db::scalars(
        &app,
        "SELECT a.expires_at FROM announcements a WHERE a.body LIKE '%Reminder:%' ORDER BY a.id",
        &[],
    )
    .await;
    assert_eq!(
        expiries,
        [
            Some("2026-11-28T09:00:00.000Z".to_string()),
            Some("2026-11-28T09:00:00.000Z".to_string()),
            Some("2026-11-28T10:00:00.000Z".to_string()),
            Some("2026-11-28T10:00:00.000Z".to_string()),
            Some("2026-11-28T10:00:00.000Z".to_string()),
        ]
    );
}

#[tokio::test]
async fn a_new_time_is_reminded_again_and_an_event_starting_within_the_hour_gets_the_hours_only() {
    let (_dir, app, clock) = app().await;
    let olga = organiser(&app).await;
    let ann = member(&app, "ann").await;
    ok(&app, &olga, "event create Planting day at=2026-11-27T13:00").await;
    ok(&app, &ann, "event rsvp #1 yes").await;
    assert_eq!(run_due_event_reminders(&app).await.unwrap(), 0);
    clock.set(utc(2026, 11, 26, 13, 30));
    assert_eq!(run_due_event_reminders(&app).await.unwrap(), 1);
    // Who answers once the day's reminder is due is not sent it.
    let bo = member(&app, "bo").await;
    ok(&app, &bo, "event rsvp #1 yes").await;
    assert_eq!(run_due_event_reminders(&app).await.unwrap(), 0);
    // Moved a week on: told of it, and reminded again before the new time.
    ok(&app, &olga, "event edit #1 at=2026-12-04T11:00").await;
    assert_eq!(told_of(&app, "has changed").await, ["ann", "bo"]);
    assert_eq!(run_due_event_reminders(&app).await.unwrap(), 0);
    // The scheduler was down the whole day before: the day's is not sent late.
    clock.set(utc(2026, 12, 4, 10, 30));
    assert_eq!(run_due_event_reminders(&app).await.unwrap(), 2);
    assert_eq!(reminders(&app, "tomorrow").await, ["ann"]);
    assert_eq!(reminders(&app, "in an hour").await, ["ann", "bo"]);
}

// ---------------------------------------------------------------------------
// Attendance
// ---------------------------------------------------------------------------

async fn goal(app: &App, slug: &str) -> (f64, i64) {
    db::row(
        app,
        "SELECT progress, contribution_count FROM goals WHERE slug = ?",
        &[slug.into()],
    )
    .await
}

#[tokio::test]
async fn attendance_counts_once_per_member_towards_the_goal_and_its_milestones() {
    let (_dir, app, clock) = app().await;
    let olga = organiser(&app).await;
    let ann = member(&app, "ann").await;
    // Bo has used Keel; `@bob`, below, is a name it has not seen.
    member(&app, "bo").await;
    // review_above: attendance is confirmed by code or organiser, so it does not wait.
    ok(
        &app,
        &olga,
        "goal create Volunteer hours target=4 unit=hours slug=hours review_above=1",
    )
    .await;
    // One that is under way: recording it works at once.
    let r = ok(
        &app,
        &olga,
        "event create Planting day at=2026-11-26T11:00 duration=2h goal=hours",
    )
    .await;
    assert_has(&r, "It has started");
    assert_has(&r, "Attending counts 2 hours towards the goal hours.");
    let code = code_of(&app, &olga, 1).await;

    let r = ok(
        &app,
        &ann,
        &format!("event checkin #1 code={}", code.to_lowercase()),
    )
    .await;
    assert!(r.is_private());
    assert_has(&r, "Checked in to #1 Planting day");
    assert_has(&r, "Counted as your 1st contribution");
    assert_has(&r, ": 2 hours.");
    assert_eq!(goal(&app, "hours").await, (2.0, 1));

    // The organiser records Ann (already checked in) and Bo: Bo's two hours meet
    // the goal.
    let r = ok(&app, &olga, "event attend #1 @ann @bob @bo").await;
    assert_has(&r, "Attendance of #1 Planting day");
    assert_has(&r, "ann: already checked in");
    assert_has(&r, "Counted as bo's 1st contribution");
    assert_has(&r, "🎉");
    // `@bob` was a new name on the console: a member made for it, counted too.
    assert_has(&r, "Counted as bob's 1st contribution");
    assert_eq!(goal(&app, "hours").await, (6.0, 3));
    // Ann again, by code and by organiser: nothing more.
    let r = ok(&app, &ann, &format!("event checkin #1 code={code}")).await;
    assert_has(&r, "You: already checked in");
    ok(&app, &olga, "event attend #1 @ann").await;
    assert_eq!(goal(&app, "hours").await, (6.0, 3));
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM contributions WHERE description = 'Attended Planting day'"
        )
        .await,
        3
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM pending_contributions").await,
        0
    );
    // Each of the goal's milestones reached once, and announced once.
    let reached: Vec<(String, i64)> = db::rows(
        &app,
        "SELECT milestone_key, count(*) FROM milestone_achievements WHERE subject LIKE 'goal:%'
         GROUP BY milestone_key ORDER BY milestone_key",
        &[],
    )
    .await;
    assert_eq!(
        reached,
        [
            ("goal.percent.100".to_string(), 1),
            ("goal.percent.25".to_string(), 1),
            ("goal.percent.50".to_string(), 1),
            ("goal.percent.75".to_string(), 1),
        ]
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM announcements a JOIN milestone_achievements m ON m.id = a.achievement_id
             WHERE m.milestone_key = 'goal.percent.100'"
        )
        .await,
        1
    );
    assert_has(&ok(&app, &olga, "event show #1").await, "Attended: 3");

    // Corrections work on it as on any contribution; it is not counted again.
    let ann_contribution: i64 = db::scalar(
        &app,
        "SELECT c.id FROM contributions c JOIN event_attendance a ON a.contribution_id = c.id
         JOIN members m ON m.id = a.member_id WHERE m.display_name = 'ann'",
        &[],
    )
    .await;
    ok(
        &app,
        &olga,
        &format!(r#"contribution remove #{ann_contribution} reason="left early""#),
    )
    .await;
    assert_eq!(goal(&app, "hours").await, (4.0, 2));
    let r = ok(&app, &olga, "event attend #1 @ann").await;
    assert_has(&r, "ann: already checked in");
    assert_eq!(goal(&app, "hours").await, (4.0, 2));

    // amount= counts as given, towards a goal in other units; without a goal,
    // attending is one contribution with no amount.
    ok(
        &app,
        &olga,
        "goal create Trees target=100 unit=trees slug=trees",
    )
    .await;
    clock.set(utc(2026, 11, 26, 15, 0));
    ok(
        &app,
        &olga,
        "event create Hedge day at=2026-11-26T14:00 goal=trees amount=3",
    )
    .await;
    let r = ok(&app, &olga, "event attend #2 @ann").await;
    assert_has(&r, ": 3 trees.");
    assert_eq!(goal(&app, "trees").await, (3.0, 1));
    ok(&app, &olga, "event create Tea at=2026-11-26T14:30").await;
    ok(&app, &olga, "event attend #3 @bo").await;
    let amount: Option<f64> = db::scalar(
        &app,
        "SELECT amount FROM contributions WHERE description = 'Attended Tea'",
        &[],
    )
    .await;
    assert_eq!(amount, None);
}

#[tokio::test]
async fn a_wrong_or_late_check_in_code_is_refused_and_writes_nothing() {
    let (_dir, app, clock) = app().await;
    let olga = organiser(&app).await;
    let ann = member(&app, "ann").await;
    let bo = member(&app, "bo").await;
    ok(
        &app,
        &olga,
        "event create Planting day at=2026-11-26T10:00 duration=2h",
    )
    .await;
    let code = code_of(&app, &olga, 1).await;
    let wrong = if code == "ABCDEF" { "ABCDEG" } else { "ABCDEF" };

    let e = err(&app, &ann, &format!("event checkin #1 code={wrong}")).await;
    refused(&e, "That is not the check-in code of #1 Planting day");
    assert!(!e.to_string().contains(&code));
    refused(
        &err(&app, &ann, "event checkin #1 code=AB").await,
        "is not a check-in code",
    );
    refused(&err(&app, &ann, "event checkin #1").await, "Missing code=");
    assert_eq!(
        count(&app, "SELECT count(*) FROM event_attendance").await,
        0
    );
    assert_eq!(count(&app, "SELECT count(*) FROM contributions").await, 0);

    // Up to 12 hours after the end, and not a minute more.
    clock.set(utc(2026, 11, 27, 0, 0));
    ok(&app, &ann, &format!("event checkin #1 code={code}")).await;
    clock.set(utc(2026, 11, 27, 0, 1));
    let e = err(&app, &bo, &format!("event checkin #1 code={code}")).await;
    refused(&e, "Check-in closed at 2026-11-27 00:00 (UTC)");
    refused(&e, "event attend");
    assert_eq!(
        count(&app, "SELECT count(*) FROM event_attendance").await,
        1
    );
    assert_eq!(count(&app, "SELECT count(*) FROM contributions").await, 1);
    // An organiser may still record Bo, and no answers are taken once it is over.
    ok(&app, &olga, "event attend #1 @bo").await;
    refused(&err(&app, &bo, "event rsvp #1 yes").await, "is over");
    refused(
        &err(&app, &olga, r#"event cancel #1 reason="x""#).await,
        "is over",
    );
}

#[tokio::test]
async fn the_check_in_code_appears_only_in_private_replies() {
    let (_dir, app, clock) = app().await;
    let olga = organiser(&app).await;
    let ann = member(&app, "ann").await;
    let mut replies = vec![
        ok(
            &app,
            &olga,
            "event create Planting day at=2026-11-26T15:00 capacity=1",
        )
        .await,
    ];
    let code = code_of(&app, &olga, 1).await;
    for (who, line) in [
        (&olga, "event list".to_string()),
        (&olga, "event show #1".to_string()),
        (&ann, "event show #1".to_string()),
        (&ann, "event rsvp #1 yes".to_string()),
        (&olga, "event rsvp #1 maybe".to_string()),
        (&olga, "event edit #1 at=2026-11-26T14:00".to_string()),
        (&olga, "event edit #1 where=Park".to_string()),
        (&olga, "help event".to_string()),
    ] {
        replies.push(ok(&app, who, &line).await);
    }
    clock.set(utc(2026, 11, 26, 13, 15));
    assert_eq!(run_due_event_reminders(&app).await.unwrap(), 2);
    clock.set(utc(2026, 11, 26, 14, 15));
    replies.push(ok(&app, &ann, &format!("event checkin #1 code={code}")).await);
    replies.push(ok(&app, &olga, "event attend #1 @ann").await);
    replies.push(ok(&app, &ann, "contributions").await);

    let mut shown = 0;
    for reply in &replies {
        if reply.plain().contains(&code) {
            assert!(
                reply.is_private(),
                "the code in a public reply:\n{}",
                reply.plain()
            );
            shown += 1;
        }
    }
    assert_eq!(shown, 1, "only the organiser's event show has it");
    let bodies = told(&app).await;
    assert!(!bodies.is_empty());
    for (to, body) in bodies {
        assert!(!body.contains(&code), "the code told to {to}: {body}");
    }
}

// ---------------------------------------------------------------------------
// The event card
// ---------------------------------------------------------------------------

/// A platform that records what the outbox posts and edits in channels (private
/// messages it takes and leaves out): the real deliverer's path, without a chat
/// service.
#[derive(Default)]
struct Channel {
    /// Each post and edit, in order: ("post" | "edit", message id, body).
    seen: Mutex<Vec<(String, String, Reply)>>,
}

impl Channel {
    fn seen(&self) -> Vec<(String, String, Reply)> {
        self.seen.lock().unwrap().clone()
    }
}

impl Notifier for Channel {
    fn platform(&self) -> Platform {
        Platform::Console
    }
    fn deliver<'a>(
        &'a self,
        delivery: &'a Delivery,
    ) -> BoxFuture<'a, Result<Posted, DeliveryError>> {
        async move {
            let message = delivery.marker();
            if delivery.recipient.is_none() {
                self.seen.lock().unwrap().push((
                    "post".into(),
                    message.clone(),
                    delivery.body.clone(),
                ));
            }
            Ok(Posted {
                channel: delivery.channel.clone().unwrap_or_default(),
                message,
            })
        }
        .boxed()
    }
    fn edit<'a>(
        &'a self,
        delivery: &'a Delivery,
        posted: &'a Posted,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        async move {
            self.seen.lock().unwrap().push((
                "edit".into(),
                posted.message.clone(),
                delivery.body.clone(),
            ));
            Ok(())
        }
        .boxed()
    }
}

/// The card of event `id` as stored: its body and revision.
async fn card_of(app: &App, id: i64) -> (Reply, i64) {
    let (body, revision): (String, i64) = db::row(
        app,
        "SELECT a.body, a.revision FROM announcements a JOIN events e ON e.card_announcement_id = a.id
         WHERE e.id = $1 AND a.kind = 'event_card'",
        &[id.into()],
    )
    .await;
    (serde_json::from_str(&body).unwrap(), revision)
}

fn keys(reply: &Reply) -> Vec<String> {
    reply.buttons.iter().map(|b| b.press.key()).collect()
}

#[tokio::test]
async fn an_events_card_is_posted_with_its_counts_and_buttons_and_edited_as_answers_change() {
    let (_dir, app, clock) = app().await;
    let olga = organiser(&app).await;
    ok(&app, &olga, "setup announcements #events").await;
    ok(
        &app,
        &olga,
        "goal create Volunteer hours target=100 unit=hours slug=hours",
    )
    .await;
    let created = ok(
        &app,
        &olga,
        r#"event create Planting day at=2026-12-05T10:00 duration=2h where="Riverside park" goal=hours capacity=2"#,
    )
    .await;
    assert_has(&created, "Its card, with buttons to answer");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM announcements WHERE kind = 'event_card'"
        )
        .await,
        1
    );
    let (card, first) = card_of(&app, 1).await;
    assert!(!card.is_private());
    assert_has(&card, "Event #1 Planting day");
    assert_has(
        &card,
        "When: 2026-12-05 10:00 UTC – 2026-12-05 12:00 UTC (2h)",
    );
    assert_has(&card, "Where: Riverside park");
    assert_has(&card, "Attending counts 2 hours towards the goal hours.");
    assert_has(&card, "Answers: 0 of 2 going");
    assert_eq!(
        keys(&card),
        ["event-rsvp:1:yes", "event-rsvp:1:maybe", "event-rsvp:1:no"]
    );
    let code = code_of(&app, &olga, 1).await;
    assert_lacks(&card, &code);

    // The outbox posts it to the announcement channel.
    let channel = Arc::new(Channel::default());
    let deliverer = Deliverer::new(app.clone(), vec![channel.clone()]);
    deliverer.deliver_due().await.unwrap();
    let seen = channel.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, "post");
    assert_eq!(keys(&seen[0].2).len(), 3);
    let posted = seen[0].1.clone();

    // Each answer it counts edits that message; names never appear on it.
    let mut people = Vec::new();
    for name in ["ann", "bo", "cy", "dee", "eve"] {
        people.push(member(&app, name).await);
    }
    let [ann, bo, cy, dee, eve] = &people[..] else {
        unreachable!()
    };
    for (who, line) in [
        (ann, "event rsvp #1 yes"),
        (bo, "event rsvp #1 yes"),
        (cy, "event rsvp #1 yes"),
        (dee, "event rsvp #1 maybe"),
    ] {
        answer(&app, &clock, who, line).await;
    }
    let (card, revision) = card_of(&app, 1).await;
    assert_has(&card, "Answers: 2 of 2 going · 1 waiting · 1 maybe");
    assert_eq!(revision, first + 4);
    for name in ["ann", "bo", "cy", "dee"] {
        assert_lacks(&card, name);
    }
    assert!(card.members_named().is_empty());
    // A no the card does not count changes nothing, and writes nothing.
    answer(&app, &clock, eve, "event rsvp #1 no").await;
    assert_eq!(card_of(&app, 1).await.1, revision);
    deliverer.deliver_due().await.unwrap();
    let seen = channel.seen();
    assert_eq!(seen.len(), 2, "one edit for the changes since: {seen:?}");
    assert_eq!(
        (seen[1].0.as_str(), seen[1].1.as_str()),
        ("edit", posted.as_str())
    );
    assert_has(&seen[1].2, "Answers: 2 of 2 going · 1 waiting · 1 maybe");
    assert_eq!(
        count(&app, "SELECT count(*) FROM announcement_deliveries WHERE status = 'pending' AND recipient IS NULL").await,
        0
    );

    // A place freed up moves the waitlist, on the card too; so does an edit.
    answer(&app, &clock, bo, "event rsvp #1 no").await;
    assert_has(&card_of(&app, 1).await.0, "Answers: 2 of 2 going · 1 maybe");
    ok(&app, &olga, r#"event edit #1 capacity=5 where="Oak hill""#).await;
    let (card, _) = card_of(&app, 1).await;
    assert_has(&card, "Answers: 2 of 5 going · 1 maybe");
    assert_has(&card, "Where: Oak hill");
    deliverer.deliver_due().await.unwrap();
    let last = channel.seen().last().cloned().unwrap();
    assert_eq!(
        (last.0.as_str(), last.1.as_str()),
        ("edit", posted.as_str())
    );
    assert_has(&last.2, "Where: Oak hill");

    // Cancelled: the card says so, with the reason, and has nothing to press.
    ok(&app, &olga, r#"event cancel #1 reason="Storm warning""#).await;
    let (card, _) = card_of(&app, 1).await;
    assert_has(&card, "Event #1 Planting day is cancelled");
    assert_has(&card, "Cancelled: Storm warning");
    assert!(card.buttons.is_empty());
    deliverer.deliver_due().await.unwrap();
    let last = channel.seen().last().cloned().unwrap();
    assert_eq!(
        (last.0.as_str(), last.1.as_str()),
        ("edit", posted.as_str())
    );
    assert!(last.2.buttons.is_empty());
    assert_eq!(
        channel
            .seen()
            .iter()
            .filter(|(what, ..)| what == "post")
            .count(),
        1,
        "posted once, edited since"
    );
}

#[tokio::test]
async fn a_card_not_posted_yet_goes_out_as_it_is_now_and_not_at_all_once_cancelled() {
    let (_dir, app, clock) = app().await;
    let olga = organiser(&app).await;
    ok(&app, &olga, "setup announcements #events").await;
    ok(&app, &olga, "event create Workshop at=2026-12-01T18:00").await;
    let ann = member(&app, "ann").await;
    answer(&app, &clock, &ann, "event rsvp #1 yes").await;
    // Nothing was posted yet: no edit is queued, and the post shows the count.
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM announcement_deliveries WHERE action = 'edit'"
        )
        .await,
        0
    );
    let channel = Arc::new(Channel::default());
    Deliverer::new(app.clone(), vec![channel.clone()])
        .deliver_due()
        .await
        .unwrap();
    let seen = channel.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, "post");
    assert_has(&seen[0].2, "Answers: 1 going");

    // Moved later before it went out, it goes out until its new end; cancelled
    // before it went out, not at all (no one saw it, to be told).
    ok(&app, &olga, "event create Picnic at=2026-11-27T12:00").await;
    ok(&app, &olga, "event create Hike at=2026-11-28T12:00").await;
    ok(&app, &olga, "event edit #2 at=2026-12-20T12:00").await;
    ok(&app, &olga, r#"event cancel #3 reason="Rain""#).await;
    // Past the Picnic's first end, before the Hike's.
    clock.set(utc(2026, 11, 27, 14, 0));
    Deliverer::new(app.clone(), vec![channel.clone()])
        .deliver_due()
        .await
        .unwrap();
    let posts: Vec<String> = channel.seen()[1..]
        .iter()
        .map(|(what, _, body)| format!("{what} {}", body.title.clone().unwrap_or_default()))
        .collect();
    assert_eq!(posts, ["post Event #2 Picnic"]);
}

#[tokio::test]
async fn no_card_is_queued_without_an_announcement_channel_or_for_an_event_recorded_afterwards() {
    let (_dir, app, clock) = app().await;
    let olga = organiser(&app).await;
    let created = ok(&app, &olga, "event create Workshop at=2026-12-01T18:00").await;
    assert_lacks(&created, "card");
    let ann = member(&app, "ann").await;
    answer(&app, &clock, &ann, "event rsvp #1 yes").await;
    ok(&app, &olga, r#"event cancel #1 reason="No room""#).await;

    // With a channel, an event that already started is being recorded: no card.
    ok(&app, &olga, "setup announcements #events").await;
    ok(&app, &olga, "event create Cleanup at=2026-11-26T10:00").await;
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM announcements WHERE kind = 'event_card'"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM events WHERE card_announcement_id IS NOT NULL"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM announcement_deliveries WHERE recipient IS NULL"
        )
        .await,
        0
    );
}

// ---------------------------------------------------------------------------
// The calendar file
// ---------------------------------------------------------------------------

/// The text of the one calendar file a reply carries.
#[track_caller]
fn calendar_of(reply: &Reply) -> String {
    assert_eq!(reply.attachments.len(), 1, "{:?}", reply.attachments);
    let file = &reply.attachments[0];
    assert_eq!(file.media_type, "text/calendar");
    String::from_utf8(file.contents().unwrap()).unwrap()
}

#[tokio::test]
async fn event_show_and_a_yes_or_maybe_carry_the_calendar_file() {
    let (_dir, app, clock) = app().await;
    let olga = organiser(&app).await;
    ok(&app, &olga, "setup timezone Europe/Paris").await;
    ok(
        &app,
        &olga,
        r#"event create Planting day at=2026-12-05T10:00 duration=90m where="Riverside park""#,
    )
    .await;
    let code = code_of(&app, &olga, 1).await;
    let shown = ok(&app, &olga, "event show #1").await;
    assert_eq!(shown.attachments[0].filename, "event-1.ics");
    let ics = calendar_of(&shown);
    for line in [
        "BEGIN:VEVENT",
        "UID:event-1@keel",
        // 10:00 in Paris is 09:00 UTC.
        "DTSTART:20261205T090000Z",
        "DTEND:20261205T103000Z",
        "SUMMARY:Planting day",
        "LOCATION:Riverside park",
    ] {
        assert!(ics.contains(&format!("{line}\r\n")), "{line} in:\n{ics}");
    }
    assert!(!ics.contains("STATUS:CANCELLED"), "{ics}");
    assert!(!ics.contains(&code), "the code is not in the file:\n{ics}");

    let ann = member(&app, "ann").await;
    let yes = answer(&app, &clock, &ann, "event rsvp #1 yes").await;
    assert!(calendar_of(&yes).contains("UID:event-1@keel"));
    // A change between yes and maybe is the same entry in their calendar; a no
    // has nothing to add to it.
    assert!(
        answer(&app, &clock, &ann, "event rsvp #1 maybe")
            .await
            .attachments
            .is_empty()
    );
    assert!(
        answer(&app, &clock, &ann, "event rsvp #1 no")
            .await
            .attachments
            .is_empty()
    );
    let maybe = answer(&app, &clock, &ann, "event rsvp #1 maybe").await;
    assert!(calendar_of(&maybe).contains("UID:event-1@keel"));

    ok(&app, &olga, r#"event cancel #1 reason="Storm warning""#).await;
    let ics = calendar_of(&ok(&app, &ann, "event show #1").await);
    assert!(ics.contains("STATUS:CANCELLED\r\n"), "{ics}");
    assert!(ics.contains("Cancelled: Storm warning"), "{ics}");
}

// ---------------------------------------------------------------------------
// Event figures in stats, the digest and health
// ---------------------------------------------------------------------------

#[tokio::test]
async fn events_held_answers_attendance_and_no_shows_show_in_stats_digest_and_health() {
    let (_dir, app, clock) = app().await;
    let olga = organiser(&app).await;
    let [ann, bo, cy, dee] = [
        member(&app, "ann").await,
        member(&app, "bo").await,
        member(&app, "cy").await,
        member(&app, "dee").await,
    ];
    // Nothing held yet: stats and health say nothing of events.
    assert_lacks(&ok(&app, &olga, "stats").await, "Events held");
    assert_lacks(&ok(&app, &olga, "health").await, "came to none");

    ok(
        &app,
        &olga,
        "event create Planting day at=2026-11-27T10:00 duration=2h",
    )
    .await;
    ok(
        &app,
        &olga,
        "event create Seed swap at=2026-11-28T10:00 duration=1h",
    )
    .await;
    for (who, line) in [
        (&ann, "event rsvp #1 yes"),
        (&bo, "event rsvp #1 yes"),
        (&cy, "event rsvp #1 maybe"),
        (&dee, "event rsvp #1 yes"),
        (&ann, "event rsvp #2 yes"),
        (&dee, "event rsvp #2 yes"),
    ] {
        answer(&app, &clock, who, line).await;
    }
    // Planting day: ann checks in, and an organiser records bo and eve, who
    // came without answering; dee said yes and did not come.
    clock.set(utc(2026, 11, 27, 11, 0));
    let code = code_of(&app, &olga, 1).await;
    ok(&app, &ann, &format!("event checkin #1 code={code}")).await;
    ok(&app, &olga, "event attend #1 @bo @eve").await;
    // Under way, it is not held yet.
    assert_lacks(&ok(&app, &olga, "stats").await, "Events held");

    clock.set(utc(2026, 11, 27, 13, 0));
    let stats = ok(&app, &olga, "stats").await;
    assert_has(&stats, "Events held: 1");
    assert_has(&stats, "RSVPs: 3 yes, 1 maybe");
    assert_has(
        &stats,
        "Attendance rate (attended ÷ yes): 100% (3 attended)",
    );
    assert_has(&stats, "No-show rate: 33% (1 of 3 who said yes)");

    // Seed swap: ann and dee said yes, nobody came. dee has now said yes twice
    // and come to none; ann came once.
    clock.set(utc(2026, 11, 28, 12, 0));
    let stats = ok(&app, &olga, "stats").await;
    assert_has(&stats, "Events held: 2");
    assert_has(&stats, "RSVPs: 5 yes, 1 maybe");
    assert_has(&stats, "Attendance rate (attended ÷ yes): 60% (3 attended)");
    assert_has(&stats, "No-show rate: 60% (3 of 5 who said yes)");
    let health = ok(&app, &olga, "health").await;
    assert_has(
        &health,
        "Said yes to 2 or more events in 90 days and came to none: dee",
    );
    let export = ok(&app, &olga, "export health").await;
    let csv = String::from_utf8(export.attachments[0].contents().unwrap()).unwrap();
    assert!(csv.contains("\nsaid yes and came to none,dee,"), "{csv}");
    // Away members are left out, as from every health list.
    ok(&app, &dee, "away on").await;
    assert_has(
        &ok(&app, &olga, "health").await,
        "Said yes to 2 or more events in 90 days and came to none: none",
    );

    let digest = keel::app::digest(
        &app,
        olga.community,
        "forest",
        Some(
            keel::domain::schedule::ScheduleSpec::parse("weekly mon 09:00")
                .unwrap()
                .unwrap(),
        ),
        app.now(),
    )
    .await
    .unwrap();
    assert_has(&digest, "Events held: 2 (+2 on the period before)");
    assert_has(&digest, "RSVPs: 5 yes, 1 maybe (0 yes the period before)");
    assert_has(
        &digest,
        "Attendance rate (attended ÷ yes): 60% (the period before: –)",
    );
    assert_has(&digest, "No-show rate: 60% (the period before: –)");
}

// ---------------------------------------------------------------------------
// A member's events in `export me`, and erased by `forget-me`
// ---------------------------------------------------------------------------

#[tokio::test]
async fn export_me_holds_a_members_answers_and_attendance_and_forget_me_gives_their_place_on() {
    let (_dir, app, clock) = app().await;
    let olga = organiser(&app).await;
    let [ann, bo, cy] = [
        member(&app, "ann").await,
        member(&app, "bo").await,
        member(&app, "cy").await,
    ];
    ok(
        &app,
        &olga,
        "event create Planting day at=2026-11-27T10:00 duration=2h",
    )
    .await;
    ok(
        &app,
        &olga,
        "event create Seed swap at=2026-12-03T10:00 capacity=1",
    )
    .await;
    answer(&app, &clock, &ann, "event rsvp #1 yes").await;
    answer(&app, &clock, &bo, "event rsvp #2 yes").await;
    answer(&app, &clock, &cy, "event rsvp #2 yes").await;
    answer(&app, &clock, &bo, "event rsvp #1 maybe").await;
    clock.set(utc(2026, 11, 27, 11, 0));
    let code = code_of(&app, &olga, 1).await;
    ok(&app, &ann, &format!("event checkin #1 code={code}")).await;

    let r = ok(&app, &ann, "export me format=json").await;
    let doc: serde_json::Value =
        serde_json::from_slice(&r.attachments[0].contents().unwrap()).unwrap();
    let events = doc["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{doc:#}");
    assert_eq!(events[0]["event"], 1);
    assert_eq!(events[0]["title"], "Planting day");
    assert_eq!(events[0]["answer"], "yes");
    assert_eq!(events[0]["waitlisted"], false);
    assert_eq!(events[0]["checked_in_at"], "2026-11-27T11:00:00.000Z");
    assert!(events[0]["contribution"].is_i64(), "{doc:#}");
    let r = ok(&app, &bo, "export me format=json").await;
    let doc: serde_json::Value =
        serde_json::from_slice(&r.attachments[0].contents().unwrap()).unwrap();
    let answers: Vec<_> = doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["event"].as_i64().unwrap(), e["answer"].as_str().unwrap()))
        .collect();
    assert_eq!(answers, [(1, "maybe"), (2, "yes")]);

    // bo is forgotten: the place bo held goes to cy, who is told; none of bo's
    // answers are left.
    let bo_id = bo.member.0;
    ok(&app, &bo, "forget-me").await;
    ok(&app, &bo, "forget-me confirm").await;
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM event_rsvps WHERE member_id = {bo_id}")
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM event_rsvps WHERE event_id = 2 AND answer = 'yes' AND waitlisted = 0"
        )
        .await,
        1
    );
    assert_eq!(told_of(&app, "A place freed up").await.len(), 1);
    assert_has(&ok(&app, &cy, "event show #2").await, "Your answer: yes.");
}

/// Discord's own scheduled events (see tests/discord.rs for the adapter): the
/// store finds a card's event, and records and finds the scheduled event that
/// mirrors it in one server, on either engine.
#[tokio::test]
async fn a_cards_event_and_the_discord_scheduled_event_mirroring_it_are_found_again() {
    let (_dir, app, clock) = app().await;
    let olga = app
        .actor(&Envelope {
            platform: Platform::Discord,
            workspace_id: "111".into(),
            workspace_name: "Forest Friends".into(),
            user_id: "501".into(),
            user_name: "olga".into(),
            role: Role::Organiser,
        })
        .await
        .unwrap();
    ok(&app, &olga, "setup announcements #600").await;
    ok(
        &app,
        &olga,
        "event create Planting day at=2026-12-05T10:00 duration=2h",
    )
    .await;
    let store = app.store();
    let card = keel::domain::AnnouncementId(
        count(&app, "SELECT card_announcement_id FROM events WHERE id = 1").await,
    );
    let event = store
        .event_of_card(olga.community, card)
        .await
        .unwrap()
        .expect("the card's event");
    assert_eq!(event.title, "Planting day");
    assert!(
        store
            .event_of_card(olga.community, keel::domain::AnnouncementId(card.0 + 1))
            .await
            .unwrap()
            .is_none()
    );

    assert_eq!(
        store
            .discord_scheduled_event(event.id, olga.workspace)
            .await
            .unwrap(),
        None
    );
    for scheduled in ["900", "901"] {
        // A second one for the same event and server is not kept.
        store
            .record_discord_scheduled_event(
                olga.community,
                event.id,
                olga.workspace,
                scheduled,
                clock.now(),
            )
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .discord_scheduled_event(event.id, olga.workspace)
            .await
            .unwrap()
            .as_deref(),
        Some("900")
    );
    let found = |guild: &'static str, scheduled: &'static str| async move {
        store
            .event_of_discord_scheduled_event(guild, scheduled)
            .await
            .unwrap()
    };
    assert_eq!(found("111", "900").await, Some(event.id));
    assert_eq!(found("111", "901").await, None);
    assert_eq!(found("222", "900").await, None, "another server's");
}
