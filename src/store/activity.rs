//! Daily activity: per member (`member_daily_activity`) and per community
//! (`community_daily_activity`), kept in step. Counts only: no message text is
//! ever stored (P1). Every change to a member's active days goes through here, so
//! the community's DAU/WAU/MAU stay exact (see domain::activity).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::{CommunityId, MemberId};
use crate::error::Result;
use crate::store::{day, parse_day};

// transitional: the tests rebuild the rollup themselves.

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
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                sql::activity::record(conn, community, &[(member, on, counts)]).await
            })
            .await)
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
    /// Confirmed introductions ("yes, we met").
    pub introductions: i64,
}

impl Counts {
    pub(super) fn total(&self) -> i64 {
        self.contributions
            + self.kudos_given
            + self.kudos_received
            + self.messages
            + self.reactions
            + self.introductions
    }
    pub(super) fn add(&mut self, o: &Counts) {
        self.contributions += o.contributions;
        self.kudos_given += o.kudos_given;
        self.kudos_received += o.kudos_received;
        self.messages += o.messages;
        self.reactions += o.reactions;
        self.introductions += o.introductions;
    }
}

// What the engines' activity statements (`native::activity`) read, one JSON array
// of rows each, and what they return: the same on both engines.

/// One member's counts on a day, as `native::activity::ADD_DAYS` reads them.
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
    introductions: i64,
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
            introductions: c.introductions,
        }
    }
}

/// A change to the community rollup on a day, as `native::activity::ADD_ROLLUP`
/// reads it.
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

    /// A community's rollup changes ([dau, wau, mau, contributions, kudos] by
    /// day), leaving out days with none.
    pub(super) fn changes(
        community: CommunityId,
        rollup: &BTreeMap<NaiveDate, [i64; 5]>,
    ) -> impl Iterator<Item = RollupRow> + '_ {
        rollup
            .iter()
            .filter(|(_, v)| v.iter().any(|n| *n != 0))
            .map(
                move |(d, [dau, wau, mau, contributions, kudos])| RollupRow {
                    community,
                    day: day(*d),
                    dau: *dau,
                    wau: *wau,
                    mau: *mau,
                    contributions: *contributions,
                    kudos: *kudos,
                },
            )
    }
}

/// Rows for `native::activity::ADD_ALIGNED`: contributions linked to a goal or
/// value, per community and day.
pub(super) fn aligned_json(
    counts: impl IntoIterator<Item = ((CommunityId, NaiveDate), i64)>,
) -> Result<String> {
    let rows: Vec<serde_json::Value> = counts
        .into_iter()
        .map(|((community, on), n)| serde_json::json!({"community": community, "day": day(on), "n": n}))
        .collect();
    Ok(serde_json::to_string(&rows)?)
}

/// What `native::activity::ADD_DAYS` returns per day: community, member, day and
/// its total after.
pub(super) type DayTotal = (i64, i64, String, i64);

/// A row of `native::activity::FRESH_NEAR`: member, active day, first active day
/// before.
pub(super) type NearRow = (i64, String, Option<String>);

/// Members' active days, per community.
pub(super) type FreshDays = BTreeMap<CommunityId, BTreeMap<MemberId, BTreeSet<NaiveDate>>>;

/// The days `ADD_DAYS` made active: those whose total after is just what was
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
