//! Scheduled posts: the digest and the mission reminder. A due schedule's post is
//! queued in the same transaction that moves the schedule on, so each period is
//! posted once, even across restarts.

use chrono::{DateTime, Days, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::domain::cohorts::PeriodKind;
use crate::domain::metrics;
use crate::domain::milestones::{Milestone, headline_line};
use crate::domain::reply::{Line, Span};
use crate::domain::schedule::ScheduleSpec;
use crate::domain::text::format_number;
use crate::domain::{CommunityId, Reply};
use crate::error::Result;
use crate::store::event_figures::EventFigures;
use crate::store::pairing::IntroductionFigures;
use crate::store::schedules::Kind;
use crate::store::{outbox, stats};

use super::App;

/// Posts every schedule that is due; returns how many were queued.
pub async fn run_due_schedules(app: &App) -> Result<usize> {
    let now = app.now();
    let store = app.store();
    let due = store.due_schedules(now, 100).await?;
    let mut queued = 0;
    for schedule in due {
        let community = store.community(schedule.community).await?;
        let tz: Tz = community.timezone.parse().unwrap_or(Tz::UTC);
        // Nowhere to post: the period passes without a post, rather than queue one
        // that would go out with every other when a channel is finally set (R9).
        let has_channel = store.has_announcement_channel(schedule.community).await?;
        let body = match schedule.kind {
            _ if !has_channel => None,
            Kind::Digest => {
                let today = now.date_naive();
                if !store
                    .health_signals_current(schedule.community, today)
                    .await?
                {
                    store
                        .refresh_health_signals(schedule.community, today)
                        .await?;
                }
                Some(digest(app, schedule.community, &community.name, schedule.spec, now).await?)
            }
            Kind::MissionReminder => reminder(app, schedule.community).await?,
        };
        let (kind, max_age) = match schedule.kind {
            Kind::Digest => (outbox::Kind::Digest, app.freshness().digest_max_age),
            Kind::MissionReminder => (
                outbox::Kind::MissionReminder,
                app.freshness().reminder_max_age,
            ),
        };
        // Useful until the next one is due, unless the operator says otherwise.
        let next = schedule.spec.map(|spec| spec.next_after(now, tz));
        let expires_at = match (max_age, next) {
            (Some(age), _) => now + age,
            (None, Some(next)) => next,
            (None, None) => now + chrono::Duration::days(7),
        };
        let post = body.as_ref().map(|body| outbox::NewAnnouncement {
            community: schedule.community,
            kind,
            achievement_id: None,
            contribution: None,
            about_member: None,
            body,
            expires_at: Some(expires_at),
        });
        let posted = store
            .advance_schedule(&schedule, tz, now, post.as_ref())
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
    app.store().next_schedule_due().await
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

fn compare_percent(now: Option<f64>, before: Option<f64>) -> String {
    let shown = |x: Option<f64>| x.map_or_else(|| "–".to_string(), percent);
    match (now, before) {
        (Some(n), Some(b)) => {
            let delta = ((n - b) * 100.0).round();
            let sign = if delta > 0.0 { "+" } else { "" };
            format!(
                "{} ({sign}{} points on the period before)",
                shown(now),
                format_number(delta)
            )
        }
        _ => format!("{} (the period before: {})", shown(now), shown(before)),
    }
}

fn percent(x: f64) -> String {
    format!("{}%", format_number((x * 100.0).round()))
}

/// R(w,1) (PRODUCT.md "Retention cohorts"): of the members whose first activity
/// fell in the period starting `cohort`, the share active again in the next one;
/// with the cohort's size, so small groups can be withheld.
async fn returning(
    app: &App,
    community: CommunityId,
    kind: PeriodKind,
    cohort: NaiveDate,
) -> Result<(i64, Option<f64>)> {
    let next = kind.next(cohort);
    let counts = app
        .store()
        .cohort_counts(community, kind, cohort, cohort)
        .await?;
    let find = |p: NaiveDate| {
        counts
            .iter()
            .find(|(_, period, _)| *period == p)
            .map_or(0, |(_, _, n)| *n)
    };
    let size = find(cohort);
    Ok((size, (size > 0).then(|| find(next) as f64 / size as f64)))
}

/// This period against the last (PRODUCT.md metric definitions): active members,
/// new members, contributions, events held with their answers, attendance and
/// no-shows (where there were any), retention, goal progress, milestones reached,
/// members needing attention (a count; names stay in `health`) and alignment.
pub async fn digest(
    app: &App,
    community: CommunityId,
    name: &str,
    spec: Option<ScheduleSpec>,
    now: DateTime<Utc>,
) -> Result<Reply> {
    let store = app.store();
    let days = period_days(spec);
    let today = now.date_naive();
    let (from, prev_from) = (today - Days::new(days - 1), today - Days::new(2 * days - 1));
    let prev_to = today - Days::new(days);
    let this = store.window_totals(community, from, today).await?;
    let last = store.window_totals(community, prev_from, prev_to).await?;
    // Members active in the period: the rolling count whose width is the period.
    let active = |a: stats::ActiveMembers| match days {
        1 => a.dau,
        7 => a.wau,
        _ => a.mau,
    };
    let active_now = active(store.active_members(community, today).await?);
    let active_before = active(store.active_members(community, prev_to).await?);
    let since = now - chrono::Duration::days(days as i64);
    let before = since - chrono::Duration::days(days as i64);
    let joined = store.members_joined(community, since, now).await?;
    let joined_before = store.members_joined(community, before, since).await?;
    let reached = store.milestones_reached(community, since, now).await?;
    let reached_before = store.milestones_reached(community, before, since).await?;
    let mut reply = Reply::public(format!("Digest · {name} · last {days} days"))
        .field("Active members", compare(active_now, active_before))
        .field("New members", compare(joined, joined_before))
        .field(
            "Contributions",
            compare(this.contributions, last.contributions),
        );

    let events = store.event_figures(community, since, now, now).await?;
    let events_before = store.event_figures(community, before, since, now).await?;
    if events.held > 0 || events_before.held > 0 {
        let rates = |e: &EventFigures| {
            metrics::attendance_rates(e.yes as u64, e.attended as u64, e.yes_attended as u64)
        };
        let (rates_now, rates_before) = (rates(&events), rates(&events_before));
        reply = reply
            .field("Events held", compare(events.held, events_before.held))
            .field(
                "RSVPs",
                format!(
                    "{} yes, {} maybe ({} yes the period before)",
                    events.yes, events.maybe, events_before.yes
                ),
            )
            .field(
                "Attendance rate (attended ÷ yes)",
                compare_percent(rates_now.map(|r| r.0), rates_before.map(|r| r.0)),
            )
            .field(
                "No-show rate",
                compare_percent(rates_now.map(|r| r.1), rates_before.map(|r| r.1)),
            );
    }

    let introductions = store
        .introduction_figures(
            community,
            since,
            now,
            now - Duration::days(metrics::INTRODUCED_DAYS),
        )
        .await?;
    let introductions_before = store
        .introduction_figures(community, before, since, now)
        .await?;
    if introductions.made > 0 || introductions_before.made > 0 || introductions.opted_in > 0 {
        let rate = |f: &IntroductionFigures| metrics::meet_rate(f.met as u64, f.asked as u64);
        reply = reply
            .field(
                "Introductions made",
                compare(introductions.made, introductions_before.made),
            )
            .field(
                "Meet rate",
                compare_percent(rate(&introductions), rate(&introductions_before)),
            );
        if introductions.opted_in > 0 {
            reply = reply.field(
                format!("Introduced in {} days", metrics::INTRODUCED_DAYS),
                format!(
                    "{} of {} members in the rounds",
                    introductions.introduced, introductions.opted_in
                ),
            );
        }
    }

    // Retention: the last complete period's newcomers who came back in this one,
    // against the same figure a period earlier.
    let kind = if days >= 28 {
        PeriodKind::Month
    } else {
        PeriodKind::Week
    };
    let current = kind.start(today);
    let previous = kind.start(current - Days::new(1));
    let earlier = kind.start(previous - Days::new(1));
    let (size, rate) = returning(app, community, kind, previous).await?;
    let (size_before, rate_before) = returning(app, community, kind, earlier).await?;
    let unit = kind.as_str();
    let retention = match metrics::guarded(size as usize, ()) {
        metrics::Guarded::Shown(()) => format!(
            "{} of last {unit}'s {size} newcomers came back this {unit}: {}",
            rate.map_or(0, |r| (r * size as f64).round() as i64),
            compare_percent(
                rate,
                matches!(
                    metrics::guarded(size_before as usize, ()),
                    metrics::Guarded::Shown(())
                )
                .then_some(rate_before)
                .flatten()
            )
        ),
        metrics::Guarded::TooFew { members } => format!(
            "too few newcomers last {unit} to show ({members}, fewer than {})",
            metrics::MIN_GROUP
        ),
    };
    reply = reply.field("Retention", retention);

    // Alignment (mission drift): contributions linked to a goal or value ÷ all.
    let threshold = store.community(community).await?.alignment_threshold as f64 / 100.0;
    let aligned = metrics::alignment(this.aligned as u64, this.contributions as u64);
    let aligned_before = metrics::alignment(last.aligned as u64, last.contributions as u64);
    reply = reply.field(
        "Aligned with a goal or value",
        compare_percent(aligned, aligned_before),
    );
    if metrics::drifting(aligned, threshold) {
        reply = reply.line(Line::new().strong("Drift warning: ").text(format!(
            "fewer than {} of this period's contributions are linked to a goal or value.",
            percent(threshold)
        )));
    }

    // Members needing attention: counts only, names stay in `health`.
    let interval = store.community(community).await?.inactive_days.max(1) as u64;
    let attention = store.attention_counts(community, today, interval).await?;
    reply = reply.field(
        "Members needing attention",
        format!(
            "{} may be drifting away, {} may be overloaded, {} inactive for more than {interval} days (names: `health`, organisers only)",
            attention.dropping, attention.overloaded, attention.inactive
        ),
    );

    reply = reply.field("Milestones reached", compare(reached, reached_before));
    let listed = store
        .milestones_reached_list(community, since, now, 10)
        .await?;
    if !listed.is_empty() {
        reply = reply.line(Line::new().strong("Milestones this period"));
        for milestone in &listed {
            reply = reply.line(Line::new().text("• ").extend(milestone_line(milestone)));
        }
        if reached as usize > listed.len() {
            reply = reply.line(format!("…and {} more.", reached as usize - listed.len()));
        }
    }

    let moved = store.goal_progress_between(community, from, today).await?;
    let open = store.open_goals(community).await?;
    if !open.is_empty() {
        reply = reply.line(Line::new().strong("Goal progress"));
    }
    for g in open {
        let added = moved
            .iter()
            .find(|(slug, ..)| *slug == g.slug)
            .map_or(0.0, |(.., amount)| *amount);
        let unit = g
            .unit
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        reply = reply.line(
            Line::new()
                .text(&g.title)
                .text(": ")
                .text(crate::domain::announce::progress_text(
                    g.progress,
                    g.target,
                    g.unit.as_deref(),
                ))
                .text(format!(" (+{}{unit} this period)", format_number(added))),
        );
    }
    Ok(reply)
}

/// A milestone as the digest lists it: a member's own names them by reference, so
/// the digest records them and erasing them takes the line out (R8).
fn milestone_line(reached: &stats::Reached) -> Line {
    let built_in = Milestone::built_in(&reached.milestone_key);
    match (reached.member_id, &reached.member_name, built_in) {
        (Some(id), Some(name), Some(milestone)) => headline_line(
            &milestone,
            Span::Member {
                id,
                name: name.clone(),
            },
        ),
        (Some(id), _, _) => Line::new().member(id, &reached.title),
        _ => Line::new().text(&reached.title),
    }
}

/// The current mission, or nothing when there is none to remind of.
async fn reminder(app: &App, community: CommunityId) -> Result<Option<Reply>> {
    let store = app.store();
    let Some(version) = store.current_mission(community).await? else {
        return Ok(None);
    };
    let mut card = super::mission::card(&version);
    card.title = Some("Mission reminder".into());
    // Which values the last 30 days of contributions reflected most and least.
    let since = app.today() - Days::new(29);
    let counts = store.value_counts(community, since).await?;
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
