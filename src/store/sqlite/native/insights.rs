//! The insights' statements for the contribution writer and the activity writer:
//! retention cohorts, first and last active days, activity by hour, contribution
//! ordinals and members to compute signals for again, each from one JSON array;
//! and the rebuild from the activity, which counts weeks and months with SQLite's
//! date functions.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use serde_json::json;
use sqlx::SqliteConnection;

use super::super::script::Script;
use super::super::sql::insights::all_days;
use crate::domain::cohorts::{self, CohortCounts};
use crate::domain::{CommunityId, MemberId};
use crate::error::Result;
use crate::store::day;

/// Members gained active days (`fresh`, by community); `known` holds every active
/// day of theirs, fresh ones included, within 31 days of any fresh day (so whole
/// weeks and months), and `firsts` their first active day before. Adds to `script`
/// what that changes: the retention cohorts, first and last active days, and the
/// members whose health signals must be computed again.
pub async fn push_days_added(
    conn: &mut SqliteConnection,
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
            bounds.push(json!({"member": member, "lo": day(lo), "hi": day(hi)}));
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

/// Adds to the retention cohorts (never below zero), from one JSON array of
/// {community, kind, cohort, period, n}.
const ADD_COHORTS: &str =
    "INSERT INTO cohort_activity (community_id, period_kind, cohort, period, members)
     SELECT value->>'community', value->>'kind', value->>'cohort', value->>'period', value->>'n'
     FROM jsonb_each(?) WHERE true
     ON CONFLICT (community_id, period_kind, cohort, period) DO UPDATE SET
        members = max(0, members + excluded.members)";

fn cohorts_json(community: CommunityId, counts: &CohortCounts) -> Vec<serde_json::Value> {
    counts
        .iter()
        .filter(|(_, n)| **n != 0)
        .map(|((kind, cohort, period), n)| {
            json!({"community": community, "kind": kind.as_str(), "cohort": day(*cohort),
                   "period": day(*period), "n": n})
        })
        .collect()
}

/// Moves members' first active day earlier and last later to take in new active
/// days, from one JSON array of {member, lo, hi}.
const WIDEN_ACTIVE_DAYS: &str = "UPDATE members SET
        first_active_on = CASE WHEN first_active_on IS NULL OR d.lo < first_active_on
                               THEN d.lo ELSE first_active_on END,
        last_active_on = CASE WHEN last_active_on IS NULL OR d.hi > last_active_on
                              THEN d.hi ELSE last_active_on END
     FROM (SELECT value->>'member' AS member, value->>'lo' AS lo, value->>'hi' AS hi
           FROM jsonb_each(?)) AS d
     WHERE members.id = d.member";

/// Marks members whose health signals must be computed again, from one JSON array
/// of {community, member}.
const MARK_DIRTY: &str = "INSERT INTO member_signal_dirty (community_id, member_id)
     SELECT value->>'community', value->>'member' FROM jsonb_each(?) WHERE true
     ON CONFLICT DO NOTHING";

/// A row for [`MARK_DIRTY`].
fn dirty_row(community: CommunityId, member: MemberId) -> serde_json::Value {
    json!({"community": community, "member": member})
}

/// Adds events to communities' activity by hour, from one JSON array of
/// {community, day, hour, events}.
pub const ADD_HOURS: &str = "INSERT INTO community_hourly_activity (community_id, day, hour, events)
     SELECT value->>'community', value->>'day', value->>'hour', value->>'events' FROM jsonb_each(?) WHERE true
     ON CONFLICT (community_id, day, hour) DO UPDATE SET events = events + excluded.events";

/// Rows for [`ADD_HOURS`]: events per UTC day and hour.
pub fn hours_json<'a>(
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

/// Notes the day a member's contribution count first reached 1, 2 or 4
/// (PRODUCT.md "Newcomer conversion"), from one JSON array of {member, nth, day}
/// (see [`ordinals_json`]).
pub const REACH_ORDINALS: &str = "UPDATE members SET
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
pub fn ordinals_json(reached: &[(MemberId, i64, NaiveDate)]) -> Result<String> {
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
