//! A fake Slack Web API on 127.0.0.1: records every call and answers as scripted
//! (including 429 with Retry-After), so tests drive the real slack-morphism client.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub query: String,
    pub body: String,
    /// The body as sent (an uploaded file's bytes).
    pub bytes: Vec<u8>,
    pub content_type: String,
    pub authorization: String,
    pub at: std::time::Instant,
}

impl Call {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Default)]
pub struct Script {
    pub calls: Vec<Call>,
    /// Answers to give before the normal one, per API method: (status, retry-after).
    pub failures: HashMap<String, VecDeque<(u16, Option<u64>)>>,
    pub admins: Vec<String>,
    /// What users.info calls each user (their username and display name); a
    /// user not here gets no name.
    pub names: HashMap<String, String>,
    /// Members of each user group, by group id.
    pub groups: HashMap<String, Vec<String>>,
    pub socket_url: String,
    /// Where files.getUploadURLExternal tells Keel to upload.
    pub upload_base: String,
    /// Slack's error for files.completeUploadExternal, e.g. "not_in_channel".
    pub refuse_share: Option<String>,
    /// The Enterprise Grid organisation oauth.v2.access names, if any.
    pub grant_enterprise: Option<String>,
    /// oauth.v2.access answers for a whole organisation: no team.
    pub grant_org_wide: bool,
    /// How long to take over the next answer to a method.
    pub slow_next: HashMap<String, std::time::Duration>,
    /// Every message posted, as conversations.history returns them, oldest first;
    /// chat.update changes them in place.
    pub history: Vec<Value>,
    /// Posts to these channels are kept, then never answered.
    pub hang_channels: std::collections::HashSet<String>,
    /// The next call to each of these methods is carried out, then its connection
    /// drops before the answer's body arrives.
    pub drop_next: std::collections::HashSet<String>,
    /// The last ts handed out, in microseconds: each is later than the one before.
    pub last_ts_micros: i64,
    /// Uploads answer only while no one holds this for writing.
    pub upload_gate: Arc<tokio::sync::RwLock<()>>,
}

#[derive(Clone)]
pub struct FakeSlack {
    pub addr: SocketAddr,
    pub script: Arc<Mutex<Script>>,
    /// Envelopes to send to the next connection, and what came back.
    pub socket: Arc<tokio::sync::Mutex<SocketSide>>,
}

#[derive(Default)]
pub struct SocketSide {
    pub to_send: VecDeque<Value>,
    pub received: Vec<Value>,
    pub connections: usize,
    /// Close the connection after sending everything queued.
    pub close_after_send: bool,
}

impl FakeSlack {
    pub async fn start() -> FakeSlack {
        let script = Arc::new(Mutex::new(Script::default()));
        let socket_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let socket_addr = socket_listener.local_addr().unwrap();
        script.lock().unwrap().socket_url = format!("ws://{socket_addr}/socket");
        let socket = Arc::new(tokio::sync::Mutex::new(SocketSide::default()));
        tokio::spawn(serve_sockets(socket_listener, socket.clone()));
        let app = Router::new()
            .route("/api/{method}", any(api))
            .route("/hooks/{id}", any(hook))
            .route("/upload/{id}", any(upload))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        script.lock().unwrap().upload_base = format!("http://{addr}/upload");
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeSlack {
            addr,
            script,
            socket,
        }
    }

    pub fn response_url(&self) -> String {
        format!("http://{}/hooks/1", self.addr)
    }

    pub fn api_base(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    pub fn calls(&self, method: &str) -> Vec<Call> {
        self.script
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    pub fn fail_next(&self, method: &str, status: u16, retry_after: Option<u64>) {
        self.script
            .lock()
            .unwrap()
            .failures
            .entry(method.to_string())
            .or_default()
            .push_back((status, retry_after));
    }

    /// Messages posted to `channel`, oldest first.
    pub fn messages_in(&self, channel: &str) -> Vec<Value> {
        self.script
            .lock()
            .unwrap()
            .history
            .iter()
            .filter(|m| m["channel"] == channel)
            .cloned()
            .collect()
    }

    /// The delivery each message posted to `channel` names in its metadata.
    pub fn delivery_markers(&self, channel: &str) -> Vec<String> {
        self.messages_in(channel)
            .iter()
            .map(|m| {
                m["metadata"]["event_payload"]["delivery"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    }

    pub fn hang_posts_to(&self, channel: &str, hang: bool) {
        let mut script = self.script.lock().unwrap();
        if hang {
            script.hang_channels.insert(channel.to_string());
        } else {
            script.hang_channels.remove(channel);
        }
    }

    pub fn drop_next(&self, method: &str) {
        self.script
            .lock()
            .unwrap()
            .drop_next
            .insert(method.to_string());
    }

    /// Holds every upload unanswered until the guard is dropped.
    pub async fn hold_uploads(&self) -> tokio::sync::OwnedRwLockWriteGuard<()> {
        let gate = self.script.lock().unwrap().upload_gate.clone();
        gate.write_owned().await
    }

    pub fn make_admin(&self, user: &str) {
        self.script.lock().unwrap().admins.push(user.to_string());
    }

    /// An admin is no longer one, as far as users.info says.
    pub fn demote(&self, user: &str) {
        self.script.lock().unwrap().admins.retain(|a| a != user);
    }

    /// The name users.info gives `user`.
    pub fn set_name(&self, user: &str, name: &str) {
        self.script
            .lock()
            .unwrap()
            .names
            .insert(user.to_string(), name.to_string());
    }

    /// The members usergroups.users.list gives for `group`.
    pub fn set_group(&self, group: &str, members: &[&str]) {
        self.script.lock().unwrap().groups.insert(
            group.to_string(),
            members.iter().map(|m| m.to_string()).collect(),
        );
    }
}

async fn api(
    State(script): State<Arc<Mutex<Script>>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = Call {
        method: method.clone(),
        query: query.unwrap_or_default(),
        body: String::from_utf8_lossy(&body).to_string(),
        bytes: body.to_vec(),
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        at: std::time::Instant::now(),
    };
    let slow = script.lock().unwrap().slow_next.remove(&method);
    if let Some(slow) = slow {
        tokio::time::sleep(slow).await;
    }
    let answer = answer(&mut script.lock().unwrap(), &method, &call);
    match answer {
        Answer::Now(response) => response,
        Answer::Never => std::future::pending().await,
    }
}

enum Answer {
    Now(Response),
    /// The call was carried out; its answer never comes.
    Never,
}

fn answer(script: &mut Script, method: &str, call: &Call) -> Answer {
    script.calls.push(call.clone());
    if let Some((status, retry_after)) = script
        .failures
        .get_mut(method)
        .and_then(VecDeque::pop_front)
    {
        let mut response = (
            StatusCode::from_u16(status).unwrap(),
            [("content-type", "application/json")],
            json!({"ok": false, "error": "ratelimited"}).to_string(),
        )
            .into_response();
        if let Some(after) = retry_after {
            response
                .headers_mut()
                .insert("retry-after", after.to_string().parse().unwrap());
        }
        return Answer::Now(response);
    }
    let answer = match method {
        "chat.postMessage" => {
            let body = call.json();
            let channel = body["channel"].as_str().unwrap_or("C0").to_string();
            // Slack's ts: the moment, unique within the channel.
            let micros = chrono::Utc::now()
                .timestamp_micros()
                .max(script.last_ts_micros + 1);
            script.last_ts_micros = micros;
            let ts = format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000);
            script.history.push(json!({
                "channel": channel, "ts": ts, "type": "message", "bot_id": "B1",
                "text": body["text"], "blocks": body["blocks"], "metadata": body["metadata"],
            }));
            if script.hang_channels.contains(&channel) {
                return Answer::Never;
            }
            json!({"ok": true, "channel": channel, "ts": ts,
                   "message": {"ts": ts, "text": "posted"}})
        }
        "chat.update" => {
            let body = call.json();
            let (channel, ts) = (body["channel"].clone(), body["ts"].clone());
            match script
                .history
                .iter_mut()
                .find(|m| m["channel"] == channel && m["ts"] == ts)
            {
                Some(message) => {
                    for field in ["text", "blocks", "metadata"] {
                        message[field] = body[field].clone();
                    }
                    message["edited"] = json!({"user": "UBOT", "ts": ts});
                    json!({"ok": true, "channel": channel, "ts": ts,
                           "message": {"text": body["text"], "edited": {"user": "UBOT", "ts": ts}}})
                }
                None => json!({"ok": false, "error": "message_not_found"}),
            }
        }
        "conversations.history" => {
            let param = |name: &str| {
                url::form_urlencoded::parse(call.query.as_bytes())
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.to_string())
            };
            let channel = param("channel").unwrap_or_default();
            let bound = |name: &str| param(name).and_then(|v| v.parse::<f64>().ok());
            let (oldest, latest) = (
                bound("oldest").unwrap_or(0.0),
                bound("latest").unwrap_or(f64::MAX),
            );
            let limit = param("limit").and_then(|l| l.parse().ok()).unwrap_or(100);
            let metadata = param("include_all_metadata").as_deref() == Some("true");
            let messages: Vec<Value> = script
                .history
                .iter()
                .rev()
                .filter(|m| m["channel"] == channel.as_str())
                .filter(|m| {
                    let ts: f64 = m["ts"].as_str().unwrap_or("0").parse().unwrap_or(0.0);
                    ts >= oldest && ts <= latest
                })
                .take(limit)
                .map(|m| {
                    let mut m = m.clone();
                    if !metadata {
                        m.as_object_mut().unwrap().remove("metadata");
                    }
                    m
                })
                .collect();
            json!({"ok": true, "messages": messages, "has_more": false})
        }
        "users.info" => {
            let user = call
                .query
                .split('&')
                .find_map(|p| p.strip_prefix("user="))
                .unwrap_or_default()
                .to_string();
            let admin = script.admins.contains(&user);
            match script.names.get(&user) {
                Some(name) => json!({"ok": true, "user": {"id": user, "is_admin": admin,
                    "name": name, "profile": {"display_name": name, "real_name": name}}}),
                None => json!({"ok": true, "user": {"id": user, "is_admin": admin}}),
            }
        }
        "usergroups.users.list" => {
            let group = call
                .query
                .split('&')
                .find_map(|p| p.strip_prefix("usergroup="))
                .unwrap_or_default();
            let users = script.groups.get(group).cloned().unwrap_or_default();
            json!({"ok": true, "users": users})
        }
        "apps.connections.open" => json!({"ok": true, "url": script.socket_url}),
        "views.open" | "views.publish" => {
            let mut view = call.json()["view"].clone();
            view["id"] = json!("V1");
            view["team_id"] = json!("T1");
            view["hash"] = json!("h");
            json!({"ok": true, "view": view})
        }
        "chat.postEphemeral" => json!({"ok": true, "message_ts": "1.2"}),
        "conversations.open" => {
            // One user: their DM, "D-U1"; several: their group DM, "G-U1-U2",
            // the same conversation each time for the same people.
            // `users` is one comma-separated string, as Slack documents it.
            match &call.json()["users"] {
                Value::String(users) => {
                    let mut users: Vec<&str> = users.split(',').collect();
                    users.sort();
                    let id = match users.as_slice() {
                        [user] => format!("D-{user}"),
                        users => format!("G-{}", users.join("-")),
                    };
                    json!({"ok": true, "channel": {"id": id}})
                }
                _ => json!({"ok": false, "error": "invalid_arguments"}),
            }
        }
        "files.getUploadURLExternal" => {
            let id = format!("F{}", script.calls.len());
            json!({"ok": true, "upload_url": format!("{}/{id}", script.upload_base), "file_id": id})
        }
        "files.completeUploadExternal" => match &script.refuse_share {
            Some(error) => json!({"ok": false, "error": error}),
            None => {
                let id = call.json()["files"][0]["id"].clone();
                json!({"ok": true, "files": [{"id": id}]})
            }
        },
        "response_url" => json!({"ok": true}),
        "oauth.v2.access" => json!({
            "ok": true, "access_token": "xoxb-fake-secret-token-4242", "token_type": "bot",
            "scope": "commands,chat:write", "bot_user_id": "UBOT", "app_id": "A1",
            "team": if script.grant_org_wide { Value::Null } else { json!({"id": "T-INSTALLED", "name": "Installed Team"}) },
            "enterprise": script.grant_enterprise.as_ref().map(|id| json!({"id": id, "name": "Grid"})),
            "is_enterprise_install": script.grant_org_wide,
            "authed_user": {"id": "UADMIN"}
        }),
        _ => json!({"ok": false, "error": "unknown_method"}),
    };
    if script.drop_next.remove(method) {
        // The headers go out, then the connection breaks before the body ends.
        let broken = futures_util::stream::iter([
            Ok::<_, std::io::Error>(Bytes::from_static(b"{\"ok\":")),
            Err(std::io::Error::other("connection dropped")),
        ]);
        return Answer::Now(
            Response::builder()
                .header("content-type", "application/json")
                .body(axum::body::Body::from_stream(broken))
                .unwrap(),
        );
    }
    Answer::Now(([("content-type", "application/json")], answer.to_string()).into_response())
}

/// Accepts Socket Mode connections: says hello, sends what is queued, records
/// every reply; closes when told to, so the client has to reconnect.
async fn serve_sockets(
    listener: tokio::net::TcpListener,
    side: Arc<tokio::sync::Mutex<SocketSide>>,
) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let side = side.clone();
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            side.lock().await.connections += 1;
            let hello = json!({"type": "hello", "num_connections": 1});
            if ws.send(Message::text(hello.to_string())).await.is_err() {
                return;
            }
            // Envelopes sent on this connection and not yet acknowledged.
            let mut unacknowledged: Vec<Value> = Vec::new();
            let mut close_by: Option<std::time::Instant> = None;
            loop {
                let (next, close) = {
                    let mut s = side.lock().await;
                    unacknowledged.retain(|id| !s.received.iter().any(|r| r["envelope_id"] == *id));
                    let next = s.to_send.pop_front();
                    if next.is_none() && s.close_after_send && close_by.is_none() {
                        s.close_after_send = false;
                        close_by =
                            Some(std::time::Instant::now() + std::time::Duration::from_secs(5));
                    }
                    // Like Slack, hang up only once what was sent is answered
                    // (or after five seconds), so a loaded machine loses no ack.
                    let close = close_by.is_some_and(|by| {
                        unacknowledged.is_empty() || std::time::Instant::now() >= by
                    });
                    (next, close)
                };
                if close {
                    let _ = ws.close(None).await;
                    return;
                }
                if let Some(envelope) = next {
                    unacknowledged.push(envelope["envelope_id"].clone());
                    if ws.send(Message::text(envelope.to_string())).await.is_err() {
                        return;
                    }
                }
                match tokio::time::timeout(std::time::Duration::from_millis(20), ws.next()).await {
                    Ok(Some(Ok(Message::Text(t)))) => {
                        if let Ok(v) = serde_json::from_str::<Value>(t.as_str()) {
                            side.lock().await.received.push(v);
                        }
                    }
                    Ok(Some(Ok(_))) => {}
                    Ok(_) => return,
                    Err(_) => {}
                }
            }
        });
    }
}

/// A command's response_url: recorded as the pseudo-method "response_url".
async fn hook(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    api(
        State(script),
        Path("response_url".to_string()),
        RawQuery(None),
        headers,
        body,
    )
    .await
}

/// An upload URL: Slack answers plain text, as files.slack.com does.
async fn upload(
    State(script): State<Arc<Mutex<Script>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let length = body.len();
    let gate = script.lock().unwrap().upload_gate.clone();
    let _open = gate.read().await;
    api(
        State(script),
        Path("upload".to_string()),
        RawQuery(Some(format!("file={id}"))),
        headers,
        body,
    )
    .await;
    ([("content-type", "text/plain")], format!("OK - {length}")).into_response()
}
