//! One slash command, from interaction to answer: who asks (from the verified
//! interaction, never from options: T2), whether they organise, the core's reply,
//! and sending it privately or publicly within Discord's limits.

use poise::CreateReply;
use serenity::all::{CreateAttachment, Member, Permissions};

use super::{Ctx, Discord, render};
use crate::domain::command::{Command, RoleCheck};
use crate::domain::reply::{Reply, Visibility};
use crate::domain::{Envelope, Platform, Role, UserError};

pub type CommandResult = Result<(), super::BoxError>;

pub const SERVER_ONLY: &str =
    "Keel's commands work in a server, where your community is. Use them in one of its channels.";

/// Runs a command the options were turned into, or shows why they could not be.
pub async fn run(ctx: Ctx<'_>, command: Result<Command, UserError>) -> CommandResult {
    let Some(guild) = ctx.guild_id() else {
        return send_error(ctx, SERVER_ONLY).await;
    };
    let command = match command {
        Ok(c) => c,
        Err(e) => return send_error(ctx, &e.to_string()).await,
    };
    let discord = ctx.data();
    let member = member_of(ctx);
    // Only look up who organises when the command needs it: most do not.
    let role = match command.role_check() {
        RoleCheck::Unneeded => Role::Member,
        RoleCheck::Preferred | RoleCheck::Required => {
            organiser_role(discord, &guild.to_string(), member).await
        }
    };
    let envelope = envelope(&guild.to_string(), ctx.author(), member, role);
    let actor = match discord.app.actor(&envelope).await {
        Ok(a) => match upload_limit(ctx) {
            Some(limit) => a.with_upload_limit(limit),
            None => a,
        },
        Err(e) => return send_error(ctx, &e.to_string()).await,
    };
    // Acknowledge slow work within Discord's 3 s (D2); the answer follows. A
    // member whose export or chart has to wait is told so, privately; the answer
    // then comes as a message of its own.
    let mut turn = discord.app.take_turn(&command);
    match turn.acknowledgement(&command) {
        Some((note, _)) if turn.is_queued() => {
            ctx.send(
                CreateReply::default()
                    .content(render::escape(&note))
                    .ephemeral(true)
                    .allowed_mentions(render::no_mentions()),
            )
            .await?;
        }
        Some((_, Visibility::Private)) => ctx.defer_ephemeral().await?,
        Some((_, Visibility::Public)) => ctx.defer().await?,
        None => {}
    }
    let answered = match discord.app.handle_in_turn(&actor, command, &mut turn).await {
        Ok(reply) => send(ctx, &reply).await,
        Err(e) => send_error(ctx, &e.to_string()).await,
    };
    // The turn ends once the files are sent.
    drop(turn);
    answered
}

/// Room left in Discord's request for the message that carries the file.
const MESSAGE_ROOM: u64 = 64 * 1024;

/// The largest file a reply to this interaction may carry: what Discord says
/// this server allows (boosts raise it), less room for the message.
fn upload_limit(ctx: Ctx<'_>) -> Option<u64> {
    match ctx {
        poise::Context::Application(a) => {
            Some(u64::from(a.interaction.attachment_size_limit).saturating_sub(MESSAGE_ROOM))
                .filter(|limit| *limit > 0)
        }
        poise::Context::Prefix(_) => None,
    }
}

/// The member who sent the interaction (None in a DM).
fn member_of(ctx: Ctx<'_>) -> Option<&Member> {
    match ctx {
        poise::Context::Application(a) => a.interaction.member.as_deref(),
        poise::Context::Prefix(_) => None,
    }
}

/// The envelope of an interaction: the guild and user Discord verified.
pub fn envelope(
    guild: &str,
    user: &serenity::all::User,
    member: Option<&Member>,
    role: Role,
) -> Envelope {
    let name = member
        .and_then(|m| m.nick.clone())
        .unwrap_or_else(|| display_name(user));
    envelope_of(guild, &user.id.to_string(), &name, role)
}

/// A Discord envelope from ids Discord gave (never from user text: T2).
pub fn envelope_of(guild: &str, user_id: &str, name: &str, role: Role) -> Envelope {
    Envelope {
        platform: Platform::Discord,
        workspace_id: guild.to_string(),
        workspace_name: guild.to_string(),
        user_id: user_id.to_string(),
        user_name: name.to_string(),
        role,
    }
}

/// The name a user shows: their global display name, else their username.
pub fn display_name(user: &serenity::all::User) -> String {
    user.global_name
        .clone()
        .unwrap_or_else(|| user.name.clone())
}

/// Organisers: members with Manage Server (or Administrator), or the community's
/// organiser role set with `/setup organiser-role`. Checked on every organiser
/// command, because server admins can change who sees a command (D5).
pub async fn organiser_role(discord: &Discord, guild: &str, member: Option<&Member>) -> Role {
    let Some(member) = member else {
        return Role::Member;
    };
    let permissions = member.permissions.unwrap_or_else(Permissions::empty);
    if permissions.intersects(Permissions::MANAGE_GUILD | Permissions::ADMINISTRATOR) {
        return Role::Organiser;
    }
    let configured = discord
        .app
        .store()
        .workspace_by_external(Platform::Discord, guild)
        .await
        .ok()
        .flatten()
        .and_then(|w| w.organiser_role)
        .and_then(|r| snowflake(&r));
    match configured {
        Some(role) if member.roles.iter().any(|r| r.get() == role) => Role::Organiser,
        _ => Role::Member,
    }
}

/// Runs `command` for `user` of `guild`, outside a slash command (a form, a
/// button): who they are is what Discord verified; the core decides whether
/// they may.
pub async fn run_as(
    discord: &Discord,
    guild: &str,
    user: &serenity::all::User,
    member: Option<&Member>,
    command: Command,
) -> Result<Reply, UserError> {
    let role = match command.role_check() {
        RoleCheck::Unneeded => Role::Member,
        RoleCheck::Preferred | RoleCheck::Required => organiser_role(discord, guild, member).await,
    };
    let actor = discord
        .app
        .actor(&envelope(guild, user, member, role))
        .await?;
    discord.app.handle(&actor, command).await
}

/// The id in `<#123>`, `<@&123>` or `123`.
pub fn snowflake(reference: &str) -> Option<u64> {
    let digits: String = reference
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok().filter(|id| *id > 0)
}

/// Sends a reply: the first page answers the interaction, any further pages
/// follow; files go with the last page. Private replies are ephemeral.
pub async fn send(ctx: Ctx<'_>, reply: &Reply) -> CommandResult {
    let pages = render::pages(reply);
    let last = pages.len() - 1;
    for (i, page) in pages.iter().enumerate() {
        let mut message = CreateReply::default()
            .embed(page.embed())
            .ephemeral(reply.is_private())
            .allowed_mentions(render::no_mentions());
        if i == last {
            for file in &reply.attachments {
                // serenity uploads only bytes; the upload limit bounds them.
                let bytes = file.upload_bytes()?;
                message = message.attachment(CreateAttachment::bytes(bytes, file.upload_name()));
            }
        }
        ctx.send(message).await?;
    }
    Ok(())
}

/// Tells only the member what went wrong.
pub async fn send_error(ctx: Ctx<'_>, message: &str) -> CommandResult {
    ctx.send(
        CreateReply::default()
            .content(render::error(message))
            .ephemeral(true)
            .allowed_mentions(render::no_mentions()),
    )
    .await?;
    Ok(())
}
