//! Announcements to Slack: chat.postMessage to each workspace's chosen channel.
//! Rate limits and server errors come back as retries (the outbox waits at least
//! Retry-After), so nothing is lost and nothing is posted twice; and a channel is
//! posted to about once a second at most, as Slack asks of chat.postMessage (S10).

use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use slack_morphism::prelude::*;

use super::{Slack, api, render};
use crate::domain::Platform;
use crate::jobs::outbox::{DeliveryError, Notifier};
use crate::store::outbox::Delivery;

pub struct SlackNotifier(pub Arc<Slack>);

impl Notifier for SlackNotifier {
    fn platform(&self) -> Platform {
        Platform::Slack
    }

    fn pace(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }

    fn deliver<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<(), DeliveryError>> {
        async move {
            let Some(channel) = &delivery.channel else {
                // Held until an organiser picks a channel; setting one makes it due.
                return Err(DeliveryError::Retry {
                    after: Some(std::time::Duration::from_secs(3600)),
                    reason: "no announcement channel yet: `/keel setup announcements #channel`"
                        .into(),
                });
            };
            let token = match self.0.bot_token(&delivery.workspace_external_id).await {
                Ok(Some(t)) => t,
                Ok(None) => {
                    return Err(DeliveryError::Permanent(
                        "Keel is not installed in this workspace".into(),
                    ));
                }
                Err(e) => {
                    return Err(DeliveryError::Retry {
                        after: None,
                        reason: e.to_string(),
                    });
                }
            };
            let request = SlackApiChatPostMessageRequest::new(
                SlackChannelId(api::channel_id(channel)),
                render::content(&render::message(&delivery.body)),
            );
            let token = api::token(&token);
            self.0
                .client
                .open_session(&token)
                .chat_post_message(&request)
                .await
                .map(|_| ())
                .map_err(api::delivery_error)
        }
        .boxed()
    }
}
