//! Daily activity: per member (`member_daily_activity`) and per community
//! (`community_daily_activity`), kept in step. Counts only: no message text is
//! ever stored (P1). Every change to a member's active days goes through here, so
//! the community's DAU/WAU/MAU stay exact (see domain::activity).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Days, NaiveDate};
use serde::Serialize;
use sqlx::SqliteConnection;

use super::sqlite::script::Script;
use super::{day, insights, parse_day};
use crate::domain::activity::{WIDTHS, coverage_change};
use crate::domain::{CommunityId, MemberId};
use crate::error::Result;

/// Members' activity, as the application records it.
impl super::Store {
    /// Adds `counts` to a member's day, in one write transaction.
    pub async fn record_activity(
        &self,
        community: CommunityId,
        member: MemberId,
        on: NaiveDate,
        counts: Counts,
    ) -> Result<()> {
        self.sqlite()
            .write(async |conn| record(conn, community, &[(member, on, counts)]).await)
            .await
    }
}

/// Activity counts for one member on one day.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub contributions: i64,
    pub kudos_given: i64,
    pub kudos_received: i64,
    pub messages: i64,
    pub reactions: i64,
}

impl Counts {
    fn total(&self) -> i64 {
        self.contributions + self.kudos_given + self.kudos_received + self.messages + self.reactions
    }
    fn add(&mut self, o: &Counts) {
        self.contributions += o.contributions;
        self.kudos_given += o.kudos_given;
        self.kudos_received += o.kudos_received;
        self.messages += o.messages;
        self.reactions += o.reactions;
    }
}

/// Changes to the community rollup: [dau, wau, mau, contributions, kudos] per day.
pub(super) type Rollup = BTreeMap<NaiveDate, [i64; 5]>;

const REACH: u64 = 27; // the widest window minus one day

/// Adds counts to members' days, from one JSON array of [`DayRow`]; returns each
/// day's total after, so the caller can tell which days became active.
pub(super) const ADD_DAYS: &str = "INSERT INTO member_daily_activity
        (community_id, day, member_id, contributions, kudos_given, kudos_received, messages, reactions)
     SELECT value->>'community', value->>'day', value->>'member', value->>'contributions',
        value->>'kudos_given', value->>'kudos_received', value->>'messages', value->>'reactions'
     FROM jsonb_each(?) WHERE true
     ON CONFLICT (community_id, day, member_id) DO UPDATE SET
        contributions = contributions + excluded.contributions,
        kudos_given = kudos_given + excluded.kudos_given,
        kudos_received = kudos_received + excluded.kudos_received,
        messages = messages + excluded.messages,
        reactions = reactions + excluded.reactions
     RETURNING community_id, member_id, day,
        contributions + kudos_given + kudos_received + messages + reactions";

/// Adds to the community rollup, from one JSON array of [`RollupRow`].
pub(super) const ADD_ROLLUP: &str = "INSERT INTO community_daily_activity
        (community_id, day, dau, wau, mau, contributions, kudos)
     SELECT value->>'community', value->>'day', value->>'dau', value->>'wau', value->>'mau',
        value->>'contributions', value->>'kudos'
     FROM jsonb_each(?) WHERE true
     ON CONFLICT (community_id, day) DO UPDATE SET
        dau = dau + excluded.dau, wau = wau + excluded.wau, mau = mau + excluded.mau,
        contributions = contributions + excluded.contributions, kudos = kudos + excluded.kudos";

/// Counts contributions linked to a goal or value (negative to take back), from one
/// JSON array of {community, day, n}; the day's rollup row exists once any activity
/// was recorded for it.
pub(super) const ADD_ALIGNED: &str =
    "UPDATE community_daily_activity SET aligned = max(0, aligned + a.n)
     FROM (SELECT value->>'community' AS community_id, value->>'day' AS day, value->>'n' AS n
           FROM jsonb_each(?)) AS a
     WHERE community_daily_activity.community_id = a.community_id
       AND community_daily_activity.day = a.day";

/// Rows for [`ADD_ALIGNED`]: aligned contributions per community and day.
pub(super) fn aligned_json(
    counts: impl IntoIterator<Item = ((CommunityId, NaiveDate), i64)>,
) -> Result<String> {
    let rows: Vec<serde_json::Value> = counts
        .into_iter()
        .map(|((community, on), n)| serde_json::json!({"community": community, "day": day(on), "n": n}))
        .collect();
    Ok(serde_json::to_string(&rows)?)
}

/// One member's counts on a day, as [`ADD_DAYS`] reads them.
#[derive(Debug, Serialize)]
pub(super) struct DayRow {
    community: CommunityId,
    day: String,
    member: MemberId,
    contributions: i64,
    kudos_given: i64,
    kudos_received: i64,
    messages: i64,
    reactions: i64,
}

impl DayRow {
    pub(super) fn new(
        community: CommunityId,
        member: MemberId,
        on: NaiveDate,
        c: &Counts,
    ) -> DayRow {
        DayRow {
            community,
            day: day(on),
            member,
            contributions: c.contributions,
            kudos_given: c.kudos_given,
            kudos_received: c.kudos_received,
            messages: c.messages,
            reactions: c.reactions,
        }
    }
}

/// A change to the community rollup on a day, as [`ADD_ROLLUP`] reads it.
#[derive(Debug, Serialize)]
pub(super) struct RollupRow {
    community: CommunityId,
    day: String,
    dau: i64,
    wau: i64,
    mau: i64,
    contributions: i64,
    kudos: i64,
}

impl RollupRow {
    /// Contributions and kudos given on a day; who was active is settled apart.
    pub(super) fn counts(
        community: CommunityId,
        on: NaiveDate,
        contributions: i64,
        kudos: i64,
    ) -> RollupRow {
        RollupRow {
            community,
            day: day(on),
            dau: 0,
            wau: 0,
            mau: 0,
            contributions,
            kudos,
        }
    }
}

/// Adds activity (all counts ≥ 0) for members of one community.
pub async fn record(
    conn: &mut SqliteConnection,
    community: CommunityId,
    entries: &[(MemberId, NaiveDate, Counts)],
) -> Result<()> {
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

/// What [`ADD_DAYS`] returns per day: community, member, day and its total after.
pub(super) type DayTotal = (i64, i64, String, i64);

/// Members' active days, per community.
pub(super) type FreshDays = BTreeMap<CommunityId, BTreeMap<MemberId, BTreeSet<NaiveDate>>>;

/// The days [`ADD_DAYS`] made active: those whose total after is just what was
/// added to them (`added`, by community, member and day).
pub(super) fn fresh_days(
    totals: &[DayTotal],
    added: impl Fn(CommunityId, MemberId, NaiveDate) -> i64,
) -> Result<FreshDays> {
    let mut fresh = FreshDays::new();
    for (community, member, on, total) in totals {
        let (community, member, on) = (CommunityId(*community), MemberId(*member), parse_day(on)?);
        if *total > 0 && added(community, member, on) == *total {
            fresh
                .entry(community)
                .or_default()
                .entry(member)
                .or_default()
                .insert(on);
        }
    }
    Ok(fresh)
}

/// Run right after [`ADD_DAYS`], on the same JSON: for each member it gave a newly
/// active day (as [`fresh_days`] tells them), their active days within 31 days of
/// their new ones (the widest window, and whole weeks and months for the retention
/// cohorts) and the first active day they had before.
pub(super) const FRESH_NEAR: &str = "WITH fresh AS (
        SELECT t.member_id AS member, min(t.day) AS lo, max(t.day) AS hi
        FROM jsonb_each(?) AS j
        JOIN member_daily_activity AS t ON t.community_id = j.value->>'community'
            AND t.member_id = j.value->>'member' AND t.day = j.value->>'day'
        WHERE t.contributions + t.kudos_given + t.kudos_received + t.messages + t.reactions
            = (j.value->>'contributions') + (j.value->>'kudos_given') + (j.value->>'kudos_received')
              + (j.value->>'messages') + (j.value->>'reactions')
        GROUP BY t.member_id)
     SELECT f.member, d.day, m.first_active_on FROM fresh AS f
     JOIN members AS m ON m.id = f.member
     JOIN member_daily_activity AS d ON d.member_id = f.member
         AND d.day BETWEEN date(f.lo, '-31 days') AND date(f.hi, '+31 days')";

/// A row of [`FRESH_NEAR`]: member, active day, first active day before.
pub(super) type NearRow = (i64, String, Option<String>);

/// Members' days that became active (`fresh`, with `near` from [`FRESH_NEAR`]) now
/// count towards DAU, WAU and MAU (added to `rollups`, for [`push_rollups`]) and,
/// through statements added to `script`, towards the retention cohorts and first
/// and last active days.
pub(super) async fn push_became_active(
    conn: &mut SqliteConnection,
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
    insights::push_days_added(conn, fresh, &known, &firsts, script).await
}

/// Adds communities' rollup changes to `script`, in one statement.
pub(super) fn push_rollups(
    rollups: &BTreeMap<CommunityId, Rollup>,
    script: &mut Script,
) -> Result<()> {
    let rows: Vec<RollupRow> = rollups
        .iter()
        .flat_map(|(community, rollup)| rollup_rows(*community, rollup))
        .collect();
    script.push_rows(ADD_ROLLUP, &rows)
}

/// Applies a change to one member's day (counts may be negative; results never go
/// below zero). A day left with no activity stops counting as active.
pub async fn adjust(
    conn: &mut SqliteConnection,
    community: CommunityId,
    member: MemberId,
    on: NaiveDate,
    delta: Counts,
) -> Result<()> {
    let near = days_of(
        conn,
        &[member.0],
        on - Days::new(REACH),
        on + Days::new(REACH),
    )
    .await?;
    let before = near.get(&member).cloned().unwrap_or_default();
    let row: Option<(i64, i64)> = sqlx::query_as(
        "UPDATE member_daily_activity SET
            contributions = max(0, contributions + ?4), kudos_given = max(0, kudos_given + ?5),
            kudos_received = max(0, kudos_received + ?6), messages = max(0, messages + ?7),
            reactions = max(0, reactions + ?8)
         WHERE community_id = ?1 AND member_id = ?2 AND day = ?3
         RETURNING contributions + kudos_given + kudos_received + messages + reactions, 0",
    )
    .bind(community)
    .bind(member)
    .bind(day(on))
    .bind(delta.contributions)
    .bind(delta.kudos_given)
    .bind(delta.kudos_received)
    .bind(delta.messages)
    .bind(delta.reactions)
    .fetch_optional(&mut *conn)
    .await?;
    let mut rollup = Rollup::new();
    let r = rollup.entry(on).or_default();
    r[3] += delta.contributions;
    r[4] += delta.kudos_given;
    if let Some((0, _)) = row {
        insights::member_share(conn, community, member, -1).await?;
        sqlx::query("DELETE FROM member_daily_activity WHERE community_id = ? AND member_id = ? AND day = ?")
            .bind(community)
            .bind(member)
            .bind(day(on))
            .execute(&mut *conn)
            .await?;
        insights::member_share(conn, community, member, 1).await?;
        let mut after = before.clone();
        after.remove(&on);
        add_coverage(&mut rollup, &before, &after);
    }
    apply(conn, community, &rollup).await
}

/// Takes a member's whole share out of the community rollup; call before their
/// activity rows are erased, moved or merged.
pub async fn withdraw_member(
    conn: &mut SqliteConnection,
    community: CommunityId,
    member: MemberId,
) -> Result<()> {
    member_share(conn, community, member, -1).await
}

/// Puts a member's whole share into the community rollup; call after their
/// activity rows arrived (moved or merged in).
pub async fn add_member(
    conn: &mut SqliteConnection,
    community: CommunityId,
    member: MemberId,
) -> Result<()> {
    member_share(conn, community, member, 1).await
}

async fn member_share(
    conn: &mut SqliteConnection,
    community: CommunityId,
    member: MemberId,
    sign: i64,
) -> Result<()> {
    super::insights::member_share(conn, community, member, sign).await?;
    // By the member's index: the `+` keeps SQLite from reading every day of the
    // whole community through the primary key instead (120 ms in one of a million
    // contributions, under the write lock of an erasure or a merge).
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT day, contributions, kudos_given FROM member_daily_activity WHERE +community_id = ? AND member_id = ?",
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
pub async fn rebuild(conn: &mut SqliteConnection, community: CommunityId) -> Result<()> {
    sqlx::query("DELETE FROM community_daily_activity WHERE community_id = ?")
        .bind(community)
        .execute(&mut *conn)
        .await?;
    let rows: Vec<(i64, String, i64, i64)> = sqlx::query_as(
        "SELECT member_id, day, contributions, kudos_given FROM member_daily_activity
         WHERE community_id = ? ORDER BY member_id, day",
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
               WHERE community_id = ?1 AND (goal_id IS NOT NULL OR value_name IS NOT NULL)
               GROUP BY happened_on) AS a
         WHERE community_daily_activity.community_id = ?1 AND community_daily_activity.day = a.happened_on",
    )
    .bind(community)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Counts `n` (negative to take back) contributions linked to a goal or value on a
/// day; the day's row exists once any activity was recorded for it.
pub async fn add_aligned(
    conn: &mut SqliteConnection,
    community: CommunityId,
    on: NaiveDate,
    n: i64,
) -> Result<()> {
    sqlx::query(ADD_ALIGNED)
        .bind(aligned_json([((community, on), n)])?)
        .execute(conn)
        .await?;
    Ok(())
}

fn add_coverage(rollup: &mut Rollup, before: &BTreeSet<NaiveDate>, after: &BTreeSet<NaiveDate>) {
    for (i, width) in WIDTHS.iter().enumerate() {
        for (d, n) in coverage_change(before, after, *width) {
            rollup.entry(d).or_default()[i] += n;
        }
    }
}

/// Active days of members within `[from, to]`.
async fn days_of(
    conn: &mut SqliteConnection,
    members: &[i64],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<HashMap<MemberId, BTreeSet<NaiveDate>>> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT member_id, day FROM member_daily_activity
         WHERE member_id IN (SELECT value FROM json_each(?)) AND day BETWEEN ? AND ?",
    )
    .bind(serde_json::to_string(members)?)
    .bind(day(from))
    .bind(day(to))
    .fetch_all(&mut *conn)
    .await?;
    let mut out: HashMap<MemberId, BTreeSet<NaiveDate>> = HashMap::new();
    for (m, d) in rows {
        out.entry(MemberId(m)).or_default().insert(parse_day(&d)?);
    }
    Ok(out)
}

async fn apply(conn: &mut SqliteConnection, community: CommunityId, rollup: &Rollup) -> Result<()> {
    let mut script = Script::default();
    script.push_rows(ADD_ROLLUP, &rollup_rows(community, rollup))?;
    script.execute(conn).await
}

/// A community's rollup changes as [`ADD_ROLLUP`] reads them, leaving out days
/// with none.
fn rollup_rows(community: CommunityId, rollup: &Rollup) -> Vec<RollupRow> {
    rollup
        .iter()
        .filter(|(_, v)| v.iter().any(|n| *n != 0))
        .map(|(d, [dau, wau, mau, contributions, kudos])| RollupRow {
            community,
            day: day(*d),
            dau: *dau,
            wau: *wau,
            mau: *mau,
            contributions: *contributions,
            kudos: *kudos,
        })
        .collect()
}
