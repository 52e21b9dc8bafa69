//! Daily activity: per member (`member_daily_activity`) and per community
//! (`community_daily_activity`), kept in step. Counts only: no message text is
//! ever stored (P1). Every change to a member's active days goes through here, so
//! the community's DAU/WAU/MAU stay exact (see domain::activity).

use chrono::NaiveDate;

use crate::domain::{CommunityId, MemberId};
use crate::error::Result;

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
                native::activity::record(conn, community, &[(member, on, counts)]).await
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
}

impl Counts {
    pub(super) fn total(&self) -> i64 {
        self.contributions + self.kudos_given + self.kudos_received + self.messages + self.reactions
    }
    pub(super) fn add(&mut self, o: &Counts) {
        self.contributions += o.contributions;
        self.kudos_given += o.kudos_given;
        self.kudos_received += o.kudos_received;
        self.messages += o.messages;
        self.reactions += o.reactions;
    }
}
