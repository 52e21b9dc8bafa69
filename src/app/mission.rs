//! `mission show | set | history | value add | value remove`.

use crate::domain::actor::FORMER_MEMBER;
use crate::domain::diff;
use crate::domain::reply::Line;
use crate::domain::text::{Reason, Statement, ValueName};
use crate::domain::{Actor, Reply, UserError};
use crate::error::Result;
use crate::store::mission::MissionVersion;

use super::App;

/// The most values a mission may name.
const MAX_VALUES: usize = 20;

fn no_mission() -> UserError {
    UserError::not_found(
        "No mission yet",
        "Organisers set one with `mission set <statement>`.",
    )
}

fn byline(v: &MissionVersion) -> Line {
    Line::new()
        .text(format!("Version {} · ", v.version))
        .text(v.author.clone().unwrap_or_else(|| FORMER_MEMBER.into()))
        .text(" · ")
        .time(v.created_at)
}

/// The mission as a reply card.
pub fn card(v: &MissionVersion) -> Reply {
    let mut reply = Reply::public("Our mission").line(Line::new().strong(&v.statement));
    if !v.values.is_empty() {
        reply = reply.field("Values", v.values.join(" · "));
    }
    reply.line(byline(v))
}

pub async fn show(app: &App, actor: &Actor) -> Result<Reply> {
    match app.store().current_mission(actor.community).await? {
        Some(v) => Ok(card(&v)),
        None => Ok(Reply::public("Our mission").line(
            Line::new()
                .text("No mission yet. Organisers set one with ")
                .code("mission set <statement>"),
        )),
    }
}

pub async fn set(
    app: &App,
    actor: &Actor,
    statement: Statement,
    reason: Option<Reason>,
) -> Result<Reply> {
    let version = app
        .store()
        .set_mission_statement(
            actor.community,
            statement.as_str(),
            actor.member,
            reason.as_ref().map(Reason::as_str),
            app.now(),
        )
        .await?;
    let mut reply = Reply::public(format!("Mission updated (version {version})"))
        .line(Line::new().strong(statement.as_str()));
    if let Some(reason) = reason {
        reply = reply.field("Why", reason.as_str());
    }
    Ok(reply)
}

pub async fn history(app: &App, actor: &Actor) -> Result<Reply> {
    let versions = app.store().mission_history(actor.community).await?;
    if versions.is_empty() {
        return Err(no_mission().into());
    }
    let mut reply = Reply::public(format!("Mission history ({} versions)", versions.len()));
    // Newest first; each version says what it changed from the one before.
    for (i, v) in versions.iter().enumerate().rev() {
        let mut line = byline(v).text(": ");
        line = match i.checked_sub(1).map(|p| &versions[p]) {
            Some(before) if before.statement != v.statement => {
                line.text(diff::marked(&diff::words(&before.statement, &v.statement)))
            }
            _ => line.text(&v.statement),
        };
        let previous: &[String] = i
            .checked_sub(1)
            .map_or(&[], |p| versions[p].values.as_slice());
        let added: Vec<&String> = v.values.iter().filter(|x| !previous.contains(x)).collect();
        let removed: Vec<&String> = previous.iter().filter(|x| !v.values.contains(x)).collect();
        for value in added {
            line = line.text(format!(" {{+value {value}+}}"));
        }
        for value in removed {
            line = line.text(format!(" [-value {value}-]"));
        }
        if let Some(reason) = &v.reason {
            line = line.text(format!(" (why: {reason})"));
        }
        reply = reply.line(line);
    }
    Ok(reply)
}

pub async fn add_value(app: &App, actor: &Actor, name: ValueName) -> Result<Reply> {
    change_values(app, actor, |values| {
        if values.iter().any(|v| name.matches(v)) {
            return Err(UserError::conflict(
                format!("The mission already has the value {name}."),
                "See `mission show` for the values.",
            ));
        }
        if values.len() >= MAX_VALUES {
            return Err(UserError::invalid(
                format!("The mission already has {MAX_VALUES} values, the most it can have."),
                "Remove one with `mission value remove <value>` first.",
            ));
        }
        values.push(name.as_str().to_string());
        Ok(format!("Value added: {name}"))
    })
    .await
}

pub async fn remove_value(app: &App, actor: &Actor, name: ValueName) -> Result<Reply> {
    change_values(app, actor, |values| {
        let Some(i) = values.iter().position(|v| name.matches(v)) else {
            return Err(UserError::not_found(
                format!("No value {name} in the mission"),
                if values.is_empty() {
                    "The mission has no values yet.".to_string()
                } else {
                    format!("The values are: {}.", values.join(", "))
                },
            ));
        };
        let removed = values.remove(i);
        Ok(format!("Value removed: {removed}"))
    })
    .await
}

/// Adds a version with the values changed by `change`, keeping the statement.
async fn change_values(
    app: &App,
    actor: &Actor,
    change: impl FnOnce(&mut Vec<String>) -> Result<String, UserError>,
) -> Result<Reply> {
    let (title, version, values) = app
        .store()
        .change_mission_values(actor.community, actor.member, app.now(), |values| {
            Ok(change(values)?)
        })
        .await?
        .ok_or_else(no_mission)?;
    let shown = if values.is_empty() {
        "none".to_string()
    } else {
        values.join(" · ")
    };
    Ok(Reply::public(title)
        .field("Values", shown)
        .line(format!("Mission version {version}.")))
}
