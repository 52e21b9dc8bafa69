//! The insights' statements for the contribution writer and the activity writer:
//! retention cohorts, first and last active days, activity by hour, contribution
//! ordinals and members to compute signals for again, each from one JSON array
//! (rows as `store::insights` writes them); and the rebuild from the activity,
//! which counts weeks and months with SQLite's date functions.

use sqlx::SqliteConnection;

use crate::domain::CommunityId;
use crate::error::Result;

/// Adds to the retention cohorts (never below zero), from one JSON array of
/// {community, kind, cohort, period, n}.
pub const ADD_COHORTS: &str =
    "INSERT INTO cohort_activity (community_id, period_kind, cohort, period, members)
     SELECT value->>'community', value->>'kind', value->>'cohort', value->>'period', value->>'n'
     FROM jsonb_each(?) WHERE true
     ON CONFLICT (community_id, period_kind, cohort, period) DO UPDATE SET
        members = max(0, members + excluded.members)";

/// Moves members' first active day earlier and last later to take in new active
/// days, from one JSON array of {member, lo, hi}.
pub const WIDEN_ACTIVE_DAYS: &str = "UPDATE members SET
        first_active_on = CASE WHEN first_active_on IS NULL OR d.lo < first_active_on
                               THEN d.lo ELSE first_active_on END,
        last_active_on = CASE WHEN last_active_on IS NULL OR d.hi > last_active_on
                              THEN d.hi ELSE last_active_on END
     FROM (SELECT value->>'member' AS member, value->>'lo' AS lo, value->>'hi' AS hi
           FROM jsonb_each(?)) AS d
     WHERE members.id = d.member";

/// Marks members whose health signals must be computed again, from one JSON array
/// of {community, member}.
pub const MARK_DIRTY: &str = "INSERT INTO member_signal_dirty (community_id, member_id)
     SELECT value->>'community', value->>'member' FROM jsonb_each(?) WHERE true
     ON CONFLICT DO NOTHING";

/// Adds events to communities' activity by hour, from one JSON array of
/// {community, day, hour, events}.
pub const ADD_HOURS: &str = "INSERT INTO community_hourly_activity (community_id, day, hour, events)
     SELECT value->>'community', value->>'day', value->>'hour', value->>'events' FROM jsonb_each(?) WHERE true
     ON CONFLICT (community_id, day, hour) DO UPDATE SET events = events + excluded.events";

/// Notes the day a member's contribution count first reached 1, 2 or 4
/// (PRODUCT.md "Newcomer conversion"), from one JSON array of {member, nth, day}
/// (see `store::insights::ordinals_json`).
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
