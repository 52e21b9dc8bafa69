//! The Slack Web API through slack-morphism, at a configurable base URL (tests,
//! proxies). Built with an http-or-https connector: the default one refuses
//! plain http, which a local fake needs (PLATFORMS.md).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use slack_morphism::errors::{SlackClientError, SlackClientSystemError};
use slack_morphism::prelude::*;

use crate::jobs::outbox::DeliveryError;

pub type Client = SlackClient<SlackClientHyperConnector<HttpsConnector<HttpConnector>>>;

pub fn client(api_base: &str) -> std::io::Result<Client> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build();
    // slack-morphism puts the slash between base and method itself.
    let base = api_base.trim_end_matches('/');
    Ok(SlackClient::new(
        SlackClientHyperConnector::with_connector(https).with_slack_api_url(base),
    ))
}

pub fn token(value: &str) -> SlackApiToken {
    SlackApiToken::new(SlackApiTokenValue(value.to_string()))
}

/// Opens the direct message of one user, or the group DM of several, and
/// returns its id; Slack answers with the same conversation each time it is
/// asked for the same people. `users` goes as Slack documents it, one
/// comma-separated string: slack-morphism's request sends a JSON array.
pub async fn open_conversation(
    session: &SlackClientSession<'_, SlackClientHyperConnector<HttpsConnector<HttpConnector>>>,
    users: &[String],
) -> Result<String, SlackClientError> {
    #[derive(serde::Serialize)]
    struct Open {
        users: String,
    }
    let opened: SlackApiConversationsOpenResponse<SlackBasicChannelInfo> = session
        .http_session_api
        .http_post(
            "conversations.open",
            &Open {
                users: users.join(","),
            },
            Some(&SLACK_TIER3_METHOD_CONFIG),
        )
        .await?;
    Ok(opened.channel.id.0)
}

/// How a failed Web API call should be retried, if at all.
pub fn delivery_error(e: SlackClientError) -> DeliveryError {
    match e {
        SlackClientError::RateLimitError(r) => DeliveryError::Retry {
            // At least Retry-After, plus a little jitter (S10).
            after: Some(
                r.retry_after.unwrap_or(Duration::from_secs(1))
                    + Duration::from_millis(rand::random_range(0..250)),
            ),
            reason: "rate limited (429)".into(),
        },
        SlackClientError::ApiError(api) => {
            let code = api.code.clone();
            match code.as_str() {
                "channel_not_found" | "not_in_channel" | "is_archived" | "invalid_auth"
                | "account_inactive" | "token_revoked" | "missing_scope"
                // chat.update: the message is gone, or may no longer be changed.
                | "message_not_found" | "cant_update_message" | "edit_window_closed" => {
                    DeliveryError::Permanent(format!("Slack refused: {code}"))
                }
                _ => DeliveryError::Retry {
                    after: None,
                    reason: format!("Slack error: {code}"),
                },
            }
        }
        SlackClientError::HttpError(http) => DeliveryError::Retry {
            after: None,
            reason: format!("Slack answered {}", http.status_code),
        },
        // The request may have reached Slack and its answer been lost.
        other => DeliveryError::Uncertain(other.to_string()),
    }
}

/// A Web API call within `timeout` (R1): running out of it is an error like a
/// dropped connection, which [`delivery_error`] counts as uncertain.
pub async fn within<T>(
    timeout: Duration,
    call: impl Future<Output = Result<T, SlackClientError>>,
) -> Result<T, SlackClientError> {
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or_else(|_| {
            Err(SlackClientError::SystemError(
                SlackClientSystemError::new().with_message(format!(
                    "Slack gave no answer within {} s",
                    timeout.as_secs_f64()
                )),
            ))
        })
}

/// Who organises, per workspace: admins and owners, and members of the user group
/// set with `setup organiser-role`. Asked of Slack, remembered five minutes; an
/// answer Slack did not give (an error, or none in time) is not remembered, and
/// one that Slack says has changed (an account or a user group edited) is
/// forgotten at once, so a demoted admin loses organiser rights with the event.
///
/// Also what Slack calls members, for events that carry only a user id: asked
/// only about members Keel cannot name yet, and remembered, so a busy channel
/// costs no call per message even while Slack does not answer.
pub struct Directory {
    client: Arc<Client>,
    cache: Mutex<HashMap<TeamUser, (bool, Instant)>>,
    /// Slack's name for a member, or None when Slack gave none in time.
    names: Mutex<HashMap<TeamUser, (Option<String>, Instant)>>,
}

/// A user of a team, as Slack identifies them.
type TeamUser = (String, String);

/// How long a member's organiser rights are taken as Slack last said. Slack
/// tells of a change (user_change, subteam_members_changed) to one replica only;
/// the others learn it when this runs out (issue 20: at most 30 s).
const DIRECTORY_TTL: Duration = Duration::from_secs(30);
/// How long a name Slack gave is used without asking again.
const NAME_TTL: Duration = Duration::from_secs(3600);
/// How long a name Slack did not give is not asked for again: the member is
/// still counted meanwhile, under their id.
const NAME_RETRY: Duration = Duration::from_secs(60);
/// The most names remembered; past that the memory starts afresh.
const NAMES_MAX: usize = 100_000;
/// Slack wants a command answered within 3 s: a lookup still unanswered after this
/// counts as failed.
const LOOKUP_BUDGET: Duration = Duration::from_secs(2);

impl Directory {
    pub fn new(client: Arc<Client>) -> Self {
        Directory {
            client,
            cache: Mutex::new(HashMap::new()),
            names: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets what was remembered about these users of `team`: the next command
    /// asks Slack again.
    pub fn forget<'a>(&self, team: &str, users: impl IntoIterator<Item = &'a str>) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        for user in users {
            let key = (team.to_string(), user.to_string());
            cache.remove(&key);
            names.remove(&key);
        }
    }

    /// What Slack calls `user` (users.info), or None when Slack does not say
    /// within the lookup budget; either answer is remembered (see [`NAME_TTL`]
    /// and [`NAME_RETRY`]).
    pub async fn display_name(&self, bot_token: &str, team: &str, user: &str) -> Option<String> {
        let key = (team.to_string(), user.to_string());
        if let Some((name, at)) = self
            .names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            let fresh = if name.is_some() { NAME_TTL } else { NAME_RETRY };
            if at.elapsed() < fresh {
                return name.clone();
            }
        }
        let token = token(bot_token);
        let request = SlackApiUsersInfoRequest::new(SlackUserId(user.to_string()));
        let name = match tokio::time::timeout(
            LOOKUP_BUDGET,
            self.client.open_session(&token).users_info(&request),
        )
        .await
        {
            Ok(Ok(info)) => name_of(&info.user),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "asking Slack for a member's name failed");
                None
            }
            Err(_) => {
                tracing::warn!("Slack did not give a member's name in time");
                None
            }
        };
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        if names.len() >= NAMES_MAX {
            names.clear();
        }
        names.insert(key, (name.clone(), Instant::now()));
        name
    }

    pub async fn is_organiser(
        &self,
        bot_token: &str,
        team: &str,
        user: &str,
        usergroup: Option<&str>,
    ) -> Result<bool, String> {
        let key = (team.to_string(), user.to_string());
        if let Some((answer, at)) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            && at.elapsed() < DIRECTORY_TTL
        {
            return Ok(*answer);
        }
        let token = token(bot_token);
        let session = self.client.open_session(&token);
        let deadline = tokio::time::Instant::now() + LOOKUP_BUDGET;
        let admin = tokio::time::timeout_at(
            deadline,
            session.users_info(&SlackApiUsersInfoRequest::new(SlackUserId(
                user.to_string(),
            ))),
        )
        .await
        .map_err(|_| "no answer in time".to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
        .map(|info| {
            let f = &info.user.flags;
            f.is_admin.unwrap_or(false)
                || f.is_owner.unwrap_or(false)
                || f.is_primary_owner.unwrap_or(false)
        });
        let in_group = match (&admin, usergroup.and_then(group_id)) {
            (Ok(false), Some(group)) => tokio::time::timeout_at(
                deadline,
                session.usergroups_users_list(&SlackApiUserGroupsUsersListRequest::new(
                    SlackUserGroupId(group),
                )),
            )
            .await
            .map_err(|_| "no answer in time".to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
            .map(|r| r.users.iter().any(|u| u.0 == user)),
            _ => Ok(false),
        };
        match (admin, in_group) {
            (Ok(admin), Ok(in_group)) => {
                let answer = admin || in_group;
                self.cache
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key, (answer, Instant::now()));
                Ok(answer)
            }
            // Not remembered: the next command asks again.
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "asking Slack who organises failed");
                Err(e)
            }
        }
    }
}

/// The name Keel shows for a Slack user: their username first, which is what
/// slash commands carry as `user_name`, so a member's name does not change when
/// they first use a command; else their display or real name.
fn name_of(user: &SlackUser) -> Option<String> {
    let profile = user.profile.as_ref();
    [
        user.name.as_deref(),
        profile.and_then(|p| p.display_name.as_deref()),
        profile.and_then(|p| p.real_name.as_deref()),
        user.real_name.as_deref(),
    ]
    .into_iter()
    .flatten()
    .map(str::trim)
    .find(|n| !n.is_empty())
    .map(str::to_string)
}

/// `<!subteam^S123|@organisers>` or `S123` → `S123`.
fn group_id(reference: &str) -> Option<String> {
    let r = reference.trim();
    let inner = r
        .strip_prefix("<!subteam^")
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(r);
    let id = inner.split('|').next()?.trim();
    (id.starts_with('S') && id.chars().all(|c| c.is_ascii_alphanumeric())).then(|| id.to_string())
}

/// `<#C123|general>` or `C123` or `#general` → what chat.postMessage takes.
pub fn channel_id(reference: &str) -> String {
    let r = reference.trim();
    match r.strip_prefix("<#").and_then(|s| s.strip_suffix('>')) {
        Some(inner) => inner.split('|').next().unwrap_or(inner).to_string(),
        None => r.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(channel_id("<#C123|general>"), "C123");
        assert_eq!(channel_id("C123"), "C123");
        assert_eq!(
            group_id("<!subteam^S42|@organisers>").as_deref(),
            Some("S42")
        );
        assert_eq!(group_id("organisers"), None);
    }
}
