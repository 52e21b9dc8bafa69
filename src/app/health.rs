//! `health`: for organisers, privately. Members showing the drop or overload
//! signal by name, members inactive past the community's interval, newcomers who
//! have not contributed yet, and participation equity. Members who set `away on`
//! are left out of the drop, overload and inactivity lists; group figures over
//! fewer than five members are withheld (PRODUCT.md).

use crate::domain::metrics::{self, Guarded};
use crate::domain::reply::Line;
use crate::domain::text::format_number;
use crate::domain::{Actor, Reply};
use crate::error::Result;
use crate::store::health::Listed;

use super::App;

/// Equity is measured over the last 28 days, like MAU.
const EQUITY_DAYS: u32 = 28;

/// The most names a list shows; a large community gets the count of the rest.
const MAX_NAMES: usize = 25;

fn names(list: &Listed) -> String {
    let shown = &list.names[..list.names.len().min(MAX_NAMES)];
    let rest = (list.total as usize).saturating_sub(shown.len());
    match (shown.len(), rest) {
        (0, 0) => "none".to_string(),
        (_, 0) => shown.join(", "),
        (0, n) => format!("{n} members"),
        (_, n) => format!("{} and {n} more", shown.join(", ")),
    }
}

pub async fn health(app: &App, actor: &Actor) -> Result<Reply> {
    let store = app.store();
    let today = app.today();
    let community = store.community(actor.community).await?;
    let interval = community.inactive_days.max(1) as u64;
    // The kept 28-day window and the signals, up to today.
    store
        .catch_up_health(actor.community, EQUITY_DAYS, today)
        .await?;
    let limit = MAX_NAMES as i64;

    // The period's Contributor Absence Factor: if one member carries half the
    // work, they are overloaded whatever their days look like.
    // Contributions per member over the window as a histogram (PRODUCT.md "Gini",
    // "Contributor Absence Factor"): the distinct totals, not every member.
    let counts = store.window_histogram(actor.community, EQUITY_DAYS).await?;
    let absence = metrics::contributor_absence_factor_of_histogram(&counts);
    let dropping = store
        .members_flagged(actor.community, "drop", limit)
        .await?;
    let mut overloaded = store
        .members_flagged(actor.community, "overload", limit + 1)
        .await?;
    if absence == Some(1)
        && let Some((_, name, false)) = store.top_of_window(actor.community, EQUITY_DAYS).await?
        && !overloaded.names.contains(&name)
    {
        // Unless they are already listed by their days (the list is cut, so a
        // name beyond it may count twice: rare, and only in a long list).
        overloaded.names.insert(0, name);
        overloaded.total += 1;
    }
    overloaded.names.truncate(MAX_NAMES);
    let inactive = store
        .inactive_members(actor.community, today, interval, limit)
        .await?;
    let newcomers = store
        .newcomers_yet_to_contribute(actor.community, today, interval, limit)
        .await?;

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
    let equity = |value: Option<String>| match metrics::guarded(metrics::members(&counts), value) {
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
            equity(metrics::gini_of_histogram(&counts).map(format_number)),
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
        assert_eq!(names(&Listed::default()), "none");
        let many = Listed {
            names: (0..25).map(|i| format!("m{i}")).collect(),
            total: 30,
        };
        let shown = names(&many);
        assert!(
            shown.starts_with("m0, m1,") && shown.ends_with("m24 and 5 more"),
            "{shown}"
        );
    }
}
