//! `contribution remove <#id> reason="…"`, `kudos remove <#id> reason="…"` and
//! `audit [member=@name] [period=30d]`.

use crate::domain::UserError;
use crate::domain::actor::FORMER_MEMBER;
use crate::domain::command::Window;
use crate::domain::contribution::correction::Corrector;
use crate::domain::contribution::snapshot::describe;
use crate::domain::reply::Line;
use crate::domain::text::{Reason, format_number};
use crate::domain::{Actor, ContributionId, MemberRef, Reply};
use crate::error::Result;
use crate::store::corrections::{AuditEntry, KudosSide, Removed, RemovedKudos};

use super::App;

/// How many changes `audit` lists.
const AUDIT_LIMIT: i64 = 50;

pub async fn remove(app: &App, actor: &Actor, id: ContributionId, reason: Reason) -> Result<Reply> {
    let by = Corrector {
        member: actor.member,
        organiser: actor.is_organiser(),
    };
    let remover = actor.display_name.clone();
    let removed = app
        .store()
        .remove_contribution(actor.community, id, by, reason.as_str(), app.now(), |r| {
            notice(r, &remover, reason.as_str())
        })
        .await??;
    if removed.member != actor.member || !removed.retracted.is_empty() {
        app.outbox_signal().notify_one();
    }
    let mut reply = Reply::private(format!("Contribution #{id} removed"))
        .line(describe(&removed.before))
        .line(format!("Reason: {reason}"));
    for retracted in &removed.retracted {
        reply = reply.line(format!(
            "Milestone retracted: {} (it was reached only through this contribution).",
            retracted.title
        ));
    }
    if removed.member != actor.member {
        reply = reply.line("Its member is told privately, with the reason.");
    }
    Ok(reply)
}

pub async fn remove_kudos(app: &App, actor: &Actor, id: i64, reason: Reason) -> Result<Reply> {
    let remover = actor.display_name.clone();
    let Some(removed) = app
        .store()
        .remove_kudos(
            actor.community,
            id,
            actor.member,
            reason.as_str(),
            app.now(),
            |k, side| kudos_notice(k, side, &remover, reason.as_str()),
        )
        .await?
    else {
        return Err(UserError::not_found(
            format!("kudos #{id}"),
            "Its receipt shows its id (👏 Kudos #42), as does `export`.",
        )
        .into());
    };
    app.outbox_signal().notify_one();
    Ok(Reply::private(format!("Kudos #{id} removed"))
        .line(describe_kudos(&removed))
        .line(format!("Reason: {reason}"))
        .line(format!(
            "It no longer counts for {} or {}; both are told privately, with the reason.",
            removed.from_name, removed.to_name
        )))
}

/// What the receiver, or the giver, of removed kudos is told.
fn kudos_notice(k: &RemovedKudos, side: KudosSide, remover: &str, reason: &str) -> Reply {
    let title = match side {
        KudosSide::Received => format!("Kudos #{} from {} to you was removed", k.id, k.from_name),
        KudosSide::Given => format!("Your kudos #{} to {} was removed", k.id, k.to_name),
    };
    Reply::private(title).line(describe_kudos(k)).line(
        Line::new()
            .text("Removed by ")
            .strong(remover)
            .text(format!(": {reason}")),
    )
}

/// Kudos as it was, in one line: from → to, what for, on day.
fn describe_kudos(k: &RemovedKudos) -> Line {
    let mut line = Line::new()
        .strong(&k.from_name)
        .text(" thanked ")
        .strong(&k.to_name);
    if !k.reason.is_empty() {
        line = line.text(format!(" for {}", k.reason));
    }
    line.text(" on ").day(k.day)
}

/// What the member is told when someone else removed their contribution.
fn notice(removed: &Removed, remover: &str, reason: &str) -> Reply {
    Reply::private(format!("Your contribution #{} was removed", removed.id))
        .line(describe(&removed.before))
        .line(
            Line::new()
                .text("Removed by ")
                .strong(remover)
                .text(format!(": {reason}")),
        )
}

pub async fn audit(
    app: &App,
    actor: &Actor,
    member: Option<MemberRef>,
    window: Window,
) -> Result<Reply> {
    let member = match member {
        Some(reference) => Some(app.member_by_ref(actor, &reference, false).await?),
        None => None,
    };
    let (first, _) = window.bounds(app.today());
    let since = first.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let entries = app
        .store()
        .audit(
            actor.community,
            member.as_ref().map(|m| m.id),
            since,
            AUDIT_LIMIT,
        )
        .await?;
    let whose = member
        .as_ref()
        .map(|m| format!(" of {}'s record", m.display_name))
        .unwrap_or_default();
    let mut reply = Reply::private(format!("Corrections{whose} since {first}"));
    if entries.is_empty() {
        return Ok(reply.line("None."));
    }
    for entry in &entries {
        reply = reply.line(line(entry));
    }
    if entries.len() as i64 == AUDIT_LIMIT {
        reply = reply.line(format!(
            "The newest {AUDIT_LIMIT}; narrow with member=@name or a shorter period=."
        ));
    }
    Ok(reply)
}

/// One change: when, who, what, to whose record, why, and what was there before.
fn line(e: &AuditEntry) -> Line {
    let who = e.actor.as_deref().unwrap_or(FORMER_MEMBER);
    let whose = e.member.as_deref().unwrap_or(FORMER_MEMBER);
    let id = e.subject_id;
    let was = |key: &str| {
        e.before
            .as_ref()
            .and_then(|b| b.get(key))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let slug = was("slug").unwrap_or_else(|| format!("#{id}"));
    let what = match (e.subject.as_str(), e.action.as_str()) {
        ("contribution", "remove") => format!("removed contribution #{id} of {whose}"),
        ("contribution", "edit") => format!("edited contribution #{id} of {whose}"),
        ("achievement", "retract") => format!("retracted a milestone of {whose}"),
        ("milestone", "remove") => format!("removed milestone #{id}"),
        ("kudos", "remove") => format!(
            "removed kudos #{id} from {} to {whose}",
            e.other.as_deref().unwrap_or(FORMER_MEMBER)
        ),
        ("goal", "edit") => format!("edited goal {slug}"),
        ("goal", "reopen") => format!("reopened goal {slug}"),
        (subject, action) => match &e.member {
            Some(member) => format!("{action} {subject} #{id} of {member}"),
            None => format!("{action} {subject} #{id}"),
        },
    };
    let mut line = Line::new()
        .text(e.at.format("%Y-%m-%d %H:%M").to_string())
        .text(" · ")
        .strong(who)
        .text(format!(" {what}"));
    if let Some(details) = details(e) {
        line = line.text(format!(": {details}"));
    }
    if let Some(reason) = &e.reason {
        line = line.text(format!(" · reason: {reason}"));
    }
    line
}

/// What a change did, in a few words: what was there before, or for an edit of
/// terms, each term that changed.
fn details(e: &AuditEntry) -> Option<String> {
    let before = e.before.as_ref()?;
    let text = |key: &str| before.get(key).and_then(|v| v.as_str());
    let number = |key: &str| before.get(key).and_then(serde_json::Value::as_f64);
    match (e.subject.as_str(), e.action.as_str()) {
        ("goal", "edit") => {
            let after = e.after.as_ref()?;
            let shown = |v: Option<&serde_json::Value>| match v {
                Some(serde_json::Value::Number(n)) => {
                    n.as_f64().map(format_number).unwrap_or_default()
                }
                Some(serde_json::Value::String(s)) => s.clone(),
                _ => "none".to_string(),
            };
            let changes: Vec<String> = GOAL_TERMS
                .iter()
                .filter(|key| before.get(**key) != after.get(**key))
                .map(|key| {
                    format!(
                        "{key} {} → {}",
                        shown(before.get(*key)),
                        shown(after.get(*key))
                    )
                })
                .collect();
            Some(if changes.is_empty() {
                "nothing changed".to_string()
            } else {
                changes.join(", ")
            })
        }
        ("goal", "reopen") => text("title").map(|t| format!("“{t}”")),
        ("milestone", "remove") => {
            let at = format_number(number("threshold")?);
            let on = match text("goal") {
                Some(goal) => format!("goal {goal} at {at}"),
                None => format!("community at {at} contributions"),
            };
            let reached = if before.get("reached").and_then(|r| r.as_bool()) == Some(true) {
                ", reached"
            } else {
                ""
            };
            Some(format!("was “{}” ({on}{reached})", text("title")?))
        }
        ("kudos", "remove") => {
            let day = text("day")?;
            Some(match text("reason").filter(|r| !r.is_empty()) {
                Some(reason) => format!("was for “{reason}” on {day}"),
                None => format!("was given on {day}"),
            })
        }
        _ => summary(before).map(|s| format!("was {s}")),
    }
}

/// The terms of a goal that `goal edit` changes, as its audit entries hold them
/// (`store::goals`).
const GOAL_TERMS: [&str; 7] = [
    "title",
    "slug",
    "target",
    "unit",
    "deadline",
    "max",
    "review_above",
];

/// What a contribution's (or an achievement's) `before` held, in a few words.
fn summary(before: &serde_json::Value) -> Option<String> {
    if let Some(text) = before.get("description").and_then(|d| d.as_str()) {
        let mut out = format!("“{text}”");
        if let Some(amount) = before.get("amount").and_then(serde_json::Value::as_f64) {
            let unit = before.get("unit").and_then(|u| u.as_str()).unwrap_or("");
            out.push_str(&format!(" ({} {unit})", format_number(amount)).replace(" )", ")"));
        }
        if let Some(day) = before.get("day").and_then(|d| d.as_str()) {
            out.push_str(&format!(" on {day}"));
        }
        return Some(out);
    }
    before
        .get("title")
        .and_then(|t| t.as_str())
        .map(|t| format!("“{t}”"))
}
