//! Keel's HTTP server sheds slow and excessive clients (RELIABILITY.md R5): a
//! deadline for each request's headers, a limit on idle kept-alive connections, a
//! cap on open connections, and a per-address limit on the install routes that
//! believes X-Forwarded-For only from trusted proxies.
#![cfg(feature = "slack")]

#[path = "support/http.rs"]
mod http;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keel::app::App;
use keel::config::{Config, Secret};
use keel::domain::clock::SystemClock;
use keel::jobs::{ShutdownTrigger, shutdown_pair};
use keel::slack::crypto::TokenKey;
use keel::slack::{Slack, server};
use keel::store::{Store, StoreOptions};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Keel {
    addr: SocketAddr,
    _dir: TempDir,
    stop: ShutdownTrigger,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Keel serving installs, with `adjust` applied to `[http]` and the rest.
async fn start(adjust: impl FnOnce(&mut Config)) -> Keel {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("keel.db").display());
    let store = Store::open(&StoreOptions::new(url)).await.unwrap();
    let app = App::new(store, Arc::new(SystemClock));
    let mut config = Config::default();
    config.slack.signing_secret = Some(Secret::new("test-signing-secret"));
    // Nothing may leave the machine: a closed local port.
    config.slack.api_base = "http://127.0.0.1:9/api".into();
    config.slack.client_id = Some("client-1".into());
    config.slack.client_secret = Some(Secret::new("client-secret"));
    config.slack.public_url = Some("https://keel.example.test".into());
    config.slack.token_key = Some(Secret::new(TokenKey::generate()));
    adjust(&mut config);
    let slack = Slack::new(app, &config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, shutdown) = shutdown_pair();
    let served = tokio::spawn(server::serve(slack, listener, shutdown));
    Keel {
        addr,
        _dir: dir,
        stop,
        served,
    }
}

/// Reads until the server closes the connection; what it sent.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&seen).to_string(),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_disconnected() {
    let keel = start(|c| {
        c.http.header_read_timeout_secs = 1;
        c.http.idle_timeout_secs = 1;
    })
    .await;
    let stream = TcpStream::connect(keel.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let started = Instant::now();
    let closed = tokio::spawn(async move {
        let mut buf = [0u8; 1024];
        while let Ok(n) = reader.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
        started.elapsed()
    });
    writer
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();
    // A header line every 300 ms, as a slowloris client sends them, for up to 10 s.
    let mut lines = 0;
    while !closed.is_finished() && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        if writer
            .write_all(format!("X-Slow-{lines}: 1\r\n").as_bytes())
            .await
            .is_err()
        {
            break;
        }
        lines += 1;
    }
    let after = tokio::time::timeout(Duration::from_secs(5), closed)
        .await
        .expect("the connection was never closed")
        .unwrap();
    assert!(lines >= 2, "closed before the client had trickled anything");
    assert!(
        after >= Duration::from_millis(900) && after < Duration::from_secs(3),
        "closed after {after:?}, with a 1 s header deadline"
    );
    // A client that sends its request at once is served.
    let ok = http::send(keel.addr, "GET", "/healthz", &[], b"").await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_limit() {
    let keel = start(|c| {
        c.http.header_read_timeout_secs = 10;
        c.http.idle_timeout_secs = 1;
    })
    .await;
    let mut stream = TcpStream::connect(keel.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: keel.test\r\n\r\n")
        .await
        .unwrap();
    let answered = Instant::now();
    let seen = tokio::time::timeout(Duration::from_secs(8), read_to_close(&mut stream))
        .await
        .expect("the idle connection was never closed");
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    let idle = answered.elapsed();
    assert!(
        idle >= Duration::from_millis(900) && idle < Duration::from_secs(3),
        "closed after {idle:?} idle, with a 1 s idle limit (10 s for headers)"
    );
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_one_closes() {
    let keel = start(|c| {
        c.http.max_connections = 2;
        c.http.header_read_timeout_secs = 30;
        c.http.idle_timeout_secs = 30;
    })
    .await;
    let first = TcpStream::connect(keel.addr).await.unwrap();
    let _second = TcpStream::connect(keel.addr).await.unwrap();
    // Give the server a moment to take both.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(keel.addr).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: keel.test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(
        tokio::time::timeout(Duration::from_millis(700), third.read(&mut buf))
            .await
            .is_err(),
        "a third connection was served while two were open"
    );
    drop(first);
    let answer = tokio::time::timeout(Duration::from_secs(5), read_to_close(&mut third))
        .await
        .expect("the waiting connection was never served");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_stop_closes_idle_connections_and_returns() {
    let keel = start(|c| {
        c.http.header_read_timeout_secs = 30;
        c.http.idle_timeout_secs = 30;
    })
    .await;
    let mut idle = TcpStream::connect(keel.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: keel.test\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let stopping = Instant::now();
    keel.stop.trigger();
    tokio::time::timeout(Duration::from_secs(3), keel.served)
        .await
        .expect("the server did not stop")
        .unwrap()
        .unwrap();
    assert!(stopping.elapsed() < Duration::from_secs(3));
    assert_eq!(idle.read(&mut buf).await.unwrap_or(0), 0, "still open");
}

async fn install_from(addr: SocketAddr, forwarded_for: Option<&str>) -> http::Response {
    let headers: Vec<(&str, String)> = forwarded_for
        .map(|f| vec![("X-Forwarded-For", f.to_string())])
        .unwrap_or_default();
    http::send(addr, "GET", "/slack/install", &headers, b"").await
}

#[tokio::test]
async fn past_an_addresss_install_limit_the_answer_is_429_with_retry_after() {
    let keel = start(|c| c.http.install_requests_per_minute = 3).await;
    for _ in 0..3 {
        assert_eq!(install_from(keel.addr, None).await.status, 303);
    }
    let refused = install_from(keel.addr, None).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    let retry: u64 = refused
        .header("retry-after")
        .and_then(|r| r.parse().ok())
        .expect("a Retry-After in seconds");
    // Three a minute: the next one in about twenty seconds.
    assert!((1..=20).contains(&retry), "{retry}");
    // The callback shares the budget; Slack's signed endpoints and health do not.
    let callback = http::send(
        keel.addr,
        "GET",
        "/slack/oauth/callback?code=c&state=s",
        &[],
        b"",
    )
    .await;
    assert_eq!(callback.status, 429);
    assert_eq!(
        http::send(keel.addr, "GET", "/healthz", &[], b"")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_address_has_its_own_limit() {
    let keel = start(|c| {
        c.http.install_requests_per_minute = 2;
        c.http.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    for _ in 0..2 {
        assert_eq!(
            install_from(keel.addr, Some("203.0.113.1")).await.status,
            303
        );
    }
    assert_eq!(
        install_from(keel.addr, Some("203.0.113.1")).await.status,
        429
    );
    // Another client behind the same proxy is not held back by the first.
    assert_eq!(
        install_from(keel.addr, Some("203.0.113.2")).await.status,
        303
    );
    // A client cannot escape by writing its own header in front of the proxy's.
    assert_eq!(
        install_from(keel.addr, Some("198.51.100.7, 203.0.113.1"))
            .await
            .status,
        429
    );
}

#[tokio::test]
async fn an_untrusted_peers_forwarded_for_is_ignored() {
    let keel = start(|c| {
        c.http.install_requests_per_minute = 2;
        c.http.trusted_proxies = vec!["10.0.0.0/8".into()];
    })
    .await;
    assert_eq!(
        install_from(keel.addr, Some("203.0.113.1")).await.status,
        303
    );
    assert_eq!(
        install_from(keel.addr, Some("203.0.113.2")).await.status,
        303
    );
    // 127.0.0.1 is no trusted proxy: every request counted against it, whatever it claims.
    assert_eq!(
        install_from(keel.addr, Some("203.0.113.3")).await.status,
        429
    );
}
