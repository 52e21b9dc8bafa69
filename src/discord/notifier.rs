//! Announcements to Discord: one message to each server's chosen channel, with
//! mentions parsing nothing (D6). A 429 or 5xx comes back as a retry, so nothing
//! is lost, and a message is posted in one request, so nothing is posted twice.

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serenity::all::{ChannelId, CreateMessage, Http};

use super::interaction::snowflake;
use super::render;
use crate::domain::Platform;
use crate::domain::reply::Reply;
use crate::jobs::outbox::{DeliveryError, Notifier};
use crate::store::outbox::Delivery;

pub struct DiscordNotifier {
    pub http: Arc<Http>,
}

impl Notifier for DiscordNotifier {
    fn platform(&self) -> Platform {
        Platform::Discord
    }

    fn deliver<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), DeliveryError>> {
        async move {
            let Some(channel) = delivery.channel.as_deref().and_then(snowflake) else {
                // Held until an organiser picks a channel; setting one makes it due.
                return Err(DeliveryError::Retry {
                    after: Some(Duration::from_secs(3600)),
                    reason: "no announcement channel yet: `/setup announcements`".into(),
                });
            };
            ChannelId::new(channel)
                .send_message(&self.http, message(&delivery.body))
                .await
                .map(|_| ())
                .map_err(delivery_error)
        }
        .boxed()
    }
}

/// An announcement as one message: up to ten embeds within 6000 characters in
/// all; anything past that is cut, with a note, rather than refused.
pub fn message(reply: &Reply) -> CreateMessage {
    let mut total = 0;
    let mut embeds = Vec::new();
    let pages = render::pages(reply);
    let count = pages.len();
    for page in pages.into_iter().take(render::EMBEDS_PER_MESSAGE) {
        total += page.chars();
        if total > render::EMBED_TOTAL_CHARS {
            break;
        }
        embeds.push(page.embed());
    }
    let shortened = embeds.len() < count;
    let mut message = CreateMessage::new()
        .embeds(embeds)
        .allowed_mentions(render::no_mentions());
    if shortened {
        message = message.content("(Shortened to fit Discord's limits.)");
    }
    message
}

/// Rate limits, server errors and network failures are worth retrying; anything
/// else (no access to the channel, a deleted channel) will not change by itself.
fn delivery_error(error: serenity::Error) -> DeliveryError {
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
        serenity::Error::Http(HttpError::Request(_)) | serenity::Error::Io(_) => {
            DeliveryError::Retry {
                after: None,
                reason: error.to_string(),
            }
        }
        _ => DeliveryError::Permanent(error.to_string()),
    }
}
