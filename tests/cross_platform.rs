//! One community across Discord and Slack, end to end (issue 18 §2): a single
//! `keel run` process, the real binary, against the fake Discord (gateway and
//! REST) and the fake Slack (Web API; Keel's own HTTP server takes the slash
//! commands) at once.
#![cfg(all(feature = "discord", feature = "slack", unix))]

#[path = "support/fake_discord.rs"]
mod fake_discord;
#[allow(dead_code)]
#[path = "support/fake_slack.rs"]
mod fake_slack;
#[path = "support/http.rs"]
mod http;
#[path = "support/keel_process.rs"]
mod keel_process;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use fake_discord::{FakeDiscord, Invocation, TOKEN};
use fake_slack::FakeSlack;
use keel_process::{KeelProcess, free_port};
use serde_json::{Value, json};
use sqlx::{Connection, SqliteConnection};

const SECRET: &str = "cross-platform-signing-secret";
/// The Discord server, its announcement channel, an admin and a member.
const GUILD: u64 = 111_111_111_111_111_111;
const CHANNEL: u64 = 600_000_000_000_000_042;
const ADMIN: u64 = 500_000_000_000_000_001;
const DORA: u64 = 500_000_000_000_000_002;
/// The Slack workspace, its announcement channel, an organiser and a member.
const TEAM: &str = "T1";
const SLACK_CHANNEL: &str = "C42";
const ORGANISER: &str = "UORG";
const SAM: &str = "USAM";

/// `keel run`, ended when dropped.
struct Keel {
    process: KeelProcess,
    addr: SocketAddr,
    db: std::path::PathBuf,
}

async fn keel_run(dir: &Path, discord: &FakeDiscord, slack: &FakeSlack) -> Keel {
    let addr = free_port();
    let config = dir.join("keel.toml");
    let db = dir.join("keel.db");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{db}\"\n\
             [http]\nlisten = \"{addr}\"\n\
             [discord]\ntoken = \"{TOKEN}\"\napi_base = \"{discord_api}\"\n\
             [slack]\nsigning_secret = \"{SECRET}\"\nbot_token = \"xoxb-test\"\napi_base = \"{slack_api}\"\n",
            db = db.display(),
            discord_api = discord.api_base(),
            slack_api = slack.api_base(),
        ),
    )
    .unwrap();
    let mut process = KeelProcess::start(&config, &["run"], "info", dir.join("keel.log"));
    process.wait_for_port(addr).await;
    Keel { process, addr, db }
}

impl Keel {
    fn logs(&self) -> String {
        self.process.logs()
    }

    /// `/keel <text>` from `user` of the Slack workspace; the reply Keel gives.
    async fn slack(&self, user: &str, name: &str, text: &str) -> String {
        let response = http::slack_command(self.addr, SECRET, TEAM, (user, name), text).await;
        assert_eq!(response.status, 200, "{text}: {}", response.body);
        response.body
    }

    /// A read of Keel's database, as it is now (keel run keeps writing).
    async fn count(&self, sql: &str) -> i64 {
        let url = format!("sqlite://{}?mode=ro", self.db.display());
        let mut conn = SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&mut conn)
            .await
            .unwrap()
    }

    async fn text(&self, sql: &str) -> String {
        let url = format!("sqlite://{}?mode=ro", self.db.display());
        let mut conn = SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&mut conn)
            .await
            .unwrap()
    }

    async fn wait_until(&self, what: &str, sql: &str, expected: i64) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.count(sql).await == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{what}: `{sql}` never became {expected} (is {}); log:\n{}",
            self.count(sql).await,
            self.logs()
        );
    }
}

/// What a Discord reply shows: content, embed titles, descriptions and fields,
/// without Discord's markdown escapes.
fn shown(body: &Value) -> String {
    let data = if body.get("data").is_some() {
        &body["data"]
    } else {
        body
    };
    let mut out = vec![data["content"].as_str().unwrap_or_default().to_string()];
    for embed in data["embeds"].as_array().into_iter().flatten() {
        for key in ["title", "description"] {
            out.push(embed[key].as_str().unwrap_or_default().to_string());
        }
        for field in embed["fields"].as_array().into_iter().flatten() {
            out.push(format!("{}: {}", field["name"], field["value"]));
        }
    }
    out.join("\n").replace('\\', "")
}

fn string(name: &str, value: &str) -> Value {
    json!({"name": name, "type": 3, "value": value})
}

/// The link code a reply shows (KEEL-XXXX-XXXX).
fn code_in(text: &str) -> String {
    let at = text
        .find("KEEL-")
        .unwrap_or_else(|| panic!("no link code in {text}"));
    text[at..at + 14].to_string()
}

/// The texts of the posts in a Slack channel and in the Discord channel.
fn slack_posts(slack: &FakeSlack) -> Vec<String> {
    slack
        .messages_in(SLACK_CHANNEL)
        .iter()
        .map(|m| m.to_string())
        .collect()
}

fn discord_posts(discord: &FakeDiscord) -> Vec<String> {
    discord.messages_in(CHANNEL).iter().map(shown).collect()
}

/// How many posts mention `what`.
fn posts_about(posts: &[String], what: &str) -> usize {
    posts.iter().filter(|p| p.contains(what)).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_keel_run_serves_one_community_across_discord_and_slack() {
    let discord = FakeDiscord::start().await;
    discord.add_guild(GUILD, "Forest Friends");
    let slack = FakeSlack::start().await;
    slack.make_admin(ORGANISER);
    let dir = tempfile::tempdir().unwrap();
    let keel = keel_run(dir.path(), &discord, &slack).await;
    discord.wait_ready().await;
    keel.wait_until(
        "the server's community",
        "SELECT count(*) FROM workspaces WHERE platform = 'discord'",
        1,
    )
    .await;

    // A Slack organiser makes a community code; a Discord admin redeems it.
    let made = keel.slack(ORGANISER, "olga", "link community").await;
    let code = code_in(&made);
    // A plain member of the server may not join it to a community.
    let refused = discord
        .command(&Invocation::sub(
            GUILD,
            DORA,
            "link",
            "code",
            json!([string("code", &code)]),
        ))
        .await;
    assert!(
        shown(&refused).contains("Ask an admin of this Discord server"),
        "{}",
        shown(&refused)
    );
    let linked = discord
        .command(
            &Invocation::sub(GUILD, ADMIN, "link", "code", json!([string("code", &code)]))
                .organiser()
                .named("ada"),
        )
        .await;
    assert!(
        shown(&linked).contains("Workspace linked"),
        "{}",
        shown(&linked)
    );
    assert_eq!(
        keel.count("SELECT count(DISTINCT community_id) FROM workspaces")
            .await,
        1
    );

    // Each platform's channel for announcements.
    let set = keel
        .slack(
            ORGANISER,
            "olga",
            &format!("setup announcements <#{SLACK_CHANNEL}|celebrations>"),
        )
        .await;
    assert!(!set.contains('⚠'), "{set}");
    let mut channel = Invocation::sub(
        GUILD,
        ADMIN,
        "setup",
        "announcements",
        json!([{"name": "channel", "type": 7, "value": CHANNEL.to_string()}]),
    )
    .organiser()
    .named("ada");
    channel.resolved = json!({"channels": {CHANNEL.to_string(): {
        "id": CHANNEL.to_string(), "name": "celebrations", "type": 0, "permissions": "2147534848"
    }}});
    let set = discord.command(&channel).await;
    assert!(!shown(&set).contains('⚠'), "{}", shown(&set));

    // A goal made on Slack; a Discord member's contribution to it.
    let goal = keel
        .slack(
            ORGANISER,
            "olga",
            "goal create Plant ten trees target=10 unit=trees slug=trees",
        )
        .await;
    assert!(goal.contains("Plant ten trees"), "{goal}");
    let contributed = discord
        .command(
            &Invocation::new(
                GUILD,
                DORA,
                "contribute",
                json!([
                    string("what", "Planted six hazels"),
                    {"name": "amount", "type": 10, "value": 6.0},
                    string("goal", "trees")
                ]),
            )
            .named("dora"),
        )
        .await;
    assert!(
        shown(&contributed).contains("Plant ten trees is 50% of the way there"),
        "{}",
        shown(&contributed)
    );

    // It is in the stats on Slack.
    let stats = keel.slack(SAM, "sam", "stats").await;
    assert!(stats.contains("dora"), "{stats}");
    assert!(stats.contains("Plant ten trees"), "{stats}");

    // The milestones it crossed are announced once in each platform's channel.
    let half = "Plant ten trees is 50% of the way there";
    let deadline = Instant::now() + Duration::from_secs(20);
    while posts_about(&slack_posts(&slack), half) == 0
        || posts_about(&discord_posts(&discord), half) == 0
    {
        assert!(
            Instant::now() < deadline,
            "not announced in both channels: slack {:#?} discord {:#?}\n{}",
            slack_posts(&slack),
            discord_posts(&discord),
            keel.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    keel.wait_until(
        "every delivery made",
        "SELECT count(*) FROM announcement_deliveries WHERE status <> 'delivered'",
        0,
    )
    .await;
    // A moment more, for any second post there should not be.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (on_slack, on_discord) = (slack_posts(&slack), discord_posts(&discord));
    for milestone in [half, "Plant ten trees is 25% of the way there"] {
        assert_eq!(posts_about(&on_slack, milestone), 1, "{on_slack:#?}");
        assert_eq!(posts_about(&on_discord, milestone), 1, "{on_discord:#?}");
    }
    assert_eq!(
        on_slack.len(),
        on_discord.len(),
        "the same announcements on both: {on_slack:#?} {on_discord:#?}"
    );

    // A person links their Slack and Discord identities, and is one member.
    keel.slack(
        SAM,
        "sam",
        "contribute Watered the hazels amount=1 goal=trees",
    )
    .await;
    let made = keel.slack(SAM, "sam", "link").await;
    let code = code_in(&made);
    let joined = discord
        .command(
            &Invocation::sub(GUILD, DORA, "link", "code", json!([string("code", &code)]))
                .named("dora"),
        )
        .await;
    assert!(
        shown(&joined).contains("Accounts linked"),
        "{}",
        shown(&joined)
    );
    let member = "SELECT member_id FROM identities WHERE external_user_id = 'USAM'";
    assert_eq!(
        keel.count(&format!(
            "SELECT count(DISTINCT member_id) FROM identities WHERE external_user_id IN ('USAM', '{DORA}')"
        ))
        .await,
        1
    );
    let name = keel
        .text(&format!(
            "SELECT display_name FROM members WHERE id = ({member})"
        ))
        .await;
    let me = discord
        .command(&Invocation::sub(GUILD, DORA, "stats", "me", json!([])).named("dora"))
        .await;
    assert!(
        shown(&me).contains("Contributions: 2") || shown(&me).contains("\"Contributions\": \"2\""),
        "{}",
        shown(&me)
    );
    let board = keel.slack(ORGANISER, "olga", "leaderboard all").await;
    assert_eq!(board.matches(&name).count(), 1, "{name} once in {board}");
    assert!(
        !board.contains(if name == "sam" { "dora" } else { "sam" }),
        "{board}"
    );
    let stats = keel.slack(ORGANISER, "olga", "stats").await;
    assert!(
        !stats.contains(if name == "sam" { "dora" } else { "sam" }),
        "one member in stats: {stats}"
    );
    assert_eq!(
        keel.count("SELECT contribution_count FROM members WHERE id = (SELECT member_id FROM identities WHERE external_user_id = 'USAM')")
            .await,
        2
    );

    // Kudos from one of their identities to the other is refused.
    let kudos = keel
        .slack(SAM, "sam", &format!("kudos @{name} for the hazels"))
        .await;
    assert!(kudos.contains("thanking someone else"), "{kudos}");
    assert_eq!(keel.count("SELECT count(*) FROM kudos").await, 0);

    // forget-me, from Discord, erases both identities.
    let forgotten = discord
        .command(
            &Invocation::new(
                GUILD,
                DORA,
                "forget-me",
                json!([{"name": "confirm", "type": 5, "value": true}]),
            )
            .named("dora"),
        )
        .await;
    assert!(
        !shown(&forgotten).contains("went wrong"),
        "{}",
        shown(&forgotten)
    );
    keel.wait_until(
        "both identities erased",
        &format!("SELECT count(*) FROM identities WHERE external_user_id IN ('USAM', '{DORA}')"),
        0,
    )
    .await;
    keel.wait_until(
        "the member erased",
        &format!("SELECT count(*) FROM members WHERE display_name = '{name}'"),
        0,
    )
    .await;
    let stats = keel.slack(ORGANISER, "olga", "stats").await;
    assert!(!stats.contains(&name), "{stats}");
}
