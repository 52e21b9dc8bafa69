//! Signed `/slack/commands` requests running `contribute`, from a second process
//! (wrk) on 127.0.0.1 against Keel's real HTTP server, with synchronous=FULL.
//!
//! cargo bench --bench slack        (needs wrk: apt-get install wrk)
//! KEEL_BENCH_SECONDS (default 30), KEEL_BENCH_CONNECTIONS (default 64).

#[path = "../tests/support/db.rs"]
mod db;
mod support;
use support::env;

use std::sync::Arc;

use keel::app::App;
use keel::config::{Config, Secret};
use keel::domain::clock::SystemClock;
use keel::jobs::shutdown_pair;
use keel::slack::{Slack, server};
use keel::store::{Store, StoreOptions};

const SECRET: &str = "bench-signing-secret";

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    support::run(bench());
}

async fn bench() {
    let seconds = env("KEEL_BENCH_SECONDS", 30);
    let connections = env("KEEL_BENCH_CONNECTIONS", 64);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Store::open(&StoreOptions::new(url)).await.unwrap();
    let app = App::new(store, Arc::new(SystemClock));
    let mut config = Config::default();
    config.slack.signing_secret = Some(Secret::new(SECRET));
    config.slack.bot_token = Some(Secret::new("xoxb-bench"));
    // Nothing may leave the machine: a closed local port.
    config.slack.api_base = "http://127.0.0.1:9/api".into();
    let slack = Slack::new(app.clone(), &config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, shutdown) = shutdown_pair();
    // The background work `keel run` does alongside, so the figures include it.
    let notifier: Arc<dyn keel::jobs::outbox::Notifier> =
        Arc::new(keel::slack::notifier::SlackNotifier::new(slack.clone()));
    let deliverer = tokio::spawn(
        keel::jobs::outbox::Deliverer::new(app.clone(), vec![notifier]).run(shutdown.clone()),
    );
    let windows = tokio::spawn(keel::jobs::windows::run(app.clone(), shutdown.clone()));
    let served = tokio::spawn(server::serve(slack, listener, shutdown));

    // Pre-signed requests, within Slack's five-minute window for the whole run.
    let mut lua = support::signed_contributions(
        dir.path(),
        SECRET,
        "https%3A%2F%2Fhooks.example.test%2F1",
        &[("warm", 60_000), ("run", seconds as usize * 25_000)],
        2,
    );
    lua.push_str("done = function(summary, latency, requests)\n  io.write(string.format(\"p50_us %d\\np90_us %d\\np99_us %d\\np999_us %d\\nmax_us %d\\nrequests %d\\nerrors %d\\nnon2xx %d\\n\",\n    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max, summary.requests,\n    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status))\nend\n");
    let script = dir.path().join("slack.lua");
    std::fs::write(&script, lua).unwrap();

    let warm = std::process::Command::new("wrk")
        .args(["-t1", "-c8", "-d2s", "-s"])
        .arg(&script)
        .arg(format!("http://{addr}"))
        .args(["--", "warm"])
        .output();
    if warm.is_err() {
        eprintln!("wrk is not installed: apt-get install wrk");
        return;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let before: i64 = db::scalar(&app, "SELECT count(*) FROM contributions", &[]).await;
    let idle_rss = rss_kib();

    let (fsync_p50, fsync_p99) = support::fsync_latency(dir.path());
    println!(
        "wrk: {connections} connections, {seconds} s, signed /slack/commands running contribute, synchronous=FULL; \
         the disk's fsync of 100 KB now: p50 {fsync_p50:.2} ms, p99 {fsync_p99:.2} ms"
    );
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("wrk")
            .args([
                "-t2",
                &format!("-c{connections}"),
                &format!("-d{seconds}s"),
                "--latency",
                "-s",
            ])
            .arg(&script)
            .arg(format!("http://{addr}"))
            .args(["--", "run"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let value = |key: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|v| v.trim().parse().ok()))
            .unwrap_or(0)
    };
    let requests = value("requests ");
    let after: i64 = db::scalar(&app, "SELECT count(*) FROM contributions", &[]).await;
    println!(
        "{:.0} requests/s; p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.1} ms; socket errors {}, non-2xx {}; rows written {} for {} requests; idle memory {:.1} MB, after load {:.1} MB",
        requests as f64 / seconds as f64,
        value("p50_us ") as f64 / 1000.0,
        value("p90_us ") as f64 / 1000.0,
        value("p99_us ") as f64 / 1000.0,
        value("p999_us ") as f64 / 1000.0,
        value("max_us ") as f64 / 1000.0,
        value("errors "),
        value("non2xx "),
        after - before,
        requests,
        idle_rss as f64 / 1024.0,
        rss_kib() as f64 / 1024.0,
    );
    stop.trigger();
    let _ = tokio::join!(served, deliverer, windows);
    app.store().close().await;
}
