//! Daily activity's queries (see `store::activity`): members' days and the
//! community rollup kept in step, so DAU, WAU and MAU stay exact as a member's
//! days are adjusted, taken out or put back.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Days, NaiveDate};

use super::super::engine::built;
use super::super::native::activity::{ADD_DAYS, ADD_ROLLUP, FRESH_NEAR};
use super::super::script::Script;
use super::Conn;
use crate::domain::activity::{WIDTHS, coverage_change};
use crate::domain::{CommunityId, MemberId};
use crate::error::Result;
use crate::store::activity::{Counts, DayRow, DayTotal, FreshDays, NearRow, RollupRow, fresh_days};
use crate::store::{day, numbered_values, parse_day};

/// Changes to the community rollup: [dau, wau, mau, contributions, kudos] per day.
pub type Rollup = BTreeMap<NaiveDate, [i64; 5]>;

const REACH: u64 = 27; // the widest window minus one day

/// Adds activity (all counts ≥ 0) for members of one community: their days, in
/// one statement, and what days that made active change, in a script of a few
/// more (see the engine's `script.rs`).
pub async fn record(
    conn: &mut Conn,
    community: CommunityId,
    entries: &[(MemberId, NaiveDate, Counts)],
) -> Result<()> {
    // One row per member and day: PostgreSQL refuses to change a row twice in one
    // statement.
    let mut added: HashMap<(MemberId, NaiveDate), Counts> = HashMap::new();
    for (member, on, counts) in entries {
        added.entry((*member, *on)).or_default().add(counts);
    }
    let rows: Vec<DayRow> = added
        .iter()
        .map(|((member, on), c)| DayRow::new(community, *member, *on, c))
        .collect();
    let rows = serde_json::to_string(&rows)?;
    let totals: Vec<DayTotal> = sqlx::query_as(ADD_DAYS)
        .bind(&rows)
        .fetch_all(&mut *conn)
        .await?;
    let fresh = fresh_days(&totals, |_, member, on| {
        added.get(&(member, on)).map_or(0, Counts::total)
    })?;
    let near: Vec<NearRow> = if fresh.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(FRESH_NEAR)
            .bind(&rows)
            .fetch_all(&mut *conn)
            .await?
    };
    let mut rollup = Rollup::new();
    for ((_, on), c) in &added {
        let r = rollup.entry(*on).or_default();
        r[3] += c.contributions;
        r[4] += c.kudos_given;
    }
    let mut rollups = BTreeMap::from([(community, rollup)]);
    let mut script = Script::default();
    push_became_active(conn, &fresh, &near, &mut rollups, &mut script).await?;
    push_rollups(&rollups, &mut script)?;
    script.execute(conn).await
}

/// Members' days that became active (`fresh`, with `near` from `FRESH_NEAR`) now
/// count towards DAU, WAU and MAU (added to `rollups`, for [`push_rollups`]) and,
/// through statements added to `script`, towards the retention cohorts and first
/// and last active days.
pub async fn push_became_active(
    conn: &mut Conn,
    fresh: &FreshDays,
    near: &[NearRow],
    rollups: &mut BTreeMap<CommunityId, Rollup>,
    script: &mut Script,
) -> Result<()> {
    if fresh.is_empty() {
        return Ok(());
    }
    let mut known: HashMap<MemberId, BTreeSet<NaiveDate>> = HashMap::new();
    let mut firsts: HashMap<MemberId, Option<NaiveDate>> = HashMap::new();
    for (member, on, first) in near {
        known
            .entry(MemberId(*member))
            .or_default()
            .insert(parse_day(on)?);
        firsts.insert(
            MemberId(*member),
            first.as_deref().map(parse_day).transpose()?,
        );
    }
    for (community, fresh) in fresh {
        let rollup = rollups.entry(*community).or_default();
        for (member, days) in fresh {
            let after = known.get(member).cloned().unwrap_or_default();
            let before: BTreeSet<NaiveDate> = after.difference(days).copied().collect();
            add_coverage(rollup, &before, &after);
        }
    }
    super::insights::push_days_added(conn, fresh, &known, &firsts, script).await
}

/// Adds communities' rollup changes to `script`, in one statement.
pub fn push_rollups(rollups: &BTreeMap<CommunityId, Rollup>, script: &mut Script) -> Result<()> {
    let rows: Vec<RollupRow> = rollups
        .iter()
        .flat_map(|(community, rollup)| RollupRow::changes(*community, rollup))
        .collect();
    script.push_rows(ADD_ROLLUP, &rows)
}

/// Applies a change to one member's day (counts may be negative; results never go
/// below zero). A day left with no activity stops counting as active.
pub async fn adjust(
    conn: &mut Conn,
    community: CommunityId,
    member: MemberId,
    on: NaiveDate,
    delta: Counts,
) -> Result<()> {
    let before = days_of(conn, member, on - Days::new(REACH), on + Days::new(REACH)).await?;
    let total: Option<i64> = sqlx::query_scalar(
        "UPDATE member_daily_activity SET
            contributions = CASE WHEN contributions + $4 > 0 THEN contributions + $4 ELSE 0 END,
            kudos_given = CASE WHEN kudos_given + $5 > 0 THEN kudos_given + $5 ELSE 0 END,
            kudos_received = CASE WHEN kudos_received + $6 > 0 THEN kudos_received + $6 ELSE 0 END,
            messages = CASE WHEN messages + $7 > 0 THEN messages + $7 ELSE 0 END,
            reactions = CASE WHEN reactions + $8 > 0 THEN reactions + $8 ELSE 0 END,
            introductions = CASE WHEN introductions + $9 > 0 THEN introductions + $9 ELSE 0 END
         WHERE community_id = $1 AND member_id = $2 AND day = $3
         RETURNING contributions + kudos_given + kudos_received + messages + reactions + introductions",
    )
    .bind(community)
    .bind(member)
    .bind(day(on))
    .bind(delta.contributions)
    .bind(delta.kudos_given)
    .bind(delta.kudos_received)
    .bind(delta.messages)
    .bind(delta.reactions)
    .bind(delta.introductions)
    .fetch_optional(&mut *conn)
    .await?;
    let mut rollup = Rollup::new();
    let r = rollup.entry(on).or_default();
    r[3] += delta.contributions;
    r[4] += delta.kudos_given;
    if total == Some(0) {
        super::insights::member_share(conn, community, member, -1).await?;
        sqlx::query(
            "DELETE FROM member_daily_activity WHERE community_id = $1 AND member_id = $2 AND day = $3",
        )
        .bind(community)
        .bind(member)
        .bind(day(on))
        .execute(&mut *conn)
        .await?;
        super::insights::member_share(conn, community, member, 1).await?;
        let mut after = before.clone();
        after.remove(&on);
        add_coverage(&mut rollup, &before, &after);
    }
    apply(conn, community, &rollup).await
}

/// Takes a member's whole share out of the community rollup; call before their
/// activity rows are erased, moved or merged.
pub async fn withdraw_member(
    conn: &mut Conn,
    community: CommunityId,
    member: MemberId,
) -> Result<()> {
    member_share(conn, community, member, -1).await
}

/// Puts a member's whole share into the community rollup; call after their
/// activity rows arrived (moved or merged in).
pub async fn add_member(conn: &mut Conn, community: CommunityId, member: MemberId) -> Result<()> {
    member_share(conn, community, member, 1).await
}

async fn member_share(
    conn: &mut Conn,
    community: CommunityId,
    member: MemberId,
    sign: i64,
) -> Result<()> {
    super::insights::member_share(conn, community, member, sign).await?;
    // By the member's index: the `+` keeps SQLite from reading every day of the
    // whole community through the primary key instead (120 ms in one of a million
    // contributions, under the write lock of an erasure or a merge).
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT day, contributions, kudos_given FROM member_daily_activity WHERE +community_id = $1 AND member_id = $2",
    )
    .bind(community)
    .bind(member)
    .fetch_all(&mut *conn)
    .await?;
    let mut rollup = Rollup::new();
    let mut days = BTreeSet::new();
    for (d, contributions, kudos) in rows {
        let d = parse_day(&d)?;
        days.insert(d);
        let r = rollup.entry(d).or_default();
        r[3] += sign * contributions;
        r[4] += sign * kudos;
    }
    let empty = BTreeSet::new();
    if sign > 0 {
        add_coverage(&mut rollup, &empty, &days);
    } else {
        add_coverage(&mut rollup, &days, &empty);
    }
    apply(conn, community, &rollup).await
}

/// Recomputes a community's rollup from its members' daily rows (after a bulk load).
pub async fn rebuild(conn: &mut Conn, community: CommunityId) -> Result<()> {
    sqlx::query("DELETE FROM community_daily_activity WHERE community_id = $1")
        .bind(community)
        .execute(&mut *conn)
        .await?;
    let rows: Vec<(i64, String, i64, i64)> = sqlx::query_as(
        "SELECT member_id, day, contributions, kudos_given FROM member_daily_activity
         WHERE community_id = $1 ORDER BY member_id, day",
    )
    .bind(community)
    .fetch_all(&mut *conn)
    .await?;
    let mut rollup = Rollup::new();
    let empty = BTreeSet::new();
    let mut current: Option<i64> = None;
    let mut days = BTreeSet::new();
    for (member, d, contributions, kudos) in rows {
        if current != Some(member) {
            add_coverage(&mut rollup, &empty, &days);
            days.clear();
            current = Some(member);
        }
        let d = parse_day(&d)?;
        days.insert(d);
        let r = rollup.entry(d).or_default();
        r[3] += contributions;
        r[4] += kudos;
    }
    add_coverage(&mut rollup, &empty, &days);
    apply(conn, community, &rollup).await?;
    sqlx::query(
        "UPDATE community_daily_activity SET aligned = a.n
         FROM (SELECT happened_on, count(*) AS n FROM contributions
               WHERE community_id = $1 AND (goal_id IS NOT NULL OR value_name IS NOT NULL)
               GROUP BY happened_on) AS a
         WHERE community_daily_activity.community_id = $1 AND community_daily_activity.day = a.happened_on",
    )
    .bind(community)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Adds to `rollup` what a member's active days going from `before` to `after`
/// change in DAU, WAU and MAU.
pub fn add_coverage(
    rollup: &mut Rollup,
    before: &BTreeSet<NaiveDate>,
    after: &BTreeSet<NaiveDate>,
) {
    for (i, width) in WIDTHS.iter().enumerate() {
        for (d, n) in coverage_change(before, after, *width) {
            rollup.entry(d).or_default()[i] += n;
        }
    }
}

/// A member's active days within `[from, to]`.
async fn days_of(
    conn: &mut Conn,
    member: MemberId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<BTreeSet<NaiveDate>> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT day FROM member_daily_activity WHERE member_id = $1 AND day BETWEEN $2 AND $3",
    )
    .bind(member)
    .bind(day(from))
    .bind(day(to))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|d| parse_day(d)).collect()
}

/// Adds a community's rollup changes, leaving out days with none.
async fn apply(conn: &mut Conn, community: CommunityId, rollup: &Rollup) -> Result<()> {
    let rows: Vec<_> = rollup
        .iter()
        .filter(|(_, v)| v.iter().any(|n| *n != 0))
        .collect();
    for chunk in rows.chunks(1000) {
        let mut q = sqlx::query(built(format!(
            "INSERT INTO community_daily_activity
                (community_id, day, dau, wau, mau, contributions, kudos)
             VALUES {} ON CONFLICT (community_id, day) DO UPDATE SET
                dau = community_daily_activity.dau + excluded.dau,
                wau = community_daily_activity.wau + excluded.wau,
                mau = community_daily_activity.mau + excluded.mau,
                contributions = community_daily_activity.contributions + excluded.contributions,
                kudos = community_daily_activity.kudos + excluded.kudos",
            numbered_values(1, chunk.len(), 7)
        )));
        for (on, [dau, wau, mau, contributions, kudos]) in chunk {
            q = q
                .bind(community)
                .bind(day(**on))
                .bind(dau)
                .bind(wau)
                .bind(mau)
                .bind(contributions)
                .bind(kudos);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Changes the count of contributions linked to a goal or a value (negative to
/// take back, never below zero) on communities' days; a day's rollup row exists
/// once any activity was recorded for it.
pub async fn add_aligned(
    conn: &mut Conn,
    changes: &BTreeMap<(CommunityId, NaiveDate), i64>,
) -> Result<()> {
    let changes: Vec<_> = changes.iter().filter(|(_, n)| **n != 0).collect();
    for chunk in changes.chunks(super::IDS_PER_STATEMENT / 3) {
        // Rows as a UNION of SELECTs: SQLite names no VALUES columns, and
        // PostgreSQL needs the parameters' types spelled out.
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let n = 3 * i;
                format!(
                    "SELECT CAST(${} AS BIGINT) AS community_id, CAST(${} AS TEXT) AS day, CAST(${} AS BIGINT) AS n",
                    n + 1,
                    n + 2,
                    n + 3
                )
            })
            .collect();
        let sql = format!(
            "UPDATE community_daily_activity SET aligned =
                CASE WHEN community_daily_activity.aligned + a.n > 0
                     THEN community_daily_activity.aligned + a.n ELSE 0 END
             FROM ({}) AS a
             WHERE community_daily_activity.community_id = a.community_id
               AND community_daily_activity.day = a.day",
            rows.join(" UNION ALL ")
        );
        let mut query = sqlx::query(built(sql));
        for ((community, on), n) in chunk {
            query = query.bind(*community).bind(day(*on)).bind(**n);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}
