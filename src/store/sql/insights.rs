//! The insights' queries (see `store::insights`), kept in step with activity
//! (migration 0003): members' first and last active days, retention-cohort counts,
//! activity by UTC hour, and which members' health signals need computing again.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;

use super::super::engine::built;
use super::super::native::insights::{ADD_COHORTS, MARK_DIRTY, WIDEN_ACTIVE_DAYS};
use super::super::script::Script;
use super::Conn;
use crate::domain::cohorts::{self, CohortCounts};
use crate::domain::{CommunityId, MemberId};
use crate::error::Result;
use crate::store::insights::{bounds_row, cohorts_json, dirty_row};
use crate::store::{day, numbered_values, parse_day};

/// Members gained active days (`fresh`, by community); `known` holds every active
/// day of theirs, fresh ones included, within 31 days of any fresh day (so whole
/// weeks and months), and `firsts` their first active day before. Adds to `script`
/// what that changes: the retention cohorts, first and last active days, and the
/// members whose health signals must be computed again.
pub async fn push_days_added(
    conn: &mut Conn,
    fresh: &BTreeMap<CommunityId, BTreeMap<MemberId, BTreeSet<NaiveDate>>>,
    known: &HashMap<MemberId, BTreeSet<NaiveDate>>,
    firsts: &HashMap<MemberId, Option<NaiveDate>>,
    script: &mut Script,
) -> Result<()> {
    let mut cohort_rows = Vec::new();
    let mut bounds = Vec::new();
    let mut dirty = Vec::new();
    for (community, fresh) in fresh {
        let mut counts = CohortCounts::new();
        for (member, new) in fresh {
            let (Some(&lo), Some(&hi)) = (new.first(), new.last()) else {
                continue;
            };
            bounds.push(bounds_row(*member, lo, hi));
            dirty.push(dirty_row(*community, *member));
            let first_before = firsts.get(member).copied().flatten();
            let first_after = Some(first_before.map_or(lo, |f| f.min(lo)));
            let near = known.get(member).cloned().unwrap_or_else(|| new.clone());
            let change = if first_before == first_after || first_before.is_none() {
                let before: BTreeSet<NaiveDate> = near.difference(new).copied().collect();
                cohorts::change((first_before, &before), (first_after, &near))
            } else {
                // Logged before their first day: they move to an earlier cohort, so
                // their whole share moves.
                let all = all_days(conn, *member).await?;
                let before: BTreeSet<NaiveDate> = all.difference(new).copied().collect();
                cohorts::change((first_before, &before), (first_after, &all))
            };
            for (k, n) in change {
                *counts.entry(k).or_default() += n;
            }
        }
        cohort_rows.extend(cohorts_json(*community, &counts));
    }
    script.push_rows(ADD_COHORTS, &cohort_rows)?;
    script.push_rows(WIDEN_ACTIVE_DAYS, &bounds)?;
    script.push_rows(MARK_DIRTY, &dirty)
}

/// Takes out (`sign` −1, before a member's days are erased, moved or a day is
/// dropped) or puts back (+1, after) a member's whole share, and sets their first
/// and last active days from what their rows say.
pub async fn member_share(
    conn: &mut Conn,
    community: CommunityId,
    member: MemberId,
    sign: i64,
) -> Result<()> {
    let days = all_days(conn, member).await?;
    let mut counts = CohortCounts::new();
    cohorts::share(days.first().copied(), &days, sign, &mut counts);
    apply_cohorts(conn, community, &counts).await?;
    if sign > 0 {
        sqlx::query("UPDATE members SET first_active_on = $1, last_active_on = $2 WHERE id = $3")
            .bind(days.first().map(|d| day(*d)))
            .bind(days.last().map(|d| day(*d)))
            .bind(member)
            .execute(&mut *conn)
            .await?;
    }
    mark_dirty(conn, community, &[member]).await
}

/// Every active day of a member.
pub async fn all_days(conn: &mut Conn, member: MemberId) -> Result<BTreeSet<NaiveDate>> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT day FROM member_daily_activity WHERE member_id = $1")
            .bind(member)
            .fetch_all(&mut *conn)
            .await?;
    rows.iter().map(|d| parse_day(d)).collect()
}

/// Adds to the retention cohorts (never below zero).
async fn apply_cohorts(
    conn: &mut Conn,
    community: CommunityId,
    counts: &CohortCounts,
) -> Result<()> {
    let rows: Vec<_> = counts.iter().filter(|(_, n)| **n != 0).collect();
    for chunk in rows.chunks(1000) {
        let mut q = sqlx::query(built(format!(
            "INSERT INTO cohort_activity (community_id, period_kind, cohort, period, members)
             VALUES {} ON CONFLICT (community_id, period_kind, cohort, period) DO UPDATE SET
                members = CASE WHEN cohort_activity.members + excluded.members > 0
                    THEN cohort_activity.members + excluded.members ELSE 0 END",
            numbered_values(1, chunk.len(), 5)
        )));
        for ((kind, cohort, period), n) in chunk {
            q = q
                .bind(community)
                .bind(kind.as_str())
                .bind(day(*cohort))
                .bind(day(*period))
                .bind(**n);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Marks members whose health signals must be computed again.
pub async fn mark_dirty(
    conn: &mut Conn,
    community: CommunityId,
    members: &[MemberId],
) -> Result<()> {
    for chunk in members.chunks(1000) {
        let mut q = sqlx::query(built(format!(
            "INSERT INTO member_signal_dirty (community_id, member_id) VALUES {}
             ON CONFLICT DO NOTHING",
            numbered_values(1, chunk.len(), 2)
        )));
        for member in chunk {
            q = q.bind(community).bind(member);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Counts activity events (a contribution, kudos) by the UTC day and hour they
/// were recorded (PRODUCT.md "Activity by hour").
pub async fn add_hours(
    conn: &mut Conn,
    community: CommunityId,
    events: &BTreeMap<(NaiveDate, u32), i64>,
) -> Result<()> {
    let rows: Vec<_> = events.iter().collect();
    for chunk in rows.chunks(1000) {
        let mut q = sqlx::query(built(format!(
            "INSERT INTO community_hourly_activity (community_id, day, hour, events) VALUES {}
             ON CONFLICT (community_id, day, hour) DO UPDATE SET
                events = community_hourly_activity.events + excluded.events",
            numbered_values(1, chunk.len(), 4)
        )));
        for ((on, hour), n) in chunk {
            q = q
                .bind(community)
                .bind(day(*on))
                .bind(i64::from(*hour))
                .bind(**n);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}
