//! Issue 5's metrics, charts and digest over a small hand-built community, through
//! the seam and a real SQLite file. Every expected figure is worked out by hand in
//! the comments (definitions: shared/docs/PRODUCT.md).

#[path = "support/db.rs"]
mod db;
#[path = "support/keel.rs"]
mod support;

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use keel::app::App;
use keel::domain::clock::ManualClock;
use keel::domain::{Actor, Role};
use support::{actor, open};

fn field<'a>(text: &'a str, name: &str) -> &'a str {
    let prefix = format!("{name}: ");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no field {name:?} in:\n{text}"))
}

fn has_line(text: &str, line: &str) {
    assert!(
        text.lines().any(|l| l == line),
        "no line {line:?} in:\n{text}"
    );
}

/// Day 0 is Monday 2026-09-07; day 83, Sunday 2026-11-29, is "today", so
/// `period=12w` covers days 0 … 83 exactly: twelve Monday-started weeks.
fn at(d: i64, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, 7, hour, 0, 0).unwrap() + Duration::days(d)
}

struct Community {
    app: App,
    clock: Arc<ManualClock>,
    olga: Actor,
    _dir: tempfile::TempDir,
}

/// Twelve members:
///   before the window (day −10, 10:00): olga (organiser, never active), and ann,
///   ben, abe, amy, who each contribute that day. Later: ann on day 20 (10:00),
///   abe on day 80 (09:00); ben leaves on day 50.
///   in the window, each joining on their first day (18:00 unless said):
///     cat  days 0, 7, 14          dan  days 1, 8          eve  days 2, 16
///     fay  day 3                  ivy  day 8
///     gus  days 4, 5, 6, then 11, 18, … 81 (every 7th): 14 contributions, at 07:00
///     hal  days 7, 9, 12, 13
async fn build() -> Community {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(at(-10, 10)));
    let app = open(&dir, clock.clone()).await;
    let olga = actor(&app, "garden", "olga", Role::Organiser).await;
    for name in ["ann", "ben", "abe", "amy"] {
        let who = actor(&app, "garden", name, Role::Member).await;
        app.handle_line(&who, "contribute cleared the beds")
            .await
            .unwrap();
    }
    let mut gus_days: Vec<i64> = vec![4, 5, 6];
    gus_days.extend((11..=81).step_by(7));
    let mut plan: Vec<(i64, u32, &str)> = vec![
        (0, 18, "cat"),
        (1, 18, "dan"),
        (2, 18, "eve"),
        (3, 18, "fay"),
        (7, 18, "cat"),
        (7, 18, "hal"),
        (8, 18, "dan"),
        (8, 18, "ivy"),
        (9, 18, "hal"),
        (12, 18, "hal"),
        (13, 18, "hal"),
        (14, 18, "cat"),
        (16, 18, "eve"),
        (20, 10, "ann"),
        (80, 9, "abe"),
    ];
    plan.extend(gus_days.iter().map(|d| (*d, 7, "gus")));
    plan.sort_by_key(|(d, h, _)| (*d, *h));
    for (d, hour, name) in plan {
        clock.set(at(d, hour));
        let who = actor(&app, "garden", name, Role::Member).await;
        app.handle_line(&who, &format!("contribute watered on day {d}"))
            .await
            .unwrap();
    }
    // Keel has no "left" event from the platforms yet; the column is what one sets.
    db::execute(
        &app,
        "UPDATE members SET left_at = ? WHERE display_name = 'ben'",
        &[keel::store::ts(at(50, 12)).into()],
    )
    .await;
    clock.set(at(83, 20));
    Community {
        app,
        clock,
        olga,
        _dir: dir,
    }
}

#[tokio::test]
async fn stats_over_twelve_weeks_match_the_figures_worked_by_hand() {
    let c = build().await;
    let text = c
        .app
        .handle_line(&c.olga, "stats period=12w")
        .await
        .unwrap()
        .plain();

    // Growth: 7 joined in the window (cat … ivy), ben left: net +6. Members at the
    // end 12 − 1 = 11; at the start 11 − 7 + 1 = 5; rate (11 − 5) ÷ 5 = +120 %.
    assert_eq!(
        field(&text, "Growth"),
        "7 joined, 1 left, net +6 · 5 → 11 members · rate +120%"
    );

    // Inactive (interval 30 days): last activity before day 53. ann (20), amy (−10),
    // cat (14), dan (8), eve (16), fay (3), hal (13), ivy (8): 8. ben left, olga was
    // never active, abe (80) and gus (81) are recent.
    assert_eq!(
        field(&text, "Inactive (no activity for more than 30 days)"),
        "8"
    );

    // Newcomer conversion: first contributions in the window: cat, dan, eve, fay,
    // gus, hal, ivy = 7. A 2nd within 90 days: cat, dan, eve, gus, hal = 5 → 71 %.
    // A 4th: gus (day 11) and hal (day 13) = 2 → 29 %.
    assert_eq!(
        field(&text, "Newcomer conversion"),
        "71% of 7 first-time contributors made a 2nd contribution within 90 days, 29% a 4th"
    );

    // Contributions in the window: gus 14, hal 4, cat 3, dan 2, eve 2, and 1 each
    // for ann, abe, fay, ivy: 29 from 9 contributors.
    // Gini, ascending [1,1,1,1,2,2,3,4,14]: Σ i·cᵢ = 1+2+3+4+10+12+21+32+126 = 211;
    // 2·211 ÷ (9·29) − 10/9 = 1.6169 − 1.1111 = 0.5057 → 0.51.
    assert_eq!(field(&text, "Gini of contributions"), "0.51");
    // CAF: 14 × 2 = 28 < 29; (14 + 4) × 2 = 36 ≥ 29 → 2.
    assert_eq!(
        field(&text, "Contributor absence factor"),
        "2 members do half the work"
    );

    // By hour: 07:00 gus 14; 18:00 cat 3 + dan 2 + eve 2 + fay 1 + hal 4 + ivy 1 = 13;
    // 09:00 abe 1; 10:00 ann 1. Shares of 29: 48 %, 45 %, 3 %.
    assert_eq!(
        field(&text, "Activity by UTC hour"),
        "busiest 07:00 (48%), 18:00 (45%), 09:00 (3%); active in 4 of 24 hours"
    );

    // Weekly cohorts. Week of 7 Sep: cat, dan, eve, fay, gus (first active days 0–4):
    // 5. Week 1 (days 7–13): cat, dan, gus → 60 %; week 2 (14–20): cat, eve, gus →
    // 60 %; weeks 3–11: gus alone → 20 %. Week of 14 Sep: hal and ivy, 2: withheld.
    has_line(&text, "Weekly retention (cohort: R for each week after)");
    has_line(
        &text,
        "week of 2026-09-07 (5): 100% · 60% · 60% · 20% · 20% · 20% · 20% · 20% · 20% · 20% · 20% · 20%",
    );
    has_line(
        &text,
        "week of 2026-09-14 (2): too few members to show (2, fewer than 5)",
    );
    // No monthly cohort starts in this window (October and November had no one new).
    assert!(!text.contains("Monthly retention"), "{text}");

    // From 1 September: the September cohort is everyone new in the window, 7;
    // active in October (days 24–54): gus → 1 of 7 = 14 %; in November: gus → 14 %.
    let text = c
        .app
        .handle_line(&c.olga, "stats from=2026-09-01 to=2026-11-29")
        .await
        .unwrap()
        .plain();
    has_line(&text, "Monthly retention (cohort: R for each month after)");
    has_line(&text, "September 2026 (7): 100% · 14% · 14%");
}

#[tokio::test]
async fn small_groups_see_notes_instead_of_figures() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(at(0, 12)));
    let app = open(&dir, clock.clone()).await;
    let olga = actor(&app, "tiny", "olga", Role::Organiser).await;
    for name in ["a", "b", "c"] {
        let who = actor(&app, "tiny", name, Role::Member).await;
        app.handle_line(&who, "contribute something").await.unwrap();
    }
    let text = app.handle_line(&olga, "stats").await.unwrap().plain();
    // Three contributors, four members at most anywhere: every group figure is withheld.
    for name in [
        "Gini of contributions",
        "Contributor absence factor",
        "Activity by UTC hour",
        "Newcomer conversion",
    ] {
        assert_eq!(
            field(&text, name),
            "too few members to show (3, fewer than 5)",
            "{name}"
        );
    }
    // The growth rate needs five members at the start; there were none.
    assert!(field(&text, "Growth").ends_with("rate too few members to show (0, fewer than 5)"));
    // Charts leave out the hour histogram too.
    let reply = app.handle_line(&olga, "stats chart").await.unwrap();
    assert!(reply.attachments.iter().all(|a| a.filename != "hours.png"));
    assert!(
        reply
            .plain()
            .contains("Activity by hour is not drawn: 3 contributors")
    );
}

/// Width and height from a fully decoded PNG.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).expect("PNG data");
    (info.width, info.height)
}

#[tokio::test]
async fn charts_are_png_attachments_of_chat_size() {
    let c = build().await;
    c.app
        .handle_line(
            &c.olga,
            "goal create Water the garden target=100 slug=water",
        )
        .await
        .unwrap();
    let command = keel::domain::parse::parse("stats chart period=12w", c.app.today()).unwrap();
    assert!(command.is_slow());
    let reply = c.app.handle(&c.olga, command).await.unwrap();
    let names: Vec<&str> = reply
        .attachments
        .iter()
        .map(|a| a.filename.as_str())
        .collect();
    assert_eq!(
        names,
        ["activity.png", "retention.png", "hours.png", "goals.png"]
    );
    for a in &reply.attachments {
        assert_eq!(a.media_type, "image/png");
        assert_eq!(
            png_size(&a.contents().unwrap()),
            (800, 400),
            "{}",
            a.filename
        );
    }
    let reply = c
        .app
        .handle_line(&c.olga, "goal show water chart")
        .await
        .unwrap();
    assert_eq!(reply.attachments.len(), 1);
    assert_eq!(reply.attachments[0].filename, "goal-water.png");
    assert_eq!(
        png_size(&reply.attachments[0].contents().unwrap()),
        (800, 400)
    );
    let e = c
        .app
        .handle_line(&c.olga, "goal show nope chart")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("nope"), "{e}");
}

#[tokio::test]
async fn the_digest_compares_periods_and_can_carry_the_milestones() {
    let c = build().await;
    // Weekly digest, and milestones in the digest only.
    c.app
        .handle_line(&c.olga, "setup digest weekly mon 09:00")
        .await
        .unwrap();
    c.app
        .handle_line(&c.olga, "setup milestones digest")
        .await
        .unwrap();
    // Day 84 (Monday 30 Nov), 08:00: zoe's first contribution reaches her first
    // milestone, and the community's; neither is announced on its own.
    c.clock.set(at(84, 8));
    let zoe = actor(&c.app, "garden", "zoe", Role::Member).await;
    c.app
        .handle_line(&zoe, "contribute planted bulbs")
        .await
        .unwrap();
    let milestone_posts: i64 = db::scalar(
        &c.app,
        "SELECT count(*) FROM announcements WHERE kind = 'milestone'",
        &[],
    )
    .await;
    let reached: i64 = db::scalar(&c.app, "SELECT count(*) FROM milestone_achievements", &[]).await;
    assert!(reached > 0);
    // Earlier milestones (before the switch) were posted; none since.
    let before: i64 = db::scalar(
        &c.app,
        "SELECT count(*) FROM milestone_achievements WHERE achieved_at < ?",
        &[(keel::store::ts(at(84, 0))).into()],
    )
    .await;
    assert_eq!(milestone_posts, before);

    c.clock.set(at(84, 9) + Duration::minutes(1));
    assert!(keel::app::run_due_schedules(&c.app).await.unwrap() >= 1);
    let community = c.olga.community;
    let digest = keel::app::digest(
        &c.app,
        community,
        "garden",
        Some(
            keel::domain::schedule::ScheduleSpec::parse("weekly mon 09:00")
                .unwrap()
                .unwrap(),
        ),
        c.app.now(),
    )
    .await
    .unwrap();
    let text = digest.plain();
    // Last 7 days (days 78–84): abe (80), gus (81), zoe (84) → WAU 3; the 7 before
    // (71–77): gus (74) → 1.
    assert_eq!(
        field(&text, "Active members"),
        "3 (+2 on the period before)"
    );
    // Contributions: abe, gus, zoe = 3 against gus's 1.
    assert_eq!(field(&text, "Contributions"), "3 (+2 on the period before)");
    // zoe joined in the last 7 days; nobody in the 7 before.
    assert_eq!(field(&text, "New members"), "1 (+1 on the period before)");
    // Last complete week (23–29 Nov) had no newcomers: withheld.
    assert_eq!(
        field(&text, "Retention"),
        "too few newcomers last week to show (0, fewer than 5)"
    );
    // Nothing linked to a goal or value in either period: 0 %.
    assert_eq!(
        field(&text, "Aligned with a goal or value"),
        "0% (0 points on the period before)"
    );
    assert!(text.contains("Drift warning"), "{text}");
    // zoe's milestones are listed by title.
    has_line(&text, "Milestones this period");
    assert!(text.contains("• zoe"), "{text}");
    // Counts only; no names of who needs attention.
    // gus, once a week throughout, keeps a baseline of 1 and a recent mean of 1:
    // not drifting. Inactive: last activity before day 54: the same 8 as in stats.
    assert_eq!(
        field(&text, "Members needing attention"),
        "0 may be drifting away, 0 may be overloaded, 8 inactive for more than 30 days (names: `health`, organisers only)"
    );

    // It renders on every renderer.
    let console = keel::console::render::reply(&digest);
    assert!(console.starts_with("== Digest · garden · last 7 days =="));
    assert!(console.contains("Milestones reached"));
    #[cfg(feature = "slack")]
    {
        let blocks = keel::slack::render::blocks(&digest);
        let json = serde_json::to_string(&blocks).unwrap();
        assert!(json.contains("Members needing attention"));
        assert!(json.contains("Milestones this period"));
        assert!(!keel::slack::render::fallback(&digest).is_empty());
    }
}
