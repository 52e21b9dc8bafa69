//! `stats`, `health`, a chart and the digest on a community of 100,000 members and 1,000,000 contributions over two
//! years, against one with a hundredth of that history.
//!
//! cargo bench --bench stats
//! The generated databases are kept in target/bench-data and reused.
//! KEEL_BENCH_SCALE=0.1 runs a tenth of the size (quick check); KEEL_BENCH_RUNS
//! (default 40) sets the timed runs per command. KEEL_BENCH_DATABASE=postgres://…
//! (a server, no database) runs it on PostgreSQL, in databases kept there.

#[path = "../tests/support/database.rs"]
mod database;
mod support;
use support::env;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keel::app::App;
use keel::demo::{DemoOptions, generate};
use keel::domain::clock::SystemClock;
use keel::domain::command::Window;
use keel::domain::{Command, Envelope, Platform, Role};
use keel::store::{Store, StoreOptions};

fn main() {
    support::run(bench());
}

async fn community(members: u32, contributions: u32) -> (App, keel::domain::Actor) {
    if let Ok(server) = std::env::var("KEEL_BENCH_DATABASE") {
        let name = format!("keel_bench_stats_{members}_{contributions}");
        let (url, fresh) = database::postgres_database(&server, &name).await;
        let store = Store::open(&StoreOptions::new(url)).await.unwrap();
        return prepared(store, fresh, members, contributions).await;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("stats-{members}-{contributions}.db"));
    let options = StoreOptions::new(format!("sqlite://{}", path.display()));
    let mut fresh = !path.exists();
    let store = match Store::open(&options).await {
        Ok(store) => store,
        Err(e) => {
            // Made by an older schema: generate it again.
            eprintln!("regenerating {}: {e}", path.display());
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            fresh = true;
            Store::open(&options).await.unwrap()
        }
    };
    prepared(store, fresh, members, contributions).await
}

/// The bench community in `store`, generated first if the store is `fresh`.
async fn prepared(
    store: Store,
    fresh: bool,
    members: u32,
    contributions: u32,
) -> (App, keel::domain::Actor) {
    let app = App::new(store, Arc::new(SystemClock));
    if fresh {
        let t = Instant::now();
        let options = DemoOptions {
            community: "bench".into(),
            members,
            contributions,
            days: 730,
            seed: 1,
        };
        generate(app.store(), &options, app.now()).await.unwrap();
        println!(
            "generated {members} members / {contributions} contributions in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let envelope = Envelope {
        platform: Platform::Console,
        workspace_id: "bench".into(),
        workspace_name: "bench".into(),
        user_id: "ada".into(),
        user_name: "ada".into(),
        role: Role::Organiser,
    };
    let actor = app.actor(&envelope).await.unwrap();
    (app, actor)
}

async fn time(
    app: &App,
    actor: &keel::domain::Actor,
    command: Command,
    runs: usize,
) -> (Duration, Duration) {
    app.handle(actor, command.clone()).await.unwrap();
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        app.handle(actor, command.clone()).await.unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    (times[runs / 2], times[runs * 95 / 100])
}

async fn bench() {
    let scale: f64 = std::env::var("KEEL_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let (members, contributions) = ((100_000.0 * scale) as u32, (1_000_000.0 * scale) as u32);
    let (big, big_actor) = community(members, contributions).await;
    let (small, small_actor) = community(members / 100, contributions / 100).await;
    let runs = env("KEEL_BENCH_RUNS", 40) as usize;
    for (name, command) in [
        (
            "stats (28 days)",
            Command::Stats {
                window: Window::DEFAULT,
            },
        ),
        (
            "stats period=90d",
            Command::Stats {
                window: Window::Last { days: 90 },
            },
        ),
        ("stats me", Command::StatsMe),
        (
            "health",
            Command::Health {
                page: keel::domain::text::PageNumber::FIRST,
            },
        ),
        (
            "stats chart",
            Command::StatsChart {
                window: Window::DEFAULT,
            },
        ),
    ] {
        let (big_median, big_p95) = time(&big, &big_actor, command.clone(), runs).await;
        let (small_median, small_p95) = time(&small, &small_actor, command, runs).await;
        println!(
            "{name:18} large: median {:7.2} ms, p95 {:7.2} ms | hundredth: median {:7.2} ms, p95 {:7.2} ms | ratio {:.2}",
            big_median.as_secs_f64() * 1e3,
            big_p95.as_secs_f64() * 1e3,
            small_median.as_secs_f64() * 1e3,
            small_p95.as_secs_f64() * 1e3,
            big_median.as_secs_f64() / small_median.as_secs_f64()
        );
    }
    // The weekly digest, as the scheduler builds it.
    let spec = keel::domain::schedule::ScheduleSpec::parse("weekly mon 09:00").unwrap();
    let mut medians = Vec::new();
    for (app, actor) in [(&big, &big_actor), (&small, &small_actor)] {
        keel::app::digest(app, actor.community, "bench", spec, app.now())
            .await
            .unwrap();
        let mut times: Vec<Duration> = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            keel::app::digest(app, actor.community, "bench", spec, app.now())
                .await
                .unwrap();
            times.push(t.elapsed());
        }
        times.sort();
        medians.push((times[runs / 2], times[runs * 95 / 100]));
    }
    println!(
        "{:18} large: median {:7.2} ms, p95 {:7.2} ms | hundredth: median {:7.2} ms, p95 {:7.2} ms | ratio {:.2}",
        "digest (weekly)",
        medians[0].0.as_secs_f64() * 1e3,
        medians[0].1.as_secs_f64() * 1e3,
        medians[1].0.as_secs_f64() * 1e3,
        medians[1].1.as_secs_f64() * 1e3,
        medians[0].0.as_secs_f64() / medians[1].0.as_secs_f64()
    );
    big.store().close().await;
    small.store().close().await;
}
