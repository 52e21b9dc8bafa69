//! Sharing a reply's files (charts, exports) in Slack: files.getUploadURLExternal,
//! the bytes to the URL Slack gives, then files.completeUploadExternal into a
//! channel. A private file goes to the member's direct messages with Keel.

use std::time::Duration;

use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

use crate::domain::reply::Attachment;
use crate::jobs::outbox::DeliveryError;

use super::upload::UploadError;
use super::{Slack, api};

/// Where a file is shared.
#[derive(Debug, Clone, Copy)]
pub enum Destination<'a> {
    /// The channel the command was typed in: everyone there sees it.
    Channel(&'a str),
    /// The member's direct messages with Keel: only they see it.
    DirectMessage { user: &'a str },
}

/// Why a file could not be shared, said so the member knows what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotShared(pub String);

/// Rate-limited calls are tried this many times in all, waiting Retry-After.
const ATTEMPTS: u32 = 3;
/// The longest Retry-After a member waits for; past it the upload is given up.
const LONGEST_WAIT: Duration = Duration::from_secs(30);

/// Shares `files` in one message with `comment` as its text. Returns the channel
/// they went to.
pub async fn share(
    slack: &Slack,
    team: &str,
    destination: Destination<'_>,
    files: &[Attachment],
    comment: &str,
) -> Result<String, NotShared> {
    let bot_token = match slack.bot_token(team).await {
        Ok(Some(token)) => token,
        Ok(None) => return Err(NotShared("Keel is not installed in this workspace.".into())),
        Err(e) => {
            tracing::error!(error = %e, "reading the bot token to upload a file");
            return Err(NotShared("Keel could not read its installation.".into()));
        }
    };
    let token = api::token(&bot_token);
    let session = slack.client.open_session(&token);
    let channel = match destination {
        Destination::Channel(channel) => channel.to_string(),
        Destination::DirectMessage { user } => {
            let users = [user.to_string()];
            retrying(slack.call_timeout, || {
                api::open_conversation(&session, &users)
            })
            .await
            .map_err(|e| explain(e, "opening your direct messages"))?
        }
    };
    let mut uploaded = Vec::new();
    for file in files {
        let name = file.upload_name();
        let mut ticket =
            SlackApiFilesGetUploadUrlExternalRequest::new(name.clone(), file.upload_len() as usize);
        if file.media_type.starts_with("image/") {
            ticket = ticket.with_alt_txt(comment.chars().take(1000).collect());
        }
        let ticket = retrying(slack.call_timeout, || {
            session.get_upload_url_external(&ticket)
        })
        .await
        .map_err(|e| explain(e, "asking Slack where to upload"))?;
        upload(slack, ticket.upload_url.0.as_str(), &bot_token, file).await?;
        uploaded.push(SlackApiFilesComplete::new(ticket.file_id).with_title(name));
    }
    let complete = SlackApiFilesCompleteUploadExternalRequest::new(uploaded)
        .with_channel_id(SlackChannelId(channel.clone()))
        .with_initial_comment(comment.to_string());
    retrying(slack.call_timeout, || {
        session.files_complete_upload_external(&complete)
    })
    .await
    .map_err(|e| explain(e, "sharing the file"))?;
    Ok(channel)
}

/// Uploads a file's bytes, waiting out 429s as [`retrying`] does.
async fn upload(
    slack: &Slack,
    url: &str,
    bot_token: &str,
    file: &Attachment,
) -> Result<(), NotShared> {
    let doing = "uploading the file";
    let mut attempt = 1;
    loop {
        let failed = match slack.uploader.upload(url, bot_token, file).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        tracing::warn!(error = ?failed, attempt, "uploading a file to Slack failed");
        match failed {
            UploadError::RateLimited(after) if attempt < ATTEMPTS => {
                let wait = after.unwrap_or(Duration::from_secs(1));
                if wait > LONGEST_WAIT {
                    return Err(NotShared(format!(
                        "Slack asked Keel to wait while {doing}; try again in a few minutes."
                    )));
                }
                attempt += 1;
                tokio::time::sleep(wait).await;
            }
            UploadError::RateLimited(_) => {
                return Err(NotShared(format!(
                    "Slack asked Keel to wait while {doing}; try again in a few minutes."
                )));
            }
            UploadError::Refused(status) => {
                return Err(NotShared(format!(
                    "Slack refused the file (HTTP {status}) while {doing}."
                )));
            }
            UploadError::NoAnswer(_) => {
                return Err(NotShared(format!(
                    "Slack did not answer while {doing}; try again in a minute."
                )));
            }
        }
    }
}

/// Runs a Web API call within `timeout`, waiting out 429s (Retry-After, at most `LONGEST_WAIT`).
async fn retrying<T, F: Future<Output = Result<T, SlackClientError>>>(
    timeout: Duration,
    mut call: impl FnMut() -> F,
) -> Result<T, SlackClientError> {
    let mut attempt = 1;
    loop {
        match api::within(timeout, call()).await {
            Err(SlackClientError::RateLimitError(limited)) if attempt < ATTEMPTS => {
                let wait = limited.retry_after.unwrap_or(Duration::from_secs(1));
                if wait > LONGEST_WAIT {
                    return Err(SlackClientError::RateLimitError(limited));
                }
                attempt += 1;
                tokio::time::sleep(wait).await;
            }
            other => return other,
        }
    }
}

/// What the member is told, by what Slack answered.
fn explain(e: SlackClientError, doing: &str) -> NotShared {
    tracing::warn!(error = %e, doing, "sharing a file in Slack failed");
    let code = match &e {
        SlackClientError::ApiError(api) => api.code.as_str(),
        _ => "",
    };
    NotShared(match code {
        "not_in_channel" | "channel_not_found" => {
            "Keel is not in this channel: invite it with `/invite @Keel`, then try again.".into()
        }
        "missing_scope" | "not_allowed_token_type" => {
            "Keel lacks the permission to share files here: an admin can reinstall it (Add to Slack) to grant it.".into()
        }
        "file_uploads_disabled" | "file_upload_disabled" => {
            "File uploads are turned off in this workspace.".into()
        }
        _ => match api::delivery_error(e) {
            DeliveryError::Retry { .. } | DeliveryError::Uncertain(_) => {
                format!("Slack did not answer while {doing}; try again in a minute.")
            }
            DeliveryError::Permanent(reason) => format!("{reason} while {doing}."),
        },
    })
}
