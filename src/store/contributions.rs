//! Reading contributions. They are written in batches by each engine's
//! group-commit writer (`group_commit.rs`), under the rules of
//! domain::contribution; the rows its statements read are here.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::domain::contribution::plan::{Crossing, Deltas, NewRow};
pub use crate::domain::contribution::{ContributionRequest, GoalAfter, Recorded};
use crate::domain::{CommunityId, ContributionId, GoalId, MemberId};
use crate::error::Result;
use crate::store::{day, ts};

/// Contributions, as the application lists them (recording goes through
/// the group-commit writer).
impl super::Store {
    /// A member's latest contributions, newest first.
    pub async fn contributions_by_member(
        &self,
        community: CommunityId,
        member: MemberId,
        limit: i64,
    ) -> Result<Vec<ContributionRow>> {
        on_engine!(self, e => sql::contributions::by_member(&e.read, community, member, limit).await)
    }

    /// The latest contributions towards a goal, newest first.
    pub async fn contributions_by_goal(
        &self,
        community: CommunityId,
        goal: GoalId,
        limit: i64,
    ) -> Result<Vec<ContributionRow>> {
        on_engine!(self, e => sql::contributions::by_goal(&e.read, community, goal, limit).await)
    }
}

#[derive(Debug, Clone)]
pub struct ContributionRow {
    pub id: ContributionId,
    pub member: String,
    pub description: String,
    pub amount: Option<f64>,
    pub unit: Option<String>,
    pub goal: Option<String>,
    pub value: Option<String>,
    pub platform: String,
    pub day: NaiveDate,
    pub created_at: DateTime<Utc>,
}

// What the contribution writer's statements (`native::contributions`, and
// `native::milestones` and `native::outbox` for the milestones crossed) read, one
// JSON array each: the same on both engines.

/// A row of `INSERT_CONTRIBUTIONS`.
#[derive(Serialize)]
struct ContributionJson<'a> {
    /// Given where the engine chose the ids before inserting (PostgreSQL); left
    /// out where it numbers the rows as it inserts them (SQLite).
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<ContributionId>,
    community: CommunityId,
    member: MemberId,
    description: &'a str,
    amount: Option<f64>,
    unit: Option<&'a str>,
    goal: Option<GoalId>,
    value: Option<&'a str>,
    platform: &'static str,
    day: String,
    at: String,
}

/// Rows for `INSERT_CONTRIBUTIONS`, in the batch's order, with `ids` if given
/// (one per row).
pub(super) fn contributions_json<'a>(
    rows: impl Iterator<Item = NewRow<'a>>,
    ids: Option<&[ContributionId]>,
) -> Result<String> {
    let mut ids = ids.map(|ids| ids.iter().copied());
    let rows: Vec<ContributionJson> = rows
        .map(|r| ContributionJson {
            id: ids.as_mut().and_then(Iterator::next),
            community: r.community,
            member: r.member,
            description: r.description,
            amount: r.amount,
            unit: r.unit,
            goal: r.goal,
            value: r.value,
            platform: r.platform.as_str(),
            day: day(r.day),
            at: ts(r.at),
        })
        .collect();
    Ok(serde_json::to_string(&rows)?)
}

/// Rows for `ADD_UNIT_AMOUNTS`: members' amounts by unit.
pub(super) fn unit_amounts_json(d: &Deltas) -> Result<String> {
    #[derive(Serialize)]
    struct Row<'a> {
        member: MemberId,
        unit: &'a str,
        amount: f64,
    }
    let rows: Vec<Row> = d
        .unit_amounts
        .iter()
        .map(|((member, unit), amount)| Row {
            member: *member,
            unit,
            amount: *amount,
        })
        .collect();
    Ok(serde_json::to_string(&rows)?)
}

/// Rows for `ADD_GOAL_DAYS`: goals' progress by day.
pub(super) fn goal_days_json(d: &Deltas) -> Result<String> {
    #[derive(Serialize)]
    struct Row {
        goal: GoalId,
        day: String,
        n: i64,
        amount: f64,
    }
    let rows: Vec<Row> = d
        .goal_days
        .iter()
        .map(|((goal, on), tally)| Row {
            goal: *goal,
            day: day(*on),
            n: tally.contributions,
            amount: tally.amount,
        })
        .collect();
    Ok(serde_json::to_string(&rows)?)
}

/// Rows for `COUNT_MEMBERS` and `FIRST_CONTRIBUTIONS`: members' counters.
pub(super) fn member_counts_json(d: &Deltas) -> Result<String> {
    #[derive(Serialize)]
    struct Row {
        member: MemberId,
        n: i64,
    }
    let rows: Vec<Row> = d
        .members
        .iter()
        .map(|(member, n)| Row {
            member: *member,
            n: *n,
        })
        .collect();
    Ok(serde_json::to_string(&rows)?)
}

/// Rows for `COUNT_COMMUNITIES`: communities' counters.
pub(super) fn community_counts_json(d: &Deltas) -> Result<String> {
    #[derive(Serialize)]
    struct Row {
        community: CommunityId,
        n: i64,
    }
    let rows: Vec<Row> = d
        .communities
        .iter()
        .map(|(community, n)| Row {
            community: *community,
            n: *n,
        })
        .collect();
    Ok(serde_json::to_string(&rows)?)
}

/// Rows for `COUNT_GOALS`: goals' progress and counters.
pub(super) fn goal_counts_json(d: &Deltas) -> Result<String> {
    #[derive(Serialize)]
    struct Row {
        goal: GoalId,
        n: i64,
        amount: f64,
    }
    let rows: Vec<Row> = d
        .goals
        .iter()
        .map(|(goal, tally)| Row {
            goal: *goal,
            n: tally.contributions,
            amount: tally.amount,
        })
        .collect();
    Ok(serde_json::to_string(&rows)?)
}

/// A row of `native::milestones::RECORD_CROSSED` and the outbox's statements
/// after it.
#[derive(Serialize)]
struct CrossedJson<'a> {
    community: CommunityId,
    key: &'a str,
    subject: &'a str,
    title: &'a str,
    member: Option<MemberId>,
    goal: Option<GoalId>,
    contribution: ContributionId,
    /// The contributor, whom the announcement names.
    about: MemberId,
    at: String,
    /// The announcement, as the outbox stores it.
    body: String,
}

/// Rows for `RECORD_CROSSED` and the outbox's statements after it: the
/// milestones crossed, in the batch's order.
pub(super) fn crossed_json(crossings: &[Crossing]) -> Result<String> {
    let rows = crossings
        .iter()
        .map(|c| {
            Ok(CrossedJson {
                community: c.community,
                key: &c.key,
                subject: &c.subject,
                title: &c.title,
                member: c.member,
                goal: c.goal,
                contribution: c.contribution,
                about: c.about,
                at: ts(c.at),
                body: serde_json::to_string(&c.body)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(serde_json::to_string(&rows)?)
}
