//! Kudos between members.

use chrono::{DateTime, Utc};

use crate::domain::{CommunityId, MemberId, Platform};
use crate::error::Result;

/// Kudos, as the application gives and counts them.
impl super::Store {
    /// Records kudos from one member to another, with both members' counts, in
    /// one write transaction; returns its id, or why the giver may not give it now.
    pub async fn give_kudos(
        &self,
        community: CommunityId,
        from: MemberId,
        to: MemberId,
        reason: &str,
        platform: Platform,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<i64, KudosRefused>> {
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                sql::kudos::give(conn, community, from, to, reason, platform, now).await
            })
            .await)
    }

    /// (received, given) kudos counts of a member.
    pub async fn kudos_counts(&self, member: MemberId) -> Result<(i64, i64)> {
        on_engine!(self, e => sql::kudos::counts(&e.read, member).await)
    }

    /// Sets how many kudos a member may give over any 7 days.
    pub async fn set_kudos_per_week(&self, community: CommunityId, per_week: u32) -> Result<()> {
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                sql::communities::set_kudos_per_week(conn, community, per_week).await
            })
            .await)
    }
}

/// Why kudos may not be given now, and when it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KudosRefused {
    /// The giver thanked this member within the last 24 hours.
    SameMember { next: DateTime<Utc> },
    /// The giver gave `per_week` kudos over the last 7 days.
    Allowance { per_week: i64, next: DateTime<Utc> },
}

impl KudosRefused {
    /// How long before the same giver may thank the same member again.
    pub const SAME_MEMBER_HOURS: i64 = 24;
    /// The rolling window of the weekly allowance.
    pub const ALLOWANCE_DAYS: i64 = 7;
}

#[derive(Debug, Clone)]
pub struct KudosRow {
    pub id: i64,
    pub from: String,
    pub to: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}
