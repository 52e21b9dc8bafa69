//! The Discord adapter (real serenity and poise) against a fake Discord: gateway
//! and REST on 127.0.0.1, started by each test.
#![cfg(feature = "discord")]

#[path = "support/db.rs"]
mod db;
#[path = "support/fake_discord.rs"]
mod fake_discord;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use fake_discord::{FakeDiscord, Invocation, TOKEN, assert_everything_parsed, capture_logs};
use keel::app::App;
use keel::config::{Config, Secret};
use keel::domain::clock::{ManualClock, SystemClock};
use keel::jobs::outbox::{Deliverer, Notifier};
use keel::jobs::{ShutdownTrigger, shutdown_pair};
use keel::store::{Store, StoreOptions};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::mpsc;

const G1: u64 = 111_111_111_111_111_111;
const G2: u64 = 222_222_222_222_222_222;
const ORGANISER: u64 = 500_000_000_000_000_001;
const MEMBER: u64 = 500_000_000_000_000_002;
const CHANNEL: u64 = 600_000_000_000_000_042;
const ROLE: u64 = 300_000_000_000_000_007;

struct Keel {
    app: App,
    fake: FakeDiscord,
    clock: Arc<ManualClock>,
    notifier: Arc<dyn Notifier>,
    _dir: TempDir,
    _stop: ShutdownTrigger,
    _fatal: mpsc::UnboundedReceiver<String>,
}

async fn start(configure: impl FnOnce(&mut Config)) -> Keel {
    capture_logs();
    let fake = FakeDiscord::start().await;
    fake.add_guild(G1, "Forest Friends");
    fake.add_guild(G2, "River Keepers");
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("keel.db").display());
    let store = Store::open(&StoreOptions::new(url)).await.unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let mut config = Config::default();
    config.discord.token = Some(Secret::new(TOKEN));
    config.discord.api_base = Some(fake.api_base());
    config.discord.count_activity = true;
    config.discord.welcome = true;
    configure(&mut config);
    let app = App::with_settings(store, clock.clone(), config.app_settings());
    let (stop, shutdown) = shutdown_pair();
    let (fatal, fatal_rx) = mpsc::unbounded_channel();
    let (notifier, _tasks) = keel::discord::start(app.clone(), &config, shutdown, fatal)
        .await
        .unwrap();
    fake.wait_ready().await;
    let keel = Keel {
        app,
        fake,
        clock,
        notifier,
        _dir: dir,
        _stop: stop,
        _fatal: fatal_rx,
    };
    // Both servers' GUILD_CREATE made their communities.
    keel.wait_until(
        "both communities",
        "SELECT count(*) FROM workspaces WHERE platform = 'discord'",
        2,
    )
    .await;
    keel
}

impl Keel {
    async fn count(&self, sql: &str) -> i64 {
        db::scalar(&self.app, sql, &[]).await
    }

    async fn wait_until(&self, what: &str, sql: &str, expected: i64) {
        for _ in 0..200 {
            if self.count(sql).await == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{what}: `{sql}` never became {expected} (is {})",
            self.count(sql).await
        );
    }

    async fn deliver(&self) -> usize {
        Deliverer::new(self.app.clone(), vec![self.notifier.clone()])
            .deliver_due()
            .await
            .unwrap()
    }
}

/// The text a callback or message shows: content, embed titles, descriptions, fields.
fn shown(body: &Value) -> String {
    let data = if body.get("data").is_some() {
        &body["data"]
    } else {
        body
    };
    let mut out = vec![data["content"].as_str().unwrap_or_default().to_string()];
    for embed in data["embeds"].as_array().into_iter().flatten() {
        out.push(embed["title"].as_str().unwrap_or_default().to_string());
        out.push(
            embed["description"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
        for field in embed["fields"].as_array().into_iter().flatten() {
            out.push(format!("{}: {}", field["name"], field["value"]));
        }
    }
    out.join("\n")
}

fn is_ephemeral(body: &Value) -> bool {
    body["data"]["flags"].as_u64().unwrap_or(0) & 64 != 0
}

fn mentions_parse_nothing(data: &Value) -> bool {
    data["allowed_mentions"]["parse"] == json!([])
        && data["allowed_mentions"]["users"] == json!([])
        && data["allowed_mentions"]["roles"] == json!([])
}

/// `/contribute what:…` from the plain member in the first server.
fn contribution(what: &str) -> Invocation {
    Invocation::new(G1, MEMBER, "contribute", json!([string("what", what)]))
}

fn string(name: &str, value: &str) -> Value {
    json!({"name": name, "type": 3, "value": value})
}

fn number(name: &str, value: f64) -> Value {
    json!({"name": name, "type": 10, "value": value})
}

#[tokio::test]
async fn startup_identifies_with_least_intents_and_registers_every_core_verb() {
    let keel = start(|c| c.discord.guild_id = Some(G1)).await;
    let identify = &keel.fake.identifies()[0];
    assert!(identify["token"].as_str().unwrap().ends_with(TOKEN));
    // GUILDS | GUILD_MEMBERS (welcome) | GUILD_MESSAGES | GUILD_MESSAGE_REACTIONS
    // | GUILD_SCHEDULED_EVENTS (events' RSVPs).
    assert_eq!(identify["intents"], 1 | 2 | 512 | 1024 | 65536);
    let registration = keel.fake.wait_ready().await;
    assert!(
        registration.path.ends_with(&format!(
            "/applications/{}/guilds/{G1}/commands",
            fake_discord::APPLICATION_ID
        )),
        "a development guild registers there: {}",
        registration.path
    );
    let commands = registration.body.as_array().unwrap();
    let names: Vec<&str> = commands
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for verb in [
        "help",
        "mission",
        "contribute",
        "contributions",
        "contribution",
        "review",
        "audit",
        "goal",
        "milestone",
        "kudos",
        "kudos-remove",
        "stats",
        "leaderboard",
        "away",
        "link",
        "export",
        "forget-me",
        "setup",
        "health",
    ] {
        assert!(names.contains(&verb), "{verb} missing from {names:?}");
    }
    let command = |name: &str| commands.iter().find(|c| c["name"] == name).unwrap();
    let contribute = command("contribute");
    let what = &contribute["options"][0];
    assert_eq!(what["name"], "what");
    assert_eq!(what["required"], true);
    assert_eq!(what["max_length"], 500);
    assert!(what["description"].as_str().unwrap().len() > 5);
    let goal_option = contribute["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "goal")
        .unwrap();
    assert_eq!(goal_option["autocomplete"], true);
    assert_eq!(command("health")["default_member_permissions"], "32");
    assert_eq!(command("setup")["default_member_permissions"], "32");
    assert_eq!(command("kudos-remove")["default_member_permissions"], "32");
    let goal_subs: Vec<&str> = command("goal")["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        goal_subs,
        ["create", "list", "show", "chart", "close", "edit", "reopen"]
    );
    let communities: Vec<String> =
        db::scalars(&keel.app, "SELECT name FROM communities ORDER BY name", &[]).await;
    assert_eq!(communities, ["Forest Friends", "River Keepers"]);
    assert_everything_parsed();
}

#[tokio::test]
async fn without_optional_features_only_unprivileged_intents_are_asked_and_commands_are_global() {
    let keel = start(|c| {
        c.discord.welcome = false;
        c.discord.count_activity = false;
    })
    .await;
    // GUILDS | GUILD_SCHEDULED_EVENTS: neither is privileged.
    assert_eq!(keel.fake.identifies()[0]["intents"], 1 | 65536);
    let registration = keel.fake.wait_ready().await;
    assert!(
        registration.path.ends_with(&format!(
            "/applications/{}/commands",
            fake_discord::APPLICATION_ID
        )),
        "{}",
        registration.path
    );
}

#[tokio::test]
async fn contribute_is_recorded_and_answered_and_stats_me_is_private() {
    let keel = start(|_| {}).await;
    let answer = keel
        .fake
        .command(&Invocation::new(
            G1,
            MEMBER,
            "contribute",
            json!([
                string("what", "Planted 3 oaks <@123> @everyone"),
                number("amount", 3.0),
                string("unit", "trees")
            ]),
        ))
        .await;
    assert_eq!(answer["type"], 4, "{answer}");
    assert!(
        is_ephemeral(&answer),
        "the receipt is for the member; milestones go to the channel"
    );
    assert!(mentions_parse_nothing(&answer["data"]), "{answer}");
    let text = shown(&answer);
    assert!(text.contains("Planted 3 oaks"), "{text}");
    // Discord shows the escaped `\#` as `#`.
    assert!(text.contains(r"Contribution \#1 logged"), "{text}");
    assert!(!text.contains("<@123>"), "user text is escaped: {text}");
    assert_eq!(
        keel.count("SELECT count(*) FROM contributions WHERE platform = 'discord' AND description = 'Planted 3 oaks <@123> @everyone' AND amount = 3")
            .await,
        1
    );

    let mine = keel
        .fake
        .command(&Invocation::sub(G1, MEMBER, "stats", "me", json!([])))
        .await;
    assert!(is_ephemeral(&mine), "{mine}");
    assert!(shown(&mine).contains('1'), "{}", shown(&mine));

    let community = keel
        .fake
        .command(&Invocation::sub(
            G1,
            MEMBER,
            "stats",
            "community",
            json!([string("period", "7d")]),
        ))
        .await;
    assert!(
        shown(&community).contains("Contributions"),
        "{}",
        shown(&community)
    );

    let bad = keel
        .fake
        .command(&Invocation::sub(
            G1,
            MEMBER,
            "stats",
            "community",
            json!([string("period", "7 parsecs")]),
        ))
        .await;
    assert!(is_ephemeral(&bad));
    assert!(shown(&bad).contains("not a period"), "{}", shown(&bad));

    let empty = keel.fake.command(&contribution("   ")).await;
    assert!(is_ephemeral(&empty), "errors are private: {empty}");
    assert_eq!(
        keel.count("SELECT count(*) FROM contributions").await,
        1,
        "nothing written"
    );
    assert_everything_parsed();
}

#[tokio::test]
async fn organiser_commands_are_checked_when_they_run() {
    let keel = start(|_| {}).await;
    // Discord let the member invoke it (an admin overrode the default permissions),
    // but Keel refuses: no Manage Server, no organiser role.
    let refused = keel
        .fake
        .command(&Invocation::sub(
            G1,
            MEMBER,
            "mission",
            "set",
            json!([string("statement", "Take over")]),
        ))
        .await;
    assert!(is_ephemeral(&refused));
    assert!(shown(&refused).contains("organiser"), "{}", shown(&refused));
    let health = keel
        .fake
        .command(&Invocation::new(G1, MEMBER, "health", json!([])))
        .await;
    assert!(shown(&health).contains("organiser"), "{}", shown(&health));
    assert_eq!(keel.count("SELECT count(*) FROM mission_versions").await, 0);

    // An organiser names a role; its members organise too.
    let mut role_setup = Invocation::sub(
        G1,
        ORGANISER,
        "setup",
        "organiser-role",
        json!([{"name": "role", "type": 8, "value": ROLE.to_string()}]),
    )
    .organiser();
    role_setup.resolved = json!({"roles": {ROLE.to_string(): {
        "id": ROLE.to_string(), "name": "Stewards", "color": 0, "colors": {"primary_color": 0},
        "hoist": false, "icon": null, "unicode_emoji": null, "position": 1,
        "permissions": "0", "managed": false, "mentionable": false, "flags": 0
    }}});
    let set = keel.fake.command(&role_setup).await;
    assert!(!shown(&set).contains("⚠"), "{}", shown(&set));
    let allowed = keel
        .fake
        .command(
            &Invocation::sub(
                G1,
                MEMBER,
                "mission",
                "set",
                json!([string("statement", "Grow a forest")]),
            )
            .with_roles(&[ROLE]),
        )
        .await;
    assert!(
        shown(&allowed).contains("Grow a forest"),
        "{}",
        shown(&allowed)
    );
    assert_eq!(keel.count("SELECT count(*) FROM mission_versions").await, 1);

    // In a DM there is no community: the command says where it works.
    let dm = keel
        .fake
        .command(&Invocation::sub(G1, MEMBER, "mission", "show", json!([])).in_dm())
        .await;
    assert!(is_ephemeral(&dm));
    assert!(shown(&dm).contains("work in a server"), "{}", shown(&dm));
    assert_everything_parsed();
}

/// `/setup announcements #celebrations` in G1.
async fn set_announcement_channel(keel: &Keel) {
    let mut channel = Invocation::sub(
        G1,
        ORGANISER,
        "setup",
        "announcements",
        json!([{"name": "channel", "type": 7, "value": CHANNEL.to_string()}]),
    )
    .organiser();
    channel.resolved = json!({"channels": {CHANNEL.to_string(): {
        "id": CHANNEL.to_string(), "name": "celebrations", "type": 0, "permissions": "2147534848"
    }}});
    let set = keel.fake.command(&channel).await;
    assert!(!shown(&set).contains("⚠"), "{}", shown(&set));
}

#[tokio::test]
async fn a_milestone_is_announced_once_through_429_and_500_without_pinging() {
    let keel = start(|_| {}).await;
    set_announcement_channel(&keel).await;

    let mission = keel
        .fake
        .command(
            &Invocation::sub(
                G1,
                ORGANISER,
                "mission",
                "set",
                json!([string("statement", "@everyone grow a forest @here")]),
            )
            .organiser(),
        )
        .await;
    assert!(mentions_parse_nothing(&mission["data"]), "{mission}");
    let shown_mission = shown(&mission);
    assert!(!shown_mission.contains(" @everyone"), "{shown_mission}");
    assert!(
        shown_mission.contains("\\@everyone grow a forest"),
        "{shown_mission}"
    );

    let posts = format!("/channels/{CHANNEL}/messages");
    keel.fake.fail_next(&posts, 429, Some(1.0));
    keel.fake.fail_next(&posts, 500, None);
    keel.fake
        .command(&contribution("Planted @everyone an oak"))
        .await;

    let delivered = |fake: &FakeDiscord| -> Vec<fake_discord::Request> {
        fake.requests_to("POST", &posts)
            .into_iter()
            .filter(|r| r.status == 200)
            .collect()
    };
    let statuses = |fake: &FakeDiscord| -> Vec<u16> {
        fake.requests_to("POST", &posts)
            .iter()
            .map(|r| r.status)
            .collect()
    };
    keel.deliver().await;
    assert_eq!(
        statuses(&keel.fake),
        [429],
        "the second announcement waits with the rate-limited one"
    );
    keel.clock.advance(chrono::Duration::milliseconds(500));
    keel.deliver().await;
    assert_eq!(statuses(&keel.fake), [429], "not again before Retry-After");
    keel.clock.advance(chrono::Duration::seconds(10));
    keel.deliver().await;
    assert_eq!(
        statuses(&keel.fake),
        [429, 500],
        "the server error holds both back again"
    );
    keel.clock.advance(chrono::Duration::hours(2));
    keel.deliver().await;

    let posted = delivered(&keel.fake);
    let texts: Vec<String> = posted.iter().map(|r| shown(&r.body)).collect();
    assert_eq!(posted.len(), 2, "each announcement posted once: {texts:#?}");
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("The community logged its first contribution"))
            .count(),
        1
    );
    for post in &posted {
        assert!(mentions_parse_nothing(&post.body), "{}", post.raw);
        assert!(
            !shown(&post.body).contains(" @everyone"),
            "{}",
            shown(&post.body)
        );
        assert_eq!(post.authorization, format!("Bot {TOKEN}"));
    }
    assert_eq!(keel.fake.requests_to("POST", &posts).len(), 4);
    assert_eq!(
        keel.count("SELECT count(*) FROM announcement_deliveries WHERE status = 'pending'")
            .await,
        0
    );
    assert_everything_parsed();
}

#[tokio::test]
async fn after_a_dropped_connection_the_bot_resumes_and_keeps_answering() {
    let keel = start(|_| {}).await;
    keel.fake.command(&contribution("Before the drop")).await;
    keel.fake.drop_connection();
    keel.fake
        .wait_for(Duration::from_secs(30), "a RESUME", |f| {
            (f.resumes() == 1).then_some(())
        })
        .await;
    let after = keel.fake.command(&contribution("After the drop")).await;
    assert!(shown(&after).contains("After the drop"), "{after}");
    assert_eq!(
        keel.fake.identifies().len(),
        1,
        "resumed, not identified again"
    );
    assert_eq!(keel.count("SELECT count(*) FROM contributions").await, 2);
    assert_everything_parsed();
}

#[tokio::test]
async fn two_servers_never_see_each_others_data() {
    let keel = start(|_| {}).await;
    keel.fake
        .command(
            &Invocation::sub(
                G1,
                ORGANISER,
                "goal",
                "create",
                json!([
                    string("title", "Plant 500 trees"),
                    number("target", 500.0),
                    string("slug", "trees")
                ]),
            )
            .organiser(),
        )
        .await;
    keel.fake
        .command(&Invocation::new(
            G1,
            MEMBER,
            "contribute",
            json!([
                string("what", "Secret forest work"),
                number("amount", 5.0),
                string("goal", "trees")
            ]),
        ))
        .await;
    // The same user id in another server is another member of another community.
    let other = keel
        .fake
        .command(&Invocation::sub(
            G2,
            MEMBER,
            "goal",
            "show",
            json!([string("slug", "trees")]),
        ))
        .await;
    assert!(shown(&other).contains("No goal"), "{}", shown(&other));
    let theirs = keel
        .fake
        .command(&Invocation::new(G2, MEMBER, "contributions", json!([])))
        .await;
    assert!(
        !shown(&theirs).contains("Secret forest work"),
        "{}",
        shown(&theirs)
    );
    let stats = keel
        .fake
        .command(&Invocation::sub(G2, MEMBER, "stats", "me", json!([])))
        .await;
    assert!(!shown(&stats).contains("Secret"), "{}", shown(&stats));
    let ours = keel
        .fake
        .command(&Invocation::sub(
            G1,
            MEMBER,
            "goal",
            "show",
            json!([string("slug", "trees")]),
        ))
        .await;
    assert!(shown(&ours).contains("Plant 500 trees"), "{}", shown(&ours));
    assert_eq!(
        keel.count("SELECT count(DISTINCT community_id) FROM members")
            .await,
        2
    );
    assert_everything_parsed();
}

#[tokio::test]
async fn a_server_admin_redeems_a_community_code_and_the_servers_join() {
    let keel = start(|_| {}).await;
    let made = keel
        .fake
        .command(&Invocation::sub(G1, ORGANISER, "link", "community", json!([])).organiser())
        .await;
    let text = shown(&made);
    let at = text
        .find("KEEL-")
        .unwrap_or_else(|| panic!("no code in {text}"));
    let code = text[at..at + 14].to_string();

    // An admin of the second server (Manage Server) redeems it.
    let linked = keel
        .fake
        .command(
            &Invocation::sub(
                G2,
                ORGANISER + 10,
                "link",
                "code",
                json!([string("code", &code)]),
            )
            .organiser(),
        )
        .await;
    assert!(
        shown(&linked).contains("Workspace linked"),
        "{}",
        shown(&linked)
    );
    assert_eq!(
        keel.count(
            "SELECT count(DISTINCT community_id) FROM workspaces WHERE platform = 'discord'"
        )
        .await,
        1
    );
    // One community: the second server sees the first one's goal.
    keel.fake
        .command(
            &Invocation::sub(
                G1,
                ORGANISER,
                "goal",
                "create",
                json!([
                    string("title", "Plant 500 trees"),
                    number("target", 500.0),
                    string("slug", "trees")
                ]),
            )
            .organiser(),
        )
        .await;
    let seen = keel
        .fake
        .command(&Invocation::sub(
            G2,
            MEMBER,
            "goal",
            "show",
            json!([string("slug", "trees")]),
        ))
        .await;
    assert!(shown(&seen).contains("Plant 500 trees"), "{}", shown(&seen));
    assert_everything_parsed();
}

#[tokio::test]
async fn lifecycle_events_welcome_count_and_schedule_a_purge() {
    let keel = start(|_| {}).await;
    keel.fake
        .command(
            &Invocation::sub(
                G1,
                ORGANISER,
                "mission",
                "set",
                json!([string("statement", "Grow a forest")]),
            )
            .organiser(),
        )
        .await;
    let newcomer = 500_000_000_000_000_099_u64;
    keel.fake.dispatch(
        "GUILD_MEMBER_ADD",
        fake_discord::member(G1, newcomer, "newcomer"),
    );
    let dm = keel
        .fake
        .wait_for(Duration::from_secs(10), "the welcome", |f| {
            f.requests().into_iter().find(|r| {
                r.method == "POST"
                    && r.path.contains("/channels/")
                    && shown(&r.body).contains("Grow a forest")
            })
        })
        .await;
    assert!(mentions_parse_nothing(&dm.body));
    assert!(shown(&dm.body).contains("Welcome"), "{}", shown(&dm.body));

    keel.fake.dispatch(
        "MESSAGE_CREATE",
        json!({
            "id": "910000000000000001", "channel_id": "700000000000000001",
            "guild_id": G1.to_string(), "author": fake_discord::user(MEMBER, "member", false),
            "content": "", "timestamp": "2026-11-26T10:00:00.000000+00:00",
            "edited_timestamp": null, "tts": false, "mention_everyone": false,
            "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
            "pinned": false, "type": 0, "flags": 0,
        }),
    );
    keel.fake.dispatch(
        "MESSAGE_REACTION_ADD",
        json!({
            "user_id": MEMBER.to_string(), "channel_id": "700000000000000001",
            "message_id": "910000000000000001", "guild_id": G1.to_string(),
            "emoji": {"id": null, "name": "🌳"}, "burst": false, "type": 0,
        }),
    );
    keel.wait_until(
        "a message and a reaction counted",
        "SELECT coalesce(sum(messages) * 10 + sum(reactions), 0) FROM member_daily_activity",
        11,
    )
    .await;

    keel.fake.dispatch(
        "GUILD_DELETE",
        json!({"id": G2.to_string(), "unavailable": false}),
    );
    keel.wait_until(
        "the purge scheduled",
        &format!(
            "SELECT count(*) FROM workspaces WHERE external_id = '{G2}' AND purge_after IS NOT NULL"
        ),
        1,
    )
    .await;
    // An outage is not a removal.
    keel.fake.dispatch(
        "GUILD_DELETE",
        json!({"id": G1.to_string(), "unavailable": true}),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        keel.count(&format!(
            "SELECT count(*) FROM workspaces WHERE external_id = '{G1}' AND purge_after IS NOT NULL"
        ))
        .await,
        0
    );
    assert_everything_parsed();
}

#[tokio::test]
async fn members_joining_and_leaving_are_counted_in_growth() {
    let keel = start(|c| {
        c.discord.welcome = false;
        c.discord.count_members = true;
    })
    .await;
    let (newcomer, leaver) = (500_000_000_000_000_101_u64, 500_000_000_000_000_102_u64);
    for (id, name) in [(newcomer, "newcomer"), (leaver, "leaver")] {
        keel.fake
            .dispatch("GUILD_MEMBER_ADD", fake_discord::member(G1, id, name));
    }
    keel.wait_until(
        "both joins recorded",
        "SELECT count(*) FROM members WHERE display_name IN ('newcomer', 'leaver') AND left_at IS NULL",
        2,
    )
    .await;
    keel.fake.dispatch(
        "GUILD_MEMBER_REMOVE",
        json!({"guild_id": G1.to_string(), "user": fake_discord::user(leaver, "leaver", false)}),
    );
    keel.wait_until(
        "the leave recorded",
        "SELECT count(*) FROM members WHERE display_name = 'leaver' AND left_at IS NOT NULL",
        1,
    )
    .await;
    // Someone Keel never saw leaving changes nothing; neither does another server.
    keel.fake.dispatch(
        "GUILD_MEMBER_REMOVE",
        json!({"guild_id": G2.to_string(), "user": fake_discord::user(newcomer, "newcomer", false)}),
    );

    let organiser = keel
        .app
        .actor(&keel::domain::Envelope {
            platform: keel::domain::Platform::Discord,
            workspace_id: G1.to_string(),
            workspace_name: "Forest Friends".into(),
            user_id: ORGANISER.to_string(),
            user_name: "organiser".into(),
            role: keel::domain::Role::Organiser,
        })
        .await
        .unwrap();
    let stats = keel.app.handle_line(&organiser, "stats").await.unwrap();
    let growth = stats
        .fields
        .iter()
        .find(|f| f.name == "Growth")
        .map(|f| f.value.plain())
        .unwrap_or_default();
    // The organiser, the newcomer and the leaver joined; the leaver left.
    assert!(growth.starts_with("3 joined, 1 left, net +2"), "{growth}");

    // Coming back makes them a member again, from the day they first joined.
    keel.fake.dispatch(
        "GUILD_MEMBER_ADD",
        fake_discord::member(G1, leaver, "leaver"),
    );
    keel.wait_until(
        "the return recorded",
        "SELECT count(*) FROM members WHERE left_at IS NOT NULL",
        0,
    )
    .await;
    assert_everything_parsed();
}

#[tokio::test]
async fn a_dispatch_serenity_cannot_parse_is_caught() {
    let keel = start(|_| {}).await;
    // An interaction without its token, as a drifting fake might send.
    keel.fake.dispatch(
        "INTERACTION_CREATE",
        json!({"id": "1", "application_id": fake_discord::APPLICATION_ID.to_string(), "type": 2}),
    );
    for _ in 0..100 {
        if fake_discord::my_logs().contains("An unknown event was received") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the unparsable dispatch went unnoticed:\n{}",
        fake_discord::my_logs()
    );
}

#[tokio::test]
async fn a_chart_is_deferred_then_followed_up_with_a_png() {
    let keel = start(|_| {}).await;
    keel.fake.command(&contribution("Charted work")).await;
    let (id, token) = keel.fake.interact(&Invocation::sub(
        G1,
        MEMBER,
        "stats",
        "chart",
        json!([string("period", "12w")]),
    ));
    let deferred = keel.fake.callback(id).await;
    assert_eq!(deferred["type"], 5, "{deferred}");
    assert!(!is_ephemeral(&deferred), "charts are for the channel");
    let followup = keel
        .fake
        .wait_for(Duration::from_secs(20), "the chart", |f| {
            f.followups(&token).into_iter().next()
        })
        .await;
    assert!(followup.raw.contains(".png"), "a PNG is attached");
    assert!(
        followup.raw.contains("\u{89}PNG") || followup.raw.contains("PNG"),
        "PNG bytes"
    );
    assert_everything_parsed();
}

#[tokio::test]
async fn export_is_deferred_then_followed_up_with_the_file() {
    let keel = start(|_| {}).await;
    keel.fake
        .command(&contribution("Something to export"))
        .await;
    let (id, token) = keel
        .fake
        .interact(&Invocation::new(G1, MEMBER, "export", json!([])));
    let deferred = keel.fake.callback(id).await;
    assert_eq!(deferred["type"], 5, "{deferred}");
    assert!(is_ephemeral(&deferred));
    let followup = keel
        .fake
        .wait_for(Duration::from_secs(10), "the follow-up", |f| {
            f.followups(&token).into_iter().next()
        })
        .await;
    let (name, bytes) = attached_file(&followup);
    assert!(name.ends_with("-contributions.csv.gz"), "{name}");
    let mut csv = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut csv)
        .expect("a gzipped CSV");
    assert!(csv.contains("Something to export"), "{csv}");
    assert_everything_parsed();
}

#[tokio::test]
async fn an_export_past_the_servers_attachment_limit_points_to_keel_export() {
    let keel = start(|_| {}).await;
    keel.fake.command(&contribution("Planted oaks")).await;
    // Discord says this server takes files of 64 KiB and a little: Keel keeps
    // 64 KiB for the message, so the file itself may have 100 bytes.
    let invocation = Invocation::new(
        G1,
        ORGANISER,
        "export",
        json!([{"name": "what", "type": 4, "value": 1}]),
    )
    .organiser()
    .attachments_up_to(64 * 1024 + 100);
    let (id, token) = keel.fake.interact(&invocation);
    let deferred = keel.fake.callback(id).await;
    assert_eq!(deferred["type"], 5, "{deferred}");
    let followup = keel
        .fake
        .wait_for(Duration::from_secs(10), "the follow-up", |f| {
            f.followups(&token).into_iter().next()
        })
        .await;
    // Shown as typed: Discord's markdown escapes dropped.
    let said = shown(&followup.body).replace('\\', "");
    assert!(
        said.contains("larger than the 1 KiB Discord takes"),
        "{said}"
    );
    let community = keel
        .count(&format!(
            "SELECT community_id FROM workspaces WHERE external_id = '{G1}'"
        ))
        .await;
    assert!(
        said.contains(&format!("keel export --community {community}")),
        "{said}"
    );
    assert!(!followup.raw.contains("filename="), "no file is attached");
    assert_everything_parsed();
}

#[tokio::test]
async fn an_export_that_must_wait_is_told_so_then_followed_by_the_file() {
    let keel = start(|c| c.files.concurrent = 1).await;
    keel.fake.command(&contribution("Queued work")).await;
    // A chart holds the only slot.
    let chart = keel::domain::Command::StatsChart {
        window: keel::domain::command::Window::DEFAULT,
    };
    let held = keel.app.take_turn(&chart);
    assert!(!held.is_queued());

    let (id, token) = keel
        .fake
        .interact(&Invocation::new(G1, MEMBER, "export", json!([])));
    let told = keel.fake.callback(id).await;
    assert_eq!(told["type"], 4, "answered at once, not deferred: {told}");
    assert!(is_ephemeral(&told));
    let said = shown(&told).replace('\\', "");
    assert!(said.contains("yours is queued"), "{said}");
    assert!(mentions_parse_nothing(&told["data"]), "{told}");

    drop(held);
    let followup = keel
        .fake
        .wait_for(Duration::from_secs(10), "the export", |f| {
            f.followups(&token).into_iter().next()
        })
        .await;
    let (name, _) = attached_file(&followup);
    assert!(name.ends_with(".csv.gz"), "{name}");
    // The file is still for the member alone.
    assert_eq!(
        followup.body["flags"].as_u64().unwrap_or(0) & 64,
        64,
        "{}",
        followup.body
    );
    assert_everything_parsed();
}

/// The first file in a multipart request: its name and bytes.
fn attached_file(request: &fake_discord::Request) -> (String, Vec<u8>) {
    let body = &request.bytes;
    let find = |needle: &[u8], from: usize| {
        body[from..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|i| i + from)
    };
    let at = find(b"filename=\"", 0).expect("a file is attached");
    let name_end = find(b"\"", at + 10).unwrap();
    let name = String::from_utf8_lossy(&body[at + 10..name_end]).to_string();
    let start = find(b"\r\n\r\n", name_end).unwrap() + 4;
    let end = find(b"\r\n--", start).unwrap();
    (name, body[start..end].to_vec())
}

#[test]
fn a_rejected_token_or_intents_end_keel_run_with_what_to_fix() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for (code, hint) in [(4004, "Reset Token"), (4014, "Privileged Gateway Intents")] {
        let fake = runtime.block_on(FakeDiscord::start());
        fake.reject_identify_with(code);
        let dir = tempfile::tempdir().unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_keel"))
            .arg("run")
            .env_clear()
            .env(
                "KEEL_DATABASE__URL",
                format!("sqlite://{}", dir.path().join("k.db").display()),
            )
            .env("KEEL_DISCORD__TOKEN", TOKEN)
            .env("KEEL_DISCORD__API_BASE", fake.api_base())
            .env("KEEL_DISCORD__WELCOME", "true")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "close {code} must fail keel run");
        assert!(stderr.contains(hint), "close {code}: {stderr}");
        assert!(stderr.contains(&code.to_string()), "{stderr}");
        assert!(
            !stderr.contains("test-token-not-real"),
            "the token is never printed"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn keel_discord_register_registers_every_command_without_the_gateway() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_keel"))
        .args(["discord", "register"])
        .env_clear()
        .env(
            "KEEL_DATABASE__URL",
            format!("sqlite://{}", dir.path().join("k.db").display()),
        )
        .env("KEEL_DISCORD__TOKEN", TOKEN)
        .env("KEEL_DISCORD__API_BASE", fake.api_base())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let registered = fake.requests_to("PUT", "/commands");
    assert_eq!(registered.len(), 1, "{registered:?}");
    let count = registered[0].body.as_array().map_or(0, Vec::len);
    assert!(count > 10, "every command: {}", registered[0].body);
    assert!(
        stdout.contains(&format!("Registered {count} commands globally")),
        "{stdout}"
    );
    assert!(fake.identifies().is_empty(), "no gateway connection");
}

#[tokio::test]
async fn a_shard_process_told_not_to_leaves_the_commands_as_they_are() {
    let fake = FakeDiscord::start().await;
    fake.add_guild(G1, "Forest Friends");
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("keel.db").display());
    let store = Store::open(&StoreOptions::new(url)).await.unwrap();
    let mut config = Config::default();
    config.discord.token = Some(Secret::new(TOKEN));
    config.discord.api_base = Some(fake.api_base());
    config.discord.register_commands = false;
    let app = App::with_settings(store, Arc::new(SystemClock), config.app_settings());
    let (_stop, shutdown) = shutdown_pair();
    let (fatal, _fatal) = mpsc::unbounded_channel();
    let _running = keel::discord::start(app, &config, shutdown, fatal)
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while fake.identifies().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Answered: the gateway is up and the framework's setup has run.
    let help = fake
        .command(&Invocation::new(G1, MEMBER, "help", json!([])))
        .await;
    assert!(!shown(&help).is_empty(), "{help}");
    assert!(fake.requests_to("PUT", "/commands").is_empty());
}

/// Every announcement in the channel carries its marker once.
fn assert_posted_once_each(keel: &Keel, expected: usize) {
    let footers: Vec<String> = keel
        .fake
        .messages_in(CHANNEL)
        .iter()
        .map(|m| {
            m["embeds"]
                .as_array()
                .and_then(|e| e.last())
                .map(|e| e["footer"]["text"].as_str().unwrap_or_default().to_string())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(footers.len(), expected, "{footers:?}");
    let unique: std::collections::HashSet<&String> = footers.iter().collect();
    assert_eq!(unique.len(), expected, "{footers:?}");
    assert!(
        footers.iter().all(|f| f.contains("Announcement #")),
        "{footers:?}"
    );
}

/// A contribution's announcements queued, and the first posted with its answer
/// lost: Discord has it, Keel does not know. Returns how many were queued.
async fn first_answer_lost() -> (Keel, usize) {
    let keel = start(|_| {}).await;
    set_announcement_channel(&keel).await;
    keel.fake.command(&contribution("Planted an oak")).await;
    let queued = keel
        .count("SELECT count(*) FROM announcement_deliveries")
        .await as usize;
    keel.fake.drop_next_post();
    assert_eq!(keel.deliver().await, 0);
    assert_eq!(keel.fake.messages_in(CHANNEL).len(), 1, "Discord has it");
    (keel, queued)
}

/// R3: the post went through and its answer was lost. Repeated within minutes,
/// it carries the same nonce, and Discord answers with the first message.
#[tokio::test]
async fn a_lost_answer_repeated_soon_is_deduplicated_by_its_nonce() {
    let (keel, queued) = first_answer_lost().await;

    keel.clock.advance(chrono::Duration::seconds(30));
    assert_eq!(keel.deliver().await, queued);
    assert_posted_once_each(&keel, queued);
    let posts = keel
        .fake
        .requests_to("POST", &format!("/channels/{CHANNEL}/messages"));
    assert_eq!(
        posts.len(),
        queued + 1,
        "the repeat was sent, and deduplicated"
    );
    assert_eq!(posts[0].body["nonce"], posts[1].body["nonce"]);
    assert_eq!(posts[1].body["enforce_nonce"], true);
    assert!(keel.fake.requests_to("GET", "/messages").is_empty());
    assert_everything_parsed();
}

/// R3: past the nonce's few minutes, Keel reads the channel's recent messages and
/// finds the post by the marker in its footer instead of posting it again.
#[tokio::test]
async fn a_lost_answer_found_later_in_the_channel_is_not_posted_again() {
    let (keel, queued) = first_answer_lost().await;

    keel.clock.advance(chrono::Duration::minutes(10));
    assert_eq!(keel.deliver().await, queued);
    assert_posted_once_each(&keel, queued);
    let posts = keel
        .fake
        .requests_to("POST", &format!("/channels/{CHANNEL}/messages"));
    assert_eq!(
        posts.len(),
        queued,
        "the lost one was found, not posted again"
    );
    assert_eq!(keel.fake.requests_to("GET", "/messages").len(), 1);
    assert_eq!(
        keel.count("SELECT count(*) FROM announcement_deliveries WHERE status = 'delivered' AND posted_message IS NOT NULL")
            .await as usize,
        queued
    );
    assert_everything_parsed();
}

/// R8: posts that named a member who is then erased are edited in the channel
/// (PATCH), at the message ids their posts returned; the edit still mentions
/// nobody and keeps the marker that finds the post.
#[tokio::test]
async fn posts_naming_an_erased_member_are_edited_in_the_channel() {
    let keel = start(|_| {}).await;
    set_announcement_channel(&keel).await;
    keel.fake
        .command(&contribution("Planted the Quux-7741 oak").named("zebulon"))
        .await;
    assert_eq!(keel.deliver().await, 2);
    let named = |keel: &Keel| {
        keel.fake
            .messages_in(CHANNEL)
            .iter()
            .filter(|m| m.to_string().contains("zebulon") || m.to_string().contains("Quux-7741"))
            .count()
    };
    assert_eq!(named(&keel), 2);

    let forget = Invocation::new(
        G1,
        MEMBER,
        "forget-me",
        json!([{"name": "confirm", "type": 5, "value": true}]),
    )
    .named("zebulon");
    let reply = keel.fake.command(&forget).await;
    assert!(
        shown(&reply).contains("Erased 1 contributions"),
        "{}",
        shown(&reply)
    );
    assert_eq!(keel.deliver().await, 2);

    let edits = keel
        .fake
        .requests_to("PATCH", &format!("/channels/{CHANNEL}/messages/"));
    assert_eq!(edits.len(), 2);
    assert!(edits.iter().all(|e| mentions_parse_nothing(&e.body)));
    assert_eq!(named(&keel), 0, "{:#?}", keel.fake.messages_in(CHANNEL));
    assert_posted_once_each(&keel, 2);
    assert_everything_parsed();
}

fn integer(name: &str, value: i64) -> Value {
    json!({"name": name, "type": 4, "value": value})
}

#[tokio::test]
async fn setup_numbers_are_checked_by_the_core_and_milestones_and_health_pages_are_offered() {
    let keel = start(|_| {}).await;
    let setup = |sub: &str, options: Value| {
        Invocation::sub(G1, ORGANISER, "setup", sub, options).organiser()
    };

    // Out of bounds is refused with the text syntax's words, never clamped.
    for (sub, option, value, said) in [
        ("inactive-days", "days", 0, "`0` is not a number of days"),
        (
            "inactive-days",
            "days",
            400,
            "`400` is not a number of days",
        ),
        ("alignment", "percent", 150, "`150` is not a percentage"),
        ("kudos-per-week", "kudos", 0, "`0` is not a number of kudos"),
    ] {
        let refused = keel
            .fake
            .command(&setup(sub, json!([integer(option, value)])))
            .await;
        assert!(is_ephemeral(&refused), "{refused}");
        // Shown as typed: Discord's markdown escapes dropped.
        let shown = shown(&refused).replace('\\', "");
        assert!(shown.contains(said), "{shown}");
    }
    assert_eq!(
        keel.count("SELECT count(*) FROM communities WHERE inactive_days = 30 AND alignment_threshold <> 150")
            .await,
        2,
        "nothing was changed"
    );
    let set = keel
        .fake
        .command(&setup("inactive-days", json!([integer("days", 14)])))
        .await;
    assert!(shown(&set).contains("after 14 days"), "{}", shown(&set));
    let set = keel
        .fake
        .command(&setup("kudos-per-week", json!([integer("kudos", 5)])))
        .await;
    assert!(shown(&set).contains("up to 5 kudos"), "{}", shown(&set));

    // Digest-only milestones, then the settings show them.
    let digest = keel
        .fake
        .command(&setup("milestones", json!([integer("posts", 1)])))
        .await;
    assert!(
        shown(&digest).contains("listed in the digest"),
        "{}",
        shown(&digest)
    );
    let settings = keel.fake.command(&setup("show", json!([]))).await;
    assert!(
        shown(&settings).contains("in the digest only"),
        "{}",
        shown(&settings)
    );
    assert!(shown(&settings).contains("14 days"), "{}", shown(&settings));
    assert!(
        shown(&settings).contains("5 a week per member"),
        "{}",
        shown(&settings)
    );

    // A page past the lists says where they end.
    let health = keel
        .fake
        .command(&Invocation::new(G1, ORGANISER, "health", json!([integer("page", 2)])).organiser())
        .await;
    assert!(is_ephemeral(&health));
    assert!(
        shown(&health).contains("The lists end on page 1"),
        "{}",
        shown(&health)
    );

    // The health lists as a file; JSON is refused at once.
    let json_refused = keel
        .fake
        .command(
            &Invocation::new(
                G1,
                ORGANISER,
                "export",
                json!([integer("what", 2), integer("format", 1)]),
            )
            .organiser(),
        )
        .await;
    assert!(
        shown(&json_refused).contains("CSV only"),
        "{}",
        shown(&json_refused)
    );
    let (id, token) = keel.fake.interact(
        &Invocation::new(G1, ORGANISER, "export", json!([integer("what", 2)])).organiser(),
    );
    assert_eq!(keel.fake.callback(id).await["type"], 5);
    let followup = keel
        .fake
        .wait_for(Duration::from_secs(10), "the follow-up", |f| {
            f.followups(&token).into_iter().next()
        })
        .await;
    let (name, bytes) = attached_file(&followup);
    assert!(name.ends_with("-health.csv.gz"), "{name}");
    let mut csv = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut csv)
        .expect("a gzipped CSV");
    assert!(csv.starts_with("list,member,last_active,joined"), "{csv}");
    assert_everything_parsed();
}

#[tokio::test]
async fn an_organiser_removes_a_contribution_with_slash_commands_and_its_member_is_told() {
    let keel = start(|_| {}).await;
    keel.fake
        .command(&contribution("Planted a giant fake forest"))
        .await;
    let id: i64 = keel.count("SELECT id FROM contributions").await;
    // Markdown would take a # for a heading: Discord shows it escaped.
    let shown_id = format!("\\#{id}");

    // The member's own recent contributions are offered as they type the id.
    let offered = keel
        .fake
        .command(
            &Invocation::sub(
                G1,
                MEMBER,
                "contribution",
                "remove",
                json!([{"name": "id", "type": 3, "value": "", "focused": true}]),
            )
            .autocomplete(),
        )
        .await;
    let choices = offered["data"]["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 1, "{offered}");
    assert_eq!(choices[0]["value"], format!("#{id}"));
    assert!(
        choices[0]["name"]
            .as_str()
            .unwrap()
            .contains("Planted a giant fake forest"),
        "{offered}"
    );

    let removed = keel
        .fake
        .command(
            &Invocation::sub(
                G1,
                ORGANISER,
                "contribution",
                "remove",
                json!([
                    string("id", &format!("#{id}")),
                    string("reason", "Not a real planting")
                ]),
            )
            .organiser(),
        )
        .await;
    assert!(is_ephemeral(&removed), "{removed}");
    assert!(
        shown(&removed).contains(&format!("Contribution {shown_id} removed")),
        "{}",
        shown(&removed)
    );
    assert_eq!(keel.count("SELECT count(*) FROM contributions").await, 0);
    // The member hears of it in a private message, with the reason.
    keel.deliver().await;
    let opened = keel.fake.requests_to("POST", "/users/@me/channels");
    assert_eq!(opened.len(), 1, "one private channel opened");
    assert_eq!(opened[0].body["recipient_id"], MEMBER.to_string());
    let told: Vec<String> = keel
        .fake
        .requests_to("POST", "/messages")
        .iter()
        .map(|r| shown(&r.body))
        .filter(|text| text.contains("Not a real planting"))
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].contains(&format!("Your contribution {shown_id} was removed")),
        "{told:?}"
    );

    // The audit trail, for organisers.
    let audit = keel
        .fake
        .command(&Invocation::new(G1, ORGANISER, "audit", json!([])).organiser())
        .await;
    assert!(is_ephemeral(&audit));
    assert!(
        shown(&audit).contains(&format!("removed contribution {shown_id}")),
        "{}",
        shown(&audit)
    );
    let refused = keel
        .fake
        .command(&Invocation::new(G1, MEMBER, "audit", json!([])))
        .await;
    assert!(
        !shown(&refused).contains("removed contribution"),
        "{}",
        shown(&refused)
    );
    assert_everything_parsed();
}

#[tokio::test]
async fn goal_caps_are_set_with_goal_create_and_a_bigger_contribution_is_refused() {
    let keel = start(|_| {}).await;
    let create =
        |options: Value| Invocation::sub(G1, ORGANISER, "goal", "create", options).organiser();
    let refused = keel
        .fake
        .command(&create(json!([
            string("title", "Plant 500 trees"),
            number("target", 500.0),
            string("slug", "trees"),
            number("max", 10.0),
            number("review_above", 20.0)
        ])))
        .await;
    assert!(is_ephemeral(&refused), "{refused}");
    let said = shown(&refused).replace('\\', "");
    assert!(
        said.contains("review_above=20 is more than max=10"),
        "{said}"
    );
    assert_eq!(keel.count("SELECT count(*) FROM goals").await, 0);

    let created = keel
        .fake
        .command(&create(json!([
            string("title", "Plant 500 trees"),
            number("target", 500.0),
            string("unit", "trees"),
            string("slug", "trees"),
            number("max", 10.0),
            number("review_above", 5.0)
        ])))
        .await;
    let said = shown(&created).replace('\\', "");
    assert!(
        said.contains(r#""Max per contribution": "10 trees""#),
        "{said}"
    );
    assert!(said.contains(r#""Review above": "5 trees""#), "{said}");

    let too_big = keel
        .fake
        .command(&Invocation::new(
            G1,
            MEMBER,
            "contribute",
            json!([
                string("what", "Planted a forest"),
                number("amount", 11.0),
                string("goal", "trees")
            ]),
        ))
        .await;
    let said = shown(&too_big).replace('\\', "");
    assert!(
        said.contains(
            "One contribution may add at most 10 trees to the goal `trees`; this one adds 11."
        ),
        "{said}"
    );
    assert_eq!(keel.count("SELECT count(*) FROM contributions").await, 0);
}

#[tokio::test]
async fn goal_edit_and_reopen_are_slash_commands() {
    let keel = start(|_| {}).await;
    let goal = |sub: &str, options: Value| {
        Invocation::sub(G1, ORGANISER, "goal", sub, options).organiser()
    };
    keel.fake
        .command(&goal(
            "create",
            json!([
                string("title", "Plant 500 trees"),
                number("target", 500.0),
                string("slug", "trees")
            ]),
        ))
        .await;
    let edited = keel
        .fake
        .command(&goal(
            "edit",
            json!([
                string("slug", "trees"),
                number("target", 600.0),
                string("max", "50")
            ]),
        ))
        .await;
    let said = shown(&edited).replace('\\', "");
    assert!(said.contains("target: 500 → 600"), "{said}");
    assert!(said.contains("max: none → 50"), "{said}");
    assert_eq!(
        keel.count("SELECT count(*) FROM goals WHERE target = 600 AND max_amount = 50")
            .await,
        1
    );
    let nothing = keel
        .fake
        .command(&goal("edit", json!([string("slug", "trees")])))
        .await;
    assert!(
        shown(&nothing).contains("Nothing to change"),
        "{}",
        shown(&nothing)
    );
    keel.fake
        .command(&goal("close", json!([string("slug", "trees")])))
        .await;
    let reopened = keel
        .fake
        .command(&goal("reopen", json!([string("slug", "trees")])))
        .await;
    assert!(
        shown(&reopened).contains("Goal reopened"),
        "{}",
        shown(&reopened)
    );
    assert_eq!(
        keel.count("SELECT count(*) FROM goals WHERE status = 'open'")
            .await,
        1
    );
}

const AUTHOR: u64 = 500_000_000_000_000_003;

/// "Log as contribution" on a message `author` wrote, by `user`: the form it opens.
async fn open_log_form(
    keel: &Keel,
    user: u64,
    author: u64,
    author_name: &str,
    text: &str,
) -> Value {
    let message = fake_discord::posted_message(keel.fake.id(), CHANNEL, author, author_name, text);
    let invocation = Invocation::on_message(G1, user, "Log as contribution", message);
    let invocation = if user == ORGANISER {
        invocation.organiser()
    } else {
        invocation
    };
    let opened = keel.fake.command(&invocation).await;
    assert_eq!(opened["type"], 9, "a modal: {opened}");
    opened["data"].clone()
}

/// Submits the form with the fields given (the rest left as the form had them).
async fn submit_log_form(keel: &Keel, user: u64, form: &Value, fields: &[(&str, &str)]) -> Value {
    let mut inputs: Vec<(String, String)> = form["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let input = &row["components"][0];
            (
                input["custom_id"].as_str().unwrap().to_string(),
                input["value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for (id, value) in fields {
        inputs.iter_mut().find(|(i, _)| i == id).unwrap().1 = value.to_string();
    }
    let inputs: Vec<(&str, &str)> = inputs
        .iter()
        .map(|(i, v)| (i.as_str(), v.as_str()))
        .collect();
    let mut submit =
        Invocation::modal_submit(G1, user, form["custom_id"].as_str().unwrap(), &inputs);
    if user == ORGANISER {
        submit = submit.organiser();
    }
    keel.fake.command(&submit).await
}

#[tokio::test]
async fn a_message_is_logged_as_its_authors_contribution_from_its_context_menu() {
    let keel = start(|_| {}).await;
    keel.fake
        .command(
            &Invocation::sub(
                G1,
                ORGANISER,
                "goal",
                "create",
                json!([
                    string("title", "Plant 500 trees"),
                    number("target", 500.0),
                    string("unit", "trees"),
                    string("slug", "trees")
                ]),
            )
            .organiser(),
        )
        .await;

    // A member logs their own message: the form is prefilled with its text.
    let form = open_log_form(&keel, MEMBER, MEMBER, "Mo", "We planted 40 oaks today").await;
    assert_eq!(form["title"], "Log a contribution");
    let description = &form["components"][0]["components"][0];
    assert_eq!(description["custom_id"], "description");
    assert_eq!(description["value"], "We planted 40 oaks today");
    assert_eq!(description["max_length"], 500);
    assert!(
        form["components"][1]["components"][0]["placeholder"]
            .as_str()
            .unwrap()
            .contains("trees"),
        "the open goals are named: {form}"
    );
    let logged =
        submit_log_form(&keel, MEMBER, &form, &[("goal", "trees"), ("amount", "40")]).await;
    assert_eq!(logged["type"], 4, "{logged}");
    assert!(is_ephemeral(&logged), "{logged}");
    assert!(shown(&logged).contains("logged"), "{}", shown(&logged));
    let of = |user: u64| {
        format!(
            "SELECT count(*) FROM contributions c JOIN identities i ON i.member_id = c.member_id
             WHERE i.external_user_id = '{user}' AND c.amount = 40"
        )
    };
    assert_eq!(db::scalar::<i64>(&keel.app, &of(MEMBER), &[]).await, 1);

    // A value the core refuses is shown, and nothing is logged.
    let form = open_log_form(&keel, MEMBER, MEMBER, "Mo", "Dug a pond").await;
    let refused = submit_log_form(&keel, MEMBER, &form, &[("amount", "lots")]).await;
    assert!(is_ephemeral(&refused), "{refused}");
    assert!(
        shown(&refused).contains("not a number"),
        "{}",
        shown(&refused)
    );
    assert_eq!(keel.count("SELECT count(*) FROM contributions").await, 1);

    // A member may not log someone else's message.
    let form = open_log_form(&keel, MEMBER, AUTHOR, "Bo", "Fixed the onboarding doc").await;
    let refused = submit_log_form(&keel, MEMBER, &form, &[]).await;
    assert!(
        shown(&refused).contains("Only organisers can log"),
        "{}",
        shown(&refused)
    );
    assert_eq!(keel.count("SELECT count(*) FROM contributions").await, 1);

    // An organiser may: the contribution is the author's, who is told privately.
    let form = open_log_form(&keel, ORGANISER, AUTHOR, "Bo", "Fixed the onboarding doc").await;
    let logged = submit_log_form(
        &keel,
        ORGANISER,
        &form,
        &[("amount", "40 trees"), ("goal", "trees")],
    )
    .await;
    assert!(is_ephemeral(&logged), "{logged}");
    let id: i64 = keel.count("SELECT max(id) FROM contributions").await;
    assert!(
        shown(&logged).contains(&format!("Contribution \\#{id} logged for Bo")),
        "{}",
        shown(&logged)
    );
    assert_eq!(db::scalar::<i64>(&keel.app, &of(AUTHOR), &[]).await, 1);
    assert_eq!(db::scalar::<i64>(&keel.app, &of(ORGANISER), &[]).await, 0);
    let names: Vec<String> = db::scalars(
        &keel.app,
        &format!(
            "SELECT m.display_name FROM members m JOIN identities i ON i.member_id = m.id
             WHERE i.external_user_id = '{AUTHOR}'"
        ),
        &[],
    )
    .await;
    assert_eq!(names, ["Bo"]);
    keel.deliver().await;
    let opened = keel.fake.requests_to("POST", "/users/@me/channels");
    assert_eq!(opened.len(), 1, "one private channel opened");
    assert_eq!(opened[0].body["recipient_id"], AUTHOR.to_string());
    let told: Vec<String> = keel
        .fake
        .requests_to("POST", "/messages")
        .iter()
        .map(|r| shown(&r.body))
        .filter(|text| text.contains("logged your message"))
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].contains(&format!("as contribution \\#{id}"))
            && told[0].contains("Fixed the onboarding doc"),
        "{told:?}"
    );
    assert_everything_parsed();
}

#[tokio::test]
async fn milestone_remove_and_kudos_remove_are_slash_commands() {
    let keel = start(|_| {}).await;
    let added = keel
        .fake
        .command(
            &Invocation::sub(
                G1,
                ORGANISER,
                "milestone",
                "add",
                json!([string("title", "Tenth planting"), number("at", 10.0)]),
            )
            .organiser(),
        )
        .await;
    assert!(
        shown(&added).contains("Milestone added"),
        "{}",
        shown(&added)
    );
    let milestone = keel.count("SELECT id FROM milestones").await;
    let removed = keel
        .fake
        .command(
            &Invocation::sub(
                G1,
                ORGANISER,
                "milestone",
                "remove",
                json!([string("id", &format!("#{milestone}"))]),
            )
            .organiser(),
        )
        .await;
    let said = shown(&removed).replace('\\', "");
    assert!(
        said.contains(&format!("Milestone #{milestone} removed")),
        "{said}"
    );
    assert_eq!(keel.count("SELECT count(*) FROM milestones").await, 0);

    let thanked = keel
        .fake
        .command(
            &Invocation::new(
                G1,
                MEMBER,
                "kudos",
                json!([
                    {"name": "to", "type": 6, "value": ORGANISER.to_string()},
                    string("reason", "the rota")
                ]),
            )
            .resolving_user(ORGANISER, "olga"),
        )
        .await;
    let said = shown(&thanked).replace('\\', "");
    assert!(said.contains("Kudos #"), "{said}");
    let kudos = keel.count("SELECT id FROM kudos").await;
    let remove = |user: u64| {
        Invocation::new(
            G1,
            user,
            "kudos-remove",
            json!([string("id", &kudos.to_string()), string("reason", "a test")]),
        )
    };
    let refused = keel.fake.command(&remove(MEMBER)).await;
    assert!(is_ephemeral(&refused), "{refused}");
    assert_eq!(keel.count("SELECT count(*) FROM kudos").await, 1);
    let removed = keel.fake.command(&remove(ORGANISER).organiser()).await;
    let said = shown(&removed).replace('\\', "");
    assert!(said.contains(&format!("Kudos #{kudos} removed")), "{said}");
    assert!(is_ephemeral(&removed), "{removed}");
    assert_eq!(keel.count("SELECT count(*) FROM kudos").await, 0);
    assert_eq!(
        keel.count("SELECT count(*) FROM record_changes WHERE subject IN ('kudos', 'milestone') AND action = 'remove'")
            .await,
        2
    );
}

#[tokio::test]
async fn a_big_contribution_waits_for_review_list_and_approve_and_is_edited_with_slash_commands() {
    let keel = start(|_| {}).await;
    keel.fake
        .command(
            &Invocation::sub(
                G1,
                ORGANISER,
                "goal",
                "create",
                json!([
                    string("title", "Plant 500 trees"),
                    number("target", 500.0),
                    string("unit", "trees"),
                    string("slug", "trees"),
                    number("review_above", 50.0)
                ]),
            )
            .organiser(),
        )
        .await;
    let waits = keel
        .fake
        .command(&Invocation::new(
            G1,
            MEMBER,
            "contribute",
            json!([
                string("what", "Planted a forest"),
                number("amount", 400.0),
                string("goal", "trees")
            ]),
        ))
        .await;
    let said = shown(&waits).replace('\\', "");
    assert!(said.contains("waits for review"), "{said}");
    assert_eq!(keel.count("SELECT count(*) FROM contributions").await, 0);
    let id: i64 = keel.count("SELECT id FROM pending_contributions").await;

    let listed = keel
        .fake
        .command(&Invocation::sub(G1, ORGANISER, "review", "list", json!([])).organiser())
        .await;
    assert!(is_ephemeral(&listed), "{listed}");
    let said = shown(&listed).replace('\\', "");
    assert!(said.contains(&format!("#{id}")), "{said}");
    assert!(said.contains("Planted a forest"), "{said}");

    let approved = keel
        .fake
        .command(
            &Invocation::sub(
                G1,
                ORGANISER,
                "review",
                "approve",
                json!([string("id", &format!("#{id}"))]),
            )
            .organiser(),
        )
        .await;
    let said = shown(&approved).replace('\\', "");
    assert!(
        said.contains(&format!("Contribution #{id} approved")),
        "{said}"
    );
    assert_eq!(
        keel.count(
            "SELECT count(*) FROM contributions WHERE id = (SELECT max(id) FROM contributions)"
        )
        .await,
        1
    );
    assert_eq!(keel.count("SELECT max(id) FROM contributions").await, id);

    // Its member edits it, picking it from their recent contributions.
    let offered = keel
        .fake
        .command(
            &Invocation::sub(
                G1,
                MEMBER,
                "contribution",
                "edit",
                json!([{"name": "id", "type": 3, "value": "", "focused": true}]),
            )
            .autocomplete(),
        )
        .await;
    assert_eq!(offered["data"]["choices"][0]["value"], format!("#{id}"));
    let edited = keel
        .fake
        .command(&Invocation::sub(
            G1,
            MEMBER,
            "contribution",
            "edit",
            json!([
                string("id", &format!("#{id}")),
                string("reason", "it was 40"),
                number("amount", 40.0)
            ]),
        ))
        .await;
    let said = shown(&edited).replace('\\', "");
    assert!(
        said.contains(&format!("Contribution #{id} edited")),
        "{said}"
    );
    assert_eq!(
        keel.count("SELECT CAST(progress AS BIGINT) FROM goals")
            .await,
        40
    );
}

const REVIEW_CHANNEL: u64 = 600_000_000_000_000_077;

/// The custom ids of a posted message's buttons.
fn button_ids(message: &Value) -> Vec<String> {
    message["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .map(|b| b["custom_id"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn review_requests_are_posted_to_the_review_channel_and_decided_with_their_buttons() {
    let keel = start(|_| {}).await;
    let mut set = Invocation::sub(
        G1,
        ORGANISER,
        "setup",
        "review-channel",
        json!([{"name": "channel", "type": 7, "value": REVIEW_CHANNEL.to_string()}]),
    )
    .organiser();
    set.resolved = json!({"channels": {REVIEW_CHANNEL.to_string(): {
        "id": REVIEW_CHANNEL.to_string(), "name": "review", "type": 0, "permissions": "2147534848"
    }}});
    let said = shown(&keel.fake.command(&set).await);
    assert!(said.contains("buttons"), "{said}");
    keel.fake
        .command(
            &Invocation::sub(
                G1,
                ORGANISER,
                "goal",
                "create",
                json!([
                    string("title", "Plant 500 trees"),
                    number("target", 500.0),
                    string("unit", "trees"),
                    string("slug", "trees"),
                    number("review_above", 50.0)
                ]),
            )
            .organiser(),
        )
        .await;
    for what in ["Planted a forest", "Planted an orchard"] {
        keel.fake
            .command(&Invocation::new(
                G1,
                MEMBER,
                "contribute",
                json!([
                    string("what", what),
                    number("amount", 400.0),
                    string("goal", "trees")
                ]),
            ))
            .await;
    }
    let ids: Vec<i64> = db::scalars(
        &keel.app,
        "SELECT id FROM pending_contributions ORDER BY id",
        &[],
    )
    .await;
    assert_eq!(ids.len(), 2);
    keel.deliver().await;
    let requests = keel.fake.messages_in(REVIEW_CHANNEL);
    assert_eq!(requests.len(), 2, "{requests:?}");
    let said = shown(&requests[0]).replace('\\', "");
    assert!(
        said.contains(&format!("Contribution #{} waits for review", ids[0])),
        "{said}"
    );
    assert!(said.contains("Planted a forest"), "{said}");
    let approve = format!("keel:review-approve:{}", ids[0]);
    assert_eq!(
        button_ids(&requests[0]),
        vec![approve.clone(), format!("keel:review-reject:{}", ids[0])]
    );

    // A member's press is refused, privately.
    let refused = keel
        .fake
        .command(&Invocation::button(
            G1,
            MEMBER,
            &approve,
            requests[0].clone(),
        ))
        .await;
    assert!(is_ephemeral(&refused), "{refused}");
    assert!(shown(&refused).contains("organiser"), "{}", shown(&refused));
    assert_eq!(keel.count("SELECT count(*) FROM contributions").await, 0);

    // An organiser's approves it; the request is edited to say so, without buttons.
    let approved = keel
        .fake
        .command(&Invocation::button(G1, ORGANISER, &approve, requests[0].clone()).organiser())
        .await;
    assert!(is_ephemeral(&approved), "{approved}");
    let said = shown(&approved).replace('\\', "");
    assert!(
        said.contains(&format!("Contribution #{} approved", ids[0])),
        "{said}"
    );
    assert_eq!(
        keel.count("SELECT max(id) FROM contributions").await,
        ids[0]
    );
    keel.deliver().await;
    let updated = keel.fake.messages_in(REVIEW_CHANNEL);
    assert_eq!(updated.len(), 2, "edited in place");
    assert!(button_ids(&updated[0]).is_empty(), "{}", updated[0]);
    assert!(shown(&updated[0]).contains("Approved by"), "{}", updated[0]);

    // Reject opens a form for the reason; its submission rejects it.
    let reject = format!("keel:review-reject:{}", ids[1]);
    let opened = keel
        .fake
        .command(&Invocation::button(G1, ORGANISER, &reject, updated[1].clone()).organiser())
        .await;
    assert_eq!(opened["type"], 9, "a modal: {opened}");
    assert_eq!(opened["data"]["custom_id"], reject.as_str());
    let rejected = keel
        .fake
        .command(
            &Invocation::modal_submit(
                G1,
                ORGANISER,
                &reject,
                &[("reason", "An orchard is not this goal")],
            )
            .organiser(),
        )
        .await;
    let said = shown(&rejected).replace('\\', "");
    assert!(
        said.contains(&format!("Contribution #{} rejected", ids[1])),
        "{said}"
    );
    assert_eq!(
        keel.count("SELECT count(*) FROM pending_contributions WHERE status = 'rejected' AND reason = 'An orchard is not this goal'")
            .await,
        1
    );
    keel.deliver().await;
    let decided = keel.fake.messages_in(REVIEW_CHANNEL);
    assert!(button_ids(&decided[1]).is_empty(), "{}", decided[1]);
    assert!(shown(&decided[1]).contains("Rejected by"), "{}", decided[1]);
}

#[tokio::test]
async fn an_events_card_is_answered_with_its_buttons_and_shows_the_new_counts() {
    use keel::domain::clock::Clock;
    let keel = start(|_| {}).await;
    set_announcement_channel(&keel).await;
    let at = (keel.clock.now() + chrono::Duration::days(7))
        .format("%Y-%m-%dT10:00")
        .to_string();
    let created = keel
        .fake
        .command(
            &Invocation::sub(
                G1,
                ORGANISER,
                "event",
                "create",
                json!([
                    string("title", "Planting day"),
                    string("at", &at),
                    integer("capacity", 10)
                ]),
            )
            .organiser(),
        )
        .await;
    assert!(
        shown(&created).contains("Planting day planned"),
        "{}",
        shown(&created)
    );
    let id = keel.count("SELECT max(id) FROM events").await;

    keel.deliver().await;
    let cards = keel.fake.messages_in(CHANNEL);
    assert_eq!(cards.len(), 1, "{cards:?}");
    let said = shown(&cards[0]).replace('\\', "");
    assert!(
        said.contains(&format!("Event #{id} Planting day")),
        "{said}"
    );
    assert!(said.contains("0 of 10 going"), "{said}");
    let going = format!("keel:event-rsvp:{id}:yes");
    assert_eq!(
        button_ids(&cards[0]),
        vec![
            going.clone(),
            format!("keel:event-rsvp:{id}:maybe"),
            format!("keel:event-rsvp:{id}:no")
        ]
    );

    // A member presses Going: answered for them alone, with the calendar file.
    let answered = keel
        .fake
        .command(&Invocation::button(G1, MEMBER, &going, cards[0].clone()))
        .await;
    assert!(is_ephemeral(&answered), "{answered}");
    let said = shown(&answered).replace('\\', "");
    assert!(
        said.contains(&format!("You are going to #{id} Planting day")),
        "{said}"
    );
    let callback = keel
        .fake
        .requests_to("POST", "/callback")
        .pop()
        .expect("the press's callback");
    assert!(
        callback.raw.contains(&format!("event-{id}.ics")),
        "{}",
        callback.raw
    );
    assert!(
        callback.raw.contains(&format!("UID:event-{id}@keel")),
        "{}",
        callback.raw
    );
    assert_eq!(
        keel.count("SELECT count(*) FROM event_rsvps WHERE answer = 'yes'")
            .await,
        1
    );

    // The card is edited in place with the new count, its buttons kept.
    keel.deliver().await;
    assert!(
        !keel
            .fake
            .requests_to("PATCH", &format!("/channels/{CHANNEL}/messages/"))
            .is_empty()
    );
    let cards = keel.fake.messages_in(CHANNEL);
    assert_eq!(cards.len(), 1, "edited, not posted again");
    let said = shown(&cards[0]).replace('\\', "");
    assert!(said.contains("1 of 10 going"), "{said}");
    assert!(!said.contains(&MEMBER.to_string()), "no one named: {said}");
    assert_eq!(button_ids(&cards[0]).len(), 3);

    // Can't go: the count drops back, and no calendar file comes with a no.
    let no = format!("keel:event-rsvp:{id}:no");
    let answered = keel
        .fake
        .command(&Invocation::button(G1, MEMBER, &no, cards[0].clone()))
        .await;
    let said = shown(&answered).replace('\\', "");
    assert!(said.contains("Not going to"), "{said}");
    let callback = keel.fake.requests_to("POST", "/callback").pop().unwrap();
    assert!(
        !callback.raw.contains("BEGIN:VCALENDAR"),
        "{}",
        callback.raw
    );
    keel.deliver().await;
    let said = shown(&keel.fake.messages_in(CHANNEL)[0]).replace('\\', "");
    assert!(said.contains("0 of 10 going"), "{said}");
}

const PAIRING_CHANNEL: u64 = 600_000_000_000_000_088;
const NEWCOMER: u64 = 500_000_000_000_000_003;

/// MEMBER and NEWCOMER opt in to introductions in the first server, whose
/// pairing channel is set; an organiser runs a round, and it is delivered.
async fn a_round_of_two(keel: &Keel) {
    let mut set = Invocation::sub(
        G1,
        ORGANISER,
        "setup",
        "pairing-channel",
        json!([{"name": "channel", "type": 7, "value": PAIRING_CHANNEL.to_string()}]),
    )
    .organiser();
    set.resolved = json!({"channels": {PAIRING_CHANNEL.to_string(): {
        "id": PAIRING_CHANNEL.to_string(), "name": "introductions", "type": 0, "permissions": "2147534848"
    }}});
    keel.fake.command(&set).await;
    for (user, name) in [(MEMBER, "ann"), (NEWCOMER, "bo")] {
        keel.fake
            .command(&Invocation::sub(G1, user, "pair", "join", json!([])).named(name))
            .await;
    }
    let round = keel
        .fake
        .command(&Invocation::sub(G1, ORGANISER, "pair", "now", json!([])).organiser())
        .await;
    assert!(shown(&round).contains("1 group"), "{}", shown(&round));
    keel.deliver().await;
}

/// Four days on, "Did you meet?" is queued and delivered.
async fn the_follow_up(keel: &Keel) {
    keel.clock.advance(chrono::Duration::days(4));
    assert_eq!(keel::app::run_due_pairing(&keel.app).await.unwrap(), 1);
    keel.deliver().await;
}

/// The channels each POST of a message went to, in order.
fn posted_to(fake: &FakeDiscord) -> Vec<u64> {
    fake.requests_to("POST", "/messages")
        .iter()
        .filter_map(|r| r.path.split('/').rev().nth(1)?.parse().ok())
        .collect()
}

const INTRODUCED: &str =
    "SELECT CAST(COALESCE(sum(introductions), 0) AS BIGINT) FROM member_daily_activity";

#[tokio::test]
async fn a_pairing_group_is_introduced_in_a_private_thread_and_answers_did_you_meet_there() {
    let keel = start(|_| {}).await;
    a_round_of_two(&keel).await;
    let created = keel
        .fake
        .requests_to("POST", &format!("/channels/{PAIRING_CHANNEL}/threads"));
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0].body["type"], 12, "private: {}", created[0].body);
    assert_eq!(created[0].body["invitable"], false, "{}", created[0].body);
    let thread: u64 = posted_to(&keel.fake)
        .last()
        .copied()
        .expect("the introduction was posted");
    assert_ne!(thread, PAIRING_CHANNEL);
    let mut added: Vec<String> = keel
        .fake
        .requests_to("PUT", &format!("/channels/{thread}/thread-members/"))
        .iter()
        .map(|r| r.path.rsplit('/').next().unwrap().to_string())
        .collect();
    added.sort();
    assert_eq!(added, [MEMBER.to_string(), NEWCOMER.to_string()]);
    let introduced = keel.fake.messages_in(thread);
    assert_eq!(introduced.len(), 1, "{introduced:?}");
    assert!(
        keel.fake.messages_in(PAIRING_CHANNEL).is_empty(),
        "nothing in the channel itself"
    );
    assert!(
        keel.fake
            .requests_to("POST", "/users/@me/channels")
            .is_empty(),
        "no direct messages"
    );

    the_follow_up(&keel).await;
    let asked = keel.fake.messages_in(thread);
    assert_eq!(asked.len(), 2, "in the same thread: {asked:?}");
    assert!(shown(&asked[1]).contains("Did you meet?"), "{}", asked[1]);
    let yes = button_ids(&asked[1])
        .into_iter()
        .find(|id| id.starts_with("keel:pair-met:") && id.ends_with(":yes"))
        .unwrap_or_else(|| panic!("a yes button: {}", asked[1]));
    let answer = keel
        .fake
        .command(&Invocation::button(G1, MEMBER, &yes, asked[1].clone()))
        .await;
    assert!(is_ephemeral(&answer), "{answer}");
    assert!(
        shown(&answer).contains("Glad you met"),
        "{}",
        shown(&answer)
    );
    assert_eq!(keel.count(INTRODUCED).await, 1);
}

#[tokio::test]
async fn without_leave_to_make_threads_each_member_is_introduced_by_direct_message() {
    let keel = start(|_| {}).await;
    keel.fake.fail_next("/threads", 403, None);
    a_round_of_two(&keel).await;
    let mut written: Vec<String> = keel
        .fake
        .requests_to("POST", "/users/@me/channels")
        .iter()
        .map(|r| r.body["recipient_id"].as_str().unwrap().to_string())
        .collect();
    written.sort();
    assert_eq!(written, [MEMBER.to_string(), NEWCOMER.to_string()]);
    let dms = posted_to(&keel.fake);
    assert_eq!(dms.len(), 2, "one each: {dms:?}");
    assert!(!dms.contains(&PAIRING_CHANNEL));
    for dm in &dms {
        let said = shown(&keel.fake.messages_in(*dm)[0]);
        assert!(said.contains("ann") && said.contains("bo"), "{said}");
    }
    assert_eq!(
        keel.count("SELECT count(*) FROM announcement_deliveries WHERE status = 'delivered' AND posted_channel = 'dm'")
            .await,
        1
    );

    // The follow-up goes the same way, and a yes pressed in a direct message
    // (no server in the press) counts in the group's server.
    the_follow_up(&keel).await;
    let asked: Vec<Value> = posted_to(&keel.fake)[2..]
        .iter()
        .map(|dm| keel.fake.messages_in(*dm).last().unwrap().clone())
        .collect();
    assert_eq!(asked.len(), 2, "one each: {asked:?}");
    assert!(shown(&asked[0]).contains("Did you meet?"), "{}", asked[0]);
    let yes = button_ids(&asked[0])
        .into_iter()
        .find(|id| id.ends_with(":yes"))
        .unwrap_or_else(|| panic!("a yes button: {}", asked[0]));
    let answer = keel
        .fake
        .command(&Invocation::button(G1, MEMBER, &yes, asked[0].clone()).in_dm())
        .await;
    assert!(
        shown(&answer).contains("Glad you met"),
        "{}",
        shown(&answer)
    );
    assert_eq!(keel.count(INTRODUCED).await, 1);
}

#[tokio::test]
async fn an_introduction_cut_off_after_its_thread_was_made_posts_in_that_thread_when_tried_again() {
    let keel = start(|_| {}).await;
    keel.fake.fail_next("/messages", 502, None);
    a_round_of_two(&keel).await;
    let tried = posted_to(&keel.fake);
    assert_eq!(tried.len(), 1, "{tried:?}");
    assert!(
        keel.fake.messages_in(tried[0]).is_empty(),
        "the post failed"
    );
    keel.clock.advance(chrono::Duration::minutes(30));
    keel.deliver().await;
    let created = keel
        .fake
        .requests_to("POST", &format!("/channels/{PAIRING_CHANNEL}/threads"));
    assert_eq!(created.len(), 1, "one thread: {created:?}");
    let posts = posted_to(&keel.fake);
    assert_eq!(posts.len(), 2, "the failed post and its repeat: {posts:?}");
    assert_eq!(posts[0], posts[1], "both in the thread made first");
    assert_eq!(keel.fake.messages_in(posts[0]).len(), 1);
}

#[tokio::test]
async fn a_member_who_is_forgotten_leaves_the_introduction_in_every_direct_message() {
    let keel = start(|_| {}).await;
    keel.fake.fail_next("/threads", 403, None);
    a_round_of_two(&keel).await;
    let dms = posted_to(&keel.fake);
    assert_eq!(dms.len(), 2, "one each: {dms:?}");
    let names = |dm: u64| -> Vec<String> {
        let said = shown(&keel.fake.messages_in(dm)[0]);
        said.split(|c: char| !c.is_alphanumeric())
            .map(str::to_string)
            .collect()
    };
    assert!(names(dms[0]).contains(&"bo".to_string()));

    let forget = Invocation::new(
        G1,
        NEWCOMER,
        "forget-me",
        json!([{"name": "confirm", "type": 5, "value": true}]),
    )
    .named("bo");
    keel.fake.command(&forget).await;
    keel.deliver().await;
    for dm in dms {
        let edits = keel
            .fake
            .requests_to("PATCH", &format!("/channels/{dm}/messages/"));
        assert_eq!(edits.len(), 1, "edited in {dm}: {edits:?}");
        let words = names(dm);
        assert!(words.contains(&"ann".to_string()), "{words:?}");
        assert!(!words.contains(&"bo".to_string()), "{words:?}");
    }
}

/// `/event create` of "Planting day" in a week at 10:00, for two hours in
/// Riverside park, by the organiser of G1; returns the event's id.
async fn plan_planting_day(keel: &Keel) -> i64 {
    use keel::domain::clock::Clock;
    let at = (keel.clock.now() + chrono::Duration::days(7))
        .format("%Y-%m-%dT10:00")
        .to_string();
    let created = keel
        .fake
        .command(
            &Invocation::sub(
                G1,
                ORGANISER,
                "event",
                "create",
                json!([
                    string("title", "Planting day"),
                    string("at", &at),
                    string("duration", "2h"),
                    string("place", "Riverside park")
                ]),
            )
            .organiser(),
        )
        .await;
    assert!(
        shown(&created).contains("Planting day planned"),
        "{}",
        shown(&created)
    );
    keel.count("SELECT max(id) FROM events").await
}

fn rfc3339(value: &Value) -> chrono::DateTime<Utc> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

async fn answer_of(keel: &Keel, user: u64) -> String {
    db::scalars::<String>(
        &keel.app,
        &format!(
            "SELECT r.answer FROM event_rsvps r JOIN identities i ON i.member_id = r.member_id
             WHERE i.external_user_id = '{user}'"
        ),
        &[],
    )
    .await
    .join(",")
}

async fn wait_for_answer(keel: &Keel, user: u64, expected: &str) {
    for _ in 0..200 {
        if answer_of(keel, user).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{user} never answered {expected} (answered {:?})",
        answer_of(keel, user).await
    );
}

#[tokio::test]
async fn an_event_is_also_discords_scheduled_event_whose_interest_answers_it() {
    let keel = start(|_| {}).await;
    set_announcement_channel(&keel).await;
    let id = plan_planting_day(&keel).await;
    keel.deliver().await;

    // The card went out, and beside it the server's own scheduled event, with
    // the event's name, place and times; G2, with no announcement channel, has
    // neither.
    assert_eq!(keel.fake.messages_in(CHANNEL).len(), 1);
    let native = keel.fake.scheduled_events_in(G1);
    assert_eq!(native.len(), 1, "{native:?}");
    let native = &native[0];
    assert_eq!(native["name"], "Planting day");
    assert_eq!(native["entity_type"], 3, "an external event");
    assert_eq!(native["entity_metadata"]["location"], "Riverside park");
    assert!(
        native["description"]
            .as_str()
            .unwrap()
            .contains(&format!("/event rsvp #{id}")),
        "{native}"
    );
    let stored: Vec<String> = db::scalars(
        &keel.app,
        &format!("SELECT starts_at || ' ' || ends_at FROM events WHERE id = {id}"),
        &[],
    )
    .await;
    let (starts, ends) = stored[0].split_once(' ').unwrap();
    assert_eq!(
        rfc3339(&native["scheduled_start_time"]),
        rfc3339(&json!(starts))
    );
    assert_eq!(
        rfc3339(&native["scheduled_end_time"]),
        rfc3339(&json!(ends))
    );
    assert!(keel.fake.scheduled_events_in(G2).is_empty());
    let scheduled = native["id"].as_str().unwrap().to_string();
    assert_eq!(
        keel.count(&format!(
            "SELECT count(*) FROM discord_scheduled_events
             WHERE event_id = {id} AND scheduled_event_id = '{scheduled}'"
        ))
        .await,
        1
    );

    // Marking it "Interested" on Discord is a yes, counted on the card.
    keel.fake
        .scheduled_event_interest(G1, &scheduled, MEMBER, true);
    wait_for_answer(&keel, MEMBER, "yes").await;
    keel.deliver().await;
    let said = shown(&keel.fake.messages_in(CHANNEL)[0]).replace('\\', "");
    assert!(said.contains("1 going"), "{said}");
    let show = keel
        .fake
        .command(&Invocation::sub(
            G1,
            MEMBER,
            "event",
            "show",
            json!([string("id", &format!("#{id}"))]),
        ))
        .await;
    let said = shown(&show).replace('\\', "");
    assert!(said.contains("1 going"), "{said}");
    assert!(said.contains("Your answer: yes."), "{said}");

    // Taking it back is a no.
    keel.fake
        .scheduled_event_interest(G1, &scheduled, MEMBER, false);
    wait_for_answer(&keel, MEMBER, "no").await;

    // Someone interested who then says maybe with the card's button keeps
    // their maybe when they take their interest back.
    const OTHER: u64 = 500_000_000_000_000_003;
    keel.fake
        .scheduled_event_interest(G1, &scheduled, OTHER, true);
    wait_for_answer(&keel, OTHER, "yes").await;
    let card = keel.fake.messages_in(CHANNEL)[0].clone();
    let maybe = format!("keel:event-rsvp:{id}:maybe");
    keel.fake
        .command(&Invocation::button(G1, OTHER, &maybe, card))
        .await;
    assert_eq!(answer_of(&keel, OTHER).await, "maybe");
    keel.fake
        .scheduled_event_interest(G1, &scheduled, OTHER, false);
    // Interest added again after it, by a third member, shows the removal was
    // handled (the gateway's events run in turn, but not waited for each).
    const THIRD: u64 = 500_000_000_000_000_004;
    keel.fake
        .scheduled_event_interest(G1, &scheduled, THIRD, true);
    wait_for_answer(&keel, THIRD, "yes").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(answer_of(&keel, OTHER).await, "maybe");

    // Interest in a scheduled event Keel did not make answers nothing.
    keel.fake
        .scheduled_event_interest(G1, "999000000000000001", MEMBER, true);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(answer_of(&keel, MEMBER).await, "no");
    assert_everything_parsed();
}

#[tokio::test]
async fn a_change_of_time_moves_the_scheduled_event_and_cancelling_cancels_it() {
    use keel::domain::clock::Clock;
    let keel = start(|_| {}).await;
    set_announcement_channel(&keel).await;
    let id = plan_planting_day(&keel).await;
    keel.deliver().await;
    let scheduled = keel.fake.scheduled_events_in(G1)[0]["id"].clone();

    let later = (keel.clock.now() + chrono::Duration::days(8))
        .format("%Y-%m-%dT14:00")
        .to_string();
    let edited = keel
        .fake
        .command(
            &Invocation::sub(
                G1,
                ORGANISER,
                "event",
                "edit",
                json!([string("id", &format!("#{id}")), string("at", &later)]),
            )
            .organiser(),
        )
        .await;
    assert!(!shown(&edited).contains("⚠"), "{}", shown(&edited));
    keel.deliver().await;
    let native = keel.fake.scheduled_events_in(G1);
    assert_eq!(native.len(), 1, "edited, not made again: {native:?}");
    assert_eq!(native[0]["id"], scheduled);
    let starts: Vec<String> = db::scalars(
        &keel.app,
        &format!("SELECT starts_at FROM events WHERE id = {id}"),
        &[],
    )
    .await;
    assert_eq!(
        rfc3339(&native[0]["scheduled_start_time"]),
        rfc3339(&json!(starts[0]))
    );
    assert_eq!(native[0]["status"], 1);

    let cancelled = keel
        .fake
        .command(
            &Invocation::sub(
                G1,
                ORGANISER,
                "event",
                "cancel",
                json!([
                    string("id", &format!("#{id}")),
                    string("reason", "Storm warning")
                ]),
            )
            .organiser(),
        )
        .await;
    assert!(!shown(&cancelled).contains("⚠"), "{}", shown(&cancelled));
    keel.deliver().await;
    let native = keel.fake.scheduled_events_in(G1);
    assert_eq!(native.len(), 1);
    assert_eq!(native[0]["status"], 4, "cancelled: {}", native[0]);
    let said = shown(&keel.fake.messages_in(CHANNEL)[0]).replace('\\', "");
    assert!(said.contains("is cancelled"), "{said}");
}

#[tokio::test]
async fn without_manage_events_the_card_still_goes_out() {
    let keel = start(|_| {}).await;
    set_announcement_channel(&keel).await;
    keel.fake
        .fail_next(&format!("/guilds/{G1}/scheduled-events"), 403, None);
    plan_planting_day(&keel).await;
    keel.deliver().await;
    let tried = keel
        .fake
        .requests_to("POST", &format!("/guilds/{G1}/scheduled-events"));
    assert_eq!(tried.len(), 1);
    assert_eq!(tried[0].status, 403);
    assert_eq!(
        keel.fake.messages_in(CHANNEL).len(),
        1,
        "the card is posted"
    );
    assert_eq!(
        keel.count("SELECT count(*) FROM announcement_deliveries WHERE status = 'delivered'")
            .await,
        1
    );
    assert!(keel.fake.scheduled_events_in(G1).is_empty());
    assert_eq!(
        keel.count("SELECT count(*) FROM discord_scheduled_events")
            .await,
        0
    );

    // The card changes with each answer; the server is not asked again for an
    // hour, and then it is.
    let ask = || {
        keel.fake
            .requests_to("POST", &format!("/guilds/{G1}/scheduled-events"))
            .len()
    };
    let going = button_ids(&keel.fake.messages_in(CHANNEL)[0])
        .into_iter()
        .find(|id| id.ends_with(":yes"))
        .expect("a Going button");
    let card = keel.fake.messages_in(CHANNEL)[0].clone();
    keel.fake
        .command(&Invocation::button(G1, MEMBER, &going, card.clone()))
        .await;
    keel.deliver().await;
    assert!(
        keel.fake
            .requests_to("PATCH", &format!("/channels/{CHANNEL}/messages/"))
            .len()
            == 1,
        "the card was edited"
    );
    assert_eq!(ask(), 1, "not asked again");
    keel.clock.advance(chrono::Duration::minutes(61));
    keel.fake
        .command(&Invocation::button(G1, NEWCOMER, &going, card))
        .await;
    keel.deliver().await;
    assert_eq!(ask(), 2, "asked again an hour on");
}

#[tokio::test]
async fn a_server_error_making_the_scheduled_event_holds_the_card_until_both_go_out() {
    let keel = start(|_| {}).await;
    set_announcement_channel(&keel).await;
    keel.fake
        .fail_next(&format!("/guilds/{G1}/scheduled-events"), 500, None);
    plan_planting_day(&keel).await;
    keel.deliver().await;
    assert!(keel.fake.messages_in(CHANNEL).is_empty(), "held back");
    keel.clock.advance(chrono::Duration::minutes(10));
    keel.deliver().await;
    assert_eq!(keel.fake.messages_in(CHANNEL).len(), 1);
    assert_eq!(keel.fake.scheduled_events_in(G1).len(), 1);
}
