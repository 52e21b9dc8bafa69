//! `goal create | list | show | close | reopen | edit`.

use crate::domain::announce::{progress_bar, progress_text};
use crate::domain::command::{GoalChanges, NewGoal};
use crate::domain::limits::MAX_OPEN_GOALS;
use crate::domain::reply::Line;
use crate::domain::text::{Slug, format_number};
use crate::domain::{Actor, Reply, UserError};
use crate::error::{Error, Result};
use crate::store::goals::{Goal, GoalRefused, NewGoalRow};

use super::App;

pub(super) fn not_found(slug: &str) -> Error {
    Error::User(UserError::not_found(
        format!("No goal `{slug}`"),
        "See `goal list` for the goals and their slugs.",
    ))
}

pub(super) async fn by_slug(app: &App, actor: &Actor, slug: &Slug) -> Result<Goal> {
    app.store()
        .goal_by_slug(actor.community, slug.as_str())
        .await?
        .ok_or_else(|| not_found(slug.as_str()))
}

fn progress_line(goal: &Goal) -> Line {
    Line::new()
        .text(progress_bar(goal.progress, goal.target))
        .text(" ")
        .text(progress_text(
            goal.progress,
            goal.target,
            goal.unit.as_deref(),
        ))
}

/// The goal's caps, where it has them: "Max per contribution: 100 trees".
fn caps_fields(
    mut reply: Reply,
    max: Option<f64>,
    review_above: Option<f64>,
    unit: Option<&str>,
) -> Reply {
    let amount = |a: f64| {
        format!("{} {}", format_number(a), unit.unwrap_or(""))
            .trim_end()
            .to_string()
    };
    if let Some(max) = max {
        reply = reply.field("Max per contribution", amount(max));
    }
    if let Some(review) = review_above {
        reply = reply.field("Review above", amount(review));
    }
    reply
}

pub async fn create(app: &App, actor: &Actor, new: NewGoal) -> Result<Reply> {
    let now = app.now();
    let slug = match new
        .slug
        .clone()
        .or_else(|| Slug::from_title(new.title.as_str()))
    {
        Some(slug) => slug,
        None => {
            return Err(UserError::invalid(
                "I could not make a slug from that title.",
                "Add one, like slug=trees (lowercase letters, digits and dashes).",
            )
            .into());
        }
    };
    if let Some(deadline) = new.deadline
        && deadline < now.date_naive()
    {
        return Err(UserError::invalid(
            format!("The deadline {deadline} has already passed."),
            "Give a deadline from today on, like deadline=2027-06-30, or none.",
        )
        .into());
    }
    let row = NewGoalRow {
        slug: slug.as_str(),
        title: new.title.as_str(),
        target: new.target.get(),
        unit: new.unit.as_ref().map(|u| u.as_str()),
        deadline: new.deadline,
        created_by: actor.member,
        max_amount: new.caps.max().map(|m| m.get()),
        review_above: new.caps.review_above().map(|r| r.get()),
    };
    // The store counts the open goals under the write lock, so two organisers
    // cannot both pass the limit.
    match app
        .store()
        .create_goal(actor.community, &row, MAX_OPEN_GOALS, now)
        .await?
    {
        Ok(_) => {}
        Err(GoalRefused::TooManyOpen) => {
            return Err(Error::User(UserError::conflict(
                format!(
                    "This community already has {MAX_OPEN_GOALS} open goals, the most Keel keeps open at once."
                ),
                "Close one that is done or dropped with `goal close <slug>` (see `goal list`), then create this one.",
            )));
        }
        Err(GoalRefused::SlugTaken) => {
            return Err(Error::User(UserError::conflict(
                format!("A goal with the slug `{slug}` already exists."),
                "Pick another with slug=…; slugs stay taken after a goal closes.",
            )));
        }
    }
    let unit = new
        .unit
        .as_ref()
        .map(|u| format!(" {u}"))
        .unwrap_or_default();
    let mut reply = Reply::public(format!("New goal: {}", new.title))
        .field("Target", format!("{}{unit}", new.target))
        .field("Slug", Line::new().code(slug.as_str()));
    if let Some(deadline) = new.deadline {
        reply = reply.field("Deadline", Line::new().day(deadline));
    }
    reply = caps_fields(
        reply,
        new.caps.max().map(|m| m.get()),
        new.caps.review_above().map(|r| r.get()),
        new.unit.as_ref().map(|u| u.as_str()),
    );
    Ok(reply.line(
        Line::new()
            .text("Count towards it with ")
            .code(format!("contribute <what you did> amount=N goal={slug}")),
    ))
}

pub async fn list(app: &App, actor: &Actor) -> Result<Reply> {
    let goals = app.store().open_goals(actor.community).await?;
    let mut reply = Reply::public("Goals");
    if goals.is_empty() {
        return Ok(reply.line(
            Line::new()
                .text("No open goals. Organisers create one with ")
                .code("goal create <title> target=N"),
        ));
    }
    for goal in goals {
        let mut line = Line::new()
            .strong(&goal.title)
            .text(" (")
            .code(&goal.slug)
            .text(") ")
            .text(progress_line(&goal).plain());
        if let Some(deadline) = goal.deadline {
            line = line.text(" · due ").day(deadline);
        }
        reply = reply.line(line);
    }
    Ok(reply)
}

pub async fn show(app: &App, actor: &Actor, slug: Slug) -> Result<Reply> {
    let goal = by_slug(app, actor, &slug).await?;
    let store = app.store();
    let status = match (goal.open, goal.met_at.is_some()) {
        (true, true) => "open · target met",
        (true, false) => "open",
        (false, true) => "closed · target met",
        (false, false) => "closed",
    };
    let mut reply = Reply::public(goal.title.clone())
        .line(progress_line(&goal))
        .field("Status", status)
        .field(
            "Contributions",
            format_number(goal.contribution_count as f64),
        )
        .field("Slug", Line::new().code(&goal.slug));
    if let Some(deadline) = goal.deadline {
        reply = reply.field("Deadline", Line::new().day(deadline));
    }
    reply = caps_fields(
        reply,
        goal.max_amount,
        goal.review_above,
        goal.unit.as_deref(),
    );
    let customs: Vec<_> = store
        .custom_milestones(actor.community)
        .await?
        .into_iter()
        .filter(|m| m.goal_id == Some(goal.id))
        .map(|m| format!("{} at {}", m.title, format_number(m.threshold)))
        .collect();
    if !customs.is_empty() {
        reply = reply.field("Milestones", customs.join(" · "));
    }
    let recent = store
        .contributions_by_goal(actor.community, goal.id, 5)
        .await?;
    if !recent.is_empty() {
        reply = reply.line("Latest contributions:");
        for r in recent {
            let amount = r
                .amount
                .map(|a| format!(" ({})", format_number(a)))
                .unwrap_or_default();
            reply = reply.line(
                Line::new()
                    .day(r.day)
                    .text(format!(" · {} · {}{amount}", r.member, r.description)),
            );
        }
    }
    Ok(reply)
}

pub async fn close(app: &App, actor: &Actor, slug: Slug) -> Result<Reply> {
    let goal = by_slug(app, actor, &slug).await?;
    let closed = app
        .store()
        .close_goal(actor.community, goal.id, app.now())
        .await?;
    if !closed {
        return Err(UserError::conflict(
            format!("The goal `{slug}` is already closed."),
            "Nothing changed.",
        )
        .into());
    }
    let verdict = if goal.progress >= goal.target {
        "Target met. Well done, everyone!"
    } else {
        "Closed before reaching its target."
    };
    Ok(Reply::public(format!("Goal closed: {}", goal.title))
        .line(progress_line(&goal))
        .line(verdict))
}

pub async fn reopen(app: &App, actor: &Actor, slug: Slug) -> Result<Reply> {
    let goal = by_slug(app, actor, &slug).await?;
    match app
        .store()
        .reopen_goal(
            actor.community,
            &goal,
            MAX_OPEN_GOALS,
            actor.member,
            app.now(),
        )
        .await?
    {
        Ok(true) => {}
        Ok(false) => {
            return Err(UserError::conflict(
                format!("The goal `{slug}` is already open."),
                "Nothing changed.",
            )
            .into());
        }
        Err(_) => return Err(too_many_open()),
    }
    Ok(Reply::public(format!("Goal reopened: {}", goal.title))
        .line(progress_line(&goal))
        .line(
            Line::new()
                .text("Contributions count towards it again: ")
                .code(format!("contribute <what you did> amount=N goal={slug}")),
        ))
}

pub async fn edit(app: &App, actor: &Actor, slug: Slug, changes: GoalChanges) -> Result<Reply> {
    let before = by_slug(app, actor, &slug).await?;
    let now = app.now();
    if let Some(Some(deadline)) = changes.deadline
        && deadline < now.date_naive()
    {
        return Err(UserError::invalid(
            format!("The deadline {deadline} has already passed."),
            "Give a deadline from today on, like deadline=2027-06-30, or deadline=none.",
        )
        .into());
    }
    let mut after = before.clone();
    if let Some(title) = &changes.title {
        after.title = title.as_str().to_string();
    }
    if let Some(target) = changes.target {
        after.target = target.get();
    }
    if let Some(unit) = &changes.unit {
        after.unit = Some(unit.as_str().to_string());
    }
    if let Some(deadline) = changes.deadline {
        after.deadline = deadline;
    }
    if let Some(new_slug) = &changes.slug {
        after.slug = new_slug.as_str().to_string();
    }
    if let Some(max) = changes.max {
        after.max_amount = max.map(|m| m.get());
    }
    if let Some(review) = changes.review_above {
        after.review_above = review.map(|r| r.get());
    }
    // The caps as they will be, old and new together, must fit each other.
    if let (Some(max), Some(review)) = (after.max_amount, after.review_above)
        && review > max
    {
        return Err(UserError::invalid(
            format!(
                "review_above={} would be more than max={}, so nothing could ever wait for review.",
                format_number(review),
                format_number(max)
            ),
            "Set review_above at most max (or max=off), like max=100 review_above=50.",
        )
        .into());
    }
    if let Err(refused) = app
        .store()
        .edit_goal(actor.community, &before, &after, actor.member, now)
        .await?
    {
        return Err(match refused {
            GoalRefused::SlugTaken => Error::User(UserError::conflict(
                format!("A goal with the slug `{}` already exists.", after.slug),
                "Pick another with slug=…; slugs stay taken after a goal closes.",
            )),
            GoalRefused::TooManyOpen => too_many_open(),
        });
    }
    let goal = app
        .store()
        .goal_by_slug(actor.community, &after.slug)
        .await?
        .ok_or_else(|| not_found(&after.slug))?;
    let mut reply = Reply::public(format!("Goal updated: {}", goal.title));
    for change in changed(&before, &goal) {
        reply = reply.line(change);
    }
    reply = reply.line(progress_line(&goal));
    if before.met_at.is_some() && goal.met_at.is_none() {
        reply = reply
            .line("No longer met at the new target: it is met again once contributions reach it.");
    } else if before.met_at.is_none() && goal.met_at.is_some() {
        reply = reply.line("Met at the new target.");
    }
    Ok(reply)
}

/// "target: 1,000 → 2,000" for each term `goal edit` changed.
fn changed(before: &Goal, after: &Goal) -> Vec<String> {
    let number = |n: Option<f64>| n.map(format_number).unwrap_or_else(|| "none".into());
    let text = |t: Option<&str>| t.unwrap_or("none").to_string();
    let day =
        |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_else(|| "none".into());
    [
        ("title", text(Some(&before.title)), text(Some(&after.title))),
        ("slug", text(Some(&before.slug)), text(Some(&after.slug))),
        (
            "target",
            number(Some(before.target)),
            number(Some(after.target)),
        ),
        (
            "unit",
            text(before.unit.as_deref()),
            text(after.unit.as_deref()),
        ),
        ("deadline", day(before.deadline), day(after.deadline)),
        ("max", number(before.max_amount), number(after.max_amount)),
        (
            "review_above",
            number(before.review_above),
            number(after.review_above),
        ),
    ]
    .into_iter()
    .filter(|(_, old, new)| old != new)
    .map(|(field, old, new)| format!("{field}: {old} → {new}"))
    .collect()
}

fn too_many_open() -> Error {
    Error::User(UserError::conflict(
        format!(
            "This community already has {MAX_OPEN_GOALS} open goals, the most Keel keeps open at once."
        ),
        "Close one that is done or dropped with `goal close <slug>` (see `goal list`), then try again.",
    ))
}
