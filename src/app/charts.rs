//! `stats chart` and `goal show <slug> chart`: the same figures as `stats`, drawn
//! (crate::charts). Metric definitions: shared/docs/PRODUCT.md.

use chrono::{Days, NaiveDate};

use crate::charts::{self, CohortRow, Progress, Week};
use crate::domain::cohorts::{self, PeriodKind};
use crate::domain::command::Window;
use crate::domain::metrics;
use crate::domain::reply::Attachment;
use crate::domain::text::Slug;
use crate::domain::{Actor, Reply};
use crate::error::Result;

use super::App;

/// At least this many weeks are drawn, so a short window still shows a trend.
const MIN_WEEKS: u64 = 4;

fn png(filename: &str, bytes: Vec<u8>) -> Attachment {
    Attachment::in_memory(filename, "image/png", bytes)
}

/// 7-day blocks ending on `to` back to `from`: members active in each (WAU on its
/// last day, PRODUCT.md) and contributions in it.
pub(super) async fn weeks(
    app: &App,
    actor: &Actor,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Week>> {
    let days = ((to - from).num_days() as u64 + 1).max(MIN_WEEKS * 7);
    let blocks = days.div_ceil(7);
    let first = to - Days::new(blocks * 7 - 1);
    let daily = app
        .store()
        .daily_activity(actor.community, first, to)
        .await?;
    let mut out: Vec<Week> = (0..blocks)
        .map(|i| Week {
            start: first + Days::new(i * 7),
            active: 0,
            contributions: 0,
        })
        .collect();
    for (day, _dau, wau, contributions) in daily {
        let i = ((day - first).num_days() / 7) as usize;
        if let Some(week) = out.get_mut(i) {
            week.contributions += contributions;
            if day == week.start + Days::new(6) {
                week.active = wau;
            }
        }
    }
    Ok(out)
}

/// Retention rows for a chart, cohorts under the minimum size withheld.
fn cohort_rows(kind: PeriodKind, rates: &[(NaiveDate, i64, Vec<f64>)]) -> Vec<CohortRow> {
    // Periods in which nobody was new have no cohort to draw; the latest twelve.
    let cohorts: Vec<_> = rates.iter().filter(|(_, size, _)| *size > 0).collect();
    cohorts[cohorts.len().saturating_sub(12)..]
        .iter()
        .map(|(start, size, row)| CohortRow {
            label: match kind {
                PeriodKind::Week => format!("week of {}", start.format("%-d %b")),
                PeriodKind::Month => start.format("%B %Y").to_string(),
            },
            size: *size,
            rates: matches!(
                metrics::guarded(*size as usize, ()),
                metrics::Guarded::Shown(_)
            )
            .then(|| row.clone()),
        })
        .collect()
}

pub async fn stats(app: &App, actor: &Actor, window: Window) -> Result<Reply> {
    let store = app.store();
    let (from, to) = window.bounds(app.today());
    let days = (to - from).num_days() + 1;
    let mut reply = Reply::public(format!("Community charts · {from} to {to} ({days} days)"));

    let weekly = weeks(app, actor, from, to).await?;
    reply = reply.attach(png(
        "activity.png",
        charts::activity("Weekly active members and contributions", &weekly)?,
    ));

    let counts = store
        .cohort_counts(actor.community, PeriodKind::Week, from, to)
        .await?;
    let rates = cohorts::rates(PeriodKind::Week, &counts, from, to);
    reply = reply.attach(png(
        "retention.png",
        charts::retention(
            "Weekly retention cohorts",
            "week",
            &cohort_rows(PeriodKind::Week, &rates),
        )?,
    ));

    // Hours of activity single out a member in a small group, so they follow the
    // same minimum as every group figure.
    super::stats::top_contributors(app, actor, from, to, days, 1).await?;
    let contributors =
        metrics::members(&super::stats::window_counts(app, actor, from, to, days).await?);
    match metrics::guarded(contributors, ()) {
        metrics::Guarded::Shown(()) => {
            let hours = store.activity_by_hour(actor.community, from, to).await?;
            reply = reply.attach(png(
                "hours.png",
                charts::hours("Activity by hour of day (UTC)", &hours)?,
            ));
        }
        metrics::Guarded::TooFew { members } => {
            reply = reply.line(format!(
                "Activity by hour is not drawn: {members} contributors in this window, fewer than {}.",
                metrics::MIN_GROUP
            ));
        }
    }

    let open = store.open_goals(actor.community).await?;
    if !open.is_empty() {
        let bars: Vec<Progress> = open
            .iter()
            .map(|g| Progress {
                label: g.title.clone(),
                progress: g.progress,
                target: g.target,
                unit: g.unit.clone(),
            })
            .collect();
        reply = reply.attach(png("goals.png", charts::progress("Goal progress", &bars)?));
    }
    let count = reply.attachments.len();
    let hours_drawn = reply.attachments.iter().any(|a| a.filename == "hours.png");
    Ok(reply.line(format!(
        "{count} charts: weekly activity, retention cohorts{}{}.",
        if hours_drawn {
            ", activity by hour"
        } else {
            ""
        },
        if open.is_empty() {
            ""
        } else {
            ", goal progress"
        }
    )))
}

pub async fn goal(app: &App, actor: &Actor, slug: Slug) -> Result<Reply> {
    let g = super::goals::by_slug(app, actor, &slug).await?;
    let bar = Progress {
        label: g.title.clone(),
        progress: g.progress,
        target: g.target,
        unit: g.unit.clone(),
    };
    let bytes = charts::progress(&format!("Goal: {}", g.title), &[bar])?;
    Ok(Reply::public(format!("Goal chart · {}", g.title))
        .attach(png(&format!("goal-{}.png", g.slug), bytes)))
}
