//! The core through its one seam, `keel::app::App`, over a real SQLite file.
//!
//! Every test builds an `App` on a fresh temporary database with a `ManualClock`
//! (2026-11-26 12:00 UTC, a Thursday, unless moved), resolves actors from verified
//! envelopes as an adapter would, runs command lines with `App::handle_line`, and
//! checks both the reply and the rows the command left in the database.

#[path = "support/database.rs"]
mod database;
#[path = "support/db.rs"]
mod db;

use std::sync::Arc;

use chrono::{DateTime, Days, Duration, NaiveDate, TimeZone, Utc};
use keel::app::App;
use keel::domain::clock::ManualClock;
use keel::domain::{Actor, Envelope, Platform, Reply, Role, UserError};
use keel::store::{Store, StoreOptions};
use tempfile::TempDir;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// 2026-11-26 12:00 UTC: "now" when a test starts.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
}

/// Noon UTC on a day.
fn noon(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A fresh app on a fresh database (see support/database.rs). Keep the `TempDir`
/// alive for the test.
async fn app() -> (TempDir, App, Arc<ManualClock>) {
    let dir = tempfile::tempdir().unwrap();
    let url = database::url(dir.path()).await;
    let store = Store::open(&StoreOptions::new(url)).await.unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let app = App::new(store, clock.clone());
    (dir, app, clock)
}

/// A console envelope: workspace `ws`, user id and name `user`.
fn env(ws: &str, user: &str, role: Role) -> Envelope {
    Envelope {
        platform: Platform::Console,
        workspace_id: ws.into(),
        workspace_name: ws.into(),
        user_id: user.into(),
        user_name: user.into(),
        role,
    }
}

/// A Discord envelope: guild `guild`, user snowflake `user_id` named `user_name`.
fn discord(guild: &str, user_id: &str, user_name: &str, role: Role) -> Envelope {
    Envelope {
        platform: Platform::Discord,
        workspace_id: guild.into(),
        workspace_name: format!("Guild {guild}"),
        user_id: user_id.into(),
        user_name: user_name.into(),
        role,
    }
}

async fn actor(app: &App, ws: &str, user: &str, role: Role) -> Actor {
    app.actor(&env(ws, user, role)).await.unwrap()
}

/// Runs a line that must succeed.
async fn ok(app: &App, actor: &Actor, line: &str) -> Reply {
    match app.handle_line(actor, line).await {
        Ok(reply) => reply,
        Err(e) => panic!("`{line}` failed: {e:?}"),
    }
}

/// Runs a line that must be refused.
async fn err(app: &App, actor: &Actor, line: &str) -> UserError {
    match app.handle_line(actor, line).await {
        Ok(reply) => panic!(
            "`{line}` should be refused, but replied:\n{}",
            reply.plain()
        ),
        Err(e) => e,
    }
}

/// Whether the reply's plain text has exactly this line.
fn has_line(reply: &Reply, line: &str) -> bool {
    reply.plain().lines().any(|l| l == line)
}

fn assert_has(reply: &Reply, needle: &str) {
    let text = reply.plain();
    assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
}

fn assert_lacks(reply: &Reply, needle: &str) {
    let text = reply.plain();
    assert!(
        !text.contains(needle),
        "did not expect {needle:?} in:\n{text}"
    );
}

fn assert_line(reply: &Reply, line: &str) {
    assert!(
        has_line(reply, line),
        "expected the line {line:?} in:\n{}",
        reply.plain()
    );
}

/// A scalar from a constant query with no parameters.
async fn scalar<T: db::Scalar>(app: &App, sql: &'static str) -> T {
    db::scalar(app, sql, &[]).await
}

/// A scalar from a constant query with one integer parameter.
async fn scalar_for<T: db::Scalar>(app: &App, sql: &'static str, id: i64) -> T {
    db::scalar(app, sql, &[id.into()]).await
}

/// Every row of every table as text: equal snapshots mean nothing was written.
async fn snapshot(app: &App) -> String {
    let mut out = String::new();
    let quote = db::quote(app);
    for table in db::tables(app).await {
        let expr = db::columns(app, &table)
            .await
            .iter()
            .map(|c| format!("{quote}(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let rows: Vec<String> = db::scalars(
            app,
            &format!("SELECT {expr} FROM \"{table}\" ORDER BY 1"),
            &[],
        )
        .await;
        out.push_str(&format!("## {table}\n{}\n", rows.join("\n")));
    }
    out
}

/// The tables of figures kudos feed, as [`snapshot`] shows them.
async fn kudos_figures(app: &App) -> String {
    const FIGURES: &[&str] = &[
        "members",
        "kudos",
        "member_daily_activity",
        "community_daily_activity",
        "member_window_totals",
        "cohort_activity",
        "community_hourly_activity",
        "member_window_histogram",
        "community_daily_members",
        "community_last_active",
        "community_conversion",
    ];
    snapshot(app)
        .await
        .split("## ")
        .filter(|t| FIGURES.contains(&t.lines().next().unwrap_or("")))
        .collect::<Vec<_>>()
        .join("## ")
}

/// The link code shown in a `link` reply (its first line).
fn code_of(reply: &Reply) -> String {
    let code = reply.lines[0].plain();
    assert!(
        code.starts_with("KEEL-") && code.len() == 14,
        "not a link code: {code:?}"
    );
    code
}

// ---------------------------------------------------------------------------
// 1. Every command: happy path and refusals
// ---------------------------------------------------------------------------

#[tokio::test]
async fn mission_show_set_history_and_values() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let mo = actor(&app, "forest", "mo", Role::Member).await;

    // Before any mission: show says so, history and value changes are refused.
    let r = ok(&app, &mo, "mission show").await;
    assert!(!r.is_private());
    assert_has(&r, "No mission yet");
    let e = err(&app, &mo, "mission history").await;
    assert!(matches!(e, UserError::NotFound { .. }), "{e:?}");
    let e = err(&app, &olga, "mission value add stewardship").await;
    assert!(matches!(e, UserError::NotFound { .. }), "{e:?}");
    assert_eq!(
        scalar::<i64>(&app, "SELECT count(*) FROM mission_versions").await,
        0
    );

    let r = ok(
        &app,
        &olga,
        "mission set Grow a forest reason=\"first draft\"",
    )
    .await;
    assert!(!r.is_private());
    assert_has(&r, "Mission updated (version 1)");
    assert_line(&r, "Grow a forest");
    assert_line(&r, "Why: first draft");
    let row: (i64, String, String, Option<i64>, Option<String>) = db::row(
        &app,
        "SELECT version, statement, value_names, author_member_id, reason FROM mission_versions",
        &[],
    )
    .await;
    assert_eq!(
        row,
        (
            1,
            "Grow a forest".into(),
            "[]".into(),
            Some(olga.member.0),
            Some("first draft".into())
        )
    );

    let r = ok(&app, &olga, "mission value add stewardship").await;
    assert_has(&r, "Value added: stewardship");
    assert_line(&r, "Values: stewardship");
    assert_line(&r, "Mission version 2.");
    ok(&app, &olga, "mission value add Joy").await;
    // Values match without regard to case.
    let e = err(&app, &olga, "mission value add STEWARDSHIP").await;
    assert!(matches!(e, UserError::Conflict { .. }), "{e:?}");
    assert!(e.to_string().contains("already has the value"), "{e}");
    let e = err(&app, &olga, "mission value remove courage").await;
    assert!(matches!(e, UserError::NotFound { .. }), "{e:?}");
    let shown = e.to_string();
    assert!(shown.contains("No value courage"), "{shown}");
    assert!(
        shown.contains("The values are: stewardship, Joy."),
        "{shown}"
    );
    assert_eq!(
        scalar::<i64>(&app, "SELECT count(*) FROM mission_versions").await,
        3
    );

    let r = ok(&app, &olga, "mission value remove joy").await;
    assert_has(&r, "Value removed: Joy");
    assert_line(&r, "Values: stewardship");
    // A new statement keeps the values.
    let r = ok(&app, &olga, "mission set Grow a thriving urban forest").await;
    assert_has(&r, "Mission updated (version 5)");
    let latest: (String, String) = db::row(
        &app,
        "SELECT statement, value_names FROM mission_versions ORDER BY version DESC LIMIT 1",
        &[],
    )
    .await;
    assert_eq!(
        latest,
        (
            "Grow a thriving urban forest".into(),
            "[\"stewardship\"]".into()
        )
    );

    let r = ok(&app, &mo, "mission show").await;
    assert_line(&r, "Grow a thriving urban forest");
    assert_line(&r, "Values: stewardship");
    assert_has(&r, "Version 5 · olga · 2026-11-26 12:00 UTC");

    let r = ok(&app, &mo, "mission history").await;
    assert_has(&r, "Mission history (5 versions)");
    assert_has(&r, "(why: first draft)");
    let text = r.plain();
    let v5 = text.find("Version 5").unwrap();
    let v1 = text.find("Version 1").unwrap();
    assert!(v5 < v1, "newest first:\n{text}");
    // Each version shows what it changed, word by word (issue 5's mission diff).
    assert!(text.contains("Grow a {+thriving urban+} forest"), "{text}");
    assert!(text.contains("Grow a forest {+value Joy+}"), "{text}");
    assert!(text.contains("Grow a forest [-value Joy-]"), "{text}");
}

#[tokio::test]
async fn contribute_records_and_refuses_bad_goals_values_and_dates() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let alice = actor(&app, "forest", "alice", Role::Member).await;
    for line in [
        "mission set Grow a forest",
        "mission value add stewardship",
        "goal create Plant trees target=100 unit=trees slug=trees",
        "goal create Old drive target=10 slug=old",
        "goal close old",
    ] {
        ok(&app, &olga, line).await;
    }

    let r = ok(&app, &alice, "contribute Ran the newcomer session").await;
    assert!(r.is_private());
    let id: i64 = scalar(&app, "SELECT max(id) FROM contributions").await;
    assert_eq!(r.title, Some(format!("Contribution #{id} logged")));
    assert_line(&r, "“Ran the newcomer session”");
    assert_line(&r, "🎉 The community logged its first contribution!");
    assert_line(&r, "🎉 alice logged their first contribution!");
    assert_line(&r, "That is your 1st contribution. Thank you!");

    let r = ok(
        &app,
        &alice,
        "contribute Planted 40 oaks amount=40 goal=trees value=Stewardship",
    )
    .await;
    assert_line(&r, "“Planted 40 oaks” (40 trees · value: stewardship)");
    assert_line(&r, "Plant trees: ▰▰▰▰▱▱▱▱▱▱ 40 / 100 trees (40%)");
    assert_line(&r, "🎉 Plant trees is 25% of the way there!");
    assert_line(&r, "That is your 2nd contribution. Thank you!");
    let row: (
        String,
        Option<f64>,
        Option<String>,
        Option<String>,
        String,
        String,
    ) = db::row(
        &app,
        "SELECT c.description, c.amount, c.unit, c.value_name, g.slug, c.happened_on
             FROM contributions c JOIN goals g ON g.id = c.goal_id WHERE c.member_id = ?",
        &[alice.member.into()],
    )
    .await;
    assert_eq!(
        row,
        (
            "Planted 40 oaks".into(),
            Some(40.0),
            Some("trees".into()),
            Some("stewardship".into()),
            "trees".into(),
            "2026-11-26".into()
        )
    );
    let goal: (f64, i64) = db::row(
        &app,
        "SELECT progress, contribution_count FROM goals WHERE slug = 'trees'",
        &[],
    )
    .await;
    assert_eq!(goal, (40.0, 1));
    let daily: (i64, f64) = db::row(
        &app,
        "SELECT d.contributions, d.amount FROM goal_daily_progress d JOIN goals g ON g.id = d.goal_id
         WHERE g.slug = 'trees' AND d.day = '2026-11-26'",
        &[],
    )
    .await;
    assert_eq!(daily, (1, 40.0));

    // A goal with a unit does not move without an amount, and says so.
    let r = ok(&app, &alice, "contribute Watered saplings goal=trees").await;
    assert_has(&r, "No amount given, so the goal did not move");
    assert_eq!(
        scalar::<f64>(&app, "SELECT progress FROM goals WHERE slug = 'trees'").await,
        40.0
    );
    assert_eq!(
        scalar_for::<i64>(
            &app,
            "SELECT contribution_count FROM members WHERE id = ?",
            alice.member.0
        )
        .await,
        3
    );
    assert_eq!(
        scalar::<i64>(&app, "SELECT contribution_count FROM communities").await,
        3
    );

    let before = snapshot(&app).await;
    let e = err(&app, &alice, "contribute Planted more amount=5 goal=nope").await;
    assert!(matches!(e, UserError::NotFound { .. }), "{e:?}");
    assert!(e.to_string().contains("No goal `nope`"), "{e}");
    let e = err(&app, &alice, "contribute Planted more amount=5 goal=old").await;
    assert!(matches!(e, UserError::Invalid { .. }), "{e:?}");
    assert!(e.to_string().contains("`old` is closed"), "{e}");
    let e = err(&app, &alice, "contribute Helped out value=speed").await;
    assert!(matches!(e, UserError::NotFound { .. }), "{e:?}");
    assert!(
        e.to_string().contains("No value `speed`") && e.to_string().contains("stewardship"),
        "{e}"
    );
    let e = err(
        &app,
        &alice,
        "contribute Logged hours amount=3 unit=hours goal=trees",
    )
    .await;
    assert!(e.to_string().contains("counts trees, not hours"), "{e}");
    let e = err(&app, &alice, "contribute Tomorrow's work date=2026-11-27").await;
    assert!(matches!(e, UserError::Invalid { .. }), "{e:?}");
    assert!(e.to_string().contains("in the future"), "{e}");
    let today = start().date_naive();
    let d91 = today - Days::new(91);
    let d90 = today - Days::new(90);
    assert_eq!((d91, d90), (day(2026, 8, 27), day(2026, 8, 28)));
    let e = err(&app, &alice, &format!("contribute Long ago date={d91}")).await;
    assert!(matches!(e, UserError::Invalid { .. }), "{e:?}");
    assert!(e.to_string().contains("more than 90 days ago"), "{e}");
    assert_eq!(before, snapshot(&app).await, "refusals wrote nothing");

    let r = ok(
        &app,
        &alice,
        &format!("contribute Long ago but in range date={d90}"),
    )
    .await;
    assert_line(&r, "“Long ago but in range” (on 2026-08-28)");
    assert_eq!(
        scalar::<String>(
            &app,
            "SELECT happened_on FROM contributions WHERE description = 'Long ago but in range'"
        )
        .await,
        "2026-08-28"
    );
    let e = err(&app, &alice, "contribute Yesterday's work date=soon").await;
    assert!(e.to_string().contains("is not a date"), "{e}");
}

#[tokio::test]
async fn contributions_lists_mine_or_another_members() {
    let (_dir, app, _clock) = app().await;
    let alice = actor(&app, "forest", "alice", Role::Member).await;
    let bob = actor(&app, "forest", "bob", Role::Member).await;

    let r = ok(&app, &alice, "contributions").await;
    assert!(r.is_private());
    assert_has(&r, "Your contributions (0 in all)");
    assert_has(&r, "None yet");

    ok(&app, &alice, "contribute Planted oaks amount=3 unit=trees").await;
    ok(&app, &alice, "contribute Weeded beds").await;
    ok(&app, &bob, "contribute Fixed the shed").await;

    let id_of = async |text: &str| -> i64 {
        db::scalar(
            &app,
            "SELECT id FROM contributions WHERE description = ?",
            &[text.into()],
        )
        .await
    };
    let (oaks, beds, shed) = (
        id_of("Planted oaks").await,
        id_of("Weeded beds").await,
        id_of("Fixed the shed").await,
    );
    let r = ok(&app, &alice, "contributions").await;
    assert_has(&r, "Your contributions (2 in all)");
    // Each with the id that `contribution remove` takes.
    assert_line(
        &r,
        &format!("#{oaks} · 2026-11-26 · Planted oaks · 3 trees"),
    );
    assert_line(&r, &format!("#{beds} · 2026-11-26 · Weeded beds"));
    assert_lacks(&r, "Fixed the shed");
    let text = r.plain();
    assert!(
        text.find("Weeded beds").unwrap() < text.find("Planted oaks").unwrap(),
        "newest first:\n{text}"
    );

    let r = ok(&app, &alice, "contributions @bob").await;
    assert!(r.is_private());
    assert_has(&r, "Contributions by bob (1 in all)");
    assert_line(&r, &format!("#{shed} · 2026-11-26 · Fixed the shed"));
    assert_lacks(&r, "oaks");

    let e = err(&app, &alice, "contributions bob").await;
    assert!(matches!(e, UserError::Syntax { .. }), "{e:?}");
    assert!(e.to_string().contains("write @name"), "{e}");
}

#[tokio::test]
async fn goal_create_list_show_close() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let mo = actor(&app, "forest", "mo", Role::Member).await;

    let r = ok(
        &app,
        &olga,
        "goal create Plant 1000 trees target=1000 unit=trees deadline=2027-06-30",
    )
    .await;
    assert!(!r.is_private());
    assert_has(&r, "New goal: Plant 1000 trees");
    assert_line(&r, "Target: 1,000 trees");
    assert_line(&r, "Slug: plant-1000-trees");
    assert_line(&r, "Deadline: 2027-06-30");
    let row: (String, f64, Option<String>, Option<String>, String, Option<i64>) = db::row(
        &app,
        "SELECT title, target, unit, deadline, status, created_by FROM goals WHERE slug = 'plant-1000-trees'",
        &[],
    )
    .await;
    assert_eq!(
        row,
        (
            "Plant 1000 trees".into(),
            1000.0,
            Some("trees".into()),
            Some("2027-06-30".into()),
            "open".into(),
            Some(olga.member.0)
        )
    );

    let e = err(
        &app,
        &olga,
        "goal create Another one target=5 slug=plant-1000-trees",
    )
    .await;
    assert!(matches!(e, UserError::Conflict { .. }), "{e:?}");
    assert!(e.to_string().contains("already exists"), "{e}");
    let e = err(
        &app,
        &olga,
        "goal create Too late target=5 deadline=2026-11-25",
    )
    .await;
    assert!(matches!(e, UserError::Invalid { .. }), "{e:?}");
    assert!(e.to_string().contains("already passed"), "{e}");
    assert_eq!(scalar::<i64>(&app, "SELECT count(*) FROM goals").await, 1);
    // A deadline of today is still allowed.
    ok(
        &app,
        &olga,
        "goal create Hours today target=50 slug=hours deadline=today",
    )
    .await;

    ok(
        &app,
        &mo,
        "contribute Planted a grove amount=250 goal=plant-1000-trees",
    )
    .await;

    let r = ok(&app, &mo, "goal list").await;
    assert_line(
        &r,
        "Plant 1000 trees (plant-1000-trees) ▰▰▱▱▱▱▱▱▱▱ 250 / 1,000 trees (25%) · due 2027-06-30",
    );
    assert_line(
        &r,
        "Hours today (hours) ▱▱▱▱▱▱▱▱▱▱ 0 / 50 (0%) · due 2026-11-26",
    );

    let r = ok(&app, &mo, "goal show plant-1000-trees").await;
    assert_eq!(r.title.as_deref(), Some("Plant 1000 trees"));
    assert_line(&r, "▰▰▱▱▱▱▱▱▱▱ 250 / 1,000 trees (25%)");
    assert_line(&r, "Status: open");
    assert_line(&r, "Contributions: 1");
    assert_line(&r, "2026-11-26 · mo · Planted a grove (250)");
    let e = err(&app, &mo, "goal show nope").await;
    assert!(matches!(e, UserError::NotFound { .. }), "{e:?}");

    let r = ok(&app, &olga, "goal close plant-1000-trees").await;
    assert_has(&r, "Goal closed: Plant 1000 trees");
    assert_line(&r, "Closed before reaching its target.");
    let closed: (String, Option<String>) = db::row(
        &app,
        "SELECT status, closed_at FROM goals WHERE slug = 'plant-1000-trees'",
        &[],
    )
    .await;
    assert_eq!(
        closed,
        ("closed".into(), Some("2026-11-26T12:00:00.000Z".into()))
    );
    let e = err(&app, &olga, "goal close plant-1000-trees").await;
    assert!(matches!(e, UserError::Conflict { .. }), "{e:?}");
    assert!(e.to_string().contains("already closed"), "{e}");

    let r = ok(&app, &mo, "goal list").await;
    assert_lacks(&r, "Plant 1000 trees");
    assert_has(&r, "Hours today");
    let r = ok(&app, &mo, "goal show plant-1000-trees").await;
    assert_line(&r, "Status: closed");
}

#[tokio::test]
async fn milestone_add_and_list() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let mo = actor(&app, "forest", "mo", Role::Member).await;
    ok(
        &app,
        &olga,
        "goal create Trees target=100 unit=trees slug=trees",
    )
    .await;

    let r = ok(&app, &mo, "milestone list").await;
    assert_has(&r, "None reached yet");
    for line in [
        "contribute One",
        "contribute Two",
        "contribute Three",
        "contribute Thirty trees amount=30 goal=trees",
    ] {
        ok(&app, &mo, line).await;
    }

    // Thresholds already reached are refused.
    let e = err(&app, &olga, "milestone add Early days at=3").await;
    assert!(matches!(e, UserError::Invalid { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("That is already reached: 4 contributions so far."),
        "{e}"
    );
    let e = err(&app, &olga, "milestone add Twenty at=20 goal=trees").await;
    assert!(
        e.to_string()
            .contains("That is already reached: 30 trees so far."),
        "{e}"
    );
    let e = err(&app, &olga, "milestone add Nowhere at=50 goal=nope").await;
    assert!(matches!(e, UserError::NotFound { .. }), "{e:?}");
    assert_eq!(
        scalar::<i64>(&app, "SELECT count(*) FROM milestones").await,
        0
    );

    let r = ok(&app, &olga, "milestone add Fifth contribution at=5").await;
    assert_has(&r, "Milestone added: Fifth contribution");
    assert_line(
        &r,
        "It will be announced at the community's 5th contribution (4 contributions so far).",
    );
    let r = ok(&app, &olga, "milestone add Half way at=50 goal=trees").await;
    assert_line(
        &r,
        "It will be announced when Trees reaches 50 trees (30 trees so far).",
    );
    assert_eq!(
        scalar::<i64>(&app, "SELECT count(*) FROM milestones").await,
        2
    );
    assert_eq!(
        scalar::<i64>(
            &app,
            "SELECT count(*) FROM milestones WHERE goal_id IS NOT NULL AND threshold = 50"
        )
        .await,
        1
    );

    let r = ok(&app, &mo, "milestone list").await;
    assert_has(&r, "· The community logged its first contribution!");
    assert_has(&r, "· mo logged their first contribution!");
    assert_has(&r, "· Trees is 25% of the way there!");
    assert_line(&r, "Community: 10 contributions (now 4)");
    let fifth: i64 = scalar(&app, "SELECT id FROM milestones WHERE threshold = 5").await;
    assert_line(
        &r,
        &format!("#{fifth} · Fifth contribution: community at 5 contributions"),
    );
    assert_line(
        &r,
        &format!("#{} · Half way: Trees at 50 (now 30)", fifth + 1),
    );
    assert_line(&r, "Trees: 50% (now 30%)");

    // The fifth contribution reaches the custom milestone, once.
    let r = ok(&app, &mo, "contribute Five").await;
    assert_line(&r, "🎉 Milestone reached: Fifth contribution!");
    let r = ok(&app, &mo, "contribute Six").await;
    assert_lacks(&r, "Fifth contribution");
    assert_eq!(
        scalar::<i64>(
            &app,
            "SELECT count(*) FROM milestone_achievements a JOIN milestones m ON a.milestone_key = 'custom.' || m.id
             WHERE m.threshold = 5 AND a.subject = 'community'"
        )
        .await,
        1
    );
    let r = ok(&app, &mo, "milestone list").await;
    assert_has(&r, "· Milestone reached: Fifth contribution!");
    assert_lacks(&r, "Fifth contribution: community at");
}

#[tokio::test]
async fn milestone_remove_takes_out_a_custom_milestone_and_keeps_it_in_the_audit_trail() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let mo = actor(&app, "forest", "mo", Role::Member).await;
    ok(
        &app,
        &olga,
        "goal create Trees target=100 unit=trees slug=trees",
    )
    .await;
    ok(&app, &olga, "milestone add Half way at=50 goal=trees").await;
    ok(&app, &olga, "milestone add Third contribution at=3").await;
    let half: i64 = scalar(&app, "SELECT id FROM milestones WHERE title = 'Half way'").await;
    let third: i64 = scalar(
        &app,
        "SELECT id FROM milestones WHERE title = 'Third contribution'",
    )
    .await;

    // Members may not; built-in milestones and unknown ids are refused, saying why.
    let e = err(&app, &mo, &format!("milestone remove #{half}")).await;
    assert!(matches!(e, UserError::OrganiserOnly { .. }), "{e:?}");
    let e = err(&app, &olga, "milestone remove 50%").await;
    assert!(e.to_string().contains("built-in milestone"), "{e}");
    let e = err(&app, &olga, "milestone remove #99999").await;
    assert!(matches!(e, UserError::NotFound { .. }), "{e:?}");
    assert!(e.to_string().contains("custom milestone #99999"), "{e}");

    let r = ok(&app, &olga, &format!("milestone remove #{half}")).await;
    assert_has(&r, &format!("Milestone #{half} removed: Half way"));
    assert_line(&r, "It was set for the goal trees at 50.");
    let r = ok(&app, &mo, "milestone list").await;
    assert_lacks(&r, "Half way");
    assert_has(&r, &format!("#{third} · Third contribution"));
    // It is not reached, nor announced, any more.
    let r = ok(&app, &mo, "contribute Sixty trees amount=60 goal=trees").await;
    assert_lacks(&r, "Half way");
    let e = err(&app, &olga, &format!("milestone remove {half}")).await;
    assert!(matches!(e, UserError::NotFound { .. }), "{e:?}");

    // A reached one may be removed too; its achievement stays in the record.
    ok(&app, &mo, "contribute Two").await;
    let r = ok(&app, &mo, "contribute Three").await;
    assert_has(&r, "Third contribution");
    let r = ok(&app, &olga, &format!("milestone remove {third}")).await;
    assert_has(&r, "It had been reached");
    let r = ok(&app, &mo, "milestone list").await;
    assert_has(&r, "Milestone reached: Third contribution");

    // Another community's milestone is not found from this one.
    let ivy = actor(&app, "garden", "ivy", Role::Organiser).await;
    ok(&app, &ivy, "milestone add Tenth at=10").await;
    let tenth: i64 = scalar(&app, "SELECT id FROM milestones WHERE title = 'Tenth'").await;
    let e = err(&app, &olga, &format!("milestone remove #{tenth}")).await;
    assert!(matches!(e, UserError::NotFound { .. }), "{e:?}");

    let changes: Vec<(String, String, Option<i64>, String)> = db::rows(
        &app,
        "SELECT subject, action, member_id, before FROM record_changes ORDER BY id",
        &[],
    )
    .await;
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!((&*changes[0].0, &*changes[0].1), ("milestone", "remove"));
    assert_eq!(changes[0].2, None);
    let before: serde_json::Value = serde_json::from_str(&changes[0].3).unwrap();
    assert_eq!(before["title"], "Half way");
    assert_eq!(before["threshold"], 50.0);
    assert_eq!(before["goal"], "trees");
    assert_eq!(before["reached"], false);
    let r = ok(&app, &olga, "audit").await;
    assert_has(
        &r,
        &format!("olga removed milestone #{half}: was “Half way” (goal trees at 50)"),
    );
    assert_has(
        &r,
        &format!(
            "olga removed milestone #{third}: was “Third contribution” (community at 3 contributions, reached)"
        ),
    );
}

#[tokio::test]
async fn kudos_thanks_another_member_and_refuses_yourself() {
    let (_dir, app, _clock) = app().await;
    let alice = actor(&app, "forest", "alice", Role::Member).await;
    assert_eq!(
        scalar::<i64>(
            &app,
            "SELECT count(*) FROM members WHERE display_name = 'bob'"
        )
        .await,
        0
    );

    // On the console, naming someone new creates them, as a platform user would be.
    let r = ok(&app, &alice, "kudos @bob for leading Saturday's planting").await;
    assert!(!r.is_private());
    let kudos_id: i64 = scalar(&app, "SELECT id FROM kudos").await;
    assert_eq!(r.title, Some(format!("👏 Kudos #{kudos_id}")));
    assert_line(&r, "alice thanks bob for leading Saturday's planting");
    let bob_id: i64 = scalar(
        &app,
        "SELECT m.id FROM members m JOIN identities i ON i.member_id = m.id
         WHERE m.display_name = 'bob' AND i.external_user_id = 'bob'",
    )
    .await;
    let kudos: (i64, i64, String, String) = db::row(
        &app,
        "SELECT from_member_id, to_member_id, reason, platform FROM kudos",
        &[],
    )
    .await;
    assert_eq!(
        kudos,
        (
            alice.member.0,
            bob_id,
            "leading Saturday's planting".into(),
            "console".into()
        )
    );
    let given: (i64, i64) = db::row(
        &app,
        "SELECT kudos_given, kudos_received FROM member_daily_activity WHERE member_id = ? AND day = '2026-11-26'",
        &[alice.member.into()],
    )
    .await;
    assert_eq!(given, (1, 0));
    let received: (i64, i64) = db::row(
        &app,
        "SELECT kudos_given, kudos_received FROM member_daily_activity WHERE member_id = ? AND day = '2026-11-26'",
        &[bob_id.into()],
    )
    .await;
    assert_eq!(received, (0, 1));

    // When bob shows up himself, he is the member that was created.
    let bob = actor(&app, "forest", "bob", Role::Member).await;
    assert_eq!(bob.member.0, bob_id);

    let before = snapshot(&app).await;
    let e = err(&app, &alice, "kudos @alice for being great").await;
    assert!(matches!(e, UserError::Invalid { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("Kudos are for thanking someone else"),
        "{e}"
    );
    let e = err(&app, &alice, "kudos me").await;
    assert!(matches!(e, UserError::Syntax { .. }), "{e:?}");
    let e = err(&app, &alice, "kudos bob").await;
    assert!(e.to_string().contains("start with @name"), "{e}");
    assert_eq!(before, snapshot(&app).await);

    // A reason is optional.
    let r = ok(&app, &bob, "kudos @alice").await;
    assert_line(&r, "bob thanks alice");
    assert_eq!(scalar::<i64>(&app, "SELECT count(*) FROM kudos").await, 2);
}

/// The figures, worked out by hand. "Today" is 2026-11-26; the default window is
/// the 28 days 2026-10-30 ..= 2026-11-26. Activity:
///
/// | logged on  | dated      | who   | what                         |
/// |------------|------------|-------|------------------------------|
/// | 2026-10-20 | 2026-10-20 | dave  | contribution (outside 28 d)  |
/// | 2026-11-06 | 2026-11-06 | alice | contribution                 |
/// | 2026-11-10 | 2026-11-10 | erin  | contribution                 |
/// | 2026-11-22 | 2026-11-22 | bob   | contribution                 |
/// | 2026-11-26 | 2026-11-25 | frank | contribution, backdated      |
/// | 2026-11-26 | 2026-11-26 | alice | contribution                 |
/// | 2026-11-26 | 2026-11-26 | carol | contribution, kudos to gina  |
/// | 2026-11-26 | 2026-11-26 | gina  | kudos received               |
///
/// As of 11-26: DAU = alice, carol, gina = 3. WAU (11-20..26) adds bob and frank
/// = 5. MAU (10-30..11-26) adds erin = 6 (dave is 37 days back).
/// Contributions in the window: alice 2 + erin + bob + frank + carol = 6; kudos 1.
/// Member-days 7 (alice twice, erin, bob, frank, carol, gina), so stickiness =
/// 7 / 28 / 6 = 4.2 % → "4%". Last 7 days: bob, frank, alice, carol = 4.
/// October 1–31: dave's 1; as of 10-31 DAU 0, WAU 0, MAU 1.
/// As of 12-10 (window 11-13..12-10): contributions bob, frank, alice, carol = 4;
/// DAU 0, WAU 0, MAU 5 (with gina); stickiness 5 / 28 / 5 = 3.6 % → "4%";
/// over 90 days (09-12..12-10) all 7 contributions, alice first with 2.
#[tokio::test]
async fn stats_counts_active_members_and_contributions() {
    let (_dir, app, clock) = app().await;
    let mut who = std::collections::HashMap::new();
    for name in ["alice", "bob", "carol", "dave", "erin", "frank", "gina"] {
        who.insert(name, actor(&app, "forest", name, Role::Member).await);
    }

    let r = ok(&app, &who["alice"], "stats").await;
    assert_has(&r, "No activity in this window yet");
    assert_line(&r, "Contributions: 0");
    assert_line(&r, "Active in 28 days (MAU): 0");

    clock.set(noon(2026, 10, 20));
    ok(&app, &who["dave"], "contribute Autumn clean-up").await;
    clock.set(noon(2026, 11, 6));
    ok(&app, &who["alice"], "contribute Seed swap").await;
    clock.set(noon(2026, 11, 10));
    ok(&app, &who["erin"], "contribute Compost delivery").await;
    clock.set(noon(2026, 11, 22));
    ok(&app, &who["bob"], "contribute Fixed the shed").await;
    clock.set(start());
    ok(
        &app,
        &who["frank"],
        "contribute Yesterday's litter pick date=yesterday",
    )
    .await;
    ok(&app, &who["alice"], "contribute Planted oaks").await;
    ok(&app, &who["carol"], "contribute Watered saplings").await;
    ok(&app, &who["carol"], "kudos @gina for the tea").await;

    let r = ok(&app, &who["alice"], "stats").await;
    assert!(!r.is_private());
    assert_has(&r, "Community stats · 2026-10-30 to 2026-11-26 (28 days)");
    assert_line(&r, "Active today (DAU): 3");
    assert_line(&r, "Active this week (WAU): 5");
    assert_line(&r, "Active in 28 days (MAU): 6");
    assert_line(&r, "Stickiness (mean DAU ÷ MAU): 4%");
    assert_line(&r, "Contributions: 6");
    assert_line(&r, "Kudos: 1");
    assert_line(&r, "1. alice · 2");
    assert_lacks(&r, "dave");
    assert_lacks(&r, "No activity");

    let r = ok(&app, &who["alice"], "stats period=7d").await;
    assert_has(&r, "2026-11-20 to 2026-11-26 (7 days)");
    assert_line(&r, "Contributions: 4");
    assert_line(&r, "Kudos: 1");

    let r = ok(&app, &who["alice"], "stats from=2026-10-01 to=2026-10-31").await;
    assert_has(&r, "2026-10-01 to 2026-10-31 (31 days)");
    assert_line(&r, "Contributions: 1");
    assert_line(&r, "Kudos: 0");
    assert_line(&r, "Active today (DAU): 0");
    assert_line(&r, "Active this week (WAU): 0");
    assert_line(&r, "Active in 28 days (MAU): 1");
    assert_line(&r, "1. dave · 1");

    // Two weeks on, with no new activity, the windows have moved.
    clock.set(noon(2026, 12, 10));
    let r = ok(&app, &who["alice"], "stats").await;
    assert_has(&r, "2026-11-13 to 2026-12-10 (28 days)");
    assert_line(&r, "Active today (DAU): 0");
    assert_line(&r, "Active this week (WAU): 0");
    assert_line(&r, "Active in 28 days (MAU): 5");
    assert_line(&r, "Stickiness (mean DAU ÷ MAU): 4%");
    assert_line(&r, "Contributions: 4");
    assert_line(&r, "1. alice · 1");
    assert_lacks(&r, "erin");
    let r = ok(&app, &who["alice"], "stats period=90d").await;
    assert_line(&r, "Contributions: 7");
    assert_line(&r, "1. alice · 2");

    let e = err(&app, &who["alice"], "stats period=fortnight").await;
    assert!(matches!(e, UserError::Syntax { .. }), "{e:?}");
}

#[tokio::test]
async fn stats_me_is_private_and_counts_the_streak() {
    let (_dir, app, clock) = app().await;
    let alice = actor(&app, "forest", "alice", Role::Member).await;
    let bob = actor(&app, "forest", "bob", Role::Member).await;

    // 22nd, then 24th, 25th, 26th (twice): the current streak is 3 days.
    clock.set(noon(2026, 11, 22));
    ok(&app, &alice, "contribute Seed swap").await;
    clock.set(noon(2026, 11, 24));
    ok(&app, &alice, "contribute Mulching amount=2 unit=hours").await;
    clock.set(noon(2026, 11, 25));
    ok(&app, &alice, "contribute Weeding").await;
    clock.set(start());
    ok(&app, &alice, "contribute Planting").await;
    ok(&app, &alice, "contribute Watering").await;
    ok(&app, &bob, "kudos @alice for the planting").await;

    let r = ok(&app, &alice, "stats me").await;
    assert!(r.is_private());
    assert_has(&r, "Your stats, alice");
    assert_line(&r, "Contributions: 5");
    assert_line(&r, "Streak: 3 days in a row");
    assert_line(&r, "Active days (last 28): 4");
    assert_line(&r, "Kudos received: 1");
    assert_line(&r, "Kudos given: 0");
    assert_line(&r, "Amounts: 2 hours");

    // A streak is not broken before the day is over...
    clock.set(noon(2026, 11, 27));
    assert_line(
        &ok(&app, &alice, "stats me").await,
        "Streak: 3 days in a row",
    );
    // ...but is once a whole day passes without a contribution.
    clock.set(noon(2026, 11, 28));
    assert_line(
        &ok(&app, &alice, "stats me").await,
        "Streak: no current streak",
    );
    ok(&app, &alice, "contribute Back again").await;
    assert_line(&ok(&app, &alice, "stats me").await, "Streak: 1 day");

    let r = ok(&app, &bob, "stats me").await;
    assert_line(&r, "Contributions: 0");
    assert_line(&r, "Kudos given: 1");
    assert_line(&r, "Streak: no current streak");
}

#[tokio::test]
async fn away_on_and_off_set_and_clear_away_since() {
    let (_dir, app, clock) = app().await;
    let alice = actor(&app, "forest", "alice", Role::Member).await;
    let away = |app: &App| {
        let app = app.clone();
        let id = alice.member.0;
        async move {
            scalar_for::<Option<String>>(&app, "SELECT away_since FROM members WHERE id = ?", id)
                .await
        }
    };
    assert_eq!(away(&app).await, None);

    let r = ok(&app, &alice, "away on").await;
    assert!(r.is_private());
    assert_eq!(r.title.as_deref(), Some("Away mode on"));
    assert_eq!(
        away(&app).await.as_deref(),
        Some("2026-11-26T12:00:00.000Z")
    );
    assert_has(&ok(&app, &alice, "stats me").await, "You are in away mode");

    clock.advance(Duration::days(3));
    let r = ok(&app, &alice, "away off").await;
    assert!(r.is_private());
    assert_eq!(r.title.as_deref(), Some("Welcome back"));
    assert_eq!(away(&app).await, None);
    assert_lacks(&ok(&app, &alice, "stats me").await, "away mode");

    let e = err(&app, &alice, "away maybe").await;
    assert!(matches!(e, UserError::Syntax { .. }), "{e:?}");
    assert!(e.to_string().contains("away on"), "{e}");
}

#[tokio::test]
async fn link_joins_a_discord_server_then_merges_identities_once() {
    let (_dir, app, clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let alice = actor(&app, "forest", "alice", Role::Member).await;
    ok(&app, &alice, "contribute Planted oaks on the console").await;

    // An organiser joins a Discord server to the community.
    let r = ok(&app, &olga, "link community").await;
    assert!(r.is_private());
    let server_code = code_of(&r);
    // Only a hash of the code is stored.
    let stored: i64 = db::scalar(
        &app,
        "SELECT count(*) FROM link_codes WHERE code_hash = ?",
        &[(&server_code).into()],
    )
    .await;
    assert_eq!(stored, 0);
    let dora = app
        .actor(&discord("G1", "1001", "dora", Role::Organiser))
        .await
        .unwrap();
    assert_ne!(dora.community, olga.community);
    let r = ok(&app, &dora, &format!("link {server_code}")).await;
    assert_has(&r, "Workspace linked");
    assert_has(&r, "forest");
    assert_eq!(
        scalar::<i64>(&app, "SELECT count(*) FROM communities").await,
        1
    );
    assert_eq!(
        scalar::<i64>(
            &app,
            "SELECT community_id FROM workspaces WHERE platform = 'discord' AND external_id = 'G1'"
        )
        .await,
        olga.community.0
    );

    // Alice's Discord account is a member of the same community, until linked.
    let alice_d = app
        .actor(&discord("G1", "4242", "alice-d", Role::Member))
        .await
        .unwrap();
    assert_eq!(alice_d.community, alice.community);
    assert_ne!(alice_d.member, alice.member);
    ok(&app, &alice_d, "contribute Planted birches from Discord").await;
    ok(&app, &alice_d, "contribute Watered from Discord").await;
    ok(&app, &alice_d, "kudos @alice for the oaks").await;
    // Her first contribution there is announced to both workspaces, once each.
    let deliveries: Vec<(String, i64)> = db::rows(
        &app,
        "SELECT w.platform, count(*) FROM announcement_deliveries d
         JOIN announcements a ON a.id = d.announcement_id
         JOIN milestone_achievements m ON m.id = a.achievement_id
         JOIN workspaces w ON w.id = d.workspace_id
         WHERE m.subject = 'member:' || ? GROUP BY w.platform ORDER BY w.platform",
        &[alice_d.member.into()],
    )
    .await;
    assert_eq!(
        deliveries,
        [("console".to_string(), 1), ("discord".to_string(), 1)]
    );
    let r = ok(&app, &olga, "setup").await;
    assert_line(&r, "Workspaces: forest (console), Guild G1 (discord)");
    let r = ok(&app, &olga, "stats").await;
    assert_line(&r, "Active today (DAU): 2");
    assert_line(&r, "Contributions: 3");
    assert_line(&r, "Kudos: 1");

    let r = ok(&app, &alice, "link").await;
    assert!(r.is_private());
    let code = code_of(&r);
    // The code is for the other account: using it here is refused and keeps it.
    let e = err(&app, &alice, &format!("link {code}")).await;
    assert!(matches!(e, UserError::Conflict { .. }), "{e:?}");
    assert_eq!(
        scalar::<i64>(
            &app,
            "SELECT count(*) FROM link_codes WHERE kind = 'identity' AND used_at IS NULL"
        )
        .await,
        1
    );
    // Codes are read without regard to case.
    let r = ok(&app, &alice_d, &format!("link {}", code.to_lowercase())).await;
    assert_has(&r, "Accounts linked");

    // One member now: three contributions, two identities, one daily row.
    assert_eq!(
        scalar_for::<i64>(
            &app,
            "SELECT count(*) FROM contributions WHERE member_id = ?",
            alice.member.0
        )
        .await,
        3
    );
    assert_eq!(
        scalar_for::<i64>(
            &app,
            "SELECT count(*) FROM members WHERE id = ?",
            alice_d.member.0
        )
        .await,
        0
    );
    assert_eq!(
        scalar_for::<i64>(
            &app,
            "SELECT contribution_count FROM members WHERE id = ?",
            alice.member.0
        )
        .await,
        3
    );
    assert_eq!(
        scalar_for::<i64>(
            &app,
            "SELECT count(*) FROM identities WHERE member_id = ?",
            alice.member.0
        )
        .await,
        2
    );
    assert_eq!(
        scalar_for::<i64>(
            &app,
            "SELECT contributions FROM member_daily_activity WHERE member_id = ? AND day = '2026-11-26'",
            alice.member.0
        )
        .await,
        3
    );
    assert_eq!(
        scalar::<i64>(&app, "SELECT contribution_count FROM communities").await,
        3
    );
    // The kudos between the two accounts went (it would be kudos to oneself), and
    // the stats count one active member.
    assert_eq!(scalar::<i64>(&app, "SELECT count(*) FROM kudos").await, 0);
    let daily: (i64, i64, i64) = db::row(
        &app,
        "SELECT contributions, kudos_given, kudos_received FROM member_daily_activity WHERE member_id = ?",
        &[alice.member.into()],
    )
    .await;
    assert_eq!(daily, (3, 0, 0));
    let r = ok(&app, &olga, "stats").await;
    assert_line(&r, "Active today (DAU): 1");
    assert_line(&r, "Active in 28 days (MAU): 1");
    assert_line(&r, "Contributions: 3");
    assert_line(&r, "Kudos: 0");
    let again = app
        .actor(&discord("G1", "4242", "alice-d", Role::Member))
        .await
        .unwrap();
    assert_eq!(again.member, alice.member);
    let r = ok(&app, &again, "contributions").await;
    assert_has(&r, "Your contributions (3 in all)");
    assert_has(&r, "Planted birches from Discord");
    assert_has(&r, "Planted oaks on the console");

    // A used code is refused.
    let eve = app
        .actor(&discord("G1", "5555", "eve", Role::Member))
        .await
        .unwrap();
    let before = snapshot(&app).await;
    let e = err(&app, &eve, &format!("link {code}")).await;
    assert!(matches!(e, UserError::Invalid { .. }), "{e:?}");
    assert!(e.to_string().contains("not valid"), "{e}");

    // An expired code is refused, and stays unused.
    let r = ok(&app, &alice, "link").await;
    let late = code_of(&r);
    clock.advance(Duration::minutes(16));
    let before_late = snapshot(&app).await;
    let e = err(&app, &eve, &format!("link {late}")).await;
    assert!(matches!(e, UserError::Invalid { .. }), "{e:?}");
    assert!(e.to_string().contains("expired"), "{e}");
    assert_eq!(before_late, snapshot(&app).await);
    assert_ne!(before, before_late, "the second code was stored");

    // A workspace code redeemed by a non-organiser is refused and stays usable.
    let r = ok(&app, &olga, "link community").await;
    let server2 = code_of(&r);
    let fred = app
        .actor(&discord("G2", "7777", "fred", Role::Member))
        .await
        .unwrap();
    let e = err(&app, &fred, &format!("link {server2}")).await;
    assert!(matches!(e, UserError::Invalid { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("Ask an admin of this Discord server"),
        "{e}"
    );
    assert_eq!(
        scalar::<i64>(
            &app,
            "SELECT count(*) FROM link_codes WHERE kind = 'workspace' AND used_at IS NULL"
        )
        .await,
        1
    );
}

/// Runs one statement with the community id bound to every `?1`, in a write.
async fn seed(app: &App, sql: &'static str, community: i64) {
    db::execute(app, sql, &[community.into()]).await;
}

#[tokio::test]
async fn open_goals_and_pending_milestones_are_capped_per_community() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let rita = actor(&app, "river", "rita", Role::Organiser).await;
    // 99 open goals and a closed one, which does not count.
    seed(
        &app,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
         INSERT INTO goals (community_id, slug, title, target, status, created_at)
         SELECT ?1, 'g' || i, 'Goal ' || i, 10, CASE i WHEN 100 THEN 'closed' ELSE 'open' END,
                '2026-11-01T12:00:00.000Z' FROM n",
        olga.community.0,
    )
    .await;
    ok(
        &app,
        &olga,
        "goal create The hundredth target=10 slug=hundredth",
    )
    .await;
    let e = err(&app, &olga, "goal create One too many target=10 slug=extra").await;
    assert!(matches!(e, UserError::Conflict { .. }), "{e:?}");
    let said = e.to_string();
    assert!(said.contains("already has 100 open goals"), "{said}");
    assert!(said.contains("goal close <slug>"), "{said}");
    assert_eq!(
        scalar::<i64>(&app, "SELECT count(*) FROM goals WHERE slug = 'extra'").await,
        0
    );
    // The cap is per community, and closing a goal makes room.
    ok(
        &app,
        &rita,
        "goal create Clean the river target=10 slug=river",
    )
    .await;
    ok(&app, &olga, "goal close g1").await;
    ok(&app, &olga, "goal create One too many target=10 slug=extra").await;

    // 199 custom milestones still to be reached: one at the first contribution,
    // one on goal g2, the rest on the community's count; and reached or closed
    // goals' ones, which do not count.
    seed(
        &app,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 197)
         INSERT INTO milestones (community_id, goal_id, title, threshold, created_at)
         SELECT ?1, CAST(NULL AS BIGINT), 'Count ' || i, 100 + i, '2026-11-01T12:00:00.000Z' FROM n
         UNION ALL SELECT ?1, NULL, 'First step', 1, '2026-11-01T12:00:00.000Z'
         UNION ALL SELECT ?1, (SELECT id FROM goals WHERE slug = 'g2'), 'Half of g2', 5, '2026-11-01T12:00:00.000Z'
         UNION ALL SELECT ?1, (SELECT id FROM goals WHERE slug = 'g1'), 'Closed goal', 5, '2026-11-01T12:00:00.000Z'",
        olga.community.0,
    )
    .await;
    ok(&app, &olga, "milestone add The 200th at=5000").await;
    let e = err(&app, &olga, "milestone add One more at=6000").await;
    assert!(matches!(e, UserError::Conflict { .. }), "{e:?}");
    let said = e.to_string();
    assert!(
        said.contains("already has 200 milestones waiting"),
        "{said}"
    );
    assert!(said.contains("goal close <slug>"), "{said}");
    ok(&app, &rita, "milestone add River day at=50").await;

    // A milestone reached makes room, and the writer still announces pending ones.
    let r = ok(&app, &olga, "contribute Planted the first oak").await;
    assert_has(&r, "First step");
    ok(&app, &olga, "milestone add One more at=6000").await;
    err(&app, &olga, "milestone add And another at=7000").await;
    // So does closing a goal: its milestones can no longer be reached.
    ok(&app, &olga, "goal close g2").await;
    ok(&app, &olga, "milestone add And another at=7000").await;
    assert_eq!(
        scalar::<i64>(&app, "SELECT count(*) FROM milestones").await,
        200 + 3 + 1
    );
}

#[tokio::test]
async fn export_community_csv_for_organisers_and_own_json_for_members() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let alice = actor(&app, "forest", "alice", Role::Member).await;
    ok(
        &app,
        &olga,
        "goal create Trees target=100 unit=trees slug=trees",
    )
    .await;
    ok(&app, &alice, "contribute Planted oaks amount=3 goal=trees").await;
    ok(&app, &alice, "contribute =1+1").await;
    ok(&app, &olga, "contribute Organised the day").await;
    ok(&app, &olga, "kudos @alice for the oaks").await;

    let r = ok(&app, &olga, "export").await;
    assert!(r.is_private());
    assert_eq!(r.title.as_deref(), Some("Community export"));
    let file = format!("keel-community-{}-contributions.csv", olga.community);
    assert_line(&r, &format!("3 contributions, as {file}."));
    assert_eq!(r.attachments.len(), 1);
    let a = &r.attachments[0];
    assert_eq!(
        (a.filename.as_str(), a.media_type.as_str()),
        (file.as_str(), "text/csv")
    );
    let mut csv = csv::Reader::from_reader(std::io::Cursor::new(a.contents().unwrap()));
    assert_eq!(
        csv.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "id",
            "member",
            "day",
            "description",
            "amount",
            "unit",
            "goal",
            "value",
            "platform",
            "created_at"
        ]
    );
    let rows: Vec<Vec<String>> = csv
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0][1..],
        [
            "alice",
            "2026-11-26",
            "Planted oaks",
            "3",
            "trees",
            "trees",
            "",
            "console",
            "2026-11-26T12:00:00.000Z"
        ]
    );
    // A formula-looking description is kept as text.
    assert_eq!(rows[1][3], "'=1+1");
    assert_eq!(rows[2][1..4], ["olga", "2026-11-26", "Organised the day"]);

    let e = err(&app, &alice, "export").await;
    assert!(
        matches!(&e, UserError::OrganiserOnly { command } if command == "export community"),
        "{e:?}"
    );

    let r = ok(&app, &alice, "export me format=json").await;
    assert!(r.is_private());
    assert_eq!(r.title.as_deref(), Some("Your data"));
    assert_eq!(r.attachments.len(), 1);
    let a = &r.attachments[0];
    assert_eq!(a.filename, format!("keel-member-{}.json", alice.member));
    assert_eq!(a.media_type, "application/json");
    let doc: serde_json::Value = serde_json::from_slice(&a.contents().unwrap()).unwrap();
    assert_eq!(doc["member"]["display_name"], "alice");
    assert_eq!(
        doc["member"]["identities"],
        serde_json::json!([{"platform": "console", "user_id": "alice"}])
    );
    let descriptions: Vec<&str> = doc["contributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["description"].as_str().unwrap())
        .collect();
    assert_eq!(descriptions, ["Planted oaks", "=1+1"]);
    assert_eq!(doc["kudos"][0]["reason"], "the oaks");
    assert!(doc.get("mission_versions").is_none());

    let r = ok(&app, &olga, "export format=json").await;
    let doc: serde_json::Value =
        serde_json::from_slice(&r.attachments[0].contents().unwrap()).unwrap();
    assert_eq!(doc["contributions"].as_array().unwrap().len(), 3);
    assert_eq!(doc["goals"][0]["slug"], "trees");
    assert_eq!(doc["goals"][0]["progress"], 3.0);
}

/// Spreadsheets run a cell starting with `=`, `+`, `-` or `@` as a formula; the
/// CSV export must keep every member- or organiser-typed cell as text, including
/// the unit (`unit==1+2`) and value names, not only the description.
#[tokio::test]
async fn csv_export_neutralises_formulas_in_every_typed_cell() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let mallory = actor(&app, "forest", "mallory", Role::Member).await;
    ok(&app, &olga, "mission set Grow a forest").await;
    ok(&app, &olga, "mission value add @SUM(1+1)").await;
    ok(&app, &mallory, "contribute Bought seeds amount=3 unit==1+2").await;
    ok(&app, &mallory, "contribute Helped value=@SUM(1+1)").await;
    let r = ok(&app, &olga, "export").await;
    let mut csv =
        csv::Reader::from_reader(std::io::Cursor::new(r.attachments[0].contents().unwrap()));
    let cells: Vec<String> = csv
        .records()
        .flat_map(|r| r.unwrap().iter().map(str::to_string).collect::<Vec<_>>())
        .collect();
    assert!(cells.contains(&"Bought seeds".to_string()), "{cells:?}");
    let formulas: Vec<&String> = cells
        .iter()
        .filter(|c| c.starts_with(['=', '+', '-', '@']))
        .collect();
    assert!(formulas.is_empty(), "formula cells: {formulas:?}");
}

#[tokio::test]
async fn forget_me_asks_first_then_erases() {
    let (_dir, app, _clock) = app().await;
    let alice = actor(&app, "forest", "alice", Role::Member).await;
    let bob = actor(&app, "forest", "bob", Role::Member).await;
    ok(&app, &alice, "contribute One").await;
    ok(&app, &alice, "contribute Two").await;
    ok(&app, &bob, "contribute Bob's").await;

    let before = snapshot(&app).await;
    let r = ok(&app, &alice, "forget-me").await;
    assert!(r.is_private());
    assert_has(&r, "This erases your 2 contributions");
    assert_has(&r, "forget-me confirm");
    assert_eq!(before, snapshot(&app).await, "asking changes nothing");
    let e = err(&app, &alice, "forget-me please").await;
    assert!(matches!(e, UserError::Syntax { .. }), "{e:?}");

    let r = ok(&app, &alice, "forget-me confirm").await;
    assert!(r.is_private());
    assert_has(&r, "Erased 2 contributions, 0 kudos and 1 linked accounts.");
    assert_eq!(
        scalar_for::<i64>(
            &app,
            "SELECT count(*) FROM members WHERE id = ?",
            alice.member.0
        )
        .await,
        0
    );
    assert_eq!(
        scalar::<i64>(&app, "SELECT count(*) FROM contributions").await,
        1
    );
    assert_eq!(
        scalar::<i64>(&app, "SELECT contribution_count FROM communities").await,
        1
    );

    // Using Keel again starts afresh.
    let alice = actor(&app, "forest", "alice", Role::Member).await;
    let r = ok(&app, &alice, "stats me").await;
    assert_line(&r, "Contributions: 0");
}

#[tokio::test]
async fn setup_shows_settings_and_changes_them_for_organisers_only() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let mo = actor(&app, "forest", "mo", Role::Member).await;

    // Settings are the organisers' on every platform, as Discord always had them.
    for line in ["setup", "setup show"] {
        let e = err(&app, &mo, line).await;
        assert!(
            matches!(&e, UserError::OrganiserOnly { command } if command == "setup show"),
            "{e:?}"
        );
    }
    assert_eq!(
        ok(&app, &olga, "setup show").await,
        ok(&app, &olga, "setup").await
    );
    let r = ok(&app, &olga, "setup").await;
    assert!(r.is_private());
    assert_eq!(r.title.as_deref(), Some("Settings · forest"));
    assert_line(&r, "Time zone: UTC");
    assert_line(&r, "Inactive after: 30 days");
    assert_line(&r, "Workspaces: forest (console)");
    // Thursday 2026-11-26: the weekly digest is next due Monday 09:00 UTC.
    assert_line(&r, "Digest: weekly mon 09:00 · next 2026-11-30 09:00 UTC");
    assert_line(
        &r,
        "Mission reminder: monthly 1 09:00 · next 2026-12-01 09:00 UTC",
    );

    let before = snapshot(&app).await;
    let e = err(&app, &mo, "setup timezone Europe/Paris").await;
    assert!(
        matches!(&e, UserError::OrganiserOnly { command } if command == "setup timezone"),
        "{e:?}"
    );
    let e = err(&app, &olga, "setup timezone Mars/Olympus").await;
    assert!(e.to_string().contains("is not a time zone"), "{e}");
    assert_eq!(before, snapshot(&app).await);

    let r = ok(&app, &olga, "setup timezone Europe/Paris").await;
    assert!(r.is_private());
    assert_line(&r, "Time zone set to Europe/Paris; schedules follow it.");
    assert_eq!(
        scalar::<String>(&app, "SELECT timezone FROM communities").await,
        "Europe/Paris"
    );
    // 09:00 in Paris in winter is 08:00 UTC.
    assert_eq!(
        scalar::<String>(
            &app,
            "SELECT next_run_at FROM schedules WHERE kind = 'digest'"
        )
        .await,
        "2026-11-30T08:00:00.000Z"
    );
    let r = ok(&app, &olga, "setup show").await;
    assert_line(&r, "Time zone: Europe/Paris");

    ok(&app, &olga, "setup inactive-days 14").await;
    assert_eq!(
        scalar::<i64>(&app, "SELECT inactive_days FROM communities").await,
        14
    );
    ok(&app, &olga, "setup digest off").await;
    assert_eq!(
        scalar::<Option<String>>(
            &app,
            "SELECT next_run_at FROM schedules WHERE kind = 'digest'"
        )
        .await,
        None
    );
}

#[tokio::test]
async fn help_lists_the_commands_a_member_may_use() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let mo = actor(&app, "forest", "mo", Role::Member).await;

    let r = ok(&app, &mo, "help").await;
    assert!(r.is_private());
    assert_eq!(r.title.as_deref(), Some("Keel commands"));
    assert_has(&r, "contribute <what you did>");
    assert_has(&r, "forget-me [confirm]");
    assert_lacks(&r, "goal create");
    assert_lacks(&r, "(organisers)");
    // Who may redeem a community code is the table's to say.
    assert_has(
        &r,
        "link <code> · Use a code made with `link` (your own, from your other account) or `link community` on another platform. (organisers, for a community code, made with `link community`)",
    );

    assert_lacks(&r, "setup");

    let r = ok(&app, &olga, "help").await;
    assert_has(&r, "goal create <title> target=1000");
    assert_has(&r, "(organisers)");
    // Every setting, digest-only milestones included, and the health pages.
    assert_has(&r, "setup milestones each|digest");
    assert_has(&r, "setup show");
    assert_has(&r, "health [page=2]");
    assert_has(&r, "export health");
    let r = ok(&app, &olga, "help setup").await;
    assert_has(&r, "setup milestones each|digest");
    assert_has(&r, "setup inactive-days <1-365>");
    assert_lacks(&r, "goal create");

    let r = ok(&app, &mo, "help goal").await;
    assert_eq!(r.title.as_deref(), Some("Help: goal"));
    assert_has(&r, "goal list");
    assert_has(&r, "goal show <slug>");
    assert_lacks(&r, "contribute");

    let r = ok(&app, &mo, "help frobnicate").await;
    assert_has(&r, "No command matches “frobnicate”");
}

// ---------------------------------------------------------------------------
// 2. Organiser-only commands refuse members
// ---------------------------------------------------------------------------

#[tokio::test]
async fn organiser_only_commands_refuse_members_and_write_nothing() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let mo = actor(&app, "forest", "mo", Role::Member).await;
    // Give each command something real to act on.
    for line in [
        "mission set Grow a forest",
        "mission value add v",
        "goal create Goal x target=10 slug=x",
    ] {
        ok(&app, &olga, line).await;
    }
    ok(&app, &mo, "contribute Planted one").await;

    let before = snapshot(&app).await;
    for (line, command) in [
        ("mission set X", "mission set"),
        ("mission value add w", "mission value add"),
        ("mission value remove v", "mission value remove"),
        ("goal create T target=1", "goal create"),
        ("goal close x", "goal close"),
        ("milestone add M at=5", "milestone add"),
        ("link community", "link community"),
        ("export", "export community"),
        ("export format=json", "export community"),
        ("export health", "export health"),
        ("health page=2", "health"),
        ("setup", "setup show"),
        ("setup timezone UTC", "setup timezone"),
        ("setup name Hijacked", "setup name"),
        ("setup milestones digest", "setup milestones"),
    ] {
        let e = err(&app, &mo, line).await;
        assert_eq!(
            e,
            UserError::OrganiserOnly {
                command: command.into()
            },
            "{line}"
        );
        assert!(e.to_string().contains("is for organisers"), "{e}");
    }
    assert_eq!(before, snapshot(&app).await, "nothing was written");
    for (table, n) in [
        ("mission_versions", 2),
        ("goals", 1),
        ("milestones", 0),
        ("link_codes", 0),
    ] {
        let count: i64 = db::scalar(&app, &format!("SELECT count(*) FROM {table}"), &[]).await;
        assert_eq!(count, n, "{table}");
    }
    assert_eq!(
        scalar::<String>(&app, "SELECT status FROM goals WHERE slug = 'x'").await,
        "open"
    );

    // The same lines work for an organiser (so the refusals were about the role).
    ok(&app, &olga, "goal close x").await;
    ok(&app, &olga, "milestone add M at=5").await;
    ok(&app, &olga, "mission value remove v").await;
}

// ---------------------------------------------------------------------------
// 3. Concurrency: each milestone reached and announced exactly once
// ---------------------------------------------------------------------------

/// `n` members of workspace "forest", created before the race.
async fn members(app: &App, n: usize) -> Vec<Actor> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(actor(app, "forest", &format!("m{i:02}"), Role::Member).await);
    }
    out
}

/// Runs one line per actor, all at once; returns the replies.
async fn race(app: &App, actors: Vec<Actor>, line: impl Fn(usize) -> String) -> Vec<Reply> {
    let barrier = Arc::new(tokio::sync::Barrier::new(actors.len()));
    let tasks: Vec<_> = actors
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let (app, barrier, line) = (app.clone(), barrier.clone(), line(i));
            tokio::spawn(async move {
                barrier.wait().await;
                app.handle_line(&a, &line).await
            })
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.unwrap().expect("every contribution is recorded"));
    }
    replies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_contributing_at_once_reach_each_milestone_once() {
    let (dir, app, clock) = app().await;
    // A second Keel process on the same database, with its own contribution writer.
    let url = database::url(dir.path()).await;
    let other = App::new(
        Store::open(&StoreOptions::new(url)).await.unwrap(),
        clock.clone(),
    );
    let actors = members(&app, 50).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(actors.len()));
    let tasks: Vec<_> = actors
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let keel = if i % 2 == 0 {
                app.clone()
            } else {
                other.clone()
            };
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                keel.handle_line(&a, &format!("contribute Task number {i}"))
                    .await
            })
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.unwrap().expect("every contribution is recorded"));
    }

    assert_eq!(
        scalar::<i64>(&app, "SELECT count(*) FROM contributions").await,
        50
    );
    assert_eq!(
        scalar::<i64>(&app, "SELECT contribution_count FROM communities").await,
        50
    );
    // Each community milestone once, credited to the contribution that made it.
    for n in [1i64, 10, 25, 50] {
        let credited: Vec<Option<i64>> = db::scalars(
            &app,
            "SELECT contribution_id FROM milestone_achievements WHERE milestone_key = ? AND subject = 'community'",
            &[format!("community.count.{n}").into()],
        )
        .await;
        let nth = scalar_for::<i64>(
            &app,
            "SELECT id FROM contributions ORDER BY id LIMIT 1 OFFSET ? - 1",
            n,
        )
        .await;
        assert_eq!(credited, [Some(nth)], "community.count.{n}");
    }
    let achievements = scalar::<i64>(&app, "SELECT count(*) FROM milestone_achievements").await;
    assert_eq!(achievements, 54, "the community's 4 and everyone's first");
    assert_eq!(
        scalar::<i64>(
            &app,
            "SELECT count(*) FROM announcements WHERE kind = 'milestone'"
        )
        .await,
        achievements
    );
    for headline in [
        "🎉 The community logged its first contribution!",
        "🎉 The community reached 10 contributions!",
        "🎉 The community reached 25 contributions!",
        "🎉 The community reached 50 contributions!",
    ] {
        let heard = replies.iter().filter(|r| has_line(r, headline)).count();
        assert_eq!(heard, 1, "{headline}");
    }
    other.store().close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_contributions_reach_each_community_milestone_once() {
    let (_dir, app, _clock) = app().await;
    let actors = members(&app, 50).await;
    let replies = race(&app, actors, |i| format!("contribute Task number {i}")).await;

    assert_eq!(
        scalar::<i64>(&app, "SELECT count(*) FROM contributions").await,
        50
    );
    assert_eq!(
        scalar::<i64>(&app, "SELECT contribution_count FROM communities").await,
        50
    );
    let community: Vec<(String, i64)> = db::rows(
        &app,
        "SELECT milestone_key, count(*) FROM milestone_achievements WHERE subject = 'community'
         GROUP BY milestone_key ORDER BY min(id)",
        &[],
    )
    .await;
    assert_eq!(
        community,
        [
            ("community.count.1".to_string(), 1),
            ("community.count.10".to_string(), 1),
            ("community.count.25".to_string(), 1),
            ("community.count.50".to_string(), 1),
        ]
    );
    // Each crossing is credited to the contribution that made it.
    for n in [1i64, 10, 25, 50] {
        let credited: Option<i64> = db::scalar(
            &app,
            "SELECT contribution_id FROM milestone_achievements WHERE milestone_key = ? AND subject = 'community'",
            &[format!("community.count.{n}").into()],
        )
        .await;
        let nth = scalar_for::<i64>(
            &app,
            "SELECT id FROM contributions ORDER BY id LIMIT 1 OFFSET ? - 1",
            n,
        )
        .await;
        assert_eq!(credited, Some(nth), "community.count.{n}");
    }
    // Everyone's first contribution: 50 member milestones.
    assert_eq!(
        scalar::<i64>(
            &app,
            "SELECT count(DISTINCT subject) FROM milestone_achievements WHERE milestone_key = 'member.count.1'"
        )
        .await,
        50
    );
    // Exactly one announcement per achievement, and one delivery per workspace.
    let achievements = scalar::<i64>(&app, "SELECT count(*) FROM milestone_achievements").await;
    assert_eq!(achievements, 54);
    assert_eq!(
        scalar::<i64>(
            &app,
            "SELECT count(*) FROM announcements WHERE kind = 'milestone'"
        )
        .await,
        achievements
    );
    assert_eq!(
        scalar::<i64>(
            &app,
            "SELECT count(*) FROM milestone_achievements m
             WHERE (SELECT count(*) FROM announcements a WHERE a.achievement_id = m.id AND a.kind = 'milestone') <> 1"
        )
        .await,
        0
    );
    assert_eq!(
        scalar::<i64>(&app, "SELECT count(*) FROM announcement_deliveries").await,
        achievements
    );
    // And exactly one caller heard about each community milestone.
    for headline in [
        "🎉 The community logged its first contribution!",
        "🎉 The community reached 10 contributions!",
        "🎉 The community reached 25 contributions!",
        "🎉 The community reached 50 contributions!",
    ] {
        let heard = replies.iter().filter(|r| has_line(r, headline)).count();
        assert_eq!(heard, 1, "{headline}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_goal_contributions_reach_each_percentage_once() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    ok(&app, &olga, "goal create Trees target=500 slug=trees").await;
    let goal_id = scalar::<i64>(&app, "SELECT id FROM goals WHERE slug = 'trees'").await;
    let actors = members(&app, 60).await;
    let replies = race(&app, actors, |i| {
        format!("contribute Planted ten trees {i} amount=10 goal=trees")
    })
    .await;

    let goal: (f64, i64, Option<String>) = db::row(
        &app,
        "SELECT progress, contribution_count, met_at FROM goals WHERE id = ?",
        &[goal_id.into()],
    )
    .await;
    assert_eq!(goal, (600.0, 60, Some("2026-11-26T12:00:00.000Z".into())));
    let daily: (i64, f64) = db::row(
        &app,
        "SELECT contributions, amount FROM goal_daily_progress WHERE goal_id = ?",
        &[goal_id.into()],
    )
    .await;
    assert_eq!(daily, (60, 600.0));
    let reached: Vec<(String, i64)> = db::rows(
        &app,
        "SELECT milestone_key, count(*) FROM milestone_achievements WHERE subject = ?
         GROUP BY milestone_key ORDER BY min(id)",
        &[format!("goal:{goal_id}").into()],
    )
    .await;
    assert_eq!(
        reached,
        [
            ("goal.percent.25".to_string(), 1),
            ("goal.percent.50".to_string(), 1),
            ("goal.percent.75".to_string(), 1),
            ("goal.percent.100".to_string(), 1),
        ]
    );
    assert_eq!(
        scalar_for::<i64>(
            &app,
            "SELECT count(*) FROM announcements a JOIN milestone_achievements m ON m.id = a.achievement_id
             WHERE a.kind = 'milestone' AND m.goal_id = ?",
            goal_id
        )
        .await,
        4
    );
    // The 100 % milestone is credited to the 50th contribution to the goal.
    let credited = scalar_for::<Option<i64>>(
        &app,
        "SELECT contribution_id FROM milestone_achievements WHERE milestone_key = 'goal.percent.100' AND goal_id = ?",
        goal_id,
    )
    .await;
    let fiftieth = scalar::<i64>(
        &app,
        "SELECT id FROM contributions ORDER BY id LIMIT 1 OFFSET 49",
    )
    .await;
    assert_eq!(credited, Some(fiftieth));
    let heard = replies
        .iter()
        .filter(|r| has_line(r, "🎉 Goal met: Trees!"))
        .count();
    assert_eq!(heard, 1);
    assert_eq!(
        scalar::<i64>(&app, "SELECT contribution_count FROM communities").await,
        60
    );
}

/// Contributions are written in groups (one transaction, multi-row INSERTs). A
/// request the database rejects, here one for a member forgotten between
/// resolving the actor and writing (FOREIGN KEY), must fail alone, not take down
/// the contributions committed with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_contribution_does_not_fail_the_others_in_its_batch() {
    let (_dir, app, _clock) = app().await;
    let gone = actor(&app, "forest", "gone", Role::Member).await;
    let primer = actor(&app, "forest", "primer", Role::Member).await;
    let others = members(&app, 10).await;
    // Forgotten after the others joined: member ids are reused once the highest
    // is deleted, and then the stale actor would name someone else.
    ok(&app, &gone, "forget-me confirm").await;

    // Hold the writer so the contributions queue up and are committed together.
    let held = db::writer(&app).await;
    let first = {
        let app = app.clone();
        tokio::spawn(async move { app.handle_line(&primer, "contribute First").await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut tasks = Vec::new();
    for (i, a) in std::iter::once(gone).chain(others).enumerate() {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            app.handle_line(&a, &format!("contribute Batched {i}"))
                .await
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    held.commit().await;
    first.await.unwrap().unwrap();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    assert!(
        outcomes[0].is_err(),
        "the forgotten member's contribution fails"
    );
    let failed: Vec<_> = outcomes[1..].iter().filter(|o| o.is_err()).collect();
    assert!(failed.is_empty(), "others failed too: {failed:?}");
    assert_eq!(
        scalar::<i64>(&app, "SELECT count(*) FROM contributions").await,
        11
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_batch_numbers_each_contribution_and_credits_it_its_own_milestones() {
    let (_dir, app, _clock) = app().await;
    let actors = members(&app, 40).await;
    // Hold the writer so every contribution is written in one batch.
    let held = db::writer(&app).await;
    let mut tasks = Vec::new();
    for (i, a) in actors.into_iter().enumerate() {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            app.handle_line(
                &a,
                &format!("contribute Batched «{i}» 🌱 amount={} unit=trees", i + 1),
            )
            .await
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    held.commit().await;
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    // Each member's first-contribution milestone names that member's own row, and
    // the row holds exactly what they typed.
    let credited: Vec<(String, String, Option<f64>, String)> = db::rows(
        &app,
        "SELECT m.display_name, c.description, c.amount, c.unit FROM milestone_achievements a
         JOIN contributions c ON c.id = a.contribution_id JOIN members m ON m.id = a.member_id
         WHERE a.milestone_key = 'member.count.1' AND c.member_id = a.member_id ORDER BY m.display_name",
        &[],
    )
    .await;
    assert_eq!(
        credited.len(),
        40,
        "every milestone points at its member's contribution"
    );
    for (i, (name, description, amount, unit)) in credited.into_iter().enumerate() {
        assert_eq!(name, format!("m{i:02}"));
        assert_eq!(description, format!("Batched «{i}» 🌱"));
        assert_eq!(amount, Some(i as f64 + 1.0));
        assert_eq!(unit, "trees");
    }
    assert_eq!(
        scalar::<i64>(&app, "SELECT count(*) FROM contributions").await,
        40
    );
    let last_id = if database::postgres() {
        "SELECT last_value FROM contributions_id_seq"
    } else {
        "SELECT seq FROM sqlite_sequence WHERE name = 'contributions'"
    };
    assert_eq!(scalar::<i64>(&app, last_id).await, 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contribution_waits_out_another_process_holding_the_write_lock() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("keel.db").display());
    let mut options = StoreOptions::new(url.clone());
    // Shorter than the lock is held, so SQLite answers "busy" and Keel retries.
    options.busy_timeout = std::time::Duration::from_millis(50);
    let app = App::new(
        Store::open(&options).await.unwrap(),
        Arc::new(ManualClock::new(start())),
    );
    let member = actor(&app, "forest", "ana", Role::Member).await;
    ok(&app, &member, "contribute Before the lock").await;

    let mut other_process = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut other_process)
        .await
        .unwrap();
    let waiting = {
        let app = app.clone();
        tokio::spawn(async move { app.handle_line(&member, "contribute While locked").await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(
        !waiting.is_finished(),
        "answered before it could be written"
    );
    sqlx::raw_sql("COMMIT")
        .execute(&mut other_process)
        .await
        .unwrap();
    let reply = waiting.await.unwrap().unwrap();
    assert!(
        reply
            .title
            .as_deref()
            .is_some_and(|t| t.ends_with(" logged")),
        "{:?}",
        reply.title
    );
    assert_eq!(
        scalar::<i64>(&app, "SELECT count(*) FROM contributions").await,
        2
    );
}

// ---------------------------------------------------------------------------
// 4. forget-me leaves nothing that names the member
// ---------------------------------------------------------------------------

/// Columns that refer to a member row.
const MEMBER_COLUMNS: [&str; 6] = [
    "member_id",
    "from_member_id",
    "to_member_id",
    "author_member_id",
    "about_member_id",
    "created_by",
];

/// Every place in the database that still names a member: their id in a member
/// column, `member:<id>` as a milestone subject, or any of `texts` in any column.
async fn traces(app: &App, member: i64, texts: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    // Where text holds other text, in each engine's words.
    let find = if database::postgres() {
        "strpos"
    } else {
        "instr"
    };
    let subject = format!("member:{member}");
    for table in db::tables(app).await {
        for column in db::columns(app, &table).await {
            let mut hit = |what: &str, n: i64| {
                if n > 0 {
                    found.push(format!("{table}.{column}: {n} rows with {what}"));
                }
            };
            if MEMBER_COLUMNS.contains(&column.as_str()) {
                let n: i64 = db::scalar(
                    app,
                    &format!("SELECT count(*) FROM \"{table}\" WHERE \"{column}\" = ?"),
                    &[member.into()],
                )
                .await;
                hit("the member id", n);
            }
            let n: i64 = db::scalar(
                app,
                &format!("SELECT count(*) FROM \"{table}\" WHERE CAST(\"{column}\" AS TEXT) = ?"),
                &[(&subject).into()],
            )
            .await;
            hit(&subject, n);
            for text in texts {
                let n: i64 = db::scalar(
                    app,
                    &format!(
                    "SELECT count(*) FROM \"{table}\" WHERE {find}(lower(CAST(\"{column}\" AS TEXT)), lower(?)) > 0"
                ),
                    &[(*text).into()],
                )
                .await;
                hit(text, n);
            }
        }
    }
    found
}

#[tokio::test]
async fn forget_me_leaves_no_row_naming_the_member() {
    let (_dir, app, clock) = app().await;
    let zq_env = Envelope {
        user_id: "zebulon-quux-7".into(),
        user_name: "Zebulon-Quux".into(),
        ..env("forest", "", Role::Organiser)
    };
    let zq = app.actor(&zq_env).await.unwrap();
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let bob = actor(&app, "forest", "bob", Role::Member).await;
    let carol = actor(&app, "forest", "carol", Role::Member).await;
    let names = ["Zebulon-Quux", "zebulon-quux-7"];

    // Everything that can name her: authorship, goals, milestones, contributions
    // (with milestones and their announcements), kudos both ways, a link code.
    ok(&app, &zq, "mission set Grow a forest reason=\"because\"").await;
    ok(
        &app,
        &zq,
        "goal create Plant trees target=100 unit=trees slug=trees",
    )
    .await;
    ok(&app, &zq, "milestone add Nearly there at=90 goal=trees").await;
    ok(&app, &zq, "contribute Planted oaks amount=30 goal=trees").await;
    ok(&app, &zq, "contribute Watered oaks amount=5 goal=trees").await;
    ok(&app, &zq, "contribute Ran a workshop").await;
    ok(
        &app,
        &bob,
        "contribute Planted birches amount=10 goal=trees",
    )
    .await;
    ok(&app, &zq, "kudos @bob for the birches").await;
    ok(&app, &bob, "kudos @Zebulon-Quux for the oaks").await;
    ok(&app, &carol, "kudos @bob for the shed").await;
    // Dan's only activity is kudos from her: once she is gone, he was not active.
    ok(&app, &zq, "kudos @dan for the tea").await;
    let dan: i64 = scalar(&app, "SELECT id FROM members WHERE display_name = 'dan'").await;
    ok(&app, &zq, "away on").await;
    code_of(&ok(&app, &zq, "link").await);
    ok(&app, &olga, "mission set Grow a forest, together").await;

    let kudos_day = |member: i64| {
        let app = app.clone();
        async move {
            let row: (i64, i64) = db::row(
                &app,
                "SELECT kudos_given, kudos_received FROM member_daily_activity
                 WHERE member_id = ? AND day = '2026-11-26'",
                &[member.into()],
            )
            .await;
            row
        }
    };
    assert_eq!(kudos_day(bob.member.0).await, (1, 2));
    assert_eq!(
        scalar::<i64>(&app, "SELECT contribution_count FROM communities").await,
        4
    );
    assert_eq!(
        scalar::<f64>(&app, "SELECT progress FROM goals WHERE slug = 'trees'").await,
        45.0
    );
    let r = ok(&app, &olga, "stats").await;
    assert_line(&r, "Active today (DAU): 4");
    assert_line(&r, "Contributions: 4");
    assert_line(&r, "Kudos: 4");

    // The scan finds her everywhere before (so it would notice a leftover).
    let before = traces(&app, zq.member.0, &names).await;
    for place in [
        "members.display_name",
        "identities.external_user_id",
        "identities.member_id",
        "contributions.member_id",
        "kudos.from_member_id",
        "kudos.to_member_id",
        "mission_versions.author_member_id",
        "goals.created_by",
        "milestones.created_by",
        "milestone_achievements.member_id",
        "milestone_achievements.subject",
        "milestone_achievements.title",
        "announcements.about_member_id",
        "announcements.body",
        "member_daily_activity.member_id",
        "link_codes.member_id",
    ] {
        assert!(
            before.iter().any(|f| f.starts_with(&format!("{place}:"))),
            "the scan should see {place} before: {before:#?}"
        );
    }

    let r = ok(&app, &zq, "forget-me confirm").await;
    assert_has(&r, "Erased 3 contributions, 3 kudos and 1 linked accounts.");

    let after = traces(&app, zq.member.0, &names).await;
    assert!(after.is_empty(), "left behind: {after:#?}");

    // Aggregates follow: the community count, the goal and its daily rollup, and
    // the other side of her kudos.
    assert_eq!(
        scalar::<i64>(&app, "SELECT contribution_count FROM communities").await,
        1
    );
    let goal: (f64, i64) = db::row(
        &app,
        "SELECT progress, contribution_count FROM goals WHERE slug = 'trees'",
        &[],
    )
    .await;
    assert_eq!(goal, (10.0, 1));
    let daily: Vec<(String, i64, f64)> = db::rows(
        &app,
        "SELECT d.day, d.contributions, d.amount FROM goal_daily_progress d JOIN goals g ON g.id = d.goal_id
         WHERE g.slug = 'trees'",
        &[],
    )
    .await;
    assert_eq!(daily, [("2026-11-26".to_string(), 1, 10.0)]);
    assert_eq!(kudos_day(bob.member.0).await, (0, 1));
    assert_eq!(kudos_day(carol.member.0).await, (1, 0));
    // Other members' data is untouched.
    assert_eq!(
        scalar::<i64>(&app, "SELECT count(*) FROM contributions").await,
        1
    );
    assert_eq!(
        scalar::<String>(&app, "SELECT reason FROM kudos").await,
        "the shed"
    );
    assert_eq!(
        scalar::<i64>(&app, "SELECT count(*) FROM mission_versions").await,
        2
    );
    let r = ok(&app, &olga, "mission history").await;
    assert_has(&r, "Version 1 · a former member");
    assert_eq!(
        scalar_for::<i64>(
            &app,
            "SELECT count(*) FROM member_daily_activity WHERE member_id = ?",
            dan
        )
        .await,
        0
    );
    // Stats follow too: bob and carol are the only ones active.
    let r = ok(&app, &olga, "stats").await;
    assert_line(&r, "Active today (DAU): 2");
    assert_line(&r, "Active in 28 days (MAU): 2");
    assert_line(&r, "Contributions: 1");
    assert_line(&r, "Kudos: 1");
    assert_line(&r, "1. bob · 1 · 1 kudos");
    clock.advance(Duration::days(3));
    let r = ok(&app, &olga, "stats").await;
    assert_line(&r, "Active this week (WAU): 2");
    assert_line(&r, "Active in 28 days (MAU): 2");
}

/// Where `needle` occurs in the database file and its WAL, as the bytes on disk.
fn on_disk(dir: &TempDir, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for name in ["keel.db", "keel.db-wal"] {
        assert!(
            dir.path().join(name).exists() || name.ends_with("-wal"),
            "{name} is not there to scan"
        );
        let bytes = std::fs::read(dir.path().join(name)).unwrap_or_default();
        let hits = bytes
            .windows(needle.len())
            .filter(|w| *w == needle.as_bytes())
            .count();
        if hits > 0 {
            found.push(format!("{name}: {hits}"));
        }
    }
    found
}

/// R8: SQLite leaves a deleted row's bytes in the page's free space, on the
/// freelist and in older frames of the WAL. With secure_delete and the WAL emptied
/// once the member is gone, nothing of what they wrote is left in the files.
#[tokio::test]
async fn forget_me_leaves_none_of_their_text_in_the_database_file_or_its_wal() {
    let (dir, app, _clock) = app().await;
    let stay = actor(&app, "forest", "stay", Role::Member).await;
    let go = actor(&app, "forest", "zyzzyva", Role::Member).await;
    ok(&app, &stay, "contribute Watered the hedge").await;
    ok(&app, &go, "contribute Grafted the Quux-7741 quince tree").await;
    ok(&app, &go, "kudos @stay for the Quux-7741 hedge").await;
    ok(&app, &stay, "contribute Mulched the beds").await;
    assert!(
        !on_disk(&dir, "Quux-7741").is_empty(),
        "the scan should find the text before"
    );

    ok(&app, &go, "forget-me confirm").await;
    assert_eq!(on_disk(&dir, "Quux-7741"), Vec::<String>::new());
    assert_eq!(on_disk(&dir, "zyzzyva"), Vec::<String>::new());
    // What others wrote is still there.
    assert!(!on_disk(&dir, "Mulched the beds").is_empty());
}

// ---------------------------------------------------------------------------
// 5. Tenancy (T1): one community never sees or changes another's data
// ---------------------------------------------------------------------------

#[tokio::test]
async fn forget_me_takes_the_members_moments_out_of_activity_by_hour() {
    let (_dir, app, clock) = app().await;
    let stay = actor(&app, "forest", "stay", Role::Member).await;
    let go = actor(&app, "forest", "go", Role::Member).await;
    clock.set(start() - Duration::hours(3)); // 09:00 UTC
    ok(&app, &stay, "contribute Morning").await;
    ok(&app, &go, "contribute Morning too").await;
    clock.set(start() + Duration::hours(2)); // 14:00 UTC
    ok(&app, &go, "contribute Afternoon").await;
    ok(&app, &stay, "kudos @go for the afternoon").await;
    let hours = async |app: &App| -> Vec<(i64, i64)> {
        db::rows(
            app,
            "SELECT hour, CAST(SUM(events) AS BIGINT) FROM community_hourly_activity GROUP BY hour HAVING SUM(events) != 0 ORDER BY hour",
            &[],
        )
        .await
    };
    assert_eq!(hours(&app).await, vec![(9, 2), (14, 2)]);
    ok(&app, &go, "forget-me confirm").await;
    // Left: stay's morning contribution; the kudos went with `go`.
    assert_eq!(hours(&app).await, vec![(9, 1)]);
}

#[tokio::test]
async fn communities_cannot_read_or_change_each_other() {
    let (_dir, app, _clock) = app().await;
    let ann = actor(&app, "a", "ann", Role::Organiser).await;
    let alice = actor(&app, "a", "alice", Role::Member).await;
    let ben = actor(&app, "b", "ben", Role::Organiser).await;
    assert_ne!(ann.community, ben.community);

    ok(&app, &ann, "mission set Secret mission of a").await;
    ok(
        &app,
        &ann,
        "goal create Plant trees target=100 unit=trees slug=trees",
    )
    .await;
    ok(
        &app,
        &alice,
        "contribute Planted secret oaks amount=30 goal=trees",
    )
    .await;
    ok(&app, &alice, "contribute Hidden workshop").await;
    let a_count = || {
        let (app, community) = (app.clone(), ann.community.0);
        async move {
            scalar_for::<i64>(
                &app,
                "SELECT count(*) FROM contributions WHERE community_id = ?",
                community,
            )
            .await
        }
    };
    assert_eq!(a_count().await, 2);

    let e = err(&app, &ben, "goal show trees").await;
    assert!(matches!(e, UserError::NotFound { .. }), "{e:?}");

    let e = err(&app, &ben, "contribute x goal=trees").await;
    assert!(matches!(e, UserError::NotFound { .. }), "{e:?}");
    assert_eq!(
        scalar_for::<i64>(
            &app,
            "SELECT count(*) FROM contributions WHERE community_id = ?",
            ben.community.0
        )
        .await,
        0
    );
    assert_eq!(
        scalar::<f64>(&app, "SELECT progress FROM goals WHERE slug = 'trees'").await,
        30.0
    );

    // Naming a's alice from b finds nobody (or, at most, someone of b's own).
    match app.handle_line(&ben, "contributions @alice").await {
        Ok(r) => {
            assert_has(&r, "(0 in all)");
            assert_lacks(&r, "secret");
            assert_lacks(&r, "Hidden");
        }
        Err(e) => {
            assert!(matches!(e, UserError::NotFound { .. }), "{e:?}");
            assert!(!e.to_string().contains("secret"), "{e}");
        }
    }
    // Kudos on the console makes an alice of b's own; her contributions are b's.
    ok(&app, &ben, "kudos @alice for joining").await;
    let r = ok(&app, &ben, "contributions @alice").await;
    assert_has(&r, "Contributions by alice (0 in all)");
    assert_lacks(&r, "secret");
    assert_lacks(&r, "Hidden");
    let b_alice: (i64, i64) = db::row(
        &app,
        "SELECT id, community_id FROM members WHERE display_name = 'alice' AND id <> ?",
        &[alice.member.into()],
    )
    .await;
    assert_eq!(b_alice.1, ben.community.0);
    // a's alice was not touched by b's kudos.
    assert_eq!(
        scalar_for::<i64>(
            &app,
            "SELECT count(*) FROM kudos WHERE to_member_id = ?",
            alice.member.0
        )
        .await,
        0
    );

    let r = ok(&app, &ben, "stats").await;
    assert_line(&r, "Contributions: 0");
    // Active: ben and b's own alice, through the kudos; none of a's members.
    assert_line(&r, "Active in 28 days (MAU): 2");
    assert_line(&r, "Kudos: 1");
    assert_lacks(&r, "Plant trees");
    assert_lacks(&r, "alice");

    let r = ok(&app, &ben, "mission show").await;
    assert_has(&r, "No mission yet");
    let r = ok(&app, &ben, "goal list").await;
    assert_has(&r, "No open goals");
    let r = ok(&app, &ben, "milestone list").await;
    assert_has(&r, "None reached yet");

    for line in ["export", "export format=json"] {
        let r = ok(&app, &ben, line).await;
        assert_has(&r, "0 contributions");
        let bytes = String::from_utf8(r.attachments[0].contents().unwrap()).unwrap();
        for secret in ["secret", "Hidden", "Secret mission", "trees"] {
            assert!(!bytes.contains(secret), "{line} leaked {secret}:\n{bytes}");
        }
    }

    let e = err(&app, &ben, "goal close trees").await;
    assert!(matches!(e, UserError::NotFound { .. }), "{e:?}");
    assert_eq!(
        scalar::<String>(&app, "SELECT status FROM goals WHERE slug = 'trees'").await,
        "open"
    );
    let e = err(&app, &ben, "milestone add M at=5 goal=trees").await;
    assert!(matches!(e, UserError::NotFound { .. }), "{e:?}");
    assert_eq!(
        scalar::<i64>(&app, "SELECT count(*) FROM milestones").await,
        0
    );

    // b can use the same slug for its own goal; a's is unaffected.
    ok(&app, &ben, "goal create Plant b trees target=5 slug=trees").await;
    ok(&app, &ben, "contribute b's planting amount=5 goal=trees").await;
    assert_eq!(
        scalar_for::<f64>(
            &app,
            "SELECT progress FROM goals WHERE slug = 'trees' AND community_id = ?",
            ann.community.0
        )
        .await,
        30.0
    );

    // An identity code from a cannot join a member of b.
    let code = code_of(&ok(&app, &alice, "link").await);
    let e = err(&app, &ben, &format!("link {code}")).await;
    assert!(e.to_string().contains("another community"), "{e}");
    assert_eq!(
        scalar_for::<i64>(
            &app,
            "SELECT count(*) FROM identities WHERE member_id = ?",
            alice.member.0
        )
        .await,
        1
    );
    assert_eq!(a_count().await, 2);
}

// ---------------------------------------------------------------------------
// 6. Bad input
// ---------------------------------------------------------------------------

#[tokio::test]
async fn bad_text_is_refused_with_the_reason_and_nothing_is_written() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    actor(&app, "forest", "bob", Role::Member).await;
    let before = snapshot(&app).await;

    let long = "x".repeat(10_000);
    for verb in ["contribute", "mission set", "kudos @bob for"] {
        for (text, expected) in [
            (long.as_str(), "characters long"),
            ("planted\u{0}trees", "control character (U+0000)"),
            ("abc\u{202E}fed", "direction-changing character (U+202E)"),
            ("tab\u{7}bell", "control character (U+0007)"),
        ] {
            let line = format!("{verb} {text}");
            let e = err(&app, &olga, &line).await;
            let shown = e.to_string();
            assert!(
                shown.contains(expected),
                "{verb} with {expected}: got {shown:?}"
            );
            assert!(!matches!(e, UserError::Internal { .. }), "{e:?}");
        }
    }
    // Each field's own limit, below the line limit.
    for (line, expected) in [
        (
            format!("contribute {}", "y".repeat(501)),
            "The description is 501 characters long; the limit is 500.",
        ),
        (
            format!("mission set {}", "y".repeat(1001)),
            "The mission statement is 1001 characters long; the limit is 1000.",
        ),
        (
            format!("kudos @bob for {}", "y".repeat(301)),
            "The reason is 301 characters long; the limit is 300.",
        ),
    ] {
        let e = err(&app, &olga, &line).await;
        assert!(e.to_string().contains(expected), "{e}");
    }
    // Empty.
    for (line, expected) in [
        ("contribute", "Missing what you did."),
        ("contribute    ", "Missing what you did."),
        ("contribute amount=4", "Missing what you did."),
        ("mission set", "Missing the mission statement."),
        (
            "mission set reason=\"why\"",
            "Missing the mission statement.",
        ),
        ("kudos", "Missing who the kudos are for."),
    ] {
        let e = err(&app, &olga, line).await;
        assert!(matches!(e, UserError::Syntax { .. }), "{line}: {e:?}");
        assert!(e.to_string().contains(expected), "{line}: {e}");
    }
    assert_eq!(before, snapshot(&app).await, "nothing was written");
}

#[tokio::test]
async fn mentions_and_unusual_unicode_are_kept_exactly_as_typed() {
    let (_dir, app, clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    actor(&app, "forest", "bob", Role::Member).await;
    let texts = [
        "@everyone and @here look",
        "<!channel> <!here> <@U123> <#C42> <@&99>",
        "Family planting 👩‍👩‍👧‍👦 and 🏳️‍🌈 flags",
        "Cafe\u{301} re\u{301}sume\u{301} Z\u{351}\u{362}a\u{334}lgo",
        "زرعنا أربعين شجرة في الحديقة",
        "Hebrew \u{200F}שלום\u{200E} with plain direction marks",
    ];
    for (i, text) in texts.iter().enumerate() {
        let r = ok(&app, &olga, &format!("contribute {text}")).await;
        assert_line(&r, &format!("“{text}”"));
        let stored: String = db::scalar(
            &app,
            "SELECT description FROM contributions ORDER BY id DESC LIMIT 1",
            &[],
        )
        .await;
        assert_eq!(stored, *text, "contribution {i}");

        let r = ok(&app, &olga, &format!("mission set {text}")).await;
        assert_line(&r, text);
        let stored: String = db::scalar(
            &app,
            "SELECT statement FROM mission_versions ORDER BY version DESC LIMIT 1",
            &[],
        )
        .await;
        assert_eq!(stored, *text, "statement {i}");

        // A day apart: the same member is thanked once a day at most.
        clock.advance(Duration::days(1));
        let r = ok(&app, &olga, &format!("kudos @bob for {text}")).await;
        assert_line(&r, &format!("olga thanks bob for {text}"));
        let stored: String = db::scalar(
            &app,
            "SELECT reason FROM kudos ORDER BY id DESC LIMIT 1",
            &[],
        )
        .await;
        assert_eq!(stored, *text, "kudos {i}");
    }
    let r = ok(&app, &olga, "contributions").await;
    for text in &texts {
        assert_has(&r, text);
    }
}

#[tokio::test]
async fn malformed_lines_get_a_syntax_error_with_the_right_form() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let before = snapshot(&app).await;

    let e = err(&app, &olga, "goal create Plant trees").await;
    assert!(matches!(e, UserError::Syntax { .. }), "{e:?}");
    let shown = e.to_string();
    assert!(shown.contains("Missing target=N"), "{shown}");
    assert!(shown.contains("goal create <title> target="), "{shown}");

    for (line, expected) in [
        (
            "contribute Planted trees colour=red",
            "Unknown option `colour`",
        ),
        (
            "contribute Planted trees amount=lots",
            "`lots` is not a number",
        ),
        ("contribute x amount=1 amount=2", "given twice"),
        ("mission set \"unclosed", "not closed"),
        ("frobnicate", "not a Keel command"),
        ("", "no command"),
        ("goal frob", "not a goal command"),
        ("milestone add M", "Missing at=N"),
    ] {
        let e = err(&app, &olga, line).await;
        assert!(
            matches!(e, UserError::Syntax { .. } | UserError::Invalid { .. }),
            "{line}: {e:?}"
        );
        assert!(e.to_string().contains(expected), "{line}: {e}");
    }
    assert_eq!(before, snapshot(&app).await, "nothing was written");
}

// ---------------------------------------------------------------------------
// Stats stay exact through every kind of change
// ---------------------------------------------------------------------------

/// A small deterministic generator, so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

/// Activity per member and day, from the base tables alone (PRODUCT.md: a
/// contribution, or kudos given or received), never from Keel's rollups.
const ACTIVITY: &str = "WITH act (member_id, day) AS (
        SELECT member_id, happened_on FROM contributions WHERE community_id = ?1
        UNION ALL SELECT from_member_id, substr(created_at, 1, 10) FROM kudos WHERE community_id = ?1
        UNION ALL SELECT to_member_id, substr(created_at, 1, 10) FROM kudos WHERE community_id = ?1)";

/// What `stats` must show for the window `[from, to]`, recounted from the
/// contributions and kudos tables with PRODUCT.md's definitions.
async fn recount(app: &App, community: i64, from: NaiveDate, to: NaiveDate) -> Vec<String> {
    let d = |x: NaiveDate| x.format("%Y-%m-%d").to_string();
    let (dau, wau, mau): (i64, i64, i64) = db::row(
        app,
        &format!(
            "{ACTIVITY} SELECT count(DISTINCT CASE WHEN day = ?4 THEN member_id END),
                count(DISTINCT CASE WHEN day >= ?3 THEN member_id END),
                count(DISTINCT member_id)
         FROM act WHERE day BETWEEN ?2 AND ?4"
        ),
        &[
            community.into(),
            d(to - Days::new(27)).into(),
            d(to - Days::new(6)).into(),
            d(to).into(),
        ],
    )
    .await;
    let member_days: i64 = db::scalar(
        app,
        &format!(
        "{ACTIVITY} SELECT count(*) FROM (SELECT DISTINCT member_id, day FROM act WHERE day BETWEEN ?2 AND ?3) AS member_days"
    ),
        &[community.into(), d(from).into(), d(to).into()],
    )
    .await;
    let (contributions, kudos): (i64, i64) = db::row(
        app,
        "SELECT (SELECT count(*) FROM contributions WHERE community_id = ?1 AND happened_on BETWEEN ?2 AND ?3),
                (SELECT count(*) FROM kudos WHERE community_id = ?1 AND substr(created_at, 1, 10) BETWEEN ?2 AND ?3)",
        &[community.into(), d(from).into(), d(to).into()],
    )
    .await;
    let top: Vec<(String, i64, i64)> = db::rows(
        app,
        "SELECT m.display_name, c.n,
                (SELECT count(*) FROM kudos k WHERE k.to_member_id = c.member_id
                 AND substr(k.created_at, 1, 10) BETWEEN ?2 AND ?3) AS k
         FROM (SELECT member_id, count(*) AS n FROM contributions
               WHERE community_id = ?1 AND happened_on BETWEEN ?2 AND ?3 GROUP BY member_id) c
         JOIN members m ON m.id = c.member_id
         ORDER BY c.n DESC, k DESC, c.member_id LIMIT 5",
        &[community.into(), d(from).into(), d(to).into()],
    )
    .await;
    let days = (to - from).num_days() + 1;
    let stickiness = if mau > 0 {
        format!(
            "{}%",
            (member_days as f64 / days as f64 / mau as f64 * 100.0).round()
        )
    } else {
        "–".to_string()
    };
    let mut lines = vec![
        format!("Active today (DAU): {dau}"),
        format!("Active this week (WAU): {wau}"),
        format!("Active in 28 days (MAU): {mau}"),
        format!("Stickiness (mean DAU ÷ MAU): {stickiness}"),
        format!("Contributions: {contributions}"),
        format!("Kudos: {kudos}"),
    ];
    for (i, (name, c, k)) in top.iter().enumerate() {
        let k = if *k > 0 {
            format!(" · {k} kudos")
        } else {
            String::new()
        };
        lines.push(format!("{}. {name} · {c}{k}", i + 1));
    }
    lines
}

/// The figures and top-contributor lines of a stats reply, in recount order.
fn shown(reply: &Reply) -> Vec<String> {
    let text = reply.plain();
    let figures = [
        "Active today (DAU): ",
        "Active this week (WAU): ",
        "Active in 28 days (MAU): ",
        "Stickiness (mean DAU ÷ MAU): ",
        "Contributions: ",
        "Kudos: ",
    ];
    let mut out: Vec<String> = figures
        .iter()
        .filter_map(|f| text.lines().find(|l| l.starts_with(f)).map(str::to_string))
        .collect();
    out.extend(
        text.lines()
            .filter(|l| {
                l.split_once(". ")
                    .is_some_and(|(n, _)| n.parse::<u32>().is_ok())
            })
            .map(str::to_string),
    );
    out
}

/// Contributions (some backdated), kudos, forgetting and merging members, days
/// with and without activity and a long gap, with `stats` asked now and then for
/// standard and other windows: every time, the figures shown equal a recount
/// from the contributions and kudos tables. `KEEL_SEED=n` replays another run.
#[tokio::test]
async fn stats_match_a_recount_after_every_kind_of_change() {
    let (_dir, app, clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let code = code_of(&ok(&app, &olga, "link community").await);
    let dora = app
        .actor(&discord("G1", "1", "dora", Role::Organiser))
        .await
        .unwrap();
    ok(&app, &dora, &format!("link {code}")).await;
    let console: Vec<Envelope> = (0..6)
        .map(|i| env("forest", &format!("m{i}"), Role::Member))
        .collect();
    let discords: Vec<Envelope> = (0..3)
        .map(|i| discord("G1", &format!("10{i}"), &format!("d{i}"), Role::Member))
        .collect();
    let everyone: Vec<&Envelope> = console.iter().chain(discords.iter()).collect();
    let community = olga.community.0;
    let seed = std::env::var("KEEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let mut rng = Lcg(seed);
    let mut tally = Tally::default();
    let periods = [7u64, 28, 30, 90, 10, 1];

    for step in 0..70u64 {
        let today = app.today();
        for _ in 0..rng.next(4) {
            let who = app.actor(everyone[rng.next(9) as usize]).await.unwrap();
            let back = match rng.next(8) {
                0 => rng.next(91),
                1 | 2 => rng.next(12),
                _ => 0,
            };
            let on = today - Days::new(back);
            ok(&app, &who, &format!("contribute Task {step} date={on}")).await;
            tally.contributions += 1;
        }
        if rng.next(2) == 0 {
            let from = app.actor(everyone[rng.next(9) as usize]).await.unwrap();
            let to_env = everyone[rng.next(9) as usize];
            let to = app.actor(to_env).await.unwrap();
            if from.member != to.member {
                // Name the recipient as a platform would: a mention in the same
                // workspace, else the display name (refused if ambiguous).
                let mention = if from.workspace == to.workspace {
                    format!("<@{}>", to_env.user_id)
                } else {
                    format!("@{}", to.display_name)
                };
                match app
                    .handle_line(&from, &format!("kudos {mention} for step {step}"))
                    .await
                {
                    Ok(_) => tally.kudos += 1,
                    Err(UserError::Invalid { .. }) => {}
                    Err(e) => panic!("kudos: {e:?}"),
                }
            }
        }
        if rng.next(12) == 0 {
            let who = app.actor(everyone[rng.next(9) as usize]).await.unwrap();
            ok(&app, &who, "forget-me confirm").await;
            tally.forgotten += 1;
        }
        if rng.next(9) == 0 {
            let into = app.actor(everyone[rng.next(9) as usize]).await.unwrap();
            let from = app.actor(everyone[rng.next(9) as usize]).await.unwrap();
            let code = code_of(&ok(&app, &into, "link").await);
            match app.handle_line(&from, &format!("link {code}")).await {
                Ok(_) => tally.merged += 1,
                Err(UserError::Conflict { .. }) => {}
                Err(e) => panic!("link: {e:?}"),
            }
        }
        if rng.next(3) == 0 || step == 69 {
            let days = periods[rng.next(periods.len() as u64) as usize];
            let r = ok(&app, &olga, &format!("stats period={days}d")).await;
            tally.checks += 1;
            let from = today - Days::new(days - 1);
            assert_eq!(
                shown(&r),
                recount(&app, community, from, today).await,
                "step {step}, {days} days to {today}:\n{}",
                r.plain()
            );
        }
        let jump = match rng.next(20) {
            0 => 35,
            1..=3 => 3,
            _ => 1,
        };
        clock.advance(Duration::days(jump));
    }
    let today = app.today();
    for days in periods {
        let r = ok(&app, &olga, &format!("stats period={days}d")).await;
        let from = today - Days::new(days - 1);
        assert_eq!(
            shown(&r),
            recount(&app, community, from, today).await,
            "final, {days} days:\n{}",
            r.plain()
        );
    }
    eprintln!("{tally:?}");
    // The run did each kind of change (so the comparison covered them).
    assert!(
        tally.contributions > 50
            && tally.kudos > 10
            && tally.forgotten > 1
            && tally.merged > 1
            && tally.checks > 10,
        "{tally:?}"
    );
}

#[derive(Debug, Default)]
struct Tally {
    contributions: u32,
    kudos: u32,
    forgotten: u32,
    merged: u32,
    checks: u32,
}

// ---------------------------------------------------------------------------
// Known bugs (kept as tests, ignored until fixed)
// ---------------------------------------------------------------------------

/// BUG in src/store/forget.rs (`forget_member` / `recount_goal`): after forget-me
/// the goal's progress and counts are recomputed without the member, but
/// `goals.met_at` is left as it was, so a goal whose target is no longer met still
/// shows "target met" (and would count as met for the goal-achievement rate),
/// although forget-me promises "Goals and totals are recounted without them".
#[tokio::test]
async fn forget_me_recounts_whether_a_goal_is_met() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let alice = actor(&app, "forest", "alice", Role::Member).await;
    ok(
        &app,
        &olga,
        "goal create Trees target=40 unit=trees slug=trees",
    )
    .await;
    let r = ok(
        &app,
        &alice,
        "contribute Planted 40 oaks amount=40 goal=trees",
    )
    .await;
    assert_line(&r, "🎉 Goal met: Trees!");
    assert_line(
        &ok(&app, &olga, "goal show trees").await,
        "Status: open · target met",
    );
    ok(&app, &alice, "forget-me confirm").await;
    let r = ok(&app, &olga, "goal show trees").await;
    assert_line(&r, "▱▱▱▱▱▱▱▱▱▱ 0 / 40 trees (0%)");
    assert_line(&r, "Status: open");
    assert_eq!(
        scalar::<Option<String>>(&app, "SELECT met_at FROM goals WHERE slug = 'trees'").await,
        None
    );
}

/// BUG in src/store/contributions.rs (goal progress is a running REAL sum) and
/// src/domain/milestones.rs (`goal_percents_crossed` compares exactly): amounts
/// that are not exact in binary drift. Ten contributions of 0.1 towards a target
/// of 1 add up to 0.9999999999999999, so the goal shows "1 / 1 (99%)", is never
/// met, and "Goal met" is never announced.
#[tokio::test]
async fn decimal_amounts_that_reach_the_target_meet_the_goal() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    ok(
        &app,
        &olga,
        "goal create Ten tenths target=1 unit=hours slug=tenths",
    )
    .await;
    let mut heard = 0;
    for _ in 0..10 {
        let r = ok(&app, &olga, "contribute A tenth amount=0.1 goal=tenths").await;
        heard += usize::from(has_line(&r, "🎉 Goal met: Ten tenths!"));
    }
    let r = ok(&app, &olga, "goal show tenths").await;
    assert_line(&r, "▰▰▰▰▰▰▰▰▰▰ 1 / 1 hours (100%)");
    assert_line(&r, "Status: open · target met");
    assert_eq!(heard, 1);
}

/// The id of the contribution with this text.
async fn contribution_id(app: &App, text: &str) -> i64 {
    db::scalar(
        app,
        "SELECT id FROM contributions WHERE description = ?",
        &[text.into()],
    )
    .await
}

#[tokio::test]
async fn a_removed_contribution_leaves_the_goal_as_before_and_retracts_what_it_alone_reached() {
    let (_dir, app, clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let ada = actor(&app, "forest", "ada", Role::Member).await;
    let bob = actor(&app, "forest", "bob", Role::Member).await;
    ok(
        &app,
        &olga,
        "goal create Plant 100 trees target=100 unit=trees slug=trees",
    )
    .await;
    ok(&app, &ada, "contribute Real planting amount=30 goal=trees").await;
    let r = ok(
        &app,
        &bob,
        "contribute Fake giant amount=999999999 goal=trees",
    )
    .await;
    assert_has(&r, "Goal met: Plant 100 trees!");
    let fake = contribution_id(&app, "Fake giant").await;
    let goal = |app: &App| {
        let app = app.clone();
        async move {
            db::row::<(f64, i64, Option<String>)>(
                &app,
                "SELECT progress, contribution_count, met_at FROM goals WHERE slug = 'trees'",
                &[],
            )
            .await
        }
    };
    assert!(goal(&app).await.2.is_some(), "the fake met the goal");

    // A member may not remove someone else's; an id that is not there is named.
    let e = err(
        &app,
        &ada,
        &format!(r#"contribution remove #{fake} reason="mine now""#),
    )
    .await;
    assert!(
        e.to_string().contains(&format!("#{fake} is not yours")),
        "{e}"
    );
    let e = err(&app, &olga, r#"contribution remove #99999 reason="gone""#).await;
    assert!(matches!(e, UserError::NotFound { .. }), "{e:?}");
    let e = err(&app, &olga, &format!("contribution remove {fake}")).await;
    assert!(e.to_string().contains("reason="), "{e}");

    let r = ok(
        &app,
        &olga,
        &format!(r#"contributions remove {fake} reason="Not a real planting""#),
    )
    .await;
    assert_has(&r, &format!("Contribution #{fake} removed"));
    assert_has(
        &r,
        "“Fake giant” (999,999,999 trees · goal trees) on 2026-11-26",
    );
    // 50%, 75%, the goal met, and bob's first contribution (now he has none).
    let retracted: Vec<&str> = r
        .plain()
        .lines()
        .filter(|l| l.starts_with("Milestone retracted"))
        .map(|l| &*l.to_string().leak())
        .collect();
    assert_eq!(retracted.len(), 4, "{}", r.plain());
    for what in ["50%", "75%", "Goal met", "first contribution"] {
        assert!(
            retracted.iter().any(|l| l.contains(what)),
            "{what} retracted:\n{}",
            r.plain()
        );
    }
    assert_lacks(&r, "25%");
    assert_has(&r, "told privately");
    assert_eq!(goal(&app).await, (30.0, 1, None));
    // The 25% that real contributions reached stays; the fake's went.
    let kept: Vec<String> = db::scalars(
        &app,
        "SELECT milestone_key FROM milestone_achievements WHERE subject LIKE 'goal:%' ORDER BY 1",
        &[],
    )
    .await;
    assert_eq!(kept, ["goal.percent.25"]);
    // Bob is told privately, with the reason.
    let told: Vec<(String, String)> = db::rows(
        &app,
        "SELECT d.recipient, a.body FROM announcement_deliveries d
         JOIN announcements a ON a.id = d.announcement_id WHERE d.recipient IS NOT NULL",
        &[],
    )
    .await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].0, "bob");
    assert!(told[0].1.contains("Not a real planting"), "{}", told[0].1);

    // Real contributions reach the retracted milestones again, and announce them.
    let r = ok(
        &app,
        &ada,
        "contribute Big planting day amount=70 goal=trees",
    )
    .await;
    assert_has(&r, "🎉 Plant 100 trees is 75% of the way there!");
    assert_has(&r, "🎉 Goal met: Plant 100 trees!");
    assert_eq!(goal(&app).await.0, 100.0);

    // The audit trail: organisers only, newest first, with the reason.
    let e = err(&app, &ada, "audit").await;
    assert!(matches!(e, UserError::OrganiserOnly { .. }), "{e:?}");
    let r = ok(&app, &olga, "audit").await;
    assert!(r.is_private());
    assert_has(
        &r,
        &format!(
            "olga removed contribution #{fake} of bob: was “Fake giant” (999,999,999 trees) on 2026-11-26 · reason: Not a real planting"
        ),
    );
    assert_has(&r, "olga retracted a milestone of bob");
    let r = ok(&app, &olga, "audit member=@ada period=7d").await;
    assert_has(&r, "None.");

    // A member removes their own within 7 days of logging it, not after.
    ok(&app, &ada, "contribute Watered saplings").await;
    let watered = contribution_id(&app, "Watered saplings").await;
    clock.advance(Duration::days(8));
    let e = err(
        &app,
        &ada,
        &format!(r#"contribution remove #{watered} reason="typo""#),
    )
    .await;
    assert!(e.to_string().contains("more than 7 days ago"), "{e}");
    let real = contribution_id(&app, "Big planting day").await;
    clock.advance(Duration::days(-8));
    let r = ok(
        &app,
        &ada,
        &format!(r#"contribution remove #{real} reason="wrong goal""#),
    )
    .await;
    assert_lacks(&r, "told privately");
    assert_eq!(goal(&app).await, (30.0, 1, None));

    // forget-me: bob's own entries go; where olga acted, she is a former member
    // and her reasons go.
    ok(&app, &ada, "contribute Duplicate entry").await;
    let duplicate = contribution_id(&app, "Duplicate entry").await;
    ok(
        &app,
        &olga,
        &format!(r#"contribution remove #{duplicate} reason="logged twice""#),
    )
    .await;
    ok(&app, &bob, "forget-me confirm").await;
    let r = ok(&app, &olga, "audit").await;
    assert_lacks(&r, "Fake giant");
    assert_lacks(&r, "of bob");
    assert_has(&r, "olga removed contribution");
    ok(&app, &olga, "forget-me confirm").await;
    let tom = actor(&app, "forest", "tom", Role::Organiser).await;
    let r = ok(&app, &tom, "audit").await;
    assert_has(
        &r,
        &format!(
            "a former member removed contribution #{duplicate} of ada: was “Duplicate entry” on 2026-11-26"
        ),
    );
    assert_lacks(&r, "logged twice");
    assert_has(&r, "reason: wrong goal");
    assert_eq!(
        scalar::<i64>(
            &app,
            "SELECT count(*) FROM record_changes WHERE reason = 'logged twice'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn kudos_remove_takes_kudos_out_of_both_sides_and_tells_them_why() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let ada = actor(&app, "forest", "ada", Role::Member).await;
    let bob = actor(&app, "forest", "bob", Role::Member).await;
    ok(&app, &bob, "contribute Watered the hazels").await;
    let before = kudos_figures(&app).await;
    assert!(before.contains("## community_hourly_activity"), "{before}");
    ok(&app, &ada, "kudos @bob for the hazels").await;
    let id: i64 = scalar(&app, "SELECT id FROM kudos").await;
    let r = ok(&app, &bob, "stats me").await;
    assert_has(&r, "Kudos received: 1");

    let e = err(&app, &ada, &format!(r#"kudos remove #{id} reason="oops""#)).await;
    assert!(matches!(e, UserError::OrganiserOnly { .. }), "{e:?}");
    let e = err(&app, &olga, r#"kudos remove #99999 reason="gone""#).await;
    assert!(matches!(e, UserError::NotFound { .. }), "{e:?}");
    assert!(e.to_string().contains("kudos #99999"), "{e}");

    let r = ok(
        &app,
        &olga,
        &format!(r#"kudos remove {id} reason="thanked the wrong Bob""#),
    )
    .await;
    assert!(r.is_private());
    assert_has(&r, &format!("Kudos #{id} removed"));
    assert_has(&r, "ada thanked bob for the hazels on 2026-11-26");
    assert_has(&r, "both are told privately");
    // Every figure is as it was before the kudos: both members' days, the
    // community's, the activity by hour, window totals.
    assert_eq!(kudos_figures(&app).await, before);
    let r = ok(&app, &bob, "stats me").await;
    assert_has(&r, "Kudos received: 0");
    let r = ok(&app, &ada, "stats me").await;
    assert_has(&r, "Kudos given: 0");
    let e = err(
        &app,
        &olga,
        &format!(r#"kudos remove #{id} reason="again""#),
    )
    .await;
    assert!(matches!(e, UserError::NotFound { .. }), "{e:?}");

    // Both are told privately, with the reason.
    let told: Vec<(String, String)> = db::rows(
        &app,
        "SELECT d.recipient, a.body FROM announcement_deliveries d
         JOIN announcements a ON a.id = d.announcement_id WHERE d.recipient IS NOT NULL ORDER BY d.recipient",
        &[],
    )
    .await;
    assert_eq!(told.len(), 2, "{told:?}");
    assert_eq!(told[0].0, "ada");
    assert!(
        told[0]
            .1
            .contains(&format!("Your kudos #{id} to bob was removed")),
        "{}",
        told[0].1
    );
    assert_eq!(told[1].0, "bob");
    assert!(
        told[1]
            .1
            .contains(&format!("Kudos #{id} from ada to you was removed")),
        "{}",
        told[1].1
    );
    assert!(told[1].1.contains("thanked the wrong Bob"), "{}", told[1].1);

    // An organiser removing kudos they gave is not told about it.
    ok(&app, &olga, "kudos @bob for the compost").await;
    let own: i64 = scalar(&app, "SELECT id FROM kudos").await;
    ok(
        &app,
        &olga,
        &format!(r#"kudos remove #{own} reason="mine, twice""#),
    )
    .await;
    assert_eq!(
        scalar::<i64>(
            &app,
            "SELECT count(*) FROM announcement_deliveries WHERE recipient IS NOT NULL"
        )
        .await,
        3
    );

    // The audit trail names both; either one's entry goes at their forget-me.
    let r = ok(&app, &olga, "audit").await;
    assert_has(
        &r,
        &format!(
            "olga removed kudos #{id} from ada to bob: was for “the hazels” on 2026-11-26 · reason: thanked the wrong Bob"
        ),
    );
    let r = ok(&app, &olga, "audit member=@ada").await;
    assert_has(&r, &format!("removed kudos #{id}"));
    ok(&app, &ada, "forget-me confirm").await;
    let r = ok(&app, &olga, "audit").await;
    assert_lacks(&r, &format!("kudos #{id}"));
    assert_has(&r, &format!("olga removed kudos #{own} from olga to bob"));
}

// ---------------------------------------------------------------------------
// Fair play: the kudos allowance
// ---------------------------------------------------------------------------

#[tokio::test]
async fn kudos_allowance_refuses_with_when_the_next_kudos_is_possible() {
    let (_dir, app, clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let alice = actor(&app, "forest", "alice", Role::Member).await;
    actor(&app, "forest", "carol", Role::Member).await;
    ok(&app, &alice, "kudos @bob for the oaks").await;

    // The same member, once a day: refused until 24 hours after the last.
    clock.advance(Duration::hours(23));
    let before = snapshot(&app).await;
    let e = err(&app, &alice, "kudos @bob for the birches").await;
    assert!(matches!(e, UserError::Invalid { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "You thanked bob less than a day ago: the same member can be thanked once a day. \
         You can thank bob again from 2026-11-27 12:00 UTC."
    );
    assert_eq!(before, snapshot(&app).await, "nothing was written");
    // In the community's time zone.
    ok(&app, &olga, "setup timezone Europe/Paris").await;
    let e = err(&app, &alice, "kudos @bob for the birches").await;
    assert!(
        e.to_string().contains("again from 2026-11-27 13:00 CET."),
        "{e}"
    );
    clock.set(noon(2026, 11, 27));
    ok(&app, &alice, "kudos @bob for the birches").await;

    // Ten a week by default: the 11th waits until the oldest is 7 days old.
    for i in 0..8 {
        clock.advance(Duration::hours(1));
        ok(&app, &alice, &format!("kudos @m{i} for helping")).await;
    }
    clock.advance(Duration::hours(1));
    let before = snapshot(&app).await;
    let e = err(&app, &alice, "kudos @carol for the tea").await;
    assert_eq!(
        e.to_string(),
        "You have given your 10 kudos for the last 7 days. \
         Your next kudos is possible from 2026-12-03 13:00 CET."
    );
    assert_eq!(before, snapshot(&app).await, "nothing was written");
    // Exactly then, it is.
    clock.set(noon(2026, 12, 3));
    let r = ok(&app, &alice, "kudos @carol for the tea").await;
    assert_line(&r, "alice thanks carol for the tea");
    assert_eq!(
        scalar_for::<i64>(
            &app,
            "SELECT count(*) FROM kudos WHERE from_member_id = ?",
            alice.member.0
        )
        .await,
        11
    );

    // Organisers set the allowance; everyone's counts from then on.
    let e = err(&app, &alice, "setup kudos-per-week 50").await;
    assert!(matches!(e, UserError::OrganiserOnly { .. }), "{e:?}");
    let e = err(&app, &olga, "setup kudos-per-week 0").await;
    assert!(e.to_string().contains("from 1 to 1000"), "{e}");
    let r = ok(&app, &olga, "setup kudos-per-week 2").await;
    assert_has(&r, "up to 2 kudos over any 7 days");
    let r = ok(&app, &olga, "setup show").await;
    assert_line(&r, "Kudos allowance: 2 a week per member");
    ok(&app, &olga, "kudos @bob for the rota").await;
    clock.advance(Duration::minutes(90));
    ok(&app, &olga, "kudos @carol for the rota").await;
    let e = err(&app, &olga, "kudos @alice for the rota").await;
    // The older of the two leaves the week at 2026-12-10 12:00 UTC.
    assert!(
        e.to_string().contains("your 2 kudos")
            && e.to_string().contains("from 2026-12-10 13:00 CET."),
        "{e}"
    );
}

/// The allowance is checked under the community's write lock: two kudos at once
/// from a giver with one left cannot both pass.
#[tokio::test]
async fn two_kudos_at_once_cannot_both_pass_the_allowance() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let alice = actor(&app, "forest", "alice", Role::Member).await;
    for name in ["bob", "carol", "dan", "eve"] {
        actor(&app, "forest", name, Role::Member).await;
    }
    ok(&app, &olga, "setup kudos-per-week 1").await;
    let app = Arc::new(app);
    let tries: Vec<_> = ["bob", "carol", "dan", "eve"]
        .into_iter()
        .map(|name| {
            let (app, alice) = (app.clone(), alice.clone());
            tokio::spawn(async move { app.handle_line(&alice, &format!("kudos @{name}")).await })
        })
        .collect();
    let mut passed = 0;
    for t in tries {
        if t.await.unwrap().is_ok() {
            passed += 1;
        }
    }
    assert_eq!(passed, 1);
    assert_eq!(scalar::<i64>(&app, "SELECT count(*) FROM kudos").await, 1);
}

// ---------------------------------------------------------------------------
// Fair play: goal caps
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_goal_max_refuses_bigger_contributions_and_review_above_is_kept_within_it() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let mo = actor(&app, "forest", "mo", Role::Member).await;

    let e = err(
        &app,
        &olga,
        "goal create Plant trees target=1000 unit=trees slug=trees max=10 review_above=50",
    )
    .await;
    assert!(matches!(e, UserError::Invalid { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("review_above=50 is more than max=10"),
        "{e}"
    );
    assert_eq!(scalar::<i64>(&app, "SELECT count(*) FROM goals").await, 0);

    let r = ok(
        &app,
        &olga,
        "goal create Plant trees target=1000 unit=trees slug=trees max=100 review_above=50",
    )
    .await;
    assert_line(&r, "Max per contribution: 100 trees");
    assert_line(&r, "Review above: 50 trees");
    let caps: (f64, f64) = db::row(
        &app,
        "SELECT max_amount, review_above FROM goals WHERE slug = 'trees'",
        &[],
    )
    .await;
    assert_eq!(caps, (100.0, 50.0));
    let r = ok(&app, &mo, "goal show trees").await;
    assert_line(&r, "Max per contribution: 100 trees");
    assert_line(&r, "Review above: 50 trees");

    // Up to review_above counts at once; above it, up to the max, it waits.
    let r = ok(&app, &mo, "contribute Planted a grove amount=50 goal=trees").await;
    assert_has(&r, "50 / 1,000 trees");
    let r = ok(&app, &mo, "contribute Planted a wood amount=100 goal=trees").await;
    assert_eq!(r.title.as_deref(), Some("Contribution #2 waits for review"));
    // Past it, refused whole, not trimmed; nothing is written.
    let before = snapshot(&app).await;
    let e = err(
        &app,
        &mo,
        "contribute Fake giant amount=999999999 goal=trees",
    )
    .await;
    assert!(matches!(e, UserError::Invalid { .. }), "{e:?}");
    assert!(
        e.to_string().starts_with(
            "One contribution may add at most 100 trees to the goal `trees`; this one adds 999,999,999."
        ),
        "{e}"
    );
    assert_eq!(before, snapshot(&app).await, "nothing was written");
    // The same amount without the goal is not the goal's business.
    ok(
        &app,
        &mo,
        "contribute Planted elsewhere amount=500 unit=trees",
    )
    .await;
    assert_eq!(
        scalar::<f64>(&app, "SELECT progress FROM goals WHERE slug = 'trees'").await,
        50.0
    );
}

#[tokio::test]
async fn goal_edit_changes_terms_keeps_history_and_reevaluates_met() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let mo = actor(&app, "forest", "mo", Role::Member).await;
    ok(
        &app,
        &olga,
        "goal create Plant trees target=10 unit=trees slug=trees",
    )
    .await;
    ok(&app, &olga, "milestone add Halfway at=5 goal=trees").await;
    ok(&app, &mo, "contribute Planted ten amount=10 goal=trees").await;
    // The first goal's (another is created below).
    let met = || {
        scalar::<Option<String>>(
            &app,
            "SELECT met_at FROM goals WHERE id = (SELECT min(id) FROM goals)",
        )
    };
    assert!(met().await.is_some());

    // Members may not; an edit must change something; caps must fit each other.
    let e = err(&app, &mo, "goal edit trees target=20").await;
    assert!(matches!(e, UserError::OrganiserOnly { .. }), "{e:?}");
    let e = err(&app, &olga, "goal edit trees").await;
    assert!(e.to_string().contains("Say what changes"), "{e}");
    ok(&app, &olga, "goal edit trees max=100").await;
    let e = err(&app, &olga, "goal edit trees review_above=200").await;
    assert!(
        e.to_string()
            .starts_with("review_above=200 would be more than max=100"),
        "{e}"
    );
    ok(&app, &olga, "goal create Other drive target=5 slug=other").await;
    let e = err(&app, &olga, "goal edit trees slug=other").await;
    assert!(matches!(e, UserError::Conflict { .. }), "{e:?}");

    // A higher target unmeets the goal; the slug moves with its history.
    let r = ok(
        &app,
        &olga,
        "goal edit trees target=20 slug=oaks title=\"Plant oaks\" max=off review_above=10",
    )
    .await;
    assert_eq!(r.title.as_deref(), Some("Goal updated: Plant oaks"));
    assert_line(&r, "title: Plant trees → Plant oaks");
    assert_line(&r, "slug: trees → oaks");
    assert_line(&r, "target: 10 → 20");
    assert_line(&r, "max: 100 → none");
    assert_line(&r, "review_above: none → 10");
    assert_has(&r, "No longer met at the new target");
    assert!(met().await.is_none());
    let e = err(&app, &mo, "contribute More amount=1 goal=trees").await;
    assert!(matches!(e, UserError::NotFound { .. }), "{e:?}");
    let r = ok(&app, &mo, "goal show oaks").await;
    assert_has(&r, "10 / 20 trees");
    assert_has(&r, "Planted ten");
    assert_has(&r, "Halfway at 5");
    // Meeting it again works as before.
    ok(&app, &mo, "contribute Planted ten more amount=10 goal=oaks").await;
    assert!(met().await.is_some());
    // A target lowered to what is done meets it at once; none clears the deadline.
    ok(&app, &olga, "goal edit oaks target=40 deadline=2027-01-31").await;
    assert!(met().await.is_none());
    let r = ok(&app, &olga, "goal edit oaks target=20 deadline=none").await;
    assert_has(&r, "Met at the new target.");
    assert_line(&r, "deadline: 2027-01-31 → none");
    assert!(met().await.is_some());
    let e = err(&app, &olga, "goal edit oaks deadline=2020-01-01").await;
    assert!(e.to_string().contains("has already passed"), "{e}");

    // Every edit, and a reopening, is in the audit trail with what changed; a
    // refused edit is not.
    ok(&app, &olga, "goal close oaks").await;
    ok(&app, &olga, "goal reopen oaks").await;
    let e = err(&app, &olga, "goal reopen oaks").await;
    assert!(matches!(e, UserError::Conflict { .. }), "{e:?}");
    let changes: Vec<(String, String)> = db::rows(
        &app,
        "SELECT subject, action FROM record_changes ORDER BY id",
        &[],
    )
    .await;
    let edits = changes.iter().filter(|c| c.1 == "edit").count();
    assert!(changes.iter().all(|c| c.0 == "goal"), "{changes:?}");
    assert_eq!(changes.last().unwrap().1, "reopen", "{changes:?}");
    let r = ok(&app, &olga, "audit").await;
    assert_eq!(
        r.plain().matches("olga edited goal").count(),
        edits,
        "{}",
        r.plain()
    );
    assert_has(
        &r,
        "olga edited goal trees: title Plant trees → Plant oaks, slug trees → oaks, target 10 → 20, max 100 → none, review_above none → 10",
    );
    assert_has(
        &r,
        "olga edited goal oaks: target 40 → 20, deadline 2027-01-31 → none",
    );
    assert_has(&r, "olga reopened goal oaks: “Plant oaks”");
    assert_lacks(&r, "of a former member");
}

#[tokio::test]
async fn goal_reopen_opens_a_closed_goal_again() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let mo = actor(&app, "forest", "mo", Role::Member).await;
    ok(&app, &olga, "goal create Plant trees target=10 slug=trees").await;
    let e = err(&app, &olga, "goal reopen trees").await;
    assert!(e.to_string().contains("already open"), "{e}");
    ok(&app, &olga, "goal close trees").await;
    err(&app, &mo, "contribute Planted amount=1 goal=trees").await;
    let e = err(&app, &mo, "goal reopen trees").await;
    assert!(matches!(e, UserError::OrganiserOnly { .. }), "{e:?}");
    let r = ok(&app, &olga, "goal reopen trees").await;
    assert_eq!(r.title.as_deref(), Some("Goal reopened: Plant trees"));
    ok(&app, &mo, "contribute Planted amount=1 goal=trees").await;
    assert_eq!(
        scalar::<String>(&app, "SELECT status FROM goals").await,
        "open"
    );
    let e = err(&app, &olga, "goal reopen nope").await;
    assert!(matches!(e, UserError::NotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn a_message_is_logged_as_its_authors_contribution_by_them_or_an_organiser() {
    use keel::domain::MemberRef;
    use keel::domain::command::{Command, NewContribution};
    use keel::domain::text::Description;

    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let ada = actor(&app, "forest", "ada", Role::Member).await;
    let bob = actor(&app, "forest", "bob", Role::Member).await;
    ok(
        &app,
        &olga,
        "goal create Plant 100 trees target=100 unit=trees slug=trees max=10 review_above=8",
    )
    .await;
    let of = |app: &App, text: &'static str| {
        let app = app.clone();
        async move {
            db::scalars::<String>(
                &app,
                "SELECT m.display_name FROM contributions c JOIN members m ON m.id = c.member_id
                 WHERE c.description = ?",
                &[text.into()],
            )
            .await
        }
    };
    let told = |app: &App, text: String| {
        let app = app.clone();
        async move {
            db::scalars::<String>(
                &app,
                "SELECT d.recipient FROM announcement_deliveries d
                 JOIN announcements a ON a.id = d.announcement_id
                 WHERE a.kind = 'direct' AND a.body LIKE ?",
                &[format!("%{text}%").into()],
            )
            .await
        }
    };

    // Your own message is a contribution like any.
    let r = ok(
        &app,
        &ada,
        "contribute-for @ada Planted 4 oaks amount=4 goal=trees",
    )
    .await;
    assert_has(&r, "That is your 1st contribution. Thank you!");
    assert_eq!(of(&app, "Planted 4 oaks").await, ["ada"]);

    // Someone else's is for organisers, and nothing is written.
    let before = snapshot(&app).await;
    let e = err(&app, &bob, "contribute-for @ada Fixed the onboarding doc").await;
    assert!(
        e.to_string()
            .contains("Only organisers can log ada's message"),
        "{e}"
    );
    assert_eq!(snapshot(&app).await, before);

    // An organiser logs it for its author, under the goal's rules, and the
    // author is told privately.
    let e = err(
        &app,
        &olga,
        "contribute-for @ada Planted a grove amount=11 goal=trees",
    )
    .await;
    assert!(e.to_string().contains("at most 10 trees"), "{e}");
    let r = ok(
        &app,
        &olga,
        "contribute-for @ada Fixed the onboarding doc amount=2 unit=hours",
    )
    .await;
    let id = contribution_id(&app, "Fixed the onboarding doc").await;
    assert_has(&r, &format!("Contribution #{id} logged for ada"));
    assert_has(
        &r,
        "That is ada's 2nd contribution; they are told privately.",
    );
    assert_eq!(of(&app, "Fixed the onboarding doc").await, ["ada"]);
    assert_eq!(
        scalar::<i64>(
            &app,
            "SELECT contribution_count FROM members WHERE display_name = 'olga'"
        )
        .await,
        0
    );
    assert_eq!(
        told(&app, format!("logged your message as contribution #{id}")).await,
        ["ada"]
    );

    // One that waits for review is nothing to take back yet: the author is told so.
    ok(
        &app,
        &olga,
        "contribute-for @ada Planted a hedge amount=9 goal=trees",
    )
    .await;
    let told_of_hedge = told(&app, "Planted a hedge".into()).await;
    assert_eq!(told_of_hedge, ["ada"]);
    let notice: String = scalar(
        &app,
        "SELECT body FROM announcements WHERE body LIKE '%Planted a hedge%' AND kind = 'direct'",
    )
    .await;
    assert!(
        notice.contains("waits for an organiser's review"),
        "{notice}"
    );
    assert!(!notice.contains("take it back"), "{notice}");

    // An author Keel has not seen yet becomes a member (on the console, by name).
    ok(&app, &olga, "contribute-for @cleo Swept the path").await;
    assert_eq!(of(&app, "Swept the path").await, ["cleo"]);
    assert_eq!(told(&app, "Swept the path".into()).await, ["cleo"]);

    // On Discord, the author is the message's user, named as Discord names them.
    let dora = app
        .actor(&discord("g1", "900", "dora", Role::Organiser))
        .await
        .unwrap();
    app.handle(
        &dora,
        Command::ContributeFor {
            author: MemberRef::PlatformUser {
                id: "901".into(),
                name: Some("Eli".into()),
            },
            new: NewContribution {
                description: Description::parse("Wrote the welcome post").unwrap(),
                amount: None,
                unit: None,
                goal: None,
                value: None,
                day: None,
            },
        },
    )
    .await
    .unwrap();
    assert_eq!(of(&app, "Wrote the welcome post").await, ["Eli"]);
    assert_eq!(told(&app, "Wrote the welcome post".into()).await, ["901"]);
}

// ---------------------------------------------------------------------------
// Fair play: the review queue, and contribution edit
// ---------------------------------------------------------------------------

/// Goal `trees`' progress and contribution count.
async fn trees(app: &App) -> (f64, i64) {
    db::row(
        app,
        "SELECT progress, contribution_count FROM goals WHERE slug = 'trees'",
        &[],
    )
    .await
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

/// The number in "#123 …" at the start of a reply's title.
fn id_in_title(reply: &Reply) -> i64 {
    let title = reply.plain();
    let digits: String = title
        .split_once('#')
        .unwrap()
        .1
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

#[tokio::test]
async fn a_contribution_above_review_above_waits_counting_nowhere_until_approved() {
    let (_dir, app, clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let ada = actor(&app, "forest", "ada", Role::Member).await;
    let bob = actor(&app, "forest", "bob", Role::Member).await;
    ok(
        &app,
        &olga,
        "goal create Plant 100 trees target=100 unit=trees slug=trees max=1000 review_above=50",
    )
    .await;
    ok(&app, &ada, "contribute Real planting amount=30 goal=trees").await;

    let r = ok(&app, &bob, "contribute Big claim amount=600 goal=trees").await;
    let waiting = id_in_title(&r);
    assert_has(&r, &format!("Contribution #{waiting} waits for review"));
    assert_has(&r, "counts nowhere until then");
    assert_lacks(&r, "🎉");
    // It counts nowhere: not in the goal, the counters, or the milestones.
    assert_eq!(trees(&app).await, (30.0, 1));
    assert_eq!(
        scalar::<i64>(&app, "SELECT contribution_count FROM communities").await,
        1
    );
    assert_eq!(
        scalar::<i64>(&app, "SELECT count(*) FROM contributions").await,
        1
    );
    assert_eq!(
        scalar::<i64>(
            &app,
            "SELECT count(*) FROM milestone_achievements WHERE milestone_key = 'goal.percent.100'"
        )
        .await,
        0
    );
    // Its member sees it marked pending.
    assert_has(
        &ok(&app, &bob, "contributions").await,
        "⏳ waits for review",
    );
    assert_has(&ok(&app, &bob, "stats me").await, &format!("#{waiting}"));
    // Its id comes from the contributions' sequence: the next one is past it.
    let r = ok(&app, &ada, "contribute Watering amount=10 goal=trees").await;
    assert!(id_in_title(&r) > waiting, "{}", r.plain());

    // Organisers see the queue, members may not.
    let e = err(&app, &ada, "review").await;
    assert!(matches!(e, UserError::OrganiserOnly { .. }), "{e:?}");
    let r = ok(&app, &olga, "review").await;
    assert_has(&r, "Waiting for review (1)");
    assert_has(
        &r,
        &format!("#{waiting} · bob · “Big claim” (600 trees · goal trees) on 2026-11-26"),
    );

    // Approved a day later: the goal is met then, as its milestone is reached.
    clock.advance(chrono::Duration::days(1));
    let r = ok(&app, &olga, &format!("review approve #{waiting}")).await;
    assert_has(&r, &format!("Contribution #{waiting} approved"));
    assert_has(&r, "🎉 Goal met: Plant 100 trees!");
    assert_eq!(trees(&app).await, (640.0, 3));
    let approved_at = app
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let met_at: String = scalar(&app, "SELECT met_at FROM goals").await;
    assert_eq!(
        met_at[..19],
        approved_at[..19],
        "met when approved, not when logged"
    );
    assert_eq!(
        scalar_for::<i64>(
            &app,
            "SELECT count(*) FROM contributions WHERE id = ?",
            waiting
        )
        .await,
        1
    );
    assert_eq!(
        scalar::<i64>(&app, "SELECT count(*) FROM pending_contributions").await,
        0
    );
    assert_eq!(
        scalar::<i64>(
            &app,
            "SELECT contribution_count FROM members WHERE display_name = 'bob'"
        )
        .await,
        1
    );
    let messages = told(&app).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0].0, "bob");
    assert!(messages[0].1.contains("was approved"), "{}", messages[0].1);
    // Once approved, it is not approved again.
    let e = err(&app, &olga, &format!("review approve {waiting}")).await;
    assert!(matches!(e, UserError::NotFound { .. }), "{e:?}");

    // Rejected: its member is told why, and sees it.
    let r = ok(&app, &bob, "contribute Second claim amount=70 goal=trees").await;
    let second = id_in_title(&r);
    let e = err(&app, &olga, &format!("review reject #{second}")).await;
    assert!(e.to_string().contains("reason="), "{e}");
    let r = ok(
        &app,
        &olga,
        &format!(r#"review reject #{second} reason="Photos please""#),
    )
    .await;
    assert_has(&r, &format!("Contribution #{second} rejected"));
    assert_eq!(trees(&app).await, (640.0, 3));
    assert_has(
        &ok(&app, &bob, "contributions").await,
        "not approved: Photos please",
    );
    assert!(told(&app).await[1].1.contains("Photos please"));
    assert_has(&ok(&app, &olga, "review").await, "None");
    let r = ok(&app, &olga, "audit").await;
    assert_has(&r, &format!("approve contribution #{waiting}"));
    assert_has(&r, "reason: Photos please");

    // forget-me erases what waits and what was rejected.
    ok(&app, &bob, "contribute Third claim amount=90 goal=trees").await;
    ok(&app, &bob, "forget-me confirm").await;
    assert_eq!(
        scalar::<i64>(&app, "SELECT count(*) FROM pending_contributions").await,
        0
    );
    assert_eq!(trees(&app).await, (40.0, 2));
}

#[tokio::test]
async fn an_edit_moves_every_figure_retracts_and_announces_milestones_and_may_wait_for_review() {
    let (_dir, app, clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let ada = actor(&app, "forest", "ada", Role::Member).await;
    let bob = actor(&app, "forest", "bob", Role::Member).await;
    ok(
        &app,
        &olga,
        "goal create Plant 100 trees target=100 unit=trees slug=trees review_above=60",
    )
    .await;
    ok(&app, &ada, "contribute Planting amount=30 goal=trees").await;
    let planting = contribution_id(&app, "Planting").await;

    // Only its member within 7 days, or an organiser.
    let e = err(
        &app,
        &bob,
        &format!(r#"contribution edit #{planting} amount=3 reason="mine""#),
    )
    .await;
    assert!(e.to_string().contains("is not yours"), "{e}");

    // Up to 60: the goal follows, and crossings are announced once.
    let r = ok(
        &app,
        &ada,
        &format!(r#"contributions edit #{planting} Planted oaks amount=55 reason="miscounted""#),
    )
    .await;
    assert_has(&r, &format!("Contribution #{planting} edited"));
    assert_has(&r, "Was: “Planting” (30 trees · goal trees) on 2026-11-26");
    assert_has(
        &r,
        "Now: “Planted oaks” (55 trees · goal trees) on 2026-11-26",
    );
    assert_has(&r, "🎉 Plant 100 trees is 50% of the way there!");
    assert_eq!(trees(&app).await, (55.0, 1));
    let achieved = |app: &App| {
        let app = app.clone();
        async move {
            db::scalars::<String>(
                &app,
                "SELECT milestone_key FROM milestone_achievements WHERE subject LIKE 'goal:%' ORDER BY 1",
                &[],
            )
            .await
        }
    };
    assert_eq!(achieved(&app).await, ["goal.percent.25", "goal.percent.50"]);
    // A text-only edit announces nothing again.
    let r = ok(
        &app,
        &ada,
        &format!(r#"contribution edit #{planting} Planted 55 oaks reason="clearer""#),
    )
    .await;
    assert_lacks(&r, "🎉");
    assert_eq!(achieved(&app).await, ["goal.percent.25", "goal.percent.50"]);

    // Down: what only the old values reached is retracted.
    let r = ok(
        &app,
        &olga,
        &format!(r#"contribution edit #{planting} amount=20 reason="20 survived""#),
    )
    .await;
    assert_has(
        &r,
        "Milestone retracted: Plant 100 trees is 50% of the way there!",
    );
    assert_has(&r, "told privately");
    assert_eq!(trees(&app).await, (20.0, 1));
    assert_eq!(achieved(&app).await, Vec::<String>::new());
    let messages = told(&app).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0].0, "ada");
    assert!(messages[0].1.contains("20 survived"), "{}", messages[0].1);

    // Above review_above: it waits, counting nowhere, until approved.
    let r = ok(
        &app,
        &ada,
        &format!(r#"contribution edit #{planting} amount=100 reason="the whole grove""#),
    )
    .await;
    assert_has(&r, "waits for an organiser's review");
    assert_eq!(trees(&app).await, (0.0, 0));
    assert_eq!(
        scalar::<i64>(
            &app,
            "SELECT contribution_count FROM members WHERE display_name = 'ada'"
        )
        .await,
        0
    );
    let e = err(
        &app,
        &ada,
        &format!(r#"contribution edit #{planting} amount=1 reason="x""#),
    )
    .await;
    assert!(
        e.to_string().contains("waits for an organiser's review"),
        "{e}"
    );
    let r = ok(&app, &olga, &format!("review approve {planting}")).await;
    assert_has(&r, "🎉 Goal met: Plant 100 trees!");
    assert_eq!(trees(&app).await, (100.0, 1));

    // The audit trail keeps before and after.
    let after: String = scalar_for(
        &app,
        "SELECT after FROM record_changes WHERE action = 'edit' AND subject_id = ?
         ORDER BY id DESC LIMIT 1",
        planting,
    )
    .await;
    assert!(after.contains("\"pending\":true"), "{after}");
    let r = ok(&app, &olga, "audit").await;
    assert_has(&r, &format!("olga edited contribution #{planting} of ada"));

    // After 7 days only organisers edit it; a date in the future is refused.
    clock.advance(Duration::days(8));
    let e = err(
        &app,
        &ada,
        &format!(r#"contribution edit #{planting} amount=90 reason="x""#),
    )
    .await;
    assert!(e.to_string().contains("more than 7 days ago"), "{e}");
    let e = err(
        &app,
        &olga,
        &format!(r#"contribution edit #{planting} date=2030-01-01 reason="x""#),
    )
    .await;
    assert!(e.to_string().contains("in the future"), "{e}");
    ok(
        &app,
        &olga,
        &format!(r#"contribution edit #{planting} goal=- reason="not trees""#),
    )
    .await;
    assert_eq!(trees(&app).await, (0.0, 0));
}

#[tokio::test]
async fn a_contribution_waiting_for_review_is_requested_in_the_review_channel_until_decided() {
    let (_dir, app, _clock) = app().await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let bob = actor(&app, "forest", "bob", Role::Member).await;
    ok(
        &app,
        &olga,
        "goal create Plant 100 trees target=100 unit=trees slug=trees review_above=50",
    )
    .await;
    let requests = "SELECT count(*) FROM announcements WHERE kind = 'review_request'";
    // With no review channel there is no request: `review` lists it all the same.
    let r = ok(&app, &bob, "contribute Big claim amount=60 goal=trees").await;
    let first = id_in_title(&r);
    assert_eq!(scalar::<i64>(&app, requests).await, 0);
    assert_has(&ok(&app, &olga, "review").await, &format!("#{first}"));

    ok(&app, &olga, "setup review-channel #reviews").await;
    let r = ok(&app, &bob, "contribute Bigger claim amount=70 goal=trees").await;
    let second = id_in_title(&r);
    assert_eq!(scalar::<i64>(&app, requests).await, 1);
    assert_eq!(
        scalar::<i64>(
            &app,
            "SELECT count(*) FROM announcement_deliveries d
             JOIN announcements a ON a.id = d.announcement_id
             WHERE a.kind = 'review_request' AND d.channel = '#reviews' AND d.status = 'pending'"
        )
        .await,
        1
    );
    let body: String = scalar(
        &app,
        "SELECT body FROM announcements WHERE kind = 'review_request'",
    )
    .await;
    assert!(body.contains("Bigger claim"), "{body}");
    assert!(
        body.contains(&format!("Contribution #{second} waits for review")),
        "{body}"
    );
    assert!(
        body.contains("Approve") && body.contains("Reject"),
        "{body}"
    );
    // Decided before it was posted: it is not posted at all.
    ok(&app, &olga, &format!("review approve #{second}")).await;
    assert_eq!(scalar::<i64>(&app, requests).await, 0);
    assert_eq!(
        scalar::<i64>(
            &app,
            "SELECT count(*) FROM announcement_deliveries WHERE channel IS NOT NULL"
        )
        .await,
        0
    );
    // Its member's erasure takes a request with it, as every announcement about them.
    ok(&app, &bob, "contribute Biggest claim amount=80 goal=trees").await;
    assert_eq!(scalar::<i64>(&app, requests).await, 1);
    ok(&app, &bob, "forget-me").await;
    ok(&app, &bob, "forget-me confirm").await;
    assert_eq!(scalar::<i64>(&app, requests).await, 0);
}
