//! `contribute-for @member <what they did> …`: a contribution logged from a
//! member's message, which Slack's message shortcut and Discord's message menu
//! ("Log as contribution") make. It is the author's: a member logs their own
//! message; an organiser may log anyone's, and the author is told privately. It is
//! recorded as `contribute` records: the same rules, goal caps, milestones and
//! receipt.

use crate::domain::command::NewContribution;
use crate::domain::reply::Line;
use crate::domain::{Actor, ContributionId, MemberRef, Reply, UserError};
use crate::error::Result;

use super::{App, contribute};

pub async fn contribute_for(
    app: &App,
    actor: &Actor,
    author: MemberRef,
    new: NewContribution,
) -> Result<Reply> {
    // The author is a member like any mentioned one: created on first sight.
    let author = app.member_by_ref(actor, &author, true).await?;
    if author.id == actor.member {
        return contribute::contribute(app, actor, new).await;
    }
    if !actor.is_organiser() {
        return Err(UserError::invalid(
            format!(
                "Only organisers can log {}'s message for them.",
                author.display_name
            ),
            "Log your own messages, or ask them to log it (or an organiser to log it for them).",
        )
        .into());
    }
    let description = new.description.as_str().to_string();
    let on_behalf = Actor {
        member: author.id,
        display_name: author.display_name.clone(),
        ..actor.clone()
    };
    let contribute::Logged { receipt, id, waits } =
        contribute::record(app, &on_behalf, new, true).await?;
    // The notice follows in a transaction of its own: the contribution writer
    // commits many members' contributions in one batch, and this is rare.
    let told = app
        .store()
        .tell_member(
            actor.community,
            author.id,
            actor.workspace,
            &notice(actor, id, &description, waits),
            app.now(),
        )
        .await;
    match told {
        Ok(true) => {
            app.outbox_signal().notify_one();
            Ok(receipt)
        }
        Ok(false) => Ok(receipt),
        // The contribution is recorded; only the notice is missing. Say so rather
        // than have the organiser log it again.
        Err(e) => {
            let shown = app.report(e, "telling a member of a contribution logged for them");
            Ok(receipt.line(format!("They could not be told privately: {shown}")))
        }
    }
}

/// What the author is told when an organiser logged their message.
fn notice(organiser: &Actor, id: ContributionId, description: &str, waits: bool) -> Reply {
    let notice = Reply::private(format!("Contribution #{id} logged for you")).line(
        Line::new()
            .member(organiser.member, &organiser.display_name)
            .text(format!(
                " logged your message as contribution #{id}: “{description}”"
            )),
    );
    if waits {
        // Nothing to take back yet: it counts nowhere until reviewed.
        return notice.line(
            "It waits for an organiser's review and counts nowhere until approved; you will be told.",
        );
    }
    notice.line(
        Line::new()
            .text("If it is not right, take it back within 7 days with ")
            .code(format!("contribution remove #{id} reason=\"…\"")),
    )
}
