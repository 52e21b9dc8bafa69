//! `health`: for organisers, privately. Members showing the drop or overload
//! signal by name, members inactive past the community's interval, newcomers who
//! have not contributed yet, and participation equity. Members who set `away on`
//! are left out of the drop, overload and inactivity lists; group figures over
//! fewer than five members are withheld (PRODUCT.md).

use chrono::Days;

use crate::domain::metrics::{self, Guarded};
use crate::domain::reply::Line;
use crate::domain::text::format_number;
use crate::domain::{Actor, Reply};
use crate::error::Result;
use crate::store::{communities, health};

use super::App;

/// Equity is measured over the last 28 days, like MAU.
const EQUITY_DAYS: u64 = 28;

/// The most names a list shows; a large community gets the count of the rest.
const MAX_NAMES: usize = 25;

fn names(list: &[String]) -> String {
    match list.len() {
        0 => "none".to_string(),
        n if n <= MAX_NAMES => list.join(", "),
        n => format!(
            "{} and {} more",
            list[..MAX_NAMES].join(", "),
            n - MAX_NAMES
        ),
    }
}

pub async fn health(app: &App, actor: &Actor) -> Result<Reply> {
    let read = &app.store().read;
    let today = app.today();
    let community = communities::community(read, actor.community).await?;
    let members = health::members(read, actor.community, today, EQUITY_DAYS).await?;
    let interval = community.inactive_days.max(1) as u64;

    // The period's Contributor Absence Factor: if one member carries half the
    // work, they are overloaded whatever their days look like.
    let counts: Vec<u64> = members
        .iter()
        .map(|m| m.window_contributions)
        .filter(|&c| c > 0)
        .collect();
    let absence = metrics::contributor_absence_factor(&counts);
    let top = members
        .iter()
        .max_by_key(|m| m.window_contributions)
        .filter(|_| absence == Some(1));

    let mut dropping = Vec::new();
    let mut overloaded = Vec::new();
    let mut inactive = Vec::new();
    let mut newcomers = Vec::new();
    for m in &members {
        if m.contribution_count == 0 && m.joined_on + Days::new(interval) > today {
            newcomers.push(m.name.clone());
        }
        if m.away {
            continue;
        }
        if metrics::drop_signal(&m.weeks) {
            dropping.push(m.name.clone());
        }
        let last_14: u32 = {
            // The last two 7-day blocks are exactly the last 14 days.
            m.weeks[13] + m.weeks[14]
        };
        if metrics::overload_signal(last_14, top.is_some_and(|t| t.id == m.id)) {
            overloaded.push(m.name.clone());
        }
        if let Some(last) = m.last_active
            && (today - last).num_days() as u64 > interval
        {
            inactive.push(m.name.clone());
        }
    }

    let mut reply = Reply::private(format!("Community health · {}", community.name))
        .line(
            Line::new()
                .strong("May be drifting away: ")
                .text(names(&dropping)),
        )
        .line(
            Line::new()
                .strong("May be overloaded: ")
                .text(names(&overloaded)),
        )
        .line(
            Line::new()
                .strong(format!("Inactive for more than {interval} days: "))
                .text(names(&inactive)),
        )
        .line(
            Line::new()
                .strong("Newcomers yet to contribute: ")
                .text(names(&newcomers)),
        );
    let equity = |value: Option<String>| match metrics::guarded(counts.len(), value) {
        Guarded::Shown(Some(v)) => v,
        Guarded::Shown(None) => "no contributions yet".to_string(),
        Guarded::TooFew { members } => {
            format!(
                "not shown: {members} contributors in the last {EQUITY_DAYS} days, fewer than {}",
                metrics::MIN_GROUP
            )
        }
    };
    reply = reply
        .field(
            format!("Gini of contributions ({EQUITY_DAYS} days)"),
            equity(metrics::gini(&counts).map(format_number)),
        )
        .field(
            "Contributor absence factor",
            equity(absence.map(|k| match k {
                1 => "1 member does half the work".to_string(),
                k => format!("{k} members do half the work"),
            })),
        );
    Ok(reply.line(
        "Names here are for organisers only; members who set `away on` are left out of the lists.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_cut_with_a_count() {
        assert_eq!(names(&[]), "none");
        let many: Vec<String> = (0..30).map(|i| format!("m{i}")).collect();
        let shown = names(&many);
        assert!(
            shown.starts_with("m0, m1,") && shown.ends_with("m24 and 5 more"),
            "{shown}"
        );
    }
}
