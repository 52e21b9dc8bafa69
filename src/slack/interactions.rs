//! Interactivity: form submissions, the message shortcut that opens one
//! (`shortcuts`), and the buttons under review requests (`buttons`). A valid submission runs the same core command
//! the text would have, closes the form and confirms privately in the channel; a
//! refused one keeps the form open with the message under the field at fault.

use serde_json::{Value, json};
use slack_morphism::prelude::*;

use super::commands::{envelope, organiser_role};
use super::{Slack, api, buttons, forms, shortcuts};
use crate::domain::command::{Command, RoleCheck};
use crate::domain::{Reply, Role, UserError};

/// The body to answer with, or None for a plain 200.
pub async fn handle(slack: &Slack, payload: &Value) -> Option<Value> {
    match payload["type"].as_str() {
        Some("message_action") => return shortcuts::message_action(slack, payload).await,
        Some("block_actions") => return buttons::pressed(slack, payload).await,
        _ => {}
    }
    if payload["type"].as_str() != Some("view_submission") {
        return None;
    }
    let view = &payload["view"];
    let callback = view["callback_id"].as_str().unwrap_or_default();
    let (team, user, user_name) = sender(payload);
    let metadata = forms::Metadata::read(view["private_metadata"].as_str().unwrap_or_default());
    let channel = metadata.channel.clone();
    if team.is_empty() || user.is_empty() {
        return None;
    }
    let errors = |block: &str, e: &UserError| json!({"response_action": "errors", "errors": {block: e.to_string()}});
    let command = match forms::command(callback, &view["state"]["values"], &metadata)? {
        Ok(c) => shortcuts::name_author(slack, team, c).await,
        Err((block, e)) => return Some(errors(block, &e)),
    };
    // The core decides; the form closes only once it accepted the command.
    let message = match run_as(slack, team, user, user_name, command).await {
        Err(e) => return Some(errors(forms::block_for(callback, &e), &e)),
        Ok(reply) => super::render::message(&reply),
    };
    confirm(slack, team, &channel, user, &message).await;
    None
}

/// Who sent an interaction payload, as Slack signed it: (team, user, the user's
/// name, else their id). Empty when Slack did not say.
pub(super) fn sender(payload: &Value) -> (&str, &str, &str) {
    let team = payload["team"]["id"]
        .as_str()
        .or_else(|| payload["user"]["team_id"].as_str())
        .unwrap_or_default();
    let user = payload["user"]["id"].as_str().unwrap_or_default();
    let name = payload["user"]["username"]
        .as_str()
        .or_else(|| payload["user"]["name"].as_str())
        .unwrap_or(user);
    (team, user, name)
}

/// Runs `command` as the member who submitted a form or pressed a button: who
/// they are is what Slack's signed payload says, their role is asked of Slack
/// when the command needs it, and the core decides whether they may.
pub(super) async fn run_as(
    slack: &Slack,
    team: &str,
    user: &str,
    user_name: &str,
    command: Command,
) -> Result<Reply, UserError> {
    let role = match command.role_check() {
        RoleCheck::Unneeded => Role::Member,
        check => match organiser_role(slack, team, user).await {
            Ok(role) => role,
            Err(_) if check == RoleCheck::Preferred => Role::Member,
            Err(e) => return Err(e),
        },
    };
    if let Err(e) = slack.in_use(team, team).await {
        return Err(slack.app.report(e, "cancelling a scheduled purge"));
    }
    let actor = slack
        .app
        .actor(&envelope(team, team, user, user_name, role))
        .await?;
    slack.app.handle(&actor, command).await
}

/// Shows the outcome to the member alone, in the channel they opened the form from.
pub(super) async fn confirm(slack: &Slack, team: &str, channel: &str, user: &str, message: &Value) {
    if channel.is_empty() {
        return;
    }
    let Ok(Some(token)) = slack.bot_token(team).await else {
        return;
    };
    let request = SlackApiChatPostEphemeralRequest::new(
        SlackChannelId(channel.to_string()),
        SlackUserId(user.to_string()),
        super::render::content(message),
    );
    let token = api::token(&token);
    let session = slack.client.open_session(&token);
    if let Err(e) = api::within(slack.call_timeout, session.chat_post_ephemeral(&request)).await {
        tracing::warn!(error = %e, "confirming a form submission failed");
    }
}
