//! What the benchmarks share: settings from the environment, and a runtime.

/// A numeric setting from the environment, or its default.
pub fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs a benchmark on a multi-threaded runtime, as `keel run` does.
/// `KEEL_BENCH_LOG` (a tracing filter, e.g. `sqlx::query=debug` for every
/// statement with its time) logs to stderr while it runs.
pub fn run<F: std::future::Future<Output = ()>>(bench: F) {
    if let Ok(filter) = std::env::var("KEEL_BENCH_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(bench)
}

/// The fsync latency of the disk under `dir` right now: p50 and p99, in ms, of
/// 200 `fdatasync`s of 100 KB rewritten in place, about what one contribution
/// batch's commit asks of it. On a shared VM this moves with the host's load, and
/// the write benchmarks move with it: print it beside their figures.
#[allow(dead_code)] // the stats benchmark only reads
pub fn fsync_latency(dir: &std::path::Path) -> (f64, f64) {
    use std::io::{Seek, SeekFrom, Write};
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path).unwrap();
    let block = vec![0x5au8; 100 * 1024];
    let mut times = Vec::with_capacity(200);
    for i in 0..220 {
        file.seek(SeekFrom::Start(((i % 20) * block.len()) as u64))
            .unwrap();
        file.write_all(&block).unwrap();
        let start = std::time::Instant::now();
        file.sync_data().unwrap();
        // The first passes allocate the file's blocks; only rewrites count.
        if i >= 20 {
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    drop(file);
    let _ = std::fs::remove_file(path);
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[times.len() * 99 / 100])
}

/// Distinct signed `/keel contribute` invocations from 1,000 members, as Slack
/// sends them: each its own trigger id, since Keel runs a replayed one only once.
/// For each `(set, count)`, writes `count` per wrk thread to `<set><thread>.requests`
/// under `dir`; returns the Lua that sends them, the set named by wrk's first
/// script argument (`wrk … -- <set>`).
#[cfg(feature = "slack")]
#[allow(dead_code)] // only the Slack benchmarks send commands
pub fn signed_contributions(
    dir: &std::path::Path,
    secret: &str,
    response_url: &str,
    sets: &[(&str, usize)],
    threads: usize,
) -> String {
    signed_contributions_across(dir, secret, response_url, sets, threads, 1)
}

/// As [`signed_contributions`], from `teams` workspaces (each a community of its
/// own) in turn: TBENCH alone for one, TBENCH0, TBENCH1… for more.
#[cfg(feature = "slack")]
#[allow(dead_code)]
pub fn signed_contributions_across(
    dir: &std::path::Path,
    secret: &str,
    response_url: &str,
    sets: &[(&str, usize)],
    threads: usize,
    teams: usize,
) -> String {
    use std::fmt::Write as _;
    let ts = chrono::Utc::now().timestamp();
    for (set, count) in sets {
        for thread in 0..threads {
            let mut lines = String::with_capacity(count * 400);
            for n in 0..*count {
                let i = n % 1000;
                let team = match teams {
                    0 | 1 => String::new(),
                    teams => (n % teams).to_string(),
                };
                let body = format!(
                    "team_id=TBENCH{team}&team_domain=bench&channel_id=C1&user_id=U{i}&user_name=member{i}&command=%2Fkeel&text=contribute+Planted+a+tree+amount%3D1&response_url={response_url}&trigger_id={n}.{set}{thread}.bench"
                );
                let sig = keel::slack::signature::sign(secret.as_bytes(), ts, body.as_bytes());
                writeln!(lines, "{sig} {body}").unwrap();
            }
            std::fs::write(dir.join(format!("{set}{thread}.requests")), lines).unwrap();
        }
    }
    format!(
        "local counter = 0\n\
         setup = function(thread)\n  thread:set(\"id\", counter)\n  counter = counter + 1\nend\n\
         local file\n\
         init = function(args)\n  file = assert(io.open(\"{dir}/\" .. args[1] .. id .. \".requests\", \"r\"))\nend\n\
         request = function()\n  local line = file:read(\"*l\")\n  if not line then\n    file:seek(\"set\", 0)\n    line = file:read(\"*l\")\n  end\n\
           local sig, body = line:match(\"^(%S+) (.*)$\")\n\
           return wrk.format(\"POST\", \"/slack/commands\", {{[\"Content-Type\"]=\"application/x-www-form-urlencoded\", [\"X-Slack-Request-Timestamp\"]=\"{ts}\", [\"X-Slack-Signature\"]=sig}}, body)\nend\n",
        dir = dir.display(),
    )
}
