//! Announcements to Discord: one message to each server's chosen channel, or to a
//! member's direct messages, or to a pairing group in a private thread (or each
//! member's direct messages), with mentions parsing nothing (D6). A 429 or 5xx
//! comes back as a retry, so nothing is lost.
//!
//! Each message carries its delivery's marker twice: as the `nonce`, with
//! `enforce_nonce`, so that Discord itself returns the first message instead of
//! posting a second when an attempt is repeated within a few minutes; and in the
//! last embed's footer ("Announcement #12"), where
//! [`DiscordNotifier::find_posted`] looks for it in the channel's recent messages
//! when an uncertain attempt is older than that (this needs Read Message History).
//!
//! An event's card also makes or edits the server's native scheduled event
//! ([`super::scheduled_events`]).
//!
//! A message whose announcement was redacted since (a member named in it was
//! erased) is edited in place: PATCH /channels/{channel}/messages/{message}, with
//! the ids its post returned.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serenity::all::{
    AutoArchiveDuration, ChannelId, ChannelType, CreateEmbed, CreateMessage, CreateThread,
    EditMessage, GetMessages, Http, Message, MessageId, Nonce, UserId,
};
use std::sync::Arc;

use super::interaction::snowflake;
use super::render;
use crate::app::App;
use crate::domain::reply::Reply;
use crate::domain::{AnnouncementId, Platform};
use crate::jobs::outbox::{DeliveryError, Notifier};
use crate::store::outbox::{Delivery, Kind, Posted};
use crate::store::pairing::DIRECT_MESSAGES;

/// How long Discord is trusted to dedupe a repeated nonce. Its documentation says
/// "a few minutes"; older uncertain attempts are looked for in the channel.
const NONCE_WINDOW: chrono::Duration = chrono::Duration::minutes(2);
/// Discord's epoch, for turning a moment into a message id to read after.
const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

pub struct DiscordNotifier {
    pub http: Arc<Http>,
    pub app: App,
    /// Servers that lately refused Keel their scheduled events.
    pub refusals: super::scheduled_events::Refusals,
}

impl DiscordNotifier {
    /// Posts the delivery in `channel`, with its marker as the nonce (Discord
    /// answers a repeated nonce in the same channel with the first message).
    async fn post(&self, channel: ChannelId, delivery: &Delivery) -> serenity::Result<Message> {
        let message = message(&delivery.body, Some(&marker_text(delivery.announcement)))
            .nonce(Nonce::String(delivery.marker()))
            .enforce_nonce(true);
        channel.send_message(&self.http, message).await
    }

    /// A pairing group's introduction or follow-up. A bot cannot open a group
    /// DM on Discord: the introduction makes a private thread in the pairing
    /// channel with the members in it; the follow-up goes to that thread. Without
    /// a channel, or without the permission to make threads there, each member
    /// gets it in their own direct messages (the body names everyone).
    async fn deliver_to_group(&self, delivery: &Delivery) -> Result<Posted, DeliveryError> {
        let members = delivery
            .recipients
            .iter()
            .map(|member| match snowflake(member) {
                Some(id) => Ok(UserId::new(id)),
                None => Err(DeliveryError::Permanent(format!(
                    "{member:?} is not a Discord user id"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let channel = delivery.channel.as_deref().and_then(snowflake);
        let opened = delivery.conversation.as_deref().and_then(snowflake);
        match (delivery.kind, channel, opened) {
            (_, None, _) => self.deliver_to_each(delivery, &members).await,
            (Kind::FollowUp, Some(thread), _) => {
                let sent = self
                    .post(ChannelId::new(thread), delivery)
                    .await
                    .map_err(delivery_error)?;
                Ok(posted(&sent))
            }
            (_, Some(_), Some(thread)) => {
                // An earlier attempt made the thread and was cut off before its
                // post was answered: this one posts there, with the same nonce.
                let sent = self
                    .post(ChannelId::new(thread), delivery)
                    .await
                    .map_err(delivery_error)?;
                Ok(posted(&sent))
            }
            (_, Some(channel), None) => {
                match self.open_thread(ChannelId::new(channel), &members).await {
                    Ok(thread) => {
                        self.app
                            .store()
                            .record_delivery_conversation(delivery, &thread.to_string())
                            .await
                            .map_err(|e| DeliveryError::Retry {
                                after: None,
                                reason: format!("recording the introduction's thread: {e}"),
                            })?;
                        let sent = self.post(thread, delivery).await.map_err(delivery_error)?;
                        Ok(posted(&sent))
                    }
                    Err(e) if forbidden(&e) => {
                        tracing::warn!(%channel, error = %e,
                            "cannot make a private thread for an introduction; writing to each member");
                        self.deliver_to_each(delivery, &members).await
                    }
                    Err(e) => Err(delivery_error(e)),
                }
            }
        }
    }

    /// A private thread in `channel` that only its members (and moderators)
    /// see, members not able to invite others, open a week so the follow-up
    /// four days later finds it as it was.
    async fn open_thread(
        &self,
        channel: ChannelId,
        members: &[UserId],
    ) -> serenity::Result<ChannelId> {
        let name = format!("Introductions · {}", self.app.now().format("%Y-%m-%d"));
        let thread = channel
            .create_thread(
                &self.http,
                CreateThread::new(name)
                    .kind(ChannelType::PrivateThread)
                    .invitable(false)
                    .auto_archive_duration(AutoArchiveDuration::OneWeek),
            )
            .await?;
        for member in members {
            thread.id.add_thread_member(&self.http, *member).await?;
        }
        Ok(thread.id)
    }

    /// The delivery in each member's direct messages. A member whose messages
    /// are closed is skipped (the others still meet); what cannot be sent to
    /// anyone is refused. The post is recorded as [`DIRECT_MESSAGES`] with every
    /// message (see [`direct_messages`]), so a redaction edits them all.
    async fn deliver_to_each(
        &self,
        delivery: &Delivery,
        members: &[UserId],
    ) -> Result<Posted, DeliveryError> {
        let mut sent_to = Vec::new();
        let mut refused = None;
        for member in members {
            let sent = async {
                let dm = member.create_dm_channel(&self.http).await?;
                self.post(dm.id, delivery).await
            }
            .await;
            match sent.map_err(delivery_error) {
                Ok(sent) => sent_to.push(format!("{}/{}", sent.channel_id, sent.id)),
                Err(DeliveryError::Permanent(reason)) => {
                    tracing::warn!(%member, %reason, "a group member's direct messages refused");
                    refused = Some(reason);
                }
                // The members written to already are answered by their DM
                // channel's nonce when it is tried again.
                Err(e) => return Err(e),
            }
        }
        if sent_to.is_empty() {
            return Err(DeliveryError::Permanent(
                refused.unwrap_or_else(|| "a group with no members".into()),
            ));
        }
        Ok(Posted {
            channel: DIRECT_MESSAGES.into(),
            message: sent_to.join(" "),
        })
    }
}

impl Notifier for DiscordNotifier {
    fn platform(&self) -> Platform {
        Platform::Discord
    }

    fn deliver<'a>(
        &'a self,
        delivery: &'a Delivery,
    ) -> BoxFuture<'a, Result<Posted, DeliveryError>> {
        async move {
            if !delivery.recipients.is_empty() {
                return self.deliver_to_group(delivery).await;
            }
            let channel = match (&delivery.recipient, &delivery.channel) {
                (Some(member), _) => {
                    let Some(user) = snowflake(member) else {
                        return Err(DeliveryError::Permanent(format!(
                            "{member:?} is not a Discord user id"
                        )));
                    };
                    UserId::new(user)
                        .create_dm_channel(&self.http)
                        .await
                        .map_err(delivery_error)?
                        .id
                }
                (None, channel) => match channel.as_deref().and_then(snowflake) {
                    Some(channel) => ChannelId::new(channel),
                    None => {
                        // Held until an organiser picks a channel; setting one makes it due.
                        return Err(DeliveryError::Retry {
                            after: Some(Duration::from_secs(3600)),
                            reason: "no announcement channel yet: `/setup announcements`".into(),
                        });
                    }
                },
            };
            // An event's native scheduled event first: were it to wait for a
            // retry, the card would otherwise be posted twice.
            super::scheduled_events::mirror(&self.http, &self.app, &self.refusals, delivery)
                .await?;
            let sent = self.post(channel, delivery).await.map_err(delivery_error)?;
            Ok(posted(&sent))
        }
        .boxed()
    }

    fn edit<'a>(
        &'a self,
        delivery: &'a Delivery,
        posted: &'a Posted,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        async move {
            let messages = if posted.channel == DIRECT_MESSAGES {
                direct_messages(&posted.message)
            } else {
                snowflake(&posted.channel)
                    .zip(snowflake(&posted.message))
                    .into_iter()
                    .collect()
            };
            if messages.is_empty() {
                return Err(DeliveryError::Permanent(format!(
                    "{posted:?} is not a Discord message"
                )));
            }
            super::scheduled_events::mirror(&self.http, &self.app, &self.refusals, delivery)
                .await?;
            let (notice, embeds) =
                rendered(&delivery.body, Some(&marker_text(delivery.announcement)));
            // Buttons go with the body: a decided review request loses them.
            let edit = EditMessage::new()
                .content(notice.unwrap_or_default())
                .embeds(embeds)
                .components(super::buttons::components(&delivery.body.buttons))
                .allowed_mentions(render::no_mentions());
            // Editing is safe to repeat: should one fail, all are edited again.
            for (channel, message) in messages {
                ChannelId::new(channel)
                    .edit_message(&self.http, MessageId::new(message), edit.clone())
                    .await
                    .map_err(delivery_error)?;
            }
            Ok(())
        }
        .boxed()
    }

    fn find_posted<'a>(
        &'a self,
        uncertain: &'a [Delivery],
    ) -> BoxFuture<'a, Result<Vec<(AnnouncementId, Posted)>, DeliveryError>> {
        async move {
            let now = self.app.now();
            let mut by_channel: BTreeMap<u64, Vec<&Delivery>> = BTreeMap::new();
            for d in uncertain {
                // A recent attempt is repeated with the same nonce: Discord dedupes it.
                let recent = d
                    .attempt_started_at
                    .is_some_and(|at| now - at < NONCE_WINDOW);
                if let (false, Some(channel)) = (recent, d.channel.as_deref().and_then(snowflake)) {
                    by_channel.entry(channel).or_default().push(d);
                }
            }
            let mut found = Vec::new();
            for (channel, deliveries) in by_channel {
                let Some(oldest) = deliveries.iter().filter_map(|d| d.attempt_started_at).min()
                else {
                    continue;
                };
                let after = (oldest - chrono::Duration::seconds(10)).timestamp_millis();
                let after = MessageId::new(((after - DISCORD_EPOCH_MS).max(1) as u64) << 22);
                let recent = ChannelId::new(channel)
                    .messages(&self.http, GetMessages::new().after(after).limit(100))
                    .await
                    .map_err(delivery_error)?;
                let markers: HashMap<String, AnnouncementId> = deliveries
                    .iter()
                    .map(|d| (marker_text(d.announcement), d.announcement))
                    .collect();
                for message in recent.iter().filter(|m| m.author.bot) {
                    let footers = message
                        .embeds
                        .iter()
                        .filter_map(|e| e.footer.as_ref().map(|f| f.text.as_str()));
                    for footer in footers {
                        if let Some(announcement) = markers
                            .iter()
                            .find(|(marker, _)| footer.ends_with(marker.as_str()))
                            .map(|(_, a)| *a)
                        {
                            found.push((announcement, posted(message)));
                        }
                    }
                }
            }
            Ok(found)
        }
        .boxed()
    }
}

/// Whether Discord refused for want of a permission (403, e.g. 50013 Missing
/// Permissions): worth another way, not another try.
pub(super) fn forbidden(error: &serenity::Error) -> bool {
    use serenity::all::HttpError;
    matches!(error, serenity::Error::Http(HttpError::UnsuccessfulRequest(response))
        if response.status_code.as_u16() == 403)
}

/// The (channel, message) pairs a delivery to each member's direct messages
/// recorded, as `channel/message` separated by spaces. One recorded before
/// they all were (a message id alone) names none.
fn direct_messages(recorded: &str) -> Vec<(u64, u64)> {
    recorded
        .split(' ')
        .filter_map(|sent| {
            let (channel, message) = sent.split_once('/')?;
            snowflake(channel).zip(snowflake(message))
        })
        .collect()
}

fn posted(message: &Message) -> Posted {
    Posted {
        channel: message.channel_id.to_string(),
        message: message.id.to_string(),
    }
}

/// What a post says at its foot to be found again.
fn marker_text(announcement: AnnouncementId) -> String {
    format!("Announcement #{announcement}")
}

/// An announcement as one message: up to ten embeds within 6000 characters in
/// all; anything past that is cut, with a note, rather than refused. `marker` goes
/// in the last embed's footer.
pub fn message(reply: &Reply, marker: Option<&str>) -> CreateMessage {
    let (notice, embeds) = rendered(reply, marker);
    let mut message = CreateMessage::new()
        .embeds(embeds)
        .components(super::buttons::components(&reply.buttons))
        .allowed_mentions(render::no_mentions());
    if let Some(notice) = notice {
        message = message.content(notice);
    }
    message
}

/// A message's embeds, and the note that says it was cut, if it was.
fn rendered(reply: &Reply, marker: Option<&str>) -> (Option<String>, Vec<CreateEmbed>) {
    let mut total = 0;
    let mut kept = Vec::new();
    let mut pages = render::pages(reply);
    let count = pages.len();
    if let (Some(marker), Some(last)) = (marker, pages.last_mut()) {
        last.footer = Some(match last.footer.take() {
            Some(footer) => format!("{footer} · {marker}"),
            None => marker.to_string(),
        });
    }
    for page in pages.into_iter().take(render::EMBEDS_PER_MESSAGE) {
        total += page.chars();
        if total > render::EMBED_TOTAL_CHARS {
            break;
        }
        kept.push(page);
    }
    let shortened = kept.len() < count;
    if let (Some(marker), true, Some(last)) = (marker, shortened, kept.last_mut()) {
        last.footer = Some(marker.to_string());
    }
    let notice = shortened.then(|| "(Shortened to fit Discord's limits.)".to_string());
    (notice, kept.iter().map(render::Page::embed).collect())
}

/// Rate limits, server errors and connections refused are worth retrying; a call
/// with no answer (a timeout, a connection dropped) may have gone through;
/// anything else (no access to the channel, a deleted channel) will not change by
/// itself.
pub(super) fn delivery_error(error: serenity::Error) -> DeliveryError {
    use serenity::all::HttpError;
    match &error {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => {
            let status = response.status_code.as_u16();
            if status == 429 || status >= 500 {
                DeliveryError::Retry {
                    after: None,
                    reason: format!("Discord answered {status}"),
                }
            } else {
                DeliveryError::Permanent(format!(
                    "Discord refused the announcement ({status}): {}",
                    response.error.message
                ))
            }
        }
        serenity::Error::Http(HttpError::Request(request)) if request.is_connect() => {
            DeliveryError::Retry {
                after: None,
                reason: error.to_string(),
            }
        }
        serenity::Error::Http(HttpError::Request(_)) | serenity::Error::Io(_) => {
            DeliveryError::Uncertain(error.to_string())
        }
        _ => DeliveryError::Permanent(error.to_string()),
    }
}
