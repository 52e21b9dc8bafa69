//! The Events API: each event id handled once, durably (S5); messages and
//! reactions counted as activity when enabled (counts only, P1); newcomers
//! welcomed with the mission, and joins and leaves (deactivations) recorded, when
//! enabled; uninstall and revoked tokens delete the
//! workspace's tokens and schedule its data for purge (S9); edited accounts and
//! user groups make Keel ask Slack again who organises.

use serde_json::Value;
use slack_morphism::prelude::*;

use super::{Slack, api, inbox, render};
use crate::app::Activity;
use crate::domain::command::Command;
use crate::domain::{Platform, Role};
use crate::error::{Error, Result};
use crate::store::slack::Received;

/// What the HTTP layer answers.
pub enum Outcome {
    Challenge(String),
    Done,
}

pub async fn handle(slack: &Slack, payload: &Value) -> Result<Outcome> {
    match payload["type"].as_str() {
        Some("url_verification") => Ok(Outcome::Challenge(
            payload["challenge"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )),
        Some("event_callback") => {
            let team = payload["team_id"].as_str().unwrap_or_default();
            if payload["event_id"].as_str().is_none_or(str::is_empty) {
                return Ok(Outcome::Done);
            }
            let key = inbox::dedupe_key(inbox::EVENT, payload, "");
            let row = match inbox::receive(slack, &key, inbox::EVENT, team, payload).await? {
                Received::Claimed(row) => row,
                Received::Handled | Received::Busy => {
                    tracing::debug!(%key, "event already handled or being handled; a retry");
                    return Ok(Outcome::Done);
                }
            };
            let handled = event(slack, team, &payload["event"]).await;
            // Not handled: the row is released, and Slack's retry (answered 500
            // now) or the inbox's own loop handles it.
            inbox::settle(slack, &row, handled.as_ref().map(|_| ())).await;
            handled.map(|_| Outcome::Done)
        }
        _ => Ok(Outcome::Done),
    }
}

/// Runs one event's effect.
pub async fn event(slack: &Slack, team: &str, event: &Value) -> Result<()> {
    let kind = event["type"].as_str().unwrap_or_default();
    let user = event["user"].as_str().unwrap_or_default();
    match kind {
        "app_uninstalled" => uninstalled(slack, team).await,
        "tokens_revoked" => {
            let bots = event["tokens"]["bot"]
                .as_array()
                .map(|b| !b.is_empty())
                .unwrap_or(false);
            if bots {
                uninstalled(slack, team).await
            } else {
                Ok(())
            }
        }
        "message" | "reaction_added" if slack.settings.count_activity => {
            // Skip bots, edits and other subtypes: a person's own message counts once.
            if user.is_empty() || event.get("bot_id").is_some() || event.get("subtype").is_some() {
                return Ok(());
            }
            count(slack, team, user, kind == "message").await
        }
        "app_home_opened" if event["tab"].as_str() == Some("home") && !user.is_empty() => {
            home(slack, team, user).await
        }
        "team_join" => {
            let person = &event["user"];
            let user = person["id"].as_str().unwrap_or(user);
            if user.is_empty() || person["is_bot"].as_bool() == Some(true) {
                return Ok(());
            }
            if slack.settings.count_members && is_installed(slack, team).await? {
                let name = person["profile"]["display_name"]
                    .as_str()
                    .filter(|n| !n.is_empty())
                    .or(person["real_name"].as_str())
                    .or(person["name"].as_str())
                    .unwrap_or(user);
                let envelope = super::commands::envelope(team, team, user, name, Role::Member);
                slack.app.member_joined(&envelope).await?;
            }
            if slack.settings.welcome {
                welcome(slack, team, user).await?;
            }
            Ok(())
        }
        "user_change" => {
            let person = &event["user"];
            let Some(user) = person["id"].as_str() else {
                return Ok(());
            };
            // The account may have gained or lost admin rights.
            slack.directory.forget(team, [user]);
            // A deactivated account has left the workspace.
            if slack.settings.count_members && person["deleted"].as_bool() == Some(true) {
                slack.app.member_left(Platform::Slack, team, user).await?;
            }
            Ok(())
        }
        // Members joined or left a user group, perhaps the organiser group.
        "subteam_members_changed" => {
            let changed = ["added_users", "removed_users"]
                .into_iter()
                .filter_map(|list| event[list].as_array())
                .flatten()
                .filter_map(Value::as_str);
            slack.directory.forget(team, changed);
            Ok(())
        }
        _ => Ok(()),
    }
}

async fn count(slack: &Slack, team: &str, user: &str, message: bool) -> Result<()> {
    if !is_installed(slack, team).await? {
        return Ok(());
    }
    // Events carry only the user id: the core asks for the name if it needs it.
    let envelope = super::commands::envelope(team, team, user, "", Role::Member);
    let activity = if message {
        Activity::Message
    } else {
        Activity::Reaction
    };
    slack
        .app
        .record_activity(&envelope, activity, async || {
            member_name(slack, team, user).await
        })
        .await
}

/// What Slack calls `user`, for events that carry only their id; None when
/// Keel has no token for the team or Slack does not say in time.
async fn member_name(slack: &Slack, team: &str, user: &str) -> Option<String> {
    let token = slack.bot_token(team).await.ok().flatten()?;
    slack.directory.display_name(&token, team, user).await
}

async fn welcome(slack: &Slack, team: &str, user: &str) -> Result<()> {
    let Some(card) = slack.app.welcome(Platform::Slack, team).await? else {
        return Ok(());
    };
    let Some(token) = slack.bot_token(team).await? else {
        return Ok(());
    };
    let request = SlackApiChatPostMessageRequest::new(
        SlackChannelId(user.to_string()),
        render::content(&render::message(&card)),
    );
    let token = api::token(&token);
    // A failure fails the event, and Slack delivers it again later.
    api::within(
        slack.call_timeout,
        slack
            .client
            .open_session(&token)
            .chat_post_message(&request),
    )
    .await
    .map_err(|e| Error::internal("sending the welcome", e))?;
    Ok(())
}

/// The App Home tab: the mission, open goals and the member's own totals.
async fn home(slack: &Slack, team: &str, user: &str) -> Result<()> {
    if !is_installed(slack, team).await? {
        return Ok(());
    }
    let envelope = super::commands::envelope(team, team, user, "", Role::Member);
    let named = slack
        .app
        .actor_of_event(&envelope, async || member_name(slack, team, user).await)
        .await;
    let Ok(actor) = named else {
        return Ok(());
    };
    let mut blocks = Vec::new();
    for command in [Command::MissionShow, Command::GoalList, Command::StatsMe] {
        if let Ok(reply) = slack.app.handle(&actor, command).await {
            if !blocks.is_empty() {
                blocks.push(serde_json::json!({"type": "divider"}));
            }
            blocks.extend(render::blocks(&reply));
        }
    }
    blocks.truncate(100);
    let view: SlackView =
        serde_json::from_value(serde_json::json!({"type": "home", "blocks": blocks}))?;
    let Some(token) = slack.bot_token(team).await? else {
        return Ok(());
    };
    let token = api::token(&token);
    let request = SlackApiViewsPublishRequest::new(SlackUserId(user.to_string()), view);
    let session = slack.client.open_session(&token);
    if let Err(e) = api::within(slack.call_timeout, session.views_publish(&request)).await {
        tracing::warn!(error = %e, "publishing the App Home failed");
    }
    Ok(())
}

/// Later events for an uninstalled team make no API call and change nothing.
async fn is_installed(slack: &Slack, team: &str) -> Result<bool> {
    Ok(slack.settings.bot_token.is_some()
        || slack.app.store().slack_sealed_token(team).await?.is_some())
}

async fn uninstalled(slack: &Slack, team: &str) -> Result<()> {
    let now = slack.app.now();
    let purge_at = now + chrono::Duration::days(i64::from(slack.settings.purge_after_days));
    let removed = slack
        .app
        .store()
        .uninstall_slack_team(team, purge_at)
        .await?;
    tracing::info!(
        removed,
        "Slack workspace uninstalled; tokens deleted, data purge scheduled"
    );
    slack.mark_awaiting_purge(team);
    Ok(())
}

/// Forgets handled inbox rows after two days (Slack retries within hours) and used
/// install states once expired, every hour until the process stops.
pub async fn maintain(slack: std::sync::Arc<Slack>, mut shutdown: crate::jobs::Shutdown) {
    loop {
        let before = slack.app.now() - chrono::Duration::days(2);
        if let Err(e) = slack.app.store().prune_slack_inbox(before).await {
            tracing::warn!(error = %e, "pruning the Slack inbox");
        }
        prune_spent_states(&slack, &shutdown).await;
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
            _ = shutdown.wait() => return,
        }
    }
}

/// Used install states to delete per transaction, so the write lock is never held
/// long whatever a flood of callbacks left behind (R6).
const PRUNE_BATCH: u32 = 1000;

/// Deletes expired used install states, a batch per transaction.
async fn prune_spent_states(slack: &Slack, shutdown: &crate::jobs::Shutdown) {
    let now = slack.app.now();
    while !shutdown.is_triggered() {
        match slack
            .app
            .store()
            .prune_spent_install_states(now, PRUNE_BATCH)
            .await
        {
            Ok(gone) if gone < u64::from(PRUNE_BATCH) => return,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "pruning used install states");
                return;
            }
        }
    }
}
