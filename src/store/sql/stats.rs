//! Statistics' queries: the daily rollups and the population counts (migrations
//! 0003, 0004), so their cost follows the window asked, not the length of the
//! history or the number of members. Metric definitions: shared/docs/PRODUCT.md.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Executor, Pool};
use crate::domain::cohorts::PeriodKind;
use crate::domain::{CommunityId, MemberId};
use crate::error::Result;
use crate::store::stats::{ActiveMembers, GrowthCounts, Reached, WindowTotals};
use crate::store::{day, parse_day, ts};

/// DAU, WAU and MAU as of `on` (PRODUCT.md "DAU / WAU / MAU"), from the
/// community's daily rollup: one row, however long the history.
pub async fn active_members(
    db: impl Executor<'_>,
    community: CommunityId,
    on: NaiveDate,
) -> Result<ActiveMembers> {
    let row: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT dau, wau, mau FROM community_daily_activity WHERE community_id = $1 AND day = $2",
    )
    .bind(community)
    .bind(day(on))
    .fetch_optional(db)
    .await?;
    let (dau, wau, mau) = row.unwrap_or_default();
    Ok(ActiveMembers { dau, wau, mau })
}

/// Totals over `[from, to]`: a row per day.
pub async fn window_totals(
    db: impl Executor<'_>,
    community: CommunityId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<WindowTotals> {
    let (member_days, contributions, kudos, aligned): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(dau), 0) AS BIGINT), CAST(COALESCE(SUM(contributions), 0) AS BIGINT),
                CAST(COALESCE(SUM(kudos), 0) AS BIGINT), CAST(COALESCE(SUM(aligned), 0) AS BIGINT)
         FROM community_daily_activity WHERE community_id = $1 AND day BETWEEN $2 AND $3",
    )
    .bind(community)
    .bind(day(from))
    .bind(day(to))
    .fetch_one(db)
    .await?;
    Ok(WindowTotals {
        member_days,
        contributions,
        kudos,
        aligned,
    })
}

/// The members with most contributions in a window: (name, contributions, kudos received).
pub async fn top_contributors(
    db: impl Executor<'_>,
    community: CommunityId,
    from: NaiveDate,
    to: NaiveDate,
    limit: i64,
) -> Result<Vec<(String, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT m.display_name, t.contributions, t.kudos FROM (
            SELECT member_id, CAST(SUM(contributions) AS BIGINT) AS contributions,
                   CAST(SUM(kudos_received) AS BIGINT) AS kudos
            FROM member_daily_activity WHERE community_id = $1 AND day BETWEEN $2 AND $3
            GROUP BY member_id HAVING SUM(contributions) > 0
            ORDER BY contributions DESC, kudos DESC, member_id LIMIT $4
         ) t JOIN members m ON m.id = t.member_id ORDER BY t.contributions DESC, t.kudos DESC, m.id",
    )
    .bind(community)
    .bind(day(from))
    .bind(day(to))
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Days on which a member contributed, newest first (at most `limit`).
pub async fn contribution_days(
    db: impl Executor<'_>,
    member: MemberId,
    limit: i64,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT day FROM member_daily_activity WHERE member_id = $1 AND contributions > 0 ORDER BY day DESC LIMIT $2",
    )
    .bind(member)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// A member's amounts by unit: [("trees", 120.0), ("hours", 6.5)], kept per
/// member and unit by the contribution writer (migration 0004).
pub async fn member_amounts(db: impl Executor<'_>, member: MemberId) -> Result<Vec<(String, f64)>> {
    Ok(sqlx::query_as(
        "SELECT unit, amount FROM member_unit_amounts WHERE member_id = $1 ORDER BY amount DESC, unit",
    )
    .bind(member)
    .fetch_all(db)
    .await?)
}

/// Days a member was active in `[from, to]`.
pub async fn member_active_days(
    db: impl Executor<'_>,
    member: MemberId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM member_daily_activity WHERE member_id = $1 AND day BETWEEN $2 AND $3",
    )
    .bind(member)
    .bind(day(from))
    .bind(day(to))
    .fetch_one(db)
    .await?)
}

/// Members who joined in `[from, to)` (times as stored text): whole UTC days from
/// the joins kept per day (migration 0004), and the part days at either end from
/// the members who joined on those days (an index range of a day's joiners).
pub async fn members_joined(
    db: &Pool,
    community: CommunityId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<i64> {
    if from >= to {
        return Ok(0);
    }
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    // Whole days are [first, last): from the first midnight at or after `from` to
    // the last midnight at or before `to`.
    let first = if midnight(from.date_naive()) == from {
        from.date_naive()
    } else {
        from.date_naive() + chrono::Days::new(1)
    };
    let last = to.date_naive();
    let by_rows = |a: DateTime<Utc>, b: DateTime<Utc>| {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM members WHERE community_id = $1 AND joined_at >= $2 AND joined_at < $3",
        )
        .bind(community)
        .bind(ts(a))
        .bind(ts(b))
        .fetch_one(db)
    };
    if first >= last {
        return Ok(by_rows(from, to).await?);
    }
    let whole: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(joins), 0) AS BIGINT) FROM community_daily_members
         WHERE community_id = $1 AND day >= $2 AND day < $3",
    )
    .bind(community)
    .bind(day(first))
    .bind(day(last))
    .fetch_one(db)
    .await?;
    let head = if midnight(first) > from {
        by_rows(from, midnight(first)).await?
    } else {
        0
    };
    let tail = if to > midnight(last) {
        by_rows(midnight(last), to).await?
    } else {
        0
    };
    Ok(whole + head + tail)
}

/// Goals whose deadline passed by `today`, and how many of them were met by it
/// (PRODUCT.md "Goal-achievement rate").
pub async fn goals_due(
    db: impl Executor<'_>,
    community: CommunityId,
    today: NaiveDate,
) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT count(*),
                CAST(COALESCE(SUM(CASE WHEN met_at IS NOT NULL AND substr(met_at, 1, 10) <= deadline
                                       THEN 1 ELSE 0 END), 0) AS BIGINT)
         FROM goals WHERE community_id = $1 AND deadline IS NOT NULL AND deadline < $2",
    )
    .bind(community)
    .bind(day(today))
    .fetch_one(db)
    .await?)
}

/// The all-time top: (name, contributions, kudos received).
pub async fn top_all_time(
    db: impl Executor<'_>,
    community: CommunityId,
    limit: i64,
) -> Result<Vec<(String, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT m.display_name, m.contribution_count, (SELECT count(*) FROM kudos k WHERE k.to_member_id = m.id)
         FROM members m WHERE m.community_id = $1 AND m.contribution_count > 0
         ORDER BY m.contribution_count DESC, m.id LIMIT $2",
    )
    .bind(community)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Members whose contributions rose most from the 30 days before `from` to the
/// 30 days from `from` to `to`: (name, now, before).
pub async fn most_improved(
    db: impl Executor<'_>,
    community: CommunityId,
    from: NaiveDate,
    to: NaiveDate,
    limit: i64,
) -> Result<Vec<(String, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT m.display_name, t.now, t.before FROM (
            SELECT member_id,
                   CAST(SUM(CASE WHEN day >= $2 THEN contributions ELSE 0 END) AS BIGINT) AS now,
                   CAST(SUM(CASE WHEN day < $2 THEN contributions ELSE 0 END) AS BIGINT) AS before
            FROM member_daily_activity WHERE community_id = $1 AND day BETWEEN $3 AND $4
            GROUP BY member_id
            HAVING SUM(CASE WHEN day >= $2 THEN contributions ELSE 0 END)
                 > SUM(CASE WHEN day < $2 THEN contributions ELSE 0 END)
         ) t JOIN members m ON m.id = t.member_id
         ORDER BY t.now - t.before DESC, t.now DESC, m.id LIMIT $5",
    )
    .bind(community)
    .bind(day(from))
    .bind(day(from - chrono::Days::new(30)))
    .bind(day(to))
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Contributions per mission value since `from` (the day included).
pub async fn value_counts(
    db: impl Executor<'_>,
    community: CommunityId,
    from: NaiveDate,
) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT value_name, count(*) FROM contributions
         WHERE community_id = $1 AND happened_on >= $2 AND value_name IS NOT NULL GROUP BY value_name",
    )
    .bind(community)
    .bind(day(from))
    .fetch_all(db)
    .await?)
}

/// Milestones reached in `[from, to)`: kept per distinct moment (migration 0004).
pub async fn milestones_reached(
    db: impl Executor<'_>,
    community: CommunityId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(reached), 0) AS BIGINT) FROM community_milestone_moments
         WHERE community_id = $1 AND achieved_at >= $2 AND achieved_at < $3",
    )
    .bind(community)
    .bind(ts(from))
    .bind(ts(to))
    .fetch_one(db)
    .await?)
}

/// Read from the joins and leaves kept per day (migration 0004): a row per day
/// of the community's life, not per member.
pub async fn growth(
    db: impl Executor<'_>,
    community: CommunityId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<GrowthCounts> {
    let end = day(to + chrono::Days::new(1));
    let (joins, leaves, joined_by_end, left_by_end): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN day >= $2 THEN joins END), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN day >= $2 THEN leaves END), 0) AS BIGINT),
                CAST(COALESCE(SUM(joins), 0) AS BIGINT), CAST(COALESCE(SUM(leaves), 0) AS BIGINT)
         FROM community_daily_members WHERE community_id = $1 AND day < $3",
    )
    .bind(community)
    .bind(day(from))
    .bind(&end)
    .fetch_one(db)
    .await?;
    let at_end = joined_by_end - left_by_end;
    Ok(GrowthCounts {
        joins,
        leaves,
        at_start: at_end - joins + leaves,
        at_end,
    })
}

/// Cohort counts of one kind whose cohort starts in `[from, to]`:
/// (cohort, period, members of the cohort active in the period).
pub async fn cohort_counts(
    db: impl Executor<'_>,
    community: CommunityId,
    kind: PeriodKind,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(NaiveDate, NaiveDate, i64)>> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT cohort, period, members FROM cohort_activity
         WHERE community_id = $1 AND period_kind = $2 AND cohort BETWEEN $3 AND $4",
    )
    .bind(community)
    .bind(kind.as_str())
    .bind(day(from))
    .bind(day(to))
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(c, p, n)| Ok((parse_day(&c)?, parse_day(&p)?, n)))
        .collect()
}

/// First-time contributors in `[from, to]`, and how many of them made a 2nd and
/// a 4th contribution within 90 days of their first (PRODUCT.md "Newcomer
/// conversion"): kept per day of first contribution (migration 0004).
pub async fn conversion(
    db: impl Executor<'_>,
    community: CommunityId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(i64, i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(newcomers), 0) AS BIGINT), CAST(COALESCE(SUM(second), 0) AS BIGINT),
                CAST(COALESCE(SUM(fourth), 0) AS BIGINT)
         FROM community_conversion WHERE community_id = $1 AND day BETWEEN $2 AND $3",
    )
    .bind(community)
    .bind(day(from))
    .bind(day(to))
    .fetch_one(db)
    .await?)
}

/// Activity events per UTC hour over `[from, to]` (PRODUCT.md "Activity by hour").
pub async fn by_hour(
    db: impl Executor<'_>,
    community: CommunityId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<[i64; 24]> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT hour, CAST(SUM(events) AS BIGINT) FROM community_hourly_activity
         WHERE community_id = $1 AND day BETWEEN $2 AND $3 GROUP BY hour",
    )
    .bind(community)
    .bind(day(from))
    .bind(day(to))
    .fetch_all(db)
    .await?;
    let mut out = [0i64; 24];
    for (hour, n) in rows {
        if let Some(slot) = out.get_mut(hour as usize) {
            *slot = n;
        }
    }
    Ok(out)
}

/// Contributions per contributing member over `[from, to]` as a histogram
/// (contributions, members), summed from the daily rows (for windows not kept).
pub async fn contribution_histogram(
    db: impl Executor<'_>,
    community: CommunityId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(u64, u64)>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT n, count(*) FROM (
            SELECT CAST(SUM(contributions) AS BIGINT) AS n FROM member_daily_activity
            WHERE community_id = $1 AND day BETWEEN $2 AND $3 GROUP BY member_id
         ) AS per_member WHERE n > 0 GROUP BY n",
    )
    .bind(community)
    .bind(day(from))
    .bind(day(to))
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(c, n)| (c.max(0) as u64, n.max(0) as u64))
        .collect())
}

/// Per day over `[from, to]`: (day, DAU, WAU, contributions), for charts.
pub async fn daily(
    db: impl Executor<'_>,
    community: CommunityId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(NaiveDate, i64, i64, i64)>> {
    let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT day, dau, wau, contributions FROM community_daily_activity
         WHERE community_id = $1 AND day BETWEEN $2 AND $3 ORDER BY day",
    )
    .bind(community)
    .bind(day(from))
    .bind(day(to))
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(d, dau, wau, c)| Ok((parse_day(&d)?, dau, wau, c)))
        .collect()
}

/// The milestones reached in `[from, to)`, oldest first (at most `limit`), read
/// in the order of the index on their time, so only the page shown is read.
pub async fn milestones_reached_list(
    db: impl Executor<'_>,
    community: CommunityId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Reached>> {
    Ok(sqlx::query_as(
        // The page first, then its members: joined before the limit, PostgreSQL
        // may read every member of a large community to name ten.
        "SELECT a.title, a.milestone_key, a.member_id, m.display_name AS member_name
         FROM (SELECT id, title, milestone_key, member_id, achieved_at FROM milestone_achievements
               WHERE community_id = $1 AND achieved_at >= $2 AND achieved_at < $3
               ORDER BY achieved_at, id LIMIT $4) AS a
         LEFT JOIN members m ON m.id = a.member_id
         ORDER BY a.achieved_at, a.id",
    )
    .bind(community)
    .bind(ts(from))
    .bind(ts(to))
    .bind(limit)
    .fetch_all(db)
    .await?)
}
