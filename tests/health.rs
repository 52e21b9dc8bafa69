//! `health` over 15 weeks of hand-built activity, through the seam.

#[path = "support/keel.rs"]
mod support;

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use keel::domain::clock::ManualClock;
use keel::domain::{Envelope, Platform, Role};
use support::{actor, open};

fn line<'a>(text: &'a str, starts: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(starts))
        .unwrap_or_else(|| panic!("no line {starts:?} in:\n{text}"))
}

#[tokio::test]
async fn health_names_who_drifts_who_is_overloaded_inactive_or_new() {
    let dir = tempfile::tempdir().unwrap();
    let today = Utc.with_ymd_and_hms(2026, 11, 26, 18, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(today - Duration::days(104)));
    let app = open(&dir, clock.clone()).await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;

    // Day d = 0 … 104, today being 104; week w = d / 7 (0 … 14), so the last three
    // weeks are days 84 … 104 and the last 14 days are 91 … 104.
    //   steady:  days with d % 7 in 0..4 throughout: 4 a week. Not flagged.
    //   dropper: the same for 12 weeks (b = median 4), then only day 84 in the
    //            last three (mean ⅓ < 0.5 · 4): drift.
    //   resting: like dropper, but says `away on`: left out.
    //   busy:    days 91 … 104 but 95: 13 of the last 14 (≥ 12.6): overloaded.
    //   helper1, helper2: every third day from 77: keep the absence factor at 2.
    //   quiet:   day 60 only: 44 days ago, more than the 30-day interval: inactive.
    //   newbie:  thanked today, has not contributed: a newcomer.
    let mut people = Vec::new();
    for name in [
        "steady", "dropper", "resting", "busy", "helper1", "helper2", "quiet",
    ] {
        people.push((name, actor(&app, "forest", name, Role::Member).await));
    }
    for d in 0..=104u32 {
        clock.set(today - Duration::days(i64::from(104 - d)));
        let w = d / 7;
        for (name, who) in &people {
            let active = match *name {
                "steady" => d % 7 < 4,
                "dropper" | "resting" => {
                    if w < 12 {
                        d % 7 < 4
                    } else {
                        d == 84
                    }
                }
                "busy" => d >= 91 && d != 95,
                "helper1" | "helper2" => d >= 77 && d % 3 == 0,
                "quiet" => d == 60,
                _ => false,
            };
            if active {
                app.handle_line(who, &format!("contribute day {d}"))
                    .await
                    .unwrap();
            }
        }
    }
    let resting = &people.iter().find(|(n, _)| *n == "resting").unwrap().1;
    app.handle_line(resting, "away on").await.unwrap();
    let steady = &people[0].1;
    app.handle_line(steady, "kudos @newbie for joining")
        .await
        .unwrap();

    let reply = app.handle_line(&olga, "health").await.unwrap();
    assert!(reply.is_private());
    let text = reply.plain();
    assert_eq!(
        line(&text, "May be drifting away: "),
        "May be drifting away: dropper"
    );
    assert_eq!(
        line(&text, "May be overloaded: "),
        "May be overloaded: busy"
    );
    assert_eq!(
        line(&text, "Inactive for more than 30 days: "),
        "Inactive for more than 30 days: quiet"
    );
    assert_eq!(
        line(&text, "Newcomers yet to contribute: "),
        "Newcomers yet to contribute: newbie"
    );
    // Contributions in the last 28 days (days 77 … 104): steady 16 (4 a week);
    // busy 13; helper1 and helper2 9 each (78, 81, …, 102); dropper and resting 5
    // each (77 … 80 of week 11, then day 84): 57 in all.
    // Absence factor: 16 (×2 = 32 < 57), 16 + 13 (×2 = 58 ≥ 57) → 2.
    assert_eq!(
        line(&text, "Contributor absence factor: "),
        "Contributor absence factor: 2 members do half the work"
    );
    // Gini of [5, 5, 9, 9, 13, 16]: Σ i·cᵢ = 5 + 10 + 27 + 36 + 65 + 96 = 239;
    // 2 · 239 ÷ (6 · 57) − 7/6 = 1.3977 − 1.1667 = 0.231 → 0.23.
    assert_eq!(
        line(&text, "Gini of contributions (28 days): "),
        "Gini of contributions (28 days): 0.23"
    );

    // Members are refused.
    assert!(app.handle_line(steady, "health").await.is_err());

    // A community with three contributors does not get equity figures.
    let tina = actor(&app, "tiny", "tina", Role::Organiser).await;
    for name in ["a", "b", "c"] {
        let who = actor(&app, "tiny", name, Role::Member).await;
        app.handle_line(&who, "contribute something").await.unwrap();
    }
    let text = app.handle_line(&tina, "health").await.unwrap().plain();
    assert!(
        line(&text, "Gini of contributions (28 days): ").contains("not shown: 3 contributors"),
        "{text}"
    );
    assert!(
        line(&text, "Contributor absence factor: ").contains("fewer than 5"),
        "{text}"
    );
}

#[tokio::test]
async fn members_who_left_are_in_no_health_list_until_they_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let today = Utc.with_ymd_and_hms(2026, 11, 26, 18, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(today - Duration::days(44)));
    let app = open(&dir, clock.clone()).await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    // quiet: one contribution 44 days ago, inactive past the 30-day interval.
    let quiet = actor(&app, "forest", "quiet", Role::Member).await;
    app.handle_line(&quiet, "contribute long ago")
        .await
        .unwrap();
    // busy and busy2: 13 of the last 14 days, overloaded.
    let busy = actor(&app, "forest", "busy", Role::Member).await;
    let busy2 = actor(&app, "forest", "busy2", Role::Member).await;
    for d in (31..=44).filter(|d| *d != 35) {
        clock.set(today - Duration::days(44 - d));
        for who in [&busy, &busy2] {
            app.handle_line(who, &format!("contribute day {d}"))
                .await
                .unwrap();
        }
    }
    // Two helpers with as many contributions today keep the absence factor at 2,
    // and newbie and newbie2 arrive today without contributing.
    for name in ["helper1", "helper2"] {
        let who = actor(&app, "forest", name, Role::Member).await;
        for i in 0..13 {
            app.handle_line(&who, &format!("contribute batch {i}"))
                .await
                .unwrap();
        }
    }
    actor(&app, "forest", "newbie", Role::Member).await;
    actor(&app, "forest", "newbie2", Role::Member).await;
    let lists = async || {
        let text = app.handle_line(&olga, "health").await.unwrap().plain();
        [
            "May be overloaded: ",
            "Inactive for more than 30 days: ",
            "Newcomers yet to contribute: ",
        ]
        .map(|l| line(&text, l).to_string())
    };
    assert_eq!(
        lists().await,
        [
            "May be overloaded: busy, busy2",
            "Inactive for more than 30 days: quiet",
            "Newcomers yet to contribute: newbie, newbie2",
        ]
    );

    for gone in ["busy", "quiet", "newbie"] {
        app.member_left(Platform::Console, "forest", gone)
            .await
            .unwrap();
    }
    // Names and counts alike: no "and 1 more" for someone who is not listed.
    assert_eq!(
        lists().await,
        [
            "May be overloaded: busy2",
            "Inactive for more than 30 days: none",
            "Newcomers yet to contribute: newbie2",
        ]
    );

    // Back the same day, busy is listed again.
    app.member_joined(&Envelope {
        platform: Platform::Console,
        workspace_id: "forest".into(),
        workspace_name: "forest".into(),
        user_id: "busy".into(),
        user_name: "busy".into(),
        role: Role::Member,
    })
    .await
    .unwrap();
    assert_eq!(lists().await[0], "May be overloaded: busy, busy2");

    // One member doing half the work is overloaded by that alone, unless they left.
    let pat = actor(&app, "pond", "pat", Role::Organiser).await;
    let solo = actor(&app, "pond", "solo", Role::Member).await;
    for i in 0..10 {
        app.handle_line(&solo, &format!("contribute dig {i}"))
            .await
            .unwrap();
    }
    for name in ["a", "b", "c", "d"] {
        let who = actor(&app, "pond", name, Role::Member).await;
        app.handle_line(&who, "contribute help").await.unwrap();
    }
    let overloaded = async || {
        let text = app.handle_line(&pat, "health").await.unwrap().plain();
        line(&text, "May be overloaded: ").to_string()
    };
    assert_eq!(overloaded().await, "May be overloaded: solo");
    app.member_left(Platform::Console, "pond", "solo")
        .await
        .unwrap();
    assert_eq!(overloaded().await, "May be overloaded: none");
}

#[tokio::test]
async fn stats_show_alignment_new_members_goal_achievement_and_warn_of_drift() {
    let dir = tempfile::tempdir().unwrap();
    let start = Utc.with_ymd_and_hms(2026, 10, 1, 12, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let app = open(&dir, clock.clone()).await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    app.handle_line(&olga, "mission set Grow a forest")
        .await
        .unwrap();
    app.handle_line(&olga, "mission value add care")
        .await
        .unwrap();
    // Two goals due on 2026-10-10: "met" reaches its target on the 5th, "missed" never does.
    app.handle_line(
        &olga,
        "goal create Met target=2 slug=met deadline=2026-10-10",
    )
    .await
    .unwrap();
    app.handle_line(
        &olga,
        "goal create Missed target=100 slug=missed deadline=2026-10-10",
    )
    .await
    .unwrap();
    let ana = actor(&app, "forest", "ana", Role::Member).await;
    clock.set(start + Duration::days(4));
    app.handle_line(&ana, "contribute one goal=met")
        .await
        .unwrap();
    app.handle_line(&ana, "contribute two goal=met")
        .await
        .unwrap();
    app.handle_line(&ana, "contribute three goal=missed")
        .await
        .unwrap();

    // 2026-11-20: in the 28 days ending today (10-24 … 11-20), ben joins and logs
    // four contributions, one with a value: alignment ¼ = 25 %, below half.
    clock.set(start + Duration::days(50));
    let ben = actor(&app, "forest", "ben", Role::Member).await;
    app.handle_line(&ben, "contribute a value=care")
        .await
        .unwrap();
    for text in ["b", "c", "d"] {
        app.handle_line(&ben, &format!("contribute {text}"))
            .await
            .unwrap();
    }
    let text = app.handle_line(&olga, "stats").await.unwrap().plain();
    assert!(text.contains("Aligned with a goal or value: 25%"), "{text}");
    // ben joined in the window; olga and ana joined before it.
    assert!(text.contains("New members: 1"), "{text}");
    // Deadline passed for both goals; one was met by it: 1 of 2.
    assert!(
        text.contains("Goals met by their deadline: 1 of 2 (50%)"),
        "{text}"
    );
    assert!(text.contains("Drift warning:"), "{text}");

    // Over the 90 days (07-23 … 11-20) all 7 contributions count; 4 are linked
    // (three to goals, one to a value): 57 %, no warning.
    let text = app
        .handle_line(&olga, "stats period=90d")
        .await
        .unwrap()
        .plain();
    assert!(text.contains("Aligned with a goal or value: 57%"), "{text}");
    assert!(!text.contains("Drift warning"), "{text}");

    // The community decides where drift begins: at 20 %, 25 % is no warning.
    app.handle_line(&olga, "setup alignment 20").await.unwrap();
    let text = app.handle_line(&olga, "stats").await.unwrap().plain();
    assert!(
        text.contains("Aligned with a goal or value: 25%") && !text.contains("Drift warning"),
        "{text}"
    );
    assert!(app.handle_line(&olga, "setup alignment 120").await.is_err());
    assert!(app.handle_line(&ana, "setup alignment 10").await.is_err());
}

#[tokio::test]
async fn leaderboards_for_the_week_month_all_time_and_most_improved() {
    let dir = tempfile::tempdir().unwrap();
    // Today is 2026-11-29; T-n is n days earlier.
    let today = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap();
    let app = open(&dir, Arc::new(ManualClock::new(today))).await;
    let ana = actor(&app, "forest", "ana", Role::Member).await;
    let ben = actor(&app, "forest", "ben", Role::Member).await;
    let cai = actor(&app, "forest", "cai", Role::Member).await;
    let on = |days: i64| {
        (today - Duration::days(days))
            .format("%Y-%m-%d")
            .to_string()
    };
    // ana: six on T-45 and one on T-2. ben: two on T-10, one on T-3.
    // cai: one on T-40, four on T-1. ben thanks cai today.
    for (who, days, times) in [
        (&ana, 45, 6),
        (&ana, 2, 1),
        (&ben, 10, 2),
        (&ben, 3, 1),
        (&cai, 40, 1),
        (&cai, 1, 4),
    ] {
        for _ in 0..times {
            app.handle_line(who, &format!("contribute work date={}", on(days)))
                .await
                .unwrap();
        }
    }
    app.handle_line(&ben, "kudos @cai for the help")
        .await
        .unwrap();

    let board = |name: &'static str| {
        let app = app.clone();
        let ana = ana.clone();
        async move {
            app.handle_line(&ana, &format!("leaderboard {name}"))
                .await
                .unwrap()
                .plain()
        }
    };
    // Last 7 days (T-6 … T): cai 4, then ana 1 and ben 1 (joined first wins a tie).
    assert_eq!(
        board("week").await,
        "Leaderboard · last 7 days\n1. cai · 4 · 1 kudos\n2. ana · 1\n3. ben · 1"
    );
    // Last 30 days (T-29 … T): cai 4, ben 3, ana 1.
    assert_eq!(
        board("month").await,
        "Leaderboard · last 30 days\n1. cai · 4 · 1 kudos\n2. ben · 3\n3. ana · 1"
    );
    // All time: ana 7, cai 5, ben 3.
    assert_eq!(
        board("all").await,
        "Leaderboard · all time\n1. ana · 7\n2. cai · 5 · 1 kudos\n3. ben · 3"
    );
    // Against the 30 days before (T-59 … T-30): cai 1 → 4 and ben 0 → 3 both rose
    // by 3 (cai, with more now, first); ana fell from 6 to 1 and is not listed.
    assert_eq!(
        board("improved").await,
        "Most improved · last 30 days against the 30 before\n\
         1. cai · 4 contributions, up from 1 in the 30 days before\n\
         2. ben · 3 contributions, up from 0 in the 30 days before"
    );
    assert!(app.handle_line(&ana, "leaderboard forever").await.is_err());
}

#[tokio::test]
async fn signals_follow_activity_during_the_day_and_from_day_to_day() {
    let dir = tempfile::tempdir().unwrap();
    let start = Utc.with_ymd_and_hms(2026, 11, 13, 18, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let app = open(&dir, clock.clone()).await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let eager = actor(&app, "forest", "eager", Role::Member).await;
    // Day 0: two helpers log 12 contributions each, so nobody carries half the work
    // alone (absence factor 2 throughout: 13 × 2 < 13 + 24).
    for name in ["h1", "h2"] {
        let who = actor(&app, "forest", name, Role::Member).await;
        for i in 0..12 {
            app.handle_line(&who, &format!("contribute batch {i}"))
                .await
                .unwrap();
        }
    }
    // eager: days 1 … 12.
    for d in 1..=12 {
        clock.set(start + Duration::days(d));
        app.handle_line(&eager, "contribute watering")
            .await
            .unwrap();
    }
    let overloaded = async |app: &keel::app::App| {
        let text = app.handle_line(&olga, "health").await.unwrap().plain();
        line(&text, "May be overloaded: ").to_string()
    };
    // Day 13, before eager's turn: 12 of the last 14 days (< 12.6).
    clock.set(start + Duration::days(13));
    assert_eq!(overloaded(&app).await, "May be overloaded: none");
    // The same day, once eager has contributed: 13 of 14, flagged without waiting
    // for the next day's recomputation.
    app.handle_line(&eager, "contribute watering")
        .await
        .unwrap();
    assert_eq!(overloaded(&app).await, "May be overloaded: eager");
    // Day 14: the last 14 days are 1 … 14, of which eager was active on 13: still.
    clock.set(start + Duration::days(14));
    assert_eq!(overloaded(&app).await, "May be overloaded: eager");
    // Day 16: days 3 … 16, active on 11: no longer.
    clock.set(start + Duration::days(16));
    assert_eq!(overloaded(&app).await, "May be overloaded: none");
}

/// The names a health line lists, without the counts around them.
fn listed(text: &str, starts: &str) -> Vec<String> {
    let names = line(text, starts).trim_start_matches(starts);
    let names = names.split(" (").next().unwrap();
    let names = names.split(" and ").next().unwrap();
    if names.starts_with("none") {
        return Vec::new();
    }
    names.split(", ").map(str::to_string).collect()
}

#[tokio::test]
async fn health_pages_every_list_and_export_health_holds_every_name() {
    let dir = tempfile::tempdir().unwrap();
    let today = Utc.with_ymd_and_hms(2026, 11, 26, 18, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(today - Duration::days(40)));
    let app = open(&dir, clock.clone()).await;
    // 27 members last active 40 days ago: inactive, and no longer newcomers.
    for i in 0..27 {
        let who = actor(&app, "forest", &format!("old{i:02}"), Role::Member).await;
        app.handle_line(&who, "contribute long ago").await.unwrap();
    }
    clock.set(today);
    // Today: the organiser and 59 members who have not contributed (60
    // newcomers), and one member who does all of the month's work (overloaded).
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    for i in 0..59 {
        actor(&app, "forest", &format!("new{i:02}"), Role::Member).await;
    }
    let worker = actor(&app, "forest", "worker", Role::Member).await;
    app.handle_line(&worker, "contribute all of it")
        .await
        .unwrap();

    let first = app.handle_line(&olga, "health").await.unwrap();
    assert_eq!(
        first.title.as_deref(),
        Some("Community health · forest · page 1 of 3")
    );
    let text = first.plain();
    assert!(
        line(&text, "Newcomers yet to contribute: ").ends_with(" and 35 more"),
        "{text}"
    );
    assert!(line(&text, "Inactive for more than 30 days: ").ends_with(" and 2 more"));
    assert_eq!(
        line(&text, "May be overloaded: "),
        "May be overloaded: worker"
    );
    assert!(
        text.contains("More names: health page=2. Every name at once, as a file: export health."),
        "{text}"
    );

    let second = app
        .handle_line(&olga, "health page=2")
        .await
        .unwrap()
        .plain();
    assert!(
        line(&second, "Newcomers yet to contribute: ").ends_with("(26–50 of 60; 10 more)"),
        "{second}"
    );
    assert!(line(&second, "Inactive for more than 30 days: ").ends_with("(26–27 of 27)"));
    assert_eq!(
        line(&second, "May be overloaded: "),
        "May be overloaded: none on this page (1 in all)"
    );
    assert!(second.contains("More names: health page=3."), "{second}");

    let third = app
        .handle_line(&olga, "health page=3")
        .await
        .unwrap()
        .plain();
    assert!(!third.contains("health page=4"), "the last page: {third}");
    let past = app
        .handle_line(&olga, "health page=4")
        .await
        .unwrap()
        .plain();
    assert!(past.contains("The lists end on page 3"), "{past}");

    // The pages together name every newcomer and every inactive member once.
    let mut newcomers = Vec::new();
    let mut inactive = Vec::new();
    for page in [&text, &second, &third] {
        newcomers.extend(listed(page, "Newcomers yet to contribute: "));
        inactive.extend(listed(page, "Inactive for more than 30 days: "));
    }
    let unique = |names: &[String]| {
        names
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    assert_eq!((newcomers.len(), unique(&newcomers)), (60, 60));
    assert_eq!((inactive.len(), unique(&inactive)), (27, 27));

    // `export health`: every name of every list in one CSV file.
    let export = app.handle_line(&olga, "export health").await.unwrap();
    assert!(export.is_private());
    let file = &export.attachments[0];
    assert!(file.filename.ends_with("-health.csv"), "{}", file.filename);
    let csv = file.contents().unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_slice());
    assert_eq!(
        reader.headers().unwrap(),
        vec!["list", "member", "last_active", "joined"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let on = |list: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| &r[0] == list)
            .map(|r| r[1].to_string())
            .collect()
    };
    assert_eq!(on("newcomer yet to contribute"), newcomers);
    assert_eq!(on("inactive"), inactive);
    assert_eq!(on("overloaded"), ["worker"]);
    assert!(on("drifting away").is_empty());
    assert_eq!(rows.len(), 88);
    let old = rows.iter().find(|r| &r[1] == "old00").unwrap();
    assert_eq!((&old[2], &old[3]), ("2026-10-17", "2026-10-17"));
    assert!(
        export.plain().contains("88 names on the health lists"),
        "{}",
        export.plain()
    );

    // CSV only; and members may neither page nor export.
    let json = app
        .handle_line(&olga, "export health format=json")
        .await
        .unwrap_err();
    assert!(json.to_string().contains("CSV only"), "{json}");
    assert!(app.handle_line(&worker, "health page=2").await.is_err());
    assert!(app.handle_line(&worker, "export health").await.is_err());
    let zero = app.handle_line(&olga, "health page=0").await.unwrap_err();
    assert!(
        zero.to_string().contains("`0` is not a page number"),
        "{zero}"
    );
}
