//! The inbox: what Slack sends is written to a row before it is acknowledged, and
//! marked handled after its effect (migration 0015). A duplicate of a handled row
//! changes nothing; a row left unhandled by a crash or a failure is handled again
//! by [`run`], so nothing acknowledged is lost (RELIABILITY.md S5, R9).

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::commands::{self, SlashCommand};
use super::{Slack, events, interactions};
use crate::error::Result;
use crate::jobs::Shutdown;
use crate::store::slack::{InboxRow, Received};

/// How long a claim on a row lasts: longer than any handler takes, whose calls to
/// Slack each have a deadline.
pub const CLAIM: chrono::Duration = chrono::Duration::minutes(2);
/// After this many failed attempts a row is given up, its error kept.
const MAX_ATTEMPTS: i64 = 5;
/// The most rows handled at once by [`run`].
const CONCURRENCY: usize = 8;

/// What a row holds, by the kind Slack gave it.
pub const EVENT: &str = "events_api";
pub const SLASH_COMMAND: &str = "slash_commands";
pub const INTERACTIVE: &str = "interactive";

/// Writes what Slack sent into the inbox and claims it if it needs handling.
pub async fn receive(
    slack: &Slack,
    dedupe_key: &str,
    kind: &str,
    team: &str,
    payload: &Value,
) -> Result<Received> {
    let now = slack.app.now();
    let payload = kept(kind, payload).to_string();
    slack
        .app
        .store()
        .receive_from_slack(dedupe_key, kind, team, &payload, now, CLAIM)
        .await
}

/// What of a payload the inbox keeps: everything but what people wrote in their
/// messages, which Keel counts and never stores (RELIABILITY.md P1).
fn kept(kind: &str, payload: &Value) -> Value {
    let mut kept = payload.clone();
    if kind == EVENT
        && let Some(event) = kept.get_mut("event").and_then(Value::as_object_mut)
    {
        for content in [
            "text",
            "blocks",
            "attachments",
            "files",
            "message",
            "previous_message",
        ] {
            event.remove(content);
        }
    }
    kept
}

/// The row's key: an event by its event id, a slash command by its trigger id
/// (one invocation, whatever envelope carries it), anything else by `envelope`.
pub fn dedupe_key(kind: &str, payload: &Value, envelope: &str) -> String {
    let field = |name: &str| payload[name].as_str().filter(|v| !v.is_empty());
    match (kind, field("event_id"), field("trigger_id")) {
        (EVENT, Some(event), _) => format!("event:{event}"),
        (SLASH_COMMAND, _, Some(trigger)) => format!("trigger:{trigger}"),
        _ => format!("envelope:{envelope}"),
    }
}

/// Runs a claimed row's effect. A slash command or interaction answers with the
/// body Slack shows, if any.
pub async fn handle(slack: &Arc<Slack>, row: &InboxRow) -> Result<Option<Value>> {
    let payload: Value = serde_json::from_str(&row.payload)?;
    match row.kind.as_str() {
        EVENT => {
            events::event(slack, &row.team_id, &payload["event"]).await?;
            Ok(None)
        }
        SLASH_COMMAND => Ok(match SlashCommand::from_json(&payload) {
            Some(command) => commands::run(slack, command).await,
            None => Some(super::render::error(
                "That command arrived without its workspace or user.",
            )),
        }),
        INTERACTIVE => Ok(interactions::handle(slack, &payload).await),
        other => {
            tracing::warn!(kind = other, "an inbox row of a kind Keel does not handle");
            Ok(None)
        }
    }
}

/// Records how handling went: handled, or released to be tried again (at once
/// the first time, so that Slack's own retry of an event is handled; then after a
/// growing wait), and given up after a few attempts.
pub async fn settle(slack: &Slack, row: &InboxRow, outcome: Result<(), &crate::error::Error>) {
    let now = slack.app.now();
    let store = slack.app.store();
    let settled = match outcome {
        Ok(()) => store.mark_inbox_handled(row.id, now).await,
        Err(e) => {
            let give_up = row.attempts >= MAX_ATTEMPTS;
            let wait = match row.attempts {
                ..=1 => chrono::Duration::zero(),
                n => chrono::Duration::seconds(30 << (n - 2).min(7)),
            };
            tracing::warn!(inbox = row.id, kind = %row.kind, attempts = row.attempts, give_up, error = %e,
                "handling something Slack sent failed");
            let error = e.to_string();
            store
                .mark_inbox_failed(row.id, &error, now + wait, give_up)
                .await
        }
    };
    match settled {
        Err(e) => tracing::error!(inbox = row.id, error = %e, "recording how an inbox row went"),
        // The inbox's loop tries it again when its wait is over.
        Ok(()) if outcome.is_err() => slack.inbox_signal.notify_one(),
        Ok(()) => {}
    }
}

/// Handles every unhandled, unclaimed row once; returns how many were handled.
/// A slash command handled this late answers through its response_url.
pub async fn drain_once(slack: &Arc<Slack>) -> Result<usize> {
    use futures_util::StreamExt;
    let ids = slack
        .app
        .store()
        .unclaimed_inbox_rows(slack.app.now(), 100)
        .await?;
    let handled = futures_util::stream::iter(ids)
        .map(|id| handle_left_over(slack, id))
        .buffer_unordered(CONCURRENCY)
        .filter(|done| std::future::ready(*done))
        .count()
        .await;
    Ok(handled)
}

async fn handle_left_over(slack: &Arc<Slack>, id: i64) -> bool {
    let now = slack.app.now();
    let claimed = slack.app.store().claim_inbox_row(id, now, CLAIM).await;
    let row = match claimed {
        Ok(Some(row)) => row,
        Ok(None) => return false,
        Err(e) => {
            tracing::error!(inbox = id, error = %e, "claiming an inbox row");
            return false;
        }
    };
    let outcome = handle(slack, &row).await;
    if let Ok(Some(body)) = &outcome {
        answer_late(slack, &row, body.clone()).await;
    }
    let ok = outcome.is_ok();
    settle(slack, &row, outcome.as_ref().map(|_| ())).await;
    ok
}

/// Sends an answer that came too late for its acknowledgement to the row's
/// response_url, if it has one (slash commands do).
pub async fn answer_late(slack: &Slack, row: &InboxRow, body: Value) {
    let url = serde_json::from_str::<Value>(&row.payload)
        .ok()
        .and_then(|p| p["response_url"].as_str().map(str::to_string));
    if let Some(url) = url {
        commands::follow_up(slack, &url, body).await;
    }
}

/// Handles what was left unhandled, until shutdown: at start (what a crash left),
/// when woken after a failure, and every half minute.
pub async fn run(slack: Arc<Slack>, mut shutdown: Shutdown) {
    loop {
        if let Err(e) = drain_once(&slack).await {
            tracing::error!(error = %e, "handling the Slack inbox");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            _ = slack.inbox_signal.notified() => {}
            _ = shutdown.wait() => return,
        }
    }
}
