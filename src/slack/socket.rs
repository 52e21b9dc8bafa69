//! Socket Mode: for communities with no public URL, Keel connects out to Slack
//! (apps.connections.open with the app-level token, then a websocket) and serves
//! the same slash commands and events it serves over HTTP. Each envelope is
//! written to the inbox, acknowledged, and handled beside the others (a bounded
//! number at once), so one slow handler holds up no acknowledgement; a
//! disconnect or a dropped socket reconnects with backoff.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use slack_morphism::prelude::*;
use tokio_tungstenite::tungstenite::Message;

use super::{Slack, api, inbox};
use crate::jobs::Shutdown;
use crate::store::slack::{InboxRow, Received};

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
    // Handlers acknowledge through here, each as soon as it can.
    let (acks, mut to_send) = tokio::sync::mpsc::unbounded_channel::<Value>();
    loop {
        let message = tokio::select! {
            m = incoming.next() => m,
            Some(ack) = to_send.recv() => {
                outgoing.send(Message::text(ack.to_string())).await.map_err(|e| e.to_string())?;
                continue;
            }
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
            Some(kind @ (inbox::EVENT | inbox::SLASH_COMMAND | inbox::INTERACTIVE)) => {
                let payload = &envelope["payload"];
                let team = team_of(payload);
                let key = inbox::dedupe_key(kind, payload, &id);
                // Written down before it is acknowledged: a crash after the ack
                // loses nothing. If it cannot be, it is not acknowledged, and
                // Slack sends it again.
                let received = match inbox::receive(slack, &key, kind, &team, payload).await {
                    Ok(received) => received,
                    Err(e) => {
                        tracing::error!(error = %e, "keeping a Socket Mode envelope; left for Slack to send again");
                        continue;
                    }
                };
                match received {
                    Received::Claimed(row) => {
                        tokio::spawn(handle(slack.clone(), row, id, acks.clone()));
                    }
                    // A redelivery of what is handled, or being handled.
                    Received::Handled | Received::Busy => {
                        let _ = acks.send(json!({"envelope_id": id}));
                    }
                }
            }
            Some(_) if !id.is_empty() => {
                let _ = acks.send(json!({"envelope_id": id}));
            }
            _ => {}
        }
    }
}

/// How long a slash command or interaction has to answer within its
/// acknowledgement; Slack waits three seconds.
const ANSWER_IN_ACK: Duration = Duration::from_millis(2500);

/// Handles one envelope claimed from the inbox. An event is acknowledged at once.
/// A slash command or interaction is acknowledged with its answer when that comes
/// within [`ANSWER_IN_ACK`]; otherwise at once, and a slash command's answer then
/// goes to its response_url.
async fn handle(
    slack: Arc<Slack>,
    row: InboxRow,
    envelope: String,
    acks: tokio::sync::mpsc::UnboundedSender<Value>,
) {
    let ack = |payload: Option<Value>| {
        let ack = match payload {
            Some(payload) => json!({"envelope_id": envelope, "payload": payload}),
            None => json!({"envelope_id": envelope}),
        };
        let _ = acks.send(ack);
    };
    if row.kind == inbox::EVENT {
        ack(None);
    }
    let _permit = slack.handlers.acquire().await;
    let work = inbox::handle(&slack, &row);
    tokio::pin!(work);
    let outcome = if row.kind == inbox::EVENT {
        work.await
    } else {
        match tokio::time::timeout(ANSWER_IN_ACK, &mut work).await {
            Ok(outcome) => {
                ack(outcome.as_ref().ok().cloned().flatten());
                outcome
            }
            Err(_) => {
                ack(None);
                let outcome = work.await;
                if let Ok(Some(body)) = &outcome {
                    inbox::answer_late(&slack, &row, body.clone()).await;
                }
                outcome
            }
        }
    };
    inbox::settle(&slack, &row, outcome.as_ref().map(|_| ())).await;
}

/// The team an envelope's payload belongs to, wherever Slack put it.
fn team_of(payload: &Value) -> String {
    payload["team_id"]
        .as_str()
        .or_else(|| payload["team"]["id"].as_str())
        .or_else(|| payload["user"]["team_id"].as_str())
        .unwrap_or_default()
        .to_string()
}
