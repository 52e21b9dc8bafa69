//! Buttons under Keel's messages, pressed. Under the review requests the outbox
//! posts to the review channel, Approve runs `review approve` as whoever pressed
//! it and tells them the outcome privately; Reject opens a form asking why, whose
//! submission (`forms::REVIEW_REJECT`) runs `review reject`. Under an event's
//! card, Going, Maybe and Can't go run `event rsvp` as whoever pressed them and
//! answer them privately (a calendar file, if any, goes to their direct messages
//! with Keel: an ephemeral message carries none). Each button's value names what
//! it does ([`Press::key`]), so any replica can answer it. The core decides who
//! may; the outbox then edits every request or card posted, on each platform.

use serde_json::Value;

use super::commands::{open_view, with_files};
use super::interactions::{self, confirm, run_as};
use super::{Slack, forms, render};
use crate::domain::command::Command;
use crate::domain::reply::Press;

/// Answers a `block_actions` payload. The body to answer with, or None for a
/// plain 200.
pub async fn pressed(slack: &Slack, payload: &Value) -> Option<Value> {
    let press = payload["actions"][0]["value"]
        .as_str()
        .and_then(Press::from_key)?;
    let (team, user, user_name) = interactions::sender(payload);
    let channel = payload["channel"]["id"]
        .as_str()
        .or_else(|| payload["container"]["channel_id"].as_str())
        .unwrap_or_default();
    if team.is_empty() || user.is_empty() {
        return None;
    }
    match press {
        Press::Approve(id) => {
            let message =
                match run_as(slack, team, user, user_name, Command::ReviewApprove { id }).await {
                    Ok(reply) => render::message(&reply),
                    Err(e) => render::error(&e.to_string()),
                };
            confirm(slack, team, channel, user, &message).await;
        }
        Press::Met(group, met) => {
            let command = Command::PairMet {
                met,
                group: Some(group),
            };
            let message = match run_as(slack, team, user, user_name, command).await {
                Ok(reply) => render::message(&reply),
                Err(e) => render::error(&e.to_string()),
            };
            confirm(slack, team, channel, user, &message).await;
        }
        Press::Reject(id) => {
            let trigger = payload["trigger_id"].as_str().unwrap_or_default();
            if let Err(e) = open_view(slack, team, trigger, forms::review_reject(channel, id)).await
            {
                tracing::warn!(error = %e, "opening the form to reject a contribution failed");
                let message = render::error(&format!(
                    "The form could not be opened. Try again, or type it: `/keel review reject #{id} reason=\"…\"`."
                ));
                confirm(slack, team, channel, user, &message).await;
            }
        }
        Press::Rsvp(id, answer) => {
            let command = Command::EventRsvp { id, answer };
            let message = match run_as(slack, team, user, user_name, command).await {
                Ok(reply) => with_files(slack, team, channel, user, &reply).await,
                Err(e) => render::error(&e.to_string()),
            };
            confirm(slack, team, channel, user, &message).await;
        }
    }
    None
}
