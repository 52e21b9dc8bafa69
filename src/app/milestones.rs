//! `milestone add | list | remove`.

use crate::domain::command::NewMilestone;
use crate::domain::limits::MAX_PENDING_MILESTONES;
use crate::domain::milestones::next_community_step;
use crate::domain::reply::Line;
use crate::domain::text::format_number;
use crate::domain::{Actor, Reply, UserError};
use crate::error::Result;
use crate::store::milestones::NewMilestoneRow;

use super::App;

pub async fn add(app: &App, actor: &Actor, new: NewMilestone) -> Result<Reply> {
    let threshold = new.threshold.get();
    let (goal, current, measure) = match &new.goal {
        Some(slug) => {
            let goal = super::goals::by_slug(app, actor, slug).await?;
            let unit = goal.unit.clone().unwrap_or_else(|| "contributions".into());
            let current = goal.progress;
            (Some(goal), current, unit)
        }
        None => {
            let community = app.store().community(actor.community).await?;
            (
                None,
                community.contribution_count as f64,
                "contributions".to_string(),
            )
        }
    };
    if current >= threshold {
        return Err(UserError::invalid(
            format!(
                "That is already reached: {} {measure} so far.",
                format_number(current)
            ),
            "Pick a threshold above the current figure, with at=N.",
        )
        .into());
    }
    let row = NewMilestoneRow {
        goal: goal.as_ref().map(|g| g.id),
        title: new.title.as_str(),
        threshold,
        created_by: actor.member,
    };
    // The store counts the pending milestones under the write lock, so two
    // organisers cannot both pass the limit.
    let added = app
        .store()
        .add_custom_milestone(actor.community, &row, MAX_PENDING_MILESTONES, app.now())
        .await?;
    if added.is_none() {
        return Err(UserError::conflict(
            format!(
                "This community already has {MAX_PENDING_MILESTONES} milestones waiting to be reached, the most Keel watches at once."
            ),
            "Close a goal you no longer pursue with `goal close <slug>` (its milestones go with it), or add this one once some are reached (see `milestone list`).",
        )
        .into());
    }
    let on = match &goal {
        Some(g) => format!(
            "when {} reaches {} {measure}",
            g.title,
            format_number(threshold)
        ),
        None => format!(
            "at the community's {} contribution",
            crate::domain::milestones::ordinal(threshold.ceil() as i64)
        ),
    };
    Ok(
        Reply::public(format!("Milestone added: {}", new.title)).line(format!(
            "It will be announced {on} ({} {measure} so far).",
            format_number(current)
        )),
    )
}

pub async fn list(app: &App, actor: &Actor) -> Result<Reply> {
    let store = app.store();
    let community = store.community(actor.community).await?;
    let reached = store.recent_milestones(actor.community, 10).await?;
    let mut reply = Reply::public("Milestones");
    if reached.is_empty() {
        reply = reply.line("None reached yet: the first contribution is the first milestone.");
    } else {
        reply = reply.line(Line::new().strong("Reached"));
        for a in reached {
            reply = reply.line(Line::new().time(a.achieved_at).text(" · ").text(a.title));
        }
    }
    reply = reply.line(Line::new().strong("Ahead"));
    reply = reply.line(format!(
        "Community: {} contributions (now {})",
        format_number(next_community_step(community.contribution_count) as f64),
        format_number(community.contribution_count as f64)
    ));
    let done = store.reached_custom_milestone_ids(actor.community).await?;
    let open_goals = store.open_goals(actor.community).await?;
    for m in store.custom_milestones(actor.community).await? {
        if done.contains(&m.id) {
            continue;
        }
        let on = match m
            .goal_id
            .and_then(|g| open_goals.iter().find(|goal| goal.id == g))
        {
            Some(goal) => format!(
                "{} at {} (now {})",
                goal.title,
                format_number(m.threshold),
                format_number(goal.progress)
            ),
            None if m.goal_id.is_some() => continue,
            None => format!("community at {} contributions", format_number(m.threshold)),
        };
        reply = reply.line(format!("#{} · {}: {on}", m.id, m.title));
    }
    for goal in open_goals {
        if let Some(p) = [25u32, 50, 75, 100]
            .into_iter()
            .find(|p| goal.progress < goal.target * f64::from(*p) / 100.0)
        {
            reply = reply.line(format!(
                "{}: {p}% (now {}%)",
                goal.title,
                format_number((goal.percent() + 1e-9).floor())
            ));
        }
    }
    Ok(reply)
}

pub async fn remove(app: &App, actor: &Actor, id: i64) -> Result<Reply> {
    let Some(removed) = app
        .store()
        .remove_custom_milestone(actor.community, id, actor.member, app.now())
        .await?
    else {
        return Err(UserError::not_found(
            format!("custom milestone #{id}"),
            "`milestone list` shows the custom milestones still ahead with their ids; built-in ones (contribution counts, goals' percentages) cannot be removed.",
        )
        .into());
    };
    let on = match &removed.goal {
        Some(goal) => format!("goal {goal} at {}", format_number(removed.threshold)),
        None => format!(
            "community at {} contributions",
            format_number(removed.threshold)
        ),
    };
    let mut reply = Reply::public(format!("Milestone #{id} removed: {}", removed.title))
        .line(format!("It was set for the {on}."));
    if removed.reached {
        reply = reply.line("It had been reached: that stays in the record of milestones reached.");
    }
    Ok(reply)
}
