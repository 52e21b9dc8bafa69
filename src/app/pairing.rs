//! `pair join | leave | status | avoid | met | now` (issue 19 §2), the rounds
//! `keel run` makes on the community's schedule, and the "Did you meet?" that
//! follows each introduction. Who meets whom is `domain::pairing`'s to decide.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, Duration, Utc};

use crate::domain::pairing::{self, Arrangement, Candidate, REMEMBERED_ROUNDS};
use crate::domain::reply::{Line, Press};
use crate::domain::schedule::ScheduleSpec;
use crate::domain::{Actor, CommunityId, MemberId, MemberRef, PairingGroupId, Reply, UserError};
use crate::error::Result;
use crate::store::pairing::{NewGroup, NewRound, PairingCandidate};

use super::App;

/// A member whose first activity is more recent than this is a newcomer, whom a
/// round prefers to introduce to an established member.
const NEWCOMER_DAYS: u64 = 30;

/// How long after an introduction its group is asked "Did you meet?".
pub const FOLLOW_UP_AFTER_DAYS: i64 = 4;

/// How many of each member's newest contributions an introduction quotes.
const QUOTED_CONTRIBUTIONS: usize = 2;

/// Schedules and follow-ups handled in one round of the due-work loop.
const DUE_BATCH: i64 = 100;

/// When the next round runs, in the community's time, or that none is set.
async fn next_round_line(app: &App, community: CommunityId) -> Result<Line> {
    let settings = app.store().pairing_settings(community).await?;
    Ok(match settings.schedule {
        Some((spec, next)) => Line::new()
            .text("Next round: ")
            .time(next)
            .text(format!(" ({spec})")),
        None => Line::new()
            .text("No rounds are scheduled yet: organisers set them with ")
            .code("setup pairing fortnightly mon 09:00")
            .text(" or run one with ")
            .code("pair now")
            .text("."),
    })
}

pub async fn join(app: &App, actor: &Actor) -> Result<Reply> {
    let joined = app
        .store()
        .join_pairing(actor.community, actor.member, app.now())
        .await?;
    let title = if joined {
        "You are in the pairing rounds"
    } else {
        "You were already in the pairing rounds"
    };
    Ok(Reply::private(title)
        .line("Each round introduces you to members you have not met in the last rounds, in a conversation of your own.")
        .line(next_round_line(app, actor.community).await?)
        .line(
            Line::new()
                .text("Never grouped with someone: ")
                .code("pair avoid @member")
                .text(" (nobody is told). Out again: ")
                .code("pair leave")
                .text("."),
        ))
}

pub async fn leave(app: &App, actor: &Actor) -> Result<Reply> {
    let left = app
        .store()
        .leave_pairing(actor.community, actor.member)
        .await?;
    Ok(if left {
        Reply::private("You are out of the pairing rounds")
            .line("Your past introductions stay as they were. Back in any time: `pair join`.")
    } else {
        Reply::private("You were not in the pairing rounds").line("Join them with `pair join`.")
    })
}

pub async fn status(app: &App, actor: &Actor) -> Result<Reply> {
    let store = app.store();
    let opted_in = store.in_pairing(actor.member).await?;
    let mut reply = Reply::private(if opted_in {
        "Pairing: you are in the rounds"
    } else {
        "Pairing: you are not in the rounds"
    });
    match store.your_pairing_group(actor.member).await? {
        Some(group) => {
            let mut line = Line::new()
                .text("Your latest group (")
                .time(group.ran_at)
                .text("): ");
            for (i, (member, name)) in group.others.iter().enumerate() {
                if i > 0 {
                    line = line.text(", ");
                }
                line = line.member(*member, name);
            }
            if group.others.is_empty() {
                line = line.text("the others have left");
            }
            reply = reply.line(line);
            reply = reply.line(match group.met {
                Some(true) => "You said you met.".to_string(),
                Some(false) => "You said you have not met.".to_string(),
                None => "Met yet? Say so with `pair met yes` or `pair met no`.".to_string(),
            });
        }
        None => reply = reply.line("You have not been in a round yet."),
    }
    reply = reply.line(next_round_line(app, actor.community).await?);
    if !opted_in {
        reply = reply.line(Line::new().text("Join with ").code("pair join").text("."));
    }
    Ok(reply)
}

pub async fn avoid(app: &App, actor: &Actor, reference: &MemberRef) -> Result<Reply> {
    let member = app.member_by_ref(actor, reference, false).await?;
    if member.id == actor.member {
        return Err(UserError::invalid(
            "You cannot avoid yourself.",
            "Name another member, like `pair avoid @bo`.",
        )
        .into());
    }
    let added = app
        .store()
        .avoid_in_pairing(actor.community, actor.member, member.id, app.now())
        .await?;
    let title = if added {
        format!("You will never be grouped with {}", member.display_name)
    } else {
        format!(
            "You were already never grouped with {}",
            member.display_name
        )
    };
    Ok(Reply::private(title).line("Nobody else is told, them included."))
}

pub async fn met(
    app: &App,
    actor: &Actor,
    met: bool,
    group: Option<PairingGroupId>,
) -> Result<Reply> {
    let answered = app
        .store()
        .answer_met(
            actor.community,
            actor.member,
            group,
            met,
            app.now(),
            app.today(),
        )
        .await?;
    let Some(_) = answered else {
        return Err(UserError::invalid(
            "You have not been in a pairing round yet.",
            "Join the rounds with `pair join`; each introduction is followed by this question.",
        )
        .into());
    };
    Ok(if met {
        Reply::private("Glad you met!").line("It counts towards the community's introductions.")
    } else {
        Reply::private("Noted: you have not met").line(
            "There is still time: the conversation stays open. The next round brings someone new.",
        )
    })
}

pub async fn now(app: &App, actor: &Actor) -> Result<Reply> {
    let Some(round) = run_round(app, actor.community, None).await? else {
        return Err(UserError::invalid(
            "No round ran: a round is running already for this community.",
            "Try again in a moment.",
        )
        .into());
    };
    let mut reply = Reply::private("Pairing round made").line(format!(
        "{} groups, {} members introduced.",
        round.groups, round.members
    ));
    if round.sitting_out > 0 {
        reply = reply.line(format!(
            "{} sat out: alone on their platform, or only with members they avoid.",
            round.sitting_out
        ));
    }
    if round.groups == 0 {
        reply = reply.line(
            "A round needs two members in the rounds on one platform (not away): `pair join`.",
        );
    }
    Ok(reply)
}

/// What a round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundMade {
    pub groups: usize,
    pub members: usize,
    pub sitting_out: usize,
}

/// Makes a round for `community`: groups within each workspace, no pair from
/// the last rounds repeated where an arrangement allows, nobody with a member
/// either avoids; each group's introduction queued. `period` is the scheduled
/// moment it runs for; None if that period's round was made already.
pub async fn run_round(
    app: &App,
    community: CommunityId,
    period: Option<DateTime<Utc>>,
) -> Result<Option<RoundMade>> {
    let store = app.store();
    let now = app.now();
    let started = std::time::Instant::now();
    let phase = |name: &str| {
        tracing::debug!(
            phase = name,
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "pairing round"
        )
    };
    let settings = store.pairing_settings(community).await?;
    let newcomer_since = app.today() - Days::new(NEWCOMER_DAYS);
    let candidates = store.pairing_candidates(community, newcomer_since).await?;
    let met = store.recent_pairs(community, REMEMBERED_ROUNDS).await?;
    let avoid = store.avoided_pairs(community).await?;
    phase("read");

    let mut by_workspace: BTreeMap<_, Vec<&PairingCandidate>> = BTreeMap::new();
    for candidate in &candidates {
        by_workspace
            .entry(candidate.workspace)
            .or_default()
            .push(candidate);
    }
    let arranged: Vec<(Vec<&PairingCandidate>, Arrangement)> = {
        let mut rng = rand::rng();
        by_workspace
            .into_values()
            .map(|place| {
                let people: Vec<Candidate> = place
                    .iter()
                    .map(|c| Candidate {
                        member: c.member,
                        newcomer: c.newcomer,
                    })
                    .collect();
                let arrangement = pairing::arrange(&people, settings.size, &met, &avoid, &mut rng);
                (place, arrangement)
            })
            .collect()
    };

    phase("arranged");
    let grouped: Vec<MemberId> = arranged
        .iter()
        .flat_map(|(_, a)| a.groups.iter().flatten().copied())
        .collect();
    let quoted = store
        .recent_contributions(community, &grouped, QUOTED_CONTRIBUTIONS)
        .await?;
    let mission = store.current_mission(community).await?;
    phase("quoted");
    let mut made = RoundMade::default();
    let mut groups = Vec::new();
    for (place, arrangement) in &arranged {
        made.sitting_out += arrangement.sitting_out.len();
        let by_member: BTreeMap<MemberId, &PairingCandidate> =
            place.iter().map(|c| (c.member, *c)).collect();
        for group in &arrangement.groups {
            let members: Vec<&PairingCandidate> = group
                .iter()
                .filter_map(|m| by_member.get(m).copied())
                .collect();
            let Some(first) = members.first() else {
                continue;
            };
            made.groups += 1;
            made.members += members.len();
            groups.push(NewGroup {
                workspace: first.workspace,
                members: members.iter().map(|c| c.member).collect(),
                recipients: members.iter().map(|c| c.user.clone()).collect(),
                channel: first.channel.clone(),
                body: introduction(
                    &members,
                    &quoted,
                    mission.as_ref().map(|m| m.statement.as_str()),
                ),
            });
        }
    }
    phase("introductions");
    let recorded = store
        .record_pairing_round(&NewRound {
            community,
            period,
            now,
            follow_up_at: now + Duration::days(FOLLOW_UP_AFTER_DAYS),
            groups,
        })
        .await?;
    phase("recorded");
    if recorded.is_none() {
        return Ok(None);
    }
    if made.groups > 0 {
        app.outbox_signal().notify_one();
    }
    tracing::info!(
        community = %community,
        groups = made.groups,
        members = made.members,
        sitting_out = made.sitting_out,
        "pairing round made"
    );
    Ok(Some(made))
}

/// What a group is told: who they are, what each did lately, and the mission
/// they share. Each member is named by reference, so erasing one takes their
/// lines out.
fn introduction(
    members: &[&PairingCandidate],
    quoted: &std::collections::HashMap<MemberId, Vec<String>>,
    mission: Option<&str>,
) -> Reply {
    let mut reply = Reply::private("Meet each other").line(
        "Keel's pairing round put you together: find half an hour to talk, in person or online.",
    );
    for member in members {
        let mut line = Line::new().text("• ").member(member.member, &member.name);
        match quoted.get(&member.member).filter(|q| !q.is_empty()) {
            Some(recent) => {
                line = line.text(": lately ");
                for (i, description) in recent.iter().enumerate() {
                    if i > 0 {
                        line = line.text("; ");
                    }
                    line = line.text(format!("“{description}”"));
                }
            }
            None if member.newcomer => line = line.text(": new to the community"),
            None => {}
        }
        reply = reply.line(line);
    }
    if let Some(mission) = mission {
        reply = reply.line(Line::new().text("What brings you together: ").text(mission));
    }
    reply.line(
        Line::new()
            .text("In a few days Keel asks whether you met. ")
            .code("pair status")
            .text(" shows this group again."),
    )
}

/// "Did you meet?", with buttons for each answer.
fn follow_up(group: PairingGroupId) -> Reply {
    Reply::private("Did you meet?")
        .line("A few days ago Keel introduced you to each other. Did you get to talk?")
        .line(
            Line::new()
                .text("Or type ")
                .code("pair met yes")
                .text(" or ")
                .code("pair met no")
                .text("."),
        )
        .button("Yes, we met", Press::Met(group, true), false)
        .button("Not yet", Press::Met(group, false), false)
}

/// Makes the rounds that fall due on their communities' schedules (one per
/// period, whichever process gets there first) and queues the follow-ups due.
/// Returns how many rounds and follow-ups. `keel run` calls this from its
/// due-work loop; tests call it with their clock.
pub async fn run_due_pairing(app: &App) -> Result<usize> {
    let now = app.now();
    let store = app.store();
    let mut done = 0;
    for (community, spec, due) in store.due_pairing_schedules(now, DUE_BATCH).await? {
        let tz = super::events::zone(app, community).await?;
        let next = match ScheduleSpec::parse(&spec) {
            Ok(Some(spec)) => spec.next_after(now.max(due), tz),
            _ => {
                tracing::warn!(%community, spec, "a stored pairing schedule does not parse");
                now + Duration::days(7)
            }
        };
        // A period missed while Keel was down makes one round, now.
        if run_round(app, community, Some(due)).await?.is_some() {
            done += 1;
        }
        store.advance_pairing_schedule(community, due, next).await?;
    }
    let mut asked = 0;
    for due in store.due_follow_ups(now, DUE_BATCH).await? {
        if store
            .send_follow_up(&due, &follow_up(due.group), now)
            .await?
        {
            asked += 1;
        }
    }
    if asked > 0 {
        app.outbox_signal().notify_one();
    }
    Ok(done + asked)
}
