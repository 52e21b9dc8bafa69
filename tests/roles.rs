//! `keel run --role …` (issue 20 §1), the real binary against the fake Slack: a
//! process with the slack role answers commands and leaves announcements to a
//! jobs process; a jobs process delivers them without serving anything. And
//! `[log] format = "json"` writes one JSON object per line, with the command's
//! span fields.
#![cfg(all(feature = "slack", unix))]

#[allow(dead_code)]
#[path = "support/fake_slack.rs"]
mod fake_slack;
#[path = "support/http.rs"]
mod http;
#[path = "support/keel_process.rs"]
mod keel_process;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use fake_slack::FakeSlack;
use keel_process::{KeelProcess, free_port};
use serde_json::Value;
use sqlx::{Connection, SqliteConnection};

const SECRET: &str = "roles-signing-secret";
const CHANNEL: &str = "C42";
const ORGANISER: &str = "UORG";

/// The config of one process: Slack's endpoints on `addr`, the operator's
/// routes on `metrics`.
fn write_config(
    dir: &Path,
    name: &str,
    addr: SocketAddr,
    metrics: SocketAddr,
    slack: &FakeSlack,
) -> std::path::PathBuf {
    let config = dir.join(name);
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{db}\"\n\
             [log]\nformat = \"json\"\n\
             [metrics]\nlisten = \"{metrics}\"\n\
             [http]\nlisten = \"{addr}\"\n\
             [slack]\nsigning_secret = \"{SECRET}\"\nbot_token = \"xoxb-test\"\napi_base = \"{api}\"\n",
            db = dir.join("keel.db").display(),
            api = slack.api_base(),
        ),
    )
    .unwrap();
    config
}

/// `/keel <text>` from `user`; the reply.
async fn slack_command(addr: SocketAddr, user: &str, text: &str) -> String {
    let response = http::slack_command(addr, SECRET, "T1", (user, "olga"), text).await;
    assert_eq!(response.status, 200, "{text}: {}", response.body);
    response.body
}

async fn count(dir: &Path, sql: &str) -> i64 {
    let url = format!("sqlite://{}?mode=ro", dir.join("keel.db").display());
    let mut conn = SqliteConnection::connect(&url).await.unwrap();
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&mut conn)
        .await
        .unwrap()
}

const PENDING: &str = "SELECT count(*) FROM announcement_deliveries WHERE status = 'pending'";

#[tokio::test(flavor = "multi_thread")]
async fn a_slack_process_leaves_announcements_to_a_jobs_process() {
    let slack = FakeSlack::start().await;
    slack.make_admin(ORGANISER);
    let dir = tempfile::tempdir().unwrap();
    let addr = free_port();
    let (web_metrics, jobs_metrics) = (free_port(), free_port());
    let config = write_config(dir.path(), "web.toml", addr, web_metrics, &slack);

    let mut web = KeelProcess::start(
        &config,
        &["run", "--role", "slack"],
        "info,keel=debug",
        dir.path().join("slack.log"),
    );
    web.wait_for_port(addr).await;
    let set = slack_command(
        addr,
        ORGANISER,
        &format!("setup announcements <#{CHANNEL}|celebrations>"),
    )
    .await;
    assert!(!set.contains('⚠'), "{set}");
    // Refused past parsing, so logged (at debug) inside the command's span.
    let refused = slack_command(addr, ORGANISER, "event show 99").await;
    assert!(refused.contains("#99"), "{refused}");
    let contributed = slack_command(addr, ORGANISER, "contribute Planted a hazel").await;
    assert!(contributed.contains("Planted a hazel"), "{contributed}");
    assert!(
        count(dir.path(), PENDING).await > 0,
        "a milestone to announce"
    );
    // A process with every role delivers within milliseconds; this one never does.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(slack.messages_in(CHANNEL).is_empty(), "no jobs here");
    assert!(count(dir.path(), PENDING).await > 0);
    assert_eq!(get(web_metrics, "/healthz").await, "ok");
    assert_eq!(get(web_metrics, "/readyz").await, "ready");
    let scraped = get(web_metrics, "/metrics").await;
    assert_eq!(
        sample(
            &scraped,
            r#"keel_commands_total{platform="slack",outcome="ok"}"#
        ),
        Some(2.0),
        "{scraped}"
    );
    assert_eq!(
        sample(
            &scraped,
            r#"keel_commands_total{platform="slack",outcome="refused"}"#
        ),
        Some(1.0),
        "{scraped}"
    );
    assert!(
        scraped.contains("keel_command_duration_seconds_bucket"),
        "{scraped}"
    );
    assert!(
        sample(&scraped, "keel_outbox_pending").unwrap_or(0.0) > 0.0,
        "{scraped}"
    );
    promtool_accepts(&scraped);
    assert!(web.stop().success(), "{}", web.logs());

    // Every line is one JSON object; the command's span names it.
    let logs = web.logs();
    let lines: Vec<Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let running = lines
        .iter()
        .find(|l| l["message"] == "keel is running")
        .unwrap_or_else(|| panic!("{logs}"));
    assert_eq!(running["jobs"], false, "{running}");
    assert!(
        lines
            .iter()
            .any(|l| l["span"]["command"].as_str() == Some("event show")
                && l["span"]["platform"] == "slack"),
        "{logs}"
    );
    assert!(!logs.contains('\u{1b}'), "no colour codes in a file");

    let config = write_config(dir.path(), "jobs.toml", addr, jobs_metrics, &slack);
    let mut jobs = KeelProcess::start(
        &config,
        &["run", "--role", "jobs"],
        "info",
        dir.path().join("jobs.log"),
    );
    jobs.wait_for_log("keel is running").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while count(dir.path(), PENDING).await > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count(dir.path(), PENDING).await, 0, "{}", jobs.logs());
    assert!(!slack.messages_in(CHANNEL).is_empty());
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "a jobs process serves no endpoint"
    );
    let scraped = get(jobs_metrics, "/metrics").await;
    assert!(
        sample(
            &scraped,
            r#"keel_deliveries_total{platform="slack",outcome="delivered"}"#
        )
        .is_some_and(|n| n >= 1.0),
        "{scraped}"
    );
    assert_eq!(
        sample(&scraped, "keel_outbox_pending"),
        Some(0.0),
        "{scraped}"
    );
    assert!(
        sample(&scraped, "keel_db_pool_connections").is_some(),
        "{scraped}"
    );
    promtool_accepts(&scraped);
    assert!(jobs.stop().success(), "{}", jobs.logs());
}

/// The body of `GET path`.
async fn get(addr: SocketAddr, path: &str) -> String {
    let mut connection = http::KeepAlive::connect(addr).await;
    let response = connection.get(path).await;
    assert_eq!(response.status, 200, "{path}: {}", response.body);
    response.body
}

/// A sample's value in Prometheus's text format, by its name and labels.
fn sample(scraped: &str, series: &str) -> Option<f64> {
    scraped.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.trim().parse().ok()
    })
}

/// `promtool check metrics` (Debian's prometheus package; `.ci/run` installs it
/// and runs this with `--features ci-tools`) finds nothing wrong with what
/// /metrics served.
#[cfg(not(feature = "ci-tools"))]
fn promtool_accepts(_: &str) {}

#[cfg(feature = "ci-tools")]
fn promtool_accepts(scraped: &str) {
    use std::io::Write;
    let mut check = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool: apt-get install prometheus");
    check
        .stdin
        .take()
        .unwrap()
        .write_all(scraped.as_bytes())
        .unwrap();
    let checked = check.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool: {}{}\n{scraped}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}
