//! PostgreSQL's own statements for the insights: rebuilding them with its date
//! functions.

use sqlx::PgConnection;

use crate::domain::CommunityId;
use crate::error::Result;

/// Recomputes everything the insights keep for one community from its activity,
/// contributions and kudos (after a bulk load); weeks start on Monday, as on SQLite.
pub async fn rebuild(conn: &mut PgConnection, community: CommunityId) -> Result<()> {
    for sql in [
        "DELETE FROM cohort_activity WHERE community_id = $1",
        "DELETE FROM community_hourly_activity WHERE community_id = $1",
        "DELETE FROM member_signals WHERE community_id = $1",
        "DELETE FROM community_signal_marks WHERE community_id = $1",
        "UPDATE members SET first_active_on = a.first, last_active_on = a.last
         FROM (SELECT member_id, min(day) AS first, max(day) AS last FROM member_daily_activity
               WHERE community_id = $1 GROUP BY member_id) AS a
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
                  FROM contributions WHERE community_id = $1) AS numbered
            WHERE nth IN (1, 2, 4) GROUP BY member_id
         ) AS n
         WHERE members.id = n.member_id",
        "INSERT INTO cohort_activity (community_id, period_kind, cohort, period, members)
         SELECT $1, 'week', to_char(date_trunc('week', m.first_active_on::date), 'YYYY-MM-DD'),
                a.period, count(*)
         FROM (SELECT DISTINCT member_id, to_char(date_trunc('week', day::date), 'YYYY-MM-DD') AS period
               FROM member_daily_activity WHERE community_id = $1) AS a
         JOIN members m ON m.id = a.member_id
         GROUP BY 3, 4",
        "INSERT INTO cohort_activity (community_id, period_kind, cohort, period, members)
         SELECT $1, 'month', to_char(date_trunc('month', m.first_active_on::date), 'YYYY-MM-DD'),
                a.period, count(*)
         FROM (SELECT DISTINCT member_id, to_char(date_trunc('month', day::date), 'YYYY-MM-DD') AS period
               FROM member_daily_activity WHERE community_id = $1) AS a
         JOIN members m ON m.id = a.member_id
         GROUP BY 3, 4",
        "INSERT INTO community_hourly_activity (community_id, day, hour, events)
         SELECT $1, day, hour, sum(n) FROM (
            SELECT substr(created_at, 1, 10) AS day, CAST(substr(created_at, 12, 2) AS BIGINT) AS hour,
                   count(*) AS n
            FROM contributions WHERE community_id = $1 GROUP BY 1, 2
            UNION ALL
            SELECT substr(created_at, 1, 10), CAST(substr(created_at, 12, 2) AS BIGINT), count(*)
            FROM kudos WHERE community_id = $1 GROUP BY 1, 2
         ) AS hours GROUP BY 2, 3",
    ] {
        sqlx::query(sql).bind(community).execute(&mut *conn).await?;
    }
    Ok(())
}
