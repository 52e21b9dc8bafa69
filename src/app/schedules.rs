//! Scheduled posts: the digest and the mission reminder. A due schedule's post is
//! queued in the same transaction that moves the schedule on, so each period is
//! posted once, even across restarts.

use chrono::{DateTime, Days, Utc};
use chrono_tz::Tz;

use crate::domain::reply::Line;
use crate::domain::schedule::ScheduleSpec;
use crate::domain::text::format_number;
use crate::domain::{CommunityId, Reply};
use crate::error::Result;
use crate::store::schedules::{self, Kind};
use crate::store::{communities, goals, mission, outbox, stats};

use super::App;

/// Posts every schedule that is due; returns how many were queued.
pub async fn run_due_schedules(app: &App) -> Result<usize> {
    let now = app.now();
    let due = schedules::due(&app.store().read, now, 100).await?;
    let mut queued = 0;
    for schedule in due {
        let community = communities::community(&app.store().read, schedule.community).await?;
        let tz: Tz = community.timezone.parse().unwrap_or(Tz::UTC);
        let body = match schedule.kind {
            Kind::Digest => {
                Some(digest(app, schedule.community, &community.name, schedule.spec, now).await?)
            }
            Kind::MissionReminder => reminder(app, schedule.community).await?,
        };
        let kind = match schedule.kind {
            Kind::Digest => outbox::Kind::Digest,
            Kind::MissionReminder => outbox::Kind::MissionReminder,
        };
        let posted = app
            .store()
            .write(async |conn| {
                if !schedules::advance(conn, &schedule, tz, now).await? {
                    return Ok(false);
                }
                if let Some(body) = &body {
                    let new = outbox::NewAnnouncement {
                        community: schedule.community,
                        kind,
                        achievement_id: None,
                        about_member: None,
                        body,
                    };
                    outbox::enqueue(conn, &new, now).await?;
                }
                Ok(body.is_some())
            })
            .await?;
        if posted {
            queued += 1;
        }
    }
    if queued > 0 {
        app.outbox_signal().notify_one();
    }
    Ok(queued)
}

/// When the next schedule falls due, if any.
pub async fn next_schedule(app: &App) -> Result<Option<DateTime<Utc>>> {
    schedules::next_due(&app.store().read).await
}

fn period_days(spec: Option<ScheduleSpec>) -> u64 {
    match spec {
        Some(ScheduleSpec::Daily { .. }) => 1,
        Some(ScheduleSpec::Monthly { .. }) => 28,
        _ => 7,
    }
}

fn compare(now: i64, before: i64) -> String {
    let delta = now - before;
    let sign = if delta > 0 { "+" } else { "" };
    format!(
        "{} ({sign}{} on the period before)",
        format_number(now as f64),
        delta
    )
}

/// This period against the last: activity, newcomers, milestones, goals.
async fn digest(
    app: &App,
    community: CommunityId,
    name: &str,
    spec: Option<ScheduleSpec>,
    now: DateTime<Utc>,
) -> Result<Reply> {
    let read = &app.store().read;
    let days = period_days(spec);
    let today = now.date_naive();
    let (from, prev_from) = (today - Days::new(days - 1), today - Days::new(2 * days - 1));
    let prev_to = today - Days::new(days);
    let this = stats::window_totals(read, community, from, today).await?;
    let last = stats::window_totals(read, community, prev_from, prev_to).await?;
    // Members active in the period: the rolling count whose width is the period.
    let active = |a: stats::ActiveMembers| match days {
        1 => a.dau,
        7 => a.wau,
        _ => a.mau,
    };
    let active_now = active(stats::active_members(read, community, today).await?);
    let active_before = active(stats::active_members(read, community, prev_to).await?);
    let since = now - chrono::Duration::days(days as i64);
    let before = since - chrono::Duration::days(days as i64);
    let joined = stats::members_joined(read, community, since, now).await?;
    let joined_before = stats::members_joined(read, community, before, since).await?;
    let reached = stats::milestones_reached(read, community, since, now).await?;
    let mut reply = Reply::public(format!("Digest · {name} · last {days} days"))
        .field("Active members", compare(active_now, active_before))
        .field(
            "Contributions",
            compare(this.contributions, last.contributions),
        )
        .field("New members", compare(joined, joined_before))
        .field("Milestones reached", format_number(reached as f64));
    for g in goals::list(read, community, false).await? {
        reply = reply.line(Line::new().text(&g.title).text(": ").text(
            crate::domain::announce::progress_text(g.progress, g.target, g.unit.as_deref()),
        ));
    }
    Ok(reply)
}

/// The current mission, or nothing when there is none to remind of.
async fn reminder(app: &App, community: CommunityId) -> Result<Option<Reply>> {
    let read = &app.store().read;
    let Some(version) = mission::current(read, community).await? else {
        return Ok(None);
    };
    let mut card = super::mission::card(&version);
    card.title = Some("Mission reminder".into());
    // Which values the last 30 days of contributions reflected most and least.
    let since = app.today() - Days::new(29);
    let counts = stats::value_counts(read, community, since).await?;
    let count_of = |value: &String| {
        counts
            .iter()
            .find(|(v, _)| v.to_lowercase() == value.to_lowercase())
            .map_or(0, |(_, n)| *n)
    };
    if !version.values.is_empty() && counts.iter().any(|(_, n)| *n > 0) {
        let mut ranked: Vec<(&String, i64)> =
            version.values.iter().map(|v| (v, count_of(v))).collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let (most, least) = (ranked[0], ranked[ranked.len() - 1]);
        card = card.line(format!(
            "In the last 30 days, contributions reflected {} most ({}) and {} least ({}).",
            most.0, most.1, least.0, least.1
        ));
    }
    Ok(Some(card))
}
