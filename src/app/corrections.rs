//! `contribution remove <#id> reason="…"` and `audit [member=@name] [period=30d]`.

use crate::domain::actor::FORMER_MEMBER;
use crate::domain::command::Window;
use crate::domain::contribution::correction::Corrector;
use crate::domain::reply::Line;
use crate::domain::text::{Reason, format_number};
use crate::domain::{Actor, ContributionId, MemberRef, Reply};
use crate::error::Result;
use crate::store::corrections::{AuditEntry, Removed, Snapshot};

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

/// A contribution as it was, in one line: “text” (amount unit · goal · value) on day.
pub(super) fn describe(c: &Snapshot) -> Line {
    let mut details = Vec::new();
    if let Some(amount) = c.amount {
        details.push(
            format!(
                "{} {}",
                format_number(amount),
                c.unit.as_deref().unwrap_or("")
            )
            .trim_end()
            .to_string(),
        );
    }
    if let Some(goal) = &c.goal {
        details.push(format!("goal {goal}"));
    }
    if let Some(value) = &c.value {
        details.push(format!("value: {value}"));
    }
    let mut line = Line::new().text(format!("“{}”", c.description));
    if !details.is_empty() {
        line = line.text(format!(" ({})", details.join(" · ")));
    }
    line.text(" on ").day(c.day)
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
    let what = match (e.subject.as_str(), e.action.as_str()) {
        ("contribution", "remove") => format!("removed contribution #{}", e.subject_id),
        ("contribution", "edit") => format!("edited contribution #{}", e.subject_id),
        ("achievement", "retract") => "retracted a milestone".to_string(),
        (subject, action) => format!("{action} {subject} #{}", e.subject_id),
    };
    let mut line = Line::new()
        .text(e.at.format("%Y-%m-%d %H:%M").to_string())
        .text(" · ")
        .strong(who)
        .text(format!(" {what} of {whose}"));
    if let Some(before) = e.before.as_ref().and_then(summary) {
        line = line.text(format!(": was {before}"));
    }
    if let Some(reason) = &e.reason {
        line = line.text(format!(" · reason: {reason}"));
    }
    line
}

/// What a change's `before` held, in a few words.
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
