//! `stats` (community) and `stats me`. Metric definitions: shared/docs/PRODUCT.md.

use chrono::Days;

use crate::domain::announce::{progress_bar, progress_text};
use crate::domain::cohorts::{self, PeriodKind};
use crate::domain::command::Window;
use crate::domain::metrics;
use crate::domain::reply::Line;
use crate::domain::text::format_number;
use crate::domain::{Actor, Reply};
use crate::error::Result;
use crate::store::event_figures::EventFigures;
use crate::store::pairing::IntroductionFigures;
use crate::store::{parse_day, stats, windows};

use super::App;

/// Stickiness = mean DAU over the window ÷ MAU (PRODUCT.md "Stickiness").
pub fn stickiness(member_days: i64, days: i64, mau: i64) -> Option<f64> {
    (mau > 0 && days > 0).then(|| member_days as f64 / days as f64 / mau as f64)
}

fn percent(x: f64) -> String {
    format!("{}%", format_number((x * 100.0).round()))
}

pub async fn community(app: &App, actor: &Actor, window: Window) -> Result<Reply> {
    let store = app.store();
    let today = app.today();
    let (from, to) = window.bounds(today);
    let days = (to - from).num_days() + 1;
    let active = store.active_members(actor.community, to).await?;
    let totals = store.window_totals(actor.community, from, to).await?;
    let top = top_contributors(app, actor, from, to, days, 5).await?;
    let per_goal = store
        .goal_progress_between(actor.community, from, to)
        .await?;
    let open_goals = store.open_goals(actor.community).await?;

    let mut reply = Reply::public(format!("Community stats · {from} to {to} ({days} days)"))
        .field("Active today (DAU)", format_number(active.dau as f64))
        .field("Active this week (WAU)", format_number(active.wau as f64))
        .field("Active in 28 days (MAU)", format_number(active.mau as f64))
        .field(
            "Stickiness (mean DAU ÷ MAU)",
            stickiness(totals.member_days, days, active.mau).map_or_else(|| "–".into(), percent),
        )
        .field("Contributions", format_number(totals.contributions as f64))
        .field("Kudos", format_number(totals.kudos as f64));
    // Alignment (PRODUCT.md): contributions linked to a goal or value ÷ all.
    let alignment = metrics::alignment(totals.aligned as u64, totals.contributions as u64);
    if let Some(a) = alignment {
        reply = reply.field("Aligned with a goal or value", percent(a));
    }
    let joined = store
        .members_joined(actor.community, midnight(from), midnight(to + Days::new(1)))
        .await?;
    reply = reply.field("New members", format_number(joined as f64));
    let events = store
        .event_figures(
            actor.community,
            midnight(from),
            midnight(to + Days::new(1)),
            app.now(),
        )
        .await?;
    reply = event_fields(reply, &events);
    let now = app.now();
    let introductions = store
        .introduction_figures(
            actor.community,
            midnight(from),
            midnight(to + Days::new(1)),
            now - chrono::Duration::days(metrics::INTRODUCED_DAYS),
        )
        .await?;
    reply = introduction_fields(reply, &introductions);
    reply = insights(app, actor, from, to, days, reply).await?;
    let (due, met) = store.goals_due(actor.community, today).await?;
    if let Some(rate) = metrics::goal_achievement_rate(met as u64, due as u64) {
        reply = reply.field(
            "Goals met by their deadline",
            format!("{met} of {due} ({})", percent(rate)),
        );
    }
    let threshold = store.community(actor.community).await?.alignment_threshold as f64 / 100.0;
    if metrics::drifting(alignment, threshold) {
        reply = reply.line(Line::new().strong("Drift warning: ").text(format!(
            "fewer than {} of this window's contributions are linked to a goal or value. Is the work still serving the mission?",
            percent(threshold)
        )));
    }
    if !top.is_empty() {
        reply = reply.line(Line::new().strong("Top contributors"));
        for (i, (name, count, kudos)) in top.iter().enumerate() {
            let kudos = if *kudos > 0 {
                format!(" · {kudos} kudos")
            } else {
                String::new()
            };
            reply = reply.line(
                Line::new()
                    .text(format!("{}. ", i + 1))
                    .text(name)
                    .text(format!(" · {count}{kudos}")),
            );
        }
    }
    if !per_goal.is_empty() {
        reply = reply.line(Line::new().strong("Towards goals in this window"));
        for (slug, title, unit, count, amount) in per_goal {
            let unit = unit.map(|u| format!(" {u}")).unwrap_or_default();
            reply = reply.line(Line::new().text(title).text(" (").code(slug).text(format!(
                "): {} contributions, {}{unit}",
                count,
                format_number(amount)
            )));
        }
    }
    if !open_goals.is_empty() {
        reply = reply.line(Line::new().strong("Goal progress"));
        for g in open_goals {
            reply = reply.line(
                Line::new()
                    .text(&g.title)
                    .text(": ")
                    .text(progress_bar(g.progress, g.target))
                    .text(" ")
                    .text(progress_text(g.progress, g.target, g.unit.as_deref())),
            );
        }
    }
    if totals.contributions == 0 && totals.member_days == 0 {
        reply = reply.line(
            Line::new()
                .text("No activity in this window yet. Log some with ")
                .code("contribute <what you did>"),
        );
    }
    Ok(reply)
}

fn midnight(day: chrono::NaiveDate) -> chrono::DateTime<chrono::Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// Events held in the window, their answers, attendance and no-shows
/// (`metrics::attendance_rates`); nothing for a community that held none.
fn event_fields(mut reply: Reply, events: &EventFigures) -> Reply {
    if events.held == 0 {
        return reply;
    }
    reply = reply
        .field("Events held", format_number(events.held as f64))
        .field(
            "RSVPs",
            format!("{} yes, {} maybe", events.yes, events.maybe),
        );
    if let Some((attendance, no_show)) = metrics::attendance_rates(
        events.yes as u64,
        events.attended as u64,
        events.yes_attended as u64,
    ) {
        reply = reply
            .field(
                "Attendance rate (attended ÷ yes)",
                format!("{} ({} attended)", percent(attendance), events.attended),
            )
            .field(
                "No-show rate",
                format!(
                    "{} ({} of {} who said yes)",
                    percent(no_show),
                    events.yes - events.yes_attended,
                    events.yes
                ),
            );
    }
    reply
}

/// Introductions made in the window, the meet rate, and the share of members in
/// the rounds introduced lately; nothing for a community without pairing.
fn introduction_fields(mut reply: Reply, figures: &IntroductionFigures) -> Reply {
    if figures.made == 0 && figures.opted_in == 0 {
        return reply;
    }
    reply = reply.field("Introductions made", format_number(figures.made as f64));
    if let Some(rate) = metrics::meet_rate(figures.met as u64, figures.asked as u64) {
        reply = reply.field(
            "Meet rate",
            format!(
                "{} ({} of {} groups asked said they met)",
                percent(rate),
                figures.met,
                figures.asked
            ),
        );
    }
    if figures.opted_in > 0 {
        reply = reply.field(
            format!("Introduced in {} days", metrics::INTRODUCED_DAYS),
            format!(
                "{} of {} members in the rounds ({})",
                figures.introduced,
                figures.opted_in,
                percent(figures.introduced as f64 / figures.opted_in as f64)
            ),
        );
    }
    reply
}

/// A figure over a group, or the note that the group is too small to show it
/// (PRODUCT.md: fewer than 5 members).
fn guarded_text(members: usize, text: impl FnOnce() -> String) -> String {
    match metrics::guarded(members, ()) {
        metrics::Guarded::Shown(()) => text(),
        metrics::Guarded::TooFew { members } => {
            format!(
                "too few members to show ({members}, fewer than {})",
                metrics::MIN_GROUP
            )
        }
    }
}

/// Contributions per contributing member in the window, as a histogram of
/// (contributions, members): kept per community for a standard window ending today
/// (made current by `top_contributors`), else summed from the daily rows.
pub(super) async fn window_counts(
    app: &App,
    actor: &Actor,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    days: i64,
) -> Result<Vec<(u64, u64)>> {
    let store = app.store();
    let standard = windows::WINDOWS
        .iter()
        .copied()
        .find(|w| i64::from(*w) == days && to == app.today());
    let histogram = match standard {
        Some(window)
            if store
                .window_is_current(actor.community, window, app.today())
                .await? =>
        {
            store.window_histogram(actor.community, window).await?
        }
        _ => {
            store
                .contribution_histogram(actor.community, from, to)
                .await?
        }
    };
    Ok(histogram)
}

/// Growth, inactive members, newcomer conversion, equity, activity by hour and
/// retention cohorts (PRODUCT.md "Metric definitions").
async fn insights(
    app: &App,
    actor: &Actor,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    days: i64,
    mut reply: Reply,
) -> Result<Reply> {
    let store = app.store();
    let community = store.community(actor.community).await?;

    // Growth: net = joins − leaves; rate = (N_end − N_start) ÷ N_start.
    let g = store.growth(actor.community, from, to).await?;
    let growth = metrics::growth(
        g.joins as u64,
        g.leaves as u64,
        g.at_start.max(0) as u64,
        g.at_end.max(0) as u64,
    );
    let rate = guarded_text(g.at_start.max(0) as usize, || {
        growth.rate.map_or_else(|| "–".into(), signed_percent)
    });
    reply = reply.field(
        "Growth",
        format!(
            "{} joined, {} left, net {}{} · {} → {} members · rate {rate}",
            g.joins,
            g.leaves,
            if growth.net > 0 { "+" } else { "" },
            growth.net,
            g.at_start,
            g.at_end
        ),
    );

    // Inactive: now − last activity > the community's interval.
    let interval = community.inactive_days.max(1) as u64;
    let inactive = store
        .inactive_member_count(actor.community, to, interval)
        .await?;
    reply = reply.field(
        format!("Inactive (no activity for more than {interval} days)"),
        format_number(inactive as f64),
    );

    // Newcomer conversion: of first-time contributors in the window, the share with
    // a 2nd and a 4th contribution within 90 days.
    let (newcomers, second, fourth) = store.conversion(actor.community, from, to).await?;
    let conversion = guarded_text(newcomers as usize, || {
        match metrics::conversion_rates(newcomers as u64, second as u64, fourth as u64) {
            Some((two, four)) => format!(
                "{} of {newcomers} first-time contributors made a 2nd contribution within 90 days, {} a 4th",
                percent(two),
                percent(four)
            ),
            None => "no first-time contributors".into(),
        }
    });
    reply = reply.field("Newcomer conversion", conversion);

    // Equity over the window's contributors.
    let counts = window_counts(app, actor, from, to, days).await?;
    let contributors = metrics::members(&counts);
    reply = reply
        .field(
            "Gini of contributions",
            guarded_text(contributors, || {
                metrics::gini_of_histogram(&counts).map_or_else(|| "–".into(), format_number)
            }),
        )
        .field(
            "Contributor absence factor",
            guarded_text(
                contributors,
                || match metrics::contributor_absence_factor_of_histogram(&counts) {
                    Some(1) => "1 member does half the work".into(),
                    Some(k) => format!("{k} members do half the work"),
                    None => "–".into(),
                },
            ),
        );

    // Activity by UTC hour.
    let hours = store.activity_by_hour(actor.community, from, to).await?;
    reply = reply.field(
        "Activity by UTC hour",
        guarded_text(contributors, || busiest_hours(&hours)),
    );

    // Retention cohorts, weekly then monthly.
    for kind in PeriodKind::ALL {
        let counts = store.cohort_counts(actor.community, kind, from, to).await?;
        // Periods in which nobody was new have no cohort to show.
        let rates: Vec<_> = cohorts::rates(kind, &counts, from, to)
            .into_iter()
            .filter(|(_, size, _)| *size > 0)
            .collect();
        let (title, shown) = match kind {
            PeriodKind::Week => ("Weekly retention (cohort: R for each week after)", 8),
            PeriodKind::Month => ("Monthly retention (cohort: R for each month after)", 6),
        };
        if rates.is_empty() {
            continue;
        }
        reply = reply.line(Line::new().strong(title));
        for (start, size, row) in rates.iter().rev().take(shown).rev() {
            let figures = guarded_text(*size as usize, || {
                row.iter()
                    .map(|r| percent(*r))
                    .collect::<Vec<_>>()
                    .join(" · ")
            });
            let label = match kind {
                PeriodKind::Week => format!("week of {start}"),
                PeriodKind::Month => start.format("%B %Y").to_string(),
            };
            reply = reply.line(Line::new().text(format!("{label} ({size}): {figures}")));
        }
    }
    Ok(reply)
}

fn signed_percent(x: f64) -> String {
    let p = (x * 1000.0).round() / 10.0;
    format!("{}{}%", if p > 0.0 { "+" } else { "" }, format_number(p))
}

/// "busiest 18:00 (25%), 19:00 (20%), 09:00 (10%); active in 14 of 24 hours".
pub fn busiest_hours(hours: &[i64; 24]) -> String {
    let total: i64 = hours.iter().sum();
    if total == 0 {
        return "no activity".into();
    }
    let mut ranked: Vec<(usize, i64)> = hours.iter().copied().enumerate().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let top: Vec<String> = ranked
        .iter()
        .filter(|(_, n)| *n > 0)
        .take(3)
        .map(|(h, n)| format!("{h:02}:00 ({})", percent(*n as f64 / total as f64)))
        .collect();
    let covered = hours.iter().filter(|n| **n > 0).count();
    format!(
        "busiest {}; active in {covered} of 24 hours",
        top.join(", ")
    )
}

/// The top five of the window: from the kept window totals when it is a standard
/// window ending today, else summed over the daily rows.
pub(super) async fn top_contributors(
    app: &App,
    actor: &Actor,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    days: i64,
    limit: i64,
) -> Result<Vec<(String, i64, i64)>> {
    let store = app.store();
    let today = app.today();
    let standard = windows::WINDOWS
        .iter()
        .copied()
        .find(|w| i64::from(*w) == days && to == today);
    let Some(window) = standard else {
        return store
            .top_contributors(actor.community, from, to, limit)
            .await;
    };
    if !store
        .window_is_current(actor.community, window, today)
        .await?
    {
        store.catch_up_windows(actor.community, today).await?;
    }
    store.window_top(actor.community, window, limit).await
}

/// The most contribution days a streak is counted over.
const STREAK_DAYS: i64 = 400;

/// The member's current streak over their latest contribution days (at most
/// [`STREAK_DAYS`]), read a page at a time and only as far back as the streak
/// goes, so a long history costs no more than a short one.
async fn streak(app: &App, actor: &Actor, today: chrono::NaiveDate) -> Result<u32> {
    // A month's days first: most streaks end within it.
    let mut limit = 32;
    loop {
        let days: Vec<_> = app
            .store()
            .contribution_days(actor.member, limit)
            .await?
            .iter()
            .map(|d| parse_day(d))
            .collect::<Result<_>>()?;
        let streak = stats::streak(&days, today);
        // The streak ends inside what was read, or there is nothing more to read.
        if (streak as usize) < days.len() || (days.len() as i64) < limit || limit >= STREAK_DAYS {
            return Ok(streak);
        }
        limit = (limit * 4).min(STREAK_DAYS);
    }
}

pub async fn me(app: &App, actor: &Actor) -> Result<Reply> {
    let store = app.store();
    let today = app.today();
    let member = store
        .member(actor.community, actor.member)
        .await?
        .ok_or_else(|| crate::error::Error::internal("stats me", "member not found"))?;
    let streak = streak(app, actor, today).await?;
    let active_28 = store
        .member_active_days(actor.member, today - Days::new(27), today)
        .await?;
    let amounts = store.member_amounts(actor.member).await?;
    let (received, given) = store.kudos_counts(actor.member).await?;

    let mut reply = Reply::private(format!("Your stats, {}", member.display_name))
        .field(
            "Contributions",
            format_number(member.contribution_count as f64),
        )
        .field(
            "Streak",
            match streak {
                0 => "no current streak".to_string(),
                1 => "1 day".to_string(),
                n => format!("{n} days in a row"),
            },
        )
        .field("Active days (last 28)", active_28.to_string())
        .field("Kudos received", received.to_string())
        .field("Kudos given", given.to_string());
    if !amounts.is_empty() {
        let shown: Vec<String> = amounts
            .iter()
            .map(|(unit, amount)| format!("{} {unit}", format_number(*amount)))
            .collect();
        reply = reply.field("Amounts", shown.join(" · "));
    }
    let waiting: Vec<String> = store
        .member_waiting(actor.member, 10)
        .await?
        .iter()
        .filter(|w| !w.rejected)
        .map(|w| format!("#{}", w.id))
        .collect();
    if !waiting.is_empty() {
        reply = reply.field(
            "Pending review",
            format!(
                "{} (counted once an organiser approves)",
                waiting.join(", ")
            ),
        );
    }
    if member.away_since.is_some() {
        reply = reply.line("You are in away mode. Say `away off` when you are back.");
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stickiness_is_mean_dau_over_mau() {
        // 28 days, 56 member-days → mean DAU 2; MAU 8 → 25 %.
        assert_eq!(stickiness(56, 28, 8), Some(0.25));
        assert_eq!(stickiness(0, 28, 0), None);
    }
}
