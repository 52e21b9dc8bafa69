//! Announcements to Slack: chat.postMessage to each workspace's chosen channel, or
//! to a member (a private message from Keel), or to a group of members in a group
//! DM that conversations.open makes (an introduction and its follow-up). Rate limits and server errors come
//! back as retries (the outbox waits at least Retry-After), and a channel is posted
//! to about once a second at most, as Slack asks of chat.postMessage (S10).
//!
//! Each post carries message metadata naming its delivery. When an attempt's
//! answer was lost, the outbox asks [`SlackNotifier::find_posted`] before posting
//! again: one `conversations.history` call per channel, bracketing the uncertain
//! attempts, finds the posts that went through by that metadata. Slack allows an
//! app outside its Marketplace one such call a minute per workspace, with at most
//! 15 messages (PLATFORMS.md), so the call is made only for uncertain attempts,
//! at most once a minute per workspace, and its Retry-After is honoured.
//!
//! A post whose announcement was redacted since (a member named in it was erased)
//! is edited with chat.update, at the channel and `ts` its post returned.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use slack_morphism::prelude::*;

use super::{Slack, api, render};
use crate::domain::{AnnouncementId, Platform};
use crate::jobs::outbox::{DeliveryError, Notifier};
use crate::store::outbox::{Delivery, Kind, Posted};

/// The metadata event type that marks Keel's posts.
const MARKER_EVENT: &str = "keel_delivery";
/// What Slack allows an app outside its Marketplace: one history call a minute per
/// workspace, at most 15 messages.
const HISTORY_INTERVAL: Duration = Duration::from_secs(60);
const HISTORY_LIMIT: u16 = 15;
/// Slack's clock and ours may differ a little: the bracket is this much wider.
const CLOCK_SLACK: chrono::Duration = chrono::Duration::seconds(5);

pub struct SlackNotifier {
    slack: Arc<Slack>,
    /// When each team's history was last read.
    history_read: Mutex<HashMap<String, Instant>>,
}

impl SlackNotifier {
    pub fn new(slack: Arc<Slack>) -> Self {
        SlackNotifier {
            slack,
            history_read: Mutex::new(HashMap::new()),
        }
    }

    async fn token(&self, team: &str) -> Result<SlackApiToken, DeliveryError> {
        match self.slack.bot_token(team).await {
            Ok(Some(t)) => Ok(api::token(&t)),
            Ok(None) => Err(DeliveryError::Permanent(
                "Keel is not installed in this workspace".into(),
            )),
            Err(e) => Err(DeliveryError::Retry {
                after: None,
                reason: e.to_string(),
            }),
        }
    }

    /// Opens the group DM of `members` (Slack answers with the same conversation
    /// each time it is asked for the same people) and returns its id.
    async fn open_group(
        &self,
        token: &SlackApiToken,
        members: &[String],
    ) -> Result<String, DeliveryError> {
        let session = self.slack.client.open_session(token);
        api::within(
            self.slack.call_timeout,
            api::open_conversation(&session, members),
        )
        .await
        .map_err(api::delivery_error)
    }

    /// Takes the team's one history read a minute, or says how long to wait.
    fn take_history_turn(&self, team: &str) -> Result<(), DeliveryError> {
        let mut reads = self
            .history_read
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(last) = reads.get(team) {
            let since = last.elapsed();
            if since < HISTORY_INTERVAL {
                return Err(DeliveryError::Retry {
                    after: Some(HISTORY_INTERVAL - since),
                    reason: "waiting for Slack's history allowance (one call a minute)".into(),
                });
            }
        }
        reads.insert(team.to_string(), Instant::now());
        Ok(())
    }
}

impl Notifier for SlackNotifier {
    fn platform(&self) -> Platform {
        Platform::Slack
    }

    fn pace(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn deliver<'a>(
        &'a self,
        delivery: &'a Delivery,
    ) -> BoxFuture<'a, Result<Posted, DeliveryError>> {
        async move {
            let token = self.token(&delivery.workspace_external_id).await?;
            let to = match (&delivery.recipient, &delivery.channel) {
                (Some(member), _) => member.clone(),
                // A group's conversation: the introduction opens it (a group DM,
                // or a plain DM for a group of one); its follow-up goes where the
                // introduction landed, or opens it again when that is not known.
                (None, channel) if !delivery.recipients.is_empty() => match channel {
                    Some(channel) if delivery.kind == Kind::FollowUp => api::channel_id(channel),
                    _ => self.open_group(&token, &delivery.recipients).await?,
                },
                (None, Some(channel)) => api::channel_id(channel),
                (None, None) => {
                    return Err(DeliveryError::Retry {
                        after: Some(Duration::from_secs(3600)),
                        reason: "no announcement channel yet: `/keel setup announcements #channel`"
                            .into(),
                    });
                }
            };
            let request =
                SlackApiChatPostMessageRequest::new(SlackChannelId(to), content(delivery));
            let posted = api::within(
                self.slack.call_timeout,
                self.slack
                    .client
                    .open_session(&token)
                    .chat_post_message(&request),
            )
            .await
            .map_err(api::delivery_error)?;
            Ok(Posted {
                channel: posted.channel.0,
                message: posted.ts.0,
            })
        }
        .boxed()
    }

    fn edit<'a>(
        &'a self,
        delivery: &'a Delivery,
        posted: &'a Posted,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        async move {
            let token = self.token(&delivery.workspace_external_id).await?;
            let request = SlackApiChatUpdateRequest::new(
                SlackChannelId(posted.channel.clone()),
                content(delivery),
                SlackTs(posted.message.clone()),
            );
            api::within(
                self.slack.call_timeout,
                self.slack.client.open_session(&token).chat_update(&request),
            )
            .await
            .map_err(api::delivery_error)?;
            Ok(())
        }
        .boxed()
    }

    fn find_posted<'a>(
        &'a self,
        uncertain: &'a [Delivery],
    ) -> BoxFuture<'a, Result<Vec<(AnnouncementId, Posted)>, DeliveryError>> {
        async move {
            let Some(first) = uncertain.first() else {
                return Ok(Vec::new());
            };
            let mut by_channel: BTreeMap<String, Vec<&Delivery>> = BTreeMap::new();
            for d in uncertain {
                if let Some(channel) = &d.channel {
                    by_channel
                        .entry(api::channel_id(channel))
                        .or_default()
                        .push(d);
                }
            }
            let token = self.token(&first.workspace_external_id).await?;
            let mut found = Vec::new();
            for (channel, deliveries) in by_channel {
                self.take_history_turn(&first.workspace_external_id)?;
                let started = deliveries.iter().filter_map(|d| d.attempt_started_at);
                let (Some(oldest), Some(latest)) = (started.clone().min(), started.max()) else {
                    continue;
                };
                let latest = latest
                    + chrono::Duration::from_std(self.slack.call_timeout)
                        .unwrap_or(chrono::Duration::seconds(10))
                    + CLOCK_SLACK;
                let request = SlackApiConversationsHistoryRequest::new()
                    .with_channel(SlackChannelId(channel.clone()))
                    .with_oldest(slack_ts(oldest - CLOCK_SLACK))
                    .with_latest(slack_ts(latest))
                    .with_inclusive(true)
                    .with_limit(HISTORY_LIMIT)
                    .with_include_all_metadata(true);
                let history = api::within(
                    self.slack.call_timeout,
                    self.slack
                        .client
                        .open_session(&token)
                        .conversations_history(&request),
                )
                .await
                .map_err(api::delivery_error)?;
                let markers: HashMap<String, AnnouncementId> = deliveries
                    .iter()
                    .map(|d| (d.marker(), d.announcement))
                    .collect();
                for message in history.messages {
                    let marker = message
                        .content
                        .metadata
                        .as_ref()
                        .filter(|m| m.event_type == MARKER_EVENT)
                        .and_then(|m| m.event_payload.as_ref())
                        .and_then(|p| p.get("delivery"));
                    if let Some(announcement) = marker.and_then(|m| markers.get(m)) {
                        found.push((
                            *announcement,
                            Posted {
                                channel: channel.clone(),
                                message: message.origin.ts.0.clone(),
                            },
                        ));
                    }
                }
            }
            Ok(found)
        }
        .boxed()
    }
}

/// The delivery's body as a message, with the metadata that names the delivery.
fn content(delivery: &Delivery) -> SlackMessageContent {
    let mut content = render::content(&render::message(&delivery.body));
    content.metadata = Some(SlackMessageMetadata {
        event_type: MARKER_EVENT.into(),
        event_payload: Some(HashMap::from([("delivery".into(), delivery.marker())])),
    });
    content
}

/// A moment as Slack's `ts`: seconds and microseconds since the epoch.
fn slack_ts(t: chrono::DateTime<chrono::Utc>) -> SlackTs {
    SlackTs(format!(
        "{}.{:06}",
        t.timestamp(),
        t.timestamp_subsec_micros()
    ))
}
