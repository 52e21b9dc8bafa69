//! Socket Mode: for communities with no public URL, Keel connects out to Slack
//! (apps.connections.open with the app-level token, then a websocket) and serves
//! the same slash commands and events it serves over HTTP. Each envelope is
//! acknowledged by its id; a disconnect or a dropped socket reconnects with backoff.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use slack_morphism::prelude::*;
use tokio_tungstenite::tungstenite::Message;

use super::commands::{self, SlashCommand};
use super::{Slack, api, events, interactions};
use crate::jobs::Shutdown;

enum Next {
    Reconnect,
    Stop,
}

/// Serves Socket Mode until shutdown.
pub async fn run(slack: Arc<Slack>, app_token: String, mut shutdown: Shutdown) {
    let mut backoff = Duration::from_secs(1);
    loop {
        match connect_once(&slack, &app_token, &mut shutdown).await {
            Ok(Next::Stop) => return,
            Ok(Next::Reconnect) => {
                backoff = Duration::from_secs(1);
                // Slack closes sockets routinely; a short pause keeps a flapping
                // connection from hammering apps.connections.open.
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    _ = shutdown.wait() => return,
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, wait_s = backoff.as_secs(), "Socket Mode connection failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.wait() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        }
    }
}

async fn connect_once(
    slack: &Arc<Slack>,
    app_token: &str,
    shutdown: &mut Shutdown,
) -> Result<Next, String> {
    let token = api::token(app_token);
    let opened = api::within(
        slack.call_timeout,
        slack
            .client
            .open_session(&token)
            .apps_connections_open(&SlackApiAppsConnectionOpenRequest::new()),
    )
    .await
    .map_err(|e| format!("apps.connections.open: {e}"))?;
    let (socket, _) = tokio_tungstenite::connect_async(opened.url.0.as_str())
        .await
        .map_err(|e| format!("websocket: {e}"))?;
    tracing::info!("Socket Mode connected");
    let (mut outgoing, mut incoming) = socket.split();
    loop {
        let message = tokio::select! {
            m = incoming.next() => m,
            _ = shutdown.wait() => {
                let _ = outgoing.send(Message::Close(None)).await;
                return Ok(Next::Stop);
            }
        };
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Ping(data))) => {
                outgoing
                    .send(Message::Pong(data))
                    .await
                    .map_err(|e| e.to_string())?;
                continue;
            }
            Some(Ok(Message::Close(_))) | None => return Ok(Next::Reconnect),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.to_string()),
        };
        let Ok(envelope) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        let id = envelope["envelope_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        match envelope["type"].as_str() {
            Some("disconnect") => return Ok(Next::Reconnect),
            Some("slash_commands") => {
                let response = slash_command(slack, &envelope["payload"]).await;
                let ack = if response.is_null() {
                    json!({"envelope_id": id})
                } else {
                    json!({"envelope_id": id, "payload": response})
                };
                outgoing
                    .send(Message::text(ack.to_string()))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Some("events_api") => {
                // Acknowledged once handled, as over HTTP: an event that failed is
                // left unacknowledged, and Slack delivers it again.
                if let Err(e) = events::handle(slack, &envelope["payload"]).await {
                    tracing::error!(error = %e, "handling a Socket Mode event; left for Slack to retry");
                    continue;
                }
                outgoing
                    .send(Message::text(json!({"envelope_id": id}).to_string()))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Some("interactive") => {
                let response = interactions::handle(slack, &envelope["payload"]).await;
                let ack = match response {
                    Some(payload) => json!({"envelope_id": id, "payload": payload}),
                    None => json!({"envelope_id": id}),
                };
                outgoing
                    .send(Message::text(ack.to_string()))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Some(_) if !id.is_empty() => {
                outgoing
                    .send(Message::text(json!({"envelope_id": id}).to_string()))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            _ => {}
        }
    }
}

async fn slash_command(slack: &Arc<Slack>, payload: &Value) -> Value {
    let form = payload
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    match SlashCommand::from_form(&form) {
        Some(command) => commands::run(slack, command).await.unwrap_or(Value::Null),
        None => super::render::error("That command arrived without its workspace or user."),
    }
}
