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
    pub authorization: String,
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
}

#[derive(Clone)]
pub struct FakeSlack {
    pub addr: SocketAddr,
    pub script: Arc<Mutex<Script>>,
}

impl FakeSlack {
    pub async fn start() -> FakeSlack {
        let script = Arc::new(Mutex::new(Script::default()));
        let app = Router::new()
            .route("/api/{method}", any(api))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeSlack { addr, script }
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

    pub fn make_admin(&self, user: &str) {
        self.script.lock().unwrap().admins.push(user.to_string());
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
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
    };
    let mut script = script.lock().unwrap();
    script.calls.push(call.clone());
    if let Some((status, retry_after)) = script
        .failures
        .get_mut(&method)
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
        return response;
    }
    let answer = match method.as_str() {
        "chat.postMessage" => {
            let channel = call.json()["channel"].as_str().unwrap_or("C0").to_string();
            json!({"ok": true, "channel": channel, "ts": "1700000000.000100",
                   "message": {"ts": "1700000000.000100", "text": "posted"}})
        }
        "users.info" => {
            let user = call
                .query
                .split('&')
                .find_map(|p| p.strip_prefix("user="))
                .unwrap_or_default()
                .to_string();
            let admin = script.admins.contains(&user);
            json!({"ok": true, "user": {"id": user, "is_admin": admin}})
        }
        "usergroups.users.list" => json!({"ok": true, "users": []}),
        "oauth.v2.access" => json!({
            "ok": true, "access_token": "xoxb-fake-secret-token-4242", "token_type": "bot",
            "scope": "commands,chat:write", "bot_user_id": "UBOT", "app_id": "A1",
            "team": {"id": "T-INSTALLED", "name": "Installed Team"}, "authed_user": {"id": "UADMIN"}
        }),
        _ => json!({"ok": false, "error": "unknown_method"}),
    };
    ([("content-type", "application/json")], answer.to_string()).into_response()
}
