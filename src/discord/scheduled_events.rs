//! Discord's own scheduled events, beside Keel's (issue 19 §1): servers keep
//! their calendar there, and a second list of events tends to be abandoned.
//!
//! Whenever the notifier posts or edits an event's card in a server, it first
//! makes that server's native scheduled event show the event as it is now
//! (created once, then edited; cancelled with it), recording which is which in
//! the store. Keel needs Manage Events for this; without it Discord answers 403
//! and only the card goes out. A member marking "Interested" on the native
//! event answers yes, as pressing Going would; taking it back answers no, unless
//! they gave another answer since. Keel's card keeps what Discord lacks: maybe
//! and no, capacity and the waitlist, check-in.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serenity::all::{
    CreateScheduledEvent, EditScheduledEvent, GuildId, Http, ScheduledEventId,
    ScheduledEventStatus, ScheduledEventType, Timestamp, UserId,
};

use super::Discord;
use super::interaction::{display_name, envelope_of, snowflake};
use super::notifier::{delivery_error, forbidden};
use crate::app::App;
use crate::domain::{Platform, Role};
use crate::jobs::outbox::DeliveryError;
use crate::store::events::Event;
use crate::store::outbox::{Delivery, Kind};

/// Where an event with no place is said to be: Discord requires a location for
/// an event outside its voice channels.
const NO_PLACE: &str = "See Keel's event card";

/// How long a server that refused Keel a scheduled event (no Manage Events) is
/// not asked again: its cards go out alone meanwhile. Asking at every answer's
/// card edit would spend a refused request each, and Discord bars an address
/// that makes 10,000 of those in 10 minutes.
const ASK_AGAIN_AFTER: chrono::Duration = chrono::Duration::hours(1);

/// Servers that refused Keel a scheduled event, with when (this process's memory:
/// another process learns it with one refusal of its own).
#[derive(Default)]
pub struct Refusals(Mutex<HashMap<GuildId, DateTime<Utc>>>);

impl Refusals {
    fn lately(&self, guild: GuildId, now: DateTime<Utc>) -> bool {
        let refused = self.0.lock().unwrap_or_else(|e| e.into_inner());
        refused
            .get(&guild)
            .is_some_and(|at| now - *at < ASK_AGAIN_AFTER)
    }

    fn note(&self, guild: GuildId, now: DateTime<Utc>) {
        let mut refused = self.0.lock().unwrap_or_else(|e| e.into_inner());
        refused.insert(guild, now);
    }
}

/// Makes the server's scheduled event show the event of `delivery`'s card (an
/// event card's post or edit; anything else is left alone). A failure worth
/// repeating (429, 5xx, a refused connection) holds the card back with it, as
/// nothing of the card went out yet; any other (no Manage Events, an event
/// Discord no longer lets be changed) is logged, and the card goes out alone.
pub async fn mirror(
    http: &Http,
    app: &App,
    refusals: &Refusals,
    delivery: &Delivery,
) -> Result<(), DeliveryError> {
    if delivery.kind != Kind::EventCard {
        return Ok(());
    }
    let Some(guild) = snowflake(&delivery.workspace_external_id).map(GuildId::new) else {
        return Ok(());
    };
    if refusals.lately(guild, app.now()) {
        return Ok(());
    }
    let store = app.store();
    let event = match store
        .event_of_card(delivery.community, delivery.announcement)
        .await
    {
        Ok(Some(event)) => event,
        Ok(None) => return Ok(()),
        Err(e) => return Err(retry("reading the card's event", e)),
    };
    // Discord keeps past events by itself and refuses to move them.
    if app.now() >= event.ends_at {
        return Ok(());
    }
    let known = store
        .discord_scheduled_event(event.id, delivery.workspace)
        .await
        .map_err(|e| retry("reading the card's scheduled event", e))?;
    let known = known
        .as_deref()
        .and_then(snowflake)
        .map(ScheduledEventId::new);
    let made = match (known, &event.cancelled) {
        (None, Some(_)) => return Ok(()),
        (Some(id), Some(_)) => {
            let cancel = EditScheduledEvent::new().status(ScheduledEventStatus::Canceled);
            guild.edit_scheduled_event(http, id, cancel).await
        }
        (Some(id), None) => guild.edit_scheduled_event(http, id, edited(&event)).await,
        (None, None) => match created(&event) {
            Some(new) => guild.create_scheduled_event(http, new).await,
            None => return Ok(()),
        },
    };
    let made = match made {
        Ok(made) => made,
        Err(e) => {
            let refused = forbidden(&e);
            return match delivery_error(e) {
                retry @ DeliveryError::Retry { .. } => Err(retry),
                other => {
                    if refused {
                        refusals.note(guild, app.now());
                    }
                    tracing::info!(
                        event = %event.id,
                        guild = %guild,
                        error = ?other,
                        "the event's scheduled event on Discord was not made or changed (Keel needs Manage Events); the card goes out alone"
                    );
                    Ok(())
                }
            };
        }
    };
    if known.is_none() {
        store
            .record_discord_scheduled_event(
                delivery.community,
                event.id,
                delivery.workspace,
                &made.id.to_string(),
                app.now(),
            )
            .await
            .map_err(|e| retry("recording the scheduled event", e))?;
    }
    Ok(())
}

fn retry(what: &str, error: crate::error::Error) -> DeliveryError {
    DeliveryError::Retry {
        after: None,
        reason: format!("{what}: {error}"),
    }
}

/// The scheduled event to make for `event`; None if its times are not ones
/// Discord can take.
fn created(event: &Event) -> Option<CreateScheduledEvent<'static>> {
    let (start, end) = times(event)?;
    Some(
        CreateScheduledEvent::new(ScheduledEventType::External, name(event), start)
            .end_time(end)
            .location(location(event))
            .description(description(event)),
    )
}

/// What an edit sets: everything the card may have changed.
fn edited(event: &Event) -> EditScheduledEvent<'static> {
    let mut edit = EditScheduledEvent::new()
        .name(name(event))
        .location(location(event))
        .description(description(event));
    if let Some((start, end)) = times(event) {
        edit = edit.start_time(start).end_time(end);
    }
    edit
}

fn times(event: &Event) -> Option<(Timestamp, Timestamp)> {
    let start = Timestamp::from_unix_timestamp(event.starts_at.timestamp()).ok()?;
    let end = Timestamp::from_unix_timestamp(event.ends_at.timestamp()).ok()?;
    Some((start, end))
}

/// Discord takes names of up to 100 characters, locations of up to 100 and
/// descriptions of up to 1000.
fn name(event: &Event) -> String {
    super::render::truncate(&event.title, 100)
}

fn location(event: &Event) -> String {
    super::render::truncate(event.place.as_deref().unwrap_or(NO_PLACE), 100)
}

fn description(event: &Event) -> String {
    let id = event.id;
    super::render::truncate(
        &format!(
            "Keel event #{id}. Interested here counts as going; answer maybe or no, and check \
             in, with Keel's card or `/event rsvp #{id}`."
        ),
        1000,
    )
}

/// Whether a member marked the scheduled event "Interested" or took it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    Added,
    Removed,
}

/// Answers the Keel event that scheduled event `scheduled` mirrors, as `user`
/// of `guild`: interest added is a yes; interest taken back is a no, but only
/// over a yes (a maybe or no given on the card stands). Nothing is replied,
/// as no one asked: the outcome is logged, and a refusal (the event is over or
/// cancelled) only at debug.
pub async fn interest(
    http: &Http,
    discord: &Discord,
    guild: GuildId,
    scheduled: ScheduledEventId,
    user: UserId,
    interest: Interest,
) -> Result<(), crate::error::Error> {
    // Keel itself may be subscribed to what it made.
    if http
        .application_id()
        .is_some_and(|app| app.get() == user.get())
    {
        return Ok(());
    }
    let app = &discord.app;
    let store = app.store();
    let Some(id) = store
        .event_of_discord_scheduled_event(&guild.to_string(), &scheduled.to_string())
        .await?
    else {
        return Ok(());
    };
    let envelope = envelope_of(
        &guild.to_string(),
        &user.to_string(),
        &member_name(http, discord, guild, user).await,
        Role::Member,
    );
    let actor = match app.actor(&envelope).await {
        Ok(actor) => actor,
        Err(refused) => {
            tracing::debug!(%refused, "interest in a scheduled event not taken");
            return Ok(());
        }
    };
    let interested = matches!(interest, Interest::Added);
    match crate::app::event_interest(app, &actor, id, interested).await {
        Ok(None) => {}
        Ok(Some(reply)) => tracing::info!(
            event = %id,
            member = %actor.member,
            ?interest,
            answer = %reply.plain(),
            "interest in Discord's scheduled event answered the event"
        ),
        Err(refused) => tracing::debug!(
            event = %id,
            member = %actor.member,
            ?interest,
            %refused,
            "interest in Discord's scheduled event not taken"
        ),
    }
    Ok(())
}

/// The member's name as Keel knows it, else as Discord has it (the gateway
/// event names only their id), else their id.
async fn member_name(http: &Http, discord: &Discord, guild: GuildId, user: UserId) -> String {
    let store = discord.app.store();
    let known = match store
        .workspace_by_external(Platform::Discord, &guild.to_string())
        .await
    {
        Ok(Some(workspace)) => store
            .member_by_identity(workspace.id, &user.to_string())
            .await
            .ok()
            .flatten()
            .map(|m| m.display_name),
        _ => None,
    };
    if let Some(name) = known.filter(|n| *n != user.to_string()) {
        return name;
    }
    match guild.member(http, user).await {
        Ok(member) => member.nick.unwrap_or_else(|| display_name(&member.user)),
        Err(_) => user.to_string(),
    }
}
