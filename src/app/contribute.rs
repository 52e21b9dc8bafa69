//! `contribute` and `contributions [member]`.

use crate::domain::announce::{progress_bar, progress_text};
use crate::domain::command::NewContribution;
use crate::domain::contribution::snapshot::describe;
use crate::domain::contribution::validate::check_day;
use crate::domain::contribution::{GoalAfter, Recorded};
use crate::domain::milestones::ordinal;
use crate::domain::reply::Line;
use crate::domain::text::format_number;
use crate::domain::{Actor, ContributionId, MemberRef, Reply};
use crate::error::Result;
use crate::store::contributions::ContributionRequest;

use super::App;

/// How many contributions `contributions` lists.
const LIST_LIMIT: i64 = 10;

pub async fn contribute(app: &App, actor: &Actor, new: NewContribution) -> Result<Reply> {
    record(app, actor, new, false)
        .await
        .map(|recorded| recorded.receipt)
}

/// A contribution just logged, as its receipt tells it.
pub(super) struct Logged {
    pub receipt: Reply,
    pub id: ContributionId,
    /// It waits for an organiser's review, counting nowhere yet.
    pub waits: bool,
}

/// Records `new` as `actor`'s contribution. `on_behalf`: an organiser logged it
/// for `actor` (see `contribute_for`), and the receipt is theirs.
pub(super) async fn record(
    app: &App,
    actor: &Actor,
    new: NewContribution,
    on_behalf: bool,
) -> Result<Logged> {
    let now = app.now();
    let today = now.date_naive();
    let day = new.day.unwrap_or(today);
    check_day(day, today)?;
    let recorded = app
        .store()
        .record_contribution(ContributionRequest {
            community: actor.community,
            member: actor.member,
            member_name: actor.display_name.clone(),
            platform: actor.platform,
            description: new.description.as_str().to_string(),
            amount: new.amount.map(|a| a.get()),
            unit: new.unit.as_ref().map(|u| u.as_str().to_string()),
            goal: new.goal.as_ref().map(|g| g.as_str().to_string()),
            value: new.value.as_ref().map(|v| v.as_str().to_string()),
            day,
            now,
        })
        .await?;
    // Milestones to announce, or a request for review to post.
    if !recorded.milestones.is_empty() || recorded.review.is_some() {
        app.outbox_signal().notify_one();
    }
    if let Some(wait) = &recorded.review {
        let title = if on_behalf {
            format!(
                "Contribution #{} for {} waits for review",
                recorded.id.0, actor.display_name
            )
        } else {
            format!("Contribution #{} waits for review", recorded.id.0)
        };
        let reply = Reply::private(title).line(Line::new().text(format!("“{}”", new.description)));
        return Ok(Logged {
            receipt: super::review::waits_lines(reply, wait),
            id: recorded.id,
            waits: true,
        });
    }

    let mut details = Vec::new();
    if let Some(amount) = new.amount {
        details.push(match &recorded.unit {
            Some(unit) => format!("{amount} {unit}"),
            None => amount.to_string(),
        });
    }
    if let Some(value) = &recorded.value {
        details.push(format!("value: {value}"));
    }
    if day != today {
        details.push(format!("on {day}"));
    }
    let mut headline = Line::new().text(format!("“{}”", new.description));
    if !details.is_empty() {
        headline = headline.text(format!(" ({})", details.join(" · ")));
    }
    let title = if on_behalf {
        format!(
            "Contribution #{} logged for {}",
            recorded.id.0, actor.display_name
        )
    } else {
        format!("Contribution #{} logged", recorded.id.0)
    };
    let mut reply = Reply::private(title).line(headline);
    if let Some(goal) = &recorded.goal {
        reply = reply.line(goal_line(goal));
        if goal.counted == 0.0 {
            let unit = goal.unit.as_deref().unwrap_or("units");
            reply = reply.line(
                Line::new()
                    .text(format!("No amount given, so the goal did not move; add amount=N to count {unit}, as in "))
                    .code(format!("contribute … amount=10 goal={}", goal.slug)),
            );
        }
    }
    reply = milestone_lines(reply, &recorded.milestones);
    let count = ordinal(recorded.member_count);
    let closing = if on_behalf {
        format!(
            "That is {}'s {count} contribution; they are told privately.",
            actor.display_name
        )
    } else {
        format!("That is your {count} contribution. Thank you!")
    };
    Ok(Logged {
        receipt: reply.line(closing),
        id: recorded.id,
        waits: false,
    })
}

/// Where a goal stands after a contribution counted: "Trees: ▓▓░░ 40 / 100 trees".
pub(super) fn goal_line(goal: &GoalAfter) -> Line {
    Line::new()
        .strong(&goal.title)
        .text(": ")
        .text(progress_bar(goal.progress, goal.target))
        .text(" ")
        .text(progress_text(
            goal.progress,
            goal.target,
            goal.unit.as_deref(),
        ))
}

/// The milestones a contribution reached, a line each.
pub(super) fn milestone_lines(mut reply: Reply, milestones: &[String]) -> Reply {
    for milestone in milestones {
        reply = reply.line(format!("🎉 {milestone}"));
    }
    reply
}

/// Where its goal stands and the milestones it reached: what a recorded
/// contribution counted for.
pub(super) fn counted_for(mut reply: Reply, recorded: &Recorded) -> Reply {
    if let Some(goal) = &recorded.goal {
        reply = reply.line(goal_line(goal));
    }
    milestone_lines(reply, &recorded.milestones)
}

pub async fn list(app: &App, actor: &Actor, member: MemberRef) -> Result<Reply> {
    let member = app.member_by_ref(actor, &member, false).await?;
    let rows = app
        .store()
        .contributions_by_member(actor.community, member.id, LIST_LIMIT)
        .await?;
    let mine = member.id == actor.member;
    let title = if mine {
        "Your contributions".to_string()
    } else {
        format!("Contributions by {}", member.display_name)
    };
    let mut reply = Reply::private(format!(
        "{title} ({} in all)",
        format_number(member.contribution_count as f64)
    ));
    // Those waiting for review, or rejected, are the member's and the organisers'
    // to see.
    if mine || actor.is_organiser() {
        let waiting = app.store().member_waiting(member.id, LIST_LIMIT).await?;
        for w in &waiting {
            let status = if w.rejected {
                format!(
                    " · not approved: {}",
                    w.reason.as_deref().unwrap_or("no reason given")
                )
            } else {
                " · ⏳ waits for review".to_string()
            };
            reply = reply.line(
                Line::new()
                    .text(format!("#{} · ", w.id))
                    .extend(describe(&w.snapshot))
                    .text(status),
            );
        }
        if rows.is_empty() && !waiting.is_empty() {
            return Ok(reply);
        }
    }
    if rows.is_empty() {
        return Ok(reply.line(
            Line::new()
                .text("None yet. Log one with ")
                .code("contribute <what you did>"),
        ));
    }
    for r in rows {
        let mut line = Line::new()
            .text(format!("#{} · ", r.id))
            .day(r.day)
            .text(" · ")
            .text(&r.description);
        if let Some(amount) = r.amount {
            line = line.text(
                format!(
                    " · {} {}",
                    format_number(amount),
                    r.unit.as_deref().unwrap_or("")
                )
                .trim_end()
                .to_string(),
            );
        }
        if let Some(goal) = r.goal {
            line = line.text(format!(" · goal {goal}"));
        }
        reply = reply.line(line);
    }
    Ok(reply)
}
