//! The scale scenario (issue 20): several `keel run` processes, the real binary,
//! on one PostgreSQL. Two Slack replicas, a jobs worker and two Discord shard
//! processes against the fakes, and the work each piece must do once:
//! - the same signed Slack event sent to both replicas is counted once;
//! - 200 contributions at once over both replicas cross milestones, each
//!   announced once;
//! - a jobs worker killed (SIGKILL) mid-post, then another: one post;
//! - three jobs processes when a digest falls due: one digest;
//! - each Discord shard process answers its own servers only;
//! - each process's /metrics counts the commands it served.
//!
//! Built with the `postgres-tests` feature and run with `TEST_DATABASE=postgres`
//! (as `.ci/run` does under `pg_virtualenv`); it fails when PostgreSQL cannot be
//! reached.
#![cfg(all(
    feature = "postgres-tests",
    feature = "slack",
    feature = "discord",
    unix
))]

#[path = "support/database.rs"]
mod database;
#[path = "support/fake_discord.rs"]
mod fake_discord;
#[allow(dead_code)]
#[path = "support/fake_slack.rs"]
mod fake_slack;
#[path = "support/http.rs"]
mod http;
#[path = "support/keel_process.rs"]
mod keel_process;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use fake_discord::{FakeDiscord, Invocation, TOKEN, shard_of};
use fake_slack::FakeSlack;
use keel_process::{KeelProcess, free_port};
use serde_json::json;
use sqlx::{Connection, PgConnection};

const SECRET: &str = "scale-signing-secret";
const TEAM: &str = "T1";
const ORGANISER: &str = "UORG";
const CHANNEL: &str = "C42";
/// Two servers, one on each of two shards: (id >> 22) % 2 is 0, then 1.
const SERVER_ON_SHARD_0: u64 = 300_000_000_000 << 22;
const SERVER_ON_SHARD_1: u64 = (300_000_000_001 << 22) | 7;
const DISCORD_MEMBER: u64 = 500_000_000_000_000_002;

struct Scenario {
    dir: tempfile::TempDir,
    url: String,
    slack: FakeSlack,
    discord: FakeDiscord,
}

/// Where one process listens: Slack's endpoints (for the slack role) and the
/// operator's routes.
struct Place {
    http: SocketAddr,
    metrics: SocketAddr,
}

impl Scenario {
    /// A config for a process named `name`: the shared database and
    /// platforms, its own listeners, `discord` for a shard process's lines.
    fn config(&self, name: &str, place: &Place, discord: &str) -> PathBuf {
        let path = self.dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &path,
            format!(
                "[database]\nurl = \"{url}\"\npool_size = 5\n\
                 [metrics]\nlisten = \"{metrics}\"\n\
                 [http]\nlisten = \"{http}\"\n\
                 [delivery]\ncall_timeout_secs = 5\nlease_secs = 15\n\
                 [slack]\nsigning_secret = \"{SECRET}\"\nbot_token = \"xoxb-test\"\n\
                 api_base = \"{slack}\"\ncount_activity = true\n\
                 [discord]\ntoken = \"{TOKEN}\"\napi_base = \"{discord_api}\"\n{discord}",
                url = self.url,
                metrics = place.metrics,
                http = place.http,
                slack = self.slack.api_base(),
                discord_api = self.discord.api_base(),
            ),
        )
        .unwrap();
        path
    }

    fn start(&self, name: &str, roles: &str, discord: &str) -> (KeelProcess, Place) {
        let place = Place {
            http: free_port(),
            metrics: free_port(),
        };
        let config = self.config(name, &place, discord);
        let process = KeelProcess::start(
            &config,
            &["run", "--role", roles],
            "info",
            self.dir.path().join(format!("{name}.log")),
        );
        (process, place)
    }

    async fn db(&self) -> PgConnection {
        PgConnection::connect(&self.url).await.unwrap()
    }

    async fn count(&self, sql: &str) -> i64 {
        let mut db = self.db().await;
        let n = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&mut db)
            .await
            .unwrap();
        // Closed, not dropped: PostgreSQL logs a connection that just goes.
        db.close().await.unwrap();
        n
    }

    /// Waits until nothing is left to deliver; panics with `process`'s log
    /// after 90 s. Slack's posts go a second apart per workspace.
    async fn drained(&self, process: &KeelProcess) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while self.count(PENDING).await > 0 {
            assert!(
                Instant::now() < deadline,
                "still pending after 90 s: {}",
                process.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

const PENDING: &str = "SELECT count(*) FROM announcement_deliveries WHERE status = 'pending'";

/// `/keel <text>` from `user` to the replica at `addr`; its reply.
async fn command(addr: SocketAddr, user: &str, text: &str) -> String {
    let response =
        http::slack_command(addr, SECRET, TEAM, (user, &user.to_lowercase()), text).await;
    assert_eq!(response.status, 200, "{text}: {}", response.body);
    assert!(!response.body.contains('⚠'), "{text}: {}", response.body);
    response.body
}

/// A signed event callback to the replica at `addr`.
async fn event(addr: SocketAddr, body: &str) -> u16 {
    let ts = chrono::Utc::now().timestamp();
    http::signed_post(addr, "/slack/events", SECRET, ts, "application/json", body)
        .await
        .status
}

/// The sum of the samples whose name and labels start with `name_and_labels`,
/// as `/metrics` at `addr` shows them now.
async fn counted(addr: SocketAddr, name_and_labels: &str) -> f64 {
    let mut connection = http::KeepAlive::connect(addr).await;
    let scraped = connection.get("/metrics").await.body;
    scraped
        .lines()
        .filter(|line| line.starts_with(name_and_labels))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn several_processes_on_one_postgresql_do_each_piece_of_work_once() {
    assert!(database::postgres(), "run with TEST_DATABASE=postgres");
    let dir = tempfile::tempdir().unwrap();
    let url = database::url(dir.path()).await;
    let slack = FakeSlack::start().await;
    slack.make_admin(ORGANISER);
    let discord = FakeDiscord::start().await;
    assert_eq!(shard_of(SERVER_ON_SHARD_0, 2), 0);
    assert_eq!(shard_of(SERVER_ON_SHARD_1, 2), 1);
    discord.add_guild(SERVER_ON_SHARD_0, "Forest Friends");
    discord.add_guild(SERVER_ON_SHARD_1, "River Keepers");
    let scenario = Scenario {
        dir,
        url,
        slack,
        discord,
    };

    // The first process applies the migrations; the rest find them applied.
    let (mut replica_a, a) = scenario.start("slack-a", "slack", "");
    replica_a.wait_for_port(a.http).await;
    let (mut replica_b, b) = scenario.start("slack-b", "slack", "");
    let (mut jobs, jobs_place) = scenario.start("jobs", "jobs", "");
    let (mut shard_0, shard_0_place) =
        scenario.start("discord-0", "discord", "shards = \"0\"\ntotal_shards = 2\n");
    let (mut shard_1, shard_1_place) = scenario.start(
        "discord-1",
        "discord",
        "shards = \"1\"\ntotal_shards = 2\nregister_commands = false\n",
    );
    replica_b.wait_for_port(b.http).await;
    jobs.wait_for_log("keel is running").await;
    let mut sent_to = [0.0, 0.0];

    // The same signed event, as Slack retries it, reaches both replicas.
    command(a.http, "U1", "help").await;
    sent_to[0] += 1.0;
    let message = r#"{"type":"event_callback","team_id":"T1","event_id":"EvScale1","event":{"type":"message","user":"U1","text":"hello","channel":"C1","ts":"1.0"}}"#;
    let (first, second) = tokio::join!(event(a.http, message), event(b.http, message));
    assert_eq!((first, second), (200, 200));
    let deadline = Instant::now() + Duration::from_secs(10);
    while scenario
        .count("SELECT count(*) FROM slack_inbox WHERE handled_at IS NULL")
        .await
        > 0
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        scenario
            .count("SELECT COALESCE(sum(messages), 0)::BIGINT FROM member_daily_activity")
            .await,
        1,
        "one message counted once"
    );
    assert_eq!(scenario.count("SELECT count(*) FROM slack_inbox").await, 1);

    // 200 contributions at once, alternating replicas, from 4 members.
    command(
        a.http,
        ORGANISER,
        &format!("setup announcements <#{CHANNEL}|celebrations>"),
    )
    .await;
    command(
        b.http,
        ORGANISER,
        "goal create Plant 200 trees target=200 unit=trees slug=trees",
    )
    .await;
    sent_to[0] += 1.0;
    sent_to[1] += 1.0;
    let contributions = (0..200).map(|n| {
        let addr = if n % 2 == 0 { a.http } else { b.http };
        let user = format!("U{:02}", n % 4);
        async move {
            let reply = command(
                addr,
                &user,
                &format!("contribute Planted tree {n} goal=trees amount=1"),
            )
            .await;
            assert!(reply.contains(&format!("Planted tree {n}")), "{reply}");
        }
    });
    futures_util::future::join_all(contributions).await;
    sent_to[0] += 100.0;
    sent_to[1] += 100.0;
    assert_eq!(
        scenario
            .count("SELECT count(*) FROM contributions WHERE description LIKE 'Planted tree %'")
            .await,
        200
    );
    scenario.drained(&jobs).await;
    let achievements = scenario
        .count("SELECT count(*) FROM milestone_achievements")
        .await;
    let keys: Vec<String> = sqlx::query_scalar(
        "SELECT milestone_key || ' ' || subject FROM milestone_achievements ORDER BY 1",
    )
    .fetch_all(&mut scenario.db().await)
    .await
    .unwrap();
    for crossed in [
        "community.count.100 ",
        "community.count.50 ",
        "goal.percent.100 ",
        "member.count.50 ",
    ] {
        assert!(
            keys.iter().any(|k| k.starts_with(crossed)),
            "{crossed} in {keys:?}"
        );
    }
    let announced = scenario
        .count(
            "SELECT count(*) FROM announcement_deliveries d JOIN announcements a ON a.id = d.announcement_id
             WHERE a.kind = 'milestone' AND d.status = 'delivered'",
        )
        .await;
    assert_eq!(announced, achievements, "{keys:?}");
    let markers = scenario.slack.delivery_markers(CHANNEL);
    let distinct: HashSet<&String> = markers.iter().collect();
    assert_eq!(distinct.len(), markers.len(), "posted twice: {markers:?}");
    assert_eq!(
        markers.len() as i64,
        achievements,
        "{markers:?} for {keys:?}"
    );

    let delivered = r#"keel_deliveries_total{platform="slack",outcome="delivered""#;
    assert_eq!(
        counted(jobs_place.metrics, delivered).await as i64,
        achievements
    );

    // A worker killed in the middle of a post; another finishes its work.
    scenario.slack.hang_posts_to(CHANNEL, true);
    let posts_before = markers.len();
    command(a.http, "UNEW", "contribute Planted a first tree").await;
    sent_to[0] += 1.0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while scenario.slack.delivery_markers(CHANNEL).len() == posts_before {
        assert!(Instant::now() < deadline, "no post began: {}", jobs.logs());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    jobs.kill();
    scenario.slack.hang_posts_to(CHANNEL, false);
    assert_eq!(scenario.count(PENDING).await, 1, "the post was cut off");
    let (mut jobs_2, _) = scenario.start("jobs-2", "jobs", "");
    scenario.drained(&jobs_2).await;
    let markers = scenario.slack.delivery_markers(CHANNEL);
    assert_eq!(markers.len(), posts_before + 1, "{markers:?}");
    assert_eq!(
        markers.iter().collect::<HashSet<_>>().len(),
        markers.len(),
        "{markers:?}"
    );
    assert!(jobs_2.stop().success(), "{}", jobs_2.logs());

    // Three jobs processes when the digest falls due: one digest.
    command(a.http, ORGANISER, "setup digest daily 09:00").await;
    sent_to[0] += 1.0;
    let due = keel::store::ts(chrono::Utc::now() + chrono::Duration::seconds(4));
    sqlx::query("UPDATE schedules SET next_run_at = $1 WHERE kind = 'digest'")
        .bind(&due)
        .execute(&mut scenario.db().await)
        .await
        .unwrap();
    let mut digesters: Vec<KeelProcess> = (3..=5)
        .map(|n| scenario.start(&format!("jobs-{n}"), "jobs", "").0)
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while scenario
        .count("SELECT count(*) FROM schedule_runs WHERE kind = 'digest'")
        .await
        == 0
    {
        assert!(Instant::now() < deadline, "{}", digesters[0].logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    scenario.drained(&digesters[0]).await;
    // Past the moment every process woke for it.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        scenario
            .count("SELECT count(*) FROM announcements WHERE kind = 'digest'")
            .await,
        1
    );
    let markers = scenario.slack.delivery_markers(CHANNEL);
    assert_eq!(markers.len(), posts_before + 2, "one digest: {markers:?}");
    for digester in &mut digesters {
        assert!(digester.stop().success(), "{}", digester.logs());
    }

    // Each shard process connects its own shard, and answers its own servers.
    scenario
        .discord
        .wait_for(Duration::from_secs(30), "both shards connected", |f| {
            (f.connected_shards() == [0, 1]).then_some(())
        })
        .await;
    let identified: Vec<_> = scenario
        .discord
        .identifies()
        .iter()
        .map(|d| d["shard"].clone())
        .collect();
    assert_eq!(identified.len(), 2, "{identified:?}");
    assert!(identified.contains(&json!([0, 2])) && identified.contains(&json!([1, 2])));
    let registered = scenario.discord.requests_to("PUT", "/commands");
    assert_eq!(registered.len(), 1, "one process registers the commands");
    for (server, times) in [(SERVER_ON_SHARD_0, 1), (SERVER_ON_SHARD_1, 2)] {
        for _ in 0..times {
            let reply = scenario
                .discord
                .command(&Invocation::new(server, DISCORD_MEMBER, "help", json!([])))
                .await;
            assert_eq!(reply["type"], 4, "{reply}");
        }
    }
    let discord_commands = r#"keel_commands_total{platform="discord""#;
    assert_eq!(counted(shard_0_place.metrics, discord_commands).await, 1.0);
    assert_eq!(counted(shard_1_place.metrics, discord_commands).await, 2.0);
    assert!(
        shard_0.logs().contains("connected to Discord"),
        "{}",
        shard_0.logs()
    );

    // Each replica counted what it served; a shard served no Slack command.
    let slack_commands = r#"keel_commands_total{platform="slack""#;
    assert_eq!(counted(a.metrics, slack_commands).await, sent_to[0]);
    assert_eq!(counted(b.metrics, slack_commands).await, sent_to[1]);
    assert_eq!(counted(shard_0_place.metrics, slack_commands).await, 0.0);
    assert_eq!(counted(a.metrics, discord_commands).await, 0.0);

    for process in [&mut replica_a, &mut replica_b, &mut shard_0, &mut shard_1] {
        assert!(process.stop().success(), "{}", process.logs());
    }
}
