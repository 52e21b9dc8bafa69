//! Announcements to Discord: one message to each server's chosen channel, or to a
//! member's direct messages, with mentions parsing nothing (D6). A 429 or 5xx
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
    ChannelId, CreateEmbed, CreateMessage, EditMessage, GetMessages, Http, Message, MessageId,
    Nonce, UserId,
};
use std::sync::Arc;

use super::interaction::snowflake;
use super::render;
use crate::app::App;
use crate::domain::reply::Reply;
use crate::domain::{AnnouncementId, Platform};
use crate::jobs::outbox::{DeliveryError, Notifier};
use crate::store::outbox::{Delivery, Posted};

/// How long Discord is trusted to dedupe a repeated nonce. Its documentation says
/// "a few minutes"; older uncertain attempts are looked for in the channel.
const NONCE_WINDOW: chrono::Duration = chrono::Duration::minutes(2);
/// Discord's epoch, for turning a moment into a message id to read after.
const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

pub struct DiscordNotifier {
    pub http: Arc<Http>,
    pub app: App,
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
                // Introductions open a conversation of their own, which this
                // adapter does not make yet: held, never posted to a channel.
                return Err(DeliveryError::Retry {
                    after: Some(Duration::from_secs(3600)),
                    reason: "group conversations are not delivered on this platform yet".into(),
                });
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
            super::scheduled_events::mirror(&self.http, &self.app, delivery).await?;
            let message = message(&delivery.body, Some(&marker_text(delivery.announcement)))
                .nonce(Nonce::String(delivery.marker()))
                .enforce_nonce(true);
            let sent = channel
                .send_message(&self.http, message)
                .await
                .map_err(delivery_error)?;
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
            let (Some(channel), Some(message)) =
                (snowflake(&posted.channel), snowflake(&posted.message))
            else {
                return Err(DeliveryError::Permanent(format!(
                    "{posted:?} is not a Discord message"
                )));
            };
            super::scheduled_events::mirror(&self.http, &self.app, delivery).await?;
            let (notice, embeds) =
                rendered(&delivery.body, Some(&marker_text(delivery.announcement)));
            // Buttons go with the body: a decided review request loses them.
            let edit = EditMessage::new()
                .content(notice.unwrap_or_default())
                .embeds(embeds)
                .components(super::buttons::components(&delivery.body.buttons))
                .allowed_mentions(render::no_mentions());
            ChannelId::new(channel)
                .edit_message(&self.http, MessageId::new(message), edit)
                .await
                .map_err(delivery_error)?;
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
