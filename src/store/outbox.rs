//! The outbox: announcements written in the same transaction as their cause, one
//! delivery row per workspace (or one private message to a member), each attempt
//! recorded before it is made and each outcome after (see migration 0010). Each
//! announcement records the members it names (migration 0012), so that erasing one
//! redacts it and edits the messages it was posted as ([`super::redaction`]).

use chrono::{DateTime, Utc};
use sqlx::{SqliteConnection, SqliteExecutor};

use super::{built, parse_ts, ts};
use crate::domain::{AnnouncementId, CommunityId, MemberId, Platform, Reply, WorkspaceId};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Milestone,
    Digest,
    MissionReminder,
    /// A private message to one member.
    Direct,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Milestone => "milestone",
            Kind::Digest => "digest",
            Kind::MissionReminder => "mission_reminder",
            Kind::Direct => "direct",
        }
    }

    fn parse(s: &str) -> Result<Kind> {
        Ok(match s {
            "milestone" => Kind::Milestone,
            "digest" => Kind::Digest,
            "mission_reminder" => Kind::MissionReminder,
            "direct" => Kind::Direct,
            other => {
                return Err(Error::internal(
                    "stored announcement kind",
                    other.to_string(),
                ));
            }
        })
    }
}

/// What a delivery does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Post the announcement.
    Post,
    /// Edit the message an earlier post made to show the announcement as it is now
    /// (redacted): safe to repeat, so never uncertain, and never expired.
    Edit,
}

impl Action {
    fn parse(s: &str) -> Result<Action> {
        match s {
            "post" => Ok(Action::Post),
            "edit" => Ok(Action::Edit),
            other => Err(Error::internal("stored delivery action", other.to_string())),
        }
    }
}

pub struct NewAnnouncement<'a> {
    pub community: CommunityId,
    pub kind: Kind,
    pub achievement_id: Option<i64>,
    /// The member it is about (a message to them), so erasing them redacts it whole.
    /// Members its body names by reference are recorded too, for their lines alone.
    pub about_member: Option<MemberId>,
    pub body: &'a Reply,
    /// When it stops being worth posting (a digest: when the next one is due).
    pub expires_at: Option<DateTime<Utc>>,
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

/// Records the member each of [`ANNOUNCE_CROSSED`]'s announcements names (the
/// contributor): whole when it is their own milestone, else for the line quoting
/// their contribution.
pub(super) const NAME_CROSSED: &str = concat!(
    "INSERT INTO announcement_members (announcement_id, member_id, whole)
     SELECT n.id, j.value->>'about', a.member_id IS NOT NULL FROM ",
    just_achieved!(),
    " JOIN announcements AS n ON n.achievement_id = a.id
     WHERE j.value->>'about' IS NOT NULL
     ON CONFLICT DO NOTHING"
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
    let id = insert_announcement(conn, new, now).await?;
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

/// Queues a private message to one member: `recipient` is their user id in
/// `workspace`, whose platform delivers it.
pub async fn enqueue_direct(
    conn: &mut SqliteConnection,
    new: &NewAnnouncement<'_>,
    workspace: WorkspaceId,
    recipient: &str,
    now: DateTime<Utc>,
) -> Result<AnnouncementId> {
    let id = insert_announcement(conn, new, now).await?;
    sqlx::query(concat!(
        "INSERT INTO announcement_deliveries (announcement_id, workspace_id, recipient, next_attempt_at)
         SELECT ?, id, ?, ",
        due_after_hold!("?", ""),
        " FROM workspaces WHERE id = ?"
    ))
    .bind(id)
    .bind(recipient)
    .bind(ts(now))
    .bind(workspace)
    .execute(&mut *conn)
    .await?;
    Ok(AnnouncementId(id))
}

async fn insert_announcement(
    conn: &mut SqliteConnection,
    new: &NewAnnouncement<'_>,
    now: DateTime<Utc>,
) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO announcements (community_id, kind, achievement_id, about_member_id, body, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(new.community)
    .bind(new.kind.as_str())
    .bind(new.achievement_id)
    .bind(new.about_member)
    .bind(serde_json::to_string(new.body)?)
    .bind(ts(now))
    .bind(new.expires_at.map(ts))
    .fetch_one(&mut *conn)
    .await?;
    let mut named: Vec<serde_json::Value> = new
        .body
        .members_named()
        .into_iter()
        .filter(|m| Some(*m) != new.about_member)
        .map(|m| serde_json::json!({"member": m, "whole": 0}))
        .collect();
    if let Some(about) = new.about_member {
        named.push(serde_json::json!({"member": about, "whole": 1}));
    }
    if !named.is_empty() {
        sqlx::query(
            "INSERT INTO announcement_members (announcement_id, member_id, whole)
             SELECT ?, value->>'member', value->>'whole' FROM json_each(?) WHERE true
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(serde_json::to_string(&named)?)
        .execute(&mut *conn)
        .await?;
    }
    Ok(id)
}

/// A delivery that is due, with where it goes.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub announcement: AnnouncementId,
    pub workspace: WorkspaceId,
    pub community: CommunityId,
    pub platform: Platform,
    pub kind: Kind,
    /// The guild or team id.
    pub workspace_external_id: String,
    /// The workspace's announcement channel, for a channel post.
    pub channel: Option<String>,
    /// The member's user id on the platform, for a private message.
    pub recipient: Option<String>,
    pub attempts: i64,
    /// Set while an attempt's outcome is unknown: the post may have gone through
    /// with its answer lost (a timeout, a dropped connection, a crash).
    pub attempt_started_at: Option<DateTime<Utc>>,
    /// How many attempts ended that way.
    pub uncertain_attempts: i64,
    pub created_at: DateTime<Utc>,
    /// After this it is not posted at all (an edit has no end).
    pub expires_at: Option<DateTime<Utc>>,
    pub body: Reply,
    pub action: Action,
    /// Where an earlier post landed: what an edit changes.
    pub posted: Option<Posted>,
    /// The body's revision: a post or edit that went out with an older one is
    /// followed by an edit.
    pub revision: i64,
}

impl Delivery {
    /// Whether an earlier attempt may have posted it.
    pub fn uncertain(&self) -> bool {
        self.attempt_started_at.is_some()
    }

    /// The platform-side key for this delivery: Discord's nonce (at most 25
    /// characters) and the id in Slack's message metadata.
    pub fn marker(&self) -> String {
        format!("keel-{}-{}", self.announcement.0, self.workspace.0)
    }
}

#[derive(sqlx::FromRow)]
struct DueRow {
    announcement_id: i64,
    workspace_id: i64,
    community_id: i64,
    platform: String,
    kind: String,
    external_id: String,
    announce_channel: Option<String>,
    recipient: Option<String>,
    attempts: i64,
    attempt_started_at: Option<String>,
    uncertain_attempts: i64,
    created_at: String,
    expires_at: Option<String>,
    body: String,
    action: String,
    posted_channel: Option<String>,
    posted_message: Option<String>,
    revision: i64,
}

const DUE_COLUMNS: &str =
    "SELECT d.announcement_id, d.workspace_id, a.community_id, w.platform, a.kind, w.external_id,
        w.announce_channel, d.recipient, d.attempts, d.attempt_started_at, d.uncertain_attempts,
        a.created_at, a.expires_at, a.body, d.action, d.posted_channel, d.posted_message, a.revision
     FROM announcement_deliveries d
     JOIN announcements a ON a.id = d.announcement_id
     JOIN workspaces w ON w.id = d.workspace_id";

/// Which deliveries can go at all: edits of messages already posted, private
/// messages, and posts to workspaces that have an announcement channel (the console
/// prints them in its session, needing none). The others wait, unfetched, until an
/// organiser sets one ([`make_due`]), or until they expire.
const DELIVERABLE: &str = "(d.action = 'edit' OR d.recipient IS NOT NULL
     OR w.announce_channel IS NOT NULL OR w.platform = 'console')";

fn delivery(row: DueRow) -> Result<Delivery> {
    let posted = match (row.posted_channel, row.posted_message) {
        (Some(channel), Some(message)) => Some(Posted { channel, message }),
        _ => None,
    };
    Ok(Delivery {
        announcement: AnnouncementId(row.announcement_id),
        workspace: WorkspaceId(row.workspace_id),
        community: CommunityId(row.community_id),
        platform: Platform::from_db(&row.platform)
            .ok_or_else(|| Error::internal("stored platform", row.platform.clone()))?,
        kind: Kind::parse(&row.kind)?,
        workspace_external_id: row.external_id,
        channel: row.announce_channel,
        recipient: row.recipient,
        attempts: row.attempts,
        attempt_started_at: row
            .attempt_started_at
            .as_deref()
            .map(parse_ts)
            .transpose()?,
        uncertain_attempts: row.uncertain_attempts,
        created_at: parse_ts(&row.created_at)?,
        expires_at: row.expires_at.as_deref().map(parse_ts).transpose()?,
        body: serde_json::from_str(&row.body)?,
        action: Action::parse(&row.action)?,
        posted,
        revision: row.revision,
    })
}

/// Workspaces of `platform` with a delivery due at `now`, those whose turn came
/// first first.
pub async fn due_workspaces(
    db: impl SqliteExecutor<'_>,
    platform: Platform,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<WorkspaceId>> {
    let rows: Vec<(i64,)> = sqlx::query_as(built(format!(
        "SELECT d.workspace_id FROM announcement_deliveries d
         JOIN workspaces w ON w.id = d.workspace_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND w.platform = ? AND {DELIVERABLE}
         GROUP BY d.workspace_id ORDER BY min(d.next_attempt_at) LIMIT ?"
    )))
    .bind(ts(now))
    .bind(platform.as_str())
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(w,)| WorkspaceId(w)).collect())
}

/// A workspace's deliveries due at `now`, in the order they were queued.
pub async fn due_in_workspace(
    db: impl SqliteExecutor<'_>,
    workspace: WorkspaceId,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Delivery>> {
    let rows: Vec<DueRow> = sqlx::query_as(built(format!(
        "{DUE_COLUMNS}
         WHERE d.workspace_id = ? AND d.status = 'pending' AND d.next_attempt_at <= ? AND {DELIVERABLE}
         ORDER BY d.next_attempt_at, d.announcement_id LIMIT ?"
    )))
    .bind(workspace)
    .bind(ts(now))
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(delivery).collect()
}

/// When the next deliverable pending delivery for `platform` falls due.
pub async fn next_due(db: impl SqliteExecutor<'_>, platform: Platform) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(built(format!(
        "SELECT min(d.next_attempt_at) FROM announcement_deliveries d JOIN workspaces w ON w.id = d.workspace_id
         WHERE d.status = 'pending' AND w.platform = ? AND {DELIVERABLE}"
    )))
    .bind(platform.as_str())
    .fetch_one(db)
    .await?)
}

/// Records that an attempt is about to be made, before it is: if the answer never
/// comes, the delivery is known to be uncertain, even after a crash.
pub async fn begin_attempt(
    conn: &mut SqliteConnection,
    d: &Delivery,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE announcement_deliveries SET attempts = attempts + 1, attempt_started_at = ?
         WHERE announcement_id = ? AND workspace_id = ? AND status = 'pending'",
    )
    .bind(ts(now))
    .bind(d.announcement)
    .bind(d.workspace)
    .execute(conn)
    .await?;
    Ok(())
}

/// Counts an edit's attempt (for the backoff should it fail). An edit needs no
/// record of its start: making it twice does no harm.
pub async fn begin_edit(conn: &mut SqliteConnection, d: &Delivery) -> Result<()> {
    sqlx::query(
        "UPDATE announcement_deliveries SET attempts = attempts + 1
         WHERE announcement_id = ? AND workspace_id = ? AND status = 'pending'",
    )
    .bind(d.announcement)
    .bind(d.workspace)
    .execute(conn)
    .await?;
    Ok(())
}

/// Where a post landed: kept so that a later redaction can edit it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub channel: String,
    /// The message id (Slack's `ts`).
    pub message: String,
}

/// Marks delivered, with where it landed, when what went out was the body's
/// `revision`; a body changed since (redacted) leaves the delivery pending, as an
/// edit of that message, due now. False if it was not pending (someone else
/// delivered it).
pub async fn mark_delivered(
    conn: &mut SqliteConnection,
    d: &Delivery,
    posted: &Posted,
    revision: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE announcement_deliveries SET
            status = CASE WHEN a.revision = ?1 THEN 'delivered' ELSE 'pending' END,
            action = CASE WHEN a.revision = ?1 THEN action ELSE 'edit' END,
            delivered_at = ?2, next_attempt_at = ?2, last_error = NULL, attempt_started_at = NULL,
            posted_channel = ?3, posted_message = ?4
         FROM (SELECT revision FROM announcements WHERE id = ?5) AS a
         WHERE announcement_id = ?5 AND workspace_id = ?6 AND status = 'pending'",
    )
    .bind(revision)
    .bind(ts(now))
    .bind(&posted.channel)
    .bind(&posted.message)
    .bind(d.announcement)
    .bind(d.workspace)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether a failed attempt may have posted after all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The platform answered: nothing was posted.
    NotPosted,
    /// No answer came: it may have been.
    Uncertain,
}

/// Schedules another attempt at `at`, and holds back the rest of the workspace's
/// announcements until then: a platform that asks to wait (Slack's rate limits are
/// per workspace) or fails would only fail them too, one attempt each. Those
/// queued already move to `at`, keeping their order; those queued meanwhile are
/// queued for it. An uncertain attempt stays on record, so the next one first
/// asks the platform whether it went through.
pub async fn mark_retry(
    conn: &mut SqliteConnection,
    d: &Delivery,
    at: DateTime<Utc>,
    error: &str,
    outcome: Outcome,
) -> Result<()> {
    let attempt = match outcome {
        Outcome::NotPosted => "attempt_started_at = NULL",
        Outcome::Uncertain => "uncertain_attempts = uncertain_attempts + 1",
    };
    sqlx::query(built(format!(
        "UPDATE announcement_deliveries SET next_attempt_at = ?, last_error = ?, {attempt}
         WHERE announcement_id = ? AND workspace_id = ? AND status = 'pending'"
    )))
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

/// Gives up on a delivery: it will never work as it is.
pub async fn mark_failed(conn: &mut SqliteConnection, d: &Delivery, error: &str) -> Result<()> {
    finish(conn, d, "failed", Some(error)).await
}

/// Drops a delivery that outlived its use instead of posting it late.
pub async fn mark_expired(conn: &mut SqliteConnection, d: &Delivery) -> Result<()> {
    finish(conn, d, "expired", None).await
}

async fn finish(
    conn: &mut SqliteConnection,
    d: &Delivery,
    status: &'static str,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE announcement_deliveries SET status = ?, last_error = COALESCE(?, last_error)
         WHERE announcement_id = ? AND workspace_id = ? AND status = 'pending'",
    )
    .bind(status)
    .bind(error)
    .bind(d.announcement)
    .bind(d.workspace)
    .execute(conn)
    .await?;
    Ok(())
}

/// Expires every pending post that has outlived its use: milestones older than
/// `milestone_max_age`, and anything past its own `expires_at`. Edits of what was
/// posted never expire: a redaction is due however late. Returns how many.
pub async fn expire_stale(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
    milestone_max_age: chrono::Duration,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE announcement_deliveries SET status = 'expired'
         WHERE status = 'pending' AND action = 'post' AND announcement_id IN (
            SELECT a.id FROM announcement_deliveries d JOIN announcements a ON a.id = d.announcement_id
            WHERE d.status = 'pending' AND d.action = 'post'
              AND (a.expires_at <= ?1 OR (a.kind = 'milestone' AND a.created_at <= ?2)))",
    )
    .bind(ts(now))
    .bind(ts(now - milestone_max_age))
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
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

/// Makes a workspace's waiting deliveries due now (its channel was just set);
/// returns how many there are.
pub async fn make_due(
    conn: &mut SqliteConnection,
    workspace: WorkspaceId,
    now: DateTime<Utc>,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE announcement_deliveries SET next_attempt_at = ? WHERE workspace_id = ? AND status = 'pending'",
    )
    .bind(ts(now))
    .bind(workspace)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

impl super::Store {
    /// Workspaces of `platform` with a delivery due at `now`, those whose turn came
    /// first first.
    pub async fn due_delivery_workspaces(
        &self,
        platform: Platform,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<WorkspaceId>> {
        due_workspaces(&self.sqlite().read, platform, now, limit).await
    }

    /// A workspace's deliveries due at `now`, in the order they were queued.
    pub async fn due_deliveries(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Delivery>> {
        due_in_workspace(&self.sqlite().read, workspace, now, limit).await
    }

    /// When the next deliverable pending delivery for `platform` falls due.
    pub async fn next_delivery_due(&self, platform: Platform) -> Result<Option<DateTime<Utc>>> {
        next_due(&self.sqlite().read, platform)
            .await?
            .as_deref()
            .map(parse_ts)
            .transpose()
    }

    /// Expires every pending post that has outlived its use (see [`expire_stale`]);
    /// returns how many.
    pub async fn expire_stale_deliveries(
        &self,
        now: DateTime<Utc>,
        milestone_max_age: chrono::Duration,
    ) -> Result<u64> {
        self.sqlite()
            .write(async |conn| expire_stale(conn, now, milestone_max_age).await)
            .await
    }

    /// Records that an attempt is about to be made, before it is (see
    /// [`begin_attempt`]).
    pub async fn begin_delivery_attempt(&self, d: &Delivery, now: DateTime<Utc>) -> Result<()> {
        self.sqlite()
            .write(async |conn| begin_attempt(conn, d, now).await)
            .await
    }

    /// Counts an edit's attempt, for the backoff should it fail.
    pub async fn begin_delivery_edit(&self, d: &Delivery) -> Result<()> {
        self.sqlite()
            .write(async |conn| begin_edit(conn, d).await)
            .await
    }

    /// Marks delivered where it landed, when what went out was the body's
    /// `revision` (see [`mark_delivered`]). False if it was not pending.
    pub async fn mark_delivered(
        &self,
        d: &Delivery,
        posted: &Posted,
        revision: i64,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.sqlite()
            .write(async |conn| mark_delivered(conn, d, posted, revision, now).await)
            .await
    }

    /// Schedules another attempt at `at` and holds back the rest of the
    /// workspace's announcements until then (see [`mark_retry`]).
    pub async fn retry_delivery(
        &self,
        d: &Delivery,
        at: DateTime<Utc>,
        error: &str,
        outcome: Outcome,
    ) -> Result<()> {
        self.sqlite()
            .write(async |conn| mark_retry(conn, d, at, error, outcome).await)
            .await
    }

    /// Gives up on a delivery: it will never work as it is.
    pub async fn fail_delivery(&self, d: &Delivery, error: &str) -> Result<()> {
        self.sqlite()
            .write(async |conn| mark_failed(conn, d, error).await)
            .await
    }

    /// Drops a delivery that outlived its use instead of posting it late.
    pub async fn expire_delivery(&self, d: &Delivery) -> Result<()> {
        self.sqlite()
            .write(async |conn| mark_expired(conn, d).await)
            .await
    }
}
