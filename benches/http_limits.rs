//! What strangers cost Keel's HTTP server (RELIABILITY.md R5), against its real
//! server with the default `[http]` settings and synchronous=FULL:
//!
//! 1. Members' signed `/keel contribute` requests (wrk, a few connections) while
//!    a second wrk floods GET /slack/install: first alone, then beside the flood
//!    with the per-address limit as configured (the flood is mostly 429), then
//!    beside the flood with the limit lifted (every request a signed state and a
//!    redirect). The flood must write no install state.
//! 2. A client that sends one header line every 10 s: how long until Keel
//!    disconnects it (the default header deadline is 10 s).
//!
//! cargo bench --bench http_limits --no-run && sync && cargo bench --bench http_limits
//! (needs wrk: apt-get install wrk). KEEL_BENCH_SECONDS (default 20),
//! KEEL_BENCH_CONNECTIONS (members' connections, default 8),
//! KEEL_BENCH_FLOOD_CONNECTIONS (default 64).

#[path = "../tests/support/db.rs"]
mod db;
mod support;
use support::env;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keel::app::App;
use keel::config::{Config, Secret};
use keel::domain::clock::SystemClock;
use keel::slack::crypto::TokenKey;
use keel::slack::{Slack, server};
use keel::store::{Store, StoreOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "bench-signing-secret";

fn main() {
    support::run(bench());
}

struct Running {
    addr: SocketAddr,
    app: App,
    stop: keel::jobs::ShutdownTrigger,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Keel serving installs and commands over `dir/bench.db`, `[http]` as adjusted.
async fn start(dir: &Path, adjust: impl FnOnce(&mut Config)) -> Running {
    let url = format!("sqlite://{}", dir.join("bench.db").display());
    let store = Store::open(&StoreOptions::new(url)).await.unwrap();
    let app = App::new(store, Arc::new(SystemClock));
    let mut config = Config::default();
    config.slack.signing_secret = Some(Secret::new(SECRET));
    config.slack.client_id = Some("client-1".into());
    config.slack.client_secret = Some(Secret::new("client-secret"));
    config.slack.public_url = Some("https://keel.example.test".into());
    config.slack.token_key = Some(Secret::new(TokenKey::generate()));
    // Nothing may leave the machine: a closed local port.
    config.slack.api_base = "http://127.0.0.1:9/api".into();
    adjust(&mut config);
    let slack = Slack::new(app.clone(), &config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, shutdown) = keel::jobs::shutdown_pair();
    let served = tokio::spawn(server::serve(slack, listener, shutdown));
    Running {
        addr,
        app,
        stop,
        served,
    }
}

/// A wrk script sending distinct signed contributions from 1,000 members (sets
/// `warm` and `run`), and printing its percentiles.
fn contributions_script(dir: &Path, seconds: u64) -> std::path::PathBuf {
    let mut lua = support::signed_contributions(
        dir,
        SECRET,
        "https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1",
        &[("warm", 40_000), ("run", seconds as usize * 30_000)],
        1,
    );
    lua.push_str(DONE);
    let path = dir.join("contribute.lua");
    std::fs::write(&path, lua).unwrap();
    path
}

fn flood_script(dir: &Path) -> std::path::PathBuf {
    let lua = "local statuses = {}\nlocal threads = {}\n\
         setup = function(thread) table.insert(threads, thread) end\n\
         init = function() counts = {} end\n\
         response = function(status) counts[status] = (counts[status] or 0) + 1 end\n\
         request = function() return wrk.format(\"GET\", \"/slack/install\") end\n\
         done = function(summary, latency, requests)\n\
           for _, t in ipairs(threads) do\n\
             for status, n in pairs(t:get(\"counts\")) do statuses[status] = (statuses[status] or 0) + n end\n\
           end\n\
           for status, n in pairs(statuses) do io.write(string.format(\"status_%d %d\\n\", status, n)) end\n\
           io.write(string.format(\"requests %d\\np99_us %d\\n\", summary.requests, latency:percentile(99)))\n\
         end\n";
    let path = dir.join("flood.lua");
    std::fs::write(&path, lua).unwrap();
    path
}

const DONE: &str = "done = function(summary, latency, requests)\n  io.write(string.format(\"p50_us %d\\np90_us %d\\np99_us %d\\np999_us %d\\nmax_us %d\\nrequests %d\\nerrors %d\\nnon2xx %d\\n\",\n    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max, summary.requests,\n    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status))\nend\n";

fn wrk(
    script: &Path,
    addr: SocketAddr,
    connections: u64,
    seconds: u64,
    args: &[&str],
) -> std::process::Child {
    std::process::Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--timeout",
            "10s",
            "-s",
        ])
        .arg(script)
        .arg(format!("http://{addr}"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("wrk runs (apt-get install wrk)")
}

fn figures(child: std::process::Child) -> Vec<(String, u64)> {
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

fn value(figures: &[(String, u64)], key: &str) -> u64 {
    figures
        .iter()
        .find(|(k, _)| k == key)
        .map_or(0, |(_, v)| *v)
}

/// One run: contributions for `seconds`, beside a flood if `flood` connections.
async fn run(label: &str, limit_lifted: bool, flood: u64) {
    let seconds = env("KEEL_BENCH_SECONDS", 20);
    let members = env("KEEL_BENCH_CONNECTIONS", 8);
    let dir = tempfile::tempdir().unwrap();
    let keel = start(dir.path(), |c| {
        if limit_lifted {
            c.http.install_requests_per_minute = u32::MAX;
        }
    })
    .await;
    let contribute = contributions_script(dir.path(), seconds);
    let addr = keel.addr;
    // Warm up: the workspace and members exist before the measured run.
    let warm = contribute.clone();
    tokio::task::spawn_blocking(move || figures(wrk(&warm, addr, 4, 2, &["--", "warm"])))
        .await
        .unwrap();
    let before: i64 = db::scalar(&keel.app, "SELECT count(*) FROM contributions", &[]).await;
    let flood_lua = flood_script(dir.path());
    let (members_figures, flood_figures) = tokio::task::spawn_blocking(move || {
        let flood = (flood > 0).then(|| wrk(&flood_lua, addr, flood, seconds, &[]));
        let members = wrk(&contribute, addr, members, seconds, &["--", "run"]);
        (figures(members), flood.map(figures))
    })
    .await
    .unwrap();
    let after: i64 = db::scalar(&keel.app, "SELECT count(*) FROM contributions", &[]).await;
    let ms = |key: &str| value(&members_figures, key) as f64 / 1000.0;
    println!(
        "{label}: contribute {:.0}/s, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.1} ms; \
         socket errors {}, non-2xx {}; {} contributions written",
        value(&members_figures, "requests") as f64 / seconds as f64,
        ms("p50_us"),
        ms("p90_us"),
        ms("p99_us"),
        ms("p999_us"),
        ms("max_us"),
        value(&members_figures, "errors"),
        value(&members_figures, "non2xx"),
        after - before,
    );
    if let Some(flood) = flood_figures {
        let statuses: Vec<String> = flood
            .iter()
            .filter(|(k, _)| k.starts_with("status_"))
            .map(|(k, v)| format!("{} × {v}", k.trim_start_matches("status_")))
            .collect();
        let used: i64 = db::scalar(
            &keel.app,
            "SELECT count(*) FROM slack_install_states_used",
            &[],
        )
        .await;
        println!(
            "    install flood: {:.0}/s ({}), p99 {:.2} ms; install state rows written: {used}",
            value(&flood, "requests") as f64 / seconds as f64,
            statuses.join(", "),
            value(&flood, "p99_us") as f64 / 1000.0,
        );
    }
    keel.stop.trigger();
    let _ = keel.served.await;
    keel.app.store().close().await;
}

/// A client sending one header line every 10 s against the default config: how
/// long until Keel hangs up.
async fn slow_headers() {
    let dir = tempfile::tempdir().unwrap();
    let keel = start(dir.path(), |_| {}).await;
    let stream = tokio::net::TcpStream::connect(keel.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let started = Instant::now();
    let closed = tokio::spawn(async move {
        let mut buf = [0u8; 256];
        while let Ok(n) = reader.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
        started.elapsed()
    });
    writer
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();
    let mut lines = 0;
    while !closed.is_finished() && started.elapsed() < Duration::from_secs(60) {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(10)) => {}
            _ = async { while !closed.is_finished() { tokio::time::sleep(Duration::from_millis(10)).await } } => break,
        }
        if writer
            .write_all(format!("X-Slow-{lines}: 1\r\n").as_bytes())
            .await
            .is_err()
        {
            break;
        }
        lines += 1;
    }
    match tokio::time::timeout(Duration::from_secs(5), closed).await {
        Ok(Ok(after)) => println!(
            "slow headers (a line every 10 s, default config): disconnected after {:.2} s, {lines} header lines sent",
            after.as_secs_f64()
        ),
        _ => println!("slow headers: NOT disconnected within 60 s"),
    }
    keel.stop.trigger();
    let _ = keel.served.await;
    keel.app.store().close().await;
}

async fn bench() {
    if std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("wrk is not installed: apt-get install wrk");
        return;
    }
    let flood = env("KEEL_BENCH_FLOOD_CONNECTIONS", 64);
    let dir = tempfile::tempdir().unwrap();
    let (fsync_p50, fsync_p99) = support::fsync_latency(dir.path());
    println!(
        "signed /slack/commands contribute from {} connections, {} s each, synchronous=FULL, default [http]; \
         install flood from {flood} connections; the disk's fsync of 100 KB now: p50 {fsync_p50:.2} ms, p99 {fsync_p99:.2} ms",
        env("KEEL_BENCH_CONNECTIONS", 8),
        env("KEEL_BENCH_SECONDS", 20),
    );
    run("alone", false, 0).await;
    run("beside an install flood, limited per address", false, flood).await;
    run("beside an install flood, limit lifted", true, flood).await;
    slow_headers().await;
}
