//! Erasing a member (P2 "forget me", and a member a purge leaves without an
//! identity) in steps that each cost what the member's own rows cost (R6), so no
//! erasure holds the write lock for a community-wide rebuild, and that together
//! leave every derived figure equal to a recount of what is left (R8).
//!
//! 1. [`request`] records the erasure (`erasures`, migration 0012) and takes the
//!    member's identities, link codes and name at once: nothing more can be
//!    recorded for them, and nothing shows their name.
//! 2. [`plan`], on a read snapshot and before any lock: the ids of their
//!    contributions (found by filtering their community's index, the one slow
//!    read, skipped for a member who never contributed) and kudos.
//! 3. [`detach`]: announcements naming them are redacted (and their posts queued
//!    for editing), their own milestones go, their share of the community's daily
//!    figures, cohorts and window totals is taken out, and their per-member rows
//!    go. Bounded by their own days.
//! 4. [`erase_contributions`] and [`erase_kudos`]: at most [`CHUNK`] rows per
//!    transaction, each taking out exactly what those rows counted (goals, hours,
//!    alignment, the community's count, the other side of a kudos).
//! 5. [`finish`]: when nothing was recorded for them meanwhile (else another round
//!    from 2), the member row goes. Then the WAL is scrubbed of their text and
//!    [`forgotten`] ends the erasure.
//!
//! Each step is safe to run again, or after another driver ran it: a restart
//! resumes from the `erasures` row, at 2.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use sqlx::{SqliteConnection, SqliteExecutor, SqlitePool};

use super::activity::{self, Counts};
use super::redaction::{self, Redacted};
use super::{built, insights, parse_day, parse_ts, ts, windows};
use crate::domain::actor::FORMER_MEMBER;
use crate::domain::{CommunityId, MemberId};
use crate::error::Result;

/// Erasures, as the application drives them: each step is its own write
/// transaction and reports how long it held the write lock.
impl super::Store {
    /// The erasures under way: each member, and whether their rows are all gone
    /// (only the WAL is left to scrub).
    pub async fn pending_erasures(&self) -> Result<Vec<(MemberId, bool)>> {
        pending(&self.sqlite().read).await
    }

    /// Whether a member is being erased.
    pub async fn erasure_pending(&self, member: MemberId) -> Result<bool> {
        is_pending(&self.sqlite().read, member).await
    }

    /// The member's rows still to erase, read without the write lock ([`plan`]).
    pub async fn erasure_plan(&self, member: MemberId) -> Result<Option<Plan>> {
        plan(&self.sqlite().read, member).await
    }

    /// Step 1 ([`request`]): returns how many identities went.
    pub async fn request_erasure(
        &self,
        member: MemberId,
        reason: Reason,
        now: DateTime<Utc>,
    ) -> Result<Held<i64>> {
        self.erasure_step(async |conn| request(conn, member, reason, now).await)
            .await
    }

    /// Step 3 ([`detach`]).
    pub async fn detach_erased_member(
        &self,
        plan: &Plan,
        now: DateTime<Utc>,
    ) -> Result<Held<Redacted>> {
        self.erasure_step(async |conn| detach(conn, plan, now).await)
            .await
    }

    /// Step 3 ([`detach`]) and, when the plan has no contributions or kudos to
    /// erase, step 5 ([`finish`]) in the same transaction: true once the member
    /// is gone.
    pub async fn detach_erased_member_finishing_if_empty(
        &self,
        plan: &Plan,
        now: DateTime<Utc>,
    ) -> Result<Held<(Redacted, bool)>> {
        let nothing_else = plan.contributions.is_empty() && plan.kudos.is_empty();
        self.erasure_step(async |conn| {
            let redacted = detach(conn, plan, now).await?;
            let finished = nothing_else && finish(conn, plan, now).await?;
            Ok((redacted, finished))
        })
        .await
    }

    /// Step 4 for a chunk of the plan's contributions ([`erase_contributions`]);
    /// returns how many went.
    pub async fn erase_contributions_chunk(&self, plan: &Plan, ids: &[i64]) -> Result<Held<u64>> {
        self.erasure_step(async |conn| erase_contributions(conn, plan, ids).await)
            .await
    }

    /// Step 4 for a chunk of the plan's kudos ([`erase_kudos`]); returns how many
    /// went.
    pub async fn erase_kudos_chunk(&self, plan: &Plan, ids: &[i64]) -> Result<Held<u64>> {
        self.erasure_step(async |conn| erase_kudos(conn, plan, ids).await)
            .await
    }

    /// Step 5 ([`finish`]): false when the erasure must go round again.
    pub async fn finish_erasure(&self, plan: &Plan, now: DateTime<Utc>) -> Result<Held<bool>> {
        self.erasure_step(async |conn| finish(conn, plan, now).await)
            .await
    }

    /// The member row went before the erasure got to it ([`mark_erased`]).
    pub async fn mark_member_erased(
        &self,
        member: MemberId,
        now: DateTime<Utc>,
    ) -> Result<Held<()>> {
        self.erasure_step(async |conn| mark_erased(conn, member, now).await)
            .await
    }

    /// Ends an erasure once the WAL is scrubbed ([`forgotten`]).
    pub async fn end_erasure(&self, member: MemberId) -> Result<Held<()>> {
        self.erasure_step(async |conn| forgotten(conn, member).await)
            .await
    }

    /// Runs `work` in one write transaction and commits it, timing the hold from
    /// the lock taken to the commit done.
    async fn erasure_step<T>(
        &self,
        work: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T>,
    ) -> Result<Held<T>> {
        let mut tx = self.sqlite().begin_write().await?;
        let held = std::time::Instant::now();
        match work(&mut tx).await {
            Ok(value) => {
                tx.commit().await?;
                Ok(Held {
                    value,
                    lock_held: held.elapsed(),
                })
            }
            Err(e) => {
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }
}

/// What a write transaction returned, and how long it held the write lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held<T> {
    pub value: T,
    pub lock_held: std::time::Duration,
}

/// Rows erased per write transaction: in a community of 1,000,000 contributions
/// a chunk this size holds the lock for a few milliseconds (README, Performance).
pub const CHUNK: usize = 250;

/// Why a member is being erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// They asked (`forget-me confirm`).
    ForgetMe,
    /// Their last identity went with a purged workspace.
    Purge,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Reason::ForgetMe => "forget-me",
            Reason::Purge => "purge",
        }
    }
}

/// Records that a member is to be erased, and takes their identities, link codes
/// and name now. Returns how many identities went.
pub async fn request(
    conn: &mut SqliteConnection,
    member: MemberId,
    reason: Reason,
    now: DateTime<Utc>,
) -> Result<i64> {
    let identities: i64 = sqlx::query_scalar("SELECT count(*) FROM identities WHERE member_id = ?")
        .bind(member)
        .fetch_one(&mut *conn)
        .await?;
    request_all(conn, &[member], reason, now).await?;
    Ok(identities)
}

/// [`request`] for many members at once, in a statement each (a purge's members).
/// A merge into one of them stops where it is, and the member it was merging
/// (the same person's other account) is erased too.
pub async fn request_all(
    conn: &mut SqliteConnection,
    members: &[MemberId],
    reason: Reason,
    now: DateTime<Utc>,
) -> Result<()> {
    let merging: Vec<MemberId> = sqlx::query_scalar(
        "DELETE FROM merges WHERE into_member_id IN (SELECT value FROM json_each(?))
         RETURNING from_member_id",
    )
    .bind(serde_json::to_string(members)?)
    .fetch_all(&mut *conn)
    .await?;
    let mut members = members.to_vec();
    members.extend(merging);
    let ids = serde_json::to_string(&members)?;
    sqlx::query(
        "INSERT INTO erasures (member_id, reason, requested_at)
         SELECT value, ?, ? FROM json_each(?) WHERE true ON CONFLICT (member_id) DO NOTHING",
    )
    .bind(reason.as_str())
    .bind(ts(now))
    .bind(&ids)
    .execute(&mut *conn)
    .await?;
    for sql in [
        "DELETE FROM identities WHERE member_id IN (SELECT value FROM json_each(?))",
        "DELETE FROM link_codes WHERE member_id IN (SELECT value FROM json_each(?))",
    ] {
        sqlx::query(sql).bind(&ids).execute(&mut *conn).await?;
    }
    sqlx::query("UPDATE members SET display_name = ? WHERE id IN (SELECT value FROM json_each(?))")
        .bind(FORMER_MEMBER)
        .bind(&ids)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The erasures under way: each member, and whether their rows are all gone
/// (only the WAL is left to scrub).
pub async fn pending(db: impl SqliteExecutor<'_>) -> Result<Vec<(MemberId, bool)>> {
    Ok(sqlx::query_as(
        "SELECT member_id, erased_at IS NOT NULL FROM erasures ORDER BY requested_at, member_id",
    )
    .fetch_all(db)
    .await?)
}

/// Whether a member is being erased (and so can no longer be named).
pub async fn is_pending(db: impl SqliteExecutor<'_>, member: MemberId) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM erasures WHERE member_id = ?)")
            .bind(member)
            .fetch_one(db)
            .await?,
    )
}

/// What one round of an erasure removes, found on a read snapshot.
#[derive(Debug, Clone)]
pub struct Plan {
    pub member: MemberId,
    pub community: CommunityId,
    pub contributions: Vec<i64>,
    pub kudos: Vec<i64>,
    /// The newest contribution id the snapshot saw: any of theirs after it was
    /// recorded since, and [`finish`] sends the erasure round again.
    newest_contribution: i64,
}

/// The member's rows, read without the write lock. None once the member is gone.
pub async fn plan(read: &SqlitePool, member: MemberId) -> Result<Option<Plan>> {
    let mut snapshot = read.begin().await?;
    let found: Option<(CommunityId, i64)> =
        sqlx::query_as("SELECT community_id, contribution_count FROM members WHERE id = ?")
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
            "SELECT id FROM contributions WHERE community_id = ? AND member_id = ? ORDER BY id",
        )
        .bind(community)
        .bind(member)
        .fetch_all(&mut *snapshot)
        .await?
    } else {
        Vec::new()
    };
    let kudos = sqlx::query_scalar(
        "SELECT id FROM kudos WHERE from_member_id = ?1 UNION SELECT id FROM kudos WHERE to_member_id = ?1",
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
pub async fn detach(
    conn: &mut SqliteConnection,
    plan: &Plan,
    now: DateTime<Utc>,
) -> Result<Redacted> {
    let (community, member) = (plan.community, plan.member);
    let redacted = redaction::redact_member(conn, member, now).await?;
    // Their own milestones go; the announcements of them stay (redacted), so the
    // messages they were posted as can still be edited.
    sqlx::query(
        "UPDATE announcements SET achievement_id = NULL
         WHERE achievement_id IN (SELECT id FROM milestone_achievements WHERE member_id = ?)",
    )
    .bind(member)
    .execute(&mut *conn)
    .await?;
    // Their active days leave DAU/WAU/MAU, the day's contributions and kudos given,
    // and the retention cohorts; then the rows themselves go.
    activity::withdraw_member(conn, community, member).await?;
    for sql in [
        // Gone at the request; again here, should a merge have moved one since.
        "DELETE FROM identities WHERE member_id = ?",
        "DELETE FROM link_codes WHERE member_id = ?",
        "DELETE FROM milestone_achievements WHERE member_id = ?",
        "DELETE FROM member_daily_activity WHERE member_id = ?",
        "DELETE FROM member_window_totals WHERE member_id = ?",
        "DELETE FROM member_signals WHERE member_id = ?",
        "DELETE FROM member_signal_dirty WHERE member_id = ?",
        "DELETE FROM member_unit_amounts WHERE member_id = ?",
        // Population counts follow by their triggers (migration 0004).
        "UPDATE members SET first_active_on = NULL, last_active_on = NULL, away_since = NULL,
            first_contribution_on = NULL, second_contribution_on = NULL, fourth_contribution_on = NULL
         WHERE id = ?",
    ] {
        sqlx::query(sql).bind(member).execute(&mut *conn).await?;
    }
    Ok(redacted)
}

/// How a goal counts a contribution; the same rule the writer applies.
const GOAL_AMOUNT: &str = "CAST(CASE WHEN g.unit IS NULL THEN COALESCE(c.amount, 1) ELSE COALESCE(c.amount, 0) END AS REAL)";

/// A contribution as its erasure needs it: id, day, goal, what the goal counted,
/// whether it was aligned, when it was recorded.
type ContributionRow = (i64, String, Option<i64>, f64, bool, String);

/// Erases some of the member's contributions (ids from the plan) and takes out
/// what they counted; returns how many went.
pub async fn erase_contributions(
    conn: &mut SqliteConnection,
    plan: &Plan,
    ids: &[i64],
) -> Result<u64> {
    let community = plan.community;
    let rows: Vec<ContributionRow> = sqlx::query_as(built(format!(
        "SELECT c.id, c.happened_on, c.goal_id, {GOAL_AMOUNT},
                c.goal_id IS NOT NULL OR c.value_name IS NOT NULL, c.created_at
         FROM contributions c LEFT JOIN goals g ON g.id = c.goal_id
         WHERE c.id IN (SELECT value FROM json_each(?)) AND c.member_id = ?"
    )))
    .bind(serde_json::to_string(ids)?)
    .bind(plan.member)
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let found: Vec<i64> = rows.iter().map(|r| r.0).collect();
    sqlx::query("DELETE FROM contributions WHERE id IN (SELECT value FROM json_each(?))")
        .bind(serde_json::to_string(&found)?)
        .execute(&mut *conn)
        .await?;

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
    sqlx::query(activity::ADD_ALIGNED)
        .bind(activity::aligned_json(aligned)?)
        .execute(&mut *conn)
        .await?;
    if !goal_days.is_empty() {
        take_out_of_goals(conn, &goal_days).await?;
    }
    sqlx::query(
        "UPDATE communities SET contribution_count = max(0, contribution_count - ?) WHERE id = ?",
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
async fn take_out_of_goals(
    conn: &mut SqliteConnection,
    goal_days: &BTreeMap<(i64, String), (i64, f64)>,
) -> Result<()> {
    let rows: Vec<serde_json::Value> = goal_days
        .iter()
        .map(|((goal, on), (n, amount))| serde_json::json!({"goal": goal, "day": on, "n": n, "amount": amount}))
        .collect();
    let rows = serde_json::to_string(&rows)?;
    let goals: Vec<i64> = goal_days.keys().map(|(g, _)| *g).collect();
    let goals = serde_json::to_string(&goals)?;
    sqlx::query(
        "UPDATE goal_daily_progress SET contributions = contributions - d.n, amount = amount - d.taken
         FROM (SELECT value->>'goal' AS goal, value->>'day' AS day, value->>'n' AS n,
                      value->>'amount' AS taken FROM json_each(?)) AS d
         WHERE goal_daily_progress.goal_id = d.goal AND goal_daily_progress.day = d.day",
    )
    .bind(&rows)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM goal_daily_progress WHERE goal_id IN (SELECT value FROM json_each(?)) AND contributions <= 0",
    )
    .bind(&goals)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE goals SET
            progress = round(COALESCE((SELECT SUM(amount) FROM goal_daily_progress WHERE goal_id = goals.id), 0), 6),
            contribution_count = COALESCE((SELECT SUM(contributions) FROM goal_daily_progress WHERE goal_id = goals.id), 0)
         WHERE id IN (SELECT value FROM json_each(?))",
    )
    .bind(&goals)
    .execute(&mut *conn)
    .await?;
    // A goal no longer at its target is no longer met (it is met again, and
    // re-dated, if contributions bring it back).
    sqlx::query(
        "UPDATE goals SET met_at = NULL
         WHERE id IN (SELECT value FROM json_each(?)) AND progress < target - 1e-9 * max(1, target)",
    )
    .bind(&goals)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A kudos as its erasure needs it: id, giver, receiver, when.
type KudosRow = (i64, MemberId, MemberId, String);

/// Erases some of the kudos the member gave or received (ids from the plan) and
/// takes them out of the other side's counts; returns how many went.
pub async fn erase_kudos(conn: &mut SqliteConnection, plan: &Plan, ids: &[i64]) -> Result<u64> {
    let (community, member) = (plan.community, plan.member);
    let rows: Vec<KudosRow> = sqlx::query_as(
        "DELETE FROM kudos WHERE id IN (SELECT value FROM json_each(?1))
            AND (from_member_id = ?2 OR to_member_id = ?2)
         RETURNING id, from_member_id, to_member_id, created_at",
    )
    .bind(serde_json::to_string(ids)?)
    .bind(member)
    .fetch_all(&mut *conn)
    .await?;
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
    let entries: Vec<windows::Entry> = windowed
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
pub async fn finish(conn: &mut SqliteConnection, plan: &Plan, now: DateTime<Utc>) -> Result<bool> {
    let member = plan.member;
    let left: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM contributions WHERE community_id = ?1 AND id > ?2 AND member_id = ?3)
             OR EXISTS (SELECT 1 FROM kudos WHERE from_member_id = ?3)
             OR EXISTS (SELECT 1 FROM kudos WHERE to_member_id = ?3)
             OR EXISTS (SELECT 1 FROM member_daily_activity WHERE member_id = ?3)
             OR EXISTS (SELECT 1 FROM announcement_members WHERE member_id = ?3)
             OR EXISTS (SELECT 1 FROM milestone_achievements WHERE member_id = ?3)
             OR EXISTS (SELECT 1 FROM identities WHERE member_id = ?3)",
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
    sqlx::query("DELETE FROM members WHERE id = ?")
        .bind(member)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE erasures SET erased_at = ? WHERE member_id = ?")
        .bind(ts(now))
        .bind(member)
        .execute(&mut *conn)
        .await?;
    windows::note_rebuild(conn, plan.community).await?;
    Ok(true)
}

/// The member row went before the erasure got to it (their community was purged,
/// or an earlier round finished): nothing is left but the scrub.
pub async fn mark_erased(
    conn: &mut SqliteConnection,
    member: MemberId,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("UPDATE erasures SET erased_at = COALESCE(erased_at, ?) WHERE member_id = ?")
        .bind(ts(now))
        .bind(member)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends an erasure whose rows are gone and whose text the WAL no longer holds.
pub async fn forgotten(conn: &mut SqliteConnection, member: MemberId) -> Result<()> {
    sqlx::query("DELETE FROM erasures WHERE member_id = ? AND erased_at IS NOT NULL")
        .bind(member)
        .execute(conn)
        .await?;
    Ok(())
}
