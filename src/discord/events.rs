//! Gateway events besides commands: joining a server creates or finds its
//! community; removal schedules its data for purge; newcomers get the mission
//! (when welcome is on); members joining and leaving are recorded (when member
//! counting is on); messages and reactions bump daily counts (when activity
//! counting is on; counts only, never text); interest in a scheduled event
//! that mirrors an event answers it.

use serenity::all::{CreateMessage, FullEvent, GuildId, Interaction, Member, UserId};

use super::interaction::{display_name, envelope, envelope_of};
use super::scheduled_events::{Interest, interest};
use super::{BoxError, Discord, render};
use crate::app::Activity;
use crate::domain::{Platform, Role};

pub async fn handle(
    ctx: &serenity::all::Context,
    discord: &Discord,
    event: &FullEvent,
) -> Result<(), BoxError> {
    let app = &discord.app;
    match event {
        // A "Log as contribution" form, submitted.
        FullEvent::InteractionCreate {
            interaction: Interaction::Modal(modal),
        } if super::log_message::is_form(modal) => {
            super::log_message::submitted(ctx, discord, modal).await?;
        }
        // A button under a review request, and the form its Reject opens.
        FullEvent::InteractionCreate {
            interaction: Interaction::Component(component),
        } if super::buttons::is_press(component) => {
            super::buttons::pressed(ctx, discord, component).await?;
        }
        FullEvent::InteractionCreate {
            interaction: Interaction::Modal(modal),
        } if super::buttons::is_form(modal) => {
            super::buttons::submitted(ctx, discord, modal).await?;
        }
        // Whether each shard is connected, for /metrics.
        FullEvent::Ready { .. } => shard_up(ctx.shard_id.0, true),
        FullEvent::Resume { .. } => shard_up(ctx.shard_id.0, true),
        FullEvent::ShardStageUpdate { event } => shard_up(
            event.shard_id.0,
            event.new == serenity::gateway::ConnectionStage::Connected,
        ),
        FullEvent::GuildCreate { guild, .. } => {
            app.workspace_joined(Platform::Discord, &guild.id.to_string(), &guild.name)
                .await?;
        }
        // `unavailable` means an outage, not a removal.
        FullEvent::GuildDelete { incomplete, .. } if !incomplete.unavailable => {
            let grace = chrono::Duration::days(i64::from(discord.settings.purge_after_days));
            app.workspace_removed(Platform::Discord, &incomplete.id.to_string(), grace)
                .await?;
        }
        FullEvent::GuildMemberAddition { new_member } if !new_member.user.bot => {
            if discord.settings.count_members {
                let envelope = envelope(
                    &new_member.guild_id.to_string(),
                    &new_member.user,
                    Some(new_member),
                    Role::Member,
                );
                app.member_joined(&envelope).await?;
            }
            if discord.settings.welcome {
                welcome(ctx, discord, new_member).await;
            }
        }
        FullEvent::GuildMemberRemoval { guild_id, user, .. }
            if discord.settings.count_members && !user.bot =>
        {
            app.member_left(
                Platform::Discord,
                &guild_id.to_string(),
                &user.id.to_string(),
            )
            .await?;
        }
        FullEvent::Message { new_message } if discord.settings.count_activity => {
            if let Some(guild) = new_message.guild_id
                && !new_message.author.bot
                && new_message.webhook_id.is_none()
            {
                let name = display_name(&new_message.author);
                count(
                    discord,
                    guild,
                    new_message.author.id,
                    &name,
                    Activity::Message,
                )
                .await?;
            }
        }
        FullEvent::ReactionAdd { add_reaction } if discord.settings.count_activity => {
            let bot = add_reaction.member.as_ref().is_some_and(|m| m.user.bot);
            if let (Some(guild), Some(user), false) =
                (add_reaction.guild_id, add_reaction.user_id, bot)
            {
                let name = add_reaction
                    .member
                    .as_ref()
                    .map(|m| m.nick.clone().unwrap_or_else(|| display_name(&m.user)))
                    .unwrap_or_else(|| user.to_string());
                count(discord, guild, user, &name, Activity::Reaction).await?;
            }
        }
        FullEvent::GuildScheduledEventUserAdd { subscribed } => {
            let s = subscribed;
            let added = Interest::Added;
            interest(
                &ctx.http,
                discord,
                s.guild_id,
                s.scheduled_event_id,
                s.user_id,
                added,
            )
            .await?;
        }
        FullEvent::GuildScheduledEventUserRemove { unsubscribed } => {
            let s = unsubscribed;
            let removed = Interest::Removed;
            interest(
                &ctx.http,
                discord,
                s.guild_id,
                s.scheduled_event_id,
                s.user_id,
                removed,
            )
            .await?;
        }
        _ => {}
    }
    Ok(())
}

async fn count(
    discord: &Discord,
    guild: GuildId,
    user: UserId,
    name: &str,
    activity: Activity,
) -> Result<(), BoxError> {
    let envelope = envelope_of(&guild.to_string(), &user.to_string(), name, Role::Member);
    // Discord's events carry the member's name.
    discord
        .app
        .record_activity(&envelope, activity, async || None)
        .await?;
    Ok(())
}

/// Sends the newcomer the mission in a direct message. A member who does not
/// accept direct messages is simply not welcomed.
async fn welcome(ctx: &serenity::all::Context, discord: &Discord, member: &Member) {
    if member.user.bot {
        return;
    }
    let card = match discord
        .app
        .welcome(Platform::Discord, &member.guild_id.to_string())
        .await
    {
        Ok(Some(card)) => card,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "preparing the welcome");
            return;
        }
    };
    let page = render::pages(&card).remove(0);
    let message = CreateMessage::new()
        .embed(page.embed())
        .allowed_mentions(render::no_mentions());
    if let Err(e) = member.user.direct_message(&ctx.http, message).await {
        tracing::info!(error = %e, "welcome not delivered");
    }
}

fn shard_up(shard: u32, up: bool) {
    metrics::gauge!(crate::ops::names::SHARD_UP, "shard" => shard.to_string()).set(if up {
        1.0
    } else {
        0.0
    });
}
