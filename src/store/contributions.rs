//! Reading contributions. They are written in batches by the group-commit writer
//! (store::group_commit), under the rules of domain::contribution.

use chrono::{DateTime, NaiveDate, Utc};

pub use crate::domain::contribution::{ContributionRequest, GoalAfter, Recorded};
use crate::domain::{CommunityId, ContributionId, GoalId, MemberId};
use crate::error::Result;

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
