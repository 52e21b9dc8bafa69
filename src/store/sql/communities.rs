//! Who is who: communities, workspaces, members and identities' queries.

use chrono::{DateTime, Utc};

use super::{Conn, Executor};
use crate::domain::schedule::ScheduleSpec;
use crate::domain::{CommunityId, Envelope, MemberId, Platform, WorkspaceId};
use crate::error::Result;
use crate::store::communities::{Candidate, Community, Member, Purged, Resolved, Workspace};
use crate::store::forget::Reason;
use crate::store::schedules::Kind;
use crate::store::ts;

/// Community, workspace, member, display name, and how many identities the member has.
type LookupRow = (i64, i64, Option<i64>, Option<String>, i64);

/// Looks up an envelope without writing. None when the workspace or member is not
/// yet stored, or a display name needs refreshing.
///
/// A member with one identity takes that platform's display name as it changes;
/// a member who linked several keeps the name they had, so it does not flip with
/// whichever platform spoke last.
pub async fn lookup(db: impl Executor<'_>, envelope: &Envelope) -> Result<Option<Resolved>> {
    let row: Option<LookupRow> = sqlx::query_as(
        "SELECT w.community_id, w.id, m.id, m.display_name,
                (SELECT count(*) FROM identities x WHERE x.member_id = m.id)
         FROM workspaces w
         LEFT JOIN identities i ON i.workspace_id = w.id AND i.external_user_id = $3
         LEFT JOIN members m ON m.id = i.member_id
         WHERE w.platform = $1 AND w.external_id = $2",
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
pub async fn resolve(conn: &mut Conn, envelope: &Envelope, now: DateTime<Utc>) -> Result<Resolved> {
    let workspace = ensure_workspace(
        conn,
        envelope.platform,
        &envelope.workspace_id,
        &envelope.workspace_name,
        now,
    )
    .await?;
    let mut existing = identified(conn, workspace.id, &envelope.user_id).await?;
    if existing.is_none() {
        // A first sight: in the community's turn, and looked for again, so two
        // processes seeing the same newcomer at once make one member.
        super::super::engine::lock_community(conn, workspace.community_id).await?;
        existing = identified(conn, workspace.id, &envelope.user_id).await?;
    }
    let mut display_name = envelope.user_name.clone();
    let member = match existing {
        Some((id, name, identities)) => {
            if identities > 1 {
                display_name = name;
            } else if name != envelope.user_name {
                sqlx::query("UPDATE members SET display_name = $1 WHERE id = $2")
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

/// The member a platform user is, with their name and how many identities they
/// have.
async fn identified(
    conn: &mut Conn,
    workspace: WorkspaceId,
    external_user_id: &str,
) -> Result<Option<(i64, String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT m.id, m.display_name, (SELECT count(*) FROM identities x WHERE x.member_id = m.id)
         FROM identities i JOIN members m ON m.id = i.member_id
         WHERE i.workspace_id = $1 AND i.external_user_id = $2",
    )
    .bind(workspace)
    .bind(external_user_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// The workspace for a platform's guild or team, creating it and a community of the
/// same name on first sight.
pub async fn ensure_workspace(
    conn: &mut Conn,
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
        "INSERT INTO workspaces (community_id, platform, external_id, name, created_at) VALUES ($1, $2, $3, $4, $5)",
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
    conn: &mut Conn,
    name: &str,
    now: DateTime<Utc>,
) -> Result<CommunityId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO communities (name, created_at) VALUES ($1, $2) RETURNING id",
    )
    .bind(name)
    .bind(ts(now))
    .fetch_one(&mut *conn)
    .await?;
    let community = CommunityId(id);
    let tz = chrono_tz::Tz::UTC;
    super::schedules::set(
        conn,
        community,
        Kind::Digest,
        Some(ScheduleSpec::DEFAULT_DIGEST),
        tz,
        now,
    )
    .await?;
    super::schedules::set(
        conn,
        community,
        Kind::MissionReminder,
        Some(ScheduleSpec::DEFAULT_REMINDER),
        tz,
        now,
    )
    .await?;
    Ok(community)
}

pub async fn workspace_by_external(
    db: impl Executor<'_>,
    platform: Platform,
    external_id: &str,
) -> Result<Option<Workspace>> {
    Ok(sqlx::query_as(
        "SELECT id, community_id, platform, external_id, name, announce_channel, organiser_role, review_channel
         FROM workspaces WHERE platform = $1 AND external_id = $2",
    )
    .bind(platform.as_str())
    .bind(external_id)
    .fetch_optional(db)
    .await?)
}

pub async fn workspace(db: impl Executor<'_>, id: WorkspaceId) -> Result<Workspace> {
    Ok(sqlx::query_as(
        "SELECT id, community_id, platform, external_id, name, announce_channel, organiser_role, review_channel
         FROM workspaces WHERE id = $1",
    )
    .bind(id)
    .fetch_one(db)
    .await?)
}

pub async fn workspaces_of(
    db: impl Executor<'_>,
    community: CommunityId,
) -> Result<Vec<Workspace>> {
    Ok(sqlx::query_as(
        "SELECT id, community_id, platform, external_id, name, announce_channel, organiser_role, review_channel
         FROM workspaces WHERE community_id = $1 ORDER BY id",
    )
    .bind(community)
    .fetch_all(db)
    .await?)
}

pub async fn community(db: impl Executor<'_>, id: CommunityId) -> Result<Community> {
    Ok(sqlx::query_as(
        "SELECT id, name, timezone, inactive_days, alignment_threshold, kudos_per_week, contribution_count, created_at
         FROM communities WHERE id = $1",
    )
    .bind(id)
    .fetch_one(db)
    .await?)
}

/// The communities `text` may name: the one whose id it is, and those whose name
/// it is, ignoring case.
pub async fn candidates(db: impl Executor<'_>, text: &str) -> Result<Vec<Candidate>> {
    let id: Option<i64> = text.trim().parse().ok();
    Ok(sqlx::query_as(
        "SELECT c.id, c.name,
                COALESCE((SELECT string_agg(w.platform || ' ' || w.name, ', ' ORDER BY w.id)
                          FROM workspaces w WHERE w.community_id = c.id), '') AS workspaces
         FROM communities c WHERE c.id = $1 OR lower(c.name) = lower($2) ORDER BY c.id",
    )
    .bind(id)
    .bind(text)
    .fetch_all(db)
    .await?)
}

pub async fn create_member(
    conn: &mut Conn,
    community: CommunityId,
    workspace: WorkspaceId,
    external_user_id: &str,
    display_name: &str,
    now: DateTime<Utc>,
) -> Result<MemberId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO members (community_id, display_name, joined_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(community)
    .bind(display_name)
    .bind(ts(now))
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO identities (workspace_id, external_user_id, member_id) VALUES ($1, $2, $3)",
    )
    .bind(workspace)
    .bind(external_user_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(MemberId(id))
}

pub async fn member(
    db: impl Executor<'_>,
    community: CommunityId,
    id: MemberId,
) -> Result<Option<Member>> {
    Ok(sqlx::query_as(
        "SELECT id, community_id, display_name, joined_at, away_since, contribution_count
         FROM members WHERE community_id = $1 AND id = $2",
    )
    .bind(community)
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// A member by platform user id in a workspace.
pub async fn member_by_identity(
    db: impl Executor<'_>,
    workspace: WorkspaceId,
    external_user_id: &str,
) -> Result<Option<Member>> {
    Ok(sqlx::query_as(
        "SELECT m.id, m.community_id, m.display_name, m.joined_at, m.away_since, m.contribution_count
         FROM identities i JOIN members m ON m.id = i.member_id
         WHERE i.workspace_id = $1 AND i.external_user_id = $2",
    )
    .bind(workspace)
    .bind(external_user_id)
    .fetch_optional(db)
    .await?)
}

/// Records that a member left a workspace (growth's leaves, PRODUCT.md). A member
/// linked to another workspace of the community is still in it, so is not marked.
/// Unknown users (never seen by Keel) change nothing. Health lists leave members
/// who left out, so their signals are computed again.
pub async fn mark_left(
    conn: &mut Conn,
    workspace: WorkspaceId,
    external_user_id: &str,
    at: DateTime<Utc>,
) -> Result<bool> {
    // In the community's turn: its row locked before the member's, whose
    // trigger updates the community's counts. The other order deadlocks on
    // PostgreSQL against a contribution batch, which takes them the other way.
    let community: Option<i64> =
        sqlx::query_scalar("SELECT community_id FROM workspaces WHERE id = $1")
            .bind(workspace)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(community) = community else {
        return Ok(false);
    };
    super::super::engine::lock_community(conn, CommunityId(community)).await?;
    let marked: Option<(i64, i64)> = sqlx::query_as(
        "UPDATE members SET left_at = $1
         WHERE left_at IS NULL
           AND id = (SELECT member_id FROM identities WHERE workspace_id = $2 AND external_user_id = $3)
           AND NOT EXISTS (SELECT 1 FROM identities o WHERE o.member_id = members.id AND o.workspace_id != $2)
         RETURNING community_id, id",
    )
    .bind(ts(at))
    .bind(workspace)
    .bind(external_user_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((community, member)) = marked {
        super::health::signals_changed(conn, CommunityId(community), MemberId(member)).await?;
    }
    Ok(marked.is_some())
}

/// A member who had left is back; they keep the day they first joined, and show
/// in health lists again.
pub async fn mark_returned(conn: &mut Conn, member: MemberId) -> Result<bool> {
    let returned: Option<i64> = sqlx::query_scalar(
        "UPDATE members SET left_at = NULL WHERE id = $1 AND left_at IS NOT NULL RETURNING community_id",
    )
    .bind(member)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(community) = returned {
        super::health::signals_changed(conn, CommunityId(community), member).await?;
    }
    Ok(returned.is_some())
}

pub async fn set_away(
    conn: &mut Conn,
    member: MemberId,
    since: Option<DateTime<Utc>>,
) -> Result<()> {
    sqlx::query("UPDATE members SET away_since = $1 WHERE id = $2")
        .bind(since.map(ts))
        .bind(member)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether any of the community's workspaces has an announcement channel (the
/// console prints announcements in its session, so it always has one).
pub async fn has_announcement_channel(
    db: impl Executor<'_>,
    community: CommunityId,
) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM workspaces
         WHERE community_id = $1 AND (announce_channel IS NOT NULL OR platform = 'console'))",
    )
    .bind(community)
    .fetch_one(db)
    .await?)
}

/// Where a workspace's review requests are posted.
pub async fn set_review_channel(
    conn: &mut Conn,
    workspace: WorkspaceId,
    channel: &str,
) -> Result<()> {
    sqlx::query("UPDATE workspaces SET review_channel = $1 WHERE id = $2")
        .bind(channel)
        .bind(workspace)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_announce_channel(
    conn: &mut Conn,
    workspace: WorkspaceId,
    channel: &str,
) -> Result<()> {
    sqlx::query("UPDATE workspaces SET announce_channel = $1 WHERE id = $2")
        .bind(channel)
        .bind(workspace)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_organiser_role(conn: &mut Conn, workspace: WorkspaceId, role: &str) -> Result<()> {
    sqlx::query("UPDATE workspaces SET organiser_role = $1 WHERE id = $2")
        .bind(role)
        .bind(workspace)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_timezone(conn: &mut Conn, community: CommunityId, tz: &str) -> Result<()> {
    sqlx::query("UPDATE communities SET timezone = $1 WHERE id = $2")
        .bind(tz)
        .bind(community)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_kudos_per_week(
    conn: &mut Conn,
    community: CommunityId,
    per_week: u32,
) -> Result<()> {
    sqlx::query("UPDATE communities SET kudos_per_week = $1 WHERE id = $2")
        .bind(i64::from(per_week))
        .bind(community)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn set_inactive_days(conn: &mut Conn, community: CommunityId, days: u32) -> Result<()> {
    sqlx::query("UPDATE communities SET inactive_days = $1 WHERE id = $2")
        .bind(i64::from(days))
        .bind(community)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_alignment_threshold(
    conn: &mut Conn,
    community: CommunityId,
    percent: u32,
) -> Result<()> {
    sqlx::query("UPDATE communities SET alignment_threshold = $1 WHERE id = $2")
        .bind(i64::from(percent))
        .bind(community)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn rename(conn: &mut Conn, community: CommunityId, name: &str) -> Result<()> {
    sqlx::query("UPDATE communities SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(community)
        .execute(conn)
        .await?;
    Ok(())
}

/// The workspaces of `platform` whose data is scheduled for purge.
pub async fn purge_scheduled(db: impl Executor<'_>, platform: Platform) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT external_id FROM workspaces WHERE platform = $1 AND purge_after IS NOT NULL",
    )
    .bind(platform.as_str())
    .fetch_all(db)
    .await?)
}

/// Marks a workspace for purge at `at` (None cancels, as on reinstall).
pub async fn schedule_purge(
    conn: &mut Conn,
    platform: Platform,
    external_id: &str,
    at: Option<DateTime<Utc>>,
) -> Result<()> {
    sqlx::query("UPDATE workspaces SET purge_after = $1 WHERE platform = $2 AND external_id = $3")
        .bind(at.map(ts))
        .bind(platform.as_str())
        .bind(external_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes workspaces whose purge time has passed, and their communities once no
/// workspace is left (everything of a community cascades from its row). A member
/// of a community that lives on, left without any identity, can never ask to be
/// forgotten: their erasure is requested here (R8).
pub async fn purge_due(conn: &mut Conn, now: DateTime<Utc>) -> Result<Purged> {
    let due: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, community_id FROM workspaces WHERE purge_after IS NOT NULL AND purge_after <= $1",
    )
    .bind(ts(now))
    .fetch_all(&mut *conn)
    .await?;
    let mut purged = Purged::default();
    for (workspace, community) in &due {
        let stranded: Vec<MemberId> = sqlx::query_scalar(
            "SELECT DISTINCT i.member_id FROM identities i
             WHERE i.workspace_id = $1
               AND NOT EXISTS (SELECT 1 FROM identities o WHERE o.member_id = i.member_id AND o.workspace_id <> $1)
               AND EXISTS (SELECT 1 FROM workspaces w WHERE w.community_id = $2 AND w.id <> $1)",
        )
        .bind(workspace)
        .bind(community)
        .fetch_all(&mut *conn)
        .await?;
        super::forget::request_all(conn, &stranded, Reason::Purge, now).await?;
        purged.members_to_erase += stranded.len() as u64;
        sqlx::query("DELETE FROM workspaces WHERE id = $1")
            .bind(workspace)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM communities WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM workspaces WHERE community_id = $1)")
            .bind(community)
            .execute(&mut *conn)
            .await?;
        purged.workspaces += 1;
    }
    Ok(purged)
}

/// Whether the community takes milestones in its digest only, not one post each.
pub async fn milestones_in_digest_only(
    db: impl Executor<'_>,
    community: CommunityId,
) -> Result<bool> {
    let flag: Option<i64> =
        sqlx::query_scalar("SELECT milestones_in_digest_only FROM communities WHERE id = $1")
            .bind(community)
            .fetch_optional(db)
            .await?;
    Ok(flag == Some(1))
}

pub async fn set_milestones_in_digest_only(
    conn: &mut Conn,
    community: CommunityId,
    digest_only: bool,
) -> Result<()> {
    sqlx::query("UPDATE communities SET milestones_in_digest_only = $1 WHERE id = $2")
        .bind(i64::from(digest_only))
        .bind(community)
        .execute(conn)
        .await?;
    Ok(())
}
