//! The population counts of migration 0004 (what `stats`, `health`, `stats me` and
//! the digest read instead of counting members or contributions) stay equal to a
//! recount from the rows they summarise, through a mixed run: contributions with
//! and without amounts (some backdated), kudos, members going away and coming
//! back, members leaving, forget-me, merging two members with `link`, health
//! signals computed, and days passing (windows rolling over, long gaps included).
//! `KEEL_SEED=n` replays another run.

#[path = "support/db.rs"]
mod db;
#[path = "support/keel.rs"]
mod support;

use std::sync::Arc;

use chrono::{Days, Duration, TimeZone, Utc};
use keel::app::App;
use keel::domain::clock::ManualClock;
use keel::domain::{Envelope, Platform, Reply, Role, UserError};
use support::{actor, open};

/// A small deterministic generator (the same as the seam tests').
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn console(user: &str) -> Envelope {
    Envelope {
        platform: Platform::Console,
        workspace_id: "forest".into(),
        workspace_name: "forest".into(),
        user_id: user.into(),
        user_name: user.into(),
        role: Role::Member,
    }
}

fn discord(user_id: &str, user_name: &str, role: Role) -> Envelope {
    Envelope {
        platform: Platform::Discord,
        workspace_id: "G1".into(),
        workspace_name: "Guild G1".into(),
        user_id: user_id.into(),
        user_name: user_name.into(),
        role,
    }
}

fn code_of(reply: &Reply) -> String {
    let code = reply.lines[0].plain();
    assert!(code.starts_with("KEEL-"), "not a link code: {code:?}");
    code
}

async fn ok(app: &App, actor: &keel::domain::Actor, line: &str) -> Reply {
    match app.handle_line(actor, line).await {
        Ok(reply) => reply,
        Err(e) => panic!("`{line}` failed: {e:?}"),
    }
}

type Rows = db::TextRows;

/// Every row of a query, each column as text, sorted.
async fn rows(app: &App, sql: &str) -> Rows {
    db::text_rows(app, sql).await
}

/// Each kept count (left) against the same figure recounted from its rows (right).
const PAIRS: &[(&str, &str, &str)] = &[
    (
        "members per window total",
        "SELECT community_id, window_days, contributions, members FROM member_window_histogram WHERE members <> 0",
        "SELECT community_id, window_days, contributions, count(*) FROM member_window_totals
         WHERE contributions > 0 GROUP BY 1, 2, 3",
    ),
    (
        "joins, leaves and newcomers yet to contribute per day",
        "SELECT community_id, day, joins, leaves, silent FROM community_daily_members
         WHERE joins <> 0 OR leaves <> 0 OR silent <> 0",
        "SELECT community_id, day, CAST(SUM(joins) AS BIGINT), CAST(SUM(leaves) AS BIGINT),
                CAST(SUM(silent) AS BIGINT) FROM (
            SELECT community_id, substr(joined_at, 1, 10) AS day, 1 AS joins, 0 AS leaves,
                   CASE WHEN contribution_count = 0 THEN 1 ELSE 0 END AS silent FROM members
            UNION ALL
            SELECT community_id, substr(left_at, 1, 10), 0, 1, 0 FROM members WHERE left_at IS NOT NULL
         ) AS d GROUP BY 1, 2",
    ),
    (
        "members by last active day",
        "SELECT community_id, day, members, away FROM community_last_active WHERE members <> 0 OR away <> 0",
        "SELECT community_id, last_active_on, count(*),
                CAST(SUM(CASE WHEN away_since IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) FROM members
         WHERE last_active_on IS NOT NULL AND left_at IS NULL GROUP BY 1, 2",
    ),
    (
        "newcomer conversion per day",
        "SELECT community_id, day, newcomers, second, fourth FROM community_conversion
         WHERE newcomers <> 0 OR second <> 0 OR fourth <> 0",
        "SELECT community_id, first_contribution_on, count(*),
                CAST(SUM(CASE WHEN second_contribution_on <= {first_plus_90} THEN 1 ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN fourth_contribution_on <= {first_plus_90} THEN 1 ELSE 0 END) AS BIGINT)
         FROM members WHERE first_contribution_on IS NOT NULL GROUP BY 1, 2",
    ),
    (
        "members showing a signal, not away",
        "SELECT community_id, signal, members FROM community_signal_counts WHERE members <> 0",
        "SELECT s.community_id, s.signal, count(*) FROM member_signals s JOIN members m ON m.id = s.member_id
         WHERE m.away_since IS NULL GROUP BY 1, 2",
    ),
    (
        "milestones per moment",
        "SELECT community_id, achieved_at, reached FROM community_milestone_moments WHERE reached <> 0",
        "SELECT community_id, achieved_at, count(*) FROM milestone_achievements GROUP BY 1, 2",
    ),
    (
        "amounts per member and unit",
        "SELECT member_id, unit, amount FROM member_unit_amounts WHERE amount <> 0",
        "SELECT member_id, unit, SUM(amount) FROM contributions
         WHERE amount IS NOT NULL AND unit IS NOT NULL GROUP BY 1, 2 HAVING SUM(amount) <> 0",
    ),
];

async fn check(app: &App, when: &str) {
    // The day 90 days after a member's first contribution, in each engine's words.
    let first_plus_90 = match app.store().inspect() {
        keel::store::Inspect::Sqlite(_) => "date(first_contribution_on, '+90 days')",
        keel::store::Inspect::Postgres(_) => {
            "to_char(first_contribution_on::date + 90, 'YYYY-MM-DD')"
        }
    };
    for (name, kept, recounted) in PAIRS {
        let recounted = recounted.replace("{first_plus_90}", first_plus_90);
        assert_eq!(
            rows(app, kept).await,
            rows(app, &recounted).await,
            "{name}, {when}"
        );
    }
    // No count ever goes below zero.
    for sql in [
        "SELECT count(*) FROM member_window_histogram WHERE members < 0",
        "SELECT count(*) FROM community_daily_members WHERE joins < 0 OR leaves < 0 OR silent < 0",
        "SELECT count(*) FROM community_last_active WHERE members < 0 OR away < 0 OR away > members",
        "SELECT count(*) FROM community_conversion WHERE newcomers < 0 OR second < 0 OR fourth < 0",
        "SELECT count(*) FROM community_signal_counts WHERE members < 0",
        "SELECT count(*) FROM community_milestone_moments WHERE reached < 0",
    ] {
        assert_eq!(
            rows(app, sql).await,
            vec![vec!["0".to_string()]],
            "{sql}, {when}"
        );
    }
}

/// What members' active days feed, kept as they change: DAU, WAU and MAU with the
/// day's contributions and kudos, the retention cohorts, and each member's first
/// and last active days.
const ROLLUPS: &[(&str, &str)] = &[
    (
        "daily rollup",
        "SELECT community_id, day, dau, wau, mau, contributions, kudos, aligned FROM community_daily_activity
         WHERE dau <> 0 OR wau <> 0 OR mau <> 0 OR contributions <> 0 OR kudos <> 0 OR aligned <> 0",
    ),
    (
        "retention cohorts",
        "SELECT community_id, period_kind, cohort, period, members FROM cohort_activity WHERE members <> 0",
    ),
    (
        "first and last active days",
        "SELECT id, first_active_on, last_active_on FROM members",
    ),
];

/// The rollups kept change by change equal what rebuilding them from the members'
/// daily rows gives (the rebuild is rolled back).
async fn check_rollups_against_rebuild(app: &App, when: &str) {
    let mut kept = Vec::new();
    for (_, sql) in ROLLUPS {
        kept.push(rows(app, sql).await);
    }
    let mut tx = db::writer(app).await;
    let communities: Vec<i64> = tx.scalars("SELECT id FROM communities", &[]).await;
    for community in communities {
        let community = keel::domain::CommunityId(community);
        tx.steps().rebuild_rollups(community).await.unwrap();
    }
    for ((name, sql), kept) in ROLLUPS.iter().zip(kept) {
        assert_eq!(kept, tx.text_rows(sql).await, "{name}, {when}");
    }
    tx.rollback().await;
}

/// Once the windows are caught up to today, the members per window total equal a
/// recount from the contributions themselves.
async fn check_windows_against_contributions(app: &App, community: i64, when: &str) {
    keel::jobs::windows::catch_up_all(app).await.unwrap();
    let today = app.today();
    for window in keel::store::windows::WINDOWS {
        let first = today - Days::new(u64::from(window) - 1);
        let kept = rows(
            app,
            &format!(
                "SELECT contributions, members FROM member_window_histogram
                 WHERE community_id = {community} AND window_days = {window} AND members <> 0"
            ),
        )
        .await;
        let recounted = rows(
            app,
            &format!(
                "SELECT n, count(*) FROM (SELECT count(*) AS n FROM contributions
                 WHERE community_id = {community} AND happened_on BETWEEN '{first}' AND '{today}'
                 GROUP BY member_id) AS per_member GROUP BY n"
            ),
        )
        .await;
        assert_eq!(kept, recounted, "{window}-day window, {when}");
    }
}

#[derive(Debug, Default)]
struct Tally {
    contributions: u32,
    bursts: u32,
    with_amounts: u32,
    kudos: u32,
    away: u32,
    left: u32,
    forgotten: u32,
    merged: u32,
    signals_seen: u32,
    windows_checked: u32,
}

#[tokio::test]
async fn population_counts_match_a_recount_after_every_kind_of_change() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap(),
    ));
    let app = open(&dir, clock.clone()).await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let community = olga.community.0;
    // One community over the console and a Discord server, so `link` can merge.
    let code = code_of(&ok(&app, &olga, "link community").await);
    let dora = app
        .actor(&discord("1", "dora", Role::Organiser))
        .await
        .unwrap();
    ok(&app, &dora, &format!("link {code}")).await;
    let mut everyone: Vec<Envelope> = (0..6).map(|i| console(&format!("m{i}"))).collect();
    everyone.extend((0..3).map(|i| discord(&format!("10{i}"), &format!("d{i}"), Role::Member)));
    // A member who contributes every day (overloaded by active days) and one who
    // stops after a long steady run (drifting away), so signals come and go.
    let steady = console("steady");
    let fading = console("fading");

    let seed = std::env::var("KEEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(11);
    let mut rng = Lcg(seed);
    let mut tally = Tally::default();
    check(&app, "at the start").await;

    for step in 0..150u64 {
        let today = app.today();
        let when = format!("step {step} ({today})");
        let who = app.actor(&steady).await.unwrap();
        ok(&app, &who, &format!("contribute Daily round {step}")).await;
        if step < 100 && step % 7 < 4 {
            let who = app.actor(&fading).await.unwrap();
            ok(&app, &who, "contribute Weekly shift amount=2 unit=hours").await;
        }
        for _ in 0..rng.next(4) {
            let who = app.actor(&everyone[rng.next(9) as usize]).await.unwrap();
            let back = match rng.next(8) {
                0 => rng.next(91),
                1 | 2 => rng.next(12),
                _ => 0,
            };
            let on = today - Days::new(back);
            let amount = match rng.next(3) {
                0 => format!(" amount={} unit=trees", rng.next(9) + 1),
                1 => format!(" amount={} unit=hours", rng.next(4) + 1),
                _ => String::new(),
            };
            tally.with_amounts += u32::from(!amount.is_empty());
            ok(
                &app,
                &who,
                &format!("contribute Task {step} date={on}{amount}"),
            )
            .await;
            tally.contributions += 1;
        }
        if rng.next(6) == 0 {
            // A burst, written as one batch while the writer is held: members on
            // days weeks apart, some of them new that day.
            let mut who_and_when = Vec::new();
            for _ in 0..2 + rng.next(5) {
                let who = app.actor(&everyone[rng.next(9) as usize]).await.unwrap();
                who_and_when.push((who, today - Days::new(rng.next(70))));
            }
            let held = db::writer(&app).await;
            let mut burst = Vec::new();
            for (who, on) in who_and_when {
                let app = app.clone();
                burst.push(tokio::spawn(async move {
                    app.handle_line(&who, &format!("contribute Burst date={on}"))
                        .await
                }));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            held.rollback().await;
            for contribution in burst {
                contribution.await.unwrap().unwrap();
                tally.contributions += 1;
            }
            tally.bursts += 1;
        }
        if rng.next(2) == 0 {
            let from_env = &everyone[rng.next(9) as usize];
            let to_env = &everyone[rng.next(9) as usize];
            let from = app.actor(from_env).await.unwrap();
            let to = app.actor(to_env).await.unwrap();
            if from.member != to.member {
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
        if rng.next(6) == 0 {
            let pool = [&steady, &fading, &everyone[rng.next(9) as usize]];
            let who = app.actor(pool[rng.next(3) as usize]).await.unwrap();
            let line = if rng.next(2) == 0 {
                "away on"
            } else {
                "away off"
            };
            ok(&app, &who, line).await;
            tally.away += 1;
        }
        if rng.next(10) == 0 {
            // Keel has no "left" event from the platforms yet; the column is what
            // one sets (and clears, should they come back).
            let who = app.actor(&everyone[rng.next(9) as usize]).await.unwrap();
            let left = (rng.next(3) > 0).then(|| keel::store::ts(app.now()));
            db::execute(
                &app,
                "UPDATE members SET left_at = ? WHERE id = ?",
                &[left.into(), who.member.into()],
            )
            .await;
            tally.left += 1;
        }
        if rng.next(12) == 0 {
            let who = app.actor(&everyone[rng.next(9) as usize]).await.unwrap();
            ok(&app, &who, "forget-me confirm").await;
            tally.forgotten += 1;
        }
        if rng.next(9) == 0 {
            let into = app.actor(&everyone[rng.next(9) as usize]).await.unwrap();
            let from = app.actor(&everyone[rng.next(9) as usize]).await.unwrap();
            let code = code_of(&ok(&app, &into, "link").await);
            match app.handle_line(&from, &format!("link {code}")).await {
                Ok(_) => tally.merged += 1,
                Err(UserError::Conflict { .. }) => {}
                Err(e) => panic!("link: {e:?}"),
            }
        }
        match rng.next(4) {
            // Signals computed for today, then kept for the members who changed.
            0 => {
                ok(&app, &olga, "health").await;
                let flagged = rows(&app, "SELECT count(*) FROM member_signals").await;
                tally.signals_seen += u32::from(flagged != vec![vec!["0".to_string()]]);
            }
            1 => {
                ok(&app, &olga, "stats").await;
            }
            _ => {}
        }
        check(&app, &when).await;
        check_rollups_against_rebuild(&app, &when).await;
        if rng.next(5) == 0 {
            check_windows_against_contributions(&app, community, &when).await;
            tally.windows_checked += 1;
            check(&app, &format!("{when}, windows caught up")).await;
        }
        let jump = match rng.next(25) {
            0 => 35,
            1..=3 => 3,
            _ => 1,
        };
        clock.advance(Duration::days(jump));
    }
    ok(&app, &olga, "health").await;
    check_windows_against_contributions(&app, community, "the end").await;
    check(&app, "the end").await;
    eprintln!("{tally:?}");
    assert!(
        tally.contributions > 100
            && tally.bursts > 10
            && tally.with_amounts > 30
            && tally.kudos > 20
            && tally.away > 5
            && tally.left > 3
            && tally.forgotten > 3
            && tally.merged > 3
            && tally.signals_seen > 3
            && tally.windows_checked > 10,
        "the run did not cover every kind of change: {tally:?}"
    );
}

/// The demo loader (and so the benchmarks' generated communities) leaves the
/// same counts a recount gives.
#[tokio::test]
async fn the_demo_loader_leaves_population_counts_that_match_a_recount() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap(),
    ));
    let app = open(&dir, clock.clone()).await;
    let options = keel::demo::DemoOptions {
        community: "demo".into(),
        members: 300,
        contributions: 4000,
        days: 200,
        seed: 3,
    };
    let summary = keel::demo::generate(app.store(), &options, app.now())
        .await
        .unwrap();
    let olga = actor(&app, "demo", "ada", Role::Organiser).await;
    ok(&app, &olga, "health").await;
    check(&app, "after the demo loader").await;
    check_windows_against_contributions(&app, summary.community.0, "after the demo loader").await;
    // Something was counted.
    let histogram = rows(
        &app,
        "SELECT count(*) FROM member_window_histogram WHERE members > 0",
    )
    .await;
    assert_ne!(histogram, vec![vec!["0".to_string()]]);
}

/// A catch-up counts the new rows on a read snapshot before it takes the write
/// lock. Should the totals be rebuilt in between (here the member who wrote those
/// rows is erased, which leaves the marks where they were), what it counted is
/// stale: it must count again, not add the erased member's rows back.
#[tokio::test]
async fn a_catch_up_counted_before_a_rebuild_counts_again() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap(),
    ));
    let app = open(&dir, clock.clone()).await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let xavi = actor(&app, "forest", "xavi", Role::Member).await;
    let community = olga.community;
    ok(&app, &xavi, "contribute Watered the saplings").await;
    ok(&app, &olga, "contribute Planted a tree").await;
    keel::jobs::windows::catch_up_all(&app).await.unwrap();
    let marks = "SELECT contribution_id, rebuilds FROM community_window_marks";
    let before = rows(&app, marks).await;

    ok(&app, &xavi, "contribute Mulched the beds").await;
    ok(&app, &xavi, "contribute Mended the fence").await;
    // Counted on a read snapshot, as `Store::catch_up_windows` does, then applied
    // after an erasure came in between.
    let counted = app
        .store()
        .count_windows_since_marks(community)
        .await
        .unwrap();
    ok(&app, &xavi, "forget-me confirm").await;
    let after_erasure = rows(&app, marks).await;
    assert_eq!(
        after_erasure[0][0], before[0][0],
        "the erasure was to leave the marks where they were"
    );
    assert_ne!(after_erasure, before, "the erasure did not count a rebuild");

    let today = app.today();
    let mut writer = db::writer(&app).await;
    writer
        .steps()
        .catch_up_counted(community, today, counted)
        .await
        .unwrap();
    writer.commit().await;
    check_windows_against_contributions(&app, community.0, "after the erasure").await;
    assert_eq!(
        rows(
            &app,
            "SELECT member_id, contributions FROM member_window_totals WHERE window_days = 7"
        )
        .await,
        vec![vec![olga.member.0.to_string(), "1".to_string()]]
    );
}

/// A generated community whose first member ("ada") has well over two chunks of
/// contributions to erase, with kudos between members.
async fn demo_community(app: &App) -> i64 {
    let options = keel::demo::DemoOptions {
        community: "demo".into(),
        members: 20,
        contributions: 5000,
        days: 120,
        seed: 5,
    };
    let summary = keel::demo::generate(app.store(), &options, app.now())
        .await
        .unwrap();
    summary.community.0
}

fn demo_member(name: &str) -> Envelope {
    Envelope {
        platform: Platform::Console,
        workspace_id: "demo".into(),
        workspace_name: "demo".into(),
        user_id: name.into(),
        user_name: name.into(),
        role: Role::Member,
    }
}

async fn count_for(app: &App, sql: &str, id: i64) -> i64 {
    db::scalar(app, sql, &[id.into()]).await
}

/// How far the window totals have counted: what a rebuild of the community moves.
const MARKS: &str = "SELECT contribution_id, kudos_id FROM community_window_marks";

/// R6: forget-me and `link` change the totals by the member's own rows. Others'
/// rows that the totals have not counted yet stay for the catch-up: nothing
/// counted the community again. Every figure then equals a recount.
#[tokio::test]
async fn forget_me_and_link_adjust_the_totals_by_the_members_own_rows() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap(),
    ));
    let app = open(&dir, clock.clone()).await;
    let community = demo_community(&app).await;
    let ada = app.actor(&demo_member("ada")).await.unwrap();
    let bob = app.actor(&demo_member("bob")).await.unwrap();
    let chloe = app.actor(&demo_member("chloe")).await.unwrap();
    ok(&app, &ada, "kudos @bob for the rota").await;
    ok(&app, &chloe, "kudos @ada for the rota").await;
    ok(&app, &bob, "kudos @chloe for the compost").await;
    keel::jobs::windows::catch_up_all(&app).await.unwrap();
    // Rows the totals have not counted yet.
    ok(&app, &chloe, "contribute Turned the compost").await;
    ok(&app, &chloe, "kudos @bob for the compost, again").await;
    let marks = rows(&app, MARKS).await;
    let ada_rows = count_for(
        &app,
        "SELECT count(*) FROM contributions WHERE member_id = ?",
        ada.member.0,
    )
    .await;
    let ada_kudos = count_for(
        &app,
        "SELECT count(*) FROM kudos WHERE from_member_id = ?1 OR to_member_id = ?1",
        ada.member.0,
    )
    .await;
    assert!(ada_rows > 1000, "ada has {ada_rows}: not several chunks");

    let r = ok(&app, &ada, "forget-me confirm").await;
    assert!(
        r.plain().contains(&format!(
            "Erased {ada_rows} contributions, {ada_kudos} kudos"
        )),
        "{}",
        r.plain()
    );
    assert_eq!(rows(&app, MARKS).await, marks, "forget-me counted again");
    check(&app, "after forget-me").await;
    check_rollups_against_rebuild(&app, "after forget-me").await;

    let code = code_of(&ok(&app, &chloe, "link").await);
    ok(&app, &bob, &format!("link {code}")).await;
    assert_eq!(rows(&app, MARKS).await, marks, "link counted again");
    check(&app, "after a merge").await;
    check_rollups_against_rebuild(&app, "after a merge").await;
    check_windows_against_contributions(&app, community, "after forget-me and a merge").await;
    check(&app, "after the catch-up").await;
    assert_eq!(
        count_for(
            &app,
            "SELECT count(*) FROM members WHERE id = ?",
            ada.member.0
        )
        .await,
        0
    );
}

/// An erasure stopped between two of its transactions (as a kill would leave it:
/// each is atomic) is picked up from its row after a restart and finished; every
/// figure then equals a recount.
#[tokio::test]
async fn an_erasure_stopped_halfway_finishes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap(),
    ));
    let app = open(&dir, clock.clone()).await;
    let community = demo_community(&app).await;
    let ada = app.actor(&demo_member("ada")).await.unwrap();
    ok(&app, &ada, "kudos @bob for the rota").await;
    let contributions = "SELECT count(*) FROM contributions WHERE member_id = ?";
    let before = count_for(&app, contributions, ada.member.0).await;

    // Requested as forget-me does it; then the job runs its first chunk and stops.
    let now = app.now();
    let mut writer = db::writer(&app).await;
    writer
        .steps()
        .request_erasure(ada.member, keel::store::forget::Reason::ForgetMe, now)
        .await
        .unwrap();
    writer.commit().await;
    app.forget_cached_actors();
    let again = app.actor(&demo_member("ada")).await.unwrap();
    assert_ne!(again.member, ada.member, "her identity went at once");
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let finished = keel::app::erase_pending(&app, || {
        calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2
    })
    .await
    .unwrap();
    assert_eq!(finished, 0);
    let left = count_for(&app, contributions, ada.member.0).await;
    assert_eq!(left, before - keel::store::forget::CHUNK as i64);
    app.store().close().await;
    drop(app);

    let app = open(&dir, clock.clone()).await;
    assert_eq!(keel::app::erase_pending(&app, || true).await.unwrap(), 1);
    assert_eq!(count_for(&app, contributions, ada.member.0).await, 0);
    for sql in [
        "SELECT count(*) FROM members WHERE id = ?",
        "SELECT count(*) FROM erasures WHERE member_id = ?",
        "SELECT count(*) FROM kudos WHERE from_member_id = ?1 OR to_member_id = ?1",
    ] {
        assert_eq!(count_for(&app, sql, ada.member.0).await, 0, "{sql}");
    }
    check(&app, "after the restart").await;
    check_rollups_against_rebuild(&app, "after the restart").await;
    check_windows_against_contributions(&app, community, "after the restart").await;
}

/// R8: a workspace purged from a community that lives on (it spans another) leaves
/// members whose only identity was there: nobody could ever ask for their erasure,
/// so the purge does. A member linked to another workspace stays.
#[tokio::test]
async fn a_purged_workspace_takes_the_members_it_leaves_without_an_identity() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap(),
    ));
    let app = open(&dir, clock.clone()).await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let community = olga.community.0;
    let code = code_of(&ok(&app, &olga, "link community").await);
    let dora = app
        .actor(&discord("1", "dora", Role::Organiser))
        .await
        .unwrap();
    ok(&app, &dora, &format!("link {code}")).await;
    // Now in olga's community.
    let dora = app
        .actor(&discord("1", "dora", Role::Organiser))
        .await
        .unwrap();
    let d1 = app
        .actor(&discord("101", "d1", Role::Member))
        .await
        .unwrap();
    let m1 = app.actor(&console("m1")).await.unwrap();
    let both = app
        .actor(&discord("102", "both", Role::Member))
        .await
        .unwrap();
    let code = code_of(&ok(&app, &m1, "link").await);
    ok(&app, &both, &format!("link {code}")).await;
    for who in [&d1, &dora, &olga, &m1] {
        ok(
            &app,
            who,
            "contribute Planted a row of hazels amount=3 unit=trees",
        )
        .await;
    }
    ok(&app, &d1, "contribute Cleared the pond").await;
    ok(&app, &d1, "kudos @olga for the hazels").await;
    ok(&app, &olga, "kudos @d1 for the pond").await;
    clock.advance(Duration::days(1));
    ok(&app, &d1, "contribute Fixed the gate").await;

    // Keel is removed from the Discord server; its grace period ends.
    let now = app.now();
    app.store()
        .schedule_purge(Platform::Discord, "G1", Some(now))
        .await
        .unwrap();
    let purged = app.store().purge_due_workspaces(now).await.unwrap();
    assert_eq!(purged.workspaces, 1);
    assert_eq!(purged.members_to_erase, 2, "d1 and dora; m1 is linked");
    assert_eq!(keel::app::erase_pending(&app, || true).await.unwrap(), 2);

    for gone in [d1.member.0, dora.member.0] {
        for sql in [
            "SELECT count(*) FROM members WHERE id = ?",
            "SELECT count(*) FROM contributions WHERE member_id = ?",
            "SELECT count(*) FROM kudos WHERE from_member_id = ?1 OR to_member_id = ?1",
            "SELECT count(*) FROM erasures WHERE member_id = ?",
        ] {
            assert_eq!(count_for(&app, sql, gone).await, 0, "{sql} for {gone}");
        }
    }
    assert_eq!(
        count_for(
            &app,
            "SELECT count(*) FROM contributions WHERE member_id = ?",
            m1.member.0
        )
        .await,
        1
    );
    assert_eq!(
        rows(&app, "SELECT contribution_count FROM communities").await,
        vec![vec!["2".to_string()]]
    );
    check(&app, "after the purge").await;
    check_rollups_against_rebuild(&app, "after the purge").await;
    check_windows_against_contributions(&app, community, "after the purge").await;
}

/// A merge stopped after its first chunk (the member rows merged, some of the
/// contributions moved) is finished from its row after a restart; every figure
/// then equals a recount.
#[tokio::test]
async fn a_merge_stopped_halfway_finishes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap(),
    ));
    let app = open(&dir, clock.clone()).await;
    let community = demo_community(&app).await;
    let bob = app.actor(&demo_member("bob")).await.unwrap();
    let chloe = app.actor(&demo_member("chloe")).await.unwrap();
    ok(&app, &bob, "kudos @chloe for the compost").await;
    ok(&app, &chloe, "kudos @bob for the rota").await;
    let contributions = "SELECT count(*) FROM contributions WHERE member_id = ?";
    let (bobs, chloes) = (
        count_for(&app, contributions, bob.member.0).await,
        count_for(&app, contributions, chloe.member.0).await,
    );
    assert!(bobs > keel::store::forget::CHUNK as i64, "bob has {bobs}");

    let now = app.now();
    let mut writer = db::writer(&app).await;
    writer
        .steps()
        .begin_merge(bob.community, bob.member, chloe.member, now)
        .await
        .unwrap();
    writer.commit().await;
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let finished = keel::app::merge_pending(&app, || {
        calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2
    })
    .await
    .unwrap();
    assert_eq!(finished, 0);
    assert_eq!(
        count_for(&app, contributions, bob.member.0).await,
        bobs - keel::store::forget::CHUNK as i64
    );
    app.store().close().await;
    drop(app);

    let app = open(&dir, clock.clone()).await;
    assert_eq!(keel::app::merge_pending(&app, || true).await.unwrap(), 1);
    assert_eq!(count_for(&app, contributions, bob.member.0).await, 0);
    assert_eq!(
        count_for(&app, contributions, chloe.member.0).await,
        bobs + chloes
    );
    for sql in [
        "SELECT count(*) FROM members WHERE id = ?",
        "SELECT count(*) FROM merges WHERE from_member_id = ?",
    ] {
        assert_eq!(count_for(&app, sql, bob.member.0).await, 0, "{sql}");
    }
    check(&app, "after the restart").await;
    check_rollups_against_rebuild(&app, "after the restart").await;
    check_windows_against_contributions(&app, community, "after the restart").await;
}

/// Two Keel processes on one database (on SQLite two writers on one file, on
/// PostgreSQL two pools), many members contributing towards a goal, thanking
/// each other and going away and back at once: afterwards every kept figure
/// equals a recount from the rows (no update lost between the processes), and
/// each goal milestone was reached once. `KEEL_SEED=n` replays another run.
#[tokio::test]
async fn concurrent_writers_in_two_processes_leave_every_figure_equal_to_a_recount() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap(),
    ));
    let first = open(&dir, clock.clone()).await;
    let second = open(&dir, clock.clone()).await;
    let olga = actor(&first, "forest", "olga", Role::Organiser).await;
    let community = olga.community.0;
    ok(
        &first,
        &olga,
        "goal create Plant trees target=600 unit=trees slug=trees",
    )
    .await;
    let seed: u64 = std::env::var("KEEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);

    let mut tasks = Vec::new();
    for worker in 0..16u64 {
        let app = if worker % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            let mut rng = Lcg(seed * 1000 + worker);
            let me = app.actor(&console(&format!("w{worker}"))).await.unwrap();
            for step in 0..25 {
                let line = match rng.next(6) {
                    0 => format!(
                        "kudos @w{} for step {step}",
                        (worker + 1 + rng.next(15)) % 16
                    ),
                    1 => "away on".to_string(),
                    2 => "away off".to_string(),
                    3 => format!(
                        "contribute Step {step} amount={} goal=trees",
                        rng.next(5) + 1
                    ),
                    _ => format!("contribute Step {step}"),
                };
                // Kudos to a member not there yet, or away twice, is refused: fine.
                let _ = app.handle_line(&me, &line).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    check(&first, "after two processes wrote at once").await;
    check_rollups_against_rebuild(&first, "after two processes wrote at once").await;
    check_windows_against_contributions(&first, community, "after two processes wrote at once")
        .await;
    for (name, kept, recounted) in [
        (
            "goal progress",
            "SELECT id, progress, contribution_count FROM goals",
            "SELECT g.id, COALESCE((SELECT SUM(amount) FROM contributions c WHERE c.goal_id = g.id), 0),
                    (SELECT count(*) FROM contributions c WHERE c.goal_id = g.id)
             FROM goals g",
        ),
        (
            "contributions per member",
            "SELECT id, contribution_count FROM members WHERE contribution_count > 0",
            "SELECT member_id, count(*) FROM contributions GROUP BY member_id",
        ),
        (
            "contributions per community",
            "SELECT id, contribution_count FROM communities",
            "SELECT community_id, count(*) FROM contributions GROUP BY community_id",
        ),
    ] {
        assert_eq!(rows(&first, kept).await, rows(&first, recounted).await, "{name}");
    }
    let reached: i64 = db::scalar(
        &first,
        "SELECT count(*) FROM milestone_achievements WHERE milestone_key LIKE 'goal.%'",
        &[],
    )
    .await;
    let announced: i64 = db::scalar(
        &first,
        "SELECT count(*) FROM announcements a JOIN milestone_achievements m ON m.id = a.achievement_id
         WHERE m.milestone_key LIKE 'goal.%'",
        &[],
    )
    .await;
    assert!(reached > 0, "the goal's milestones were reached");
    assert_eq!(reached, announced, "each goal milestone announced once");
    let written: i64 = db::scalar(&first, "SELECT count(*) FROM contributions", &[]).await;
    assert!(written > 100, "{written} contributions");
    first.store().close().await;
    second.store().close().await;
}

/// The counters a contribution feeds directly (left) against a recount from the
/// contributions (and kudos, for the hours) themselves (right).
const RECORD_PAIRS: &[(&str, &str, &str)] = &[
    (
        "goals' progress and counts",
        "SELECT id, progress, contribution_count FROM goals",
        "SELECT g.id, CAST(COALESCE(SUM(CASE WHEN c.id IS NULL THEN 0 WHEN g.unit IS NULL
                THEN COALESCE(c.amount, 1) ELSE COALESCE(c.amount, 0) END), 0) AS DOUBLE PRECISION),
                count(c.id)
         FROM goals g LEFT JOIN contributions c ON c.goal_id = g.id GROUP BY g.id",
    ),
    (
        "goals' daily progress",
        "SELECT goal_id, day, contributions, amount FROM goal_daily_progress WHERE contributions <> 0",
        "SELECT g.id, c.happened_on, count(*),
                CAST(SUM(CASE WHEN g.unit IS NULL THEN COALESCE(c.amount, 1) ELSE COALESCE(c.amount, 0) END)
                     AS DOUBLE PRECISION)
         FROM contributions c JOIN goals g ON g.id = c.goal_id GROUP BY 1, 2",
    ),
    (
        "goals met",
        "SELECT id FROM goals WHERE met_at IS NOT NULL",
        "SELECT g.id FROM goals g WHERE g.target <= (SELECT COALESCE(SUM(CASE WHEN g.unit IS NULL
                THEN COALESCE(c.amount, 1) ELSE COALESCE(c.amount, 0) END), 0)
            FROM contributions c WHERE c.goal_id = g.id)",
    ),
    (
        "members' contribution counts",
        "SELECT id, contribution_count FROM members WHERE contribution_count <> 0",
        "SELECT member_id, count(*) FROM contributions GROUP BY 1",
    ),
    (
        "communities' contribution counts",
        "SELECT id, contribution_count FROM communities",
        "SELECT m.id, count(c.id) FROM communities m LEFT JOIN contributions c ON c.community_id = m.id
         GROUP BY m.id",
    ),
    (
        "members' contributions per day",
        "SELECT member_id, day, contributions FROM member_daily_activity WHERE contributions <> 0",
        "SELECT member_id, happened_on, count(*) FROM contributions GROUP BY 1, 2",
    ),
    (
        "activity by hour",
        "SELECT community_id, day, hour, events FROM community_hourly_activity WHERE events <> 0",
        "SELECT community_id, day, hour, CAST(SUM(n) AS BIGINT) FROM (
            SELECT community_id, substr(created_at, 1, 10) AS day,
                   CAST(substr(created_at, 12, 2) AS BIGINT) AS hour, count(*) AS n
            FROM contributions GROUP BY 1, 2, 3
            UNION ALL
            SELECT community_id, substr(created_at, 1, 10), CAST(substr(created_at, 12, 2) AS BIGINT),
                   count(*)
            FROM kudos GROUP BY 1, 2, 3
         ) AS e GROUP BY 1, 2, 3",
    ),
];

async fn check_record(app: &App, when: &str) {
    for (name, kept, recounted) in RECORD_PAIRS {
        assert_eq!(
            rows(app, kept).await,
            rows(app, recounted).await,
            "{name}, {when}"
        );
    }
}

#[derive(Debug, Default)]
struct Corrections {
    contributed: u32,
    removed_by_organisers: u32,
    removed_by_their_members: u32,
    refused: u32,
    retracted: u32,
    forgotten: u32,
    merged: u32,
    kudos_removed: u32,
    edited: u32,
    edits_waiting: u32,
    waited: u32,
    approved: u32,
    rejected: u32,
}

/// Random runs of contribute (some waiting for review), remove and edit (by
/// organisers, or by members within their 7 days), review approve and reject,
/// kudos and its removal by organisers, forget-me and link-merge, with days
/// passing: after every step
/// every derived figure equals a recount from the rows left. `KEEL_SEED=n`
/// replays another run; `KEEL_STEPS=n` runs longer.
#[tokio::test]
async fn every_figure_follows_contributions_removed_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap(),
    ));
    let app = open(&dir, clock.clone()).await;
    let olga = actor(&app, "forest", "olga", Role::Organiser).await;
    let community = olga.community.0;
    let code = code_of(&ok(&app, &olga, "link community").await);
    let dora = app
        .actor(&discord("1", "dora", Role::Organiser))
        .await
        .unwrap();
    ok(&app, &dora, &format!("link {code}")).await;
    ok(
        &app,
        &olga,
        "goal create Plant trees target=60 unit=trees slug=trees review_above=22",
    )
    .await;
    ok(&app, &olga, "goal create Clean ups target=8 slug=cleanups").await;
    ok(&app, &olga, "milestone add Forty trees goal=trees at=40").await;
    let mut people: Vec<Envelope> = (0..5).map(|i| console(&format!("m{i}"))).collect();
    people.extend((0..2).map(|i| discord(&format!("20{i}"), &format!("d{i}"), Role::Member)));

    let seed = std::env::var("KEEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(18);
    let steps: u64 = std::env::var("KEEL_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let mut rng = Lcg(seed);
    let mut tally = Corrections::default();
    for step in 0..steps {
        let when = format!("step {step} ({})", app.today());
        let who_env = &people[rng.next(people.len() as u64) as usize];
        let who = app.actor(who_env).await.unwrap();
        match rng.next(12) {
            0..=3 => {
                let back = if rng.next(4) == 0 { rng.next(40) } else { 0 };
                let on = app.today() - Days::new(back);
                let extra = match rng.next(5) {
                    0 => format!(" amount={} goal=trees", rng.next(30) + 1),
                    1 => " goal=cleanups".to_string(),
                    2 => format!(" amount={} unit=hours", rng.next(4) + 1),
                    3 => " value=care".to_string(),
                    _ => String::new(),
                };
                let line = format!("contribute Step {step} date={on}{extra}");
                match app.handle_line(&who, &line).await {
                    Ok(reply) if reply.plain().contains("waits for review") => tally.waited += 1,
                    Ok(_) => tally.contributed += 1,
                    // value=care is not a value of the mission: refused, nothing written.
                    Err(UserError::NotFound { .. } | UserError::Invalid { .. }) => {}
                    Err(e) => panic!("{line}: {e:?}"),
                }
            }
            4..=6 => {
                // Any contribution: an organiser's removal, or a member trying theirs.
                let ids: Vec<i64> = db::scalars(
                    &app,
                    "SELECT id FROM contributions WHERE community_id = ? ORDER BY id",
                    &[community.into()],
                )
                .await;
                if ids.is_empty() {
                    continue;
                }
                let id = ids[rng.next(ids.len() as u64) as usize];
                let by_organiser = rng.next(2) == 0;
                let remover = if by_organiser { &olga } else { &who };
                let line = format!(r#"contribution remove #{id} reason="step {step}""#);
                match app.handle_line(remover, &line).await {
                    Ok(reply) => {
                        if by_organiser {
                            tally.removed_by_organisers += 1;
                        } else {
                            tally.removed_by_their_members += 1;
                        }
                        tally.retracted += reply
                            .plain()
                            .lines()
                            .filter(|l| l.starts_with("Milestone retracted"))
                            .count() as u32;
                    }
                    Err(UserError::Invalid { .. }) if !by_organiser => tally.refused += 1,
                    Err(e) => panic!("{line}: {e:?}"),
                }
            }
            7 if rng.next(3) == 0 => {
                let ids: Vec<i64> = db::scalars(
                    &app,
                    "SELECT id FROM kudos WHERE community_id = ? ORDER BY id",
                    &[community.into()],
                )
                .await;
                if ids.is_empty() {
                    continue;
                }
                let id = ids[rng.next(ids.len() as u64) as usize];
                ok(
                    &app,
                    &olga,
                    &format!(r#"kudos remove #{id} reason="step {step}""#),
                )
                .await;
                tally.kudos_removed += 1;
            }
            10 => {
                // Any contribution, edited by an organiser or a member trying theirs.
                let ids: Vec<i64> = db::scalars(
                    &app,
                    "SELECT id FROM contributions WHERE community_id = ? ORDER BY id",
                    &[community.into()],
                )
                .await;
                if ids.is_empty() {
                    continue;
                }
                let id = ids[rng.next(ids.len() as u64) as usize];
                let by_organiser = rng.next(2) == 0;
                let editor = if by_organiser { &olga } else { &who };
                let change = match rng.next(7) {
                    0 | 1 => format!("amount={} goal=trees", rng.next(30) + 1),
                    2 => "goal=cleanups".to_string(),
                    3 => "goal=-".to_string(),
                    4 => format!("date={}", app.today() - Days::new(rng.next(40))),
                    5 => format!("Edited at step {step}"),
                    _ => "value=-".to_string(),
                };
                let line = format!(r#"contribution edit #{id} {change} reason="step {step}""#);
                match app.handle_line(editor, &line).await {
                    Ok(reply) => {
                        tally.edited += 1;
                        if reply.plain().contains("waits for an organiser's review") {
                            tally.edits_waiting += 1;
                        }
                        tally.retracted += reply
                            .plain()
                            .lines()
                            .filter(|l| l.starts_with("Milestone retracted"))
                            .count() as u32;
                    }
                    Err(UserError::Invalid { .. }) => tally.refused += 1,
                    Err(e) => panic!("{line}: {e:?}"),
                }
            }
            11 => {
                let waiting: Vec<i64> = db::scalars(
                    &app,
                    "SELECT id FROM pending_contributions WHERE community_id = ? AND status = 'pending'
                     ORDER BY id",
                    &[community.into()],
                )
                .await;
                if waiting.is_empty() {
                    continue;
                }
                let id = waiting[rng.next(waiting.len() as u64) as usize];
                if rng.next(3) == 0 {
                    ok(
                        &app,
                        &olga,
                        &format!(r#"review reject #{id} reason="step {step}""#),
                    )
                    .await;
                    tally.rejected += 1;
                } else {
                    ok(&app, &olga, &format!("review approve #{id}")).await;
                    tally.approved += 1;
                }
            }
            7 => {
                let to_env = &people[rng.next(people.len() as u64) as usize];
                let to = app.actor(to_env).await.unwrap();
                if to.member != who.member {
                    let mention = if to.workspace == who.workspace {
                        format!("<@{}>", to_env.user_id)
                    } else {
                        format!("@{}", to.display_name)
                    };
                    match app
                        .handle_line(&who, &format!("kudos {mention} step {step}"))
                        .await
                    {
                        Ok(_) | Err(UserError::Invalid { .. }) => {}
                        Err(e) => panic!("kudos: {e:?}"),
                    }
                }
            }
            8 if rng.next(8) == 0 => {
                ok(&app, &who, "forget-me confirm").await;
                tally.forgotten += 1;
            }
            8 if rng.next(4) == 0 => {
                let from_env = &people[rng.next(people.len() as u64) as usize];
                let from = app.actor(from_env).await.unwrap();
                let code = code_of(&ok(&app, &who, "link").await);
                match app.handle_line(&from, &format!("link {code}")).await {
                    Ok(_) => tally.merged += 1,
                    Err(UserError::Conflict { .. }) => {}
                    Err(e) => panic!("link: {e:?}"),
                }
            }
            _ => {
                let hours = match rng.next(6) {
                    0 => 24 * 8,
                    1 | 2 => 24,
                    _ => 3,
                };
                clock.advance(Duration::hours(hours));
            }
        }
        check_record(&app, &when).await;
        check(&app, &when).await;
        if step % 10 == 0 {
            check_rollups_against_rebuild(&app, &when).await;
        }
        if rng.next(50) == 0 {
            check_windows_against_contributions(&app, community, &when).await;
        }
    }
    check_rollups_against_rebuild(&app, "the end").await;
    check_windows_against_contributions(&app, community, "the end").await;
    check_record(&app, "the end").await;
    check(&app, "the end").await;
    eprintln!("{tally:?}");
    if steps >= 2000 {
        assert!(
            tally.contributed > 300
                && tally.removed_by_organisers > 100
                && tally.removed_by_their_members > 15
                && tally.refused > 30
                && tally.retracted > 5
                && tally.forgotten > 3
                && tally.merged > 3
                && tally.kudos_removed > 10
                && tally.edited > 50
                && tally.edits_waiting > 3
                && tally.waited > 10
                && tally.approved > 10
                && tally.rejected > 3,
            "the run did not cover every kind of change: {tally:?}"
        );
    }
}
