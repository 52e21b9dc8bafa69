//! What the health report reads. The drop and overload signals need fifteen weeks
//! of every member's active days, so they are computed once a day per community
//! into `member_signals` (for the members who show them) and, during the day, again
//! for just the members whose active days changed (`member_signal_dirty`, marked by
//! the activity writer). A background job keeps both current; a read that finds
//! them behind brings them up to date first, so what is shown is always exact.
//! Everything else comes from indexed columns (migration 0003) and counts kept
//! per community (migration 0004): named lists read the page shown, totals a few
//! rows, however many members there are.

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use sqlx::{SqliteConnection, SqliteExecutor};

use super::{built, day, parse_day, values_placeholders};
use crate::domain::metrics;
use crate::domain::{CommunityId, MemberId};
use crate::error::Result;

/// Health signals and lists, as the application reads them.
impl super::Store {
    /// Whether the community's signals are exact for `today` as they stand.
    pub async fn health_signals_current(
        &self,
        community: CommunityId,
        today: NaiveDate,
    ) -> Result<bool> {
        signals_current(&self.sqlite().read, community, today).await
    }

    /// Brings the community's signals up to `today`, in one write transaction.
    pub async fn refresh_health_signals(
        &self,
        community: CommunityId,
        today: NaiveDate,
    ) -> Result<()> {
        self.sqlite()
            .write(async |conn| refresh_signals(conn, community, today).await)
            .await
    }

    /// Brings the kept `window`-day totals and the health signals up to `today`:
    /// whatever is behind is counted on a read snapshot, then brought up to date
    /// in one write transaction; none when both are current.
    pub async fn catch_up_health(
        &self,
        community: CommunityId,
        window: u32,
        today: NaiveDate,
    ) -> Result<()> {
        let window_behind =
            !super::windows::is_current(&self.sqlite().read, community, window, today).await?;
        let signals_behind = !signals_current(&self.sqlite().read, community, today).await?;
        if !window_behind && !signals_behind {
            return Ok(());
        }
        let counted = if window_behind {
            super::windows::count_since_marks(&self.sqlite().read, community).await?
        } else {
            None
        };
        self.sqlite()
            .write(async |conn| {
                if window_behind {
                    super::windows::catch_up_counted(conn, community, today, counted).await?;
                }
                if signals_behind {
                    refresh_signals(conn, community, today).await?;
                }
                Ok(())
            })
            .await
    }

    /// Members showing a signal ("drop" or "overload"), away members left out
    /// (see [`flagged`]).
    pub async fn members_flagged(
        &self,
        community: CommunityId,
        signal: &str,
        limit: i64,
    ) -> Result<Listed> {
        flagged(&self.sqlite().read, community, signal, limit).await
    }

    /// Members inactive for more than `interval` days on `today`, away members
    /// left out (see [`inactive`]).
    pub async fn inactive_members(
        &self,
        community: CommunityId,
        today: NaiveDate,
        interval: u64,
        limit: i64,
    ) -> Result<Listed> {
        inactive(&self.sqlite().read, community, today, interval, limit).await
    }

    /// How many members were inactive on `today`, away or not.
    pub async fn inactive_member_count(
        &self,
        community: CommunityId,
        today: NaiveDate,
        interval: u64,
    ) -> Result<i64> {
        inactive_count(&self.sqlite().read, community, today, interval).await
    }

    /// Members who joined in the last `interval` days and have not contributed yet.
    pub async fn newcomers_yet_to_contribute(
        &self,
        community: CommunityId,
        today: NaiveDate,
        interval: u64,
        limit: i64,
    ) -> Result<Listed> {
        newcomers(&self.sqlite().read, community, today, interval, limit).await
    }

    /// The member with most contributions in a kept window, if any: id, name and
    /// whether they are away.
    pub async fn top_of_window(
        &self,
        community: CommunityId,
        window: u32,
    ) -> Result<Option<(MemberId, String, bool)>> {
        top_of_window(&self.sqlite().read, community, window).await
    }

    /// How many members need attention; signals must be current.
    pub async fn attention_counts(
        &self,
        community: CommunityId,
        today: NaiveDate,
        interval: u64,
    ) -> Result<Attention> {
        attention_counts(&self.sqlite().read, community, today, interval).await
    }
}

/// Weeks of history the drop signal reads: 12 of baseline, then the last 3.
const WEEKS: u64 = 15;

/// Which signals a member's active days, as 7-day blocks ending today, show:
/// (drop, overloaded by active days).
fn signals(weeks: &[u32; 15]) -> (bool, bool) {
    // The last two 7-day blocks are exactly the last 14 days.
    let last_14 = weeks[13] + weeks[14];
    (
        metrics::drop_signal(weeks),
        metrics::overload_signal(last_14, false),
    )
}

/// Active days per 7-day block ending `today`, oldest first, per member.
fn weeks_of(rows: &[(i64, String)], today: NaiveDate) -> Result<HashMap<i64, [u32; 15]>> {
    let first_day = today - Days::new(WEEKS * 7 - 1);
    let mut out: HashMap<i64, [u32; 15]> = HashMap::new();
    for (member, d) in rows {
        let d = parse_day(d)?;
        if d < first_day || d > today {
            continue;
        }
        let week = ((d - first_day).num_days() / 7) as usize;
        out.entry(*member).or_insert([0; 15])[week.min(14)] += 1;
    }
    Ok(out)
}

async fn write_flags(
    conn: &mut SqliteConnection,
    community: CommunityId,
    weeks: &HashMap<i64, [u32; 15]>,
) -> Result<()> {
    let mut flagged: Vec<(&'static str, i64)> = Vec::new();
    for (member, w) in weeks {
        let (drop, overload) = signals(w);
        if drop {
            flagged.push(("drop", *member));
        }
        if overload {
            flagged.push(("overload", *member));
        }
    }
    for chunk in flagged.chunks(300) {
        let sql = format!(
            "INSERT INTO member_signals (community_id, signal, member_id) VALUES {} ON CONFLICT DO NOTHING",
            values_placeholders(chunk.len(), 3)
        );
        let mut q = sqlx::query(built(sql));
        for (signal, member) in chunk {
            q = q.bind(community).bind(*signal).bind(member);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Whether the community's signals are exact for `today` as they stand.
pub async fn signals_current(
    db: &sqlx::SqlitePool,
    community: CommunityId,
    today: NaiveDate,
) -> Result<bool> {
    let (as_of, dirty): (Option<String>, i64) = sqlx::query_as(
        "SELECT (SELECT as_of FROM community_signal_marks WHERE community_id = ?1),
                EXISTS (SELECT 1 FROM member_signal_dirty WHERE community_id = ?1)",
    )
    .bind(community)
    .fetch_one(db)
    .await?;
    Ok(as_of.as_deref() == Some(day(today).as_str()) && dirty == 0)
}

/// Brings the signals up to `today`: all members on a new day, else the members
/// whose active days changed.
pub async fn refresh_signals(
    conn: &mut SqliteConnection,
    community: CommunityId,
    today: NaiveDate,
) -> Result<()> {
    let as_of: Option<String> =
        sqlx::query_scalar("SELECT as_of FROM community_signal_marks WHERE community_id = ?")
            .bind(community)
            .fetch_optional(&mut *conn)
            .await?;
    let first_day = today - Days::new(WEEKS * 7 - 1);
    if as_of.as_deref() != Some(day(today).as_str()) {
        for sql in [
            "DELETE FROM member_signals WHERE community_id = ?",
            "DELETE FROM member_signal_dirty WHERE community_id = ?",
        ] {
            sqlx::query(sql).bind(community).execute(&mut *conn).await?;
        }
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT member_id, day FROM member_daily_activity
             WHERE community_id = ? AND day BETWEEN ? AND ?",
        )
        .bind(community)
        .bind(day(first_day))
        .bind(day(today))
        .fetch_all(&mut *conn)
        .await?;
        write_flags(conn, community, &weeks_of(&rows, today)?).await?;
        sqlx::query(
            "INSERT INTO community_signal_marks (community_id, as_of) VALUES (?, ?)
             ON CONFLICT (community_id) DO UPDATE SET as_of = excluded.as_of",
        )
        .bind(community)
        .bind(day(today))
        .execute(&mut *conn)
        .await?;
        return Ok(());
    }
    let dirty: Vec<i64> = sqlx::query_scalar(
        "DELETE FROM member_signal_dirty WHERE community_id = ? RETURNING member_id",
    )
    .bind(community)
    .fetch_all(&mut *conn)
    .await?;
    for chunk in dirty.chunks(500) {
        let ids = serde_json::to_string(chunk)?;
        sqlx::query(
            "DELETE FROM member_signals WHERE community_id = ?
             AND member_id IN (SELECT value FROM json_each(?))",
        )
        .bind(community)
        .bind(&ids)
        .execute(&mut *conn)
        .await?;
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT member_id, day FROM member_daily_activity
             WHERE member_id IN (SELECT value FROM json_each(?)) AND day BETWEEN ? AND ?",
        )
        .bind(&ids)
        .bind(day(first_day))
        .bind(day(today))
        .fetch_all(&mut *conn)
        .await?;
        write_flags(conn, community, &weeks_of(&rows, today)?).await?;
    }
    Ok(())
}

/// Communities whose signals are behind `today` or have members to compute again.
pub async fn signals_behind(
    db: impl SqliteExecutor<'_>,
    today: NaiveDate,
) -> Result<Vec<CommunityId>> {
    Ok(sqlx::query_scalar(
        "SELECT c.id FROM communities c LEFT JOIN community_signal_marks s ON s.community_id = c.id
         WHERE s.as_of IS NULL OR s.as_of <> ?
            OR EXISTS (SELECT 1 FROM member_signal_dirty d WHERE d.community_id = c.id)",
    )
    .bind(day(today))
    .fetch_all(db)
    .await?)
}

/// Up to `limit` names (oldest members first) and the full count of a list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listed {
    pub names: Vec<String>,
    pub total: i64,
}

async fn names(
    db: &sqlx::SqlitePool,
    names_sql: &'static str,
    community: CommunityId,
    arg: &str,
    limit: i64,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(names_sql)
        .bind(community)
        .bind(arg)
        .bind(limit)
        .fetch_all(db)
        .await?)
}

async fn listed(
    db: &sqlx::SqlitePool,
    names_sql: &'static str,
    count_sql: &'static str,
    community: CommunityId,
    arg: &str,
    limit: i64,
) -> Result<Listed> {
    let names = names(db, names_sql, community, arg, limit).await?;
    let total: i64 = sqlx::query_scalar(count_sql)
        .bind(community)
        .bind(arg)
        .fetch_one(db)
        .await?;
    Ok(Listed { names, total })
}

/// How many members show a signal, away members left out: kept per community
/// (migration 0004), so it is one row however many are flagged.
async fn flagged_count(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    signal: &str,
) -> Result<i64> {
    let n: Option<i64> = sqlx::query_scalar(
        "SELECT members FROM community_signal_counts WHERE community_id = ? AND signal = ?",
    )
    .bind(community)
    .bind(signal)
    .fetch_optional(db)
    .await?;
    Ok(n.unwrap_or(0))
}

/// Members showing a signal ("drop" or "overload"), away members left out: the
/// first `limit` names in member order (read in the signals' key order, so only
/// the page shown is read) and the kept count.
pub async fn flagged(
    db: &sqlx::SqlitePool,
    community: CommunityId,
    signal: &str,
    limit: i64,
) -> Result<Listed> {
    let names = names(
        db,
        "SELECT m.display_name FROM member_signals s JOIN members m ON m.id = s.member_id
         WHERE s.community_id = ?1 AND s.signal = ?2 AND m.away_since IS NULL ORDER BY s.member_id LIMIT ?3",
        community,
        signal,
        limit,
    )
    .await?;
    let total = flagged_count(db, community, signal).await?;
    Ok(Listed { names, total })
}

/// Members whose last activity is more than `interval` days before `today`
/// (PRODUCT.md "Inactive"), away members left out: the most recently active
/// `limit` from an index that holds just them (migration 0004), and the count
/// from the members kept per last active day.
pub async fn inactive(
    db: &sqlx::SqlitePool,
    community: CommunityId,
    today: NaiveDate,
    interval: u64,
    limit: i64,
) -> Result<Listed> {
    let before = day(today - Days::new(interval));
    let names = if limit > 0 {
        names(
            db,
            "SELECT display_name FROM members WHERE community_id = ?1 AND last_active_on < ?2
             AND away_since IS NULL AND left_at IS NULL ORDER BY last_active_on DESC, id LIMIT ?3",
            community,
            &before,
            limit,
        )
        .await?
    } else {
        Vec::new()
    };
    let (_, not_away) = last_active_before(db, community, &before).await?;
    Ok(Listed {
        names,
        total: not_away,
    })
}

/// Members who have not left whose last activity is before `before`, and how
/// many of them are not away: summed over the kept counts per last active day.
async fn last_active_before(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    before: &str,
) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT COALESCE(SUM(members), 0), COALESCE(SUM(members - away), 0) FROM community_last_active
         WHERE community_id = ? AND day < ?",
    )
    .bind(community)
    .bind(before)
    .fetch_one(db)
    .await?)
}

/// How many members were inactive on `today` (PRODUCT.md "Inactive"), away or
/// not; members who left are not counted.
pub async fn inactive_count(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    today: NaiveDate,
    interval: u64,
) -> Result<i64> {
    let before = day(today - Days::new(interval));
    Ok(last_active_before(db, community, &before).await?.0)
}

/// Members who joined in the last `interval` days and have not contributed yet:
/// the first `limit` by an index of just them, the count from the newcomers yet to
/// contribute kept per joining day (migration 0004).
pub async fn newcomers(
    db: &sqlx::SqlitePool,
    community: CommunityId,
    today: NaiveDate,
    interval: u64,
    limit: i64,
) -> Result<Listed> {
    // Joined on a day d with d + interval > today: from the day after today − interval.
    let from = day(today - Days::new(interval) + Days::new(1));
    listed(
        db,
        "SELECT display_name FROM members WHERE community_id = ?1 AND contribution_count = 0
         AND joined_at >= ?2 ORDER BY joined_at, id LIMIT ?3",
        "SELECT COALESCE(SUM(silent), 0) FROM community_daily_members WHERE community_id = ?1 AND day >= ?2",
        community,
        &from,
        limit,
    )
    .await
}

/// The member with most contributions in a kept window, if any.
pub async fn top_of_window(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    window: u32,
) -> Result<Option<(MemberId, String, bool)>> {
    let row: Option<(i64, String, Option<String>)> = sqlx::query_as(
        "SELECT m.id, m.display_name, m.away_since FROM member_window_totals t JOIN members m ON m.id = t.member_id
         WHERE t.community_id = ? AND t.window_days = ? AND t.contributions > 0
         ORDER BY t.contributions DESC, t.kudos_received DESC, t.member_id LIMIT 1",
    )
    .bind(community)
    .bind(window)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(id, name, away)| (MemberId(id), name, away.is_some())))
}

/// How many members need attention, for the digest (PRODUCT.md: names stay in
/// `health`). Signals must be current; away members are left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attention {
    pub dropping: i64,
    pub overloaded: i64,
    pub inactive: i64,
}

pub async fn attention_counts(
    db: &sqlx::SqlitePool,
    community: CommunityId,
    today: NaiveDate,
    interval: u64,
) -> Result<Attention> {
    let dropping = flagged_count(db, community, "drop").await?;
    let overloaded = flagged_count(db, community, "overload").await?;
    let inactive = inactive(db, community, today, interval, 0).await?.total;
    Ok(Attention {
        dropping,
        overloaded,
        inactive,
    })
}

impl super::Store {
    /// Communities whose signals are behind `today` or have members to compute again.
    pub async fn signals_behind(&self, today: NaiveDate) -> Result<Vec<CommunityId>> {
        signals_behind(&self.sqlite().read, today).await
    }

    /// Brings a community's signals up to `today`, in one write transaction.
    pub async fn refresh_signals(&self, community: CommunityId, today: NaiveDate) -> Result<()> {
        self.sqlite()
            .write(async |conn| refresh_signals(conn, community, today).await)
            .await
    }
}
