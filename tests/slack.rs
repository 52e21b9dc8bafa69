//! The Slack adapter against a fake Slack Web API, through Keel's real HTTP server.
#![cfg(feature = "slack")]

#[path = "support/db.rs"]
mod db;
#[path = "support/fake_slack.rs"]
mod fake_slack;
#[path = "support/http.rs"]
mod http;

use std::sync::Arc;

use chrono::Utc;
use fake_slack::FakeSlack;
use keel::app::App;
use keel::config::{Config, Secret};
use keel::domain::clock::ManualClock;
use keel::jobs::outbox::{Deliverer, DeliveryOptions};
use keel::jobs::shutdown_pair;
use keel::slack::crypto::TokenKey;
use keel::slack::notifier::SlackNotifier;
use keel::slack::{Slack, server, signature};
use keel::store::{Store, StoreOptions};
use sqlx::Connection;
use tempfile::TempDir;

const SECRET: &str = "test-signing-secret";

/// A fresh trigger id, as Slack gives each invocation.
fn next_trigger() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    format!(
        "{}.2.3",
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

type Headers = Vec<(&'static str, String)>;

struct Keel {
    addr: std::net::SocketAddr,
    app: App,
    slack: Arc<Slack>,
    fake: FakeSlack,
    clock: Arc<ManualClock>,
    dir: TempDir,
    _stop: keel::jobs::ShutdownTrigger,
}

#[derive(Clone, Copy)]
enum Mode {
    /// One workspace, bot token in the config.
    Single,
    /// "Add to Slack" installs.
    Installs,
}

async fn start(mode: Mode) -> Keel {
    start_with(mode, |_| {}).await
}

/// Like [`start`], with the config changed first.
async fn start_with(mode: Mode, configure: impl FnOnce(&mut Config)) -> Keel {
    let fake = FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("keel.db").display());
    let store = Store::open(&StoreOptions::new(url)).await.unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let mut config = Config::default();
    config.slack.signing_secret = Some(Secret::new(SECRET));
    config.slack.api_base = fake.api_base();
    config.slack.count_activity = true;
    config.slack.welcome = true;
    config.slack.count_members = true;
    match mode {
        Mode::Single => config.slack.bot_token = Some(Secret::new("xoxb-configured")),
        Mode::Installs => {
            config.slack.client_id = Some("client-1".into());
            config.slack.client_secret = Some(Secret::new("client-secret"));
            config.slack.public_url = Some("https://keel.example.test".into());
            config.slack.token_key = Some(Secret::new(TokenKey::generate()));
            config.slack.authorize_url = "https://slack.example.test/oauth/v2/authorize".into();
        }
    }
    // Every test's browser is 127.0.0.1; tests/http_server.rs tests the limit.
    config.http.install_requests_per_minute = 1000;
    configure(&mut config);
    let app = App::with_settings(store, clock.clone(), config.app_settings());
    let slack = Slack::new(app.clone(), &config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, shutdown) = shutdown_pair();
    tokio::spawn(server::serve(slack.clone(), listener, shutdown));
    Keel {
        addr,
        app,
        slack,
        fake,
        clock,
        dir,
        _stop: stop,
    }
}

impl Keel {
    fn now(&self) -> i64 {
        self.app.now().timestamp()
    }

    async fn signed(&self, path: &str, body: &str, content_type: &str) -> http::Response {
        http::signed_post(self.addr, path, SECRET, self.now(), content_type, body).await
    }

    /// Delivers a signed Events API payload, which Keel accepts.
    async fn deliver_event(&self, body: &str) {
        let r = self.signed("/slack/events", body, "application/json").await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    async fn command(&self, team: &str, user: &str, text: &str) -> serde_json::Value {
        let response = self.command_raw(team, user, text).await;
        assert_eq!(response.status, 200, "{}", response.body);
        response.json()
    }

    async fn command_raw(&self, team: &str, user: &str, text: &str) -> http::Response {
        self.send_command(
            team,
            user,
            &user.to_lowercase(),
            text,
            &self.fake.response_url(),
        )
        .await
    }

    /// A slash command whose late answers go to `response_url`.
    async fn command_to(
        &self,
        team: &str,
        user: &str,
        text: &str,
        response_url: &str,
    ) -> http::Response {
        self.send_command(team, user, &user.to_lowercase(), text, response_url)
            .await
    }

    /// A command from `user`, whom Slack calls `name`.
    async fn command_named(
        &self,
        team: &str,
        user: &str,
        name: &str,
        text: &str,
    ) -> http::Response {
        self.send_command(team, user, name, text, &self.fake.response_url())
            .await
    }

    async fn send_command(
        &self,
        team: &str,
        user: &str,
        name: &str,
        text: &str,
        response_url: &str,
    ) -> http::Response {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("team_id", team)
            .append_pair("team_domain", &team.to_lowercase())
            .append_pair("channel_id", "C1")
            .append_pair("user_id", user)
            .append_pair("user_name", name)
            .append_pair("command", "/keel")
            .append_pair("text", text)
            .append_pair("response_url", response_url)
            .append_pair("trigger_id", &next_trigger())
            .finish();
        self.signed(
            "/slack/commands",
            &body,
            "application/x-www-form-urlencoded",
        )
        .await
    }

    async fn submit(&self, payload: serde_json::Value) -> http::Response {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish();
        self.signed(
            "/slack/interactivity",
            &body,
            "application/x-www-form-urlencoded",
        )
        .await
    }

    /// Starts an install in a fresh browser: the redirect, its state and the cookie.
    async fn begin_install(&self) -> (http::Response, String, String) {
        let start = http::send(self.addr, "GET", "/slack/install", &[], b"").await;
        let state = start
            .header("location")
            .and_then(|l| url::Url::parse(l).ok())
            .and_then(|u| {
                u.query_pairs()
                    .find(|(k, _)| k == "state")
                    .map(|(_, v)| v.to_string())
            })
            .unwrap_or_default();
        let cookie = start
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .unwrap_or_default()
            .to_string();
        (start, state, cookie)
    }

    /// A whole install, as the admin's browser makes it.
    async fn install(&self) {
        let done = self.try_install().await;
        assert_eq!(done.status, 200, "{}", done.body);
    }

    /// A whole install; the callback's answer.
    async fn try_install(&self) -> http::Response {
        let (_, state, cookie) = self.begin_install().await;
        http::send(
            self.addr,
            "GET",
            &format!("/slack/oauth/callback?code=c&state={state}"),
            &[("Cookie", cookie)],
            b"",
        )
        .await
    }

    async fn count(&self, sql: &'static str) -> i64 {
        db::scalar(&self.app, sql, &[]).await
    }
}

fn text_of(message: &serde_json::Value) -> String {
    message.to_string()
}

#[tokio::test]
async fn health_readiness_and_oversized_bodies() {
    let keel = start(Mode::Single).await;
    let get = |path: &'static str| http::send(keel.addr, "GET", path, &[], b"");
    assert_eq!(get("/healthz").await.status, 200);
    assert_eq!(get("/readyz").await.status, 200);

    // Bigger than anything Slack sends: refused, signed or not, and nothing written.
    let big = format!(
        "team_id=T1&user_id=U1&user_name=u&command=%2Fkeel&text=contribute+{}",
        "a".repeat(300 * 1024)
    );
    let refused = keel
        .signed("/slack/commands", &big, "application/x-www-form-urlencoded")
        .await;
    assert_eq!(refused.status, 413, "{}", refused.body);
    assert_eq!(keel.count("SELECT count(*) FROM contributions").await, 0);

    // Without its database Keel is alive but not ready.
    keel.app.store().close().await;
    assert_eq!(get("/readyz").await.status, 503);
    assert_eq!(get("/healthz").await.status, 200);
}

#[tokio::test]
async fn forged_tampered_replayed_and_malformed_requests_get_401_and_change_nothing() {
    let keel = start(Mode::Single).await;
    let body = "team_id=T1&user_id=U1&user_name=u&command=%2Fkeel&text=contribute+Planted+a+tree";
    let ts = keel.now();
    let good = signature::sign(SECRET.as_bytes(), ts, body.as_bytes());
    let form = (
        "Content-Type",
        "application/x-www-form-urlencoded".to_string(),
    );
    let cases: Vec<(&str, Headers, String)> = vec![
        (
            "forged",
            vec![
                form.clone(),
                ("X-Slack-Request-Timestamp", ts.to_string()),
                (
                    "X-Slack-Signature",
                    signature::sign(b"not the secret", ts, body.as_bytes()),
                ),
            ],
            body.to_string(),
        ),
        (
            "tampered",
            vec![
                form.clone(),
                ("X-Slack-Request-Timestamp", ts.to_string()),
                ("X-Slack-Signature", good.clone()),
            ],
            body.replace("tree", "forest"),
        ),
        (
            "replayed",
            vec![
                form.clone(),
                ("X-Slack-Request-Timestamp", (ts - 301).to_string()),
                (
                    "X-Slack-Signature",
                    signature::sign(SECRET.as_bytes(), ts - 301, body.as_bytes()),
                ),
            ],
            body.to_string(),
        ),
        (
            "from the future",
            vec![
                form.clone(),
                ("X-Slack-Request-Timestamp", (ts + 301).to_string()),
                (
                    "X-Slack-Signature",
                    signature::sign(SECRET.as_bytes(), ts + 301, body.as_bytes()),
                ),
            ],
            body.to_string(),
        ),
        (
            "no signature",
            vec![form.clone(), ("X-Slack-Request-Timestamp", ts.to_string())],
            body.to_string(),
        ),
        (
            "no timestamp",
            vec![form.clone(), ("X-Slack-Signature", good.clone())],
            body.to_string(),
        ),
        (
            "non-numeric timestamp",
            vec![
                form.clone(),
                ("X-Slack-Request-Timestamp", "soon".into()),
                ("X-Slack-Signature", good.clone()),
            ],
            body.to_string(),
        ),
        (
            "negative timestamp",
            vec![
                form.clone(),
                ("X-Slack-Request-Timestamp", "-5".into()),
                ("X-Slack-Signature", good.clone()),
            ],
            body.to_string(),
        ),
        (
            "overflowing timestamp",
            vec![
                form.clone(),
                (
                    "X-Slack-Request-Timestamp",
                    "99999999999999999999999999".into(),
                ),
                ("X-Slack-Signature", good.clone()),
            ],
            body.to_string(),
        ),
        (
            "duplicated signature",
            vec![
                form.clone(),
                ("X-Slack-Request-Timestamp", ts.to_string()),
                ("X-Slack-Signature", good.clone()),
                ("X-Slack-Signature", good.clone()),
            ],
            body.to_string(),
        ),
        (
            "ssl_check unsigned",
            vec![form.clone()],
            "ssl_check=1&token=x".to_string(),
        ),
    ];
    for (name, headers, body) in cases {
        for path in ["/slack/commands", "/slack/events", "/slack/interactivity"] {
            let r = http::send(keel.addr, "POST", path, &headers, body.as_bytes()).await;
            assert_eq!(r.status, 401, "{name} on {path}: {}", r.body);
        }
    }
    assert_eq!(keel.count("SELECT count(*) FROM contributions").await, 0);
    assert_eq!(keel.count("SELECT count(*) FROM workspaces").await, 0);
    assert!(keel.fake.calls("users.info").is_empty());

    // The same request, correctly signed, goes through.
    let r = http::send(
        keel.addr,
        "POST",
        "/slack/commands",
        &[
            form,
            ("X-Slack-Request-Timestamp", ts.to_string()),
            ("X-Slack-Signature", good),
        ],
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(keel.count("SELECT count(*) FROM contributions").await, 1);
}

#[tokio::test]
async fn slash_commands_run_through_the_core() {
    let keel = start(Mode::Single).await;
    let reply = keel
        .command(
            "T1",
            "U1",
            "contribute Planted 40 oaks <!channel> amount=40",
        )
        .await;
    assert_eq!(reply["response_type"], "ephemeral", "{reply}");
    let text = text_of(&reply);
    assert!(text.contains("Planted 40 oaks &lt;!channel&gt;"), "{text}");
    assert!(text.contains("Contribution #1 logged"), "{text}");
    assert!(!text.contains("<!channel>"), "{text}");
    assert_eq!(
        keel.count("SELECT count(*) FROM contributions WHERE platform = 'slack'")
            .await,
        1
    );

    let stats = keel.command("T1", "U1", "stats").await;
    assert_eq!(stats["response_type"], "in_channel");
    assert!(text_of(&stats).contains("Active today (DAU)"), "{stats}");

    // A member is refused an organiser verb, after Slack says they are no admin.
    let refused = keel
        .command("T1", "U1", "goal create Plant trees target=100 slug=trees")
        .await;
    assert_eq!(refused["response_type"], "ephemeral");
    assert!(text_of(&refused).contains("is for organisers"), "{refused}");
    assert_eq!(keel.count("SELECT count(*) FROM goals").await, 0);
    assert_eq!(keel.fake.calls("users.info").len(), 1);

    keel.fake.make_admin("U2");
    let created = keel
        .command("T1", "U2", "goal create Plant trees target=100 slug=trees")
        .await;
    assert!(
        text_of(&created).contains("New goal: Plant trees"),
        "{created}"
    );
    assert_eq!(keel.count("SELECT count(*) FROM goals").await, 1);

    let bad = keel.command("T1", "U1", "contribute x amount=lots").await;
    assert_eq!(bad["response_type"], "ephemeral");
    assert!(text_of(&bad).contains("is not a number"), "{bad}");
}

#[tokio::test]
async fn setup_show_and_the_health_pages_work_on_slack() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    // A member is refused the settings after Slack says they are no admin.
    let refused = keel.command("T1", "U1", "setup show").await;
    assert!(
        text_of(&refused).contains("`setup show` is for organisers"),
        "{refused}"
    );
    keel.command("T1", "UADMIN", "setup milestones digest")
        .await;
    for text in ["setup show", "setup"] {
        let shown = keel.command("T1", "UADMIN", text).await;
        assert_eq!(shown["response_type"], "ephemeral", "{shown}");
        assert!(text_of(&shown).contains("Settings"), "{shown}");
        assert!(text_of(&shown).contains("in the digest only"), "{shown}");
    }
    let help = keel.command("T1", "UADMIN", "help setup").await;
    assert!(
        text_of(&help).contains("setup milestones each|digest"),
        "{help}"
    );
    let health = keel.command("T1", "UADMIN", "health page=2").await;
    assert_eq!(health["response_type"], "ephemeral", "{health}");
    assert!(
        text_of(&health).contains("The lists end on page 1"),
        "{health}"
    );
    let zero = keel.command("T1", "UADMIN", "health page=0").await;
    assert!(text_of(&zero).contains("is not a page number"), "{zero}");
}

#[tokio::test]
async fn kudos_past_the_allowance_on_slack_says_when_the_next_is_possible() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    let set = keel.command("T1", "UADMIN", "setup kudos-per-week 1").await;
    assert!(text_of(&set).contains("up to 1 kudos"), "{set}");
    let given = keel
        .command("T1", "U1", "kudos <@U2|bo> for the oaks")
        .await;
    assert_eq!(given["response_type"], "in_channel", "{given}");
    assert!(text_of(&given).contains("Kudos #1"), "{given}");
    let refused = keel.command("T1", "U1", "kudos <@U3|cy> for the tea").await;
    assert_eq!(refused["response_type"], "ephemeral", "{refused}");
    assert!(
        text_of(&refused).contains("You have given your 1 kudos for the last 7 days.")
            && text_of(&refused).contains("Your next kudos is possible from "),
        "{refused}"
    );
    assert_eq!(keel.count("SELECT count(*) FROM kudos").await, 1);
}

#[tokio::test]
async fn a_role_slack_does_not_confirm_in_time_is_asked_again() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    keel.fake
        .script
        .lock()
        .unwrap()
        .slow_next
        .insert("users.info".into(), std::time::Duration::from_secs(4));
    let started = std::time::Instant::now();
    let unsure = keel
        .command("T1", "UADMIN", "mission set Grow a forest")
        .await;
    // Answered in time for Slack's three seconds, saying what happened.
    assert!(started.elapsed() < std::time::Duration::from_millis(2900));
    assert!(
        text_of(&unsure).contains("could not check with Slack"),
        "{unsure}"
    );
    assert_eq!(keel.count("SELECT count(*) FROM mission_versions").await, 0);
    // Not remembered as a member: the next command asks Slack again.
    let set = keel
        .command("T1", "UADMIN", "mission set Grow a forest")
        .await;
    assert!(!text_of(&set).contains("organisers"), "{set}");
    assert_eq!(keel.count("SELECT count(*) FROM mission_versions").await, 1);
}

#[tokio::test]
async fn a_retried_event_counts_once_and_url_verification_answers_after_the_check() {
    let keel = start(Mode::Single).await;
    let challenge = keel
        .signed(
            "/slack/events",
            r#"{"type":"url_verification","challenge":"abc123"}"#,
            "application/json",
        )
        .await;
    assert_eq!(challenge.status, 200);
    assert_eq!(challenge.json()["challenge"], "abc123");

    // The workspace must exist: a member uses Keel once.
    keel.command("T1", "U1", "help").await;
    let event = r#"{"type":"event_callback","team_id":"T1","event_id":"Ev123","event":{"type":"message","user":"U1","text":"hello","channel":"C1","ts":"1.0"}}"#;
    for retry in 0..3 {
        let ts = keel.now();
        let mut headers = vec![
            ("Content-Type", "application/json".to_string()),
            ("X-Slack-Request-Timestamp", ts.to_string()),
            (
                "X-Slack-Signature",
                signature::sign(SECRET.as_bytes(), ts, event.as_bytes()),
            ),
        ];
        if retry > 0 {
            headers.push(("X-Slack-Retry-Num", retry.to_string()));
            headers.push(("X-Slack-Retry-Reason", "http_timeout".to_string()));
        }
        let r = http::send(
            keel.addr,
            "POST",
            "/slack/events",
            &headers,
            event.as_bytes(),
        )
        .await;
        assert_eq!(r.status, 200);
    }
    assert_eq!(
        keel.count("SELECT COALESCE(sum(messages), 0) FROM member_daily_activity")
            .await,
        1
    );
    assert_eq!(
        keel.count("SELECT count(*) FROM slack_inbox WHERE handled_at IS NOT NULL")
            .await,
        1
    );
    // Only counts are kept: the message text is stored nowhere, the inbox
    // included.
    let db = std::fs::read(keel.dir.path().join("keel.db")).unwrap();
    let wal = std::fs::read(keel.dir.path().join("keel.db-wal")).unwrap_or_default();
    assert!(!db.windows(5).any(|w| w == b"hello") && !wal.windows(5).any(|w| w == b"hello"));

    // A reaction counts too; a bot's message and an edit do not.
    for event in [
        r#"{"type":"event_callback","team_id":"T1","event_id":"EvR1","event":{"type":"reaction_added","user":"U1","reaction":"tada","item":{"type":"message","channel":"C1","ts":"1.0"}}}"#,
        r#"{"type":"event_callback","team_id":"T1","event_id":"EvB1","event":{"type":"message","user":"U1","bot_id":"B1","text":"beep","channel":"C1","ts":"2.0"}}"#,
        r#"{"type":"event_callback","team_id":"T1","event_id":"EvE1","event":{"type":"message","subtype":"message_changed","user":"U1","channel":"C1","ts":"3.0"}}"#,
    ] {
        keel.deliver_event(event).await;
    }
    assert_eq!(
        keel.count("SELECT COALESCE(sum(reactions), 0) FROM member_daily_activity")
            .await,
        1
    );
    assert_eq!(
        keel.count("SELECT COALESCE(sum(messages), 0) FROM member_daily_activity")
            .await,
        1
    );
}

#[tokio::test]
async fn install_flow_checks_state_and_stores_the_token_sealed() {
    let keel = start(Mode::Installs).await;
    let (start, state, cookie) = keel.begin_install().await;
    assert_eq!(start.status, 303, "{}", start.body);
    let location = start.header("location").unwrap().to_string();
    assert!(
        location.starts_with("https://slack.example.test/oauth/v2/authorize?client_id=client-1"),
        "{location}"
    );
    assert!(!state.is_empty(), "{location}");
    let cookie_header = start.header("set-cookie").unwrap().to_string();
    for part in ["Secure", "HttpOnly", "Path=/", "Max-Age=600"] {
        assert!(cookie_header.contains(part), "{cookie_header}");
    }
    let callback = |state: String, cookie: Option<String>| {
        let addr = keel.addr;
        async move {
            let headers: Vec<(&str, String)> =
                cookie.map(|c| vec![("Cookie", c)]).unwrap_or_default();
            http::send(
                addr,
                "GET",
                &format!("/slack/oauth/callback?code=the-code&state={state}"),
                &headers,
                b"",
            )
            .await
        }
    };

    // Refusals make no call to oauth.v2.access.
    assert_eq!(
        callback(state.clone(), None).await.status,
        400,
        "missing cookie"
    );
    assert_eq!(
        http::send(
            keel.addr,
            "GET",
            "/slack/oauth/callback?code=the-code",
            &[("Cookie", cookie.clone())],
            b""
        )
        .await
        .status,
        400,
        "missing state"
    );
    assert_eq!(
        callback(
            state.clone(),
            Some("keel_slack_install=someone-else".into())
        )
        .await
        .status,
        400,
        "mismatched"
    );
    assert_eq!(
        callback("forged".into(), Some(cookie.clone())).await.status,
        400,
        "unknown state"
    );
    let denied = http::send(
        keel.addr,
        "GET",
        &format!("/slack/oauth/callback?error=access_denied&state={state}"),
        &[("Cookie", cookie.clone())],
        b"",
    )
    .await;
    assert_eq!(denied.status, 400);
    assert!(keel.fake.calls("oauth.v2.access").is_empty());
    // Another browser's real install: its state with this cookie, or its cookie
    // with this state, is not recognised either.
    let (_, other_state, other_cookie) = keel.begin_install().await;
    assert_eq!(
        callback(other_state, Some(cookie.clone())).await.status,
        400
    );
    assert_eq!(
        callback(state.clone(), Some(other_cookie)).await.status,
        400
    );
    // Nothing refused was written.
    let used = "SELECT count(*) FROM slack_install_states_used";
    assert_eq!(keel.count(used).await, 0);

    let done = callback(state.clone(), Some(cookie.clone())).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Installed Team"), "{}", done.body);
    assert_eq!(keel.fake.calls("oauth.v2.access").len(), 1);
    assert_eq!(
        callback(state.clone(), Some(cookie.clone())).await.status,
        401,
        "reused"
    );
    assert_eq!(keel.fake.calls("oauth.v2.access").len(), 1);
    assert_eq!(keel.count(used).await, 1);

    // Expired: a fresh state used after eleven minutes.
    let (_, late_state, late_cookie) = keel.begin_install().await;
    keel.clock.advance(chrono::Duration::minutes(11));
    assert_eq!(
        callback(late_state, Some(late_cookie)).await.status,
        401,
        "expired"
    );
    assert_eq!(keel.fake.calls("oauth.v2.access").len(), 1);

    // The upkeep forgets used states once expired, through the index on expiry.
    let plan: Vec<(i64, i64, i64, String)> = db::rows(
        &keel.app,
        "EXPLAIN QUERY PLAN SELECT state_hash FROM slack_install_states_used WHERE expires_at < ? LIMIT 10",
        &["x".into()],
    )
    .await;
    assert!(
        plan.iter()
            .any(|(_, _, _, step)| step.contains("slack_install_states_used_by_expiry")),
        "{plan:?}"
    );
    let now = keel.app.now();
    let pruned = keel
        .app
        .store()
        .prune_spent_install_states(now, 1000)
        .await
        .unwrap();
    assert_eq!((pruned, keel.count(used).await), (1, 0));

    // The token works, and is nowhere in the database file in clear.
    assert_eq!(
        keel.slack
            .bot_token("T-INSTALLED")
            .await
            .unwrap()
            .as_deref(),
        Some("xoxb-fake-secret-token-4242")
    );
    keel.app.store().close().await;
    let mut bytes = std::fs::read(keel.dir.path().join("keel.db")).unwrap();
    bytes.extend(std::fs::read(keel.dir.path().join("keel.db-wal")).unwrap_or_default());
    let token: &[u8] = b"xoxb-fake-secret-token-4242";
    assert!(!bytes.windows(token.len()).any(|w| w == token));
}

/// The database file and its WAL, in bytes.
fn database_bytes(dir: &TempDir) -> u64 {
    ["keel.db", "keel.db-wal"]
        .iter()
        .map(|f| std::fs::metadata(dir.path().join(f)).map_or(0, |m| m.len()))
        .sum()
}

#[tokio::test]
async fn ten_thousand_install_starts_write_nothing() {
    let keel = start_with(Mode::Installs, |c| {
        c.http.install_requests_per_minute = 1_000_000;
    })
    .await;
    // Everything so far (the schema) into the database file, and the WAL emptied:
    // from here on, any write shows as a WAL that grows.
    let mut conn = sqlx::SqliteConnection::connect(&format!(
        "sqlite://{}",
        keel.dir.path().join("keel.db").display()
    ))
    .await
    .unwrap();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let before = database_bytes(&keel.dir);
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let addr = keel.addr;
            tokio::spawn(async move {
                // Kept alive, so the flood does not leave thousands of closed
                // sockets waiting out TIME_WAIT for the tests that follow.
                let mut browser = http::KeepAlive::connect(addr).await;
                for _ in 0..1250 {
                    let start = browser.get("/slack/install").await;
                    assert_eq!(start.status, 303, "{}", start.body);
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    assert_eq!(database_bytes(&keel.dir), before, "the database grew");
    assert_eq!(
        keel.count("SELECT count(*) FROM slack_install_states_used")
            .await,
        0
    );
    // The install still works after the flood, and its callback records its state.
    keel.install().await;
    assert_eq!(
        keel.count("SELECT count(*) FROM slack_install_states_used")
            .await,
        1
    );
}

#[tokio::test]
async fn an_enterprise_grid_install_is_keyed_by_organisation_and_team() {
    let keel = start(Mode::Installs).await;
    keel.fake.script.lock().unwrap().grant_enterprise = Some("E-GRID".into());
    keel.install().await;
    let (enterprise, team): (String, String) = db::row(
        &keel.app,
        "SELECT enterprise_id, team_id FROM slack_installations",
        &[],
    )
    .await;
    assert_eq!(
        (enterprise.as_str(), team.as_str()),
        ("E-GRID", "T-INSTALLED")
    );
    // Sealed with the organisation in its associated data, and opened with it.
    assert_eq!(
        keel.slack
            .bot_token("T-INSTALLED")
            .await
            .unwrap()
            .as_deref(),
        Some("xoxb-fake-secret-token-4242")
    );

    // A whole-organisation install names no workspace: refused, nothing stored.
    keel.fake.script.lock().unwrap().grant_org_wide = true;
    let refused = keel.try_install().await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("one workspace"), "{}", refused.body);
    assert_eq!(
        keel.count("SELECT count(*) FROM slack_installations").await,
        1
    );
}

#[tokio::test]
async fn a_single_workspace_reinstalled_in_slack_keeps_its_data() {
    let keel = start(Mode::Single).await;
    keel.command("T1", "U1", "contribute Planted an oak").await;
    let uninstall = r#"{"type":"event_callback","team_id":"T1","event_id":"EvU1","event":{"type":"app_uninstalled"}}"#;
    keel.deliver_event(uninstall).await;
    let scheduled = "SELECT count(*) FROM workspaces WHERE purge_after IS NOT NULL";
    assert_eq!(keel.count(scheduled).await, 1);
    // A late retry of an event from before is no sign of a reinstall...
    let message = r#"{"type":"event_callback","team_id":"T1","event_id":"EvLate","event":{"type":"message","user":"U1","text":"hi","channel":"C1","ts":"1.0"}}"#;
    keel.deliver_event(message).await;
    assert_eq!(keel.count(scheduled).await, 1);
    // ...but a member's command is: reinstalled from Slack's own pages, with no
    // install callback to say so, Keel keeps the workspace's data.
    let stats = keel.command("T1", "U1", "stats me").await;
    assert!(text_of(&stats).contains("Your stats"), "{stats}");
    assert_eq!(keel.count(scheduled).await, 0);
    assert_eq!(keel.count("SELECT count(*) FROM contributions").await, 1);
}

#[tokio::test]
async fn reinstall_updates_and_uninstall_deletes_the_tokens() {
    let keel = start(Mode::Installs).await;
    for _ in 0..2 {
        keel.install().await;
    }
    assert_eq!(
        keel.count("SELECT count(*) FROM slack_installations").await,
        1
    );
    assert_eq!(
        keel.count("SELECT count(*) FROM workspaces WHERE platform = 'slack'")
            .await,
        1
    );
    let event = r#"{"type":"event_callback","team_id":"T-INSTALLED","event_id":"EvU","event":{"type":"app_uninstalled"}}"#;
    keel.deliver_event(event).await;
    assert_eq!(
        keel.count("SELECT count(*) FROM slack_installations").await,
        0
    );
    assert_eq!(
        keel.count("SELECT count(*) FROM workspaces WHERE purge_after IS NOT NULL")
            .await,
        1
    );
    assert_eq!(keel.slack.bot_token("T-INSTALLED").await.unwrap(), None);
    // Later events for the team make no API call.
    let message = r#"{"type":"event_callback","team_id":"T-INSTALLED","event_id":"EvM","event":{"type":"message","user":"U9","text":"hi"}}"#;
    let calls_before = keel.fake.script.lock().unwrap().calls.len();
    keel.deliver_event(message).await;
    assert_eq!(keel.fake.script.lock().unwrap().calls.len(), calls_before);
}

#[tokio::test]
async fn a_paced_backlog_stops_at_shutdown_and_keeps_the_rest() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    keel.command("T1", "UADMIN", "setup announcements <#C42|celebrations>")
        .await;
    // Each member's first contribution is announced: a backlog for one channel.
    for member in ["U1", "U2", "U3", "U4", "U5"] {
        keel.command("T1", member, "contribute Planted an oak")
            .await;
    }
    let pending = "SELECT count(*) FROM announcement_deliveries WHERE status = 'pending'";
    let backlog = keel.count(pending).await;
    assert!(backlog >= 5, "{backlog}");

    let (stop, shutdown) = shutdown_pair();
    let deliverer = Deliverer::new(
        keel.app.clone(),
        vec![Arc::new(SlackNotifier::new(keel.slack.clone()))],
    );
    let running = tokio::spawn(deliverer.run(shutdown));
    while keel.fake.calls("chat.postMessage").len() < 2 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.trigger();
    tokio::time::timeout(std::time::Duration::from_millis(500), running)
        .await
        .expect("shutdown does not wait for the backlog's pace")
        .unwrap();
    let posted = keel.fake.calls("chat.postMessage").len() as i64;
    assert!(posted < backlog, "{posted} of {backlog}");
    let delivered = keel
        .count("SELECT count(*) FROM announcement_deliveries WHERE status = 'delivered'")
        .await;
    assert_eq!(
        keel.count(pending).await,
        backlog - delivered,
        "the rest wait"
    );
    // A post whose answer shutdown cut off stays pending, its attempt on record,
    // so that after a restart Slack is asked whether it went through.
    let uncertain = keel
        .count("SELECT count(*) FROM announcement_deliveries WHERE status = 'pending' AND attempt_started_at IS NOT NULL")
        .await;
    assert_eq!(
        uncertain,
        posted - delivered,
        "{posted} posted, {delivered} delivered"
    );
}

#[tokio::test]
async fn a_milestone_is_posted_once_after_a_rate_limit() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    let set = keel
        .command("T1", "UADMIN", "setup announcements <#C42|celebrations>")
        .await;
    assert!(text_of(&set).contains("celebrations"), "{set}");
    keel.command("T1", "UADMIN", "mission set Grow a forest")
        .await;
    keel.fake.fail_next("chat.postMessage", 429, Some(2));
    keel.command("T1", "U1", "contribute Planted <!here> an oak")
        .await;

    let deliverer = Deliverer::new(
        keel.app.clone(),
        vec![Arc::new(SlackNotifier::new(keel.slack.clone()))],
    );
    deliverer.deliver_due().await.unwrap();
    let posted = |fake: &FakeSlack| fake.calls("chat.postMessage");
    let after_first = posted(&keel.fake).len();
    assert!(after_first >= 1);
    // Not again before Retry-After (2 s) has passed.
    keel.clock.advance(chrono::Duration::seconds(1));
    deliverer.deliver_due().await.unwrap();
    assert_eq!(posted(&keel.fake).len(), after_first);
    keel.clock.advance(chrono::Duration::seconds(5));
    deliverer.deliver_due().await.unwrap();
    keel.clock.advance(chrono::Duration::hours(1));
    deliverer.deliver_due().await.unwrap();

    let calls = posted(&keel.fake);
    // Slack asks for about one post a second per channel (S10).
    for pair in calls.windows(2) {
        let apart = pair[1].at - pair[0].at;
        assert!(apart >= std::time::Duration::from_millis(990), "{apart:?}");
    }
    let community: Vec<_> = calls
        .iter()
        .filter(|c| {
            c.body
                .contains("The community logged its first contribution")
        })
        .collect();
    assert_eq!(community.len(), 2, "one refused with 429, then one posted");
    let body = community[1].json();
    assert_eq!(body["channel"], "C42");
    assert!(body.get("link_names").is_none());
    assert!(
        !community[1].body.contains("<!here>"),
        "{}",
        community[1].body
    );
    assert_eq!(community[1].authorization, "Bearer xoxb-configured");
    assert_eq!(
        keel.count("SELECT count(*) FROM announcement_deliveries WHERE status = 'delivered'")
            .await,
        2
    );
    assert_eq!(
        keel.count("SELECT count(*) FROM announcement_deliveries WHERE status = 'pending'")
            .await,
        0
    );
}

#[tokio::test]
async fn two_workspaces_never_see_each_others_data() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UA");
    keel.command("TA", "UA", "goal create Plant trees target=100 slug=trees")
        .await;
    keel.command("TA", "UA", "contribute Secret A work amount=5 goal=trees")
        .await;
    let from_b = keel.command("TB", "UB", "goal show trees").await;
    assert!(text_of(&from_b).contains("No goal `trees`"), "{from_b}");
    let contribute_b = keel
        .command("TB", "UB", "contribute Sneaky goal=trees amount=1")
        .await;
    assert!(
        text_of(&contribute_b).contains("No goal `trees`"),
        "{contribute_b}"
    );
    let stats_b = keel.command("TB", "UB", "stats").await;
    assert!(
        !text_of(&stats_b).contains("Secret A work") && !text_of(&stats_b).contains("Plant trees"),
        "{stats_b}"
    );
    assert_eq!(keel.count("SELECT count(*) FROM communities").await, 2);
    assert_eq!(keel.count("SELECT count(*) FROM contributions").await, 1);
}

/// The link code a reply shows (KEEL-XXXX-XXXX).
fn link_code(message: &serde_json::Value) -> String {
    let text = text_of(message);
    let at = text
        .find("KEEL-")
        .unwrap_or_else(|| panic!("no link code in {text}"));
    text[at..at + 14].to_string()
}

#[tokio::test]
async fn an_admin_redeems_a_community_code_through_slack_and_the_workspaces_join() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UA");
    keel.fake.make_admin("UB");
    let made = keel.command("TA", "UA", "link community").await;
    let code = link_code(&made);
    // Redeeming is not an organiser-only command (a member redeems their own
    // identity code), yet this community code needs an admin: Slack is asked.
    let asked_before = keel.fake.calls("users.info").len();
    let linked = keel.command("TB", "UB", &format!("link {code}")).await;
    assert!(text_of(&linked).contains("Workspace linked"), "{linked}");
    assert_eq!(keel.fake.calls("users.info").len(), asked_before + 1);
    assert_eq!(
        keel.count(
            "SELECT count(DISTINCT community_id) FROM workspaces WHERE platform = 'slack' AND external_id IN ('TA', 'TB')"
        )
        .await,
        1
    );
    // One community: a goal made in one workspace counts contributions from the other.
    keel.command("TA", "UA", "goal create Plant trees target=10 slug=trees")
        .await;
    let counted = keel
        .command("TB", "U9", "contribute Planted two amount=2 goal=trees")
        .await;
    assert!(!text_of(&counted).contains("No goal"), "{counted}");

    // A member (no admin) of a third workspace is refused, and nothing moves.
    let code = link_code(&keel.command("TA", "UA", "link community").await);
    let refused = keel.command("TC", "UC", &format!("link {code}")).await;
    assert!(
        text_of(&refused).contains("Ask an admin of this Slack workspace"),
        "{refused}"
    );
    assert_eq!(
        keel.count("SELECT count(DISTINCT community_id) FROM workspaces")
            .await,
        2
    );
}

#[tokio::test]
async fn socket_mode_acknowledges_and_records_a_slash_command_and_reconnects() {
    let fake = FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("keel.db").display());
    let store = Store::open(&StoreOptions::new(url)).await.unwrap();
    let app = App::new(store, Arc::new(ManualClock::new(Utc::now())));
    let mut config = Config::default();
    config.slack.app_token = Some(Secret::new("xapp-socket"));
    config.slack.bot_token = Some(Secret::new("xoxb-socket"));
    config.slack.api_base = fake.api_base();
    config.slack.welcome = true;
    let slack = Slack::new(app.clone(), &config).unwrap();
    let envelope = |id: &str, text: &str| {
        serde_json::json!({
            "envelope_id": id, "type": "slash_commands", "accepts_response_payload": true,
            "payload": {"team_id": "TS", "team_domain": "socket", "user_id": "U1", "user_name": "sam",
                        "command": "/keel", "text": text, "channel_id": "C1"}
        })
    };
    {
        let mut side = fake.socket.lock().await;
        side.to_send
            .push_back(envelope("E1", "contribute Planted via the socket"));
        side.close_after_send = true;
    }
    let (stop, shutdown) = shutdown_pair();
    let stop_inbox = shutdown.clone();
    let running = tokio::spawn(keel::slack::socket::run(
        slack.clone(),
        "xapp-socket".into(),
        shutdown,
    ));

    let ack = wait_for_ack(&fake, "E1").await;
    assert_eq!(ack["payload"]["response_type"], "ephemeral", "{ack}");
    assert!(
        ack["payload"]
            .to_string()
            .contains("Planted via the socket"),
        "{ack}"
    );
    let rows: i64 = db::scalar(
        &app,
        "SELECT count(*) FROM contributions WHERE description = 'Planted via the socket'",
        &[],
    )
    .await;
    assert_eq!(rows, 1);

    // The fake hung up: Keel reconnects and keeps answering.
    fake.socket
        .lock()
        .await
        .to_send
        .push_back(envelope("E2", "stats me"));
    let ack = wait_for_ack(&fake, "E2").await;
    assert!(ack["payload"].to_string().contains("Your stats"), "{ack}");
    assert!(fake.socket.lock().await.connections >= 2);
    assert!(fake.calls("apps.connections.open").len() >= 2);

    // Every envelope is kept, acknowledged, and handled beside the others. An
    // event whose handling fails is acknowledged all the same, and the inbox
    // handles it again; Slack's redelivery of it changes nothing.
    let inbox = tokio::spawn(keel::slack::inbox::run(slack.clone(), stop_inbox));
    fake.make_admin("UADM");
    let join = |id: &str, event: &str, user: &str| {
        serde_json::json!({
            "envelope_id": id, "type": "events_api",
            "payload": {"type": "event_callback", "team_id": "TS", "event_id": event,
                        "event": {"type": "team_join", "user": {"id": user}}}
        })
    };
    fake.fail_next("chat.postMessage", 500, None);
    {
        let mut side = fake.socket.lock().await;
        side.to_send.push_back(serde_json::json!({
            "envelope_id": "E3", "type": "slash_commands", "accepts_response_payload": true,
            "payload": {"team_id": "TS", "team_domain": "socket", "user_id": "UADM", "user_name": "ada",
                        "command": "/keel", "text": "mission set Plant a forest", "channel_id": "C1"}
        }));
        side.to_send.push_back(join("E4", "EvSocketJoin", "UNEW"));
        side.to_send.push_back(envelope("E5", "stats me"));
    }
    for id in ["E3", "E4", "E5"] {
        wait_for_ack(&fake, id).await;
    }
    wait_for_calls(&fake, "chat.postMessage", 2).await;
    let welcomes = fake.calls("chat.postMessage");
    assert_eq!(welcomes[1].json()["channel"], "UNEW", "the inbox's retry");
    fake.socket
        .lock()
        .await
        .to_send
        .push_back(join("E6", "EvSocketJoin", "UNEW"));
    wait_for_ack(&fake, "E6").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(fake.calls("chat.postMessage").len(), 2, "handled once");

    // A handler whose call to Slack gets no answer holds up no acknowledgement.
    fake.hang_posts_to("UHUNG", true);
    {
        let mut side = fake.socket.lock().await;
        side.to_send.push_back(join("E7", "EvHung", "UHUNG"));
        side.to_send.push_back(envelope("E8", "stats me"));
    }
    let ack = wait_for_ack(&fake, "E8").await;
    assert!(ack["payload"].to_string().contains("Your stats"), "{ack}");
    wait_for_ack(&fake, "E7").await;
    assert!(
        fake.calls("apps.connections.open")[0]
            .authorization
            .contains("xapp-socket")
    );
    stop.trigger();
    tokio::time::timeout(std::time::Duration::from_secs(5), running)
        .await
        .unwrap()
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), inbox)
        .await
        .unwrap()
        .unwrap();
}

async fn wait_for_calls(fake: &FakeSlack, method: &str, n: usize) {
    for _ in 0..800 {
        if fake.calls(method).len() >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("{method} was not called {n} times");
}

async fn wait_for_ack(fake: &FakeSlack, id: &str) -> serde_json::Value {
    // Up to 20 s: it returns at the acknowledgement, and on a loaded two-core CI
    // machine the first envelope (connect, then a first command) once took over 5 s.
    for _ in 0..800 {
        if let Some(ack) = fake
            .socket
            .lock()
            .await
            .received
            .iter()
            .find(|r| r["envelope_id"] == id)
        {
            return ack.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("no acknowledgement for {id}");
}

fn submission(callback: &str, values: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": "U1", "username": "una", "team_id": "T1"},
        "view": {"callback_id": callback, "private_metadata": "C1", "state": {"values": values}}
    })
}

#[tokio::test]
async fn forms_open_for_bare_commands_and_their_submissions_run_the_core() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    keel.command(
        "T1",
        "UADMIN",
        "goal create Plant trees target=100 unit=trees slug=trees",
    )
    .await;

    let opened = keel.command_raw("T1", "U1", "contribute").await;
    assert_eq!(opened.status, 200);
    assert!(opened.body.is_empty(), "{}", opened.body);
    let views = keel.fake.calls("views.open");
    assert_eq!(views.len(), 1);
    let view = &views[0].json();
    assert!(
        view["trigger_id"].as_str().unwrap().ends_with(".2.3"),
        "the command's own trigger: {view}"
    );
    assert_eq!(view["view"]["callback_id"], "keel_contribute");
    assert!(
        views[0].body.contains("Plant trees"),
        "goal options: {}",
        views[0].body
    );

    // A member may not open the goal form.
    let refused = keel.command("T1", "U1", "goal create").await;
    assert!(text_of(&refused).contains("is for organisers"), "{refused}");
    assert_eq!(keel.fake.calls("views.open").len(), 1);

    // A refused submission keeps the form open, with the reason under the field.
    let bad = keel
        .submit(submission(
            "keel_contribute",
            serde_json::json!({
                "description": {"value": {"type": "plain_text_input", "value": "Planted oaks"}},
                "amount": {"value": {"type": "plain_text_input", "value": "lots"}}
            }),
        ))
        .await;
    assert_eq!(bad.status, 200);
    assert_eq!(bad.json()["response_action"], "errors");
    assert!(
        bad.json()["errors"]["amount"]
            .as_str()
            .unwrap()
            .contains("not a number"),
        "{}",
        bad.body
    );
    assert_eq!(keel.count("SELECT count(*) FROM contributions").await, 0);

    let good = keel
        .submit(submission(
            "keel_contribute",
            serde_json::json!({
                "description": {"value": {"type": "plain_text_input", "value": "Planted 40 oaks"}},
                "amount": {"value": {"type": "plain_text_input", "value": "40"}},
                "goal": {"value": {"type": "static_select", "selected_option": {"value": "trees"}}}
            }),
        ))
        .await;
    assert_eq!(good.status, 200, "{}", good.body);
    assert!(good.body.is_empty(), "the form closes: {}", good.body);
    assert_eq!(
        keel.count("SELECT count(*) FROM contributions WHERE goal_id IS NOT NULL AND amount = 40")
            .await,
        1
    );
    let confirmed = keel.fake.calls("chat.postEphemeral");
    assert_eq!(confirmed.len(), 1);
    assert_eq!(confirmed[0].json()["user"], "U1");
    assert!(confirmed[0].body.contains("Planted 40 oaks"));

    // An organiser opens the goal form and creates a goal with it.
    let opened = keel.command_raw("T1", "UADMIN", "goal create").await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    let views = keel.fake.calls("views.open");
    assert_eq!(views.len(), 2);
    assert_eq!(views[1].json()["view"]["callback_id"], "keel_goal_create");
    let goal_form = |user: &str| {
        serde_json::json!({
            "type": "view_submission",
            "team": {"id": "T1"},
            "user": {"id": user, "username": user, "team_id": "T1"},
            "view": {"callback_id": "keel_goal_create", "private_metadata": "C1", "state": {"values": {
                "title": {"value": {"type": "plain_text_input", "value": "Clean the river"}},
                "target": {"value": {"type": "plain_text_input", "value": "12"}},
                "slug": {"value": {"type": "plain_text_input", "value": "river"}}
            }}}
        })
    };
    let river = "SELECT count(*) FROM goals WHERE slug = 'river' AND target = 12";
    // A member's submission, forged without the form, is refused like the command.
    keel.submit(goal_form("U1")).await;
    assert_eq!(keel.count(river).await, 0);
    let created = keel.submit(goal_form("UADMIN")).await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(created.body.is_empty(), "the form closes: {}", created.body);
    assert_eq!(keel.count(river).await, 1);
}

#[tokio::test]
async fn the_home_tab_shows_the_mission_goals_and_my_totals() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    keel.command("T1", "UADMIN", "mission set Grow a thriving urban forest")
        .await;
    keel.command(
        "T1",
        "UADMIN",
        "goal create \"Plant 500 trees\" target=500 unit=trees",
    )
    .await;
    keel.command("T1", "U1", "contribute Watered saplings")
        .await;
    let event = r#"{"type":"event_callback","team_id":"T1","event_id":"EvHome","event":{"type":"app_home_opened","user":"U1","tab":"home"}}"#;
    keel.deliver_event(event).await;
    let published = keel.fake.calls("views.publish");
    assert_eq!(published.len(), 1);
    let body = published[0].json();
    assert_eq!(body["user_id"], "U1");
    assert_eq!(body["view"]["type"], "home");
    let text = body.to_string();
    assert!(
        text.contains("Grow a thriving urban forest") && text.contains("Your stats"),
        "{text}"
    );
    assert!(text.contains("Plant 500 trees"), "the open goals: {text}");
}

#[tokio::test]
async fn members_first_seen_through_events_are_named_as_slack_names_them() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    keel.command("T1", "UADMIN", "help").await;
    let event = |id: &str, body: serde_json::Value| {
        serde_json::json!({"type": "event_callback", "team_id": "T1", "event_id": id, "event": body})
            .to_string()
    };
    let message = |id: &str, user: &str| {
        event(
            id,
            serde_json::json!({"type": "message", "user": user, "text": "hi", "channel": "C1", "ts": "1.0"}),
        )
    };
    let asked_about = |user: &str| {
        keel.fake
            .calls("users.info")
            .iter()
            .filter(|c| c.query.contains(&format!("user={user}")))
            .count()
    };
    for (user, name) in [
        ("UM1", "maya"),
        ("UM2", "noor"),
        ("UM3", "omar"),
        ("UM4", "rafa"),
        ("UM5", "sol"),
    ] {
        keel.fake.set_name(user, name);
    }

    // First seen writing, three times: Slack is asked their name once.
    for i in 0..3 {
        keel.deliver_event(&message(&format!("EvM1-{i}"), "UM1"))
            .await;
    }
    assert_eq!(asked_about("UM1"), 1);
    // First seen opening the App Home, or reacting.
    keel.deliver_event(&event(
        "EvHome2",
        serde_json::json!({"type": "app_home_opened", "user": "UM2", "tab": "home"}),
    ))
    .await;
    keel.deliver_event(&event(
        "EvReact3",
        serde_json::json!({"type": "reaction_added", "user": "UM3", "reaction": "tada",
            "item": {"type": "message", "channel": "C1", "ts": "1.0"}}),
    ))
    .await;

    // Stored under their id by a Keel from before names were asked for: named
    // at their next message.
    keel.app
        .actor(&keel::slack::commands::envelope(
            "T1",
            "t1",
            "UM4",
            "UM4",
            keel::domain::Role::Member,
        ))
        .await
        .unwrap();
    keel.deliver_event(&message("EvM4", "UM4")).await;

    // Slack does not answer: counted under their id, not asked again at every
    // message, and named once their account changes (or the wait is over).
    keel.fake.fail_next("users.info", 500, None);
    keel.deliver_event(&message("EvM5-0", "UM5")).await;
    keel.deliver_event(&message("EvM5-1", "UM5")).await;
    assert_eq!(asked_about("UM5"), 1);
    keel.deliver_event(&event(
        "EvChange5",
        serde_json::json!({"type": "user_change", "user": {"id": "UM5", "deleted": false}}),
    ))
    .await;
    keel.deliver_event(&message("EvM5-2", "UM5")).await;
    assert_eq!(asked_about("UM5"), 2);

    // A member named by their slash commands keeps that name when they open
    // the App Home, and Slack is not asked.
    keel.command_named("T1", "UP", "pia", "stats me").await;
    keel.deliver_event(&event(
        "EvHomeP",
        serde_json::json!({"type": "app_home_opened", "user": "UP", "tab": "home"}),
    ))
    .await;
    assert_eq!(asked_about("UP"), 0);

    assert_eq!(
        keel.count("SELECT COALESCE(sum(messages), 0) FROM member_daily_activity")
            .await,
        7
    );
    let health = text_of(&keel.command("T1", "UADMIN", "health").await);
    let newcomers = health
        .split("Newcomers yet to contribute: ")
        .nth(1)
        .and_then(|rest| rest.trim_start_matches('*').split("\\n").next())
        .unwrap_or_else(|| panic!("no newcomers in {health}"));
    assert_eq!(newcomers, "uadmin, maya, noor, omar, rafa, sol, pia");
}

/// Waits (up to two seconds) until the fake has seen `n` calls of `method`.
async fn calls_after(fake: &FakeSlack, method: &str, n: usize) -> Vec<fake_slack::Call> {
    for _ in 0..100 {
        let calls = fake.calls(method);
        if calls.len() >= n {
            return calls;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    fake.calls(method)
}

#[tokio::test]
async fn a_response_url_off_slacks_hooks_host_gets_no_request() {
    let keel = start(Mode::Single).await;
    keel.command("T1", "U1", "contribute Planted oaks").await;
    // A signed command whose response_url points somewhere else: Keel answers the
    // command, and sends the late answer nowhere.
    let elsewhere = FakeSlack::start().await;
    let ack = keel
        .command_to("T1", "U1", "export me", &elsewhere.response_url())
        .await;
    assert_eq!(ack.status, 200, "{}", ack.body);
    // The same command with Slack's own response_url is answered there.
    keel.command("T1", "U1", "export me").await;
    assert_eq!(calls_after(&keel.fake, "response_url", 1).await.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        elsewhere.script.lock().unwrap().calls.is_empty(),
        "a request went to a host that is not Slack's"
    );
}

#[tokio::test]
async fn an_export_is_uploaded_to_the_members_direct_messages() {
    let keel = start(Mode::Single).await;
    keel.command("T1", "U1", "contribute Planted <!channel> oaks")
        .await;
    let ack = keel.command("T1", "U1", "export me").await;
    assert!(text_of(&ack).contains("Preparing your export"), "{ack}");
    assert_eq!(ack["response_type"], "ephemeral");

    let posted = calls_after(&keel.fake, "response_url", 1).await;
    assert_eq!(posted.len(), 1);
    // A response_url message without response_type is ephemeral.
    let follow_up = posted[0].json();
    assert_eq!(
        follow_up["response_type"],
        serde_json::Value::Null,
        "{follow_up}"
    );
    assert!(
        posted[0].body.contains("in your direct messages with Keel"),
        "{}",
        posted[0].body
    );
    // Only the member sees it: their direct messages with Keel, never the channel.
    let opened = keel.fake.calls("conversations.open");
    assert_eq!(opened.len(), 1);
    assert!(opened[0].body.contains("U1"), "{}", opened[0].body);
    let ticket = keel.fake.calls("files.getUploadURLExternal");
    assert_eq!(ticket.len(), 1);
    let uploads = keel.fake.calls("upload");
    assert_eq!(uploads.len(), 1);
    assert!(
        ticket[0]
            .query
            .contains(&format!("length={}", uploads[0].bytes.len())),
        "{}",
        ticket[0].query
    );
    // The file goes gzipped, under its name with .gz.
    assert!(
        ticket[0].query.contains("-contributions.csv.gz"),
        "{}",
        ticket[0].query
    );
    assert_eq!(uploads[0].content_type, "application/gzip");
    assert_eq!(uploads[0].bytes[..2], [0x1f, 0x8b], "gzip magic");
    // It holds the data exactly as typed; the bot token authorises the upload.
    let csv = gunzip(&uploads[0].bytes);
    assert!(csv.starts_with("id,member,day"), "{csv}");
    assert!(csv.contains("Planted <!channel> oaks"), "{csv}");
    assert_eq!(uploads[0].authorization, "Bearer xoxb-configured");
    let shared = keel.fake.calls("files.completeUploadExternal");
    assert_eq!(shared.len(), 1);
    let shared = shared[0].json();
    assert_eq!(shared["channel_id"], "D-U1", "{shared}");
    assert_eq!(shared["files"][0]["id"], ticket_file_id(&uploads[0]));
}

#[tokio::test]
async fn an_export_past_the_upload_limit_points_to_keel_export() {
    let keel = start_with(Mode::Single, |c| c.slack.max_upload_bytes = 64).await;
    keel.fake.make_admin("UADMIN");
    keel.command("T1", "UADMIN", "contribute Planted oaks")
        .await;
    let ack = keel.command("T1", "UADMIN", "export").await;
    assert!(text_of(&ack).contains("Preparing your export"), "{ack}");
    let posted = calls_after(&keel.fake, "response_url", 1).await;
    assert_eq!(posted.len(), 1);
    let said = text_of(&posted[0].json());
    assert!(said.contains("larger than the 1 KiB Slack takes"), "{said}");
    let community: i64 = db::scalar(&keel.app, "SELECT id FROM communities", &[]).await;
    assert!(
        said.contains(&format!("keel export --community {community}")),
        "{said}"
    );
    // Nothing was uploaded, nor asked for.
    assert!(keel.fake.calls("files.getUploadURLExternal").is_empty());
    assert!(keel.fake.calls("upload").is_empty());
}

#[tokio::test]
async fn the_third_export_at_once_is_told_it_is_queued_and_then_made() {
    let keel = start_with(Mode::Single, |c| c.files.concurrent = 2).await;
    keel.command("T1", "U1", "contribute Planted oaks").await;
    // Uploads hang until the test lets them through, so the first two exports
    // keep their slots.
    let held = keel.fake.hold_uploads().await;
    for n in 1..=2 {
        let ack = keel.command("T1", "U1", "export me").await;
        let said = text_of(&ack);
        assert!(said.contains("Preparing your export"), "{said}");
        assert!(!said.contains("queued"), "export {n}: {said}");
    }
    let third = keel.command("T1", "U1", "export me").await;
    let said = text_of(&third);
    assert!(
        said.contains("Keel makes 2 exports or charts at a time"),
        "{said}"
    );
    assert!(said.contains("yours is queued"), "{said}");
    // The third waits: only two reach the upload.
    let waiting = calls_after(&keel.fake, "files.getUploadURLExternal", 3).await;
    assert_eq!(waiting.len(), 2, "the third export waits for a slot");
    drop(held);
    let posted = calls_after(&keel.fake, "response_url", 3).await;
    assert_eq!(posted.len(), 3);
    for answer in &posted {
        assert!(
            answer.body.contains("in your direct messages"),
            "{}",
            answer.body
        );
    }
    assert_eq!(keel.fake.calls("upload").len(), 3);
}

/// A gzipped upload's text.
fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(bytes), &mut text)
        .expect("a gzip file of text");
    text
}

/// The file id the upload URL named.
fn ticket_file_id(upload: &fake_slack::Call) -> String {
    upload.query.trim_start_matches("file=").to_string()
}

#[tokio::test]
async fn a_chart_is_shared_in_the_channel_through_a_rate_limit() {
    let keel = start(Mode::Single).await;
    keel.command("T1", "U1", "contribute Planted <!channel> oaks")
        .await;
    keel.fake
        .fail_next("files.getUploadURLExternal", 429, Some(1));
    let ack = keel.command("T1", "U1", "stats chart").await;
    assert!(text_of(&ack).contains("Drawing the chart"), "{ack}");

    let shared = calls_after(&keel.fake, "files.completeUploadExternal", 1).await;
    assert_eq!(shared.len(), 1, "the charts were not shared in one message");
    let share = shared[0].json();
    assert_eq!(share["channel_id"], "C1", "{share}");
    assert!(
        share["initial_comment"]
            .as_str()
            .unwrap_or_default()
            .contains("Community charts"),
        "{share}"
    );
    let uploads = keel.fake.calls("upload");
    assert!(!uploads.is_empty());
    // Every chart was uploaded and is in the message; the 429 was waited out.
    assert_eq!(
        keel.fake.calls("files.getUploadURLExternal").len(),
        uploads.len() + 1
    );
    let ids: Vec<String> = uploads.iter().map(ticket_file_id).collect();
    let in_message: Vec<String> = share["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(in_message, ids);
    for upload in &uploads {
        assert_eq!(upload.content_type, "image/png");
        let decoder = png::Decoder::new(std::io::Cursor::new(upload.bytes.clone()));
        let info = decoder.read_info().unwrap();
        assert_eq!(
            (info.info().width, info.info().height),
            (800, 400),
            "a chart at chat size"
        );
    }
    // The channel has the chart; the member is told where it is, privately.
    let posted = calls_after(&keel.fake, "response_url", 1).await;
    assert_eq!(posted.len(), 1);
    let note = posted[0].json();
    assert_eq!(note["response_type"], serde_json::Value::Null, "{note}");
    assert!(text_of(&note).contains("shared in <#C1>"), "{note}");
    assert!(keel.fake.calls("conversations.open").is_empty());
}

#[tokio::test]
async fn a_chart_keel_cannot_share_says_how_to_fix_it() {
    let keel = start(Mode::Single).await;
    keel.command("T1", "U1", "contribute Planted oaks").await;
    keel.fake.script.lock().unwrap().refuse_share = Some("not_in_channel".into());
    keel.command("T1", "U1", "stats chart").await;
    let posted = calls_after(&keel.fake, "response_url", 1).await;
    assert_eq!(posted.len(), 1);
    let answer = posted[0].json();
    let text = text_of(&answer);
    assert!(text.contains("/invite @Keel"), "{text}");
    // The figures still reach the member.
    assert!(text.contains("Community charts"), "{text}");
}

#[tokio::test]
async fn joins_and_deactivations_are_counted_in_growth() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    keel.command("T1", "UADMIN", "stats").await;
    let event = |id: &str, body: serde_json::Value| {
        serde_json::json!({"type": "event_callback", "team_id": "T1", "event_id": id, "event": body})
            .to_string()
    };
    for (id, user, name) in [("EvA", "UNEW", "Nova"), ("EvB", "ULEFT", "Lee")] {
        let join = event(
            id,
            serde_json::json!({"type": "team_join", "user": {"id": user, "real_name": name, "profile": {"display_name": ""}}}),
        );
        keel.deliver_event(&join).await;
    }
    let bot = event(
        "EvC",
        serde_json::json!({"type": "team_join", "user": {"id": "UBOT2", "is_bot": true}}),
    );
    keel.deliver_event(&bot).await;
    let deactivated = event(
        "EvD",
        serde_json::json!({"type": "user_change", "user": {"id": "ULEFT", "deleted": true}}),
    );
    // Delivered twice, as a Slack retry would: one leave.
    for _ in 0..2 {
        keel.deliver_event(&deactivated).await;
    }
    // A profile edit is not a departure.
    let edited = event(
        "EvE",
        serde_json::json!({"type": "user_change", "user": {"id": "UNEW", "deleted": false}}),
    );
    keel.deliver_event(&edited).await;

    assert_eq!(
        keel.count("SELECT count(*) FROM members WHERE display_name IN ('Nova', 'Lee')")
            .await,
        2
    );
    let stats = keel.command("T1", "UADMIN", "stats").await;
    let text = text_of(&stats);
    // The admin, Nova and Lee joined; Lee left; the bot is not a member.
    assert!(text.contains("3 joined, 1 left, net +2"), "{text}");
}

#[tokio::test]
async fn a_demoted_admin_or_a_member_leaving_the_organiser_group_loses_organiser_rights_at_once() {
    let keel = start(Mode::Single).await;
    let event = |id: &str, body: serde_json::Value| {
        serde_json::json!({"type": "event_callback", "team_id": "T1", "event_id": id, "event": body})
            .to_string()
    };
    let organises = async |user: &str, statement: &str| {
        let reply = keel
            .command("T1", user, &format!("mission set {statement}"))
            .await;
        !text_of(&reply).contains("is for organisers")
    };

    // An admin organises, and Slack's answer is remembered.
    keel.fake.make_admin("UADMIN");
    assert!(organises("UADMIN", "Grow a forest").await);
    keel.fake.demote("UADMIN");
    assert!(
        organises("UADMIN", "Grow a bigger forest").await,
        "remembered"
    );
    let asked = keel.fake.calls("users.info").len();
    // Slack says the account changed: the next command asks again, and is refused.
    keel.deliver_event(&event(
        "EvDemoted",
        serde_json::json!({"type": "user_change", "user": {"id": "UADMIN", "is_admin": false, "deleted": false}}),
    ))
    .await;
    assert!(!organises("UADMIN", "Take over").await);
    assert_eq!(keel.fake.calls("users.info").len(), asked + 1);

    // A member of the organiser group organises until they leave the group.
    keel.fake.make_admin("UOWNER");
    keel.command(
        "T1",
        "UOWNER",
        "setup organiser-role <!subteam^S1|@stewards>",
    )
    .await;
    keel.fake.set_group("S1", &["USTEWARD"]);
    assert!(organises("USTEWARD", "Steward the forest").await);
    keel.fake.set_group("S1", &[]);
    assert!(
        organises("USTEWARD", "Still stewarding").await,
        "remembered"
    );
    keel.deliver_event(&event(
        "EvLeft",
        serde_json::json!({"type": "subteam_members_changed", "subteam_id": "S1", "team_id": "T1",
            "added_users": [], "added_users_count": "0",
            "removed_users": ["USTEWARD"], "removed_users_count": "1"}),
    ))
    .await;
    assert!(!organises("USTEWARD", "Take over").await);
    assert!(organises("UOWNER", "Grow a forest, together").await);
    assert_eq!(keel.count("SELECT count(*) FROM mission_versions").await, 5);
}

#[tokio::test]
async fn an_event_that_fails_is_handled_on_slacks_retry() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    keel.command("T1", "UADMIN", "mission set Grow a thriving urban forest")
        .await;
    let join = r#"{"type":"event_callback","team_id":"T1","event_id":"EvFail","event":{"type":"team_join","user":{"id":"UNEW"}}}"#;
    keel.fake.fail_next("chat.postMessage", 500, None);
    assert_eq!(
        keel.signed("/slack/events", join, "application/json")
            .await
            .status,
        500,
        "a failed event asks Slack to retry"
    );
    assert_eq!(
        keel.count("SELECT count(*) FROM slack_inbox WHERE handled_at IS NULL")
            .await,
        1,
        "a failed event is kept, not marked as handled"
    );
    // Slack's retry is handled, not skipped as a duplicate; and only once.
    for _ in 0..2 {
        keel.deliver_event(join).await;
    }
    let welcomes = keel.fake.calls("chat.postMessage");
    assert_eq!(welcomes.len(), 2, "the failed attempt and the retry's");
    assert_eq!(welcomes[1].json()["channel"], "UNEW");
    assert_eq!(
        keel.count("SELECT count(*) FROM slack_inbox WHERE handled_at IS NOT NULL")
            .await,
        1
    );
}

#[tokio::test]
async fn newcomers_get_the_mission_and_revoked_tokens_are_deleted() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    keel.command(
        "T1",
        "UADMIN",
        "mission set Grow a thriving urban forest <!channel>",
    )
    .await;
    let join = r#"{"type":"event_callback","team_id":"T1","event_id":"EvJ","event":{"type":"team_join","user":{"id":"UNEW"}}}"#;
    keel.deliver_event(join).await;
    let welcomes = keel.fake.calls("chat.postMessage");
    assert_eq!(welcomes.len(), 1);
    assert_eq!(welcomes[0].json()["channel"], "UNEW");
    assert!(
        welcomes[0]
            .body
            .contains("Grow a thriving urban forest &lt;!channel&gt;"),
        "{}",
        welcomes[0].body
    );

    // tokens_revoked for the bot works like an uninstall, in installs mode too.
    let keel = start(Mode::Installs).await;
    keel.install().await;
    let revoked = r#"{"type":"event_callback","team_id":"T-INSTALLED","event_id":"EvR","event":{"type":"tokens_revoked","tokens":{"bot":["UBOT"]}}}"#;
    keel.deliver_event(revoked).await;
    assert_eq!(
        keel.count("SELECT count(*) FROM slack_installations").await,
        0
    );
    assert_eq!(keel.slack.bot_token("T-INSTALLED").await.unwrap(), None);
}

fn assert_each_once(markers: &[String]) {
    let mut seen = std::collections::HashSet::new();
    for marker in markers {
        assert!(!marker.is_empty(), "a post without its marker: {markers:?}");
        assert!(seen.insert(marker), "{marker} posted twice: {markers:?}");
    }
}

/// R1, R2, R4: a workspace whose posts never get an answer holds up no other
/// workspace; shutdown does not wait for the call in flight, which stays pending;
/// after a restart against a healthy Slack it is found in the channel, not
/// posted again, and the rest follow, each once.
#[tokio::test]
async fn a_hung_workspace_holds_up_no_other_and_its_post_is_not_repeated() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    keel.command("T1", "UADMIN", "setup announcements <#CSTUCK|stuck>")
        .await;
    keel.command("T2", "UADMIN", "setup announcements <#COK|ok>")
        .await;
    keel.fake.hang_posts_to("CSTUCK", true);
    keel.command("T1", "U1", "contribute Planted an oak").await;
    keel.command("T2", "U2", "contribute Cleared a path").await;
    let queued = |team: &'static str| {
        let sql = match team {
            "T1" => {
                "SELECT count(*) FROM announcement_deliveries d JOIN workspaces w ON w.id = d.workspace_id WHERE w.external_id = 'T1'"
            }
            _ => {
                "SELECT count(*) FROM announcement_deliveries d JOIN workspaces w ON w.id = d.workspace_id WHERE w.external_id = 'T2'"
            }
        };
        keel.count(sql)
    };
    let (for_t1, for_t2) = (queued("T1").await as usize, queued("T2").await as usize);
    assert!(for_t1 >= 2 && for_t2 >= 2, "{for_t1} {for_t2}");

    let (stop, shutdown) = shutdown_pair();
    let options = DeliveryOptions {
        call_timeout: std::time::Duration::from_secs(60),
        concurrency: 4,
        ..DeliveryOptions::default()
    };
    let notifier = Arc::new(SlackNotifier::new(keel.slack.clone()));
    let running = tokio::spawn(
        Deliverer::with_options(keel.app.clone(), vec![notifier], options).run(shutdown),
    );
    // T2's announcements all arrive, paced, while T1's first post hangs; and Keel
    // has recorded the last one delivered (the fake sees a post before Keel has
    // its answer: stopping in between would leave that attempt pending too).
    let t2_delivered =
        "SELECT count(*) FROM announcement_deliveries d JOIN workspaces w ON w.id = d.workspace_id
         WHERE w.external_id = 'T2' AND d.status = 'delivered'";
    for _ in 0..400 {
        if keel.fake.messages_in("COK").len() == for_t2
            && keel.count(t2_delivered).await as usize == for_t2
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(keel.fake.messages_in("COK").len(), for_t2);
    assert_eq!(keel.count(t2_delivered).await as usize, for_t2);
    assert_eq!(
        keel.fake.messages_in("CSTUCK").len(),
        1,
        "hung on the first"
    );

    let stopping = std::time::Instant::now();
    stop.trigger();
    tokio::time::timeout(std::time::Duration::from_secs(2), running)
        .await
        .expect("shutdown does not wait for a call that never ends")
        .unwrap();
    println!("delivery stopped {:?} after shutdown", stopping.elapsed());
    let rows: Vec<String> = db::scalars(
        &keel.app,
        "SELECT printf('%d %s %s %d %s', workspace_id, status, coalesce(attempt_started_at, '-'),
                attempts, coalesce(last_error, '-'))
         FROM announcement_deliveries",
        &[],
    )
    .await;
    assert_eq!(
        keel.count("SELECT count(*) FROM announcement_deliveries WHERE status = 'pending' AND attempt_started_at IS NOT NULL")
            .await,
        1,
        "the post in flight stays pending, its attempt on record: {rows:#?}"
    );

    // Restarted against a Slack that answers again, past any retry's wait (on a
    // loaded machine the hung call may have run out of the client's deadline).
    keel.fake.hang_posts_to("CSTUCK", false);
    keel.clock.advance(chrono::Duration::minutes(2));
    let restarted = Deliverer::new(
        keel.app.clone(),
        vec![Arc::new(SlackNotifier::new(keel.slack.clone()))],
    );
    let delivered = restarted.deliver_due().await.unwrap();
    assert_eq!(delivered, for_t1);
    let markers = keel.fake.delivery_markers("CSTUCK");
    assert_eq!(markers.len(), for_t1, "{markers:?}");
    assert_each_once(&markers);
    assert_each_once(&keel.fake.delivery_markers("COK"));
    assert_eq!(keel.fake.calls("conversations.history").len(), 1);
    assert_eq!(
        keel.count("SELECT count(*) FROM announcement_deliveries WHERE status <> 'delivered' OR posted_message IS NULL")
            .await,
        0
    );
}

/// R3: Slack received the post and the connection dropped before its answer.
/// Restarted, Keel finds the post by its metadata in the channel's history and
/// does not post it again.
#[tokio::test]
async fn a_post_whose_answer_was_lost_is_found_and_not_posted_again() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    keel.command("T1", "UADMIN", "setup announcements <#C42|celebrations>")
        .await;
    keel.command("T1", "U1", "contribute Planted an oak").await;
    let queued = keel
        .count("SELECT count(*) FROM announcement_deliveries")
        .await as usize;
    keel.fake.drop_next("chat.postMessage");
    let first = Deliverer::new(
        keel.app.clone(),
        vec![Arc::new(SlackNotifier::new(keel.slack.clone()))],
    );
    assert_eq!(first.deliver_due().await.unwrap(), 0);
    assert_eq!(keel.fake.messages_in("C42").len(), 1, "Slack has it");
    assert_eq!(
        keel.count("SELECT count(*) FROM announcement_deliveries WHERE status = 'pending' AND uncertain_attempts = 1")
            .await,
        1
    );

    keel.clock.advance(chrono::Duration::minutes(1));
    let restarted = Deliverer::new(
        keel.app.clone(),
        vec![Arc::new(SlackNotifier::new(keel.slack.clone()))],
    );
    assert_eq!(restarted.deliver_due().await.unwrap(), queued);
    let markers = keel.fake.delivery_markers("C42");
    assert_eq!(markers.len(), queued, "{markers:?}");
    assert_each_once(&markers);
    let lookup = &keel.fake.calls("conversations.history")[0];
    assert!(
        lookup.query.contains("include_all_metadata=true"),
        "{}",
        lookup.query
    );
    assert!(lookup.query.contains("limit=15"), "{}", lookup.query);
}

/// R1: a post with no answer runs out of its deadline and is retried later, its
/// attempt kept on record as uncertain.
#[tokio::test]
async fn a_post_without_an_answer_runs_out_of_its_deadline() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    keel.command("T1", "UADMIN", "setup announcements <#C42|celebrations>")
        .await;
    keel.fake.hang_posts_to("C42", true);
    keel.command("T1", "U1", "contribute Planted an oak").await;
    let options = DeliveryOptions {
        call_timeout: std::time::Duration::from_millis(300),
        concurrency: 1,
        ..DeliveryOptions::default()
    };
    let deliverer = Deliverer::with_options(
        keel.app.clone(),
        vec![Arc::new(SlackNotifier::new(keel.slack.clone()))],
        options,
    );
    let started = std::time::Instant::now();
    assert_eq!(deliverer.deliver_due().await.unwrap(), 0);
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    let error: String = db::scalar(
        &keel.app,
        "SELECT last_error FROM announcement_deliveries WHERE uncertain_attempts = 1",
        &[],
    )
    .await;
    assert!(error.contains("no answer within"), "{error}");
    assert_eq!(
        keel.count("SELECT count(*) FROM announcement_deliveries WHERE status = 'pending' AND next_attempt_at > (SELECT min(created_at) FROM announcements)")
            .await,
        keel.count("SELECT count(*) FROM announcement_deliveries").await,
        "the workspace's deliveries wait for the retry"
    );
}

/// R9: a community without an announcement channel for 60 days. Its schedules
/// queue nothing meanwhile, nothing is attempted, and setting a channel posts only
/// what is still fresh, saying so.
#[tokio::test]
async fn a_channel_set_after_60_days_gets_only_fresh_announcements() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    keel.command("T1", "UADMIN", "mission set Grow a forest")
        .await;
    keel.command("T1", "U1", "contribute Planted an oak").await;
    let stale = keel
        .count("SELECT count(*) FROM announcement_deliveries")
        .await;
    assert!(stale >= 2, "{stale}");
    let deliverer = Deliverer::new(
        keel.app.clone(),
        vec![Arc::new(SlackNotifier::new(keel.slack.clone()))],
    );
    for _ in 0..60 {
        keel.clock.advance(chrono::Duration::days(1));
        keel::app::run_due_schedules(&keel.app).await.unwrap();
        deliverer.deliver_due().await.unwrap();
    }
    assert_eq!(
        keel.count("SELECT count(*) FROM announcements WHERE kind <> 'milestone'")
            .await,
        0,
        "no digest or reminder piles up"
    );
    assert!(keel.fake.calls("chat.postMessage").is_empty());
    assert_eq!(
        keel.count("SELECT coalesce(sum(attempts), 0) FROM announcement_deliveries")
            .await,
        0,
        "nothing was tried without a channel"
    );

    keel.command("T1", "U2", "contribute Cleared a path").await;
    let set = keel
        .command("T1", "UADMIN", "setup announcements <#C42|celebrations>")
        .await;
    let said = text_of(&set);
    assert!(said.contains("1 announcement waiting"), "{said}");
    assert!(said.contains("older ones have expired"), "{said}");
    assert!(said.contains("No digest or reminder"), "{said}");
    assert_eq!(deliverer.deliver_due().await.unwrap(), 1);
    let posted = keel.fake.messages_in("C42");
    assert_eq!(posted.len(), 1);
    assert!(
        posted[0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("u2"),
        "{}",
        posted[0]
    );
    assert_eq!(
        keel.count("SELECT count(*) FROM announcement_deliveries WHERE status = 'expired'")
            .await,
        stale
    );
}

/// R9: the same signed slash command sent again (the same trigger id, within the
/// signature window) is recorded once.
#[tokio::test]
async fn a_replayed_slash_command_is_recorded_once() {
    let keel = start(Mode::Single).await;
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("team_id", "T1")
        .append_pair("team_domain", "t1")
        .append_pair("channel_id", "C1")
        .append_pair("user_id", "U1")
        .append_pair("user_name", "una")
        .append_pair("command", "/keel")
        .append_pair("text", "contribute Planted an oak")
        .append_pair("trigger_id", "4242.2.3")
        .finish();
    let mut answers = Vec::new();
    for _ in 0..2 {
        let r = keel
            .signed(
                "/slack/commands",
                &body,
                "application/x-www-form-urlencoded",
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        answers.push(text_of(&r.json()));
    }
    assert!(answers[0].contains("Planted an oak"), "{answers:?}");
    assert!(answers[1].contains("already received"), "{answers:?}");
    assert_eq!(keel.count("SELECT count(*) FROM contributions").await, 1);
}

/// What Socket Mode acknowledged is in the inbox; if Keel stopped before handling
/// it, the inbox handles it after the restart, and a slash command's answer goes
/// to its response_url.
#[tokio::test]
async fn an_acknowledged_envelope_left_unhandled_is_handled_after_a_restart() {
    let keel = start(Mode::Single).await;
    let payload = serde_json::json!({
        "team_id": "T1", "team_domain": "t1", "user_id": "U1", "user_name": "una",
        "command": "/keel", "text": "contribute Logged before the crash", "channel_id": "C1",
        "trigger_id": "77.2.3", "response_url": keel.fake.response_url(),
    });
    // Received and claimed by a process that then died: its claim ran out.
    let received_at = keel.app.now() - chrono::Duration::minutes(5);
    keel.app
        .store()
        .receive_from_slack(
            "trigger:77.2.3",
            keel::slack::inbox::SLASH_COMMAND,
            "T1",
            &payload.to_string(),
            received_at,
            keel::slack::inbox::CLAIM,
        )
        .await
        .unwrap();
    assert_eq!(
        keel::slack::inbox::drain_once(&keel.slack).await.unwrap(),
        1
    );
    assert_eq!(
        keel.count(
            "SELECT count(*) FROM contributions WHERE description = 'Logged before the crash'"
        )
        .await,
        1
    );
    let answer = &keel.fake.calls("response_url")[0];
    assert!(
        answer.body.contains("Logged before the crash"),
        "{}",
        answer.body
    );
    assert_eq!(
        keel::slack::inbox::drain_once(&keel.slack).await.unwrap(),
        0,
        "handled once"
    );
}

/// R8: an erasure redacts by the member's id, whatever they are called by then:
/// the milestones and the digest that named them, in the database and in the
/// channel, where Slack's copies are edited with chat.update (even once the
/// milestones are too old to post).
#[tokio::test]
async fn erasing_a_renamed_member_edits_every_post_that_named_them() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    keel.command("T1", "UADMIN", "setup announcements <#C42|celebrations>")
        .await;
    let as_zebulon = keel
        .command_named(
            "T1",
            "U7",
            "zebulon",
            "contribute Grafted the Quux-7741 quince",
        )
        .await;
    assert_eq!(as_zebulon.status, 200, "{}", as_zebulon.body);
    keel.command("T1", "U2", "contribute Watered the hedge")
        .await;
    let deliverer = Deliverer::new(
        keel.app.clone(),
        vec![Arc::new(SlackNotifier::new(keel.slack.clone()))],
    );
    deliverer.deliver_due().await.unwrap();
    // The weekly digest lists the milestones, hers among them.
    let next: String = db::scalar(
        &keel.app,
        "SELECT next_run_at FROM schedules WHERE kind = 'digest'",
        &[],
    )
    .await;
    keel.clock
        .set(keel::store::parse_ts(&next).unwrap() + chrono::Duration::minutes(1));
    assert!(keel::app::run_due_schedules(&keel.app).await.unwrap() >= 1);
    deliverer.deliver_due().await.unwrap();
    let named = |fake: &FakeSlack| {
        fake.messages_in("C42")
            .iter()
            .map(|m| m.to_string())
            .filter(|m| {
                ["zebulon", "quentin", "Quux-7741"]
                    .iter()
                    .any(|n| m.contains(n))
            })
            .count()
    };
    assert_eq!(named(&keel.fake), 3, "her two milestones and the digest");

    // Renamed in Slack, then erased.
    keel.command_named("T1", "U7", "quentin", "stats me").await;
    let forgotten = keel
        .command_named("T1", "U7", "quentin", "forget-me confirm")
        .await;
    assert!(
        forgotten.body.contains("Erased 1 contributions"),
        "{}",
        forgotten.body
    );
    keel.clock.advance(chrono::Duration::days(8));
    assert_eq!(deliverer.deliver_due().await.unwrap(), 3);

    assert_eq!(keel.fake.calls("chat.update").len(), 3);
    assert_eq!(named(&keel.fake), 0, "{:#?}", keel.fake.messages_in("C42"));
    let texts: Vec<String> = keel
        .fake
        .messages_in("C42")
        .iter()
        .map(|m| m.to_string())
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("The community logged its first contribution!")),
        "the community's milestone stays: {texts:#?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("Digest") && t.contains("u2 logged their first contribution!")),
        "the digest stays, without her: {texts:#?}"
    );
    let bodies: Vec<String> = db::scalars(&keel.app, "SELECT body FROM announcements", &[]).await;
    for body in &bodies {
        for name in ["zebulon", "quentin", "Quux-7741"] {
            assert!(!body.contains(name), "{name} in {body}");
        }
    }
    assert_eq!(
        keel.count("SELECT count(*) FROM announcement_deliveries WHERE status <> 'delivered' AND status <> 'expired'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_contribution_is_removed_by_an_admin_and_its_member_is_told_privately() {
    let keel = start(Mode::Single).await;
    keel.command("T1", "U1", "contribute Planted a fake forest")
        .await;
    let id = keel.count("SELECT id FROM contributions").await;
    let listed = keel.command("T1", "U1", "contributions").await;
    assert!(text_of(&listed).contains(&format!("#{id} · ")), "{listed}");

    // Another member may not; an admin may, and the member hears why.
    let refused = keel
        .command(
            "T1",
            "U2",
            &format!(r#"contribution remove #{id} reason="mine""#),
        )
        .await;
    assert!(text_of(&refused).contains("is not yours"), "{refused}");
    keel.fake.make_admin("UADMIN");
    let removed = keel
        .command(
            "T1",
            "UADMIN",
            &format!(r#"contributions remove {id} reason="Not a real planting""#),
        )
        .await;
    assert_eq!(removed["response_type"], "ephemeral", "{removed}");
    assert!(
        text_of(&removed).contains(&format!("Contribution #{id} removed")),
        "{removed}"
    );
    assert_eq!(keel.count("SELECT count(*) FROM contributions").await, 0);
    assert_eq!(
        keel.count(
            "SELECT count(*) FROM announcement_deliveries d JOIN announcements a ON a.id = d.announcement_id
             WHERE d.recipient = 'U1' AND a.body LIKE '%Not a real planting%'"
        )
        .await,
        1
    );
    let audit = keel.command("T1", "UADMIN", "audit").await;
    assert!(
        text_of(&audit).contains(&format!("removed contribution #{id}")),
        "{audit}"
    );
    let refused = keel.command("T1", "U1", "audit").await;
    assert!(text_of(&refused).contains("is for organisers"), "{refused}");
}

#[tokio::test]
async fn a_goal_max_set_on_slack_refuses_a_bigger_contribution() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    let created = keel
        .command(
            "T1",
            "UADMIN",
            "goal create Plant trees target=100 unit=trees slug=trees max=10 review_above=5",
        )
        .await;
    assert!(
        text_of(&created).contains("Max per contribution")
            && text_of(&created).contains("10 trees"),
        "{created}"
    );
    let refused = keel
        .command(
            "T1",
            "U1",
            "contribute Planted a forest amount=40 goal=trees",
        )
        .await;
    assert_eq!(refused["response_type"], "ephemeral", "{refused}");
    assert!(
        text_of(&refused).contains("at most 10 trees to the goal `trees`; this one adds 40."),
        "{refused}"
    );
    assert_eq!(keel.count("SELECT count(*) FROM contributions").await, 0);
}

#[tokio::test]
async fn goal_edit_and_reopen_work_on_slack() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    keel.command(
        "T1",
        "UADMIN",
        "goal create Plant trees target=100 slug=trees",
    )
    .await;
    let edited = keel
        .command(
            "T1",
            "UADMIN",
            "goal edit trees target=200 max=20 review_above=10",
        )
        .await;
    assert!(text_of(&edited).contains("target: 100 → 200"), "{edited}");
    keel.command("T1", "UADMIN", "goal close trees").await;
    let reopened = keel.command("T1", "UADMIN", "goal reopen trees").await;
    assert!(text_of(&reopened).contains("Goal reopened"), "{reopened}");
    assert_eq!(
        keel.count("SELECT count(*) FROM goals WHERE status = 'open' AND target = 200 AND max_amount = 20 AND review_above = 10")
            .await,
        1
    );
}

/// The message shortcut "Log as contribution", as Slack posts it.
fn message_action(user: &str, author: &str, text: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "message_action",
        "callback_id": "keel_log_message",
        "trigger_id": next_trigger(),
        "team": {"id": "T1", "domain": "t1"},
        "user": {"id": user, "username": user.to_lowercase(), "team_id": "T1"},
        "channel": {"id": "C1", "name": "general"},
        "message": {"type": "message", "user": author, "ts": "1700000000.000100", "text": text},
        "response_url": "https://hooks.slack.com/app/T1/1/x"
    })
}

/// Submits the form the last views.open opened, with `values`, as `user`.
async fn submit_opened_form(keel: &Keel, user: &str, values: serde_json::Value) -> http::Response {
    let views = keel.fake.calls("views.open");
    let view = &views.last().expect("a form was opened").json()["view"];
    keel.submit(serde_json::json!({
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": user, "username": user.to_lowercase(), "team_id": "T1"},
        "view": {"callback_id": view["callback_id"], "private_metadata": view["private_metadata"],
                 "state": {"values": values}}
    }))
    .await
}

#[tokio::test]
async fn a_message_is_logged_as_its_authors_contribution_through_the_shortcut() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    keel.fake.set_name("UBO", "Bo");
    keel.command(
        "T1",
        "UADMIN",
        "goal create Plant trees target=100 unit=trees slug=trees",
    )
    .await;

    // A member opens the form from their own message: prefilled with its text.
    let opened = keel
        .submit(message_action(
            "U1",
            "U1",
            "We planted 40 oaks &amp; 2 birches",
        ))
        .await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    let views = keel.fake.calls("views.open");
    assert_eq!(views.len(), 1);
    let view = &views[0].json()["view"];
    assert_eq!(view["callback_id"], "keel_contribute_for");
    let description = view["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["block_id"] == "description")
        .unwrap();
    assert_eq!(
        description["element"]["initial_value"],
        "We planted 40 oaks & 2 birches"
    );
    assert!(views[0].body.contains("Plant trees"), "goal options");
    let own = submit_opened_form(
        &keel,
        "U1",
        serde_json::json!({
            "description": {"value": {"type": "plain_text_input", "value": "We planted 40 oaks & 2 birches"}},
            "amount": {"value": {"type": "plain_text_input", "value": "40"}},
            "goal": {"value": {"type": "static_select", "selected_option": {"value": "trees"}}}
        }),
    )
    .await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert!(own.body.is_empty(), "the form closes: {}", own.body);
    let of = |user: &str| {
        format!(
            "SELECT count(*) FROM contributions c JOIN identities i ON i.member_id = c.member_id
             WHERE i.external_user_id = '{user}'"
        )
    };
    assert_eq!(db::scalar::<i64>(&keel.app, &of("U1"), &[]).await, 1);
    assert_eq!(
        keel.count("SELECT count(*) FROM contributions WHERE goal_id IS NOT NULL AND amount = 40")
            .await,
        1
    );

    // A member may not log someone else's message: the form says why.
    keel.submit(message_action("U1", "UBO", "Fixed the onboarding doc"))
        .await;
    let refused = submit_opened_form(
        &keel,
        "U1",
        serde_json::json!({
            "description": {"value": {"type": "plain_text_input", "value": "Fixed the onboarding doc"}}
        }),
    )
    .await;
    assert_eq!(
        refused.json()["response_action"],
        "errors",
        "{}",
        refused.body
    );
    assert!(
        refused.json()["errors"]["description"]
            .as_str()
            .unwrap()
            .contains("Only organisers can log"),
        "{}",
        refused.body
    );
    assert_eq!(keel.count("SELECT count(*) FROM contributions").await, 1);

    // An organiser may: the contribution is the author's, who is told privately.
    keel.submit(message_action("UADMIN", "UBO", "Fixed the onboarding doc"))
        .await;
    assert_eq!(keel.fake.calls("views.open").len(), 3);
    let logged = submit_opened_form(
        &keel,
        "UADMIN",
        serde_json::json!({
            "description": {"value": {"type": "plain_text_input", "value": "Fixed the onboarding doc"}},
            "amount": {"value": {"type": "plain_text_input", "value": "2"}},
            "unit": {"value": {"type": "plain_text_input", "value": "hours"}}
        }),
    )
    .await;
    assert_eq!(logged.status, 200, "{}", logged.body);
    assert!(logged.body.is_empty(), "the form closes: {}", logged.body);
    assert_eq!(db::scalar::<i64>(&keel.app, &of("UBO"), &[]).await, 1);
    assert_eq!(db::scalar::<i64>(&keel.app, &of("UADMIN"), &[]).await, 0);
    let names: Vec<String> = db::scalars(
        &keel.app,
        "SELECT m.display_name FROM members m JOIN identities i ON i.member_id = m.id
         WHERE i.external_user_id = 'UBO'",
        &[],
    )
    .await;
    assert_eq!(names, ["Bo"], "named as Slack names them");
    let id: i64 = keel.count("SELECT max(id) FROM contributions").await;
    let receipts = keel.fake.calls("chat.postEphemeral");
    let receipt = receipts.last().unwrap();
    assert_eq!(receipt.json()["user"], "UADMIN");
    assert!(
        receipt
            .body
            .contains(&format!("Contribution #{id} logged for Bo")),
        "{}",
        receipt.body
    );

    let deliverer = Deliverer::new(
        keel.app.clone(),
        vec![Arc::new(SlackNotifier::new(keel.slack.clone()))],
    );
    deliverer.deliver_due().await.unwrap();
    let told: Vec<_> = keel
        .fake
        .calls("chat.postMessage")
        .into_iter()
        .filter(|c| c.json()["channel"] == "UBO")
        .collect();
    assert_eq!(told.len(), 1, "the author is told once, privately");
    assert!(
        told[0]
            .body
            .contains(&format!("logged your message as contribution #{id}")),
        "{}",
        told[0].body
    );
    assert!(told[0].body.contains("Fixed the onboarding doc"));
}

#[tokio::test]
async fn a_contribution_waits_for_review_and_an_organiser_approves_it_on_slack() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    keel.command(
        "T1",
        "UADMIN",
        "goal create Plant trees target=100 unit=trees slug=trees review_above=5",
    )
    .await;
    let waits = keel
        .command(
            "T1",
            "U1",
            "contribute Planted a grove amount=40 goal=trees",
        )
        .await;
    assert_eq!(waits["response_type"], "ephemeral", "{waits}");
    assert!(text_of(&waits).contains("waits for review"), "{waits}");
    assert_eq!(keel.count("SELECT count(*) FROM contributions").await, 0);
    let id = keel.count("SELECT id FROM pending_contributions").await;

    let refused = keel.command("T1", "U1", "review").await;
    assert!(text_of(&refused).contains("organiser"), "{refused}");
    let listed = keel.command("T1", "UADMIN", "review").await;
    assert!(text_of(&listed).contains(&format!("#{id}")), "{listed}");
    let approved = keel
        .command("T1", "UADMIN", &format!("review approve #{id}"))
        .await;
    assert!(
        text_of(&approved).contains(&format!("Contribution #{id} approved")),
        "{approved}"
    );
    assert_eq!(
        keel.count("SELECT CAST(progress AS BIGINT) FROM goals")
            .await,
        40
    );
    // Its member is told privately, through the outbox.
    assert_eq!(
        keel.count("SELECT count(*) FROM announcement_deliveries WHERE recipient = 'U1'")
            .await,
        1
    );
}

/// A button under a message in `channel`, pressed by `user`, as Slack posts it.
fn block_action(user: &str, channel: &str, message_ts: &str, value: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "block_actions",
        "trigger_id": next_trigger(),
        "team": {"id": "T1", "domain": "t1"},
        "user": {"id": user, "username": user.to_lowercase(), "team_id": "T1"},
        "channel": {"id": channel, "name": "review"},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "message": {"type": "message", "ts": message_ts, "text": "review"},
        "actions": [{"type": "button", "block_id": "keel_actions", "action_id": value,
                     "value": value, "action_ts": "1700000000.000200"}],
        "response_url": "https://hooks.slack.com/actions/T1/1/x"
    })
}

/// The buttons of the message posted last to `channel`: (text, value).
fn buttons_of(message: &serde_json::Value) -> Vec<(String, String)> {
    message["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .map(|e| {
            (
                e["text"]["text"].as_str().unwrap_or_default().to_string(),
                e["value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn review_requests_are_posted_to_the_review_channel_and_decided_with_their_buttons() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    keel.command("T1", "UADMIN", "setup review-channel <#C77|review>")
        .await;
    keel.command(
        "T1",
        "UADMIN",
        "goal create Plant trees target=100 unit=trees slug=trees review_above=5",
    )
    .await;
    for text in [
        "contribute Planted a grove amount=40 goal=trees",
        "contribute Planted an orchard amount=30 goal=trees",
    ] {
        keel.command("T1", "U1", text).await;
    }
    let ids: Vec<i64> = db::scalars(
        &keel.app,
        "SELECT id FROM pending_contributions ORDER BY id",
        &[],
    )
    .await;
    assert_eq!(ids.len(), 2);

    let deliverer = Deliverer::new(
        keel.app.clone(),
        vec![Arc::new(SlackNotifier::new(keel.slack.clone()))],
    );
    deliverer.deliver_due().await.unwrap();
    let requests = keel.fake.messages_in("C77");
    assert_eq!(requests.len(), 2, "{requests:?}");
    let grove = &requests[0];
    assert!(
        text_of(grove).contains(&format!("Contribution #{} waits for review", ids[0])),
        "{grove}"
    );
    assert!(text_of(grove).contains("Planted a grove"), "{grove}");
    let buttons = buttons_of(grove);
    assert_eq!(
        buttons,
        vec![
            ("Approve".to_string(), format!("review-approve:{}", ids[0])),
            ("Reject…".to_string(), format!("review-reject:{}", ids[0])),
        ]
    );
    let grove_ts = grove["ts"].as_str().unwrap().to_string();

    // A member pressing Approve is refused, privately; nothing changes.
    let pressed = keel
        .submit(block_action("U2", "C77", &grove_ts, &buttons[0].1))
        .await;
    assert_eq!(pressed.status, 200, "{}", pressed.body);
    let told = keel.fake.calls("chat.postEphemeral");
    let refusal = told.last().expect("the member is told").json();
    assert_eq!(refusal["user"], "U2");
    assert!(text_of(&refusal).contains("organiser"), "{refusal}");
    assert_eq!(keel.count("SELECT count(*) FROM contributions").await, 0);

    // An organiser pressing it approves it: it counts, its member is told,
    // the organiser sees the outcome, and the request loses its buttons.
    keel.submit(block_action("UADMIN", "C77", &grove_ts, &buttons[0].1))
        .await;
    let outcome = keel.fake.calls("chat.postEphemeral").last().unwrap().json();
    assert_eq!(outcome["user"], "UADMIN");
    assert!(
        text_of(&outcome).contains(&format!("Contribution #{} approved", ids[0])),
        "{outcome}"
    );
    assert_eq!(
        keel.count("SELECT CAST(progress AS BIGINT) FROM goals")
            .await,
        40
    );
    deliverer.deliver_due().await.unwrap();
    let updated = keel.fake.messages_in("C77");
    assert_eq!(updated.len(), 2, "edited in place, not posted again");
    assert!(buttons_of(&updated[0]).is_empty(), "{}", updated[0]);
    assert!(
        text_of(&updated[0]).contains("Approved by"),
        "{}",
        updated[0]
    );
    assert!(!buttons_of(&updated[1]).is_empty(), "the other still waits");
    // Pressed again (a second organiser, a stale message): nothing to approve.
    keel.submit(block_action("UADMIN", "C77", &grove_ts, &buttons[0].1))
        .await;
    let again = keel.fake.calls("chat.postEphemeral").last().unwrap().json();
    assert!(text_of(&again).contains("waiting for review"), "{again}");

    // Reject asks why in a form; its submission rejects it with that reason.
    let orchard_ts = updated[1]["ts"].as_str().unwrap().to_string();
    let reject = buttons_of(&updated[1])[1].1.clone();
    keel.submit(block_action("UADMIN", "C77", &orchard_ts, &reject))
        .await;
    let form = keel.fake.calls("views.open").last().unwrap().json();
    assert_eq!(form["view"]["callback_id"], "keel_review_reject", "{form}");
    let empty = submit_opened_form(
        &keel,
        "UADMIN",
        serde_json::json!({"reason": {"value": {"type": "plain_text_input", "value": " "}}}),
    )
    .await;
    assert!(empty.body.contains("\"reason\""), "{}", empty.body);
    let submitted = submit_opened_form(
        &keel,
        "UADMIN",
        serde_json::json!({"reason": {"value": {"type": "plain_text_input", "value": "An orchard is not trees for this goal"}}}),
    )
    .await;
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    assert!(!submitted.body.contains("errors"), "{}", submitted.body);
    assert_eq!(
        keel.count("SELECT count(*) FROM pending_contributions WHERE status = 'rejected' AND reason = 'An orchard is not trees for this goal'")
            .await,
        1
    );
    deliverer.deliver_due().await.unwrap();
    let decided = keel.fake.messages_in("C77");
    assert!(buttons_of(&decided[1]).is_empty(), "{}", decided[1]);
    assert!(
        text_of(&decided[1]).contains("Rejected by"),
        "{}",
        decided[1]
    );
    // Its member was told of each decision privately.
    assert_eq!(
        keel.count("SELECT count(*) FROM announcement_deliveries WHERE recipient = 'U1' AND status = 'delivered'")
            .await,
        2
    );
}

/// A start time a week from the test's clock, as `event create` takes it (the
/// community's zone is UTC).
fn a_week_ahead(clock: &ManualClock) -> String {
    use keel::domain::clock::Clock;
    (clock.now() + chrono::Duration::days(7))
        .format("%Y-%m-%dT10:00")
        .to_string()
}

#[tokio::test]
async fn an_events_card_is_answered_with_its_buttons_and_shows_the_new_counts() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    keel.command("T1", "UADMIN", "setup announcements <#C42|celebrations>")
        .await;
    let at = a_week_ahead(&keel.clock);
    keel.command(
        "T1",
        "UADMIN",
        &format!("event create Planting day at={at} capacity=10"),
    )
    .await;
    let id = keel.count("SELECT max(id) FROM events").await;

    let deliverer = Deliverer::new(
        keel.app.clone(),
        vec![Arc::new(SlackNotifier::new(keel.slack.clone()))],
    );
    deliverer.deliver_due().await.unwrap();
    let cards = keel.fake.messages_in("C42");
    assert_eq!(cards.len(), 1, "{cards:?}");
    let card = &cards[0];
    assert!(
        text_of(card).contains(&format!("Event #{id} Planting day")),
        "{card}"
    );
    assert!(text_of(card).contains("0 of 10 going"), "{card}");
    let buttons = buttons_of(card);
    assert_eq!(
        buttons,
        vec![
            ("Going".to_string(), format!("event-rsvp:{id}:yes")),
            ("Maybe".to_string(), format!("event-rsvp:{id}:maybe")),
            ("Can't go".to_string(), format!("event-rsvp:{id}:no")),
        ]
    );
    let ts = card["ts"].as_str().unwrap().to_string();

    // A member presses Going: they are answered privately, their calendar file
    // goes to their direct messages with Keel, and the card is edited.
    let pressed = keel
        .submit(block_action("U1", "C42", &ts, &buttons[0].1))
        .await;
    assert_eq!(pressed.status, 200, "{}", pressed.body);
    let answer = keel.fake.calls("chat.postEphemeral").last().unwrap().json();
    assert_eq!(answer["user"], "U1");
    assert_eq!(answer["channel"], "C42");
    assert!(
        text_of(&answer).contains(&format!("You are going to #{id} Planting day")),
        "{answer}"
    );
    assert!(
        text_of(&answer).contains(&format!("event-{id}.ics` in your direct messages")),
        "{answer}"
    );
    let shared = keel.fake.calls("files.completeUploadExternal");
    assert_eq!(shared.last().unwrap().json()["channel_id"], "D-U1");
    let uploaded = keel.fake.calls("upload");
    let ics = String::from_utf8_lossy(&uploaded.last().unwrap().bytes).to_string();
    assert!(ics.contains(&format!("UID:event-{id}@keel\r\n")), "{ics}");
    assert_eq!(
        keel.count("SELECT count(*) FROM event_rsvps WHERE answer = 'yes'")
            .await,
        1
    );

    deliverer.deliver_due().await.unwrap();
    assert!(!keel.fake.calls("chat.update").is_empty());
    let cards = keel.fake.messages_in("C42");
    assert_eq!(cards.len(), 1, "edited in place, not posted again");
    assert!(text_of(&cards[0]).contains("1 of 10 going"), "{}", cards[0]);
    assert!(!text_of(&cards[0]).contains("U1"), "no names: {}", cards[0]);
    assert_eq!(buttons_of(&cards[0]), buttons, "still open to answers");

    // Another presses Maybe: the count follows, and no one's name shows.
    keel.submit(block_action("U2", "C42", &ts, &buttons[1].1))
        .await;
    let answer = keel.fake.calls("chat.postEphemeral").last().unwrap().json();
    assert_eq!(answer["user"], "U2");
    assert!(text_of(&answer).contains("Maybe for"), "{answer}");
    deliverer.deliver_due().await.unwrap();
    let cards = keel.fake.messages_in("C42");
    assert!(
        text_of(&cards[0]).contains("1 of 10 going · 1 maybe"),
        "{}",
        cards[0]
    );
}

#[tokio::test]
async fn a_pairing_group_is_introduced_in_a_group_dm_and_answers_did_you_meet_there() {
    let keel = start(Mode::Single).await;
    keel.fake.make_admin("UADMIN");
    for member in ["U1", "U2"] {
        keel.command("T1", member, "pair join").await;
    }
    let round = keel.command("T1", "UADMIN", "pair now").await;
    assert!(text_of(&round).contains("1 group"), "{round}");

    let deliverer = Deliverer::new(
        keel.app.clone(),
        vec![Arc::new(SlackNotifier::new(keel.slack.clone()))],
    );
    deliverer.deliver_due().await.unwrap();
    let opened = keel.fake.calls("conversations.open");
    assert_eq!(opened.len(), 1, "{opened:?}");
    let users = opened[0].json()["users"].clone();
    let mut users: Vec<&str> = users
        .as_str()
        .expect("the group's users, comma-separated as Slack documents them")
        .split(',')
        .collect();
    users.sort();
    assert_eq!(users, ["U1", "U2"]);
    let introduced = keel.fake.messages_in("G-U1-U2");
    assert_eq!(introduced.len(), 1, "{introduced:?}");
    assert_eq!(keel.fake.calls("chat.postMessage").len(), 1, "nowhere else");
    assert_eq!(
        keel.count("SELECT count(*) FROM announcement_deliveries WHERE status = 'delivered' AND posted_channel = 'G-U1-U2'")
            .await,
        1
    );

    // Four days on, "Did you meet?" goes to the same conversation, which is
    // not opened again, and a yes pressed there counts.
    keel.clock.advance(chrono::Duration::days(4));
    assert_eq!(keel::app::run_due_pairing(&keel.app).await.unwrap(), 1);
    deliverer.deliver_due().await.unwrap();
    assert_eq!(keel.fake.calls("conversations.open").len(), 1);
    let asked = keel.fake.messages_in("G-U1-U2");
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(text_of(&asked[1]).contains("Did you meet?"), "{}", asked[1]);
    let buttons = buttons_of(&asked[1]);
    let yes = buttons
        .iter()
        .find(|(_, value)| value.ends_with(":yes"))
        .unwrap_or_else(|| panic!("a yes button: {buttons:?}"))
        .1
        .clone();
    assert!(yes.starts_with("pair-met:"), "{yes}");
    let ts = asked[1]["ts"].as_str().unwrap().to_string();
    let pressed = keel.submit(block_action("U1", "G-U1-U2", &ts, &yes)).await;
    assert_eq!(pressed.status, 200, "{}", pressed.body);
    let answer = keel.fake.calls("chat.postEphemeral").last().unwrap().json();
    assert_eq!(answer["user"], "U1");
    assert!(text_of(&answer).contains("Glad you met"), "{answer}");
    assert_eq!(
        keel.count(
            "SELECT CAST(COALESCE(sum(introductions), 0) AS BIGINT) FROM member_daily_activity"
        )
        .await,
        1
    );
}
