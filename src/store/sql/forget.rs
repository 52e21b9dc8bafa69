//! Erasing a member's queries, step by step (see `store::forget`).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Timelike, Utc};

use super::super::engine::built;
use super::{Conn, Executor, IDS_PER_STATEMENT, Pool, numbered_list};
use super::{activity, insights, windows};
use crate::domain::actor::FORMER_MEMBER;
use crate::domain::{CommunityId, EventId, MemberId};
use crate::error::Result;
use crate::store::activity::Counts;
use crate::store::forget::{Plan, Reason};
use crate::store::redaction::Redacted;
use crate::store::{numbered_values, parse_day, parse_ts, ts};

/// Records that a member is to be erased, and takes their identities, link codes
/// and name now. Returns how many identities went.
pub async fn request(
    conn: &mut Conn,
    member: MemberId,
    reason: Reason,
    now: DateTime<Utc>,
) -> Result<i64> {
    let identities: i64 =
        sqlx::query_scalar("SELECT count(*) FROM identities WHERE member_id = $1")
            .bind(member)
            .fetch_one(&mut *conn)
            .await?;
    request_all(conn, &[member], reason, now).await?;
    Ok(identities)
}

/// [`request`] for many members at once (a purge's), each step a statement per
/// `IDS_PER_STATEMENT` of them. A merge into one of them stops where it is, and
/// the member it was merging (the same person's other account) is erased too.
pub async fn request_all(
    conn: &mut Conn,
    members: &[MemberId],
    reason: Reason,
    now: DateTime<Utc>,
) -> Result<()> {
    let mut merging: Vec<MemberId> = Vec::new();
    for chunk in members.chunks(IDS_PER_STATEMENT) {
        let mut stop = sqlx::query_scalar::<_, MemberId>(built(format!(
            "DELETE FROM merges WHERE into_member_id IN {} RETURNING from_member_id",
            numbered_list(1, chunk.len())
        )));
        for member in chunk {
            stop = stop.bind(member);
        }
        merging.extend(stop.fetch_all(&mut *conn).await?);
    }
    let mut members = members.to_vec();
    members.extend(merging);
    let (reason, now) = (reason.as_str(), ts(now));
    for chunk in members.chunks(IDS_PER_STATEMENT) {
        let mut record = sqlx::query(built(format!(
            "INSERT INTO erasures (member_id, reason, requested_at) VALUES {}
             ON CONFLICT (member_id) DO NOTHING",
            numbered_values(1, chunk.len(), 3)
        )));
        for member in chunk {
            record = record.bind(member).bind(reason).bind(&now);
        }
        record.execute(&mut *conn).await?;
        let list = numbered_list(1, chunk.len());
        for sql in [
            format!("DELETE FROM identities WHERE member_id IN {list}"),
            format!("DELETE FROM link_codes WHERE member_id IN {list}"),
        ] {
            let mut delete = sqlx::query(built(sql));
            for member in chunk {
                delete = delete.bind(member);
            }
            delete.execute(&mut *conn).await?;
        }
        let mut rename = sqlx::query(built(format!(
            "UPDATE members SET display_name = $1 WHERE id IN {}",
            numbered_list(2, chunk.len())
        )))
        .bind(FORMER_MEMBER);
        for member in chunk {
            rename = rename.bind(member);
        }
        rename.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The erasures under way: each member, and whether their rows are all gone
/// (only the WAL is left to scrub).
pub async fn pending(db: impl Executor<'_>) -> Result<Vec<(MemberId, bool)>> {
    Ok(sqlx::query_as(
        "SELECT member_id, erased_at IS NOT NULL FROM erasures ORDER BY requested_at, member_id",
    )
    .fetch_all(db)
    .await?)
}

/// Whether a member is being erased (and so can no longer be named).
pub async fn is_pending(db: impl Executor<'_>, member: MemberId) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM erasures WHERE member_id = $1)")
            .bind(member)
            .fetch_one(db)
            .await?,
    )
}

/// The member's rows, read without the write lock. None once the member is gone.
pub async fn plan(read: &Pool, member: MemberId) -> Result<Option<Plan>> {
    let mut snapshot = super::super::engine::snapshot(read).await?;
    let found: Option<(CommunityId, i64)> =
        sqlx::query_as("SELECT community_id, contribution_count FROM members WHERE id = $1")
            .bind(member)
            .fetch_optional(&mut *snapshot)
            .await?;
    let Some((community, counted)) = found else {
        return Ok(None);
    };
    let newest_contribution: i64 =
        sqlx::query_scalar("SELECT COALESCE(max(id), 0) FROM contributions")
            .fetch_one(&mut *snapshot)
            .await?;
    // Their contributions are found by filtering the community's index (migration
    // 0008): the one read that grows with the community, so only when they have any.
    let contributions = if counted > 0 {
        sqlx::query_scalar(
            "SELECT id FROM contributions WHERE community_id = $1 AND member_id = $2 ORDER BY id",
        )
        .bind(community)
        .bind(member)
        .fetch_all(&mut *snapshot)
        .await?
    } else {
        Vec::new()
    };
    let kudos = sqlx::query_scalar(
        "SELECT id FROM kudos WHERE from_member_id = $1 UNION SELECT id FROM kudos WHERE to_member_id = $1
         ORDER BY id",
    )
    .bind(member)
    .fetch_all(&mut *snapshot)
    .await?;
    snapshot.rollback().await?;
    Ok(Some(Plan {
        member,
        community,
        contributions,
        kudos,
        newest_contribution,
    }))
}

/// Redacts what names the member and takes out their share of the community's
/// figures, with every per-member row; their contributions and kudos stay for the
/// chunks. Bounded by the member's own announcements and active days.
pub async fn detach(conn: &mut Conn, plan: &Plan, now: DateTime<Utc>) -> Result<Redacted> {
    let (community, member) = (plan.community, plan.member);
    let redacted = super::redaction::redact_member(conn, member, now).await?;
    // Their own milestones go; the announcements of them stay (redacted), so the
    // messages they were posted as can still be edited.
    sqlx::query(
        "UPDATE announcements SET achievement_id = NULL
         WHERE achievement_id IN (SELECT id FROM milestone_achievements WHERE member_id = $1)",
    )
    .bind(member)
    .execute(&mut *conn)
    .await?;
    // Their active days leave DAU/WAU/MAU, the day's contributions and kudos given,
    // and the retention cohorts; then the rows themselves go.
    activity::withdraw_member(conn, community, member).await?;
    // Their entries in the audit trail go; where they corrected others' records
    // they are "a former member".
    super::corrections::forget_member(conn, member).await?;
    // Their contributions waiting for review or rejected go; the reasons they
    // wrote rejecting others' go too.
    super::review::forget_member(conn, member).await?;
    for sql in [
        // Gone at the request; again here, should a merge have moved one since.
        "DELETE FROM identities WHERE member_id = $1",
        "DELETE FROM link_codes WHERE member_id = $1",
        "DELETE FROM milestone_achievements WHERE member_id = $1",
        "DELETE FROM member_daily_activity WHERE member_id = $1",
        "DELETE FROM member_window_totals WHERE member_id = $1",
        "DELETE FROM member_signals WHERE member_id = $1",
        "DELETE FROM member_signal_dirty WHERE member_id = $1",
        "DELETE FROM member_unit_amounts WHERE member_id = $1",
        // Population counts follow by their triggers (migration 0004).
        "UPDATE members SET first_active_on = NULL, last_active_on = NULL, away_since = NULL,
            first_contribution_on = NULL, second_contribution_on = NULL, fourth_contribution_on = NULL
         WHERE id = $1",
    ] {
        sqlx::query(sql).bind(member).execute(&mut *conn).await?;
    }
    Ok(redacted)
}

/// How a goal counts a contribution; the same rule the writer applies.
const GOAL_AMOUNT: &str = "CAST(CASE WHEN g.unit IS NULL THEN COALESCE(c.amount, 1) ELSE COALESCE(c.amount, 0) END AS DOUBLE PRECISION)";

/// A contribution as its erasure needs it: id, day, goal, what the goal counted,
/// whether it was aligned, when it was recorded.
type ContributionRow = (i64, String, Option<i64>, f64, bool, String);

/// Erases some of the member's contributions (ids from the plan) and takes out
/// what they counted; returns how many went.
pub async fn erase_contributions(conn: &mut Conn, plan: &Plan, ids: &[i64]) -> Result<u64> {
    let community = plan.community;
    let mut rows: Vec<ContributionRow> = Vec::new();
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let mut select = sqlx::query_as(built(format!(
            "SELECT c.id, c.happened_on, c.goal_id, {GOAL_AMOUNT},
                    c.goal_id IS NOT NULL OR c.value_name IS NOT NULL, c.created_at
             FROM contributions c LEFT JOIN goals g ON g.id = c.goal_id
             WHERE c.id IN {} AND c.member_id = $1",
            numbered_list(2, chunk.len())
        )))
        .bind(plan.member);
        for id in chunk {
            select = select.bind(id);
        }
        rows.extend(select.fetch_all(&mut *conn).await?);
    }
    if rows.is_empty() {
        return Ok(0);
    }
    let found: Vec<i64> = rows.iter().map(|r| r.0).collect();
    for chunk in found.chunks(IDS_PER_STATEMENT) {
        let mut delete = sqlx::query(built(format!(
            "DELETE FROM contributions WHERE id IN {}",
            numbered_list(1, chunk.len())
        )));
        for id in chunk {
            delete = delete.bind(id);
        }
        delete.execute(&mut *conn).await?;
    }

    let mut hours: BTreeMap<(NaiveDate, u32), i64> = BTreeMap::new();
    let mut aligned: BTreeMap<(CommunityId, NaiveDate), i64> = BTreeMap::new();
    let mut goal_days: BTreeMap<(i64, String), (i64, f64)> = BTreeMap::new();
    for (_, on, goal, amount, is_aligned, at) in &rows {
        let at = parse_ts(at)?;
        *hours.entry((at.date_naive(), at.hour())).or_default() -= 1;
        if *is_aligned {
            *aligned.entry((community, parse_day(on)?)).or_default() -= 1;
        }
        if let Some(goal) = goal {
            let e = goal_days.entry((*goal, on.clone())).or_default();
            e.0 += 1;
            e.1 += amount;
        }
    }
    insights::add_hours(conn, community, &hours).await?;
    activity::add_aligned(conn, &aligned).await?;
    if !goal_days.is_empty() {
        take_out_of_goals(conn, &goal_days).await?;
    }
    sqlx::query(
        "UPDATE communities SET contribution_count =
            CASE WHEN contribution_count > $1 THEN contribution_count - $1 ELSE 0 END
         WHERE id = $2",
    )
    .bind(found.len() as i64)
    .bind(community)
    .execute(&mut *conn)
    .await?;
    // Rows the window totals have not counted yet may be in a catch-up counted on
    // a snapshot: it must count again (their share of the totals went in detach).
    let counted = windows::counted_up_to(conn, community).await?;
    if found.iter().any(|id| counted.is_none_or(|(c, _)| *id > c)) {
        windows::note_rebuild(conn, community).await?;
    }
    Ok(found.len() as u64)
}

/// Takes contributions out of their goals' daily progress, then sets each goal's
/// progress from its days (a row per day: bounded by the goal's age, not its
/// contributions) and whether it is still met.
pub(super) async fn take_out_of_goals(
    conn: &mut Conn,
    goal_days: &BTreeMap<(i64, String), (i64, f64)>,
) -> Result<()> {
    let days: Vec<_> = goal_days.iter().collect();
    for chunk in days.chunks(IDS_PER_STATEMENT) {
        let mut take = sqlx::query(built(format!(
            "UPDATE goal_daily_progress SET contributions = contributions - d.n, amount = amount - d.taken
             FROM (SELECT column1 AS goal, column2 AS day, column3 AS n, column4 AS taken
                   FROM (VALUES {}) AS v) AS d
             WHERE goal_daily_progress.goal_id = d.goal AND goal_daily_progress.day = d.day",
            numbered_values(1, chunk.len(), 4)
        )));
        for ((goal, on), (n, amount)) in chunk {
            take = take.bind(goal).bind(on).bind(n).bind(amount);
        }
        take.execute(&mut *conn).await?;
    }
    let mut goals: Vec<i64> = goal_days.keys().map(|(g, _)| *g).collect();
    goals.dedup();
    for chunk in goals.chunks(IDS_PER_STATEMENT) {
        let list = numbered_list(1, chunk.len());
        for sql in [
            format!(
                "DELETE FROM goal_daily_progress WHERE goal_id IN {list} AND contributions <= 0"
            ),
            format!(
                "UPDATE goals SET
                    progress = round(CAST(COALESCE((SELECT SUM(amount) FROM goal_daily_progress
                                                    WHERE goal_id = goals.id), 0) AS NUMERIC), 6),
                    contribution_count = CAST(COALESCE((SELECT SUM(contributions) FROM goal_daily_progress
                                                        WHERE goal_id = goals.id), 0) AS BIGINT)
                 WHERE id IN {list}"
            ),
            // A goal no longer at its target is no longer met (it is met again, and
            // re-dated, if contributions bring it back).
            format!(
                "UPDATE goals SET met_at = NULL
                 WHERE id IN {list}
                   AND progress < target - 1e-9 * CASE WHEN target > 1 THEN target ELSE 1 END"
            ),
        ] {
            let mut statement = sqlx::query(built(sql));
            for goal in chunk {
                statement = statement.bind(goal);
            }
            statement.execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// A kudos as its erasure needs it: id, giver, receiver, when.
type KudosRow = (i64, MemberId, MemberId, String);

/// Erases some of the kudos the member gave or received (ids from the plan) and
/// takes them out of the other side's counts; returns how many went.
pub async fn erase_kudos(conn: &mut Conn, plan: &Plan, ids: &[i64]) -> Result<u64> {
    let (community, member) = (plan.community, plan.member);
    let mut rows: Vec<KudosRow> = Vec::new();
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let mut delete = sqlx::query_as(built(format!(
            "DELETE FROM kudos WHERE id IN {} AND (from_member_id = $1 OR to_member_id = $1)
             RETURNING id, from_member_id, to_member_id, created_at",
            numbered_list(2, chunk.len())
        )))
        .bind(member);
        for id in chunk {
            delete = delete.bind(id);
        }
        rows.extend(delete.fetch_all(&mut *conn).await?);
    }
    if rows.is_empty() {
        return Ok(0);
    }
    let counted = windows::counted_up_to(conn, community).await?;
    let mut hours: BTreeMap<(NaiveDate, u32), i64> = BTreeMap::new();
    let mut others: BTreeMap<(MemberId, NaiveDate), Counts> = BTreeMap::new();
    let mut windowed: BTreeMap<(MemberId, NaiveDate), i64> = BTreeMap::new();
    let mut uncounted = false;
    for (id, from, to, at) in &rows {
        let at = parse_ts(at)?;
        let on = at.date_naive();
        *hours.entry((on, at.hour())).or_default() -= 1;
        // Only the other side: the member's own went with their share in detach.
        if *from == member {
            others.entry((*to, on)).or_default().kudos_received -= 1;
            match counted {
                Some((_, seen)) if *id <= seen => *windowed.entry((*to, on)).or_default() -= 1,
                _ => uncounted = true,
            }
        } else {
            others.entry((*from, on)).or_default().kudos_given -= 1;
            uncounted |= counted.is_none_or(|(_, seen)| *id > seen);
        }
    }
    insights::add_hours(conn, community, &hours).await?;
    for ((other, on), delta) in others {
        activity::adjust(conn, community, other, on, delta).await?;
    }
    let entries: Vec<crate::store::windows::Entry> = windowed
        .into_iter()
        .map(|((other, on), n)| (other, on, 0, n))
        .collect();
    windows::take_out(conn, community, &entries).await?;
    if uncounted {
        windows::note_rebuild(conn, community).await?;
    }
    Ok(rows.len() as u64)
}

/// Removes the member row, unless something was recorded for them since the
/// plan was made (a contribution already queued, kudos from someone who named
/// them first): then false, and the erasure goes round again. Every check reads an
/// index, so this costs the same in any community.
pub async fn finish(conn: &mut Conn, plan: &Plan, now: DateTime<Utc>) -> Result<bool> {
    let member = plan.member;
    let left: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM contributions WHERE community_id = $1 AND id > $2 AND member_id = $3)
             OR EXISTS (SELECT 1 FROM kudos WHERE from_member_id = $3)
             OR EXISTS (SELECT 1 FROM kudos WHERE to_member_id = $3)
             OR EXISTS (SELECT 1 FROM member_daily_activity WHERE member_id = $3)
             OR EXISTS (SELECT 1 FROM announcement_members WHERE member_id = $3)
             OR EXISTS (SELECT 1 FROM milestone_achievements WHERE member_id = $3)
             OR EXISTS (SELECT 1 FROM identities WHERE member_id = $3)",
    )
    .bind(plan.community)
    .bind(plan.newest_contribution)
    .bind(member)
    .fetch_one(&mut *conn)
    .await?;
    if left {
        return Ok(false);
    }
    // What is left cascades or is cleared: window totals a catch-up counted since,
    // authorship (mission versions, goals, milestones), the population counts.
    sqlx::query("DELETE FROM members WHERE id = $1")
        .bind(member)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE erasures SET erased_at = $1 WHERE member_id = $2")
        .bind(ts(now))
        .bind(member)
        .execute(&mut *conn)
        .await?;
    windows::note_rebuild(conn, plan.community).await?;
    Ok(true)
}

/// The member row went before the erasure got to it (their community was purged,
/// or an earlier round finished): nothing is left but the scrub.
pub async fn mark_erased(conn: &mut Conn, member: MemberId, now: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE erasures SET erased_at = COALESCE(erased_at, $1) WHERE member_id = $2")
        .bind(ts(now))
        .bind(member)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends an erasure whose rows are gone and whose text the WAL no longer holds.
pub async fn forgotten(conn: &mut Conn, member: MemberId) -> Result<()> {
    sqlx::query("DELETE FROM erasures WHERE member_id = $1 AND erased_at IS NOT NULL")
        .bind(member)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn events_answered_ahead(
    db: impl Executor<'_>,
    member: MemberId,
    now: DateTime<Utc>,
) -> Result<Vec<EventId>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT e.id FROM event_rsvps r JOIN events e ON e.id = r.event_id
          WHERE r.member_id = $1 AND r.answer IN ('yes', 'maybe')
            AND e.ends_at > $2 AND e.cancelled_at IS NULL
          ORDER BY e.id",
    )
    .bind(member)
    .bind(ts(now))
    .fetch_all(db)
    .await?;
    Ok(ids.into_iter().map(EventId).collect())
}
