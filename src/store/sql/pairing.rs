//! Introductions' queries (see `store::pairing`): who is opted in and whom they
//! avoid, the settings, rounds with their groups and the introductions queued for
//! them, the follow-ups, and the figures.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use futures_util::TryStreamExt;

use super::super::engine::built;
use super::health::ListedRow;
use super::{Conn, Executor, IDS_PER_STATEMENT, Pool, numbered_list, outbox};
use crate::domain::pairing::Pairs;
use crate::domain::{CommunityId, MemberId, PairingGroupId, Platform, Reply, WorkspaceId};
use crate::error::{Error, Result};
use crate::store::health::Listed;
use crate::store::outbox::{Addressed, Kind, NewAnnouncement, To};
use crate::store::pairing::{
    DIRECT_MESSAGES, FollowUpDue, IntroductionFigures, MetAnswered, NewRound, PairingCandidate,
    PairingSettings, YourGroup,
};
use crate::store::{day, numbered_values, parse_ts, ts};

/// Rows of a round per statement: well within either engine's limit on
/// parameters.
const BATCH_ROWS: usize = 1000;

/// Opts a member in; false if they were already.
pub async fn join(
    conn: &mut Conn,
    community: CommunityId,
    member: MemberId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let added = sqlx::query(
        "INSERT INTO pairing_members (member_id, community_id, joined_at) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(member)
    .bind(community)
    .bind(ts(now))
    .execute(conn)
    .await?
    .rows_affected();
    Ok(added > 0)
}

/// Opts a member out; false if they were not in.
pub async fn leave(conn: &mut Conn, member: MemberId) -> Result<bool> {
    let gone = sqlx::query("DELETE FROM pairing_members WHERE member_id = $1")
        .bind(member)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(gone > 0)
}

pub async fn is_in(db: impl Executor<'_>, member: MemberId) -> Result<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT member_id FROM pairing_members WHERE member_id = $1")
            .bind(member)
            .fetch_optional(db)
            .await?;
    Ok(found.is_some())
}

/// Records that `member` is never to be grouped with `avoided`; false if it was.
pub async fn avoid(
    conn: &mut Conn,
    member: MemberId,
    avoided: MemberId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let added = sqlx::query(
        "INSERT INTO pairing_avoids (member_id, avoided_id, created_at) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(member)
    .bind(avoided)
    .bind(ts(now))
    .execute(conn)
    .await?
    .rows_affected();
    Ok(added > 0)
}

pub async fn settings(db: &Pool, community: CommunityId) -> Result<PairingSettings> {
    let size: i64 = sqlx::query_scalar("SELECT pairing_size FROM communities WHERE id = $1")
        .bind(community)
        .fetch_one(db)
        .await?;
    let schedule: Option<(String, String)> =
        sqlx::query_as("SELECT spec, next_round_at FROM pairing_schedules WHERE community_id = $1")
            .bind(community)
            .fetch_optional(db)
            .await?;
    let opted_in: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pairing_members WHERE community_id = $1")
            .bind(community)
            .fetch_one(db)
            .await?;
    Ok(PairingSettings {
        size: size.max(2) as usize,
        schedule: match schedule {
            Some((spec, next)) => Some((spec, parse_ts(&next)?)),
            None => None,
        },
        opted_in,
    })
}

/// Sets the round schedule (with when it next runs), or takes it away.
pub async fn set_schedule(
    conn: &mut Conn,
    community: CommunityId,
    schedule: Option<(&str, DateTime<Utc>)>,
) -> Result<()> {
    match schedule {
        Some((spec, next)) => {
            sqlx::query(
                "INSERT INTO pairing_schedules (community_id, spec, next_round_at) VALUES ($1, $2, $3)
                 ON CONFLICT (community_id) DO UPDATE SET spec = excluded.spec,
                     next_round_at = excluded.next_round_at",
            )
            .bind(community)
            .bind(spec)
            .bind(ts(next))
            .execute(conn)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM pairing_schedules WHERE community_id = $1")
                .bind(community)
                .execute(conn)
                .await?;
        }
    }
    Ok(())
}

pub async fn set_size(conn: &mut Conn, community: CommunityId, size: u32) -> Result<()> {
    sqlx::query("UPDATE communities SET pairing_size = $1 WHERE id = $2")
        .bind(i64::from(size))
        .bind(community)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_channel(conn: &mut Conn, workspace: WorkspaceId, channel: &str) -> Result<()> {
    sqlx::query("UPDATE workspaces SET pairing_channel = $1 WHERE id = $2")
        .bind(channel)
        .bind(workspace)
        .execute(conn)
        .await?;
    Ok(())
}

/// The schedules whose round falls due at `now`: (community, spec, when due).
pub async fn due_schedules(
    db: impl Executor<'_>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(CommunityId, String, DateTime<Utc>)>> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT community_id, spec, next_round_at FROM pairing_schedules
         WHERE next_round_at <= $1 ORDER BY next_round_at LIMIT $2",
    )
    .bind(ts(now))
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(c, spec, at)| Ok((CommunityId(c), spec, parse_ts(&at)?)))
        .collect()
}

/// Moves a schedule on from the period `due` to `next`, unless another process
/// did first.
pub async fn advance_schedule(
    conn: &mut Conn,
    community: CommunityId,
    due: DateTime<Utc>,
    next: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE pairing_schedules SET next_round_at = $1 WHERE community_id = $2 AND next_round_at = $3",
    )
    .bind(ts(next))
    .bind(community)
    .bind(ts(due))
    .execute(conn)
    .await?;
    Ok(())
}

/// Members opted in, still here and not away, each where Keel reaches them (their
/// first identity): the round's candidates.
pub async fn candidates(
    db: &Pool,
    community: CommunityId,
    newcomer_since: NaiveDate,
) -> Result<Vec<PairingCandidate>> {
    type Row = (
        i64,
        String,
        Option<String>,
        i64,
        String,
        String,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT m.id, m.display_name, m.first_active_on, i.workspace_id, w.platform,
                i.external_user_id, w.pairing_channel
           FROM pairing_members p
           JOIN members m ON m.id = p.member_id
           JOIN identities i ON i.member_id = m.id
           JOIN workspaces w ON w.id = i.workspace_id
          WHERE p.community_id = $1 AND m.left_at IS NULL AND m.away_since IS NULL
          ORDER BY m.id, i.id",
    )
    .bind(community)
    .fetch_all(db)
    .await?;
    let since = day(newcomer_since);
    let mut out: Vec<PairingCandidate> = Vec::with_capacity(rows.len());
    for (member, name, first_active, workspace, platform, user, channel) in rows {
        if out.last().is_some_and(|c| c.member.0 == member) {
            continue;
        }
        out.push(PairingCandidate {
            member: MemberId(member),
            name,
            newcomer: first_active.is_none_or(|first| first >= since),
            workspace: WorkspaceId(workspace),
            platform: Platform::from_db(&platform)
                .ok_or_else(|| Error::internal("stored platform", platform.clone()))?,
            user,
            channel,
        });
    }
    Ok(out)
}

/// Every pair grouped together in the community's last `rounds` rounds.
pub async fn recent_pairs(db: &Pool, community: CommunityId, rounds: i64) -> Result<Pairs> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT gm.group_id, gm.member_id FROM pairing_group_members gm
           JOIN pairing_groups g ON g.id = gm.group_id
          WHERE g.round_id IN (SELECT id FROM pairing_rounds WHERE community_id = $1
                                ORDER BY id DESC LIMIT $2)
          ORDER BY gm.group_id, gm.member_id",
    )
    .bind(community)
    .bind(rounds)
    .fetch_all(db)
    .await?;
    let mut pairs = Pairs::new();
    for group in rows.chunk_by(|a, b| a.0 == b.0) {
        let members: Vec<MemberId> = group.iter().map(|(_, m)| MemberId(*m)).collect();
        pairs.insert_groups([members.as_slice()]);
    }
    Ok(pairs)
}

/// Every pair one of whom asked to avoid the other.
pub async fn avoided_pairs(db: &Pool, community: CommunityId) -> Result<Pairs> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT a.member_id, a.avoided_id FROM pairing_avoids a
           JOIN pairing_members p ON p.member_id = a.member_id
          WHERE p.community_id = $1",
    )
    .bind(community)
    .fetch_all(db)
    .await?;
    let mut pairs = Pairs::new();
    for (a, b) in rows {
        pairs.insert(MemberId(a), MemberId(b));
    }
    Ok(pairs)
}

/// Each of `members`' newest `per_member` contributions' descriptions, newest
/// first. The community's contributions are read newest first from its index
/// (which carries the member) until every member has theirs, so a member who
/// contributed lately costs a few entries, and only the chosen rows are read.
pub async fn recent_contributions(
    db: &Pool,
    community: CommunityId,
    members: &[MemberId],
    per_member: usize,
) -> Result<HashMap<MemberId, Vec<String>>> {
    let mut wanted: HashMap<i64, usize> = members.iter().map(|m| (m.0, 0)).collect();
    let mut unfilled = wanted.len();
    let mut chosen = Vec::new();
    let mut newest = sqlx::query_as::<_, (i64, i64)>(
        "SELECT id, member_id FROM contributions WHERE community_id = $1 ORDER BY id DESC",
    )
    .bind(community)
    .fetch(db);
    while unfilled > 0
        && let Some((id, member)) = newest.try_next().await?
    {
        if let Some(taken) = wanted.get_mut(&member)
            && *taken < per_member
        {
            *taken += 1;
            chosen.push(id);
            if *taken == per_member {
                unfilled -= 1;
            }
        }
    }
    drop(newest);
    let mut out: HashMap<MemberId, Vec<String>> = HashMap::new();
    for chunk in chosen.chunks(IDS_PER_STATEMENT) {
        let sql = format!(
            "SELECT member_id, description FROM contributions WHERE id IN {} ORDER BY id DESC",
            numbered_list(1, chunk.len()),
        );
        let mut q = sqlx::query_as::<_, (i64, String)>(built(sql));
        for id in chunk {
            q = q.bind(id);
        }
        for (member, description) in q.fetch_all(db).await? {
            out.entry(MemberId(member)).or_default().push(description);
        }
    }
    Ok(out)
}

/// Records a round, its groups and their introductions, queued to each group's
/// workspace; None if a round was already recorded for this period.
pub async fn record_round(conn: &mut Conn, round: &NewRound) -> Result<Option<i64>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO pairing_rounds (community_id, ran_at, period) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(round.community)
    .bind(ts(round.now))
    .bind(round.period.map(ts))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    let introductions: Vec<Addressed> = round
        .groups
        .iter()
        .map(|group| Addressed {
            new: NewAnnouncement {
                community: round.community,
                kind: Kind::Introduction,
                achievement_id: None,
                contribution: None,
                about_member: None,
                body: &group.body,
                expires_at: None,
            },
            workspace: group.workspace,
            to: To::Group {
                users: &group.recipients,
                channel: group.channel.as_deref(),
            },
        })
        .collect();
    let introductions = outbox::enqueue_each(conn, &introductions, round.now).await?;
    let follow_up_at = ts(round.follow_up_at);
    let mut group_ids: HashMap<i64, i64> = HashMap::new();
    let groups: Vec<_> = round.groups.iter().zip(&introductions).collect();
    for chunk in groups.chunks(BATCH_ROWS) {
        let mut q = sqlx::query_as::<_, (i64, i64)>(built(format!(
            "INSERT INTO pairing_groups (round_id, community_id, workspace_id, follow_up_at, introduction_id)
             VALUES {} RETURNING introduction_id, id",
            numbered_values(1, chunk.len(), 5)
        )));
        for (group, introduction) in chunk {
            q = q
                .bind(id)
                .bind(round.community)
                .bind(group.workspace)
                .bind(&follow_up_at)
                .bind(introduction.0);
        }
        group_ids.extend(q.fetch_all(&mut *conn).await?);
    }
    let grouped: Vec<(i64, MemberId)> = groups
        .iter()
        .flat_map(|(group, introduction)| {
            let group_id = group_ids[&introduction.0];
            group.members.iter().map(move |member| (group_id, *member))
        })
        .collect();
    for chunk in grouped.chunks(BATCH_ROWS) {
        let mut q = sqlx::query(built(format!(
            "INSERT INTO pairing_group_members (group_id, member_id) VALUES {}",
            numbered_values(1, chunk.len(), 2)
        )));
        for (group, member) in chunk {
            q = q.bind(group).bind(member);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(Some(id))
}

/// A member's group in the community's latest round they were in, with when it
/// ran and whether they answered "Did you meet?".
pub async fn your_group(db: &Pool, member: MemberId) -> Result<Option<YourGroup>> {
    let found: Option<(i64, String, Option<i64>)> = sqlx::query_as(
        "SELECT g.id, r.ran_at, gm.met FROM pairing_group_members gm
           JOIN pairing_groups g ON g.id = gm.group_id
           JOIN pairing_rounds r ON r.id = g.round_id
          WHERE gm.member_id = $1 ORDER BY g.id DESC LIMIT 1",
    )
    .bind(member)
    .fetch_optional(db)
    .await?;
    let Some((group, ran_at, met)) = found else {
        return Ok(None);
    };
    let others: Vec<(i64, String)> = sqlx::query_as(
        "SELECT m.id, m.display_name FROM pairing_group_members gm JOIN members m ON m.id = gm.member_id
          WHERE gm.group_id = $1 AND gm.member_id <> $2 ORDER BY m.display_name, m.id",
    )
    .bind(group)
    .bind(member)
    .fetch_all(db)
    .await?;
    Ok(Some(YourGroup {
        group: PairingGroupId(group),
        ran_at: parse_ts(&ran_at)?,
        others: others
            .into_iter()
            .map(|(id, name)| (MemberId(id), name))
            .collect(),
        met: met.map(|m| m != 0),
    }))
}

/// The platform and external id (guild or team) of the workspace a group was
/// made in; None for a group that is gone or whose workspace was removed.
pub async fn group_workspace(
    db: &Pool,
    group: PairingGroupId,
) -> Result<Option<(Platform, String)>> {
    let found: Option<(String, String)> = sqlx::query_as(
        "SELECT w.platform, w.external_id FROM pairing_groups g
           JOIN workspaces w ON w.id = g.workspace_id
          WHERE g.id = $1",
    )
    .bind(group.0)
    .fetch_optional(db)
    .await?;
    found
        .map(|(platform, external)| {
            Platform::from_db(&platform)
                .map(|platform| (platform, external))
                .ok_or_else(|| Error::internal("stored platform", platform))
        })
        .transpose()
}

/// Groups whose follow-up falls due at `now`.
pub async fn due_follow_ups(
    db: impl Executor<'_>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<FollowUpDue>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, community_id FROM pairing_groups
          WHERE follow_up_at IS NOT NULL AND follow_up_at <= $1 ORDER BY follow_up_at, id LIMIT $2",
    )
    .bind(ts(now))
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(group, community)| FollowUpDue {
            group: PairingGroupId(group),
            community: CommunityId(community),
        })
        .collect())
}

/// Queues "Did you meet?" (`body`) to a group, once: where its introduction
/// made a conversation, there; else with no channel, for the platform to write
/// to the group's members again (a Slack group DM, Discord direct messages). False if it was
/// asked already, or the group's introduction is gone.
pub async fn send_follow_up(
    conn: &mut Conn,
    group: PairingGroupId,
    body: &Reply,
    now: DateTime<Utc>,
) -> Result<bool> {
    let claimed: Option<(i64, Option<i64>)> = sqlx::query_as(
        "UPDATE pairing_groups SET follow_up_at = NULL WHERE id = $1 AND follow_up_at IS NOT NULL
         RETURNING community_id, introduction_id",
    )
    .bind(group)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((community, Some(introduction))) = claimed else {
        return Ok(false);
    };
    // The introduction's workspace, recipients and where it landed.
    type Introduced = (i64, Option<String>, Option<String>);
    let delivery: Option<Introduced> = sqlx::query_as(
        "SELECT workspace_id, recipients, posted_channel FROM announcement_deliveries
          WHERE announcement_id = $1",
    )
    .bind(introduction)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((workspace, Some(recipients), posted)) = delivery else {
        return Ok(false);
    };
    let recipients: Vec<String> = serde_json::from_str(&recipients)?;
    // Only a conversation the introduction made is named: the introduction's own
    // channel (the pairing channel) is where a thread would be made, not where
    // "Did you meet?" is asked, so without a conversation (written to each
    // member, or not delivered at all) the platform writes to the group again.
    let channel = posted.filter(|p| p != DIRECT_MESSAGES);
    let new = NewAnnouncement {
        community: CommunityId(community),
        kind: Kind::FollowUp,
        achievement_id: None,
        contribution: None,
        about_member: None,
        body,
        expires_at: None,
    };
    outbox::enqueue_group(
        conn,
        &new,
        WorkspaceId(workspace),
        &recipients,
        channel.as_deref(),
        now,
    )
    .await?;
    Ok(true)
}

/// Records `member`'s answer to "Did you meet?" for `group` (or their latest);
/// None if they were in no group.
pub async fn answer_met(
    conn: &mut Conn,
    member: MemberId,
    group: Option<PairingGroupId>,
    met: bool,
    now: DateTime<Utc>,
) -> Result<Option<MetAnswered>> {
    let found: Option<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT group_id, met FROM pairing_group_members
          WHERE member_id = $1 AND ($2 = 0 OR group_id = $2) ORDER BY group_id DESC LIMIT 1",
    )
    .bind(member)
    .bind(group.map_or(0, |g| g.0))
    .fetch_optional(&mut *conn)
    .await?;
    let Some((group, before)) = found else {
        return Ok(None);
    };
    sqlx::query(
        "UPDATE pairing_group_members SET met = $1, answered_at = $2 WHERE group_id = $3 AND member_id = $4",
    )
    .bind(i64::from(met))
    .bind(ts(now))
    .bind(group)
    .bind(member)
    .execute(&mut *conn)
    .await?;
    Ok(Some(MetAnswered {
        group: PairingGroupId(group),
        first_yes: met && before != Some(1),
    }))
}

/// Introductions made in `[from, to)`, how many of those asked said they met,
/// and members introduced since `introduced_since` among those opted in.
pub async fn figures(
    db: impl Executor<'_>,
    community: CommunityId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    introduced_since: DateTime<Utc>,
) -> Result<IntroductionFigures> {
    let (made, asked, met, introduced, opted_in): (i64, i64, i64, i64, i64) =
        sqlx::query_as(
            "WITH made AS (
                SELECT g.id, g.follow_up_at FROM pairing_groups g JOIN pairing_rounds r ON r.id = g.round_id
                 WHERE r.community_id = $1 AND r.ran_at >= $2 AND r.ran_at < $3)
             SELECT (SELECT count(*) FROM made),
                    (SELECT count(*) FROM made WHERE follow_up_at IS NULL),
                    (SELECT count(*) FROM made m WHERE m.follow_up_at IS NULL AND EXISTS (
                        SELECT 1 FROM pairing_group_members gm WHERE gm.group_id = m.id AND gm.met = 1)),
                    (SELECT count(DISTINCT gm.member_id) FROM pairing_group_members gm
                       JOIN pairing_groups g ON g.id = gm.group_id
                       JOIN pairing_rounds r ON r.id = g.round_id
                       JOIN pairing_members p ON p.member_id = gm.member_id
                      WHERE r.community_id = $1 AND r.ran_at >= $4),
                    (SELECT count(*) FROM pairing_members WHERE community_id = $1)",
        )
        .bind(community)
        .bind(ts(from))
        .bind(ts(to))
        .bind(ts(introduced_since))
        .fetch_one(db)
        .await?;
    Ok(IntroductionFigures {
        made,
        asked,
        met,
        introduced,
        opted_in,
    })
}

/// Members who joined since `since`, still here, never in a pairing group.
macro_rules! newcomers_not_introduced {
    () => {
        "SELECT m.display_name, m.last_active_on, m.joined_at FROM members m
          WHERE m.community_id = $1 AND m.joined_at >= $2 AND m.left_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM pairing_group_members gm WHERE gm.member_id = m.id)"
    };
}

pub async fn newcomers_not_introduced(
    db: &Pool,
    community: CommunityId,
    since: DateTime<Utc>,
    limit: i64,
    offset: i64,
) -> Result<Listed> {
    let names: Vec<ListedRow> = sqlx::query_as(concat!(
        newcomers_not_introduced!(),
        " ORDER BY m.joined_at, m.id LIMIT $3 OFFSET $4"
    ))
    .bind(community)
    .bind(ts(since))
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    let total: i64 = sqlx::query_scalar(concat!(
        "SELECT count(*) FROM (",
        newcomers_not_introduced!(),
        ") listed"
    ))
    .bind(community)
    .bind(ts(since))
    .fetch_one(db)
    .await?;
    Ok(Listed {
        names: names.into_iter().map(|(name, _, _)| name).collect(),
        total,
    })
}

/// Every member [`newcomers_not_introduced`] lists, as `export health` writes
/// them: binds the community and since when a member is a newcomer.
pub const NEWCOMERS_NOT_INTRODUCED: &str =
    concat!(newcomers_not_introduced!(), " ORDER BY m.joined_at, m.id");

/// A member's pairing history for `export me`: each group they were in, when,
/// with whom, and their answer.
pub async fn history(
    db: &mut Conn,
    member: MemberId,
) -> Result<Vec<(String, Vec<String>, Option<i64>)>> {
    let groups: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
        "SELECT g.id, r.ran_at, gm.met FROM pairing_group_members gm
           JOIN pairing_groups g ON g.id = gm.group_id
           JOIN pairing_rounds r ON r.id = g.round_id
          WHERE gm.member_id = $1 ORDER BY g.id",
    )
    .bind(member)
    .fetch_all(&mut *db)
    .await?;
    let mut out = Vec::with_capacity(groups.len());
    for (group, ran_at, met) in groups {
        let others: Vec<String> = sqlx::query_scalar(
            "SELECT m.display_name FROM pairing_group_members gm JOIN members m ON m.id = gm.member_id
              WHERE gm.group_id = $1 AND gm.member_id <> $2 ORDER BY m.display_name",
        )
        .bind(group)
        .bind(member)
        .fetch_all(&mut *db)
        .await?;
        out.push((ran_at, others, met));
    }
    Ok(out)
}

/// `from` and `into` are one member now: `into` keeps being in the rounds if
/// either was, both's avoidances (but not of each other) and both's groups.
pub async fn merge_members(conn: &mut Conn, from: MemberId, into: MemberId) -> Result<()> {
    for (moved, left) in [
        (
            "UPDATE pairing_members SET member_id = $2 WHERE member_id = $1
                AND NOT EXISTS (SELECT 1 FROM pairing_members o WHERE o.member_id = $2)",
            "DELETE FROM pairing_members WHERE member_id = $1",
        ),
        (
            "UPDATE pairing_avoids SET member_id = $2 WHERE member_id = $1 AND avoided_id <> $2
                AND NOT EXISTS (SELECT 1 FROM pairing_avoids o
                                WHERE o.member_id = $2 AND o.avoided_id = pairing_avoids.avoided_id)",
            "DELETE FROM pairing_avoids WHERE member_id = $1",
        ),
        (
            "UPDATE pairing_avoids SET avoided_id = $2 WHERE avoided_id = $1 AND member_id <> $2
                AND NOT EXISTS (SELECT 1 FROM pairing_avoids o
                                WHERE o.avoided_id = $2 AND o.member_id = pairing_avoids.member_id)",
            "DELETE FROM pairing_avoids WHERE avoided_id = $1",
        ),
        (
            "UPDATE pairing_group_members SET member_id = $2 WHERE member_id = $1
                AND NOT EXISTS (SELECT 1 FROM pairing_group_members o
                                WHERE o.group_id = pairing_group_members.group_id AND o.member_id = $2)",
            "DELETE FROM pairing_group_members WHERE member_id = $1",
        ),
    ] {
        sqlx::query(moved)
            .bind(from)
            .bind(into)
            .execute(&mut *conn)
            .await?;
        sqlx::query(left).bind(from).execute(&mut *conn).await?;
    }
    Ok(())
}
