//! Communities, their platform workspaces, members and identities: who is who.

use chrono::{DateTime, Utc};

use crate::domain::{CommunityId, Envelope, MemberId, Platform, WorkspaceId};
use crate::error::Result;

/// Who is who, and a community's settings, as the application asks for them.
impl super::Store {
    /// The ids an envelope resolves to, looked up without writing; None when
    /// [`resolve_actor`](super::Store::resolve_actor) has something to store or
    /// refresh first.
    pub async fn lookup_actor(&self, envelope: &Envelope) -> Result<Option<Resolved>> {
        on_engine!(self, e => sql::communities::lookup(&e.read, envelope).await)
    }

    /// Finds or creates the envelope's workspace (and community), member and
    /// identity, and refreshes the display name, in one write transaction.
    pub async fn resolve_actor(&self, envelope: &Envelope, now: DateTime<Utc>) -> Result<Resolved> {
        on_engine!(self, e => e
            .write(async |conn| sql::communities::resolve(conn, envelope, now).await)
            .await)
    }

    pub async fn community(&self, id: CommunityId) -> Result<Community> {
        on_engine!(self, e => sql::communities::community(&e.read, id).await)
    }

    pub async fn workspace(&self, id: WorkspaceId) -> Result<Workspace> {
        on_engine!(self, e => sql::communities::workspace(&e.read, id).await)
    }

    /// The workspaces a community spans, oldest first.
    pub async fn community_workspaces(&self, community: CommunityId) -> Result<Vec<Workspace>> {
        on_engine!(self, e => sql::communities::workspaces_of(&e.read, community).await)
    }

    /// The workspace of a platform's guild or team, if Keel serves it.
    pub async fn workspace_by_external(
        &self,
        platform: Platform,
        external_id: &str,
    ) -> Result<Option<Workspace>> {
        on_engine!(self, e => {
            sql::communities::workspace_by_external(&e.read, platform, external_id).await
        })
    }

    pub async fn member(&self, community: CommunityId, id: MemberId) -> Result<Option<Member>> {
        on_engine!(self, e => sql::communities::member(&e.read, community, id).await)
    }

    /// A member by platform user id in a workspace.
    pub async fn member_by_identity(
        &self,
        workspace: WorkspaceId,
        external_user_id: &str,
    ) -> Result<Option<Member>> {
        on_engine!(self, e => {
            sql::communities::member_by_identity(&e.read, workspace, external_user_id).await
        })
    }

    /// Members of a community called `name`, ignoring case; not those being
    /// erased, nor one being merged into another.
    pub async fn members_named(&self, community: CommunityId, name: &str) -> Result<Vec<Member>> {
        on_engine!(self, e => native::communities::members_named(&e.read, community, name).await)
    }

    /// The member with this identity in the workspace, created as `display_name`
    /// if there is none yet; looked for again under the write lock, so two
    /// mentions of a newcomer make one member.
    pub async fn ensure_member(
        &self,
        community: CommunityId,
        workspace: WorkspaceId,
        external_user_id: &str,
        display_name: &str,
        now: DateTime<Utc>,
    ) -> Result<MemberId> {
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                if let Some(m) =
                    sql::communities::member_by_identity(&mut *conn, workspace, external_user_id)
                        .await?
                {
                    return Ok(m.id);
                }
                sql::communities::create_member(
                    conn,
                    community,
                    workspace,
                    external_user_id,
                    display_name,
                    now,
                )
                .await
            })
            .await)
    }

    /// Whether any of the community's workspaces has somewhere to announce.
    pub async fn has_announcement_channel(&self, community: CommunityId) -> Result<bool> {
        on_engine!(self, e => sql::communities::has_announcement_channel(&e.read, community).await)
    }

    /// Whether the community takes milestones in its digest only, not one post each.
    pub async fn milestones_in_digest_only(&self, community: CommunityId) -> Result<bool> {
        on_engine!(self, e => sql::communities::milestones_in_digest_only(&e.read, community).await)
    }

    /// Keel was added to a guild or team: finds or creates its workspace (and
    /// community) and cancels a purge scheduled for it, in one write transaction.
    pub async fn add_workspace(
        &self,
        platform: Platform,
        external_id: &str,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_engine!(self, e => e
            .write(async |conn| {
                sql::communities::ensure_workspace(conn, platform, external_id, name, now).await?;
                sql::communities::schedule_purge(conn, platform, external_id, None).await
            })
            .await)
    }

    /// Marks a workspace's data for purge at `at`.
    pub async fn schedule_workspace_purge(
        &self,
        platform: Platform,
        external_id: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        on_engine!(self, e => e
            .write(async |conn| {
                sql::communities::schedule_purge(conn, platform, external_id, Some(at)).await
            })
            .await)
    }

    /// A platform user left a workspace (growth's leaves, PRODUCT.md); false if
    /// that changed nothing: a member still linked to another workspace of the
    /// community is still in it, and a user Keel never saw is unknown.
    pub async fn mark_member_left(
        &self,
        workspace: WorkspaceId,
        external_user_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        on_engine!(self, e => e
            .write(async |conn| {
                sql::communities::mark_left(conn, workspace, external_user_id, at).await
            })
            .await)
    }

    /// Away mode on since `since`, or off with None. In the community's write
    /// turn: the community is locked before the member's row, the order the
    /// contribution writer takes them in. On PostgreSQL the member's row first
    /// (its trigger then updating the community's counts) deadlocked against
    /// another process's contribution batch.
    pub async fn set_away(
        &self,
        community: CommunityId,
        member: MemberId,
        since: Option<DateTime<Utc>>,
    ) -> Result<()> {
        on_engine!(self, e => e
            .write_in(community, async |conn| sql::communities::set_away(conn, member, since).await)
            .await)
    }

    /// A member who had left is back; false if they had not left. In the
    /// community's write turn, as [`Store::set_away`] is.
    pub async fn mark_member_returned(
        &self,
        community: CommunityId,
        member: MemberId,
    ) -> Result<bool> {
        on_engine!(self, e => e
            .write_in(community, async |conn| sql::communities::mark_returned(conn, member).await)
            .await)
    }

    /// Sets where a workspace's announcements go and, in the same transaction,
    /// expires milestone announcements older than `milestone_max_age` and makes
    /// the workspace's waiting ones due now; returns how many are due.
    pub async fn set_announcement_channel(
        &self,
        workspace: WorkspaceId,
        channel: &str,
        now: DateTime<Utc>,
        milestone_max_age: chrono::Duration,
    ) -> Result<u64> {
        on_engine!(self, e => e
            .write(async |conn| {
                sql::communities::set_announce_channel(conn, workspace, channel).await?;
                sql::outbox::expire_stale(conn, now, milestone_max_age).await?;
                sql::outbox::make_due(conn, workspace, now).await
            })
            .await)
    }

    /// Sets where a workspace's review requests are posted.
    pub async fn set_review_channel(&self, workspace: WorkspaceId, channel: &str) -> Result<()> {
        on_engine!(self, e => e
            .write(async |conn| sql::communities::set_review_channel(conn, workspace, channel).await)
            .await)
    }

    pub async fn set_organiser_role(&self, workspace: WorkspaceId, role: &str) -> Result<()> {
        on_engine!(self, e => e
            .write(async |conn| sql::communities::set_organiser_role(conn, workspace, role).await)
            .await)
    }

    /// Sets the community's time zone and moves its schedules to it, reading them
    /// first on a read snapshot so the write lock is held only to set them.
    pub async fn set_timezone(
        &self,
        community: CommunityId,
        tz: chrono_tz::Tz,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_engine!(self, e => {
            let existing = sql::schedules::of_community(&e.read, community).await?;
            e.write_in(community, async |conn| {
                sql::communities::set_timezone(conn, community, tz.name()).await?;
                for s in &existing {
                    sql::schedules::set(conn, community, s.kind, s.spec, tz, now).await?;
                }
                Ok(())
            })
            .await
        })
    }

    pub async fn set_inactive_days(&self, community: CommunityId, days: u32) -> Result<()> {
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                sql::communities::set_inactive_days(conn, community, days).await
            })
            .await)
    }

    pub async fn set_alignment_threshold(
        &self,
        community: CommunityId,
        percent: u32,
    ) -> Result<()> {
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                sql::communities::set_alignment_threshold(conn, community, percent).await
            })
            .await)
    }

    pub async fn set_milestones_in_digest_only(
        &self,
        community: CommunityId,
        digest_only: bool,
    ) -> Result<()> {
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                sql::communities::set_milestones_in_digest_only(conn, community, digest_only).await
            })
            .await)
    }

    pub async fn rename_community(&self, community: CommunityId, name: &str) -> Result<()> {
        on_engine!(self, e => e
            .write_in(community, async |conn| sql::communities::rename(conn, community, name).await)
            .await)
    }

    /// The communities `text` may name: the one whose id it is, and those whose
    /// name it is, ignoring case.
    pub async fn community_candidates(&self, text: &str) -> Result<Vec<Candidate>> {
        on_engine!(self, e => sql::communities::candidates(&e.read, text).await)
    }

    /// The workspaces of `platform` whose data is scheduled for purge.
    pub async fn workspaces_awaiting_purge(&self, platform: Platform) -> Result<Vec<String>> {
        on_engine!(self, e => sql::communities::purge_scheduled(&e.read, platform).await)
    }

    /// Marks a workspace for purge at `at` (None cancels).
    pub async fn schedule_purge(
        &self,
        platform: Platform,
        external_id: &str,
        at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        on_engine!(self, e => e
            .write(async |conn| {
                sql::communities::schedule_purge(conn, platform, external_id, at).await
            })
            .await)
    }

    /// Deletes the workspaces whose purge time has passed, and their communities
    /// once no workspace is left, in one write transaction. A member of a
    /// community that lives on, left without any identity, can never ask to be
    /// forgotten: their erasure is requested here (R8).
    pub async fn purge_due_workspaces(&self, now: DateTime<Utc>) -> Result<Purged> {
        on_engine!(self, e => e
            .write(async |conn| sql::communities::purge_due(conn, now).await)
            .await)
    }
}

/// The ids an envelope resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub community: CommunityId,
    pub workspace: WorkspaceId,
    pub member: MemberId,
    pub display_name: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub community_id: CommunityId,
    pub platform: String,
    pub external_id: String,
    pub name: String,
    pub announce_channel: Option<String>,
    pub organiser_role: Option<String>,
    /// Where review requests are posted (`setup review-channel`).
    pub review_channel: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Community {
    pub id: CommunityId,
    pub name: String,
    pub timezone: String,
    pub inactive_days: i64,
    /// Percent; below it, stats warn of mission drift.
    pub alignment_threshold: i64,
    /// How many kudos a member may give over any 7 days.
    pub kudos_per_week: i64,
    pub contribution_count: i64,
    pub created_at: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Member {
    pub id: MemberId,
    pub community_id: CommunityId,
    pub display_name: String,
    pub joined_at: String,
    pub away_since: Option<String>,
    pub contribution_count: i64,
}

/// A community as an operator sees it when naming one: id, name and workspaces.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Candidate {
    pub id: CommunityId,
    pub name: String,
    /// Its workspaces, like "slack acme, discord 1234".
    pub workspaces: String,
}

/// What a purge removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    pub workspaces: u64,
    /// Members of a community that lives on (it spans other workspaces) whose
    /// last identity went with the workspace: their erasure is requested, and the
    /// erasure job removes the rest of them.
    pub members_to_erase: u64,
}
