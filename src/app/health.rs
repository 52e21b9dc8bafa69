//! `health`: for organisers, privately. Members showing the drop or overload
//! signal by name, members inactive past the community's interval, newcomers who
//! have not contributed yet, members who answer yes to events and never come,
//! and participation equity. Members who set `away on` are left out of the
//! drop, overload, inactivity and no-show lists; group figures over fewer than
//! five members are withheld (PRODUCT.md).

use crate::domain::metrics::{self, Guarded};
use crate::domain::reply::Line;
use crate::domain::text::{PageNumber, format_number};
use crate::domain::{Actor, MemberId, Reply};
use crate::error::Result;
use crate::store::health::{HealthExport, Listed, Page};
use crate::store::pairing::PairingSettings;

use super::App;

/// Equity is measured over the last 28 days, like MAU.
const EQUITY_DAYS: u32 = 28;

/// Newcomers joined in this many days, if not yet introduced, are listed.
const NEWCOMER_DAYS: i64 = 30;

/// The most names a list shows on one page.
const PAGE_NAMES: usize = 25;

/// A page of a list: its names, and how many the whole list holds and the
/// pages before this one showed.
fn names(list: &Listed, offset: usize) -> String {
    let shown = &list.names[..list.names.len().min(PAGE_NAMES)];
    let total = list.total.max(0) as usize;
    let after = total.saturating_sub(offset + shown.len());
    match (shown.len(), offset, after) {
        (0, 0, 0) => "none".to_string(),
        (0, _, _) => format!("none on this page ({total} in all)"),
        (n, 0, 0) if n == total => shown.join(", "),
        (_, 0, after) => format!("{} and {after} more", shown.join(", ")),
        (n, offset, after) => format!(
            "{} ({}–{} of {total}{})",
            shown.join(", "),
            offset + 1,
            offset + n,
            if after > 0 {
                format!("; {after} more")
            } else {
                String::new()
            }
        ),
    }
}

/// The member the overload list adds for carrying half the work (the period's
/// Contributor Absence Factor is 1), unless their days already list them or
/// they are away.
async fn carrying_half(
    app: &App,
    actor: &Actor,
    absence: Option<usize>,
) -> Result<Option<(MemberId, String)>> {
    let store = app.store();
    if absence != Some(1) {
        return Ok(None);
    }
    let Some((member, name, false)) = store.top_of_window(actor.community, EQUITY_DAYS).await?
    else {
        return Ok(None);
    };
    if store
        .member_flagged(actor.community, "overload", member)
        .await?
    {
        return Ok(None);
    }
    Ok(Some((member, name)))
}

/// Whether the community pairs members: elsewhere nobody is introduced, and
/// no newcomer is listed for want of it.
fn pairs_members(pairing: &PairingSettings) -> bool {
    pairing.opted_in > 0 || pairing.schedule.is_some()
}

/// The community's health lists, whole, for `export health`: the same lists,
/// on the same day, as `health` shows a page of.
pub async fn everyone_listed(app: &App, actor: &Actor) -> Result<HealthExport> {
    let store = app.store();
    let today = app.today();
    let community = store.community(actor.community).await?;
    store
        .catch_up_health(actor.community, EQUITY_DAYS, today)
        .await?;
    let counts = store.window_histogram(actor.community, EQUITY_DAYS).await?;
    let absence = metrics::contributor_absence_factor_of_histogram(&counts);
    let now = app.now();
    let pairing = store.pairing_settings(actor.community).await?;
    Ok(HealthExport {
        community: actor.community,
        today,
        interval: community.inactive_days.max(1) as u64,
        carrying_half: carrying_half(app, actor, absence)
            .await?
            .map(|(member, _)| member),
        now,
        no_shows_since: now - chrono::Duration::days(metrics::YES_NEVER_ATTENDING_DAYS),
        newcomers_introduced_since: pairs_members(&pairing)
            .then(|| now - chrono::Duration::days(NEWCOMER_DAYS)),
    })
}

pub async fn health(app: &App, actor: &Actor, page: PageNumber) -> Result<Reply> {
    let store = app.store();
    let today = app.today();
    let community = store.community(actor.community).await?;
    let interval = community.inactive_days.max(1) as u64;
    // The kept 28-day window and the signals, up to today.
    store
        .catch_up_health(actor.community, EQUITY_DAYS, today)
        .await?;
    let offset = (page.get() as usize - 1) * PAGE_NAMES;
    let this_page = Page {
        limit: PAGE_NAMES as i64,
        offset: offset as i64,
    };

    // The period's Contributor Absence Factor: if one member carries half the
    // work, they are overloaded whatever their days look like.
    // Contributions per member over the window as a histogram (PRODUCT.md "Gini",
    // "Contributor Absence Factor"): the distinct totals, not every member.
    let counts = store.window_histogram(actor.community, EQUITY_DAYS).await?;
    let absence = metrics::contributor_absence_factor_of_histogram(&counts);
    let dropping = store
        .members_flagged(actor.community, "drop", this_page)
        .await?;
    // The member carrying half the work heads the overload list.
    let overloaded = match carrying_half(app, actor, absence).await? {
        None => {
            store
                .members_flagged(actor.community, "overload", this_page)
                .await?
        }
        Some((_, name)) => {
            let flagged_page = if offset == 0 {
                Page {
                    limit: this_page.limit - 1,
                    offset: 0,
                }
            } else {
                Page {
                    limit: this_page.limit,
                    offset: this_page.offset - 1,
                }
            };
            let mut listed = store
                .members_flagged(actor.community, "overload", flagged_page)
                .await?;
            if offset == 0 {
                listed.names.insert(0, name);
            }
            listed.total += 1;
            listed
        }
    };
    let inactive = store
        .inactive_members(actor.community, today, interval, this_page)
        .await?;
    let newcomers = store
        .newcomers_yet_to_contribute(actor.community, today, interval, this_page)
        .await?;
    let now = app.now();
    let since = now - chrono::Duration::days(metrics::YES_NEVER_ATTENDING_DAYS);
    let no_shows = store
        .members_yes_never_attending(
            actor.community,
            since,
            now,
            metrics::YES_NEVER_ATTENDING_MIN,
            this_page,
        )
        .await?;
    let pairing = store.pairing_settings(actor.community).await?;
    let not_introduced = store
        .newcomers_not_introduced(
            actor.community,
            now - chrono::Duration::days(NEWCOMER_DAYS),
            this_page,
        )
        .await?;
    let longest = [
        &dropping,
        &overloaded,
        &inactive,
        &newcomers,
        &no_shows,
        &not_introduced,
    ]
    .iter()
    .map(|l| l.total.max(0) as usize)
    .max()
    .unwrap_or(0);
    let pages = longest.div_ceil(PAGE_NAMES).max(1);

    let title = if pages > 1 {
        format!(
            "Community health · {} · page {page} of {pages}",
            community.name
        )
    } else {
        format!("Community health · {}", community.name)
    };
    let mut reply = Reply::private(title)
        .line(
            Line::new()
                .strong("May be drifting away: ")
                .text(names(&dropping, offset)),
        )
        .line(
            Line::new()
                .strong("May be overloaded: ")
                .text(names(&overloaded, offset)),
        )
        .line(
            Line::new()
                .strong(format!("Inactive for more than {interval} days: "))
                .text(names(&inactive, offset)),
        )
        .line(
            Line::new()
                .strong("Newcomers yet to contribute: ")
                .text(names(&newcomers, offset)),
        );
    if pairs_members(&pairing) {
        reply = reply.line(
            Line::new()
                .strong(format!(
                    "Newcomers of the last {NEWCOMER_DAYS} days not introduced yet: "
                ))
                .text(names(&not_introduced, offset)),
        );
    }
    // Said yes and never came: only where the community held events, so the
    // line does not puzzle those that hold none.
    let held = store
        .event_figures(actor.community, since, now, now)
        .await?
        .held;
    if no_shows.total > 0 || held > 0 {
        reply = reply.line(
            Line::new()
                .strong(format!(
                    "Said yes to {} or more events in {} days and came to none: ",
                    metrics::YES_NEVER_ATTENDING_MIN,
                    metrics::YES_NEVER_ATTENDING_DAYS
                ))
                .text(names(&no_shows, offset)),
        );
    }
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
    if page.get() as usize <= pages && pages > 1 {
        let mut more = Line::new();
        if (page.get() as usize) < pages {
            more = more
                .text("More names: ")
                .code(format!("health page={}", page.get() + 1))
                .text(". ");
        }
        reply = reply.line(
            more.text("Every name at once, as a file: ")
                .code("export health")
                .text("."),
        );
    } else if page.get() as usize > pages {
        reply = reply.line(
            Line::new()
                .text(format!("The lists end on page {pages}: "))
                .code(format!("health page={pages}"))
                .text("."),
        );
    }
    Ok(reply.line(
        "Names here are for organisers only; members who set `away on` are left out of the lists.",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_cut_into_pages_with_counts() {
        assert_eq!(names(&Listed::default(), 0), "none");
        let page = |from: usize, to: usize, total: i64| Listed {
            names: (from..to).map(|i| format!("m{i}")).collect(),
            total,
        };
        let first = names(&page(0, 25, 30), 0);
        assert!(
            first.starts_with("m0, m1,") && first.ends_with("m24 and 5 more"),
            "{first}"
        );
        assert_eq!(names(&page(0, 3, 3), 0), "m0, m1, m2");
        assert_eq!(
            names(&page(25, 30, 30), 25).split(" (").nth(1),
            Some("26–30 of 30)")
        );
        assert!(names(&page(25, 50, 60), 25).ends_with("(26–50 of 60; 10 more)"));
        assert_eq!(names(&page(0, 0, 30), 50), "none on this page (30 in all)");
    }
}
