//! Keel's HTTP server: Slack's endpoints, each checking the signature on the raw
//! body before anything parses it (S1–S3), the install routes limited per address,
//! plus /healthz and /readyz. Bodies are size-limited and every request has a time
//! limit; connections are held to the limits in `connections`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use tower_http::timeout::TimeoutLayer;
use tracing::Instrument;

use super::client_address::TrustedProxies;
use super::commands::{self, SlashCommand};
use super::connections::{self, Limits};
use super::rate_limit::{self, AddressLimit};
use super::{Slack, events, install, interactions, signature};
use crate::jobs::Shutdown;

/// Slack's payloads are small; anything bigger is not from Slack.
const BODY_LIMIT: usize = 256 * 1024;

pub fn router(slack: Arc<Slack>, install_limit: Arc<AddressLimit>) -> Router {
    // Strangers may call these without a signature: limited per address (R5).
    let install = Router::new()
        .route("/slack/install", get(install_start))
        .route("/slack/oauth/callback", get(install_finish))
        .route_layer(middleware::from_fn_with_state(
            install_limit,
            rate_limit::limit,
        ));
    Router::new()
        .route("/slack/commands", post(command))
        .route("/slack/events", post(event))
        .route("/slack/interactivity", post(interactivity))
        .merge(install)
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(10),
        ))
        .with_state(slack)
}

/// Serves until shutdown; in-flight requests finish first. The limits on
/// connections and on strangers come from `[http]`.
pub async fn serve(
    slack: Arc<Slack>,
    listener: tokio::net::TcpListener,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    let http = &slack.http;
    let proxies = http
        .trusted_networks()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    let install_limit = Arc::new(AddressLimit::per_minute(
        http.install_requests_per_minute,
        TrustedProxies::new(proxies),
    ));
    let limits = Limits::from_config(http);
    tokio::spawn(install_limit.clone().forget_idle(shutdown.clone()));
    connections::serve(
        listener,
        router(slack.clone(), install_limit),
        limits,
        shutdown,
    )
    .await
}

/// Checks the signature; on failure, the 401 to send.
fn verified(slack: &Slack, headers: &HeaderMap, body: &[u8]) -> Result<(), Box<Response>> {
    let now = slack.app.now().timestamp();
    // Without a signing secret nothing can be verified, so nothing is accepted.
    let secret = slack.signing_secret().unwrap_or_default();
    if secret.is_empty() {
        return Err(Box::new(
            (StatusCode::UNAUTHORIZED, "invalid signature").into_response(),
        ));
    }
    signature::verify(secret, headers, body, now).map_err(|why| {
        tracing::warn!(%why, "refused a Slack request");
        Box::new((StatusCode::UNAUTHORIZED, "invalid signature").into_response())
    })
}

fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

async fn command(State(slack): State<Arc<Slack>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refused) = verified(&slack, &headers, &body) {
        return *refused;
    }
    let form = form(&body);
    // Slack's certificate check: answered only once the request is verified (S3).
    if form.get("ssl_check").map(String::as_str) == Some("1") {
        return StatusCode::OK.into_response();
    }
    let Some(command) = SlashCommand::from_form(&form) else {
        return (StatusCode::BAD_REQUEST, "not a slash command").into_response();
    };
    if !slack.recent_triggers.first_use(&command.trigger_id) {
        return Json(commands::already_received()).into_response();
    }
    let span = tracing::info_span!("slack command", team = %command.team_id);
    match commands::run(&slack, command).instrument(span).await {
        Some(body) => Json(body).into_response(),
        None => StatusCode::OK.into_response(),
    }
}

async fn event(State(slack): State<Arc<Slack>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refused) = verified(&slack, &headers, &body) {
        return *refused;
    }
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    match events::handle(&slack, &payload).await {
        Ok(events::Outcome::Challenge(challenge)) => {
            Json(serde_json::json!({ "challenge": challenge })).into_response()
        }
        Ok(events::Outcome::Done) => StatusCode::OK.into_response(),
        Err(e) => {
            // 500 makes Slack retry later; the event id was not recorded as handled.
            tracing::error!(error = %e, "handling a Slack event");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn interactivity(
    State(slack): State<Arc<Slack>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = verified(&slack, &headers, &body) {
        return *refused;
    }
    let form = form(&body);
    let Some(payload) = form
        .get("payload")
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
    else {
        return (StatusCode::BAD_REQUEST, "no payload").into_response();
    };
    match interactions::handle(&slack, &payload).await {
        Some(body) => Json(body).into_response(),
        None => StatusCode::OK.into_response(),
    }
}

async fn install_start(State(slack): State<Arc<Slack>>) -> Response {
    install::start(&slack).await
}

async fn install_finish(
    State(slack): State<Arc<Slack>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    install::finish(&slack, &headers, &query).await
}

async fn ready(State(slack): State<Arc<Slack>>) -> Response {
    crate::ops::readiness(&slack.app).await
}
