//! What the insights read, kept in step with activity (migration 0003): members'
//! first and last active days, retention-cohort counts, activity by UTC hour,
//! the days of each member's 1st, 2nd and 4th contribution, and which members'
//! health signals need computing again. Metric definitions: shared/docs/PRODUCT.md.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use sqlx::SqliteConnection;

use super::{built, day, parse_day, values_placeholders};
use crate::domain::cohorts::{self, CohortCounts};
use crate::domain::{CommunityId, MemberId};
use crate::error::Result;

/// Members gained active days (`fresh`); `known` holds every active day of theirs,
/// fresh ones included, within 31 days of any fresh day (so whole weeks and months).
pub async fn days_added(
    conn: &mut SqliteConnection,
    community: CommunityId,
    fresh: &BTreeMap<MemberId, BTreeSet<NaiveDate>>,
    known: &HashMap<MemberId, BTreeSet<NaiveDate>>,
) -> Result<()> {
    if fresh.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = fresh.keys().map(|m| m.0).collect();
    let firsts: HashMap<i64, Option<String>> = sqlx::query_as::<_, (i64, Option<String>)>(
        "SELECT id, first_active_on FROM members WHERE id IN (SELECT value FROM json_each(?))",
    )
    .bind(serde_json::to_string(&ids)?)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let mut counts = CohortCounts::new();
    let mut bounds = Vec::with_capacity(fresh.len());
    for (member, new) in fresh {
        let (Some(&lo), Some(&hi)) = (new.first(), new.last()) else {
            continue;
        };
        bounds.push((*member, lo, hi));
        let first_before = firsts
            .get(&member.0)
            .cloned()
            .flatten()
            .map(|d| parse_day(&d))
            .transpose()?;
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
    apply_cohorts(conn, community, &counts).await?;
    for chunk in bounds.chunks(300) {
        let sql = format!(
            "UPDATE members SET
                first_active_on = CASE WHEN first_active_on IS NULL OR d.column2 < first_active_on
                                       THEN d.column2 ELSE first_active_on END,
                last_active_on = CASE WHEN last_active_on IS NULL OR d.column3 > last_active_on
                                      THEN d.column3 ELSE last_active_on END
             FROM (VALUES {}) AS d WHERE members.id = d.column1",
            values_placeholders(chunk.len(), 3)
        );
        let mut q = sqlx::query(built(sql));
        for (member, lo, hi) in chunk {
            q = q.bind(member).bind(day(*lo)).bind(day(*hi));
        }
        q.execute(&mut *conn).await?;
    }
    let members: Vec<MemberId> = fresh.keys().copied().collect();
    mark_dirty(conn, community, &members).await
}

/// Takes out (`sign` −1, before a member's days are erased, moved or a day is
/// dropped) or puts back (+1, after) a member's whole share, and sets their first
/// and last active days from what their rows say.
pub async fn member_share(
    conn: &mut SqliteConnection,
    community: CommunityId,
    member: MemberId,
    sign: i64,
) -> Result<()> {
    let days = all_days(conn, member).await?;
    let mut counts = CohortCounts::new();
    cohorts::share(days.first().copied(), &days, sign, &mut counts);
    apply_cohorts(conn, community, &counts).await?;
    if sign > 0 {
        sqlx::query("UPDATE members SET first_active_on = ?, last_active_on = ? WHERE id = ?")
            .bind(days.first().map(|d| day(*d)))
            .bind(days.last().map(|d| day(*d)))
            .bind(member)
            .execute(&mut *conn)
            .await?;
    }
    mark_dirty(conn, community, &[member]).await
}

async fn all_days(conn: &mut SqliteConnection, member: MemberId) -> Result<BTreeSet<NaiveDate>> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT day FROM member_daily_activity WHERE member_id = ?")
            .bind(member)
            .fetch_all(&mut *conn)
            .await?;
    rows.iter().map(|d| parse_day(d)).collect()
}

async fn apply_cohorts(
    conn: &mut SqliteConnection,
    community: CommunityId,
    counts: &CohortCounts,
) -> Result<()> {
    let rows: Vec<_> = counts.iter().filter(|(_, n)| **n != 0).collect();
    for chunk in rows.chunks(200) {
        let sql = format!(
            "INSERT INTO cohort_activity (community_id, period_kind, cohort, period, members) VALUES {}
             ON CONFLICT (community_id, period_kind, cohort, period) DO UPDATE SET
                members = max(0, members + excluded.members)",
            values_placeholders(chunk.len(), 5)
        );
        let mut q = sqlx::query(built(sql));
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
    conn: &mut SqliteConnection,
    community: CommunityId,
    members: &[MemberId],
) -> Result<()> {
    for chunk in members.chunks(400) {
        let sql = format!(
            "INSERT INTO member_signal_dirty (community_id, member_id) VALUES {} ON CONFLICT DO NOTHING",
            values_placeholders(chunk.len(), 2)
        );
        let mut q = sqlx::query(built(sql));
        for m in chunk {
            q = q.bind(community).bind(m);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Adds events to communities' activity by hour, from one JSON array of
/// {community, day, hour, events}.
pub(super) const ADD_HOURS: &str = "INSERT INTO community_hourly_activity (community_id, day, hour, events)
     SELECT value->>'community', value->>'day', value->>'hour', value->>'events' FROM jsonb_each(?) WHERE true
     ON CONFLICT (community_id, day, hour) DO UPDATE SET events = events + excluded.events";

/// Rows for [`ADD_HOURS`]: events per UTC day and hour.
pub(super) fn hours_json<'a>(
    events: impl IntoIterator<Item = (CommunityId, &'a BTreeMap<(NaiveDate, u32), i64>)>,
) -> Result<String> {
    let rows: Vec<serde_json::Value> = events
        .into_iter()
        .flat_map(|(community, hours)| {
            hours.iter().map(move |((d, hour), n)| {
                serde_json::json!({"community": community, "day": day(*d), "hour": hour, "events": n})
            })
        })
        .collect();
    Ok(serde_json::to_string(&rows)?)
}

/// Counts activity events (a contribution, kudos) by the UTC day and hour they
/// were recorded (PRODUCT.md "Activity by hour").
pub async fn add_hours(
    conn: &mut SqliteConnection,
    community: CommunityId,
    events: &BTreeMap<(NaiveDate, u32), i64>,
) -> Result<()> {
    sqlx::query(ADD_HOURS)
        .bind(hours_json([(community, events)])?)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Notes the day a member's contribution count first reached 1, 2 or 4
/// (PRODUCT.md "Newcomer conversion"), from one JSON array of {member, nth, day}
/// (see [`ordinals_json`]).
pub(super) const REACH_ORDINALS: &str = "UPDATE members SET
        first_contribution_on = COALESCE(first_contribution_on, r.first),
        second_contribution_on = COALESCE(second_contribution_on, r.second),
        fourth_contribution_on = COALESCE(fourth_contribution_on, r.fourth)
     FROM (SELECT value->>'member' AS member,
                  max(CASE value->>'nth' WHEN 1 THEN value->>'day' END) AS first,
                  max(CASE value->>'nth' WHEN 2 THEN value->>'day' END) AS second,
                  max(CASE value->>'nth' WHEN 4 THEN value->>'day' END) AS fourth
           FROM jsonb_each(?) GROUP BY 1) AS r
     WHERE members.id = r.member";

/// Rows for [`REACH_ORDINALS`]: (member, ordinal, day).
pub(super) fn ordinals_json(reached: &[(MemberId, i64, NaiveDate)]) -> Result<String> {
    let rows: Vec<serde_json::Value> = reached
        .iter()
        .map(|(member, nth, on)| serde_json::json!({"member": member, "nth": nth, "day": day(*on)}))
        .collect();
    Ok(serde_json::to_string(&rows)?)
}

/// Recomputes everything here for one community from its activity, contributions
/// and kudos (after a bulk load), as migration 0003 does for existing databases.
pub async fn rebuild(conn: &mut SqliteConnection, community: CommunityId) -> Result<()> {
    for sql in [
        "DELETE FROM cohort_activity WHERE community_id = ?1",
        "DELETE FROM community_hourly_activity WHERE community_id = ?1",
        "DELETE FROM member_signals WHERE community_id = ?1",
        "DELETE FROM community_signal_marks WHERE community_id = ?1",
        "UPDATE members SET first_active_on = a.first, last_active_on = a.last
         FROM (SELECT member_id, min(day) AS first, max(day) AS last FROM member_daily_activity
               WHERE community_id = ?1 GROUP BY member_id) AS a
         WHERE members.id = a.member_id",
        "UPDATE members SET
            first_contribution_on = n.first, second_contribution_on = n.second, fourth_contribution_on = n.fourth
         FROM (
            SELECT member_id,
                   max(CASE WHEN nth = 1 THEN happened_on END) AS first,
                   max(CASE WHEN nth = 2 THEN happened_on END) AS second,
                   max(CASE WHEN nth = 4 THEN happened_on END) AS fourth
            FROM (SELECT member_id, happened_on,
                         row_number() OVER (PARTITION BY member_id ORDER BY happened_on, id) AS nth
                  FROM contributions WHERE community_id = ?1)
            WHERE nth IN (1, 2, 4) GROUP BY member_id
         ) AS n
         WHERE members.id = n.member_id",
        "INSERT INTO cohort_activity (community_id, period_kind, cohort, period, members)
         SELECT ?1, 'week', date(m.first_active_on, 'weekday 0', '-6 days'), a.period, count(*)
         FROM (SELECT DISTINCT member_id, date(day, 'weekday 0', '-6 days') AS period
               FROM member_daily_activity WHERE community_id = ?1) AS a
         JOIN members m ON m.id = a.member_id
         GROUP BY 3, 4",
        "INSERT INTO cohort_activity (community_id, period_kind, cohort, period, members)
         SELECT ?1, 'month', date(m.first_active_on, 'start of month'), a.period, count(*)
         FROM (SELECT DISTINCT member_id, date(day, 'start of month') AS period
               FROM member_daily_activity WHERE community_id = ?1) AS a
         JOIN members m ON m.id = a.member_id
         GROUP BY 3, 4",
        "INSERT INTO community_hourly_activity (community_id, day, hour, events)
         SELECT ?1, day, hour, sum(n) FROM (
            SELECT substr(created_at, 1, 10) AS day, CAST(substr(created_at, 12, 2) AS INTEGER) AS hour,
                   count(*) AS n
            FROM contributions WHERE community_id = ?1 GROUP BY 1, 2
            UNION ALL
            SELECT substr(created_at, 1, 10), CAST(substr(created_at, 12, 2) AS INTEGER), count(*)
            FROM kudos WHERE community_id = ?1 GROUP BY 1, 2
         ) GROUP BY 2, 3",
    ] {
        sqlx::query(sql).bind(community).execute(&mut *conn).await?;
    }
    Ok(())
}
