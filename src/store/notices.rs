//! Private notices to one member, through the outbox: delivered, retried and
//! redacted like every announcement.

use chrono::{DateTime, Utc};

use super::outbox::{Kind, NewAnnouncement};
use crate::domain::{CommunityId, MemberId, Reply, WorkspaceId};
use crate::error::Result;

impl super::Store {
    /// Queues `body` for `member` alone: to their identity in `workspace` if they
    /// have one there (where it happened), else to their first. False when they
    /// have no identity left to reach.
    pub async fn tell_member(
        &self,
        community: CommunityId,
        member: MemberId,
        workspace: WorkspaceId,
        body: &Reply,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                let Some((workspace, user)) =
                    sql::notices::reach_in(conn, member, workspace.0).await?
                else {
                    return Ok(false);
                };
                let new = NewAnnouncement {
                    community,
                    kind: Kind::Direct,
                    achievement_id: None,
                    contribution: None,
                    about_member: Some(member),
                    body,
                    expires_at: None,
                };
                sql::outbox::enqueue_direct(conn, &new, WorkspaceId(workspace), &user, now)
                    .await?;
                Ok(true)
            })
            .await)
    }
}
