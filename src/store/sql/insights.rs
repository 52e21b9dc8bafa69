//! The insights' queries (see `store::insights`), kept in step with activity
//! (migration 0003): members' first and last active days, retention-cohort counts,
//! activity by UTC hour, and which members' health signals need computing again.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use super::Conn;
use crate::domain::cohorts::{self, CohortCounts};
use crate::domain::{CommunityId, MemberId};
use crate::error::Result;
use crate::store::{built, day, numbered_values, parse_day};

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
