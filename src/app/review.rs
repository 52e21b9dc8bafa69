//! `review`, `review approve <#id>`, `review reject <#id> reason="…"` and
//! `contribution edit <#id> … reason="…"`.

use super::App;
use crate::domain::command::ContributionChanges;
use crate::domain::contribution::correction::Corrector;
use crate::domain::contribution::snapshot::describe;
use crate::domain::contribution::validate::check_day;
use crate::domain::contribution::{Recorded, ReviewWait};
use crate::domain::reply::Line;
use crate::domain::text::{Reason, format_number};
use crate::domain::{Actor, ContributionId, Reply};
use crate::error::Result;
use crate::store::review::{ContributionEdit, Decided, Edited, Waiting};

/// How many waiting contributions `review` lists.
const REVIEW_LIMIT: i64 = 25;

pub async fn list(app: &App, actor: &Actor) -> Result<Reply> {
    let (waiting, count) = app
        .store()
        .waiting_for_review(actor.community, REVIEW_LIMIT)
        .await?;
    let mut reply = Reply::private(format!(
        "Waiting for review ({})",
        format_number(count as f64)
    ));
    if waiting.is_empty() {
        return Ok(reply.line("None: every contribution counts."));
    }
    for w in &waiting {
        reply = reply.line(
            Line::new()
                .text(format!("#{} · ", w.id))
                .strong(&w.member_name)
                .text(" · ")
                .extend(describe(&w.snapshot))
                .text(format!(
                    " · logged {}",
                    w.snapshot.logged_at.format("%Y-%m-%d %H:%M")
                )),
        );
    }
    if count > waiting.len() as i64 {
        reply = reply.line(format!(
            "The oldest {}; decide on them to see the rest.",
            waiting.len()
        ));
    }
    Ok(reply.line(
        Line::new()
            .code("review approve #id")
            .text(" counts one; ")
            .code("review reject #id reason=\"…\"")
            .text(" tells its member why not."),
    ))
}

pub async fn approve(app: &App, actor: &Actor, id: ContributionId) -> Result<Reply> {
    let reviewer = actor.display_name.clone();
    let notice = |w: &Waiting| {
        Reply::private(format!("Your contribution #{} was approved", w.id))
            .line(describe(&w.snapshot))
            .line(
                Line::new()
                    .text("Approved by ")
                    .strong(&reviewer)
                    .text(": it counts now. Thank you!"),
            )
    };
    let card = |w: &Waiting| {
        decided_card(
            w,
            Line::new()
                .text("✅ Approved by ")
                .member(actor.member, &reviewer),
        )
    };
    let approved = app
        .store()
        .approve_contribution(
            actor.community,
            id,
            actor.member,
            app.now(),
            Decided {
                notice: &notice,
                card: &card,
            },
        )
        .await??;
    app.outbox_signal().notify_one();
    let mut reply = Reply::private(format!("Contribution #{id} approved"))
        .line(
            Line::new()
                .strong(&approved.waiting.member_name)
                .text(": ")
                .extend(describe(&approved.waiting.snapshot)),
        )
        .line("It counts in every figure now; its member is told.");
    for milestone in &approved.recorded.milestones {
        reply = reply.line(format!("🎉 {milestone}"));
    }
    Ok(reply)
}

pub async fn reject(app: &App, actor: &Actor, id: ContributionId, reason: Reason) -> Result<Reply> {
    let reviewer = actor.display_name.clone();
    let notice = |w: &Waiting| rejection_notice(w, &reviewer, reason.as_str());
    let card = |w: &Waiting| {
        decided_card(
            w,
            Line::new()
                .text("❌ Rejected by ")
                .member(actor.member, &reviewer)
                .text(format!(": {reason}")),
        )
    };
    let rejected = app
        .store()
        .reject_contribution(
            actor.community,
            id,
            actor.member,
            reason.as_str(),
            app.now(),
            Decided {
                notice: &notice,
                card: &card,
            },
        )
        .await??;
    app.outbox_signal().notify_one();
    Ok(Reply::private(format!("Contribution #{id} rejected"))
        .line(
            Line::new()
                .strong(&rejected.waiting.member_name)
                .text(": ")
                .extend(describe(&rejected.waiting.snapshot)),
        )
        .line(format!("Reason: {reason}"))
        .line("Its member is told privately, with the reason."))
}

/// A review request once decided, shown where its buttons were.
fn decided_card(w: &Waiting, verdict: Line) -> Reply {
    Reply::public(format!("Contribution #{} reviewed", w.id))
        .line(
            Line::new()
                .member(w.member, &w.member_name)
                .text(": ")
                .extend(describe(&w.snapshot)),
        )
        .line(verdict)
}

fn rejection_notice(w: &Waiting, reviewer: &str, reason: &str) -> Reply {
    Reply::private(format!("Your contribution #{} was not approved", w.id))
        .line(describe(&w.snapshot))
        .line(
            Line::new()
                .text("Rejected by ")
                .strong(reviewer)
                .text(format!(": {reason}")),
        )
}

/// The receipt's lines for a contribution waiting for review.
pub fn waits_lines(reply: Reply, wait: &ReviewWait) -> Reply {
    let unit = wait.unit.as_deref().unwrap_or("");
    let above = format!("{} {unit}", format_number(wait.review_above));
    reply.line(format!(
        "It waits for an organiser's review: {} counts contributions above {} once one approves them. It counts nowhere until then; you will be told.",
        wait.goal_title,
        above.trim_end()
    ))
}

pub async fn edit(
    app: &App,
    actor: &Actor,
    id: ContributionId,
    change: ContributionChanges,
    reason: Reason,
) -> Result<Reply> {
    if let Some(day) = change.day {
        check_day(day, app.today())?;
    }
    let by = Corrector {
        member: actor.member,
        organiser: actor.is_organiser(),
    };
    let change = ContributionEdit {
        description: change.description.map(|d| d.as_str().to_string()),
        amount: change.amount.map(|a| a.get()),
        unit: change.unit.map(|u| u.as_str().to_string()),
        goal: change.goal.map(|g| g.map(|g| g.as_str().to_string())),
        value: change.value.map(|v| v.map(|v| v.as_str().to_string())),
        day: change.day,
    };
    let editor = actor.display_name.clone();
    let edited = app
        .store()
        .edit_contribution(
            actor.community,
            id,
            by,
            &change,
            reason.as_str(),
            app.now(),
            |e| edit_notice(e, &editor, reason.as_str()),
        )
        .await??;
    let Edited {
        before,
        after,
        recorded,
        retracted,
        member,
        ..
    } = &edited;
    if *member != actor.member
        || !retracted.is_empty()
        || !recorded.milestones.is_empty()
        || recorded.review.is_some()
    {
        app.outbox_signal().notify_one();
    }
    let mut reply = Reply::private(format!("Contribution #{id} edited"))
        .line(Line::new().text("Was: ").extend(describe(before)))
        .line(Line::new().text("Now: ").extend(describe(after)))
        .line(format!("Reason: {reason}"));
    reply = progress(reply, recorded);
    for r in retracted {
        reply = reply.line(format!(
            "Milestone retracted: {} (it was reached only through the old values).",
            r.title
        ));
    }
    if *member != actor.member {
        reply = reply.line("Its member is told privately, with the reason.");
    }
    Ok(reply)
}

/// What the edited contribution now counts for.
fn progress(reply: Reply, recorded: &Recorded) -> Reply {
    if let Some(wait) = &recorded.review {
        return waits_lines(reply, wait);
    }
    super::contribute::counted_for(reply, recorded)
}

fn edit_notice(e: &Edited, editor: &str, reason: &str) -> Reply {
    let mut reply = Reply::private(format!("Your contribution #{} was edited", e.id))
        .line(Line::new().text("Was: ").extend(describe(&e.before)))
        .line(Line::new().text("Now: ").extend(describe(&e.after)))
        .line(
            Line::new()
                .text("Edited by ")
                .strong(editor)
                .text(format!(": {reason}")),
        );
    if e.recorded.review.is_some() {
        reply = reply.line("It waits for an organiser's review; it counts nowhere until approved.");
    }
    reply
}
