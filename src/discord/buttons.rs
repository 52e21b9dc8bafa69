//! Buttons under Keel's messages. Under the review requests the outbox posts to
//! the review channel, Approve runs `review approve` as whoever pressed it;
//! Reject opens a form asking why, whose submission runs `review reject`. Under
//! an event's card, Going, Maybe and Can't go run `event rsvp` as whoever pressed
//! them, answered for them alone (with the calendar file, if any). Each button's
//! custom id names what it does ([`Press::key`]), so any Keel process can answer
//! it. The core decides who may; the outbox then edits every request or card
//! posted, on each platform.

use serenity::all::{
    ActionRowComponent, ButtonStyle, ComponentInteraction, CreateActionRow, CreateAttachment,
    CreateButton, CreateInputText, CreateInteractionResponse, CreateInteractionResponseMessage,
    CreateModal, InputTextStyle, ModalInteraction,
};

use super::interaction::{SERVER_ONLY, run_as};
use super::log_message::{answer_privately, run_as_submitter};
use super::{BoxError, Discord, render};
use crate::domain::command::Command;
use crate::domain::reply::{Button, Press};
use crate::domain::text::Reason;
use crate::domain::{PairingGroupId, Platform, Reply, UserError};

/// The start of every custom id of Keel's buttons and of the forms they open.
const KEEL: &str = "keel:";

/// The message's buttons, in one row (Discord allows five).
pub fn components(buttons: &[Button]) -> Vec<CreateActionRow> {
    if buttons.is_empty() {
        return Vec::new();
    }
    let row = buttons
        .iter()
        .take(5)
        .map(|b| {
            CreateButton::new(format!("{KEEL}{}", b.press.key()))
                .label(render::truncate(&b.label, 80))
                .style(if b.danger {
                    ButtonStyle::Danger
                } else {
                    ButtonStyle::Primary
                })
        })
        .collect();
    vec![CreateActionRow::Buttons(row)]
}

fn press_of(custom_id: &str) -> Option<Press> {
    custom_id.strip_prefix(KEEL).and_then(Press::from_key)
}

/// Whether a pressed component is one of Keel's buttons.
pub fn is_press(component: &ComponentInteraction) -> bool {
    press_of(&component.data.custom_id).is_some()
}

/// Whether a submitted form is one a button opened.
pub fn is_form(modal: &ModalInteraction) -> bool {
    press_of(&modal.data.custom_id).is_some()
}

/// Answers a press: Approve and an answer to an event are decided at once and
/// answered privately; Reject opens the form that asks why.
pub async fn pressed(
    ctx: &serenity::all::Context,
    discord: &Discord,
    component: &ComponentInteraction,
) -> Result<(), BoxError> {
    let Some(press) = press_of(&component.data.custom_id) else {
        return Ok(());
    };
    let response = match press {
        Press::Approve(id) => {
            let answer = run_as_presser(discord, component, Command::ReviewApprove { id }).await;
            CreateInteractionResponse::Message(private(answer)?)
        }
        Press::Rsvp(id, answer) => {
            let answer =
                run_as_presser(discord, component, Command::EventRsvp { id, answer }).await;
            CreateInteractionResponse::Message(private(answer)?)
        }
        Press::Met(group, met) => {
            let command = Command::PairMet {
                met,
                group: Some(group),
            };
            let answer = match component.guild_id {
                // Asked in the members' direct messages (no thread could be made):
                // answered in the server the group was made in.
                None => run_in_groups_server(discord, component, group, command).await,
                Some(_) => run_as_presser(discord, component, command).await,
            };
            CreateInteractionResponse::Message(private(answer)?)
        }
        Press::Reject(id) => {
            let reason = CreateInputText::new(
                InputTextStyle::Paragraph,
                "Why not? Its member is told.",
                "reason",
            )
            .max_length(Reason::MAX_CHARS as u16)
            .required(true);
            CreateInteractionResponse::Modal(
                CreateModal::new(
                    format!("{KEEL}{}", press.key()),
                    format!("Reject contribution #{id}"),
                )
                .components(vec![CreateActionRow::InputText(reason)]),
            )
        }
    };
    component.create_response(ctx, response).await?;
    Ok(())
}

/// Runs `command` as the member who pressed a button, in the server it is in.
async fn run_as_presser(
    discord: &Discord,
    component: &ComponentInteraction,
    command: Command,
) -> Result<Reply, UserError> {
    match component.guild_id {
        Some(guild) => {
            run_as(
                discord,
                &guild.to_string(),
                &component.user,
                component.member.as_ref(),
                command,
            )
            .await
        }
        None => Err(UserError::invalid(SERVER_ONLY, "")),
    }
}

/// Runs `command` as the member who pressed a group's follow-up button in their
/// direct messages, as a member of the server the group was made in.
async fn run_in_groups_server(
    discord: &Discord,
    component: &ComponentInteraction,
    group: PairingGroupId,
    command: Command,
) -> Result<Reply, UserError> {
    let workspace = discord
        .app
        .store()
        .pairing_group_workspace(group)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, %group, "reading a pairing group's server");
            UserError::invalid("Keel could not look up that introduction.", "")
        })?;
    match workspace {
        Some((Platform::Discord, guild)) => {
            run_as(discord, &guild, &component.user, None, command).await
        }
        _ => Err(UserError::invalid(SERVER_ONLY, "")),
    }
}

/// Runs a submitted Reject form as `review reject` and answers it privately.
pub async fn submitted(
    ctx: &serenity::all::Context,
    discord: &Discord,
    modal: &ModalInteraction,
) -> Result<(), BoxError> {
    let answer = match press_of(&modal.data.custom_id) {
        Some(Press::Reject(id)) => match Reason::parse(&reason(modal)) {
            Ok(reason) => {
                run_as_submitter(discord, modal, Command::ReviewReject { id, reason }).await
            }
            Err(e) => Err(e),
        },
        _ => return Ok(()),
    };
    answer_privately(ctx, modal, answer).await
}

fn reason(modal: &ModalInteraction) -> String {
    modal
        .data
        .components
        .iter()
        .flat_map(|row| &row.components)
        .find_map(|c| match c {
            ActionRowComponent::InputText(t) if t.custom_id == "reason" => t.value.clone(),
            _ => None,
        })
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The core's answer to a press, for the presser alone (its first page: a
/// decision's answer is short), with its files (an event's calendar file).
fn private(answer: Result<Reply, UserError>) -> Result<CreateInteractionResponseMessage, BoxError> {
    let mut message = CreateInteractionResponseMessage::new()
        .ephemeral(true)
        .allowed_mentions(render::no_mentions());
    let reply = match answer {
        Ok(reply) => reply,
        Err(e) => return Ok(message.content(render::error(&e.to_string()))),
    };
    message = match render::pages(&reply).first() {
        Some(page) => message.embed(page.embed()),
        None => message.content("Done."),
    };
    for file in &reply.attachments {
        message = message.add_file(CreateAttachment::bytes(
            file.upload_bytes()?,
            file.upload_name(),
        ));
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::events::Answer;
    use crate::domain::{ContributionId, EventId};

    #[test]
    fn a_buttons_custom_id_reads_back_as_its_press() {
        for press in [
            Press::Approve(ContributionId(12)),
            Press::Reject(ContributionId(7)),
            Press::Rsvp(EventId(3), Answer::Maybe),
        ] {
            assert_eq!(press_of(&format!("{KEEL}{}", press.key())), Some(press));
        }
        for other in [
            "keel:review-approve:",
            "keel:review-approve:x",
            "keel_log_message:1:a",
            "review-approve:3",
        ] {
            assert_eq!(press_of(other), None, "{other}");
        }
    }
}
