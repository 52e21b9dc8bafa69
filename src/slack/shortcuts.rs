//! The message shortcut "Log as contribution" (callback `keel_log_message` in
//! slack-app-manifest.yml): it opens the contribution form prefilled with the
//! message's text, carrying its author and channel; the submission
//! (`forms::CONTRIBUTE_FOR`) runs the core's `contribute-for`, which decides
//! whose it is and who may log it.

use serde_json::Value;

use super::commands::{contribution_choices, envelope, open_view};
use super::{Slack, forms, interactions};
use crate::domain::command::Command;
use crate::domain::contribution::from_message;
use crate::domain::{MemberRef, Role};

/// The shortcut's callback id.
pub const LOG_MESSAGE: &str = "keel_log_message";

/// Answers a `message_action` payload: opens the form, or tells the member
/// privately why not. The body to answer with, or None for a plain 200.
pub async fn message_action(slack: &Slack, payload: &Value) -> Option<Value> {
    if payload["callback_id"].as_str() != Some(LOG_MESSAGE) {
        return None;
    }
    let (team, user, user_name) = interactions::sender(payload);
    let channel = payload["channel"]["id"].as_str().unwrap_or_default();
    let trigger = payload["trigger_id"].as_str().unwrap_or_default();
    if team.is_empty() || user.is_empty() {
        return None;
    }
    let tell = async |text: &str| {
        let message = super::render::error(text);
        interactions::confirm(slack, team, channel, user, &message).await;
    };
    // Messages from apps and bots have no member to credit.
    let Some(author) = payload["message"]["user"]
        .as_str()
        .filter(|a| !a.is_empty())
    else {
        tell("That message was not written by a member, so it cannot be logged as their contribution.").await;
        return None;
    };
    let text = from_message::description(&unescape(
        payload["message"]["text"].as_str().unwrap_or_default(),
    ));
    if let Err(e) = slack.in_use(team, team).await {
        let shown = slack.app.report(e, "cancelling a scheduled purge");
        tell(&shown.to_string()).await;
        return None;
    }
    // Who runs it matters only at submission, where the core decides.
    let actor = match slack
        .app
        .actor(&envelope(team, team, user, user_name, Role::Member))
        .await
    {
        Ok(a) => a,
        Err(e) => {
            tell(&e.to_string()).await;
            return None;
        }
    };
    let (goals, values) = contribution_choices(&slack.app, actor.community).await;
    let view = forms::contribute_for(channel, author, &text, &goals, &values);
    if let Err(e) = open_view(slack, team, trigger, view).await {
        tracing::warn!(error = %e, "opening the form for a message failed");
        tell("The form could not be opened. Try again, or type it: `/keel contribute-for @member what they did`.").await;
    }
    None
}

/// The command with its author named as Slack names them, so a member first
/// seen as a message's author is not stored under their user id.
pub async fn name_author(slack: &Slack, team: &str, command: Command) -> Command {
    let Command::ContributeFor {
        author: MemberRef::PlatformUser { id, name: None },
        new,
    } = command
    else {
        return command;
    };
    let name = match slack.bot_token(team).await {
        Ok(Some(token)) => slack.directory.display_name(&token, team, &id).await,
        _ => None,
    };
    Command::ContributeFor {
        author: MemberRef::PlatformUser { id, name },
        new,
    }
}

/// Slack's message text with its three escaped characters written plainly.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_offers_the_shortcut_keel_answers() {
        let manifest = include_str!("../../slack-app-manifest.yml");
        let shortcut = manifest.split("shortcuts:").nth(1).unwrap();
        assert!(shortcut.contains("type: message"), "{shortcut}");
        assert!(
            shortcut.contains(&format!("callback_id: {LOG_MESSAGE}")),
            "{shortcut}"
        );
    }

    #[test]
    fn a_forms_metadata_keeps_its_channel_and_author() {
        let with_author = forms::Metadata {
            channel: "C1".into(),
            author: Some("U2".into()),
            contribution: None,
        };
        assert_eq!(forms::Metadata::read(&with_author.write()), with_author);
        let rejecting = forms::Metadata {
            channel: "C1".into(),
            author: None,
            contribution: Some(crate::domain::ContributionId(12)),
        };
        assert_eq!(forms::Metadata::read(&rejecting.write()), rejecting);
        // Forms opened by a slash command carry the channel alone, as before.
        let plain = forms::Metadata::read("C1");
        assert_eq!((plain.channel.as_str(), plain.author), ("C1", None));
        assert_eq!(unescape("a &lt;b&gt; &amp;amp;"), "a <b> &amp;");
    }
}
