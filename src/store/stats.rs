//! Statistics read from the daily rollups and the population counts (migrations
//! 0003, 0004), so their cost follows the window asked, not the length of the
//! history or the number of members. Metric definitions: shared/docs/PRODUCT.md.

use chrono::NaiveDate;
use sqlx::SqliteExecutor;

use super::day;
use crate::domain::{CommunityId, MemberId};
use crate::error::Result;

/// Figures over communities and members, as the application reads them; all
/// on the read pool.
impl super::Store {
    /// DAU, WAU and MAU as of `on`.
    pub async fn active_members(
        &self,
        community: CommunityId,
        on: NaiveDate,
    ) -> Result<ActiveMembers> {
        active_members(&self.sqlite().read, community, on).await
    }

    /// Totals over `[from, to]`.
    pub async fn window_totals(
        &self,
        community: CommunityId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<WindowTotals> {
        window_totals(&self.sqlite().read, community, from, to).await
    }

    /// The members with most contributions in `[from, to]`, summed from the daily
    /// rows: (name, contributions, kudos received).
    pub async fn top_contributors(
        &self,
        community: CommunityId,
        from: NaiveDate,
        to: NaiveDate,
        limit: i64,
    ) -> Result<Vec<(String, i64, i64)>> {
        top_contributors(&self.sqlite().read, community, from, to, limit).await
    }

    /// The all-time top: (name, contributions, kudos received).
    pub async fn top_all_time(
        &self,
        community: CommunityId,
        limit: i64,
    ) -> Result<Vec<(String, i64, i64)>> {
        top_all_time(&self.sqlite().read, community, limit).await
    }

    /// Members whose contributions rose most from the 30 days before `from` to
    /// `[from, to]`: (name, now, before).
    pub async fn most_improved(
        &self,
        community: CommunityId,
        from: NaiveDate,
        to: NaiveDate,
        limit: i64,
    ) -> Result<Vec<(String, i64, i64)>> {
        most_improved(&self.sqlite().read, community, from, to, limit).await
    }

    /// Days on which a member contributed (as stored), newest first, at most `limit`.
    pub async fn contribution_days(&self, member: MemberId, limit: i64) -> Result<Vec<String>> {
        contribution_days(&self.sqlite().read, member, limit).await
    }

    /// A member's amounts by unit.
    pub async fn member_amounts(&self, member: MemberId) -> Result<Vec<(String, f64)>> {
        member_amounts(&self.sqlite().read, member).await
    }

    /// Days a member was active in `[from, to]`.
    pub async fn member_active_days(
        &self,
        member: MemberId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<i64> {
        member_active_days(&self.sqlite().read, member, from, to).await
    }

    /// Members who joined in `[from, to)`.
    pub async fn members_joined(
        &self,
        community: CommunityId,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<i64> {
        members_joined(&self.sqlite().read, community, from, to).await
    }

    /// Goals whose deadline passed by `today`, and how many of them were met by it.
    pub async fn goals_due(&self, community: CommunityId, today: NaiveDate) -> Result<(i64, i64)> {
        goals_due(&self.sqlite().read, community, today).await
    }

    /// Contributions per mission value since `from` (the day included).
    pub async fn value_counts(
        &self,
        community: CommunityId,
        from: NaiveDate,
    ) -> Result<Vec<(String, i64)>> {
        value_counts(&self.sqlite().read, community, from).await
    }

    /// How many milestones were reached in `[from, to)`.
    pub async fn milestones_reached(
        &self,
        community: CommunityId,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<i64> {
        milestones_reached(&self.sqlite().read, community, from, to).await
    }

    /// The milestones reached in `[from, to)`, oldest first, at most `limit`.
    pub async fn milestones_reached_list(
        &self,
        community: CommunityId,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> Result<Vec<Reached>> {
        milestones_reached_list(&self.sqlite().read, community, from, to, limit).await
    }

    /// Growth over `[from, to]`: joins, leaves, and members at either end.
    pub async fn growth(
        &self,
        community: CommunityId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<GrowthCounts> {
        growth(&self.sqlite().read, community, from, to).await
    }

    /// Cohort counts of one kind whose cohort starts in `[from, to]`: (cohort,
    /// period, members of the cohort active in the period).
    pub async fn cohort_counts(
        &self,
        community: CommunityId,
        kind: crate::domain::cohorts::PeriodKind,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, NaiveDate, i64)>> {
        cohort_counts(&self.sqlite().read, community, kind, from, to).await
    }

    /// First-time contributors in `[from, to]`, and how many of them made a 2nd
    /// and a 4th contribution within 90 days of their first.
    pub async fn conversion(
        &self,
        community: CommunityId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<(i64, i64, i64)> {
        conversion(&self.sqlite().read, community, from, to).await
    }

    /// Activity events per UTC hour over `[from, to]`.
    pub async fn activity_by_hour(
        &self,
        community: CommunityId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<[i64; 24]> {
        by_hour(&self.sqlite().read, community, from, to).await
    }

    /// Contributions per contributing member over `[from, to]` as a histogram of
    /// (contributions, members), summed from the daily rows.
    pub async fn contribution_histogram(
        &self,
        community: CommunityId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(u64, u64)>> {
        contribution_histogram(&self.sqlite().read, community, from, to).await
    }

    /// Per day over `[from, to]`: (day, DAU, WAU, contributions).
    pub async fn daily_activity(
        &self,
        community: CommunityId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, i64, i64, i64)>> {
        daily(&self.sqlite().read, community, from, to).await
    }
}

/// Active-member counts as of one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveMembers {
    /// Distinct members with activity on the day (PRODUCT.md: DAU, rolling 1 day).
    pub dau: i64,
    /// Distinct members with activity in the 7 days ending on the day (WAU).
    pub wau: i64,
    /// Distinct members with activity in the 28 days ending on the day (MAU).
    pub mau: i64,
}

/// DAU, WAU and MAU as of `on` (PRODUCT.md "DAU / WAU / MAU"), from the
/// community's daily rollup: one row, however long the history.
pub async fn active_members(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    on: NaiveDate,
) -> Result<ActiveMembers> {
    let row: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT dau, wau, mau FROM community_daily_activity WHERE community_id = ? AND day = ?",
    )
    .bind(community)
    .bind(day(on))
    .fetch_optional(db)
    .await?;
    let (dau, wau, mau) = row.unwrap_or_default();
    Ok(ActiveMembers { dau, wau, mau })
}

/// Totals over a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowTotals {
    /// Sum over the window's days of that day's active members; ÷ days = mean DAU.
    pub member_days: i64,
    pub contributions: i64,
    pub kudos: i64,
    /// Contributions linked to a goal or a value.
    pub aligned: i64,
}

/// Totals over `[from, to]`: a row per day.
pub async fn window_totals(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<WindowTotals> {
    let (member_days, contributions, kudos, aligned): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(dau), 0), COALESCE(SUM(contributions), 0), COALESCE(SUM(kudos), 0),
                COALESCE(SUM(aligned), 0)
         FROM community_daily_activity WHERE community_id = ? AND day BETWEEN ? AND ?",
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
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    from: NaiveDate,
    to: NaiveDate,
    limit: i64,
) -> Result<Vec<(String, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT m.display_name, t.contributions, t.kudos FROM (
            SELECT member_id, SUM(contributions) AS contributions, SUM(kudos_received) AS kudos
            FROM member_daily_activity WHERE community_id = ? AND day BETWEEN ? AND ?
            GROUP BY member_id HAVING SUM(contributions) > 0
            ORDER BY contributions DESC, kudos DESC, member_id LIMIT ?
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
    db: impl SqliteExecutor<'_>,
    member: MemberId,
    limit: i64,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT day FROM member_daily_activity WHERE member_id = ? AND contributions > 0 ORDER BY day DESC LIMIT ?",
    )
    .bind(member)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// A member's amounts by unit: [("trees", 120.0), ("hours", 6.5)], kept per
/// member and unit by the contribution writer (migration 0004).
pub async fn member_amounts(
    db: impl SqliteExecutor<'_>,
    member: MemberId,
) -> Result<Vec<(String, f64)>> {
    Ok(sqlx::query_as(
        "SELECT unit, amount FROM member_unit_amounts WHERE member_id = ? ORDER BY amount DESC, unit",
    )
    .bind(member)
    .fetch_all(db)
    .await?)
}

/// Days a member was active in `[from, to]`.
pub async fn member_active_days(
    db: impl SqliteExecutor<'_>,
    member: MemberId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM member_daily_activity WHERE member_id = ? AND day BETWEEN ? AND ?",
    )
    .bind(member)
    .bind(day(from))
    .bind(day(to))
    .fetch_one(db)
    .await?)
}

/// The current run of consecutive contribution days ending today or yesterday
/// (a streak is not broken before the day is over).
pub fn streak(days_desc: &[NaiveDate], today: NaiveDate) -> u32 {
    let mut expected = match days_desc.first() {
        Some(&d) if d == today => today,
        Some(&d) if Some(d) == today.pred_opt() => d,
        _ => return 0,
    };
    let mut run = 0;
    for &d in days_desc {
        if d != expected {
            break;
        }
        run += 1;
        expected = match d.pred_opt() {
            Some(p) => p,
            None => break,
        };
    }
    run
}

/// Members who joined in `[from, to)` (times as stored text): whole UTC days from
/// the joins kept per day (migration 0004), and the part days at either end from
/// the members who joined on those days (an index range of a day's joiners).
pub async fn members_joined(
    db: &sqlx::SqlitePool,
    community: CommunityId,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
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
    let by_rows = |a: chrono::DateTime<chrono::Utc>, b: chrono::DateTime<chrono::Utc>| {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM members WHERE community_id = ? AND joined_at >= ? AND joined_at < ?",
        )
        .bind(community)
        .bind(super::ts(a))
        .bind(super::ts(b))
        .fetch_one(db)
    };
    if first >= last {
        return Ok(by_rows(from, to).await?);
    }
    let whole: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(joins), 0) FROM community_daily_members
         WHERE community_id = ? AND day >= ? AND day < ?",
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
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    today: NaiveDate,
) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT count(*), COALESCE(SUM(met_at IS NOT NULL AND substr(met_at, 1, 10) <= deadline), 0)
         FROM goals WHERE community_id = ? AND deadline IS NOT NULL AND deadline < ?",
    )
    .bind(community)
    .bind(day(today))
    .fetch_one(db)
    .await?)
}

/// The all-time top: (name, contributions, kudos received).
pub async fn top_all_time(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    limit: i64,
) -> Result<Vec<(String, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT m.display_name, m.contribution_count, (SELECT count(*) FROM kudos k WHERE k.to_member_id = m.id)
         FROM members m WHERE m.community_id = ? AND m.contribution_count > 0
         ORDER BY m.contribution_count DESC, m.id LIMIT ?",
    )
    .bind(community)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Members whose contributions rose most from the 30 days before `from` to the
/// 30 days from `from` to `to`: (name, now, before).
pub async fn most_improved(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    from: NaiveDate,
    to: NaiveDate,
    limit: i64,
) -> Result<Vec<(String, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT m.display_name, t.now, t.before FROM (
            SELECT member_id,
                   SUM(CASE WHEN day >= ?2 THEN contributions ELSE 0 END) AS now,
                   SUM(CASE WHEN day < ?2 THEN contributions ELSE 0 END) AS before
            FROM member_daily_activity WHERE community_id = ?1 AND day BETWEEN ?3 AND ?4
            GROUP BY member_id HAVING now > before
         ) t JOIN members m ON m.id = t.member_id
         ORDER BY t.now - t.before DESC, t.now DESC, m.id LIMIT ?5",
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
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    from: NaiveDate,
) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT value_name, count(*) FROM contributions
         WHERE community_id = ? AND happened_on >= ? AND value_name IS NOT NULL GROUP BY value_name",
    )
    .bind(community)
    .bind(day(from))
    .fetch_all(db)
    .await?)
}

/// Milestones reached in `[from, to)`: kept per distinct moment (migration 0004).
pub async fn milestones_reached(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(SUM(reached), 0) FROM community_milestone_moments
         WHERE community_id = ? AND achieved_at >= ? AND achieved_at < ?",
    )
    .bind(community)
    .bind(super::ts(from))
    .bind(super::ts(to))
    .fetch_one(db)
    .await?)
}

/// Growth over `[from, to]` (PRODUCT.md "Growth"): joins, leaves, and members at
/// the start and at the end. Members who used `forget-me` are gone from every count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrowthCounts {
    pub joins: i64,
    pub leaves: i64,
    pub at_start: i64,
    pub at_end: i64,
}

/// Read from the joins and leaves kept per day (migration 0004): a row per day
/// of the community's life, not per member.
pub async fn growth(
    db: &sqlx::SqlitePool,
    community: CommunityId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<GrowthCounts> {
    let end = day(to + chrono::Days::new(1));
    let (joins, leaves, joined_by_end, left_by_end): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN day >= ?2 THEN joins END), 0),
                COALESCE(SUM(CASE WHEN day >= ?2 THEN leaves END), 0),
                COALESCE(SUM(joins), 0), COALESCE(SUM(leaves), 0)
         FROM community_daily_members WHERE community_id = ?1 AND day < ?3",
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
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    kind: crate::domain::cohorts::PeriodKind,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(NaiveDate, NaiveDate, i64)>> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT cohort, period, members FROM cohort_activity
         WHERE community_id = ? AND period_kind = ? AND cohort BETWEEN ? AND ?",
    )
    .bind(community)
    .bind(kind.as_str())
    .bind(day(from))
    .bind(day(to))
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(c, p, n)| Ok((super::parse_day(&c)?, super::parse_day(&p)?, n)))
        .collect()
}

/// First-time contributors in `[from, to]`, and how many of them made a 2nd and
/// a 4th contribution within 90 days of their first (PRODUCT.md "Newcomer
/// conversion"): kept per day of first contribution (migration 0004).
pub async fn conversion(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(i64, i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT COALESCE(SUM(newcomers), 0), COALESCE(SUM(second), 0), COALESCE(SUM(fourth), 0)
         FROM community_conversion WHERE community_id = ? AND day BETWEEN ? AND ?",
    )
    .bind(community)
    .bind(day(from))
    .bind(day(to))
    .fetch_one(db)
    .await?)
}

/// Activity events per UTC hour over `[from, to]` (PRODUCT.md "Activity by hour").
pub async fn by_hour(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<[i64; 24]> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT hour, SUM(events) FROM community_hourly_activity
         WHERE community_id = ? AND day BETWEEN ? AND ? GROUP BY hour",
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
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(u64, u64)>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT n, count(*) FROM (
            SELECT SUM(contributions) AS n FROM member_daily_activity
            WHERE community_id = ? AND day BETWEEN ? AND ? GROUP BY member_id
         ) WHERE n > 0 GROUP BY n",
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
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(NaiveDate, i64, i64, i64)>> {
    let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT day, dau, wau, contributions FROM community_daily_activity
         WHERE community_id = ? AND day BETWEEN ? AND ? ORDER BY day",
    )
    .bind(community)
    .bind(day(from))
    .bind(day(to))
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(d, dau, wau, c)| Ok((super::parse_day(&d)?, dau, wau, c)))
        .collect()
}

/// Titles of milestones reached in `[from, to)`, oldest first (at most `limit`),
/// read in the order of the index on their time, so only the page shown is read.
/// A milestone reached, as the digest lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Reached {
    pub title: String,
    pub milestone_key: String,
    /// The member whose own milestone it is, with their name now.
    pub member_id: Option<MemberId>,
    pub member_name: Option<String>,
}

/// The milestones reached in `[from, to)`, oldest first.
pub async fn milestones_reached_list(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> Result<Vec<Reached>> {
    Ok(sqlx::query_as(
        "SELECT a.title, a.milestone_key, a.member_id, m.display_name AS member_name
         FROM milestone_achievements a LEFT JOIN members m ON m.id = a.member_id
         WHERE a.community_id = ? AND a.achieved_at >= ? AND a.achieved_at < ?
         ORDER BY a.achieved_at, a.id LIMIT ?",
    )
    .bind(community)
    .bind(super::ts(from))
    .bind(super::ts(to))
    .bind(limit)
    .fetch_all(db)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaks() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let today = d("2026-11-26");
        assert_eq!(streak(&[], today), 0);
        assert_eq!(
            streak(&[d("2026-11-26"), d("2026-11-25"), d("2026-11-23")], today),
            2
        );
        assert_eq!(streak(&[d("2026-11-25"), d("2026-11-24")], today), 2);
        assert_eq!(streak(&[d("2026-11-24")], today), 0);
    }
}
