//! A fake Discord on 127.0.0.1: the REST API serenity and poise call (recording
//! every request, answering 429 or 5xx when told) and a gateway websocket that
//! speaks the real conversation (HELLO, IDENTIFY/RESUME, READY, dispatches with
//! rising sequence numbers, heartbeats), so tests drive the real serenity code.
//! It can drop the connection, or close it with a code such as 4004.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

pub const APPLICATION_ID: u64 = 900_000_000_000_000_001;
pub const BOT_USER_ID: u64 = APPLICATION_ID;
/// A token whose first part is the application id in base64, as Discord's are.
pub const TOKEN: &str = "OTAwMDAwMDAwMDAwMDAwMDAx.Gfake.test-token-not-real";

/// Manage Server, as a member's permission bits.
pub const MANAGE_GUILD: u64 = 1 << 5;
/// Send Messages and Use Application Commands: what a plain member has.
pub const MEMBER_PERMISSIONS: u64 = (1 << 11) | (1 << 31);

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: Value,
    pub raw: String,
    /// The body as sent (an attached file's bytes).
    pub bytes: Vec<u8>,
    pub authorization: String,
    pub at: Instant,
    /// The status the fake answered with.
    pub status: u16,
}

#[derive(Default)]
struct Script {
    requests: Vec<Request>,
    /// Answers to give before the normal one, per path suffix: (status, retry_after s).
    failures: HashMap<String, VecDeque<(u16, Option<f64>)>>,
    guilds: Vec<(u64, String)>,
    /// Close the next connection with this code after IDENTIFY.
    reject_identify: Option<u16>,
    identifies: Vec<Value>,
    resumes: usize,
    /// The live gateway connection of each shard, by shard id.
    connections: HashMap<u64, Connection>,
    /// How many shards the bot said it runs (IDENTIFY's `shard`): a server's
    /// events go to shard (id >> 22) % shards, as Discord sends them.
    shards: u64,
    /// Each shard's session sequence number: it continues across a resume.
    seqs: HashMap<u64, u64>,
    /// When each interaction was dispatched, by id.
    dispatched: HashMap<u64, Instant>,
    /// Messages posted to channels, oldest first, as Discord returns them; an
    /// edit (PATCH) changes them in place.
    channel_messages: Vec<Value>,
    /// The next post to a channel is kept, then its connection drops before the
    /// answer's body arrives.
    drop_next_post: bool,
    /// The last message id handed out: ids grow with time, as snowflakes do.
    last_message_id: u64,
    /// Guilds' scheduled events, as made (POST) and edited (PATCH) since.
    scheduled_events: Vec<Value>,
}

struct Connection {
    events: mpsc::UnboundedSender<Value>,
    kill: mpsc::UnboundedSender<()>,
}

#[derive(Clone)]
pub struct FakeDiscord {
    pub addr: SocketAddr,
    pub gateway: SocketAddr,
    script: Arc<Mutex<Script>>,
    changed: Arc<Notify>,
    next_id: Arc<AtomicU64>,
}

impl FakeDiscord {
    pub async fn start() -> FakeDiscord {
        let api = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gateway = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = FakeDiscord {
            addr: api.local_addr().unwrap(),
            gateway: gateway.local_addr().unwrap(),
            script: Arc::new(Mutex::new(Script::default())),
            changed: Arc::new(Notify::new()),
            next_id: Arc::new(AtomicU64::new(1_000_000_000_000_000_000)),
        };
        let router = Router::new().fallback(rest).with_state(fake.clone());
        // Like Discord's edge, the fake sends small frames at once (no Nagle delay).
        let api = axum::serve::ListenerExt::tap_io(api, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move { axum::serve(api, router).await.unwrap() });
        let gw = fake.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = gateway.accept().await else {
                    return;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection(gw.clone(), stream));
            }
        });
        fake
    }

    /// What `discord.api_base` is set to.
    pub fn api_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A server the bot is in: READY lists it and GUILD_CREATE follows.
    pub fn add_guild(&self, id: u64, name: &str) {
        self.script.lock().unwrap().guilds.push((id, name.into()));
    }

    pub fn reject_identify_with(&self, code: u16) {
        self.script.lock().unwrap().reject_identify = Some(code);
    }

    /// The next answers to requests whose path ends with `suffix`.
    pub fn fail_next(&self, suffix: &str, status: u16, retry_after: Option<f64>) {
        self.script
            .lock()
            .unwrap()
            .failures
            .entry(suffix.into())
            .or_default()
            .push_back((status, retry_after));
    }

    /// Messages in `channel`, oldest first.
    pub fn messages_in(&self, channel: u64) -> Vec<Value> {
        let channel = channel.to_string();
        self.script
            .lock()
            .unwrap()
            .channel_messages
            .iter()
            .filter(|m| m["channel_id"] == channel.as_str())
            .cloned()
            .collect()
    }

    /// The scheduled events of `guild`, oldest first, as they are now.
    pub fn scheduled_events_in(&self, guild: u64) -> Vec<Value> {
        let guild = guild.to_string();
        self.script
            .lock()
            .unwrap()
            .scheduled_events
            .iter()
            .filter(|e| e["guild_id"] == guild.as_str())
            .cloned()
            .collect()
    }

    /// `user` marks scheduled event `scheduled` of `guild` "Interested"
    /// (`interested`), or takes it back, as the gateway tells.
    pub fn scheduled_event_interest(
        &self,
        guild: u64,
        scheduled: &str,
        user: u64,
        interested: bool,
    ) {
        let kind = if interested {
            "GUILD_SCHEDULED_EVENT_USER_ADD"
        } else {
            "GUILD_SCHEDULED_EVENT_USER_REMOVE"
        };
        self.dispatch(
            kind,
            json!({
                "guild_scheduled_event_id": scheduled,
                "user_id": user.to_string(),
                "guild_id": guild.to_string(),
            }),
        );
    }

    pub fn drop_next_post(&self) {
        self.script.lock().unwrap().drop_next_post = true;
    }

    pub fn requests(&self) -> Vec<Request> {
        self.script.lock().unwrap().requests.clone()
    }

    pub fn requests_to(&self, method: &str, path_contains: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.path.contains(path_contains))
            .collect()
    }

    pub fn identifies(&self) -> Vec<Value> {
        self.script.lock().unwrap().identifies.clone()
    }

    pub fn resumes(&self) -> usize {
        self.script.lock().unwrap().resumes
    }

    /// Waits until `check` holds, or panics after `timeout`.
    pub async fn wait_for<T>(
        &self,
        timeout: Duration,
        what: &str,
        mut check: impl FnMut(&FakeDiscord) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            if let Some(found) = check(self) {
                return found;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!(
                    "timed out waiting for {what}; requests: {:#?}",
                    self.requests()
                );
            }
            let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), notified).await;
        }
    }

    /// Waits until the bot registered its commands (it is ready); returns them.
    pub async fn wait_ready(&self) -> Request {
        self.wait_for(Duration::from_secs(20), "command registration", |f| {
            f.requests()
                .into_iter()
                .find(|r| r.method == "PUT" && r.path.ends_with("/commands"))
        })
        .await
    }

    /// Sends a dispatch on the live connection of the shard its server belongs
    /// to (shard 0 for one outside any server).
    pub fn dispatch(&self, kind: &str, data: Value) {
        let script = self.script.lock().unwrap();
        let guild = data["guild_id"].as_str().and_then(|id| id.parse().ok());
        let shard = guild.map_or(0, |id| shard_of(id, script.shards));
        let connection = script
            .connections
            .get(&shard)
            .unwrap_or_else(|| panic!("no gateway connection for shard {shard}"));
        connection
            .events
            .send(json!({"t": kind, "d": data}))
            .expect("connection open");
    }

    /// The shards that have a live connection now.
    pub fn connected_shards(&self) -> Vec<u64> {
        let mut shards: Vec<u64> = self
            .script
            .lock()
            .unwrap()
            .connections
            .keys()
            .copied()
            .collect();
        shards.sort_unstable();
        shards
    }

    /// Drops every gateway connection without a close frame, as a network fault would.
    pub fn drop_connection(&self) {
        for (_, c) in self.script.lock().unwrap().connections.drain() {
            let _ = c.kill.send(());
        }
    }

    /// Sends a slash command as `user` in `guild`; returns its interaction id and token.
    pub fn interact(&self, invocation: &Invocation) -> (u64, String) {
        let id = self.id();
        let token = format!("interaction-token-{id}");
        let data = invocation.to_json(id, &token);
        self.script
            .lock()
            .unwrap()
            .dispatched
            .insert(id, Instant::now());
        self.dispatch("INTERACTION_CREATE", data);
        (id, token)
    }

    /// Sends a slash command and waits for the interaction callback; returns its body.
    pub async fn command(&self, invocation: &Invocation) -> Value {
        let (id, _) = self.interact(invocation);
        self.callback(id).await
    }

    pub async fn callback(&self, id: u64) -> Value {
        let path = format!("/interactions/{id}/");
        self.wait_for(Duration::from_secs(15), "the interaction callback", |f| {
            f.requests()
                .into_iter()
                .find(|r| r.path.contains(&path) && r.path.ends_with("/callback"))
                .map(|r| r.body)
        })
        .await
    }

    /// How long from dispatch to callback for an answered interaction.
    pub fn latency(&self, id: u64) -> Option<Duration> {
        let script = self.script.lock().unwrap();
        let sent = script.dispatched.get(&id)?;
        let path = format!("/interactions/{id}/");
        script
            .requests
            .iter()
            .find(|r| r.path.contains(&path))
            .map(|r| r.at.duration_since(*sent))
    }

    /// Dispatch-to-callback times of every answered interaction, and how many
    /// interactions were dispatched.
    pub fn latencies(&self) -> (Vec<Duration>, usize) {
        let script = self.script.lock().unwrap();
        let mut answered = Vec::new();
        for r in &script.requests {
            if !r.path.ends_with("/callback") {
                continue;
            }
            let id = r
                .path
                .split('/')
                .skip_while(|s| *s != "interactions")
                .nth(1)
                .and_then(|id| id.parse::<u64>().ok());
            if let Some(sent) = id.and_then(|id| script.dispatched.get(&id)) {
                answered.push(r.at.duration_since(*sent));
            }
        }
        (answered, script.dispatched.len())
    }

    /// Follow-up messages sent with an interaction's token.
    pub fn followups(&self, token: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| {
                r.path
                    .contains(&format!("/webhooks/{APPLICATION_ID}/{token}"))
            })
            .collect()
    }

    /// Forgets recorded requests (a benchmark's memory stays flat).
    pub fn clear(&self) {
        let mut script = self.script.lock().unwrap();
        script.requests.clear();
        script.dispatched.clear();
    }
}

/// A slash command as Discord sends it.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub guild: Option<u64>,
    pub user: u64,
    pub user_name: String,
    pub permissions: u64,
    pub roles: Vec<u64>,
    pub name: String,
    /// The options as Discord nests them (subcommands included).
    pub options: Value,
    /// `resolved` data for user, channel and role options.
    pub resolved: Value,
    /// 2: a command; 4: autocomplete while the member types.
    pub kind: u8,
    /// The largest attachment Discord says a reply may carry, in bytes.
    pub attachment_size_limit: u64,
    /// 1: a slash command; 3: a message's context-menu command.
    pub command_type: u8,
    /// The message a message command was used on.
    pub target_id: Option<String>,
    /// A modal's submission (interaction type 5) or a button's press (type 3): its
    /// `data`, in place of a command's.
    pub modal: Option<Value>,
    /// The message a pressed button is on.
    pub message: Option<Value>,
}

impl Invocation {
    /// `/name` with `options`, from a member with plain permissions.
    pub fn new(guild: u64, user: u64, name: &str, options: Value) -> Invocation {
        Invocation {
            guild: Some(guild),
            user,
            user_name: format!("user{user}"),
            permissions: MEMBER_PERMISSIONS,
            roles: Vec::new(),
            name: name.into(),
            options,
            resolved: json!({}),
            kind: 2,
            attachment_size_limit: 8_388_608,
            command_type: 1,
            target_id: None,
            modal: None,
            message: None,
        }
    }

    /// The message context-menu command `name` used on `message` (see
    /// [`posted_message`]): Discord sends the message along in `resolved`, so the
    /// bot needs no Message Content intent to read it.
    pub fn on_message(guild: u64, user: u64, name: &str, message: Value) -> Invocation {
        let id = message["id"].as_str().unwrap().to_string();
        let mut invocation = Invocation::new(guild, user, name, json!([]));
        invocation.command_type = 3;
        invocation.resolved = json!({"messages": {id.clone(): message}});
        invocation.target_id = Some(id);
        invocation
    }

    /// A modal's submission by `user` in `guild`: the text inputs' (custom id,
    /// value) pairs, each in its own action row as Discord sends them.
    pub fn modal_submit(
        guild: u64,
        user: u64,
        custom_id: &str,
        inputs: &[(&str, &str)],
    ) -> Invocation {
        let mut invocation = Invocation::new(guild, user, "", json!([]));
        invocation.kind = 5;
        let rows: Vec<Value> = inputs
            .iter()
            .map(|(id, value)| {
                json!({"type": 1, "components": [{"type": 4, "custom_id": id, "value": value}]})
            })
            .collect();
        invocation.modal = Some(json!({"custom_id": custom_id, "components": rows}));
        invocation
    }

    /// A press by `user` of the button `custom_id` on `message` (one the bot
    /// posted, as [`FakeDiscord::messages_in`] gives it).
    pub fn button(guild: u64, user: u64, custom_id: &str, message: Value) -> Invocation {
        let mut invocation = Invocation::new(guild, user, "", json!([]));
        invocation.kind = 3;
        invocation.modal = Some(json!({"custom_id": custom_id, "component_type": 2}));
        invocation.message = Some(message);
        invocation
    }

    /// `/name sub` with `options` inside the subcommand.
    pub fn sub(guild: u64, user: u64, name: &str, sub: &str, options: Value) -> Invocation {
        Invocation::new(
            guild,
            user,
            name,
            json!([{"name": sub, "type": 1, "options": options}]),
        )
    }

    pub fn organiser(mut self) -> Invocation {
        self.permissions |= MANAGE_GUILD;
        self
    }

    pub fn named(mut self, name: &str) -> Invocation {
        self.user_name = name.into();
        self
    }

    pub fn with_roles(mut self, roles: &[u64]) -> Invocation {
        self.roles = roles.to_vec();
        self
    }

    /// An autocomplete request: the option marked `"focused": true` is being typed.
    pub fn autocomplete(mut self) -> Invocation {
        self.kind = 4;
        self
    }

    pub fn attachments_up_to(mut self, bytes: u64) -> Invocation {
        self.attachment_size_limit = bytes;
        self
    }

    pub fn in_dm(mut self) -> Invocation {
        self.guild = None;
        self
    }

    /// Mentions `user` in a user option: Discord resolves it alongside.
    pub fn resolving_user(mut self, id: u64, name: &str) -> Invocation {
        self.resolved = json!({"users": {id.to_string(): user(id, name, false)}});
        self
    }

    fn to_json(&self, id: u64, token: &str) -> Value {
        let user = user(self.user, &self.user_name, false);
        let mut data = json!({
            "id": id.to_string(),
            "application_id": APPLICATION_ID.to_string(),
            "type": self.kind,
            "data": {
                "id": "800000000000000001",
                "name": self.name,
                "type": self.command_type,
                "options": self.options,
                "resolved": self.resolved,
            },
            "channel_id": "700000000000000001",
            "token": token,
            "version": 1,
            "locale": "en-GB",
            "entitlements": [],
            "app_permissions": "2147534848",
            "attachment_size_limit": self.attachment_size_limit,
            "authorizing_integration_owners": {},
        });
        if let Some(target) = &self.target_id {
            data["data"]["target_id"] = json!(target);
        }
        if let Some(modal) = &self.modal {
            data["data"] = modal.clone();
        }
        if let Some(message) = &self.message {
            data["message"] = message.clone();
        }
        match self.guild {
            Some(guild) => {
                data["guild_id"] = json!(guild.to_string());
                data["guild_locale"] = json!("en-GB");
                data["context"] = json!(0);
                data["member"] = json!({
                    "user": user,
                    "roles": self.roles.iter().map(u64::to_string).collect::<Vec<_>>(),
                    "joined_at": "2026-01-01T00:00:00.000000+00:00",
                    "deaf": false,
                    "mute": false,
                    "flags": 0,
                    "pending": false,
                    "permissions": self.permissions.to_string(),
                    "nick": null,
                });
            }
            None => {
                data["context"] = json!(1);
                data["user"] = user;
            }
        }
        data
    }
}

pub fn user(id: u64, name: &str, bot: bool) -> Value {
    json!({
        "id": id.to_string(),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": null,
        "bot": bot,
        "public_flags": 0,
    })
}

/// A message `author` wrote in `channel`, as Discord gives it.
pub fn posted_message(
    id: u64,
    channel: u64,
    author: u64,
    author_name: &str,
    content: &str,
) -> Value {
    json!({
        "id": id.to_string(),
        "channel_id": channel.to_string(),
        "author": user(author, author_name, false),
        "content": content,
        "timestamp": "2026-11-26T10:00:00.000000+00:00",
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": false,
        "type": 0,
        "flags": 0,
    })
}

pub fn member(guild: u64, id: u64, name: &str) -> Value {
    json!({
        "guild_id": guild.to_string(),
        "user": user(id, name, false),
        "roles": [],
        "joined_at": "2026-11-01T00:00:00.000000+00:00",
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "nick": null,
    })
}

pub fn guild(id: u64, name: &str) -> Value {
    json!({
        "id": id.to_string(),
        "name": name,
        "icon": null,
        "splash": null,
        "discovery_splash": null,
        "owner_id": "100",
        "afk_channel_id": null,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": [{
            "id": id.to_string(), "name": "@everyone", "color": 0,
            "colors": {"primary_color": 0}, "hoist": false, "icon": null,
            "unicode_emoji": null, "position": 0, "permissions": "2147534848",
            "managed": false, "mentionable": false, "flags": 0
        }],
        "emojis": [],
        "features": [],
        "mfa_level": 0,
        "application_id": null,
        "system_channel_id": null,
        "system_channel_flags": 0,
        "rules_channel_id": null,
        "vanity_url_code": null,
        "description": null,
        "banner": null,
        "premium_tier": 0,
        "preferred_locale": "en-GB",
        "public_updates_channel_id": null,
        "nsfw_level": 0,
        "stickers": [],
        "premium_progress_bar_enabled": false,
        "joined_at": "2026-11-01T00:00:00.000000+00:00",
        "large": false,
        "unavailable": false,
        "member_count": 3,
        "voice_states": [],
        "members": [],
        "channels": [],
        "threads": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
    })
}

fn message(id: u64, channel: &str, body: &Value) -> Value {
    json!({
        "id": id.to_string(),
        "channel_id": channel,
        "author": user(BOT_USER_ID, "Keel", true),
        "content": body.get("content").cloned().unwrap_or(json!("")),
        "timestamp": "2026-11-26T10:00:00.000000+00:00",
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": false,
        "type": 0,
        "flags": 0,
    })
}

/// The JSON of a request body: plain JSON, or multipart's `payload_json` part.
fn body_json(headers: &HeaderMap, raw: &str) -> Value {
    let multipart = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    if !multipart {
        return serde_json::from_str(raw).unwrap_or(Value::Null);
    }
    raw.split("name=\"payload_json\"")
        .nth(1)
        .and_then(|part| part.split_once("\r\n\r\n"))
        .and_then(|(_, rest)| rest.split("\r\n--").next())
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or(Value::Null)
}

async fn rest(
    State(fake): State<FakeDiscord>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let raw = String::from_utf8_lossy(&body).to_string();
    let json_body = body_json(&headers, &raw);
    let failure = {
        let mut script = fake.script.lock().unwrap();
        let failure = script
            .failures
            .iter_mut()
            .find(|(suffix, queue)| path.ends_with(suffix.as_str()) && !queue.is_empty())
            .and_then(|(_, queue)| queue.pop_front());
        script.requests.push(Request {
            method: method.to_string(),
            path: path.clone(),
            body: json_body.clone(),
            raw,
            bytes: body.to_vec(),
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string(),
            at: Instant::now(),
            status: failure.map_or(200, |(status, _)| status),
        });
        failure
    };
    fake.changed.notify_waiters();
    if let Some((status, retry_after)) = failure {
        let status = StatusCode::from_u16(status).unwrap();
        let body = match retry_after {
            Some(after) => {
                json!({"message": "You are being rate limited.", "retry_after": after, "global": false, "code": 0})
            }
            None if status == StatusCode::FORBIDDEN => {
                json!({"message": "Missing Permissions", "code": 50013})
            }
            None => json!({"message": "Internal Server Error", "code": 0}),
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(after) = retry_after {
            response
                .headers_mut()
                .insert("retry-after", after.ceil().to_string().parse().unwrap());
        }
        return response;
    }
    let segments: Vec<&str> = path.trim_start_matches("/api/v10/").split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["gateway"]) => {
            axum::Json(json!({"url": format!("ws://{}", fake.gateway)})).into_response()
        }
        ("GET", ["oauth2", "applications", "@me"]) => axum::Json(json!({
            "id": APPLICATION_ID.to_string(), "name": "Keel", "description": "",
            "icon": null, "bot_public": true, "bot_require_code_grant": false,
            "verify_key": "00", "flags": 0,
        }))
        .into_response(),
        ("PUT", ["applications", _, "commands"] | ["applications", _, "guilds", _, "commands"]) => {
            let registered: Vec<Value> = json_body
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|mut c| {
                    c["id"] = json!(fake.id().to_string());
                    c["application_id"] = json!(APPLICATION_ID.to_string());
                    c["version"] = json!("1");
                    if c.get("type").is_none() {
                        c["type"] = json!(1);
                    }
                    // Context-menu commands have none; Discord answers with "".
                    if c.get("description").is_none() {
                        c["description"] = json!("");
                    }
                    c
                })
                .collect();
            axum::Json(Value::Array(registered)).into_response()
        }
        ("POST", ["interactions", _, _, "callback"]) => StatusCode::NO_CONTENT.into_response(),
        ("POST", ["webhooks", _, _]) | ("PATCH", ["webhooks", _, _, "messages", _]) => {
            axum::Json(message(fake.id(), "700000000000000001", &json_body)).into_response()
        }
        ("POST", ["channels", channel, "messages"]) => {
            let mut script = fake.script.lock().unwrap();
            let nonce = json_body.get("nonce").filter(|n| !n.is_null()).cloned();
            // With enforce_nonce, Discord answers a repeated nonce with the message
            // it made the first time (for a few minutes; the fake, always).
            let earlier = nonce
                .as_ref()
                .filter(|_| json_body["enforce_nonce"] == true)
                .and_then(|nonce| {
                    script
                        .channel_messages
                        .iter()
                        .find(|m| m["channel_id"] == *channel && m["nonce"] == *nonce)
                        .cloned()
                });
            let posted = match earlier {
                Some(earlier) => earlier,
                None => {
                    let since_epoch =
                        (chrono::Utc::now().timestamp_millis() - 1_420_070_400_000) as u64;
                    let id = (since_epoch << 22).max(script.last_message_id + 1);
                    script.last_message_id = id;
                    let mut posted = message(id, channel, &json_body);
                    posted["embeds"] = json_body.get("embeds").cloned().unwrap_or(json!([]));
                    posted["components"] =
                        json_body.get("components").cloned().unwrap_or(json!([]));
                    posted["nonce"] = nonce.unwrap_or(Value::Null);
                    script.channel_messages.push(posted.clone());
                    posted
                }
            };
            if std::mem::take(&mut script.drop_next_post) {
                let broken = futures_util::stream::iter([
                    Ok::<_, std::io::Error>(Bytes::from_static(b"{\"id\":")),
                    Err(std::io::Error::other("connection dropped")),
                ]);
                return Response::builder()
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from_stream(broken))
                    .unwrap();
            }
            axum::Json(posted).into_response()
        }
        ("PATCH", ["channels", channel, "messages", id]) => {
            let mut script = fake.script.lock().unwrap();
            match script
                .channel_messages
                .iter_mut()
                .find(|m| m["channel_id"] == *channel && m["id"] == *id)
            {
                Some(message) => {
                    for field in ["content", "embeds", "components"] {
                        if let Some(value) = json_body.get(field) {
                            message[field] = value.clone();
                        }
                    }
                    message["edited_timestamp"] = json!("2026-11-26T10:05:00.000000+00:00");
                    axum::Json(message.clone()).into_response()
                }
                None => (
                    StatusCode::NOT_FOUND,
                    axum::Json(json!({"message": "Unknown Message", "code": 10008})),
                )
                    .into_response(),
            }
        }
        ("GET", ["channels", channel, "messages"]) => {
            let param = |name: &str| {
                uri.query()
                    .unwrap_or_default()
                    .split('&')
                    .find_map(|p| p.strip_prefix(&format!("{name}=")))
                    .and_then(|v| v.parse::<u64>().ok())
            };
            let after = param("after").unwrap_or(0);
            let limit = param("limit").unwrap_or(50) as usize;
            let script = fake.script.lock().unwrap();
            // After a message: the oldest `limit` after it, newest first.
            let mut found: Vec<Value> = script
                .channel_messages
                .iter()
                .filter(|m| m["channel_id"] == *channel)
                .filter(|m| {
                    m["id"]
                        .as_str()
                        .and_then(|id| id.parse::<u64>().ok())
                        .unwrap_or(0)
                        > after
                })
                .take(limit)
                .cloned()
                .collect();
            found.reverse();
            axum::Json(Value::Array(found)).into_response()
        }
        ("POST", ["channels", parent, "threads"]) => {
            // A thread not started from a message, in the first server the bot
            // is in (the fake does not place channels in servers).
            let guild = fake
                .script
                .lock()
                .unwrap()
                .guilds
                .first()
                .map_or(1, |g| g.0);
            axum::Json(json!({
                "id": fake.id().to_string(),
                "type": json_body["type"].as_u64().unwrap_or(11),
                "guild_id": guild.to_string(),
                "parent_id": parent,
                "owner_id": BOT_USER_ID.to_string(),
                "name": json_body["name"],
                "last_message_id": null,
                "rate_limit_per_user": 0,
                "message_count": 0,
                "member_count": 1,
                "flags": 0,
                "thread_metadata": {
                    "archived": false,
                    "auto_archive_duration": json_body["auto_archive_duration"].as_u64().unwrap_or(4320),
                    "archive_timestamp": "2026-11-26T10:00:00.000000+00:00",
                    "locked": false,
                    "invitable": json_body["invitable"].as_bool().unwrap_or(true),
                    "create_timestamp": "2026-11-26T10:00:00.000000+00:00",
                },
                "total_message_sent": 0,
            }))
            .into_response()
        }
        ("PUT", ["channels", _, "thread-members", _]) => StatusCode::NO_CONTENT.into_response(),

        ("POST", ["guilds", guild, "scheduled-events"]) => {
            let event = json!({
                "id": fake.id().to_string(),
                "guild_id": guild,
                "channel_id": null,
                "creator_id": BOT_USER_ID.to_string(),
                "name": json_body["name"],
                "description": json_body.get("description").cloned().unwrap_or(Value::Null),
                "scheduled_start_time": json_body["scheduled_start_time"],
                "scheduled_end_time": json_body.get("scheduled_end_time").cloned().unwrap_or(Value::Null),
                "privacy_level": json_body["privacy_level"],
                "status": 1,
                "entity_type": json_body["entity_type"],
                "entity_id": null,
                "entity_metadata": json_body.get("entity_metadata").cloned().unwrap_or(Value::Null),
                "image": null,
            });
            fake.script
                .lock()
                .unwrap()
                .scheduled_events
                .push(event.clone());
            axum::Json(event).into_response()
        }
        ("PATCH", ["guilds", guild, "scheduled-events", id]) => {
            let mut script = fake.script.lock().unwrap();
            match script
                .scheduled_events
                .iter_mut()
                .find(|e| e["guild_id"] == *guild && e["id"] == *id)
            {
                Some(event) => {
                    for (field, value) in json_body.as_object().cloned().unwrap_or_default() {
                        event[field.as_str()] = value;
                    }
                    axum::Json(event.clone()).into_response()
                }
                None => (
                    StatusCode::NOT_FOUND,
                    axum::Json(json!({"message": "Unknown Guild Scheduled Event", "code": 10070})),
                )
                    .into_response(),
            }
        }
        ("GET", ["guilds", guild, "members", id]) => {
            let id: u64 = id.parse().unwrap_or(0);
            axum::Json(member(
                guild.parse().unwrap_or(0),
                id,
                &format!("member {id}"),
            ))
            .into_response()
        }
        ("POST", ["users", "@me", "channels"]) => {
            let recipient = json_body["recipient_id"]
                .as_str()
                .unwrap_or("0")
                .to_string();
            axum::Json(json!({
                "id": fake.id().to_string(),
                "type": 1,
                "last_message_id": null,
                "recipients": [user(recipient.parse().unwrap_or(0), "member", false)],
            }))
            .into_response()
        }
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"message": "404: Not Found", "code": 0})),
        )
            .into_response(),
    }
}

/// One gateway connection: HELLO, then IDENTIFY (READY and GUILD_CREATEs) or
/// RESUME (RESUMED), heartbeats acknowledged, dispatches forwarded in order.
async fn connection(fake: FakeDiscord, stream: tokio::net::TcpStream) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (mut tx, mut rx) = ws.split();
    let (events_tx, mut events) = mpsc::unbounded_channel::<Value>();
    let (kill_tx, mut kill) = mpsc::unbounded_channel::<()>();
    let send = |payload: Value| WsMessage::Text(payload.to_string().into());
    // Which shard this connection is, once it has identified or resumed.
    let mut shard = 0;
    if tx
        .send(send(json!({"op": 10, "d": {"heartbeat_interval": 41250}})))
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            incoming = rx.next() => {
                let Some(Ok(WsMessage::Text(text))) = incoming else {
                    if matches!(incoming, Some(Ok(_))) { continue; }
                    return;
                };
                let payload: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                match payload["op"].as_u64() {
                    Some(1) => {
                        let _ = tx.send(send(json!({"op": 11}))).await;
                    }
                    Some(2) => {
                        let identified = &payload["d"]["shard"];
                        shard = identified[0].as_u64().unwrap_or(0);
                        let shards = identified[1].as_u64().unwrap_or(1).max(1);
                        let (reject, guilds) = {
                            let mut script = fake.script.lock().unwrap();
                            script.identifies.push(payload["d"].clone());
                            script.shards = shards;
                            script.seqs.insert(shard, 0);
                            let guilds: Vec<(u64, String)> = script
                                .guilds
                                .iter()
                                .filter(|(id, _)| shard_of(*id, shards) == shard)
                                .cloned()
                                .collect();
                            (script.reject_identify.take(), guilds)
                        };
                        fake.changed.notify_waiters();
                        if let Some(code) = reject {
                            let _ = tx.send(WsMessage::Close(Some(CloseFrame {
                                code: CloseCode::from(code),
                                reason: "rejected".into(),
                            }))).await;
                            return;
                        }
                        let ready = json!({
                            "v": 10,
                            "user": user(BOT_USER_ID, "Keel", true),
                            "guilds": guilds.iter().map(|(id, _)| json!({"id": id.to_string(), "unavailable": true})).collect::<Vec<_>>(),
                            "session_id": format!("fake-session-{shard}"),
                            "resume_gateway_url": format!("ws://{}", fake.gateway),
                            "application": {"id": APPLICATION_ID.to_string(), "flags": 0},
                            "shard": [shard, shards],
                            "private_channels": [],
                            "presences": [],
                        });
                        let _ = tx.send(send(fake.frame(shard, "READY", ready))).await;
                        for (id, name) in guilds {
                            let _ = tx.send(send(fake.frame(shard, "GUILD_CREATE", guild(id, &name)))).await;
                        }
                        fake.script.lock().unwrap().connections.insert(shard, Connection {
                            events: events_tx.clone(),
                            kill: kill_tx.clone(),
                        });
                    }
                    Some(6) => {
                        shard = payload["d"]["session_id"]
                            .as_str()
                            .and_then(|id| id.strip_prefix("fake-session-"))
                            .and_then(|n| n.parse().ok())
                            .unwrap_or(0);
                        fake.script.lock().unwrap().resumes += 1;
                        let _ = tx.send(send(fake.frame(shard, "RESUMED", json!({})))).await;
                        fake.script.lock().unwrap().connections.insert(shard, Connection {
                            events: events_tx.clone(),
                            kill: kill_tx.clone(),
                        });
                        fake.changed.notify_waiters();
                    }
                    _ => {}
                }
            }
            Some(event) = events.recv() => {
                let payload = fake.frame(shard, event["t"].as_str().unwrap_or_default(), event["d"].clone());
                if tx.send(send(payload)).await.is_err() {
                    return;
                }
            }
            _ = kill.recv() => {
                // Dropping both halves closes TCP with no close frame.
                return;
            }
        }
    }
}

impl FakeDiscord {
    /// A dispatch frame with the shard's next sequence number.
    fn frame(&self, shard: u64, kind: &str, data: Value) -> Value {
        let s = {
            let mut script = self.script.lock().unwrap();
            let seq = script.seqs.entry(shard).or_default();
            *seq += 1;
            *seq
        };
        json!({"op": 0, "t": kind, "s": s, "d": data})
    }
}

/// The shard of `shards` that Discord sends a server's events on.
pub fn shard_of(guild: u64, shards: u64) -> u64 {
    (guild >> 22) % shards.max(1)
}

/// Everything serenity and Keel log, kept so a test can fail on a dispatch that
/// serenity could not parse (it drops those silently, at DEBUG).
pub fn captured_logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| Mutex::new(Vec::new()))
}

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        captured_logs().lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures serenity's debug logs (once per test binary).
pub fn capture_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "serenity=debug,poise=debug,keel=info",
            ))
            .with_ansi(false)
            .with_thread_names(true)
            .with_writer(|| LogWriter)
            .try_init();
    });
}

/// This test's log lines: each `#[tokio::test]` runs the bot on its own thread,
/// named after the test.
pub fn my_logs() -> String {
    let me = std::thread::current()
        .name()
        .unwrap_or_default()
        .to_string();
    String::from_utf8_lossy(&captured_logs().lock().unwrap())
        .lines()
        .filter(|l| l.contains(&me))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Fails if serenity met a dispatch or payload it could not parse, in this test.
pub fn assert_everything_parsed() {
    let logs = my_logs();
    assert!(
        logs.contains("Received Ready"),
        "serenity's debug log is not captured, so this check could not fail"
    );
    for sign in [
        "An unknown event was received",
        "Err deserializing",
        "Sequence off",
        "Discord command failed",
    ] {
        assert!(
            !logs.contains(sign),
            "serenity or Keel logged `{sign}`:\n{}",
            logs.lines()
                .filter(|l| l.contains(sign))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
