//! The activity writer's statements, which the contribution writer shares: each
//! adds to members' days and the community rollup from one JSON array, and what
//! days became active is settled in a script of such statements (see
//! `store/sqlite/script.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::SqliteConnection;

use super::super::script::Script;
use super::super::sql::activity::{Rollup, add_coverage};
use super::insights;
use crate::domain::{CommunityId, MemberId};
use crate::error::Result;
use crate::store::activity::Counts;
use crate::store::{day, parse_day};

/// Adds counts to members' days, from one JSON array of [`DayRow`]; returns each
/// day's total after, so the caller can tell which days became active.
pub const ADD_DAYS: &str = "INSERT INTO member_daily_activity
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
pub const ADD_ROLLUP: &str = "INSERT INTO community_daily_activity
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
pub const ADD_ALIGNED: &str = "UPDATE community_daily_activity SET aligned = max(0, aligned + a.n)
     FROM (SELECT value->>'community' AS community_id, value->>'day' AS day, value->>'n' AS n
           FROM jsonb_each(?)) AS a
     WHERE community_daily_activity.community_id = a.community_id
       AND community_daily_activity.day = a.day";

/// Rows for [`ADD_ALIGNED`]: aligned contributions per community and day.
pub fn aligned_json(
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
pub struct DayRow {
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
    pub fn new(community: CommunityId, member: MemberId, on: NaiveDate, c: &Counts) -> DayRow {
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
pub struct RollupRow {
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
    pub fn counts(
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
pub type DayTotal = (i64, i64, String, i64);

/// Members' active days, per community.
pub type FreshDays = BTreeMap<CommunityId, BTreeMap<MemberId, BTreeSet<NaiveDate>>>;

/// The days [`ADD_DAYS`] made active: those whose total after is just what was
/// added to them (`added`, by community, member and day).
pub fn fresh_days(
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
pub const FRESH_NEAR: &str = "WITH fresh AS (
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
pub type NearRow = (i64, String, Option<String>);

/// Members' days that became active (`fresh`, with `near` from [`FRESH_NEAR`]) now
/// count towards DAU, WAU and MAU (added to `rollups`, for [`push_rollups`]) and,
/// through statements added to `script`, towards the retention cohorts and first
/// and last active days.
pub async fn push_became_active(
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
pub fn push_rollups(rollups: &BTreeMap<CommunityId, Rollup>, script: &mut Script) -> Result<()> {
    let rows: Vec<RollupRow> = rollups
        .iter()
        .flat_map(|(community, rollup)| rollup_rows(*community, rollup))
        .collect();
    script.push_rows(ADD_ROLLUP, &rows)
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
