//! `setup`: the community's settings.

use chrono_tz::Tz;

use crate::domain::command::Setup;
use crate::domain::reply::Line;
use crate::domain::schedule::ScheduleSpec;
use crate::domain::{Actor, Reply};
use crate::error::Result;
use crate::store::schedules::Kind;

use super::App;

pub async fn setup(app: &App, actor: &Actor, setup: Setup) -> Result<Reply> {
    let now = app.now();
    let store = app.store();
    let community = store.community(actor.community).await?;
    let tz: Tz = community.timezone.parse().unwrap_or(Tz::UTC);
    let message = match setup {
        Setup::Show => return show(app, actor).await,
        Setup::AnnouncementChannel(channel) => {
            let first = store
                .workspace(actor.workspace)
                .await?
                .announce_channel
                .is_none();
            let max_age = app.freshness().milestone_max_age;
            let waiting = store
                .set_announcement_channel(actor.workspace, channel.as_str(), now, max_age)
                .await?;
            app.outbox_signal().notify_one();
            let mut message = format!("Announcements, digests and reminders will go to {channel}.");
            if first {
                message.push_str(&format!(
                    " {} waiting from the last {} days will be posted there now; older ones have expired. \
                     No digest or reminder was prepared while there was no channel: the next ones will be.",
                    match waiting {
                        0 => "No announcement is".to_string(),
                        1 => "1 announcement".to_string(),
                        n => format!("{n} announcements"),
                    },
                    max_age.num_days().max(1)
                ));
            }
            message
        }
        Setup::ReviewChannel(channel) => {
            store
                .set_review_channel(actor.workspace, channel.as_str())
                .await?;
            format!(
                "Review channel set to {channel}. Each contribution that waits for review is posted there, with buttons to approve or reject it; `review` lists them all, with `review approve` and `review reject`."
            )
        }
        Setup::OrganiserRole(role) => {
            store
                .set_organiser_role(actor.workspace, role.as_str())
                .await?;
            format!("Members with {role} can now use organiser commands.")
        }
        Setup::Timezone(new_tz) => {
            store.set_timezone(actor.community, new_tz, now).await?;
            // Pairing rounds follow it too: their next round, in the new zone.
            if let Some((spec, _)) = store.pairing_settings(actor.community).await?.schedule
                && let Ok(Some(parsed)) = ScheduleSpec::parse(&spec)
            {
                let next = parsed.next_after(now, new_tz);
                store
                    .set_pairing_schedule(actor.community, Some((spec.as_str(), next)))
                    .await?;
            }
            format!("Time zone set to {}; schedules follow it.", new_tz.name())
        }
        Setup::Digest(spec) | Setup::Reminder(spec) => {
            let kind = if matches!(setup, Setup::Digest(_)) {
                Kind::Digest
            } else {
                Kind::MissionReminder
            };
            store
                .set_schedule(actor.community, kind, spec, tz, now)
                .await?;
            let what = if kind == Kind::Digest {
                "Digest"
            } else {
                "Mission reminder"
            };
            match spec {
                Some(s) => format!("{what}: {s} ({}).", tz.name()),
                None => format!("{what}: off."),
            }
        }
        Setup::InactiveDays(days) => {
            store.set_inactive_days(actor.community, days.get()).await?;
            format!("Members count as inactive after {days} days without activity.")
        }
        Setup::KudosPerWeek(per_week) => {
            store
                .set_kudos_per_week(actor.community, per_week.get())
                .await?;
            format!(
                "Each member may give up to {per_week} kudos over any 7 days, and thank the same member once a day."
            )
        }
        Setup::AlignmentThreshold(percent) => {
            store
                .set_alignment_threshold(actor.community, percent.get())
                .await?;
            format!(
                "Stats warn of mission drift when fewer than {percent}% of contributions are linked to a goal or value."
            )
        }
        Setup::MilestonesInDigestOnly(digest_only) => {
            store
                .set_milestones_in_digest_only(actor.community, digest_only)
                .await?;
            if digest_only {
                "Milestones will be listed in the digest instead of announced one by one. Set a digest schedule with `setup digest …` if there is none.".to_string()
            } else {
                "Each milestone will be announced as it is reached.".to_string()
            }
        }
        Setup::Pairing(spec) => {
            let schedule = spec.map(|s| (s.to_string(), s.next_after(now, tz)));
            store
                .set_pairing_schedule(
                    actor.community,
                    schedule.as_ref().map(|(s, next)| (s.as_str(), *next)),
                )
                .await?;
            match schedule {
                Some((spec, next)) => format!(
                    "Pairing rounds: {spec} ({}); the first runs {} UTC. Members join with `pair join`.",
                    tz.name(),
                    next.format("%Y-%m-%d %H:%M")
                ),
                None => "Pairing rounds are off; organisers can still run one with `pair now`."
                    .to_string(),
            }
        }
        Setup::PairingSize(size) => {
            store.set_pairing_size(actor.community, size.get()).await?;
            format!("Pairing rounds make groups of {size}; members left over join a group.")
        }
        Setup::PairingChannel(channel) => {
            store
                .set_pairing_channel(actor.workspace, channel.as_str())
                .await?;
            format!(
                "Introductions on this server are made as private threads in {channel}, with each group's members added."
            )
        }
        Setup::CommunityName(name) => {
            store
                .rename_community(actor.community, name.as_str())
                .await?;
            format!("The community is now called {name}.")
        }
    };
    Ok(Reply::private("Settings updated").line(message))
}

async fn show(app: &App, actor: &Actor) -> Result<Reply> {
    let store = app.store();
    let community = store.community(actor.community).await?;
    let workspace = store.workspace(actor.workspace).await?;
    let workspaces = store.community_workspaces(actor.community).await?;
    let mut reply = Reply::private(format!("Settings · {}", community.name))
        .field(
            "Announcements",
            workspace
                .announce_channel
                .unwrap_or_else(|| "not set (`setup announcements <channel>`)".into()),
        )
        .field(
            "Review requests",
            workspace
                .review_channel
                .clone()
                .unwrap_or_else(|| "not set (`setup review-channel <channel>`)".into()),
        )
        .field(
            "Organiser role",
            workspace.organiser_role.unwrap_or_else(|| "not set".into()),
        )
        .field("Time zone", community.timezone.clone())
        .field(
            "Inactive after",
            format!("{} days", community.inactive_days),
        )
        .field(
            "Kudos allowance",
            format!("{} a week per member", community.kudos_per_week),
        )
        .field(
            "Drift warning below",
            format!("{}% aligned", community.alignment_threshold),
        )
        .field(
            "Milestones",
            if store.milestones_in_digest_only(actor.community).await? {
                "in the digest only"
            } else {
                "announced as reached"
            },
        )
        .field(
            "Workspaces",
            workspaces
                .iter()
                .map(|w| format!("{} ({})", w.name, w.platform))
                .collect::<Vec<_>>()
                .join(", "),
        );
    for s in store.community_schedules(actor.community).await? {
        let name = if s.kind == Kind::Digest {
            "Digest"
        } else {
            "Mission reminder"
        };
        let value = match (s.spec, s.next_run_at) {
            (Some(spec), Some(next)) => Line::new().text(format!("{spec} · next ")).time(next),
            _ => Line::new().text("off"),
        };
        reply = reply.field(name, value);
    }
    let pairing = store.pairing_settings(actor.community).await?;
    let rounds = match &pairing.schedule {
        Some((spec, next)) => Line::new().text(format!("{spec} · next ")).time(*next),
        None => Line::new().text("off (`setup pairing fortnightly mon 09:00`)"),
    };
    reply = reply.field("Pairing rounds", rounds).field(
        "Pairing",
        format!(
            "groups of {}, {} members in the rounds",
            pairing.size, pairing.opted_in
        ),
    );
    Ok(reply)
}
