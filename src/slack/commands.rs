//! `/keel <verb> …`: the same text syntax as the console, answered within Slack's
//! three seconds. Private replies are ephemeral; public ones go to the channel.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::Slack;
use super::render;
use crate::domain::command::Command;
use crate::domain::parse::parse;
use crate::domain::{Envelope, Platform, Role, UserError};
use crate::store::communities;

/// A slash command's form fields, as Slack posts them.
pub struct SlashCommand {
    pub team_id: String,
    pub team_domain: String,
    pub user_id: String,
    pub user_name: String,
    pub text: String,
}

impl SlashCommand {
    pub fn from_form(form: &HashMap<String, String>) -> Option<SlashCommand> {
        let get = |k: &str| form.get(k).cloned();
        Some(SlashCommand {
            team_id: get("team_id").filter(|t| !t.is_empty())?,
            team_domain: get("team_domain").unwrap_or_default(),
            user_id: get("user_id").filter(|u| !u.is_empty())?,
            user_name: get("user_name").unwrap_or_default(),
            text: get("text").unwrap_or_default(),
        })
    }
}

/// Runs a slash command and returns the response body.
pub async fn run(slack: &Slack, command: SlashCommand) -> Value {
    let app = &slack.app;
    let parsed = match parse(&command.text, app.today()) {
        Ok(c) => c,
        Err(e) => return render::error(&e.to_string()),
    };
    // Only ask Slack who organises when the command needs it: most do not.
    let role = if parsed.requires_organiser() || matches!(parsed, Command::Help { .. }) {
        organiser_role(slack, &command).await
    } else {
        Role::Member
    };
    let envelope = Envelope {
        platform: Platform::Slack,
        // The team comes from the signed request, never from the text (T2).
        workspace_id: command.team_id.clone(),
        workspace_name: if command.team_domain.is_empty() {
            command.team_id.clone()
        } else {
            command.team_domain.clone()
        },
        user_id: command.user_id.clone(),
        user_name: if command.user_name.is_empty() {
            command.user_id.clone()
        } else {
            command.user_name.clone()
        },
        role,
    };
    let actor = match app.actor(&envelope).await {
        Ok(a) => a,
        Err(e) => return render::error(&e.to_string()),
    };
    match app.handle(&actor, parsed).await {
        Ok(reply) => {
            let mut message = render::message(&reply);
            if !reply.attachments.is_empty() {
                // Files need an upload; until then, say where to get them.
                if let Some(blocks) = message["blocks"].as_array_mut() {
                    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn",
                        "text": "Files are not attached on Slack yet: the operator can run `keel export` on the server."}]}));
                }
            }
            message
        }
        Err(UserError::OrganiserOnly { command }) => render::error(&format!(
            "`{command}` is for organisers: workspace admins and owners, or members of the group set with `/keel setup organiser-role @group`."
        )),
        Err(e) => render::error(&e.to_string()),
    }
}

async fn organiser_role(slack: &Slack, command: &SlashCommand) -> Role {
    let Ok(Some(token)) = slack.bot_token(&command.team_id).await else {
        return Role::Member;
    };
    let group = communities::workspace_by_external(
        &slack.app.store().read,
        Platform::Slack,
        &command.team_id,
    )
    .await
    .ok()
    .flatten()
    .and_then(|w| w.organiser_role);
    if slack
        .directory
        .is_organiser(&token, &command.team_id, &command.user_id, group.as_deref())
        .await
    {
        Role::Organiser
    } else {
        Role::Member
    }
}
