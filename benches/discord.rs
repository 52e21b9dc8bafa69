//! Slash commands through the fake Discord gateway into a real `keel run` process:
//! `/contribute` at a steady rate, each timed from the dispatch leaving the fake
//! gateway to the interaction callback reaching the fake REST API; the process's
//! memory sampled throughout; every row checked in the database afterwards.
//!
//! cargo bench --bench discord
//! KEEL_BENCH_SECONDS (default 30), KEEL_BENCH_RATE (interactions/s, default 500).

#[path = "../tests/support/fake_discord.rs"]
mod fake_discord;
mod support;

use std::time::{Duration, Instant};

use fake_discord::{FakeDiscord, Invocation, TOKEN};
use serde_json::json;
use support::env;

const GUILD: u64 = 123_456_789_012_345_678;

/// Resident and peak memory of a process, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn main() {
    support::run(bench());
}

async fn bench() {
    let seconds = env("KEEL_BENCH_SECONDS", 30);
    let rate = env("KEEL_BENCH_RATE", 500);
    let fake = FakeDiscord::start().await;
    fake.add_guild(GUILD, "Bench Server");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let mut keel = std::process::Command::new(env!("CARGO_BIN_EXE_keel"));
    // The benchmark's own settings are not Keel's (Keel refuses unknown keys).
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("KEEL_BENCH_")) {
        keel.env_remove(name);
    }
    let mut keel = keel
        .arg("run")
        .env("KEEL_DATABASE__URL", format!("sqlite://{}", db.display()))
        .env(
            "KEEL_DATABASE__SYNCHRONOUS",
            std::env::var("KEEL_BENCH_SYNCHRONOUS").unwrap_or_else(|_| "full".into()),
        )
        .env("KEEL_DISCORD__TOKEN", TOKEN)
        .env("KEEL_DISCORD__API_BASE", fake.api_base())
        .env("KEEL_DISCORD__GUILD_ID", GUILD.to_string())
        .env("KEEL_LOG__LEVEL", "warn")
        .spawn()
        .expect("the keel binary");
    let pid = keel.id();
    fake.wait_ready().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (idle, _) = memory_kib(pid);

    // Warm-up: every member's first command resolves them.
    let members = 1000;
    let contribute = |i: u64| {
        Invocation::new(
            GUILD,
            700_000_000_000_000_000 + (i % members),
            "contribute",
            json!([{"name": "what", "type": 3, "value": format!("Planted tree {i}")},
                   {"name": "amount", "type": 10, "value": 1}]),
        )
    };
    for i in 0..members {
        fake.interact(&contribute(i));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    fake.clear();

    let total = seconds * rate;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut peak_rss = 0;
    let mut last_sample = Instant::now();
    for i in 0..total {
        ticker.tick().await;
        fake.interact(&contribute(members + i));
        if last_sample.elapsed() > Duration::from_millis(500) {
            peak_rss = peak_rss.max(memory_kib(pid).0);
            last_sample = Instant::now();
        }
    }
    let sent_in = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut latencies, dispatched) = loop {
        let (l, d) = fake.latencies();
        if l.len() >= d || Instant::now() > deadline {
            break (l, d);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (rss, hwm) = memory_kib(pid);
    peak_rss = peak_rss.max(rss);
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];

    std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap();
    let status = keel.wait().unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM contributions")
        .fetch_one(&pool)
        .await
        .unwrap();

    let (fsync_p50, fsync_p99) = support::fsync_latency(dir.path());
    println!(
        "Discord: /contribute through the gateway into `keel run`, synchronous=FULL; \
         the disk's fsync of 100 KB now: p50 {fsync_p50:.2} ms, p99 {fsync_p99:.2} ms"
    );
    println!(
        "  sent {dispatched} interactions in {:.1} s ({:.0}/s target {rate}/s)",
        sent_in.as_secs_f64(),
        dispatched as f64 / sent_in.as_secs_f64()
    );
    println!(
        "  answered {} of {dispatched}; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (dispatch sent → callback received)",
        latencies.len(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
    println!(
        "  memory: idle {:.1} MB, peak sampled RSS {:.1} MB, VmHWM {:.1} MB",
        idle as f64 / 1024.0,
        peak_rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    println!(
        "  rows in the database: {rows} (expected {}); keel exited with {status}",
        total + members
    );
    assert_eq!(latencies.len(), dispatched, "every interaction answered");
    assert_eq!(rows as u64, total + members, "every contribution recorded");
}
