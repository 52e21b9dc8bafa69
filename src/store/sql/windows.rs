//! The rolling windows' queries (see `store::windows`): members' totals per kept
//! window, the members per total, and the marks of what they have counted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Days, NaiveDate};

use super::super::engine::built;
use super::{Conn, Executor, Pool};
use crate::domain::{CommunityId, MemberId};
use crate::error::{Error, Result};
use crate::store::windows::{Counted, Entry, Marks, WINDOWS};
use crate::store::{day, numbered_values, parse_day};

/// A window's length as stored.
fn window_days(stored: i64) -> Result<u32> {
    u32::try_from(stored).map_err(|e| Error::internal("stored window", e))
}

async fn as_of(conn: &mut Conn, community: CommunityId, window: u32) -> Result<Option<NaiveDate>> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT as_of FROM community_windows WHERE community_id = $1 AND window_days = $2",
    )
    .bind(community)
    .bind(i64::from(window))
    .fetch_optional(&mut *conn)
    .await?;
    found.as_deref().map(parse_day).transpose()
}

/// Applies counted changes (already in member_daily_activity) to every window.
async fn record(conn: &mut Conn, community: CommunityId, entries: &[Entry]) -> Result<()> {
    let Some(latest) = entries.iter().map(|e| e.1).max() else {
        return Ok(());
    };
    let kept = kept(conn, community).await?;
    let mut current = Vec::new();
    for window in WINDOWS {
        match kept.iter().find(|(w, _)| *w == window) {
            Some(&(_, on)) => current.push((window, on)),
            None => rebuild(conn, community, window, latest).await?,
        }
    }
    apply_deltas(conn, community, &inside(&current, entries)).await?;
    for (window, on) in current {
        if latest > on {
            roll(conn, community, window, on, latest).await?;
        }
    }
    Ok(())
}

/// The windows kept for a community, with the day each ends on.
async fn kept(conn: &mut Conn, community: CommunityId) -> Result<Vec<(u32, NaiveDate)>> {
    let kept: Vec<(i64, String)> =
        sqlx::query_as("SELECT window_days, as_of FROM community_windows WHERE community_id = $1")
            .bind(community)
            .fetch_all(&mut *conn)
            .await?;
    kept.into_iter()
        .map(|(window, on)| Ok((window_days(window)?, parse_day(&on)?)))
        .collect()
}

/// A change to one member's totals in one window: (window, member, contributions,
/// kudos received).
type Delta = (u32, MemberId, i64, i64);

/// The entries that fall inside each window, as changes to its totals.
fn inside(windows: &[(u32, NaiveDate)], entries: &[Entry]) -> Vec<Delta> {
    windows
        .iter()
        .flat_map(|&(window, on)| {
            let first = on - Days::new(u64::from(window) - 1);
            entries
                .iter()
                .filter(move |e| e.1 >= first && e.1 <= on)
                .map(move |&(member, _, contributions, kudos)| {
                    (window, member, contributions, kudos)
                })
        })
        .collect()
}

/// The changes in rounds that each change a member's totals in a window at most
/// once, in the order given: one statement may change a row only once (PostgreSQL
/// refuses more), and each change is floored at zero as it lands, so their order
/// matters.
fn rounds(deltas: &[Delta]) -> Vec<Vec<Delta>> {
    let mut seen: HashMap<(u32, MemberId), usize> = HashMap::new();
    let mut rounds: Vec<Vec<Delta>> = Vec::new();
    for delta in deltas {
        let round = seen.entry((delta.0, delta.1)).or_default();
        if rounds.len() <= *round {
            rounds.push(Vec::new());
        }
        rounds[*round].push(*delta);
        *round += 1;
    }
    rounds
}

/// Adds changes to members' totals (never below zero), keeping the histogram.
async fn apply_deltas(conn: &mut Conn, community: CommunityId, deltas: &[Delta]) -> Result<()> {
    if deltas.is_empty() {
        return Ok(());
    }
    let mut histogram = Histogram::read(conn, community, deltas).await?;
    for round in rounds(deltas) {
        for chunk in round.chunks(500) {
            let sql = format!(
                "INSERT INTO member_window_totals (community_id, window_days, member_id, contributions, kudos_received)
                 VALUES {} ON CONFLICT (community_id, window_days, member_id) DO UPDATE SET
                    contributions = CASE WHEN member_window_totals.contributions + excluded.contributions > 0
                        THEN member_window_totals.contributions + excluded.contributions ELSE 0 END,
                    kudos_received = CASE WHEN member_window_totals.kudos_received + excluded.kudos_received > 0
                        THEN member_window_totals.kudos_received + excluded.kudos_received ELSE 0 END",
                numbered_values(1, chunk.len(), 5)
            );
            let mut q = sqlx::query(built(sql));
            for (window, member, contributions, kudos) in chunk {
                histogram.apply(*window, *member, *contributions);
                q = q
                    .bind(community)
                    .bind(i64::from(*window))
                    .bind(member)
                    .bind(contributions)
                    .bind(kudos);
            }
            q.execute(&mut *conn).await?;
        }
    }
    histogram.write(conn, community).await
}

/// Takes rows that were counted out of the totals (erased rows: `entries` are
/// negative), for the windows kept, and drops totals left with nothing. Costs what
/// the entries cost: no window is rebuilt or rolled.
pub async fn take_out(conn: &mut Conn, community: CommunityId, entries: &[Entry]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let kept = kept(conn, community).await?;
    let deltas = inside(&kept, entries);
    apply_deltas(conn, community, &deltas).await?;
    let members: BTreeSet<MemberId> = deltas.iter().map(|d| d.1).collect();
    drop_empty(conn, community, &members).await
}

/// Folds member `from`'s totals into `into`'s (the two were merged), less
/// `removed`: counted rows between them that the merge erased (kudos to oneself).
pub async fn merge_members(
    conn: &mut Conn,
    community: CommunityId,
    from: MemberId,
    into: MemberId,
    removed: &[Entry],
) -> Result<()> {
    let moved: Vec<(i64, i64, i64)> = sqlx::query_as(
        "DELETE FROM member_window_totals WHERE community_id = $1 AND member_id = $2
         RETURNING window_days, contributions, kudos_received",
    )
    .bind(community)
    .bind(from)
    .fetch_all(&mut *conn)
    .await?;
    let kept = kept(conn, community).await?;
    let removed: Vec<Entry> = removed
        .iter()
        .map(|&(member, on, c, k)| (if member == from { into } else { member }, on, c, k))
        .collect();
    let mut deltas: Vec<Delta> = moved
        .into_iter()
        .map(|(window, c, k)| Ok((window_days(window)?, into, c, k)))
        .collect::<Result<_>>()?;
    deltas.extend(inside(&kept, &removed));
    apply_deltas(conn, community, &deltas).await?;
    drop_empty(conn, community, &BTreeSet::from([into])).await?;
    note_rebuild(conn, community).await
}

/// The most members one statement names (each a parameter).
const MEMBERS_PER_STATEMENT: usize = 10_000;

/// Deletes these members' totals that count nothing (a rebuild would not make them).
async fn drop_empty(
    conn: &mut Conn,
    community: CommunityId,
    members: &BTreeSet<MemberId>,
) -> Result<()> {
    let members: Vec<MemberId> = members.iter().copied().collect();
    for chunk in members.chunks(MEMBERS_PER_STATEMENT) {
        let sql = format!(
            "DELETE FROM member_window_totals WHERE +community_id = $1 AND member_id IN {}
               AND contributions <= 0 AND kudos_received <= 0",
            numbered_values(2, 1, chunk.len())
        );
        let mut q = sqlx::query(built(sql)).bind(community);
        for member in chunk {
            q = q.bind(member);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Tells a catch-up counted on a read snapshot before this transaction to count
/// again (see [`catch_up_counted`]): rows it counted may be gone, or belong to a
/// member who is.
pub async fn note_rebuild(conn: &mut Conn, community: CommunityId) -> Result<()> {
    sqlx::query(
        "UPDATE community_window_marks SET rebuilds = rebuilds + 1 WHERE community_id = $1",
    )
    .bind(community)
    .execute(conn)
    .await?;
    Ok(())
}

/// How far the totals have counted: rows with ids up to these (contributions,
/// kudos) are in them, those after are not yet. None before the first count.
pub async fn counted_up_to(conn: &mut Conn, community: CommunityId) -> Result<Option<(i64, i64)>> {
    Ok(marks(conn, community).await?.map(|m| m.counted))
}

/// Moves a window from `from` to `to`: days leaving are taken out, days entering
/// put in, both read from member_daily_activity.
async fn roll(
    conn: &mut Conn,
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
         SELECT $1, $2, member_id, $5 * CAST(SUM(contributions) AS BIGINT), $5 * CAST(SUM(kudos_received) AS BIGINT)
         FROM member_daily_activity WHERE community_id = $1 AND day > $3 AND day <= $4 GROUP BY member_id
         ON CONFLICT (community_id, window_days, member_id) DO UPDATE SET
            contributions = member_window_totals.contributions + excluded.contributions,
            kudos_received = member_window_totals.kudos_received + excluded.kudos_received";
    for (after, upto, sign) in [
        (from - Days::new(width), to - Days::new(width), -1i64),
        (from, to, 1),
    ] {
        sqlx::query(change)
            .bind(community)
            .bind(i64::from(window))
            .bind(day(after))
            .bind(day(upto))
            .bind(sign)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(
        "DELETE FROM member_window_totals WHERE community_id = $1 AND window_days = $2 AND contributions <= 0 AND kudos_received <= 0",
    )
    .bind(community)
    .bind(i64::from(window))
    .execute(&mut *conn)
    .await?;
    recount_histogram(conn, community, window).await?;
    set_as_of(conn, community, window, to).await
}

async fn set_as_of(
    conn: &mut Conn,
    community: CommunityId,
    window: u32,
    on: NaiveDate,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO community_windows (community_id, window_days, as_of) VALUES ($1, $2, $3)
         ON CONFLICT (community_id, window_days) DO UPDATE SET as_of = excluded.as_of",
    )
    .bind(community)
    .bind(i64::from(window))
    .bind(day(on))
    .execute(conn)
    .await?;
    Ok(())
}

/// Recomputes one window ending on `on` from the daily rows.
async fn rebuild(
    conn: &mut Conn,
    community: CommunityId,
    window: u32,
    on: NaiveDate,
) -> Result<()> {
    sqlx::query("DELETE FROM member_window_totals WHERE community_id = $1 AND window_days = $2")
        .bind(community)
        .bind(i64::from(window))
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO member_window_totals (community_id, window_days, member_id, contributions, kudos_received)
         SELECT $1, $2, member_id, CAST(SUM(contributions) AS BIGINT), CAST(SUM(kudos_received) AS BIGINT)
         FROM member_daily_activity WHERE community_id = $1 AND day > $3 AND day <= $4
         GROUP BY member_id HAVING SUM(contributions) > 0 OR SUM(kudos_received) > 0",
    )
    .bind(community)
    .bind(i64::from(window))
    .bind(day(on - Days::new(u64::from(window))))
    .bind(day(on))
    .execute(&mut *conn)
    .await?;
    set_as_of(conn, community, window, on).await
}

async fn marks(conn: &mut Conn, community: CommunityId) -> Result<Option<Marks>> {
    let found: Option<(i64, i64, i64)> = sqlx::query_as(
        "SELECT contribution_id, kudos_id, rebuilds FROM community_window_marks WHERE community_id = $1",
    )
    .bind(community)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.map(|(contribution, kudos, rebuilds)| Marks {
        counted: (contribution, kudos),
        rebuilds,
    }))
}

/// The newest contribution and kudos ids of a community.
async fn newest(db: impl Executor<'_>, community: CommunityId) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT COALESCE((SELECT max(id) FROM contributions WHERE community_id = $1), 0),
                COALESCE((SELECT max(id) FROM kudos WHERE community_id = $1), 0)",
    )
    .bind(community)
    .fetch_one(db)
    .await?)
}

/// Marks everything up to `newest` as counted; `rebuilt` when the totals were just
/// recomputed from the daily rows.
async fn set_marks(
    conn: &mut Conn,
    community: CommunityId,
    (contribution, kudos): (i64, i64),
    rebuilt: bool,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO community_window_marks (community_id, contribution_id, kudos_id, rebuilds) VALUES ($1, $2, $3, $4)
         ON CONFLICT (community_id) DO UPDATE SET contribution_id = excluded.contribution_id,
            kudos_id = excluded.kudos_id, rebuilds = community_window_marks.rebuilds + excluded.rebuilds",
    )
    .bind(community)
    .bind(contribution)
    .bind(kudos)
    .bind(i64::from(rebuilt))
    .execute(conn)
    .await?;
    Ok(())
}

/// Counts what was written since the marks and rolls every window to `today`.
async fn catch_up(conn: &mut Conn, community: CommunityId, today: NaiveDate) -> Result<()> {
    let newest = newest(&mut *conn, community).await?;
    let Some(since) = marks(conn, community).await? else {
        return rebuild_all(conn, community, today).await;
    };
    let entries = count_new(conn, community, since.counted, newest).await?;
    apply(conn, community, today, &entries, newest).await
}

/// Counts what was written since the marks on a read snapshot, without the write
/// lock: under load that count is most of a catch-up's time (over 100 ms for
/// 135,000 new contributions), and contributions wait while the lock is held.
/// None when nothing was counted yet.
pub async fn count_since_marks(read: &Pool, community: CommunityId) -> Result<Option<Counted>> {
    // One snapshot for the marks and the rows counted after them.
    let mut snapshot = super::super::engine::snapshot(read).await?;
    let Some(since) = marks(&mut snapshot, community).await? else {
        return Ok(None);
    };
    let newest = newest(&mut *snapshot, community).await?;
    let entries = count_new(&mut snapshot, community, since.counted, newest).await?;
    snapshot.rollback().await?;
    Ok(Some(Counted {
        since,
        newest,
        entries,
    }))
}

/// Applies what [`count_since_marks`] counted, as [`catch_up`] does, if the marks
/// are where the count started; otherwise (another catch-up or a rebuild came
/// between) counts again under the lock.
pub async fn catch_up_counted(
    conn: &mut Conn,
    community: CommunityId,
    today: NaiveDate,
    counted: Option<Counted>,
) -> Result<()> {
    match counted {
        Some(counted) if marks(conn, community).await? == Some(counted.since) => {
            apply(conn, community, today, &counted.entries, counted.newest).await
        }
        _ => catch_up(conn, community, today).await,
    }
}

/// Contributions and kudos per member and day with ids after `since`, up to `newest`.
async fn count_new(
    conn: &mut Conn,
    community: CommunityId,
    (seen_contribution, seen_kudos): (i64, i64),
    newest: (i64, i64),
) -> Result<Vec<Entry>> {
    let mut entries: Vec<Entry> = sqlx::query_as::<_, (i64, String, i64)>(
        "SELECT member_id, happened_on, count(*) FROM contributions
         WHERE community_id = $1 AND id > $2 AND id <= $3 GROUP BY member_id, happened_on",
    )
    .bind(community)
    .bind(seen_contribution)
    .bind(newest.0)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(m, d, n)| Ok((MemberId(m), parse_day(&d)?, n, 0)))
    .collect::<Result<_>>()?;
    let kudos: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT to_member_id, substr(created_at, 1, 10), count(*) FROM kudos
         WHERE community_id = $1 AND id > $2 AND id <= $3 GROUP BY 1, 2",
    )
    .bind(community)
    .bind(seen_kudos)
    .bind(newest.1)
    .fetch_all(&mut *conn)
    .await?;
    for (m, d, n) in kudos {
        entries.push((MemberId(m), parse_day(&d)?, 0, n));
    }
    Ok(entries)
}

/// Applies counted entries, rolls every window to `today` and moves the marks.
async fn apply(
    conn: &mut Conn,
    community: CommunityId,
    today: NaiveDate,
    entries: &[Entry],
    newest: (i64, i64),
) -> Result<()> {
    record(conn, community, entries).await?;
    for window in WINDOWS {
        bring_up_to(conn, community, window, today).await?;
    }
    set_marks(conn, community, newest, false).await
}

/// Recomputes every window from the daily rows, ending `today` (or later, if a
/// window already reached further), and marks everything as counted. For bulk
/// loads and after a workspace moves to another community.
pub async fn rebuild_all(conn: &mut Conn, community: CommunityId, today: NaiveDate) -> Result<()> {
    let newest = newest(&mut *conn, community).await?;
    for window in WINDOWS {
        let on = as_of(conn, community, window)
            .await?
            .map_or(today, |d| d.max(today));
        rebuild(conn, community, window, on).await?;
    }
    set_marks(conn, community, newest, true).await
}

/// Whether the windows are exact for `today` as they stand.
pub async fn is_current(
    db: &Pool,
    community: CommunityId,
    window: u32,
    today: NaiveDate,
) -> Result<bool> {
    let found: Option<(String, i64, i64)> = sqlx::query_as(
        "SELECT w.as_of, m.contribution_id, m.kudos_id FROM community_windows w
         JOIN community_window_marks m ON m.community_id = w.community_id
         WHERE w.community_id = $1 AND w.window_days = $2",
    )
    .bind(community)
    .bind(i64::from(window))
    .fetch_optional(db)
    .await?;
    let Some((on, seen_contribution, seen_kudos)) = found else {
        return Ok(false);
    };
    Ok(parse_day(&on)? == today && newest(db, community).await? == (seen_contribution, seen_kudos))
}

/// Communities whose windows are behind their newest contribution or kudos.
pub async fn behind(db: impl Executor<'_>) -> Result<Vec<CommunityId>> {
    Ok(sqlx::query_scalar(
        "SELECT c.id FROM communities c LEFT JOIN community_window_marks m ON m.community_id = c.id
         WHERE COALESCE((SELECT max(id) FROM contributions WHERE community_id = c.id), 0) > COALESCE(m.contribution_id, 0)
            OR COALESCE((SELECT max(id) FROM kudos WHERE community_id = c.id), 0) > COALESCE(m.kudos_id, 0)",
    )
    .fetch_all(db)
    .await?)
}

/// Brings a window up to `today` (a day without activity still moves it on).
pub async fn bring_up_to(
    conn: &mut Conn,
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
    db: impl Executor<'_>,
    community: CommunityId,
    window: u32,
    limit: i64,
) -> Result<Vec<(String, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT m.display_name, t.contributions, t.kudos_received FROM member_window_totals t
         JOIN members m ON m.id = t.member_id
         WHERE t.community_id = $1 AND t.window_days = $2 AND t.contributions > 0
         ORDER BY t.contributions DESC, t.kudos_received DESC, t.member_id LIMIT $3",
    )
    .bind(community)
    .bind(i64::from(window))
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Contributions per member over a kept window (window totals must be current),
/// as a histogram: (contributions, members with that many), members with none left
/// out. Kept beside the window totals (migration 0004): a row per distinct total.
pub async fn histogram(
    db: impl Executor<'_>,
    community: CommunityId,
    window: u32,
) -> Result<Vec<(u64, u64)>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT contributions, members FROM member_window_histogram
         WHERE community_id = $1 AND window_days = $2 AND contributions > 0 AND members > 0",
    )
    .bind(community)
    .bind(i64::from(window))
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(c, n)| (c.max(0) as u64, n.max(0) as u64))
        .collect())
}

/// Up to this many members, a change looks their totals up one by one.
const FEW_MEMBERS: usize = 100;

/// Members per window total (`member_window_histogram`, migration 0004) for the
/// rows one batch of changes touches. Inserts are counted by their trigger; an
/// update moves the member from the bucket of the value the histogram holds for
/// them to the bucket of the final value, once per batch (migration 0005).
struct Histogram {
    /// (window, member) → (the value the histogram counts, the row's value).
    rows: HashMap<(u32, MemberId), (Option<i64>, Option<i64>)>,
}

impl Histogram {
    async fn read(conn: &mut Conn, community: CommunityId, changes: &[Delta]) -> Result<Histogram> {
        let members: BTreeSet<MemberId> = changes.iter().map(|d| d.1).collect();
        let members: Vec<MemberId> = members.into_iter().collect();
        // A few members (an erasure, a merge) are looked up by the member index;
        // a catch-up's thousands read the community's totals in one pass.
        let by_community = if members.len() <= FEW_MEMBERS {
            "+community_id"
        } else {
            "community_id"
        };
        let mut rows = HashMap::new();
        for chunk in members.chunks(MEMBERS_PER_STATEMENT) {
            let sql = format!(
                "SELECT window_days, member_id, contributions FROM member_window_totals
                 WHERE {by_community} = $1 AND member_id IN {}",
                numbered_values(2, 1, chunk.len())
            );
            let mut q = sqlx::query_as::<_, (i64, MemberId, i64)>(built(sql)).bind(community);
            for member in chunk {
                q = q.bind(member);
            }
            for (window, member, contributions) in q.fetch_all(&mut *conn).await? {
                let counted = (contributions > 0).then_some(contributions);
                rows.insert(
                    (window_days(window)?, member),
                    (counted, Some(contributions)),
                );
            }
        }
        Ok(Histogram { rows })
    }

    /// Follows one row of the upsert, as the database applies it.
    fn apply(&mut self, window: u32, member: MemberId, delta: i64) {
        let row = self.rows.entry((window, member)).or_insert((None, None));
        row.1 = match row.1 {
            Some(value) => Some((value + delta).max(0)),
            None => {
                // Inserted: the insert trigger counted it already.
                row.0 = (delta > 0).then_some(delta);
                Some(delta)
            }
        };
    }

    async fn write(self, conn: &mut Conn, community: CommunityId) -> Result<()> {
        let mut moves: BTreeMap<(u32, i64), i64> = BTreeMap::new();
        for ((window, _), (counted, value)) in self.rows {
            let now = value.filter(|v| *v > 0);
            if counted != now {
                if let Some(c) = counted {
                    *moves.entry((window, c)).or_default() -= 1;
                }
                if let Some(v) = now {
                    *moves.entry((window, v)).or_default() += 1;
                }
            }
        }
        let moves: Vec<_> = moves.into_iter().filter(|(_, n)| *n != 0).collect();
        for chunk in moves.chunks(200) {
            let sql = format!(
                "INSERT INTO member_window_histogram (community_id, window_days, contributions, members)
                 VALUES {} ON CONFLICT (community_id, window_days, contributions)
                 DO UPDATE SET members = member_window_histogram.members + excluded.members",
                numbered_values(1, chunk.len(), 4)
            );
            let mut q = sqlx::query(built(sql));
            for ((window, contributions), n) in chunk {
                q = q
                    .bind(community)
                    .bind(i64::from(*window))
                    .bind(contributions)
                    .bind(n);
            }
            q.execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// Counts a window's histogram again from its totals (after a roll: once a day).
async fn recount_histogram(conn: &mut Conn, community: CommunityId, window: u32) -> Result<()> {
    sqlx::query("DELETE FROM member_window_histogram WHERE community_id = $1 AND window_days = $2")
        .bind(community)
        .bind(i64::from(window))
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO member_window_histogram (community_id, window_days, contributions, members)
         SELECT $1, $2, contributions, count(*) FROM member_window_totals
         WHERE community_id = $1 AND window_days = $2 AND contributions > 0 GROUP BY contributions",
    )
    .bind(community)
    .bind(i64::from(window))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_change_each_row_once_in_the_order_given() {
        let (a, b) = (MemberId(1), MemberId(2));
        let deltas = [
            (7, a, 1, 0),
            (7, b, 1, 0),
            (7, a, -3, 0),
            (28, a, 1, 0),
            (7, a, 2, 0),
        ];
        assert_eq!(
            rounds(&deltas),
            vec![
                vec![(7, a, 1, 0), (7, b, 1, 0), (28, a, 1, 0)],
                vec![(7, a, -3, 0)],
                vec![(7, a, 2, 0)],
            ]
        );
    }
}
