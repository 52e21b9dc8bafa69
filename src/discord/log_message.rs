//! "Log as contribution", a message's context-menu command. Discord sends the
//! message along with the command (its `resolved` data), so Keel reads it without
//! the Message Content intent. The command answers with a form (a modal) prefilled
//! with the message's text; its submission comes back as an interaction of its
//! own (handled in `events`, whichever Keel process receives it: the form keeps
//! whose message it is in its custom id, not in memory) and runs the core's
//! `contribute-for`, which decides whose the contribution is and who may log it.
//!
//! serenity 0.12 cannot read Discord's newer modal components (a select inside a
//! label), so the goal, value, amount and date are text inputs that the core's
//! value types check, as they check the text syntax.

use serenity::all::{
    ActionRowComponent, CreateActionRow, CreateInputText, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, CreateModal,
    InputTextStyle, Message, ModalInteraction,
};

use super::interaction::{CommandResult, SERVER_ONLY, display_name, run_as};
use super::{BoxError, Ctx, Discord, render};
use crate::domain::command::{Command, NewContribution};
use crate::domain::contribution::from_message;
use crate::domain::text::{Amount, Description, Slug, Unit, ValueName, parse_day};
use crate::domain::{MemberRef, Reply, UserError};

/// The start of the form's custom id; the author's id and name follow.
const FORM: &str = "keel_log_message:";

/// Log this message as a contribution (its author's).
#[poise::command(context_menu_command = "Log as contribution")]
pub async fn log_message(ctx: Ctx<'_>, message: Message) -> CommandResult {
    let Some(guild) = ctx.guild_id() else {
        return super::interaction::send_error(ctx, SERVER_ONLY).await;
    };
    let poise::Context::Application(application) = ctx else {
        return Ok(());
    };
    // Messages from apps and bots have no member to credit.
    if message.author.bot || message.webhook_id.is_some() {
        return super::interaction::send_error(
            ctx,
            "That message was not written by a member, so it cannot be logged as their contribution.",
        )
        .await;
    }
    let goals = goal_hint(ctx.data(), &guild.to_string()).await;
    let author_name = display_name(&message.author);
    let form = form(
        &format!("{FORM}{}:{author_name}", message.author.id),
        &from_message::description(&message.content),
        &goals,
    );
    application
        .interaction
        .create_response(ctx.http(), CreateInteractionResponse::Modal(form))
        .await?;
    application
        .has_sent_initial_response
        .store(true, std::sync::atomic::Ordering::SeqCst);
    Ok(())
}

/// The open goals' slugs, to show in the goal field.
async fn goal_hint(discord: &Discord, guild: &str) -> String {
    let app = &discord.app;
    let Ok(Some(workspace)) = app
        .store()
        .workspace_by_external(crate::domain::Platform::Discord, guild)
        .await
    else {
        return String::new();
    };
    let slugs: Vec<String> = app
        .store()
        .open_goals(workspace.community_id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|g| g.slug)
        .collect();
    slugs.join(", ")
}

fn form(custom_id: &str, description: &str, goals: &str) -> CreateModal {
    let mut what = CreateInputText::new(InputTextStyle::Paragraph, "What was done", "description")
        .max_length(Description::MAX_CHARS as u16)
        .required(true);
    if !description.is_empty() {
        what = what.value(description);
    }
    let goal_placeholder = if goals.is_empty() {
        "A goal's short name".to_string()
    } else {
        render::truncate(&format!("One of: {goals}"), 100)
    };
    let short = |label: &str, id: &str, max: u16, placeholder: &str| {
        CreateActionRow::InputText(
            CreateInputText::new(InputTextStyle::Short, label, id)
                .max_length(max)
                .required(false)
                .placeholder(placeholder),
        )
    };
    CreateModal::new(custom_id, "Log a contribution").components(vec![
        CreateActionRow::InputText(what),
        short("Goal", "goal", Slug::MAX_CHARS as u16, &goal_placeholder),
        short(
            "Mission value",
            "value",
            ValueName::MAX_CHARS as u16,
            "A value of the mission",
        ),
        short("Amount", "amount", 40, "40 trees, 2.5 hours or 40"),
        short(
            "Date",
            "date",
            10,
            "YYYY-MM-DD or yesterday (today if empty)",
        ),
    ])
}

/// Whether a modal's submission is this form's.
pub fn is_form(modal: &ModalInteraction) -> bool {
    modal.data.custom_id.starts_with(FORM)
}

/// Runs a submitted form as `contribute-for` and answers it privately.
pub async fn submitted(
    ctx: &serenity::all::Context,
    discord: &Discord,
    modal: &ModalInteraction,
) -> Result<(), BoxError> {
    let answer = match command(modal, discord.app.today()) {
        Ok(command) => run_as_submitter(discord, modal, command).await,
        Err(e) => Err(e),
    };
    answer_privately(ctx, modal, answer).await
}

/// Runs `command` as whoever submitted the form: who they are is what Discord
/// says; the core decides whether they may.
pub(super) async fn run_as_submitter(
    discord: &Discord,
    modal: &ModalInteraction,
    command: Command,
) -> Result<Reply, UserError> {
    let Some(guild) = modal.guild_id else {
        return Err(UserError::invalid(SERVER_ONLY, ""));
    };
    run_as(
        discord,
        &guild.to_string(),
        &modal.user,
        modal.member.as_ref(),
        command,
    )
    .await
}

/// Answers a form's submission with the core's answer, privately: the first page
/// answers it, the others follow.
pub(super) async fn answer_privately(
    ctx: &serenity::all::Context,
    modal: &ModalInteraction,
    answer: Result<Reply, UserError>,
) -> Result<(), BoxError> {
    let answer = match answer {
        Ok(reply) => render::pages(&reply),
        Err(e) => {
            let message = CreateInteractionResponseMessage::new()
                .content(render::error(&e.to_string()))
                .ephemeral(true)
                .allowed_mentions(render::no_mentions());
            modal
                .create_response(ctx, CreateInteractionResponse::Message(message))
                .await?;
            return Ok(());
        }
    };
    for (i, page) in answer.iter().enumerate() {
        if i == 0 {
            let message = CreateInteractionResponseMessage::new()
                .embed(page.embed())
                .ephemeral(true)
                .allowed_mentions(render::no_mentions());
            modal
                .create_response(ctx, CreateInteractionResponse::Message(message))
                .await?;
        } else {
            let message = CreateInteractionResponseFollowup::new()
                .embed(page.embed())
                .ephemeral(true)
                .allowed_mentions(render::no_mentions());
            modal.create_followup(ctx, message).await?;
        }
    }
    Ok(())
}

/// The form's fields as the core's command, checked by the core's value types.
fn command(modal: &ModalInteraction, today: chrono::NaiveDate) -> Result<Command, UserError> {
    let (author_id, author_name) = modal
        .data
        .custom_id
        .strip_prefix(FORM)
        .and_then(|rest| rest.split_once(':'))
        .filter(|(id, _)| !id.is_empty())
        .ok_or_else(|| {
            UserError::invalid(
                "This form no longer says whose message it logs.",
                "Open it again from the message's menu: Apps → Log as contribution.",
            )
        })?;
    let field = |id: &str| {
        modal.data.components.iter().find_map(|row| {
            row.components.iter().find_map(|c| match c {
                ActionRowComponent::InputText(t) if t.custom_id == id => t
                    .value
                    .as_deref()
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_string),
                _ => None,
            })
        })
    };
    let (amount, unit) = match field("amount") {
        None => (None, None),
        Some(raw) => {
            let (number, unit) = raw.split_once(char::is_whitespace).unwrap_or((&raw, ""));
            let unit = unit.trim();
            (
                Some(Amount::parse("amount", number)?),
                (!unit.is_empty()).then(|| Unit::parse(unit)).transpose()?,
            )
        }
    };
    Ok(Command::ContributeFor {
        author: MemberRef::PlatformUser {
            id: author_id.to_string(),
            name: Some(author_name.to_string()).filter(|n| !n.is_empty()),
        },
        new: NewContribution {
            description: Description::parse(&field("description").unwrap_or_default())?,
            amount,
            unit,
            goal: field("goal").as_deref().map(Slug::parse).transpose()?,
            value: field("value")
                .as_deref()
                .map(ValueName::parse)
                .transpose()?,
            day: field("date")
                .map(|d| parse_day("date", &d, today))
                .transpose()?,
        },
    })
}
