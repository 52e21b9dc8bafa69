//! Buttons under Keel's messages (the review requests the outbox posts to the
//! review channel), pressed: Approve runs `review approve` as whoever pressed it
//! and tells them the outcome privately; Reject opens a form asking why, whose
//! submission (`forms::REVIEW_REJECT`) runs `review reject`. Each button's value
//! names what it does ([`Press::key`]), so any replica can answer it. The core
//! decides who may; once decided, the outbox edits every request posted for the
//! contribution, on each platform.

use serde_json::Value;

use super::commands::open_view;
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
    }
    None
}
