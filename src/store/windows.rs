//! Members' totals over the standard rolling windows (`member_window_totals`), so
//! the top contributors of the last 7, 28, 30 or 90 days are read from an index
//! instead of summed over every active day. Kept current by activity::record and
//! rolled forward a day at a time.

use chrono::{Days, NaiveDate};
use sqlx::{SqliteConnection, SqliteExecutor};

use super::{built, day, parse_day, values_placeholders};
use crate::domain::{CommunityId, MemberId};
use crate::error::Result;

/// The windows kept, in days.
pub const WINDOWS: [u32; 4] = [7, 28, 30, 90];

/// A change to a member's counts on a day: (member, day, contributions, kudos received).
pub type Entry = (MemberId, NaiveDate, i64, i64);

async fn as_of(
    conn: &mut SqliteConnection,
    community: CommunityId,
    window: u32,
) -> Result<Option<NaiveDate>> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT as_of FROM community_windows WHERE community_id = ? AND window_days = ?",
    )
    .bind(community)
    .bind(window)
    .fetch_optional(&mut *conn)
    .await?;
    found.as_deref().map(parse_day).transpose()
}

/// Applies changes already written to member_daily_activity: one read and one
/// multi-row upsert for all windows, since this runs in every write batch.
pub async fn record(
    conn: &mut SqliteConnection,
    community: CommunityId,
    entries: &[Entry],
) -> Result<()> {
    let Some(latest) = entries.iter().map(|e| e.1).max() else {
        return Ok(());
    };
    let kept: Vec<(u32, String)> =
        sqlx::query_as("SELECT window_days, as_of FROM community_windows WHERE community_id = ?")
            .bind(community)
            .fetch_all(&mut *conn)
            .await?;
    let mut current = Vec::new();
    for window in WINDOWS {
        match kept.iter().find(|(w, _)| *w == window) {
            Some((_, on)) => current.push((window, parse_day(on)?)),
            None => rebuild(conn, community, window, latest).await?,
        }
    }
    let inside: Vec<(u32, &Entry)> = current
        .iter()
        .flat_map(|&(window, on)| {
            let first = on - Days::new(u64::from(window) - 1);
            entries
                .iter()
                .filter(move |e| e.1 >= first && e.1 <= on)
                .map(move |e| (window, e))
        })
        .collect();
    for chunk in inside.chunks(500) {
        let sql = format!(
            "INSERT INTO member_window_totals (community_id, window_days, member_id, contributions, kudos_received)
             VALUES {} ON CONFLICT (community_id, window_days, member_id) DO UPDATE SET
                contributions = max(0, contributions + excluded.contributions),
                kudos_received = max(0, kudos_received + excluded.kudos_received)",
            values_placeholders(chunk.len(), 5)
        );
        let mut q = sqlx::query(built(sql));
        for (window, (member, _, contributions, kudos)) in chunk {
            q = q
                .bind(community)
                .bind(window)
                .bind(member)
                .bind(contributions)
                .bind(kudos);
        }
        q.execute(&mut *conn).await?;
    }
    for (window, on) in current {
        if latest > on {
            roll(conn, community, window, on, latest).await?;
        }
    }
    Ok(())
}

/// Moves a window from `from` to `to`: days leaving are taken out, days entering
/// put in, both read from member_daily_activity.
async fn roll(
    conn: &mut SqliteConnection,
    community: CommunityId,
    window: u32,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<()> {
    let width = u64::from(window);
    if (to - from).num_days() >= i64::from(window) {
        return rebuild(conn, community, window, to).await;
    }
    let change = "INSERT INTO member_window_totals (community_id, window_days, member_id, contributions, kudos_received)
         SELECT community_id, ?2, member_id, ?5 * SUM(contributions), ?5 * SUM(kudos_received)
         FROM member_daily_activity WHERE community_id = ?1 AND day > ?3 AND day <= ?4 GROUP BY member_id
         ON CONFLICT (community_id, window_days, member_id) DO UPDATE SET
            contributions = contributions + excluded.contributions,
            kudos_received = kudos_received + excluded.kudos_received";
    for (after, upto, sign) in [
        (from - Days::new(width), to - Days::new(width), -1i64),
        (from, to, 1),
    ] {
        sqlx::query(change)
            .bind(community)
            .bind(window)
            .bind(day(after))
            .bind(day(upto))
            .bind(sign)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(
        "DELETE FROM member_window_totals WHERE community_id = ? AND window_days = ? AND contributions <= 0 AND kudos_received <= 0",
    )
    .bind(community)
    .bind(window)
    .execute(&mut *conn)
    .await?;
    set_as_of(conn, community, window, to).await
}

async fn set_as_of(
    conn: &mut SqliteConnection,
    community: CommunityId,
    window: u32,
    on: NaiveDate,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO community_windows (community_id, window_days, as_of) VALUES (?, ?, ?)
         ON CONFLICT (community_id, window_days) DO UPDATE SET as_of = excluded.as_of",
    )
    .bind(community)
    .bind(window)
    .bind(day(on))
    .execute(conn)
    .await?;
    Ok(())
}

/// Recomputes one window ending on `on` from the daily rows.
async fn rebuild(
    conn: &mut SqliteConnection,
    community: CommunityId,
    window: u32,
    on: NaiveDate,
) -> Result<()> {
    sqlx::query("DELETE FROM member_window_totals WHERE community_id = ? AND window_days = ?")
        .bind(community)
        .bind(window)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO member_window_totals (community_id, window_days, member_id, contributions, kudos_received)
         SELECT community_id, ?2, member_id, SUM(contributions), SUM(kudos_received)
         FROM member_daily_activity WHERE community_id = ?1 AND day > ?3 AND day <= ?4
         GROUP BY member_id HAVING SUM(contributions) > 0 OR SUM(kudos_received) > 0",
    )
    .bind(community)
    .bind(window)
    .bind(day(on - Days::new(u64::from(window))))
    .bind(day(on))
    .execute(&mut *conn)
    .await?;
    set_as_of(conn, community, window, on).await
}

/// Recomputes the windows a community has (after workspaces are merged).
pub async fn rebuild_all(conn: &mut SqliteConnection, community: CommunityId) -> Result<()> {
    for window in WINDOWS {
        if let Some(on) = as_of(conn, community, window).await? {
            rebuild(conn, community, window, on).await?;
        }
    }
    Ok(())
}

/// Whether a window ending on `today` can be read from the totals as they are.
pub async fn is_current(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    window: u32,
    today: NaiveDate,
) -> Result<bool> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT as_of FROM community_windows WHERE community_id = ? AND window_days = ?",
    )
    .bind(community)
    .bind(window)
    .fetch_optional(db)
    .await?;
    Ok(found.as_deref().map(parse_day).transpose()? == Some(today))
}

/// Brings a window up to `today` (a day without activity still moves it on).
pub async fn bring_up_to(
    conn: &mut SqliteConnection,
    community: CommunityId,
    window: u32,
    today: NaiveDate,
) -> Result<()> {
    match as_of(conn, community, window).await? {
        Some(current) if current >= today => Ok(()),
        Some(current) => roll(conn, community, window, current, today).await,
        None => rebuild(conn, community, window, today).await,
    }
}

/// The top members of a current window: (name, contributions, kudos received).
pub async fn top(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    window: u32,
    limit: i64,
) -> Result<Vec<(String, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT m.display_name, t.contributions, t.kudos_received FROM member_window_totals t
         JOIN members m ON m.id = t.member_id
         WHERE t.community_id = ? AND t.window_days = ? AND t.contributions > 0
         ORDER BY t.contributions DESC, t.kudos_received DESC, t.member_id LIMIT ?",
    )
    .bind(community)
    .bind(window)
    .bind(limit)
    .fetch_all(db)
    .await?)
}
