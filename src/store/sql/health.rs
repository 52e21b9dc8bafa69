//! The health report's queries (see `store::health`): the drop and overload
//! signals kept per community, and the counts and lists of members who need
//! attention.

use std::collections::{HashMap, HashSet};

use chrono::{Days, NaiveDate};
use futures_util::StreamExt;

use super::super::engine::built;
use super::{Conn, Executor, Pool, event_figures, pairing};
use crate::domain::metrics;
use crate::domain::{CommunityId, MemberId};
use crate::error::{Error, Result};
use crate::store::export::{CHUNK, Chunks, neutralise_formula};
use crate::store::health::{Attention, HEALTH_CSV_HEADER, HealthExport, Listed};
use crate::store::{day, numbered_values, parse_day, ts};

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

/// Active days per 7-day block ending `today`, oldest first, per member; members
/// who left are not flagged, so they are not in `rows`' result.
fn weeks_of(
    rows: &[(i64, String)],
    left: &HashSet<i64>,
    today: NaiveDate,
) -> Result<HashMap<i64, [u32; 15]>> {
    let first_day = today - Days::new(WEEKS * 7 - 1);
    let mut out: HashMap<i64, [u32; 15]> = HashMap::new();
    for (member, d) in rows {
        if left.contains(member) {
            continue;
        }
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
    conn: &mut Conn,
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
            numbered_values(1, chunk.len(), 3)
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
pub async fn signals_current(db: &Pool, community: CommunityId, today: NaiveDate) -> Result<bool> {
    let (as_of, dirty): (Option<String>, bool) = sqlx::query_as(
        "SELECT (SELECT as_of FROM community_signal_marks WHERE community_id = $1),
                EXISTS (SELECT 1 FROM member_signal_dirty WHERE community_id = $1)",
    )
    .bind(community)
    .fetch_one(db)
    .await?;
    Ok(as_of.as_deref() == Some(day(today).as_str()) && !dirty)
}

/// Brings the signals up to `today`: all members on a new day, else the members
/// whose active days changed.
pub async fn refresh_signals(
    conn: &mut Conn,
    community: CommunityId,
    today: NaiveDate,
) -> Result<()> {
    let as_of: Option<String> =
        sqlx::query_scalar("SELECT as_of FROM community_signal_marks WHERE community_id = $1")
            .bind(community)
            .fetch_optional(&mut *conn)
            .await?;
    let first_day = today - Days::new(WEEKS * 7 - 1);
    if as_of.as_deref() != Some(day(today).as_str()) {
        for sql in [
            "DELETE FROM member_signals WHERE community_id = $1",
            "DELETE FROM member_signal_dirty WHERE community_id = $1",
        ] {
            sqlx::query(sql).bind(community).execute(&mut *conn).await?;
        }
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT member_id, day FROM member_daily_activity
             WHERE community_id = $1 AND day BETWEEN $2 AND $3",
        )
        .bind(community)
        .bind(day(first_day))
        .bind(day(today))
        .fetch_all(&mut *conn)
        .await?;
        let left = left_members(&mut *conn, community).await?;
        write_flags(conn, community, &weeks_of(&rows, &left, today)?).await?;
        sqlx::query(
            "INSERT INTO community_signal_marks (community_id, as_of) VALUES ($1, $2)
             ON CONFLICT (community_id) DO UPDATE SET as_of = excluded.as_of",
        )
        .bind(community)
        .bind(day(today))
        .execute(&mut *conn)
        .await?;
        return Ok(());
    }
    let dirty: Vec<i64> = sqlx::query_scalar(
        "DELETE FROM member_signal_dirty WHERE community_id = $1 RETURNING member_id",
    )
    .bind(community)
    .fetch_all(&mut *conn)
    .await?;
    let left = if dirty.is_empty() {
        HashSet::new()
    } else {
        left_members(&mut *conn, community).await?
    };
    for chunk in dirty.chunks(500) {
        let mut q = sqlx::query(built(format!(
            "DELETE FROM member_signals WHERE community_id = $1 AND member_id IN {}",
            numbered_values(2, 1, chunk.len())
        )))
        .bind(community);
        for member in chunk {
            q = q.bind(member);
        }
        q.execute(&mut *conn).await?;
        let mut q = sqlx::query_as(built(format!(
            "SELECT member_id, day FROM member_daily_activity
             WHERE day BETWEEN $1 AND $2 AND member_id IN {}",
            numbered_values(3, 1, chunk.len())
        )))
        .bind(day(first_day))
        .bind(day(today));
        for member in chunk {
            q = q.bind(member);
        }
        let rows: Vec<(i64, String)> = q.fetch_all(&mut *conn).await?;
        write_flags(conn, community, &weeks_of(&rows, &left, today)?).await?;
    }
    Ok(())
}

/// The community's members who left (PRODUCT.md "Growth"), whom no health list
/// names: read from an index of just them (migration 0003).
async fn left_members(db: impl Executor<'_>, community: CommunityId) -> Result<HashSet<i64>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM members WHERE community_id = $1 AND left_at IS NOT NULL",
    )
    .bind(community)
    .fetch_all(db)
    .await?;
    Ok(ids.into_iter().collect())
}

/// A member's signals are to be computed again (they left, or came back): the
/// next read of `health` or the background job does it.
pub async fn signals_changed(
    conn: &mut Conn,
    community: CommunityId,
    member: MemberId,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO member_signal_dirty (community_id, member_id) VALUES ($1, $2)
         ON CONFLICT DO NOTHING",
    )
    .bind(community)
    .bind(member)
    .execute(conn)
    .await?;
    Ok(())
}

/// Communities whose signals are behind `today` or have members to compute again.
pub async fn signals_behind(db: impl Executor<'_>, today: NaiveDate) -> Result<Vec<CommunityId>> {
    Ok(sqlx::query_scalar(
        "SELECT c.id FROM communities c LEFT JOIN community_signal_marks s ON s.community_id = c.id
         WHERE s.as_of IS NULL OR s.as_of <> $1
            OR EXISTS (SELECT 1 FROM member_signal_dirty d WHERE d.community_id = c.id)",
    )
    .bind(day(today))
    .fetch_all(db)
    .await?)
}

// Each list's members in the order `health` shows them, with the days an
// organiser acts on: `$1` the community, `$2` the list's argument. A page adds
// `LIMIT $3 OFFSET $4`; `export health` reads them whole.
macro_rules! flagged_members {
    () => {
        "SELECT m.display_name, m.last_active_on, m.joined_at
         FROM member_signals s JOIN members m ON m.id = s.member_id
         WHERE s.community_id = $1 AND s.signal = $2 AND m.away_since IS NULL AND m.left_at IS NULL
         ORDER BY s.member_id"
    };
}
macro_rules! inactive_members {
    () => {
        "SELECT display_name, last_active_on, joined_at FROM members
         WHERE community_id = $1 AND last_active_on < $2 AND away_since IS NULL AND left_at IS NULL
         ORDER BY last_active_on DESC, id"
    };
}
macro_rules! newcomers_yet_to_contribute {
    () => {
        "SELECT display_name, last_active_on, joined_at FROM members
         WHERE community_id = $1 AND contribution_count = 0 AND joined_at >= $2 AND left_at IS NULL
         ORDER BY joined_at, id"
    };
}

/// A list's member as the export writes it: name, last active day, joining time.
pub(super) type ListedRow = (String, Option<String>, String);

/// One page of a list's names.
async fn names(
    db: &Pool,
    page_sql: &'static str,
    community: CommunityId,
    arg: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<String>> {
    if limit <= 0 {
        return Ok(Vec::new());
    }
    let rows: Vec<ListedRow> = sqlx::query_as(page_sql)
        .bind(community)
        .bind(arg)
        .bind(limit)
        .bind(offset)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(|(name, _, _)| name).collect())
}

/// Whether a member shows a signal.
pub async fn is_flagged(
    db: impl Executor<'_>,
    community: CommunityId,
    signal: &str,
    member: MemberId,
) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM member_signals WHERE community_id = $1 AND signal = $2 AND member_id = $3)",
    )
    .bind(community)
    .bind(signal)
    .bind(member)
    .fetch_one(db)
    .await?)
}

/// How many members show a signal, away members left out: kept per community
/// (migration 0004), so it is one row however many are flagged.
async fn flagged_count(db: impl Executor<'_>, community: CommunityId, signal: &str) -> Result<i64> {
    let n: Option<i64> = sqlx::query_scalar(
        "SELECT members FROM community_signal_counts WHERE community_id = $1 AND signal = $2",
    )
    .bind(community)
    .bind(signal)
    .fetch_optional(db)
    .await?;
    Ok(n.unwrap_or(0))
}

/// Members showing a signal ("drop" or "overload"), away members left out: a
/// page of names in member order (read in the signals' key order, so only
/// the page shown is read) and the kept count. Members who left have no signals
/// once recomputed (their leaving marks them to be); the names leave them out
/// until then too.
pub async fn flagged(
    db: &Pool,
    community: CommunityId,
    signal: &str,
    limit: i64,
    offset: i64,
) -> Result<Listed> {
    let page = concat!(flagged_members!(), " LIMIT $3 OFFSET $4");
    let names = names(db, page, community, signal, limit, offset).await?;
    let total = flagged_count(db, community, signal).await?;
    Ok(Listed { names, total })
}

/// Members whose last activity is more than `interval` days before `today`
/// (PRODUCT.md "Inactive"), away members left out: a page of the most recently
/// active from an index that holds just them (migration 0004), and the count
/// from the members kept per last active day.
pub async fn inactive(
    db: &Pool,
    community: CommunityId,
    today: NaiveDate,
    interval: u64,
    limit: i64,
    offset: i64,
) -> Result<Listed> {
    let before = day(today - Days::new(interval));
    let page = concat!(inactive_members!(), " LIMIT $3 OFFSET $4");
    let names = names(db, page, community, &before, limit, offset).await?;
    let (_, not_away) = last_active_before(db, community, &before).await?;
    Ok(Listed {
        names,
        total: not_away,
    })
}

/// Members who have not left whose last activity is before `before`, and how
/// many of them are not away: summed over the kept counts per last active day.
async fn last_active_before(
    db: impl Executor<'_>,
    community: CommunityId,
    before: &str,
) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(members), 0) AS BIGINT), CAST(COALESCE(SUM(members - away), 0) AS BIGINT)
         FROM community_last_active WHERE community_id = $1 AND day < $2",
    )
    .bind(community)
    .bind(before)
    .fetch_one(db)
    .await?)
}

/// How many members were inactive on `today` (PRODUCT.md "Inactive"), away or
/// not; members who left are not counted.
pub async fn inactive_count(
    db: impl Executor<'_>,
    community: CommunityId,
    today: NaiveDate,
    interval: u64,
) -> Result<i64> {
    let before = day(today - Days::new(interval));
    Ok(last_active_before(db, community, &before).await?.0)
}

/// The first day a newcomer may have joined on `today`: joined on a day d with
/// d + interval > today, so from the day after today − interval.
fn newcomers_from(today: NaiveDate, interval: u64) -> String {
    day(today - Days::new(interval) + Days::new(1))
}

/// Members who joined in the last `interval` days, have not contributed yet and
/// have not left: a page by an index of just them, the count from the
/// newcomers yet to contribute kept per joining day (migration 0004), less those
/// of them who left since (an index of just the members who left, migration 0003).
pub async fn newcomers(
    db: &Pool,
    community: CommunityId,
    today: NaiveDate,
    interval: u64,
    limit: i64,
    offset: i64,
) -> Result<Listed> {
    let from = newcomers_from(today, interval);
    let page = concat!(newcomers_yet_to_contribute!(), " LIMIT $3 OFFSET $4");
    let names = names(db, page, community, &from, limit, offset).await?;
    let total: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(silent), 0) AS BIGINT)
                - (SELECT count(*) FROM members WHERE community_id = $1 AND left_at IS NOT NULL
                   AND left_at >= $2 AND joined_at >= $2 AND contribution_count = 0)
         FROM community_daily_members WHERE community_id = $1 AND day >= $2",
    )
    .bind(community)
    .bind(&from)
    .fetch_one(db)
    .await?;
    Ok(Listed { names, total })
}

/// The member with most contributions in a kept window, if any, and whether
/// health lists leave them out (away, or left).
pub async fn top_of_window(
    db: impl Executor<'_>,
    community: CommunityId,
    window: u32,
) -> Result<Option<(MemberId, String, bool)>> {
    let row: Option<(i64, String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT m.id, m.display_name, m.away_since, m.left_at
         FROM member_window_totals t JOIN members m ON m.id = t.member_id
         WHERE t.community_id = $1 AND t.window_days = $2 AND t.contributions > 0
         ORDER BY t.contributions DESC, t.kudos_received DESC, t.member_id LIMIT 1",
    )
    .bind(community)
    .bind(i64::from(window))
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(id, name, away, left)| (MemberId(id), name, away.is_some() || left.is_some())))
}

/// How many members need attention, for the digest (PRODUCT.md: names stay in
/// `health`). Signals must be current; away members are left out.
pub async fn attention_counts(
    db: &Pool,
    community: CommunityId,
    today: NaiveDate,
    interval: u64,
) -> Result<Attention> {
    let dropping = flagged_count(db, community, "drop").await?;
    let overloaded = flagged_count(db, community, "overload").await?;
    let inactive = inactive(db, community, today, interval, 0, 0).await?.total;
    Ok(Attention {
        dropping,
        overloaded,
        inactive,
    })
}

/// Writes every name on the health lists as CSV into `out`, from one read
/// snapshot; returns how many rows it wrote.
pub async fn export(db: &Pool, lists: &HealthExport, out: &mut Chunks) -> Result<u64> {
    let mut snapshot = super::super::engine::snapshot(db).await?;
    let community = lists.community;
    let failed = |e: csv::Error| Error::internal("health export", e);
    let new_encoder = || csv::Writer::from_writer(Vec::with_capacity(CHUNK + 1024));
    let handed = |encoder: csv::Writer<Vec<u8>>| {
        encoder
            .into_inner()
            .map_err(|e| Error::internal("health export", e.into_error()))
    };
    let mut encoder = new_encoder();
    encoder.write_record(HEALTH_CSV_HEADER).map_err(failed)?;
    let before = day(lists.today - Days::new(lists.interval));
    let from = newcomers_from(lists.today, lists.interval);
    let carrying_half: Vec<ListedRow> = match lists.carrying_half {
        Some(member) => {
            sqlx::query_as(
                "SELECT display_name, last_active_on, joined_at FROM members WHERE id = $1",
            )
            .bind(member)
            .fetch_all(&mut *snapshot)
            .await?
        }
        None => Vec::new(),
    };
    let listed = |sql| sqlx::query_as::<_, ListedRow>(sql).bind(community);
    let mut queries = vec![
        ("drifting away", listed(flagged_members!()).bind("drop")),
        ("overloaded", listed(flagged_members!()).bind("overload")),
        ("inactive", listed(inactive_members!()).bind(before)),
        (
            "newcomer yet to contribute",
            listed(newcomers_yet_to_contribute!()).bind(from),
        ),
        (
            "said yes and came to none",
            listed(event_figures::YES_NEVER_ATTENDING)
                .bind(ts(lists.no_shows_since))
                .bind(ts(lists.now))
                .bind(ts(lists.now))
                .bind(metrics::YES_NEVER_ATTENDING_MIN),
        ),
    ];
    if let Some(since) = lists.newcomers_introduced_since {
        queries.push((
            "newcomer not introduced",
            listed(pairing::NEWCOMERS_NOT_INTRODUCED).bind(ts(since)),
        ));
    }
    let mut count = 0;
    for (list, query) in queries {
        let first = if list == "overloaded" {
            carrying_half.clone()
        } else {
            Vec::new()
        };
        let mut rows = futures_util::stream::iter(first.into_iter().map(Ok))
            .chain(query.fetch(&mut *snapshot).map(|r| r.map_err(Error::from)));
        while let Some(row) = rows.next().await {
            let (name, last_active, joined) = row?;
            encoder
                .write_record([
                    list,
                    &neutralise_formula(&name),
                    last_active.as_deref().unwrap_or_default(),
                    joined.get(..10).unwrap_or(&joined),
                ])
                .map_err(failed)?;
            count += 1;
            if encoder.get_ref().len() >= CHUNK {
                out.buf
                    .append(&mut handed(std::mem::replace(&mut encoder, new_encoder()))?);
                out.flush_full().await?;
            }
        }
    }
    out.buf.append(&mut handed(encoder)?);
    snapshot.commit().await?;
    Ok(count)
}
