//! Several `keel run` processes (the release binary) on one PostgreSQL
//! (issue 20):
//! 1. signed `/keel contribute` through one Slack replica, then through two, from
//!    wrk on 127.0.0.1 (one wrk per replica), with `synchronous_commit = on`;
//! 2. a backlog of 10,000 announcements across 1,000 Discord servers, drained by
//!    two `--role jobs` workers against the fake Discord: the time, and that
//!    none was posted twice.
//!
//! pg_virtualenv -v 15 cargo bench --bench scale   (needs wrk: apt-get install wrk)
//! KEEL_BENCH_SECONDS (default 15), KEEL_BENCH_CONNECTIONS (default 64, split
//! between the replicas), KEEL_BENCH_POOL (each replica's pool_size, default 16),
//! KEEL_BENCH_TEAMS (workspaces the contributions come from in turn, each a
//! community of its own; default 1), KEEL_BENCH_ONLY (throughput or backlog).

#[path = "../tests/support/database.rs"]
mod database;
#[path = "../tests/support/fake_discord.rs"]
mod fake_discord;
#[path = "../tests/support/keel_process.rs"]
mod keel_process;
mod support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fake_discord::{FakeDiscord, TOKEN};
use keel_process::{KeelProcess, free_port};
use sqlx::{Connection, PgConnection};
use support::env;

const SECRET: &str = "bench-signing-secret";
const SERVERS: i64 = 1_000;
const PER_SERVER: i64 = 10;

fn main() {
    support::run(bench());
}

async fn fresh_database(name: &str) -> String {
    let server = database::server();
    let mut admin = PgConnection::connect(&format!("{server}/postgres"))
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL cannot be reached (run under pg_virtualenv): {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
    database::postgres_database(&server, name).await.0
}

async fn scalar(url: &str, sql: &str) -> i64 {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let n = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    n
}

/// CPU seconds (user + system) used so far by live processes named `postgres`,
/// by the processes `pids`, and by the whole machine (busy, and all).
struct Cpu {
    postgres: f64,
    keel: f64,
    busy: f64,
    total: f64,
}

fn cpu(pids: &[u32]) -> Cpu {
    let ticks = 100.0; // USER_HZ on Linux
    let used = |stat: &str| -> f64 {
        // After the command's name in parentheses: utime and stime are the 12th and 13th fields.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (field(11) + field(12)) / ticks
    };
    let (mut postgres, mut keel) = (0.0, 0.0);
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if pids.contains(&pid) {
            keel += used(&stat);
        } else if stat.contains("(postgres)") {
            postgres += used(&stat);
        }
    }
    let machine = std::fs::read_to_string("/proc/stat").unwrap();
    let all: Vec<f64> = machine
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: f64 = all.iter().sum::<f64>() / ticks;
    let idle = (all[3] + all[4]) / ticks;
    Cpu {
        postgres,
        keel,
        busy: total - idle,
        total,
    }
}

/// Where the cores went between two readings, in cores.
fn cores(before: &Cpu, after: &Cpu, seconds: f64) -> String {
    let keel = after.keel - before.keel;
    let postgres = after.postgres - before.postgres;
    let busy = after.busy - before.busy;
    let idle = (after.total - before.total) - busy;
    format!(
        "cores used: Keel {:.2}, PostgreSQL {:.2}, wrk and the rest {:.2}, idle {:.2}",
        keel / seconds,
        postgres / seconds,
        (busy - keel - postgres) / seconds,
        idle / seconds
    )
}

fn write_config(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, body).unwrap();
    path
}

async fn bench() {
    if std::process::Command::new("wrk")
        .arg("-v")
        .output()
        .is_err()
    {
        eprintln!("wrk is not installed: apt-get install wrk");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let only = std::env::var("KEEL_BENCH_ONLY").unwrap_or_default();
    if only != "backlog" {
        throughput(dir.path()).await;
    }
    if only != "throughput" {
        backlog(dir.path()).await;
    }
}

/// What one wrk run reported.
#[derive(Default)]
struct Run {
    requests: u64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    errors: u64,
    non2xx: u64,
}

fn wrk(
    script: &Path,
    addr: SocketAddr,
    threads: u64,
    connections: u64,
    seconds: u64,
    set: &str,
) -> std::process::Child {
    std::process::Command::new("wrk")
        .args([
            &format!("-t{threads}"),
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-s",
        ])
        .arg(script)
        .arg(format!("http://{addr}"))
        .args(["--", set])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn finished(child: std::process::Child) -> Run {
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let value = |key: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|v| v.trim().parse().ok()))
            .unwrap_or(0)
    };
    Run {
        requests: value("requests "),
        p50_ms: value("p50_us ") as f64 / 1000.0,
        p99_ms: value("p99_us ") as f64 / 1000.0,
        max_ms: value("max_us ") as f64 / 1000.0,
        errors: value("errors "),
        non2xx: value("non2xx "),
    }
}

async fn throughput(dir: &Path) {
    let seconds = env("KEEL_BENCH_SECONDS", 15);
    let connections = env("KEEL_BENCH_CONNECTIONS", 64);
    let pool = env("KEEL_BENCH_POOL", 16);
    let teams = env("KEEL_BENCH_TEAMS", 1);
    let url = fresh_database("keel_bench_throughput").await;
    // KEEL_BENCH_PG_SOCKET=/var/run/postgresql: the replicas reach PostgreSQL
    // through its Unix socket instead of TCP.
    let replica_url = match std::env::var("KEEL_BENCH_PG_SOCKET") {
        Ok(socket) => format!("{url}?host={socket}"),
        Err(_) => url.clone(),
    };
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let synchronous: String = sqlx::query_scalar("SHOW synchronous_commit")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        synchronous, "on",
        "the target is for synchronous_commit = on"
    );
    drop(conn);

    let per_file = seconds as usize * 15_000;
    let mut lua = support::signed_contributions_across(
        dir,
        SECRET,
        "https%3A%2F%2Fhooks.example.test%2F1",
        &[
            ("warm", 20_000),
            ("one", per_file),
            ("a", per_file),
            ("b", per_file),
        ],
        2,
        teams as usize,
    );
    lua.push_str("done = function(summary, latency, requests)\n  io.write(string.format(\"p50_us %d\\np99_us %d\\nmax_us %d\\nrequests %d\\nerrors %d\\nnon2xx %d\\n\",\n    latency:percentile(50), latency:percentile(99), latency.max, summary.requests,\n    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status))\nend\n");
    let script = dir.join("scale.lua");
    std::fs::write(&script, lua).unwrap();

    let replica = |name: &str| {
        let addr = free_port();
        let config = write_config(
            dir,
            name,
            &format!(
                "[database]\nurl = \"{replica_url}\"\npool_size = {pool}\n\
                 [http]\nlisten = \"{addr}\"\n\
                 [slack]\nsigning_secret = \"{SECRET}\"\nbot_token = \"xoxb-bench\"\n\
                 api_base = \"http://127.0.0.1:9/api\"\n"
            ),
        );
        let process = KeelProcess::start(
            &config,
            &["run", "--role", "slack"],
            "warn",
            dir.join(format!("{name}.log")),
        );
        (process, addr)
    };
    let (mut first, a) = replica("replica-a");
    first.wait_for_port(a).await;
    let (mut second, b) = replica("replica-b");
    second.wait_for_port(b).await;
    for addr in [a, b] {
        finished(wrk(&script, addr, 1, 8, 2, "warm"));
    }
    let (fsync_p50, fsync_p99) = support::fsync_latency(dir);
    println!(
        "signed /keel contribute, PostgreSQL 15 with synchronous_commit = on, pool_size {pool} a replica, \
         wrk {connections} connections for {seconds} s, from {teams} workspace(s) in turn; \
         PostgreSQL, the replicas and wrk share {} cores; the disk's fsync of 100 KB now: p50 {fsync_p50:.2} ms, p99 {fsync_p99:.2} ms",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let count = || scalar(&url, "SELECT count(*) FROM contributions");
    let pids = [first.id(), second.id()];
    let before = count().await;
    let cpu_before = cpu(&pids);
    let one = tokio::task::spawn_blocking({
        let script = script.clone();
        move || finished(wrk(&script, a, 2, connections, seconds, "one"))
    })
    .await
    .unwrap();
    let used = cores(&cpu_before, &cpu(&pids), seconds as f64);
    let written = count().await - before;
    report("one replica", seconds, &[&one], written, connections, &used);

    let before = count().await;
    let cpu_before = cpu(&pids);
    let (ran_a, ran_b) = tokio::task::spawn_blocking({
        let script = script.clone();
        move || {
            let (x, y) = (
                wrk(&script, a, 1, connections / 2, seconds, "a"),
                wrk(&script, b, 1, connections / 2, seconds, "b"),
            );
            (finished(x), finished(y))
        }
    })
    .await
    .unwrap();
    let used = cores(&cpu_before, &cpu(&pids), seconds as f64);
    let written = count().await - before;
    report(
        "two replicas",
        seconds,
        &[&ran_a, &ran_b],
        written,
        connections,
        &used,
    );
    for process in [&mut first, &mut second] {
        assert!(process.stop().success(), "{}", process.logs());
    }
}

/// wrk counts the answers it read; the requests still in flight when it stops
/// (one a connection at most) are written without being counted.
fn report(what: &str, seconds: u64, runs: &[&Run], written: i64, connections: u64, used: &str) {
    let requests: u64 = runs.iter().map(|r| r.requests).sum();
    let p99 = runs.iter().map(|r| r.p99_ms).fold(0.0, f64::max);
    let p50 = runs.iter().map(|r| r.p50_ms).fold(0.0, f64::max);
    let max = runs.iter().map(|r| r.max_ms).fold(0.0, f64::max);
    let errors: u64 = runs.iter().map(|r| r.errors + r.non2xx).sum();
    println!(
        "{what}: {:.0} requests/s; p50 {p50:.2} ms, p99 {p99:.2} ms (the larger of the wrk runs'), max {max:.1} ms; \
         errors and non-2xx {errors}; rows written {written} for {requests} answered requests ({}); {used}",
        requests as f64 / seconds as f64,
        if (requests as i64..=(requests + connections) as i64).contains(&written) {
            "every row present; the rest were in flight when wrk stopped"
        } else {
            "ROWS MISSING"
        },
    );
}

async fn pending(conn: &mut PgConnection) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM announcement_deliveries WHERE status = 'pending'")
        .fetch_one(conn)
        .await
        .unwrap()
}

async fn backlog(dir: &Path) {
    let discord = FakeDiscord::start().await;
    let url = fresh_database("keel_bench_backlog").await;
    let config = |name: &str| {
        write_config(
            dir,
            name,
            &format!(
                "[database]\nurl = \"{url}\"\n\
                 [discord]\ntoken = \"{TOKEN}\"\napi_base = \"{}\"\n",
                discord.api_base()
            ),
        )
    };
    let migrate = keel_process::keel_command()
        .arg("--config")
        .arg(config("migrate"))
        .arg("migrate")
        .output()
        .unwrap();
    assert!(migrate.status.success(), "{migrate:?}");
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let now = keel::store::ts(chrono::Utc::now());
    // Announcements are stored as the reply they post.
    let body = serde_json::to_string(
        &keel::domain::reply::Reply::public("Milestone").line("Announcement NUMBER"),
    )
    .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "INSERT INTO communities (id, name, created_at)
             SELECT n, 'Server ' || n, '{now}' FROM generate_series(1, {SERVERS}) n;
         INSERT INTO workspaces (id, community_id, platform, external_id, name, announce_channel, created_at)
             SELECT n, n, 'discord', (700000000000000000 + n)::TEXT, 'Server ' || n,
                    (800000000000000000 + n)::TEXT, '{now}'
             FROM generate_series(1, {SERVERS}) n;
         INSERT INTO announcements (id, community_id, kind, body, created_at)
             SELECT n, 1 + (n - 1) % {SERVERS}, 'milestone', replace('{body}', 'NUMBER', n::TEXT), '{now}'
             FROM generate_series(1, {total}) n;
         INSERT INTO announcement_deliveries (announcement_id, workspace_id, next_attempt_at)
             SELECT n, 1 + (n - 1) % {SERVERS}, '{now}' FROM generate_series(1, {total}) n;",
        total = SERVERS * PER_SERVER,
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(pending(&mut conn).await, SERVERS * PER_SERVER);

    let started = Instant::now();
    let mut workers: Vec<KeelProcess> = ["jobs-a", "jobs-b"]
        .iter()
        .map(|name| {
            KeelProcess::start(
                &config(name),
                &["run", "--role", "jobs"],
                "warn",
                dir.join(format!("{name}.log")),
            )
        })
        .collect();
    while pending(&mut conn).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "not drained in 10 minutes: {}",
            workers[0].logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let drained = started.elapsed();
    let posts: Vec<(String, String)> = discord
        .requests_to("POST", "/messages")
        .into_iter()
        .filter(|r| r.status == 200)
        .map(|r| (r.path.clone(), r.raw.clone()))
        .collect();
    let distinct: HashSet<&(String, String)> = posts.iter().collect();
    let delivered = scalar(
        &url,
        "SELECT count(*) FROM announcement_deliveries WHERE status = 'delivered'",
    )
    .await;
    println!(
        "backlog: {} announcements across {SERVERS} Discord servers drained by two jobs workers in {:.2} s \
         (from their start, connecting included); {delivered} delivered, {} posts, {} distinct: {}",
        SERVERS * PER_SERVER,
        drained.as_secs_f64(),
        posts.len(),
        distinct.len(),
        if posts.len() == distinct.len() && delivered == SERVERS * PER_SERVER {
            "none twice"
        } else {
            "POSTED TWICE OR MISSING"
        }
    );
    for worker in &mut workers {
        assert!(worker.stop().success(), "{}", worker.logs());
    }
}
