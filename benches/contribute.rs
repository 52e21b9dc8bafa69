//! Contributions recorded per second through the seam (`App::handle`), with
//! `synchronous=FULL`, many concurrent callers, on a real SQLite file, or on
//! PostgreSQL when KEEL_BENCH_DATABASE names an empty database there
//! (`synchronous_commit` as the server has it, `on` by default).
//!
//! cargo bench --bench contribute
//! Environment: KEEL_BENCH_SECONDS (default 15), KEEL_BENCH_CALLERS (default 256),
//! KEEL_BENCH_MEMBERS (default 1000), KEEL_BENCH_DATABASE (a postgres:// URL).

#[path = "../tests/support/db.rs"]
mod db;
mod support;
use support::env;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use keel::app::App;
use keel::domain::clock::SystemClock;
use keel::domain::command::NewContribution;
use keel::domain::parse::parse;
use keel::domain::{Command, Envelope, Platform, Role};
use keel::store::{Store, StoreOptions};

fn main() {
    support::run(bench());
}

async fn bench() {
    let seconds = env("KEEL_BENCH_SECONDS", 15);
    let callers = env("KEEL_BENCH_CALLERS", 256) as usize;
    let members = env("KEEL_BENCH_MEMBERS", 1000) as usize;
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("KEEL_BENCH_DATABASE")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = Store::open(&StoreOptions::new(url)).await.unwrap();
    let engine = store.engine_version().await.unwrap();
    let app = App::new(store, Arc::new(SystemClock));

    let mut actors = Vec::new();
    for i in 0..members {
        let envelope = Envelope {
            platform: Platform::Console,
            workspace_id: "bench".into(),
            workspace_name: "bench".into(),
            user_id: format!("member-{i}"),
            user_name: format!("member-{i}"),
            role: if i == 0 {
                Role::Organiser
            } else {
                Role::Member
            },
        };
        actors.push(app.actor(&envelope).await.unwrap());
    }
    let today = Utc::now().date_naive();
    for line in [
        "mission set Bench the forest",
        "mission value add speed",
        "goal create Trees target=100000000 unit=trees slug=trees",
    ] {
        app.handle(&actors[0], parse(line, today).unwrap())
            .await
            .unwrap();
    }
    let with_goal = match parse(
        "contribute Planted trees amount=3 goal=trees value=speed",
        today,
    )
    .unwrap()
    {
        Command::Contribute(c) => c,
        _ => unreachable!(),
    };
    let plain = NewContribution {
        amount: None,
        goal: None,
        value: None,
        ..with_goal.clone()
    };

    let (fsync_p50, fsync_p99) = support::fsync_latency(dir.path());
    println!(
        "contribute through App::handle on {engine}: {callers} callers, {members} members, {seconds} s, synchronous=FULL; \
         the disk's fsync of 100 KB now: p50 {fsync_p50:.2} ms, p99 {fsync_p99:.2} ms"
    );
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..callers {
        let app = app.clone();
        let actors = actors.clone();
        let (with_goal, plain) = (with_goal.clone(), plain.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = c;
            while Instant::now() < deadline {
                let actor = &actors[n % actors.len()];
                let command = if n % 2 == 0 {
                    with_goal.clone()
                } else {
                    plain.clone()
                };
                let t = Instant::now();
                app.handle(actor, Command::Contribute(command))
                    .await
                    .expect("recorded");
                latencies.push(t.elapsed());
                n += callers;
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let stored: i64 = db::scalar(&app, "SELECT count(*) FROM contributions", &[]).await;
    println!(
        "recorded {} in {:.2} s = {:.0} contributions/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; rows in database {}",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
        stored
    );
    assert_eq!(
        stored as usize,
        latencies.len(),
        "every acknowledged contribution is stored"
    );
    app.store().close().await;
}
