//! Communities, their platform workspaces, members and identities: who is who.

use chrono::{DateTime, Utc};
use sqlx::{SqliteConnection, SqliteExecutor};

use super::{schedules, ts};
use crate::domain::schedule::ScheduleSpec;
use crate::domain::{CommunityId, Envelope, MemberId, Platform, WorkspaceId};
use crate::error::Result;

/// Who is who, and a community's settings, as the application asks for them.
impl super::Store {
    /// The ids an envelope resolves to, looked up without writing; None when
    /// [`resolve_actor`](super::Store::resolve_actor) has something to store or
    /// refresh first.
    pub async fn lookup_actor(&self, envelope: &Envelope) -> Result<Option<Resolved>> {
        lookup(&self.sqlite().read, envelope).await
    }

    /// Finds or creates the envelope's workspace (and community), member and
    /// identity, and refreshes the display name, in one write transaction.
    pub async fn resolve_actor(&self, envelope: &Envelope, now: DateTime<Utc>) -> Result<Resolved> {
        self.sqlite()
            .write(async |conn| resolve(conn, envelope, now).await)
            .await
    }

    pub async fn community(&self, id: CommunityId) -> Result<Community> {
        community(&self.sqlite().read, id).await
    }

    pub async fn workspace(&self, id: WorkspaceId) -> Result<Workspace> {
        workspace(&self.sqlite().read, id).await
    }

    /// The workspaces a community spans, oldest first.
    pub async fn community_workspaces(&self, community: CommunityId) -> Result<Vec<Workspace>> {
        workspaces_of(&self.sqlite().read, community).await
    }

    /// The workspace of a platform's guild or team, if Keel serves it.
    pub async fn workspace_by_external(
        &self,
        platform: Platform,
        external_id: &str,
    ) -> Result<Option<Workspace>> {
        workspace_by_external(&self.sqlite().read, platform, external_id).await
    }

    pub async fn member(&self, community: CommunityId, id: MemberId) -> Result<Option<Member>> {
        member(&self.sqlite().read, community, id).await
    }

    /// A member by platform user id in a workspace.
    pub async fn member_by_identity(
        &self,
        workspace: WorkspaceId,
        external_user_id: &str,
    ) -> Result<Option<Member>> {
        member_by_identity(&self.sqlite().read, workspace, external_user_id).await
    }

    /// Members of a community called `name`, ignoring case; not those being
    /// erased, nor one being merged into another.
    pub async fn members_named(&self, community: CommunityId, name: &str) -> Result<Vec<Member>> {
        members_named(&self.sqlite().read, community, name).await
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
        self.sqlite()
            .write(async |conn| {
                if let Some(m) = member_by_identity(&mut *conn, workspace, external_user_id).await?
                {
                    return Ok(m.id);
                }
                create_member(
                    conn,
                    community,
                    workspace,
                    external_user_id,
                    display_name,
                    now,
                )
                .await
            })
            .await
    }

    /// Whether any of the community's workspaces has somewhere to announce.
    pub async fn has_announcement_channel(&self, community: CommunityId) -> Result<bool> {
        has_announcement_channel(&self.sqlite().read, community).await
    }

    /// Whether the community takes milestones in its digest only, not one post each.
    pub async fn milestones_in_digest_only(&self, community: CommunityId) -> Result<bool> {
        milestones_in_digest_only(&self.sqlite().read, community).await
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
        self.sqlite()
            .write(async |conn| {
                ensure_workspace(conn, platform, external_id, name, now).await?;
                schedule_purge(conn, platform, external_id, None).await
            })
            .await
    }

    /// Marks a workspace's data for purge at `at`.
    pub async fn schedule_workspace_purge(
        &self,
        platform: Platform,
        external_id: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.sqlite()
            .write(async |conn| schedule_purge(conn, platform, external_id, Some(at)).await)
            .await
    }

    /// A member who had left is back; false if they had not left.
    pub async fn mark_member_returned(&self, member: MemberId) -> Result<bool> {
        self.sqlite()
            .write(async |conn| mark_returned(conn, member).await)
            .await
    }

    /// A platform user left a workspace; false if that changed nothing (see
    /// [`mark_left`]).
    pub async fn mark_member_left(
        &self,
        workspace: WorkspaceId,
        external_user_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        self.sqlite()
            .write(async |conn| mark_left(conn, workspace, external_user_id, at).await)
            .await
    }

    /// Away mode on since `since`, or off with None.
    pub async fn set_away(&self, member: MemberId, since: Option<DateTime<Utc>>) -> Result<()> {
        self.sqlite()
            .write(async |conn| set_away(conn, member, since).await)
            .await
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
        self.sqlite()
            .write(async |conn| {
                set_announce_channel(conn, workspace, channel).await?;
                super::outbox::expire_stale(conn, now, milestone_max_age).await?;
                super::outbox::make_due(conn, workspace, now).await
            })
            .await
    }

    pub async fn set_organiser_role(&self, workspace: WorkspaceId, role: &str) -> Result<()> {
        self.sqlite()
            .write(async |conn| set_organiser_role(conn, workspace, role).await)
            .await
    }

    /// Sets the community's time zone and moves its schedules to it, reading them
    /// first on a read snapshot so the write lock is held only to set them.
    pub async fn set_timezone(
        &self,
        community: CommunityId,
        tz: chrono_tz::Tz,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let existing = schedules::of_community(&self.sqlite().read, community).await?;
        self.sqlite()
            .write(async |conn| {
                set_timezone(conn, community, tz.name()).await?;
                for s in &existing {
                    schedules::set(conn, community, s.kind, s.spec, tz, now).await?;
                }
                Ok(())
            })
            .await
    }

    pub async fn set_inactive_days(&self, community: CommunityId, days: u32) -> Result<()> {
        self.sqlite()
            .write(async |conn| set_inactive_days(conn, community, days).await)
            .await
    }

    pub async fn set_alignment_threshold(
        &self,
        community: CommunityId,
        percent: u32,
    ) -> Result<()> {
        self.sqlite()
            .write(async |conn| set_alignment_threshold(conn, community, percent).await)
            .await
    }

    pub async fn set_milestones_in_digest_only(
        &self,
        community: CommunityId,
        digest_only: bool,
    ) -> Result<()> {
        self.sqlite()
            .write(async |conn| set_milestones_in_digest_only(conn, community, digest_only).await)
            .await
    }

    pub async fn rename_community(&self, community: CommunityId, name: &str) -> Result<()> {
        self.sqlite()
            .write(async |conn| rename(conn, community, name).await)
            .await
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
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Community {
    pub id: CommunityId,
    pub name: String,
    pub timezone: String,
    pub inactive_days: i64,
    /// Percent; below it, stats warn of mission drift.
    pub alignment_threshold: i64,
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

/// Community, workspace, member, display name, and how many identities the member has.
type LookupRow = (i64, i64, Option<i64>, Option<String>, i64);

/// Looks up an envelope without writing. None when the workspace or member is not
/// yet stored, or a display name needs refreshing.
///
/// A member with one identity takes that platform's display name as it changes;
/// a member who linked several keeps the name they had, so it does not flip with
/// whichever platform spoke last.
pub async fn lookup(db: impl SqliteExecutor<'_>, envelope: &Envelope) -> Result<Option<Resolved>> {
    let row: Option<LookupRow> = sqlx::query_as(
        "SELECT w.community_id, w.id, m.id, m.display_name,
                (SELECT count(*) FROM identities x WHERE x.member_id = m.id)
         FROM workspaces w
         LEFT JOIN identities i ON i.workspace_id = w.id AND i.external_user_id = ?3
         LEFT JOIN members m ON m.id = i.member_id
         WHERE w.platform = ?1 AND w.external_id = ?2",
    )
    .bind(envelope.platform.as_str())
    .bind(&envelope.workspace_id)
    .bind(&envelope.user_id)
    .fetch_optional(db)
    .await?;
    Ok(match row {
        Some((community, workspace, Some(member), Some(name), identities))
            if name == envelope.user_name || identities > 1 =>
        {
            Some(Resolved {
                community: CommunityId(community),
                workspace: WorkspaceId(workspace),
                member: MemberId(member),
                display_name: name,
            })
        }
        _ => None,
    })
}

/// Finds or creates the workspace (and its community), the member and their
/// identity, and refreshes the display name. Runs inside a write transaction.
pub async fn resolve(
    conn: &mut SqliteConnection,
    envelope: &Envelope,
    now: DateTime<Utc>,
) -> Result<Resolved> {
    let workspace = ensure_workspace(
        conn,
        envelope.platform,
        &envelope.workspace_id,
        &envelope.workspace_name,
        now,
    )
    .await?;
    let existing: Option<(i64, String, i64)> = sqlx::query_as(
        "SELECT m.id, m.display_name, (SELECT count(*) FROM identities x WHERE x.member_id = m.id)
         FROM identities i JOIN members m ON m.id = i.member_id
         WHERE i.workspace_id = ? AND i.external_user_id = ?",
    )
    .bind(workspace.id)
    .bind(&envelope.user_id)
    .fetch_optional(&mut *conn)
    .await?;
    let mut display_name = envelope.user_name.clone();
    let member = match existing {
        Some((id, name, identities)) => {
            if identities > 1 {
                display_name = name;
            } else if name != envelope.user_name {
                sqlx::query("UPDATE members SET display_name = ? WHERE id = ?")
                    .bind(&envelope.user_name)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
            }
            MemberId(id)
        }
        None => {
            create_member(
                conn,
                workspace.community_id,
                workspace.id,
                &envelope.user_id,
                &envelope.user_name,
                now,
            )
            .await?
        }
    };
    Ok(Resolved {
        community: workspace.community_id,
        workspace: workspace.id,
        member,
        display_name,
    })
}

/// The workspace for a platform's guild or team, creating it and a community of the
/// same name on first sight.
pub async fn ensure_workspace(
    conn: &mut SqliteConnection,
    platform: Platform,
    external_id: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Workspace> {
    if let Some(found) = workspace_by_external(&mut *conn, platform, external_id).await? {
        return Ok(found);
    }
    let community = create_community(conn, name, now).await?;
    sqlx::query(
        "INSERT INTO workspaces (community_id, platform, external_id, name, created_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(community)
    .bind(platform.as_str())
    .bind(external_id)
    .bind(name)
    .bind(ts(now))
    .execute(&mut *conn)
    .await?;
    tracing::info!(%platform, community = %community, "new community for a new workspace");
    Ok(workspace_by_external(&mut *conn, platform, external_id)
        .await?
        .expect("inserted in this transaction"))
}

pub async fn create_community(
    conn: &mut SqliteConnection,
    name: &str,
    now: DateTime<Utc>,
) -> Result<CommunityId> {
    let id: i64 =
        sqlx::query_scalar("INSERT INTO communities (name, created_at) VALUES (?, ?) RETURNING id")
            .bind(name)
            .bind(ts(now))
            .fetch_one(&mut *conn)
            .await?;
    let community = CommunityId(id);
    let tz = chrono_tz::Tz::UTC;
    schedules::set(
        conn,
        community,
        schedules::Kind::Digest,
        Some(ScheduleSpec::DEFAULT_DIGEST),
        tz,
        now,
    )
    .await?;
    schedules::set(
        conn,
        community,
        schedules::Kind::MissionReminder,
        Some(ScheduleSpec::DEFAULT_REMINDER),
        tz,
        now,
    )
    .await?;
    Ok(community)
}

pub async fn workspace_by_external(
    db: impl SqliteExecutor<'_>,
    platform: Platform,
    external_id: &str,
) -> Result<Option<Workspace>> {
    Ok(sqlx::query_as(
        "SELECT id, community_id, platform, external_id, name, announce_channel, organiser_role
         FROM workspaces WHERE platform = ? AND external_id = ?",
    )
    .bind(platform.as_str())
    .bind(external_id)
    .fetch_optional(db)
    .await?)
}

pub async fn workspace(db: impl SqliteExecutor<'_>, id: WorkspaceId) -> Result<Workspace> {
    Ok(sqlx::query_as(
        "SELECT id, community_id, platform, external_id, name, announce_channel, organiser_role
         FROM workspaces WHERE id = ?",
    )
    .bind(id)
    .fetch_one(db)
    .await?)
}

pub async fn workspaces_of(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
) -> Result<Vec<Workspace>> {
    Ok(sqlx::query_as(
        "SELECT id, community_id, platform, external_id, name, announce_channel, organiser_role
         FROM workspaces WHERE community_id = ? ORDER BY id",
    )
    .bind(community)
    .fetch_all(db)
    .await?)
}

pub async fn community(db: impl SqliteExecutor<'_>, id: CommunityId) -> Result<Community> {
    Ok(sqlx::query_as(
        "SELECT id, name, timezone, inactive_days, alignment_threshold, contribution_count, created_at FROM communities WHERE id = ?",
    )
    .bind(id)
    .fetch_one(db)
    .await?)
}

/// A community as an operator sees it when naming one: id, name and workspaces.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Candidate {
    pub id: CommunityId,
    pub name: String,
    /// Its workspaces, like "slack acme, discord 1234".
    pub workspaces: String,
}

/// The communities `text` may name: the one whose id it is, and those whose name
/// it is, ignoring case.
pub async fn candidates(db: impl SqliteExecutor<'_>, text: &str) -> Result<Vec<Candidate>> {
    let id: Option<i64> = text.trim().parse().ok();
    Ok(sqlx::query_as(
        "SELECT c.id, c.name, COALESCE((SELECT group_concat(w.platform || ' ' || w.name, ', ')
                                        FROM workspaces w WHERE w.community_id = c.id), '') AS workspaces
         FROM communities c WHERE c.id = ? OR c.name = ? COLLATE NOCASE ORDER BY c.id",
    )
    .bind(id)
    .bind(text)
    .fetch_all(db)
    .await?)
}

pub async fn create_member(
    conn: &mut SqliteConnection,
    community: CommunityId,
    workspace: WorkspaceId,
    external_user_id: &str,
    display_name: &str,
    now: DateTime<Utc>,
) -> Result<MemberId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO members (community_id, display_name, joined_at) VALUES (?, ?, ?) RETURNING id",
    )
    .bind(community)
    .bind(display_name)
    .bind(ts(now))
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO identities (workspace_id, external_user_id, member_id) VALUES (?, ?, ?)",
    )
    .bind(workspace)
    .bind(external_user_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(MemberId(id))
}

pub async fn member(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    id: MemberId,
) -> Result<Option<Member>> {
    Ok(sqlx::query_as(
        "SELECT id, community_id, display_name, joined_at, away_since, contribution_count
         FROM members WHERE community_id = ? AND id = ?",
    )
    .bind(community)
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// A member by platform user id in a workspace.
pub async fn member_by_identity(
    db: impl SqliteExecutor<'_>,
    workspace: WorkspaceId,
    external_user_id: &str,
) -> Result<Option<Member>> {
    Ok(sqlx::query_as(
        "SELECT m.id, m.community_id, m.display_name, m.joined_at, m.away_since, m.contribution_count
         FROM identities i JOIN members m ON m.id = i.member_id
         WHERE i.workspace_id = ? AND i.external_user_id = ?",
    )
    .bind(workspace)
    .bind(external_user_id)
    .fetch_optional(db)
    .await?)
}

/// Records that a member left a workspace (growth's leaves, PRODUCT.md). A member
/// linked to another workspace of the community is still in it, so is not marked.
/// Unknown users (never seen by Keel) change nothing.
pub async fn mark_left(
    conn: &mut SqliteConnection,
    workspace: WorkspaceId,
    external_user_id: &str,
    at: DateTime<Utc>,
) -> Result<bool> {
    let marked = sqlx::query(
        "UPDATE members SET left_at = ?1
         WHERE left_at IS NULL
           AND id = (SELECT member_id FROM identities WHERE workspace_id = ?2 AND external_user_id = ?3)
           AND NOT EXISTS (SELECT 1 FROM identities o WHERE o.member_id = members.id AND o.workspace_id != ?2)",
    )
    .bind(ts(at))
    .bind(workspace)
    .bind(external_user_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(marked > 0)
}

/// A member who had left is back; they keep the day they first joined.
pub async fn mark_returned(conn: &mut SqliteConnection, member: MemberId) -> Result<bool> {
    let returned =
        sqlx::query("UPDATE members SET left_at = NULL WHERE id = ? AND left_at IS NOT NULL")
            .bind(member)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    Ok(returned > 0)
}

/// Members of a community whose display name is `name`, ignoring case; not those
/// being erased, nor one being merged into another.
pub async fn members_named(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    name: &str,
) -> Result<Vec<Member>> {
    Ok(sqlx::query_as(
        "SELECT id, community_id, display_name, joined_at, away_since, contribution_count
         FROM members WHERE community_id = ? AND display_name = ? COLLATE NOCASE
           AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.member_id = members.id)
           AND NOT EXISTS (SELECT 1 FROM merges g WHERE g.from_member_id = members.id)
         ORDER BY id LIMIT 5",
    )
    .bind(community)
    .bind(name)
    .fetch_all(db)
    .await?)
}

pub async fn set_away(
    conn: &mut SqliteConnection,
    member: MemberId,
    since: Option<DateTime<Utc>>,
) -> Result<()> {
    sqlx::query("UPDATE members SET away_since = ? WHERE id = ?")
        .bind(since.map(ts))
        .bind(member)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether any of the community's workspaces has an announcement channel (the
/// console prints announcements in its session, so it always has one).
pub async fn has_announcement_channel(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM workspaces
         WHERE community_id = ? AND (announce_channel IS NOT NULL OR platform = 'console'))",
    )
    .bind(community)
    .fetch_one(db)
    .await?)
}

pub async fn set_announce_channel(
    conn: &mut SqliteConnection,
    workspace: WorkspaceId,
    channel: &str,
) -> Result<()> {
    sqlx::query("UPDATE workspaces SET announce_channel = ? WHERE id = ?")
        .bind(channel)
        .bind(workspace)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_organiser_role(
    conn: &mut SqliteConnection,
    workspace: WorkspaceId,
    role: &str,
) -> Result<()> {
    sqlx::query("UPDATE workspaces SET organiser_role = ? WHERE id = ?")
        .bind(role)
        .bind(workspace)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_timezone(
    conn: &mut SqliteConnection,
    community: CommunityId,
    tz: &str,
) -> Result<()> {
    sqlx::query("UPDATE communities SET timezone = ? WHERE id = ?")
        .bind(tz)
        .bind(community)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_inactive_days(
    conn: &mut SqliteConnection,
    community: CommunityId,
    days: u32,
) -> Result<()> {
    sqlx::query("UPDATE communities SET inactive_days = ? WHERE id = ?")
        .bind(i64::from(days))
        .bind(community)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_alignment_threshold(
    conn: &mut SqliteConnection,
    community: CommunityId,
    percent: u32,
) -> Result<()> {
    sqlx::query("UPDATE communities SET alignment_threshold = ? WHERE id = ?")
        .bind(i64::from(percent))
        .bind(community)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn rename(conn: &mut SqliteConnection, community: CommunityId, name: &str) -> Result<()> {
    sqlx::query("UPDATE communities SET name = ? WHERE id = ?")
        .bind(name)
        .bind(community)
        .execute(conn)
        .await?;
    Ok(())
}

/// The workspaces of `platform` whose data is scheduled for purge.
pub async fn purge_scheduled(
    db: impl SqliteExecutor<'_>,
    platform: Platform,
) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT external_id FROM workspaces WHERE platform = ? AND purge_after IS NOT NULL",
    )
    .bind(platform.as_str())
    .fetch_all(db)
    .await?)
}

/// Marks a workspace for purge at `at` (None cancels, as on reinstall).
pub async fn schedule_purge(
    conn: &mut SqliteConnection,
    platform: Platform,
    external_id: &str,
    at: Option<DateTime<Utc>>,
) -> Result<()> {
    sqlx::query("UPDATE workspaces SET purge_after = ? WHERE platform = ? AND external_id = ?")
        .bind(at.map(ts))
        .bind(platform.as_str())
        .bind(external_id)
        .execute(conn)
        .await?;
    Ok(())
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

/// Deletes workspaces whose purge time has passed, and their communities once no
/// workspace is left (everything of a community cascades from its row). A member
/// of a community that lives on, left without any identity, can never ask to be
/// forgotten: their erasure is requested here (R8).
pub async fn purge_due(conn: &mut SqliteConnection, now: DateTime<Utc>) -> Result<Purged> {
    let due: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, community_id FROM workspaces WHERE purge_after IS NOT NULL AND purge_after <= ?",
    )
    .bind(ts(now))
    .fetch_all(&mut *conn)
    .await?;
    let mut purged = Purged::default();
    for (workspace, community) in &due {
        let stranded: Vec<MemberId> = sqlx::query_scalar(
            "SELECT DISTINCT i.member_id FROM identities i
             WHERE i.workspace_id = ?1
               AND NOT EXISTS (SELECT 1 FROM identities o WHERE o.member_id = i.member_id AND o.workspace_id <> ?1)
               AND EXISTS (SELECT 1 FROM workspaces w WHERE w.community_id = ?2 AND w.id <> ?1)",
        )
        .bind(workspace)
        .bind(community)
        .fetch_all(&mut *conn)
        .await?;
        super::forget::request_all(conn, &stranded, super::forget::Reason::Purge, now).await?;
        purged.members_to_erase += stranded.len() as u64;
        sqlx::query("DELETE FROM workspaces WHERE id = ?")
            .bind(workspace)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM communities WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM workspaces WHERE community_id = ?1)")
            .bind(community)
            .execute(&mut *conn)
            .await?;
        purged.workspaces += 1;
    }
    Ok(purged)
}

/// Whether the community takes milestones in its digest only, not one post each.
pub async fn milestones_in_digest_only(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
) -> Result<bool> {
    let flag: Option<i64> =
        sqlx::query_scalar("SELECT milestones_in_digest_only FROM communities WHERE id = ?")
            .bind(community)
            .fetch_optional(db)
            .await?;
    Ok(flag == Some(1))
}

pub async fn set_milestones_in_digest_only(
    conn: &mut SqliteConnection,
    community: CommunityId,
    digest_only: bool,
) -> Result<()> {
    sqlx::query("UPDATE communities SET milestones_in_digest_only = ? WHERE id = ?")
        .bind(i64::from(digest_only))
        .bind(community)
        .execute(conn)
        .await?;
    Ok(())
}

impl super::Store {
    /// The communities `text` may name: the one whose id it is, and those whose
    /// name it is, ignoring case.
    pub async fn community_candidates(&self, text: &str) -> Result<Vec<Candidate>> {
        candidates(&self.sqlite().read, text).await
    }

    /// The workspaces of `platform` whose data is scheduled for purge.
    pub async fn workspaces_awaiting_purge(&self, platform: Platform) -> Result<Vec<String>> {
        purge_scheduled(&self.sqlite().read, platform).await
    }

    /// Marks a workspace for purge at `at` (None cancels).
    pub async fn schedule_purge(
        &self,
        platform: Platform,
        external_id: &str,
        at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        self.sqlite()
            .write(async |conn| schedule_purge(conn, platform, external_id, at).await)
            .await
    }

    /// Deletes the workspaces whose purge time has passed, in one write transaction
    /// (see [`purge_due`]).
    pub async fn purge_due_workspaces(&self, now: DateTime<Utc>) -> Result<Purged> {
        self.sqlite()
            .write(async |conn| purge_due(conn, now).await)
            .await
    }
}
