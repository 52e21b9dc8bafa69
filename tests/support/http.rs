//! A minimal HTTP/1.1 client over a raw TCP socket: enough to send Keel exactly
//! the bytes Slack would, duplicated headers included.
#![allow(dead_code)] // each test file uses its own part

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// POSTs `body` to `path` signed with `secret` at `ts`, as Slack signs its requests.
pub async fn signed_post(
    addr: SocketAddr,
    path: &str,
    secret: &str,
    ts: i64,
    content_type: &str,
    body: &str,
) -> Response {
    let headers = [
        ("Content-Type", content_type.to_string()),
        ("X-Slack-Request-Timestamp", ts.to_string()),
        (
            "X-Slack-Signature",
            keel::slack::signature::sign(secret.as_bytes(), ts, body.as_bytes()),
        ),
    ];
    send(addr, "POST", path, &headers, body.as_bytes()).await
}

/// `/keel <text>` as Slack posts it from `user` (named `name`) of workspace
/// `team` in channel C1, signed with `secret` now. Each carries a trigger id of
/// its own.
pub async fn slack_command(
    addr: SocketAddr,
    secret: &str,
    team: &str,
    (user, name): (&str, &str),
    text: &str,
) -> Response {
    static TRIGGERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let trigger = TRIGGERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("team_id", team)
        .append_pair("team_domain", "forest")
        .append_pair("channel_id", "C1")
        .append_pair("user_id", user)
        .append_pair("user_name", name)
        .append_pair("command", "/keel")
        .append_pair("text", text)
        .append_pair("trigger_id", &format!("{}.{trigger}.3", std::process::id()))
        .finish();
    let ts = chrono::Utc::now().timestamp();
    let form = "application/x-www-form-urlencoded";
    signed_post(addr, "/slack/commands", secret, ts, form, &body).await
}

pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Response {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: keel.test\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    parse(&String::from_utf8_lossy(&raw))
}

fn parse(text: &str) -> Response {
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_string(),
    }
}

/// One kept-alive connection, for many requests without a connection each.
pub struct KeepAlive {
    stream: tokio::io::BufReader<tokio::net::TcpStream>,
}

impl KeepAlive {
    pub async fn connect(addr: SocketAddr) -> KeepAlive {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        KeepAlive {
            stream: tokio::io::BufReader::new(stream),
        }
    }

    /// GET `path`; the answer, read up to its Content-Length.
    pub async fn get(&mut self, path: &str) -> Response {
        use tokio::io::AsyncBufReadExt;
        let request = format!("GET {path} HTTP/1.1\r\nHost: keel.test\r\n\r\n");
        self.stream
            .get_mut()
            .write_all(request.as_bytes())
            .await
            .unwrap();
        let mut head = String::new();
        loop {
            let mut line = String::new();
            let n = self.stream.read_line(&mut line).await.unwrap();
            assert!(n > 0, "the connection closed mid-answer: {head}");
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let length: usize = parse(&head)
            .header("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        self.stream.read_exact(&mut body).await.unwrap();
        parse(&format!("{head}{}", String::from_utf8_lossy(&body)))
    }
}
