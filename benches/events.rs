//! Events and introductions at size (issue 19): a pairing round for 10,000
//! members in the rounds with 6 rounds of history (target under 1 s), queueing
//! the reminders of an event with 10,000 RSVPs (under 1 s), and `event list` in
//! a community with 5,000 past events (under 20 ms).
//!
//! cargo bench --bench events
//! KEEL_BENCH_MEMBERS (default 10,000) and KEEL_BENCH_CONTRIBUTIONS (default
//! 200,000, so introductions quote real contributions) size the generated
//! community; KEEL_BENCH_PAST_EVENTS (default 5,000). Each run generates a
//! fresh database under target/bench-data.

#[path = "../tests/support/db.rs"]
mod db;
mod support;
use support::env;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use keel::app::{App, run_due_event_reminders, run_round};
use keel::demo::{DemoOptions, generate};
use keel::domain::clock::{Clock, ManualClock};
use keel::domain::{Envelope, Platform, Role};
use keel::store::{Store, StoreOptions};

fn main() {
    support::run(bench());
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

async fn bench() {
    let members = env("KEEL_BENCH_MEMBERS", 10_000) as u32;
    let contributions = env("KEEL_BENCH_CONTRIBUTIONS", 200_000) as u32;
    let past_events = env("KEEL_BENCH_PAST_EVENTS", 5_000) as i64;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("events.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let now = Utc.with_ymd_and_hms(2027, 1, 4, 8, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let store = Store::open(&StoreOptions::new(format!("sqlite://{}", path.display())))
        .await
        .unwrap();
    let t = Instant::now();
    let demo = generate(
        &store,
        &DemoOptions {
            community: "bench".into(),
            members,
            contributions,
            days: 365,
            seed: 1,
        },
        now,
    )
    .await
    .unwrap();
    println!(
        "generated {members} members / {contributions} contributions in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let app = App::new(store, clock.clone());
    let community = demo.community;

    // --- A pairing round: everyone in the rounds, 6 rounds of history.
    db::execute(
        &app,
        "INSERT INTO pairing_members (member_id, community_id, joined_at)
         SELECT id, community_id, '2026-01-01T00:00:00.000Z' FROM members WHERE community_id = ?",
        &[community.0.into()],
    )
    .await;
    let mut rounds = Vec::new();
    for round in 1..=7 {
        let t = Instant::now();
        let made = run_round(&app, community, None).await.unwrap().unwrap();
        let took = t.elapsed();
        println!(
            "pairing round {round}: {} groups, {} members, {} sat out: {:.0} ms",
            made.groups,
            made.members,
            made.sitting_out,
            ms(took)
        );
        rounds.push(took);
        clock.advance(chrono::Duration::days(14));
    }
    let repeats: i64 = db::scalar(
        &app,
        "SELECT count(*) FROM (
            SELECT a.member_id, b.member_id FROM pairing_group_members a
              JOIN pairing_group_members b ON b.group_id = a.group_id AND b.member_id > a.member_id
             GROUP BY a.member_id, b.member_id HAVING count(*) > 1) repeated",
        &[],
    )
    .await;
    println!(
        "pairing round with 6 rounds of history ({members} members): {:.0} ms (target < 1000 ms); pairs repeated over 7 rounds: {repeats}",
        ms(rounds[6])
    );

    // --- Reminders for an event with 10,000 RSVPs.
    let olga = app
        .actor(&Envelope {
            platform: Platform::Console,
            workspace_id: "bench".into(),
            workspace_name: "bench".into(),
            user_id: "olga".into(),
            user_name: "olga".into(),
            role: Role::Organiser,
        })
        .await
        .unwrap();
    let start = clock.now() + chrono::Duration::days(3);
    let created = app
        .handle_line(
            &olga,
            &format!(
                "event create Planting day at={}",
                start.format("%Y-%m-%dT%H:%M")
            ),
        )
        .await
        .unwrap();
    let event: i64 = db::scalar(&app, "SELECT max(id) FROM events", &[]).await;
    assert!(created.plain().contains(&format!("#{event}")));
    let answered = db::execute(
        &app,
        "INSERT INTO event_rsvps (event_id, member_id, answer, answered_at, yes_at, waitlisted)
         SELECT ?, id, 'yes', '2027-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z', 0
           FROM members WHERE community_id = ? ORDER BY id LIMIT 10000",
        &[event.into(), community.0.into()],
    )
    .await;
    clock.set(start - chrono::Duration::hours(24));
    let t = Instant::now();
    let queued = run_due_event_reminders(&app).await.unwrap();
    let took = t.elapsed();
    println!(
        "reminders for an event with {answered} RSVPs: {queued} queued in {:.0} ms (target < 1000 ms)",
        ms(took)
    );

    // --- `event list` among thousands of past events.
    db::execute(
        &app,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO events (community_id, title, starts_at, ends_at, checkin_code, created_at)
         SELECT ?, 'Past event ' || i,
                strftime('%Y-%m-%dT%H:%M:%S.000Z', '2026-12-01', '-' || (i / 4) || ' days'),
                strftime('%Y-%m-%dT%H:%M:%S.000Z', '2026-12-01', '-' || (i / 4) || ' days', '+2 hours'),
                'ABCD', '2024-01-01T00:00:00.000Z'
           FROM n",
        &[past_events.into(), community.0.into()],
    )
    .await;
    let mut times = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let reply = app.handle_line(&olga, "event list").await.unwrap();
        times.push(t.elapsed());
        assert!(reply.plain().contains("Planting day"));
    }
    println!(
        "event list with {past_events} past events: median {:.2} ms, longest {:.2} ms (target < 20 ms)",
        ms(median(times.clone())),
        ms(*times.iter().max().unwrap())
    );
}
