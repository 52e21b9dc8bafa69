//! The announcement outbox: announcements written in the same transaction as their
//! cause, one delivery row per workspace, marked as each is delivered.

use chrono::{DateTime, Utc};
use sqlx::{SqliteConnection, SqliteExecutor};

use super::ts;
use crate::domain::{AnnouncementId, CommunityId, MemberId, Platform, Reply, WorkspaceId};
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Milestone,
    Digest,
    MissionReminder,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Milestone => "milestone",
            Kind::Digest => "digest",
            Kind::MissionReminder => "mission_reminder",
        }
    }
}

pub struct NewAnnouncement<'a> {
    pub community: CommunityId,
    pub kind: Kind,
    pub achievement_id: Option<i64>,
    /// The member it names, so forgetting them removes it.
    pub about_member: Option<MemberId>,
    pub body: &'a Reply,
}

/// Which rows of [`super::milestones::RECORD_CROSSED`]'s JSON array (with `about`,
/// the member, and `body`, the announcement) it just recorded: only those name
/// the new contribution.
macro_rules! just_achieved {
    () => {
        "jsonb_each(?) AS j JOIN milestone_achievements AS a
         ON a.community_id = j.value->>'community' AND a.milestone_key = j.value->>'key'
            AND a.subject = j.value->>'subject' AND a.contribution_id = j.value->>'contribution'"
    };
}

/// Announces the achievements [`super::milestones::RECORD_CROSSED`] just recorded,
/// from the same JSON, except in communities that take milestones in the digest only.
pub(super) const ANNOUNCE_CROSSED: &str = concat!(
    "INSERT INTO announcements (community_id, kind, achievement_id, about_member_id, body, created_at)
     SELECT a.community_id, 'milestone', a.id, j.value->>'about', j.value->>'body', j.value->>'at'
     FROM ",
    just_achieved!(),
    " JOIN communities AS c ON c.id = a.community_id AND c.milestones_in_digest_only = 0
     ORDER BY j.key"
);

/// When a delivery queued at `$at` for the workspace `$w` falls due: then, or once
/// the platform's hold on that workspace ends (see [`mark_retry`]).
macro_rules! due_after_hold {
    ($at:literal, $w:literal) => {
        concat!(
            "max(",
            $at,
            ", COALESCE(",
            $w,
            "announcements_held_until, ''))"
        )
    };
}

/// Queues [`ANNOUNCE_CROSSED`]'s announcements for every workspace of their
/// community, each when its workspace is no longer held back (see [`mark_retry`]).
pub(super) const DELIVER_CROSSED: &str = concat!(
    "INSERT INTO announcement_deliveries (announcement_id, workspace_id, next_attempt_at)
     SELECT n.id, w.id, ",
    due_after_hold!("j.value->>'at'", "w."),
    " FROM ",
    just_achieved!(),
    " JOIN announcements AS n ON n.achievement_id = a.id
     JOIN workspaces AS w ON w.community_id = n.community_id"
);

/// Queues an announcement for every workspace of its community, each when its
/// workspace is no longer held back (see [`mark_retry`]).
pub async fn enqueue(
    conn: &mut SqliteConnection,
    new: &NewAnnouncement<'_>,
    now: DateTime<Utc>,
) -> Result<AnnouncementId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO announcements (community_id, kind, achievement_id, about_member_id, body, created_at)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(new.community)
    .bind(new.kind.as_str())
    .bind(new.achievement_id)
    .bind(new.about_member)
    .bind(serde_json::to_string(new.body)?)
    .bind(ts(now))
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(concat!(
        "INSERT INTO announcement_deliveries (announcement_id, workspace_id, next_attempt_at)
         SELECT ?, id, ",
        due_after_hold!("?", ""),
        " FROM workspaces WHERE community_id = ?"
    ))
    .bind(id)
    .bind(ts(now))
    .bind(new.community)
    .execute(&mut *conn)
    .await?;
    Ok(AnnouncementId(id))
}

/// A delivery that is due, with where it goes.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub announcement: AnnouncementId,
    pub workspace: WorkspaceId,
    pub community: CommunityId,
    pub platform: Platform,
    /// The guild or team id.
    pub workspace_external_id: String,
    pub channel: Option<String>,
    pub attempts: i64,
    pub body: Reply,
}

type DueRow = (i64, i64, i64, String, Option<String>, i64, String);

/// Pending deliveries for `platform` due at `now`, oldest first.
pub async fn due(
    db: impl SqliteExecutor<'_>,
    platform: Platform,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Delivery>> {
    let rows: Vec<DueRow> = sqlx::query_as(
        "SELECT d.announcement_id, d.workspace_id, a.community_id, w.external_id, w.announce_channel, d.attempts, a.body
         FROM announcement_deliveries d
         JOIN announcements a ON a.id = d.announcement_id
         JOIN workspaces w ON w.id = d.workspace_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND w.platform = ?
         ORDER BY d.next_attempt_at, d.announcement_id LIMIT ?",
    )
    .bind(ts(now))
    .bind(platform.as_str())
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(
            |(announcement, workspace, community, external, channel, attempts, body)| {
                Ok(Delivery {
                    announcement: AnnouncementId(announcement),
                    workspace: WorkspaceId(workspace),
                    community: CommunityId(community),
                    platform,
                    workspace_external_id: external,
                    channel,
                    attempts,
                    body: serde_json::from_str(&body)?,
                })
            },
        )
        .collect()
}

/// When the next pending delivery for `platform` falls due.
pub async fn next_due(db: impl SqliteExecutor<'_>, platform: Platform) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT min(d.next_attempt_at) FROM announcement_deliveries d JOIN workspaces w ON w.id = d.workspace_id
         WHERE d.status = 'pending' AND w.platform = ?",
    )
    .bind(platform.as_str())
    .fetch_one(db)
    .await?)
}

/// Marks delivered; false if it was not pending (someone else delivered it).
pub async fn mark_delivered(
    conn: &mut SqliteConnection,
    d: &Delivery,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE announcement_deliveries SET status = 'delivered', delivered_at = ?, attempts = attempts + 1, last_error = NULL
         WHERE announcement_id = ? AND workspace_id = ? AND status = 'pending'",
    )
    .bind(ts(now))
    .bind(d.announcement)
    .bind(d.workspace)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Schedules another attempt at `at`, and holds back the rest of the workspace's
/// announcements until then: a platform that asks to wait (Slack's rate limits are
/// per workspace) or fails would only fail them too, one attempt each. Those
/// queued already move to `at`, keeping their order; those queued meanwhile are
/// queued for it.
pub async fn mark_retry(
    conn: &mut SqliteConnection,
    d: &Delivery,
    at: DateTime<Utc>,
    error: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE announcement_deliveries SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?
         WHERE announcement_id = ? AND workspace_id = ? AND status = 'pending'",
    )
    .bind(ts(at))
    .bind(error)
    .bind(d.announcement)
    .bind(d.workspace)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE announcement_deliveries SET next_attempt_at = ?1
         WHERE workspace_id = ?2 AND status = 'pending' AND next_attempt_at < ?1",
    )
    .bind(ts(at))
    .bind(d.workspace)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE workspaces SET announcements_held_until = ? WHERE id = ?")
        .bind(ts(at))
        .bind(d.workspace)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn mark_failed(conn: &mut SqliteConnection, d: &Delivery, error: &str) -> Result<()> {
    sqlx::query(
        "UPDATE announcement_deliveries SET status = 'failed', attempts = attempts + 1, last_error = ?
         WHERE announcement_id = ? AND workspace_id = ? AND status = 'pending'",
    )
    .bind(error)
    .bind(d.announcement)
    .bind(d.workspace)
    .execute(conn)
    .await?;
    Ok(())
}

/// Recent announcements of a community, newest first (for `milestone list`).
pub async fn counts_by_status(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT d.status, count(*) FROM announcement_deliveries d JOIN announcements a ON a.id = d.announcement_id
         WHERE a.community_id = ? GROUP BY d.status ORDER BY d.status",
    )
    .bind(community)
    .fetch_all(db)
    .await?)
}

/// Makes a workspace's waiting deliveries due now (its channel was just set).
pub async fn make_due(
    conn: &mut SqliteConnection,
    workspace: WorkspaceId,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("UPDATE announcement_deliveries SET next_attempt_at = ? WHERE workspace_id = ? AND status = 'pending'")
        .bind(ts(now))
        .bind(workspace)
        .execute(conn)
        .await?;
    Ok(())
}
