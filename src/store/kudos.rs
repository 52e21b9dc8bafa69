//! Kudos between members.

use chrono::{DateTime, Utc};

use crate::domain::{CommunityId, MemberId, Platform};
use crate::error::Result;

/// Kudos, as the application gives and counts them.
impl super::Store {
    /// Records kudos from one member to another, with both members' counts, in
    /// one write transaction; returns its id.
    pub async fn give_kudos(
        &self,
        community: CommunityId,
        from: MemberId,
        to: MemberId,
        reason: &str,
        platform: Platform,
        now: DateTime<Utc>,
    ) -> Result<i64> {
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
}

#[derive(Debug, Clone)]
pub struct KudosRow {
    pub id: i64,
    pub from: String,
    pub to: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}
