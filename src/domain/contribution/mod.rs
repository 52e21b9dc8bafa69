//! Contributions: the rules one must meet ([`validate`]) and what a batch of them
//! changes ([`plan`]). Pure: the store's writer reads what these need, hands it
//! in, and writes what comes out, in one transaction per batch.

pub mod correction;
pub mod from_message;
pub mod plan;
pub mod snapshot;
pub mod validate;

use chrono::{DateTime, NaiveDate, Utc};

use super::{CommunityId, ContributionId, MemberId, Platform};

/// A contribution as a member logged it, before the rules are checked.
#[derive(Debug, Clone)]
pub struct ContributionRequest {
    pub community: CommunityId,
    pub member: MemberId,
    pub member_name: String,
    pub platform: Platform,
    pub description: String,
    pub amount: Option<f64>,
    pub unit: Option<String>,
    pub goal: Option<String>,
    pub value: Option<String>,
    pub day: NaiveDate,
    pub now: DateTime<Utc>,
}

/// A goal after a contribution counted towards it.
#[derive(Debug, Clone)]
pub struct GoalAfter {
    pub slug: String,
    pub title: String,
    pub unit: Option<String>,
    pub target: f64,
    /// Progress right after this contribution.
    pub progress: f64,
    /// How much this contribution added.
    pub counted: f64,
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub id: ContributionId,
    pub value: Option<String>,
    pub unit: Option<String>,
    pub goal: Option<GoalAfter>,
    /// The member's contribution count after this one.
    pub member_count: i64,
    /// Headlines of the milestones this contribution reached.
    pub milestones: Vec<String>,
    /// Set when it waits for an organiser's review (it added more than its goal's
    /// `review_above`): it counts nowhere until approved, and `goal` is None.
    pub review: Option<ReviewWait>,
}

/// Why a contribution waits for review: what its goal lets through unreviewed.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewWait {
    pub goal_title: String,
    pub goal_slug: String,
    pub review_above: f64,
    pub unit: Option<String>,
}

#[cfg(test)]
pub(crate) mod testing {
    use chrono::TimeZone;

    use super::*;

    /// Ada's (or another member's) plain contribution, on 2025-03-01 at noon.
    pub fn request(community: i64, member: i64) -> ContributionRequest {
        ContributionRequest {
            community: CommunityId(community),
            member: MemberId(member),
            member_name: if member == 1 { "Ada" } else { "Bo" }.into(),
            platform: Platform::Console,
            description: "Did a thing".into(),
            amount: None,
            unit: None,
            goal: None,
            value: None,
            day: NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(),
            now: Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap(),
        }
    }

    impl ContributionRequest {
        pub fn amount(mut self, amount: f64) -> Self {
            self.amount = Some(amount);
            self
        }

        pub fn unit(mut self, unit: &str) -> Self {
            self.unit = Some(unit.into());
            self
        }

        pub fn goal(mut self, slug: &str) -> Self {
            self.goal = Some(slug.into());
            self
        }

        pub fn value(mut self, value: &str) -> Self {
            self.value = Some(value.into());
            self
        }
    }
}
