//! `/keel <verb> …`: the same text syntax as the console, answered within Slack's
//! three seconds. Private replies are ephemeral; public ones go to the channel.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};
use slack_morphism::prelude::*;

use super::{Slack, api, files, forms, render};
use crate::app::Turn;
use crate::domain::command::{Command, RoleCheck};
use crate::domain::command_table::{self, entry};
use crate::domain::parse::parse;
use crate::domain::{Envelope, Platform, Reply, Role, UserError};

/// A slash command's form fields, as Slack posts them.
pub struct SlashCommand {
    pub team_id: String,
    pub team_domain: String,
    pub user_id: String,
    pub user_name: String,
    pub text: String,
    pub channel_id: String,
    pub trigger_id: String,
    pub response_url: String,
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
            channel_id: get("channel_id").unwrap_or_default(),
            trigger_id: get("trigger_id").unwrap_or_default(),
            response_url: get("response_url").unwrap_or_default(),
        })
    }
}

impl SlashCommand {
    /// A slash command as Socket Mode carries it: the same fields, in JSON.
    pub fn from_json(payload: &Value) -> Option<SlashCommand> {
        let form = payload
            .as_object()?
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect();
        SlashCommand::from_form(&form)
    }

    /// The member running the command, in the community of the signed team.
    async fn actor(&self, slack: &Slack, role: Role) -> Result<crate::domain::Actor, UserError> {
        let app = &slack.app;
        if let Err(e) = slack.in_use(&self.team_id, &self.team_domain).await {
            return Err(app.report(e, "cancelling a scheduled purge"));
        }
        let actor = app
            .actor(&envelope(
                &self.team_id,
                &self.team_domain,
                &self.user_id,
                &self.user_name,
                role,
            ))
            .await?;
        Ok(actor.with_upload_limit(slack.settings.max_upload_bytes))
    }
}

/// The envelope of a slash command or form: team and user from the signed request.
pub fn envelope(
    team_id: &str,
    team_name: &str,
    user_id: &str,
    user_name: &str,
    role: Role,
) -> Envelope {
    Envelope {
        platform: Platform::Slack,
        // The team comes from the signed request, never from the text (T2).
        workspace_id: team_id.to_string(),
        workspace_name: if team_name.is_empty() {
            team_id.to_string()
        } else {
            team_name.to_string()
        },
        user_id: user_id.to_string(),
        user_name: if user_name.is_empty() {
            user_id.to_string()
        } else {
            user_name.to_string()
        },
        role,
    }
}

/// What a replayed slash command is told.
pub fn already_received() -> Value {
    json!({
        "response_type": "ephemeral",
        "text": "That command was already received, so it was not run again.",
    })
}

/// Runs a slash command; the response body, or None for an empty acknowledgement
/// (a form was opened).
pub async fn run(slack: &Arc<Slack>, command: SlashCommand) -> Option<Value> {
    let app = &slack.app;
    // A verb with nothing after it opens its form, where there is one.
    if let Some(verb) = command_table::bare(&command.text) {
        if verb.name == entry!("contribute").name {
            return open_form(slack, &command, false).await;
        }
        if verb.name == entry!("goal create").name {
            return open_form(slack, &command, true).await;
        }
    }
    let parsed = match parse(&command.text, app.today()) {
        Ok(c) => c,
        Err(e) => return Some(render::error(&e.to_string())),
    };
    // Only ask Slack who organises when the command needs it: most do not.
    let role = match parsed.role_check() {
        RoleCheck::Unneeded => Role::Member,
        check => match organiser_role(slack, &command.team_id, &command.user_id).await {
            Ok(role) => role,
            Err(_) if check == RoleCheck::Preferred => Role::Member,
            Err(e) => return Some(render::error(&e.to_string())),
        },
    };
    let actor = match command.actor(slack, role).await {
        Ok(a) => a,
        Err(e) => return Some(render::error(&e.to_string())),
    };
    let turn = app.take_turn(&parsed);
    if let Some((note, _)) = turn.acknowledgement(&parsed)
        && !command.response_url.is_empty()
    {
        // Slow work: acknowledge now, finish through response_url (S4).
        let (slack, url) = (slack.clone(), command.response_url.clone());
        tokio::spawn(async move {
            let message = respond(&slack, &command, &actor, parsed, turn).await;
            follow_up(&slack, &url, message).await;
        });
        return Some(json!({"response_type": "ephemeral", "text": note}));
    }
    Some(respond(slack, &command, &actor, parsed, turn).await)
}

/// Runs a command as an actor and renders the outcome. Files in the reply are
/// shared in Slack: public ones in the command's channel, with the reply as their
/// message (the member is told privately it is there); private ones in the
/// member's direct messages with Keel. The turn is held until they are shared.
pub async fn respond(
    slack: &Slack,
    command: &SlashCommand,
    actor: &crate::domain::Actor,
    parsed: Command,
    mut turn: Turn,
) -> Value {
    let reply = match slack.app.handle_in_turn(actor, parsed, &mut turn).await {
        Ok(reply) => reply,
        Err(UserError::OrganiserOnly { command }) => return organisers_only(&command),
        Err(e) => return render::error(&e.to_string()),
    };
    with_files(
        slack,
        &command.team_id,
        &command.channel_id,
        &command.user_id,
        &reply,
    )
    .await
}

/// A reply as the message that answers `user` in `channel`, its files shared
/// first: public ones in the channel, with the reply as their message (the
/// member is then told privately it is there); private ones in the member's
/// direct messages with Keel, the answer saying so. A file that cannot be
/// shared is shown in the answer instead, if it is small text.
pub(super) async fn with_files(
    slack: &Slack,
    team: &str,
    channel: &str,
    user: &str,
    reply: &Reply,
) -> Value {
    if reply.attachments.is_empty() {
        return render::message(reply);
    }
    let comment = render::truncate(&render::escape(&reply.plain()), render::SECTION_MAX);
    let destination = if reply.is_private() {
        files::Destination::DirectMessage { user }
    } else {
        files::Destination::Channel(channel)
    };
    let names = reply
        .attachments
        .iter()
        .map(|f| format!("`{}`", render::escape(&f.filename)))
        .collect::<Vec<_>>()
        .join(", ");
    let shared = files::share(slack, team, destination, &reply.attachments, &comment).await;
    let (mut message, notes) = match shared {
        // The channel has the reply with the files; the member needs only to know.
        Ok(channel) if !reply.is_private() => {
            let note = format!("📎 {names} shared in <#{channel}>.");
            return json!({
                "response_type": "ephemeral",
                "text": note,
                "blocks": [render::section(note.clone())],
            });
        }
        Ok(_) => (
            render::message(reply),
            vec![format!("📎 {names} in your direct messages with Keel.")],
        ),
        Err(files::NotShared(why)) => (
            render::message(reply),
            reply
                .attachments
                .iter()
                .map(|file| inline_instead(file, &why))
                .collect(),
        ),
    };
    if let Some(blocks) = message["blocks"].as_array_mut() {
        for note in notes {
            blocks.push(render::section(render::truncate(
                &note,
                render::SECTION_MAX,
            )));
        }
    }
    message
}

/// A file that could not be shared: small text is shown in the reply instead.
fn inline_instead(file: &crate::domain::reply::Attachment, why: &str) -> String {
    let textual = file.media_type.starts_with("text/") || file.media_type.contains("json");
    let small = textual
        .then(|| file.contents_up_to(INLINE_MAX).ok().flatten())
        .flatten();
    if let Some(bytes) = small {
        format!(
            "⚠️ {why} Here it is instead:\n```{}```",
            render::escape(&String::from_utf8_lossy(&bytes))
        )
    } else {
        format!(
            "⚠️ `{}` could not be shared: {why}",
            render::escape(&file.filename)
        )
    }
}

/// The longest file shown in a message when it cannot be shared as a file.
const INLINE_MAX: usize = 2500;

/// Who organises on Slack, said where a member is refused an organiser command.
fn organisers_only(command: &str) -> Value {
    render::error(&format!(
        "`{command}` is for organisers: workspace admins and owners, or members of the group set with `/keel setup organiser-role @group`."
    ))
}

/// Posts a late answer to a command's response_url.
pub async fn follow_up(slack: &Slack, url: &str, message: Value) {
    let Some(url) = hooks_url(&slack.settings.api_base, url) else {
        tracing::warn!(
            "a command's response_url is not on Slack's hooks host; its late answer was not sent"
        );
        return;
    };
    let request = SlackApiPostWebhookMessageRequest::new(render::content(&message));
    let posted = api::within(
        slack.call_timeout,
        slack.client.post_webhook_message(&url, &request),
    );
    if let Err(e) = posted.await {
        tracing::warn!(error = %e, "response_url follow-up failed");
    }
}

/// Where Slack sends late answers: https://hooks.slack.com/… only.
const HOOKS_HOST: &str = "hooks.slack.com";

/// A response_url Keel may post to: on Slack's hooks host over https, or, when
/// `slack.api_base` is not Slack's own (a test's fake Slack, a proxy), also on the
/// base's own scheme, host and port. Anything else would let a signed request
/// steer Keel's posts to any address (R5), so it gets no request at all.
fn hooks_url(api_base: &str, response_url: &str) -> Option<url::Url> {
    let url = url::Url::parse(response_url).ok()?;
    if url.scheme() == "https"
        && url.host_str() == Some(HOOKS_HOST)
        && url.port().is_none()
        && url.username().is_empty()
        && url.password().is_none()
    {
        return Some(url);
    }
    let base = url::Url::parse(api_base).ok()?;
    let overridden = base.host_str() != Some("slack.com");
    (overridden && url.origin() == base.origin()).then_some(url)
}

async fn open_form(slack: &Slack, command: &SlashCommand, goal: bool) -> Option<Value> {
    let app = &slack.app;
    // The form's command decides who may open it, as it decides who may submit it.
    let form_of = if goal {
        entry!("goal create")
    } else {
        entry!("contribute")
    };
    let role = match form_of.access.role_check() {
        RoleCheck::Unneeded => Role::Member,
        _ => match organiser_role(slack, &command.team_id, &command.user_id).await {
            Ok(role) => role,
            Err(e) => return Some(render::error(&e.to_string())),
        },
    };
    if form_of.organisers_only() && role != Role::Organiser {
        return Some(organisers_only(form_of.name));
    }
    let actor = match command.actor(slack, role).await {
        Ok(a) => a,
        Err(e) => return Some(render::error(&e.to_string())),
    };
    let view = if goal {
        forms::goal_create(&command.channel_id)
    } else {
        let (goals, values) = contribution_choices(app, actor.community).await;
        forms::contribute(&command.channel_id, &goals, &values)
    };
    match open_view(slack, &command.team_id, &command.trigger_id, view).await {
        Ok(()) => None,
        Err(e) => {
            tracing::warn!(error = %e, "opening a form failed");
            Some(render::error(
                "The form could not be opened. Type it instead, like `/keel contribute Planted 40 oaks amount=40`.",
            ))
        }
    }
}

/// What the contribution form offers: the open goals (slug, title) and the
/// mission's values; none of either when they cannot be read.
pub(super) async fn contribution_choices(
    app: &crate::app::App,
    community: crate::domain::CommunityId,
) -> (Vec<(String, String)>, Vec<String>) {
    let goals = app
        .store()
        .open_goals(community)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|g| (g.slug, g.title))
        .collect();
    let values = app
        .store()
        .current_mission(community)
        .await
        .ok()
        .flatten()
        .map(|m| m.values)
        .unwrap_or_default();
    (goals, values)
}

/// Opens a form (views.open) with the trigger Slack gave the member's action.
pub(super) async fn open_view(
    slack: &Slack,
    team_id: &str,
    trigger_id: &str,
    view: Value,
) -> Result<(), String> {
    let token = slack
        .bot_token(team_id)
        .await
        .ok()
        .flatten()
        .ok_or("not installed")?;
    let view: SlackView = serde_json::from_value(view).map_err(|e| e.to_string())?;
    let request = SlackApiViewsOpenRequest::new(SlackTriggerId(trigger_id.to_string()), view);
    let token = api::token(&token);
    api::within(
        slack.call_timeout,
        slack.client.open_session(&token).views_open(&request),
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(())
}

/// Whether Slack says this user organises (admin, owner, or in the organiser group);
/// an error for the member when Slack could not say.
pub async fn organiser_role(
    slack: &Slack,
    team_id: &str,
    user_id: &str,
) -> Result<Role, UserError> {
    let Ok(Some(token)) = slack.bot_token(team_id).await else {
        return Ok(Role::Member);
    };
    let group = slack
        .app
        .store()
        .workspace_by_external(Platform::Slack, team_id)
        .await
        .ok()
        .flatten()
        .and_then(|w| w.organiser_role);
    match slack
        .directory
        .is_organiser(&token, team_id, user_id, group.as_deref())
        .await
    {
        Ok(true) => Ok(Role::Organiser),
        Ok(false) => Ok(Role::Member),
        Err(_) => Err(UserError::invalid(
            "Keel could not check with Slack whether you organise this workspace: Slack did not answer.",
            "Nothing was changed; try again in a moment.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::hooks_url;

    const SLACK: &str = "https://slack.com/api";

    #[test]
    fn late_answers_go_only_to_slacks_hooks_host() {
        let hook = "https://hooks.slack.com/commands/T1/397700885554/96rGlfmibIGlgcZRskXaIFfN";
        assert!(hooks_url(SLACK, hook).is_some());
        for refused in [
            "http://hooks.slack.com/commands/T1/1/x",
            "https://hooks.slack.com:8443/commands/T1/1/x",
            "https://hooks.slack.com.evil.example/commands/T1/1/x",
            "https://user@hooks.slack.com/commands/T1/1/x",
            "https://evil.example/commands/T1/1/x",
            "https://slack.com/api/chat.postMessage",
            "http://127.0.0.1:8080/hooks/1",
            "http://169.254.169.254/latest/meta-data/",
            "not a url",
            "",
        ] {
            assert!(hooks_url(SLACK, refused).is_none(), "{refused}");
        }
    }

    #[test]
    fn an_overridden_api_base_also_allows_its_own_origin() {
        let base = "http://127.0.0.1:4000/api";
        assert!(hooks_url(base, "http://127.0.0.1:4000/hooks/1").is_some());
        assert!(hooks_url(base, "https://hooks.slack.com/commands/T1/1/x").is_some());
        assert!(hooks_url(base, "http://127.0.0.1:4001/hooks/1").is_none());
        assert!(hooks_url(base, "https://127.0.0.1:4000/hooks/1").is_none());
    }
}
