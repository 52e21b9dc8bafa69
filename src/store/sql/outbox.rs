//! The outbox's queries (see `store::outbox`): announcements queued in the same
//! transaction as their cause, a delivery row per workspace or member, and each
//! attempt recorded before it is made and each outcome after.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::super::engine::built;
use super::super::native::outbox::take_announcement_ids;
use super::{Conn, Executor};
use crate::domain::{AnnouncementId, CommunityId, MemberId, Platform, Reply, WorkspaceId};
use crate::error::{Error, Result};
use crate::store::outbox::{
    Action, Addressed, Delivery, Kind, Lease, NewAnnouncement, Outcome, Posted, To,
};
use crate::store::{numbered_values, parse_ts, ts};

/// When a delivery queued at `$at` for the workspace `$w` falls due: then, or once
/// the platform's hold on that workspace ends (see [`mark_retry`]).
macro_rules! due_after_hold {
    ($at:literal, $w:literal) => {
        concat!(
            "CASE WHEN ",
            $at,
            " >= COALESCE(",
            $w,
            "announcements_held_until, '') THEN ",
            $at,
            " ELSE ",
            $w,
            "announcements_held_until END"
        )
    };
}

/// Queues an announcement for every workspace of its community, each when its
/// workspace is no longer held back (see [`mark_retry`]).
pub async fn enqueue(
    conn: &mut Conn,
    new: &NewAnnouncement<'_>,
    now: DateTime<Utc>,
) -> Result<AnnouncementId> {
    let id = insert_announcement(conn, new, now).await?;
    sqlx::query(concat!(
        "INSERT INTO announcement_deliveries (announcement_id, workspace_id, next_attempt_at)
         SELECT $1, id, ",
        due_after_hold!("$2", ""),
        " FROM workspaces WHERE community_id = $3"
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
    conn: &mut Conn,
    new: &NewAnnouncement<'_>,
    workspace: WorkspaceId,
    recipient: &str,
    now: DateTime<Utc>,
) -> Result<AnnouncementId> {
    enqueue_one(conn, new, workspace, To::Member(recipient), now).await
}

/// Queues a message to a group of members of `workspace` (`recipients`, their
/// user ids there), in a conversation of their own: a group DM, or a private
/// thread in `channel`.
pub async fn enqueue_group(
    conn: &mut Conn,
    new: &NewAnnouncement<'_>,
    workspace: WorkspaceId,
    recipients: &[String],
    channel: Option<&str>,
    now: DateTime<Utc>,
) -> Result<AnnouncementId> {
    let to = To::Group {
        users: recipients,
        channel,
    };
    enqueue_one(conn, new, workspace, to, now).await
}

/// [`enqueue_each`] of one message.
async fn enqueue_one(
    conn: &mut Conn,
    new: &NewAnnouncement<'_>,
    workspace: WorkspaceId,
    to: To<'_>,
    now: DateTime<Utc>,
) -> Result<AnnouncementId> {
    let new = NewAnnouncement { ..*new };
    let queued = enqueue_each(conn, &[Addressed { new, workspace, to }], now).await?;
    Ok(queued[0])
}

/// Rows of a batch per statement: a few thousand parameters, well within
/// either engine's limit.
const BATCH_ROWS: usize = 1000;

/// Queues each message of a batch (a round's introductions, an event's
/// reminders) in a few statements per thousand rather than four each, each
/// when its workspace is no longer held back. A message to a workspace that is gone
/// is dropped. Returns each message's announcement, in order.
pub async fn enqueue_each(
    conn: &mut Conn,
    batch: &[Addressed<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<AnnouncementId>> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let ids = take_announcement_ids(&mut *conn, batch.len()).await?;
    let created_at = ts(now);
    for (rows, ids) in batch.chunks(BATCH_ROWS).zip(ids.chunks(BATCH_ROWS)) {
        let mut q = sqlx::query(built(format!(
            "INSERT INTO announcements (id, community_id, kind, achievement_id, contribution_id,
                about_member_id, body, created_at, expires_at) VALUES {}",
            numbered_values(1, rows.len(), 9)
        )));
        for (item, id) in rows.iter().zip(ids) {
            let new = &item.new;
            q = q
                .bind(id)
                .bind(new.community)
                .bind(new.kind.as_str())
                .bind(new.achievement_id)
                .bind(new.contribution)
                .bind(new.about_member)
                .bind(serde_json::to_string(new.body)?)
                .bind(&created_at)
                .bind(new.expires_at.map(ts));
        }
        q.execute(&mut *conn).await?;
    }
    let named: Vec<(i64, MemberId, i64)> = batch
        .iter()
        .zip(&ids)
        .flat_map(|(item, id)| {
            named_in(item.new.body, item.new.about_member).map(|(m, whole)| (*id, m, whole))
        })
        .collect();
    for rows in named.chunks(BATCH_ROWS) {
        let mut q = sqlx::query(built(format!(
            "INSERT INTO announcement_members (announcement_id, member_id, whole)
             VALUES {} ON CONFLICT DO NOTHING",
            numbered_values(1, rows.len(), 3)
        )));
        for (id, member, whole) in rows {
            q = q.bind(id).bind(member).bind(whole);
        }
        q.execute(&mut *conn).await?;
    }
    let due = due_in_workspaces(
        &mut *conn,
        batch.iter().map(|item| item.workspace),
        &created_at,
    )
    .await?;
    let deliveries: Vec<(&Addressed<'_>, i64, &String)> = batch
        .iter()
        .zip(&ids)
        .filter_map(|(item, id)| due.get(&item.workspace).map(|at| (item, *id, at)))
        .collect();
    for rows in deliveries.chunks(BATCH_ROWS) {
        let mut q = sqlx::query(built(format!(
            "INSERT INTO announcement_deliveries
                (announcement_id, workspace_id, recipient, recipients, channel, next_attempt_at) VALUES {}",
            numbered_values(1, rows.len(), 6)
        )));
        for (item, id, at) in rows {
            let (recipient, recipients, channel) = match &item.to {
                To::Member(user) => (Some(*user), None, None),
                To::Group { users, channel } => {
                    (None, Some(serde_json::to_string(users)?), *channel)
                }
            };
            q = q
                .bind(id)
                .bind(item.workspace)
                .bind(recipient)
                .bind(recipients)
                .bind(channel)
                .bind(*at);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(ids.into_iter().map(AnnouncementId).collect())
}

/// When a message queued at `at` to each of `workspaces` falls due: then, or
/// once the platform's hold on that workspace ends (see [`mark_retry`]). A
/// workspace that is gone has none.
async fn due_in_workspaces(
    conn: &mut Conn,
    workspaces: impl Iterator<Item = WorkspaceId>,
    at: &str,
) -> Result<HashMap<WorkspaceId, String>> {
    let workspaces: BTreeSet<WorkspaceId> = workspaces.collect();
    let mut due = HashMap::new();
    for chunk in workspaces
        .into_iter()
        .collect::<Vec<_>>()
        .chunks(BATCH_ROWS)
    {
        let mut q = sqlx::query_as::<_, (i64, Option<String>)>(built(format!(
            "SELECT id, announcements_held_until FROM workspaces WHERE id IN {}",
            numbered_values(1, 1, chunk.len())
        )));
        for workspace in chunk {
            q = q.bind(workspace);
        }
        for (workspace, held_until) in q.fetch_all(&mut *conn).await? {
            // Stored times are fixed-width text, so they compare as text, as
            // `due_after_hold!` compares them.
            let when = match held_until {
                Some(held) if held.as_str() > at => held,
                _ => at.to_string(),
            };
            due.insert(WorkspaceId(workspace), when);
        }
    }
    Ok(due)
}

/// Whether any workspace of the community has a review channel.
pub async fn has_review_channel(conn: &mut Conn, community: CommunityId) -> Result<bool> {
    let channels: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM workspaces WHERE community_id = $1 AND review_channel IS NOT NULL",
    )
    .bind(community)
    .fetch_one(&mut *conn)
    .await?;
    Ok(channels > 0)
}

/// Queues a review request to every workspace of its community that has a review
/// channel, in that channel.
pub async fn enqueue_review_request(
    conn: &mut Conn,
    new: &NewAnnouncement<'_>,
    now: DateTime<Utc>,
) -> Result<AnnouncementId> {
    let id = insert_announcement(conn, new, now).await?;
    sqlx::query(concat!(
        "INSERT INTO announcement_deliveries (announcement_id, workspace_id, channel, next_attempt_at)
         SELECT $1, id, review_channel, ",
        due_after_hold!("$2", ""),
        " FROM workspaces WHERE community_id = $3 AND review_channel IS NOT NULL"
    ))
    .bind(id)
    .bind(ts(now))
    .bind(new.community)
    .execute(&mut *conn)
    .await?;
    Ok(AnnouncementId(id))
}

/// Queues an announcement to every workspace of its community that has an
/// announcement channel (an event's card), and to no other: one without a
/// channel would hold it back until one is set, long after it was news. None
/// if no workspace has one.
pub async fn enqueue_to_announcement_channels(
    conn: &mut Conn,
    new: &NewAnnouncement<'_>,
    now: DateTime<Utc>,
) -> Result<Option<AnnouncementId>> {
    let channels: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM workspaces WHERE community_id = $1 AND announce_channel IS NOT NULL",
    )
    .bind(new.community)
    .fetch_one(&mut *conn)
    .await?;
    if channels == 0 {
        return Ok(None);
    }
    let id = insert_announcement(conn, new, now).await?;
    sqlx::query(concat!(
        "INSERT INTO announcement_deliveries (announcement_id, workspace_id, next_attempt_at)
         SELECT $1, id, ",
        due_after_hold!("$2", ""),
        " FROM workspaces WHERE community_id = $3 AND announce_channel IS NOT NULL"
    ))
    .bind(id)
    .bind(ts(now))
    .bind(new.community)
    .execute(&mut *conn)
    .await?;
    Ok(Some(AnnouncementId(id)))
}

async fn insert_announcement(
    conn: &mut Conn,
    new: &NewAnnouncement<'_>,
    now: DateTime<Utc>,
) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO announcements (community_id, kind, achievement_id, contribution_id,
            about_member_id, body, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(new.community)
    .bind(new.kind.as_str())
    .bind(new.achievement_id)
    .bind(new.contribution)
    .bind(new.about_member)
    .bind(serde_json::to_string(new.body)?)
    .bind(ts(now))
    .bind(new.expires_at.map(ts))
    .fetch_one(&mut *conn)
    .await?;
    record_named(conn, id, new.body, new.about_member).await?;
    Ok(id)
}

/// Records the members announcement `id` names, so erasing one redacts it: the
/// member it is about (`about`) redacts it whole; one its body names, their lines
/// alone. A member already recorded stays as they were.
pub async fn record_named(
    conn: &mut Conn,
    id: i64,
    body: &Reply,
    about: Option<MemberId>,
) -> Result<()> {
    let named: Vec<_> = named_in(body, about).collect();
    for chunk in named.chunks(1000) {
        let mut q = sqlx::query(built(format!(
            "INSERT INTO announcement_members (announcement_id, member_id, whole)
             VALUES {} ON CONFLICT DO NOTHING",
            numbered_values(1, chunk.len(), 3)
        )));
        for (member, whole) in chunk {
            q = q.bind(id).bind(member).bind(whole);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The members a message names, each with whether erasing them redacts it
/// whole (1: the member it is about) or their lines alone (0).
fn named_in(body: &Reply, about: Option<MemberId>) -> impl Iterator<Item = (MemberId, i64)> {
    body.members_named()
        .into_iter()
        .filter(move |m| Some(*m) != about)
        .map(|m| (m, 0))
        .chain(about.map(|about| (about, 1)))
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
    recipients: Option<String>,
    attempts: i64,
    attempt_started_at: Option<String>,
    uncertain_attempts: i64,
    created_at: String,
    expires_at: Option<String>,
    body: String,
    action: String,
    posted_channel: Option<String>,
    posted_message: Option<String>,
    conversation: Option<String>,
    revision: i64,
}

const DUE_COLUMNS: &str =
    "SELECT d.announcement_id, d.workspace_id, a.community_id, w.platform, a.kind, w.external_id,
        CASE WHEN d.recipients IS NULL THEN COALESCE(d.channel, w.announce_channel) ELSE d.channel END
            AS announce_channel, d.recipient, d.recipients, d.attempts, d.attempt_started_at, d.uncertain_attempts,
        a.created_at, a.expires_at, a.body, d.action, d.posted_channel, d.posted_message, d.conversation,
        a.revision
     FROM announcement_deliveries d
     JOIN announcements a ON a.id = d.announcement_id
     JOIN workspaces w ON w.id = d.workspace_id";

/// Which deliveries can go at all: edits of messages already posted, private
/// messages and those to a group, posts to a channel of their own (review requests), and posts to
/// workspaces that have an announcement channel (the console prints them in its
/// session, needing none). The others wait, unfetched, until an organiser sets one
/// ([`make_due`]), or until they expire.
const DELIVERABLE: &str =
    "(d.action = 'edit' OR d.recipient IS NOT NULL OR d.recipients IS NOT NULL
     OR d.channel IS NOT NULL
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
        recipients: match row.recipients.as_deref() {
            Some(json) => serde_json::from_str(json)?,
            None => Vec::new(),
        },
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
        conversation: row.conversation,
        revision: row.revision,
    })
}

/// How many deliveries are pending, and when the oldest of them was queued.
pub async fn backlog(db: impl Executor<'_>) -> Result<(i64, Option<String>)> {
    Ok(sqlx::query_as(
        "SELECT count(*), min(a.created_at) FROM announcement_deliveries d
           JOIN announcements a ON a.id = d.announcement_id
          WHERE d.status = 'pending'",
    )
    .fetch_one(db)
    .await?)
}

/// Workspaces of `platform` with a delivery due at `now`, those whose turn came
/// first first.
pub async fn due_workspaces(
    db: impl Executor<'_>,
    platform: Platform,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<WorkspaceId>> {
    let rows: Vec<(i64,)> = sqlx::query_as(built(format!(
        "SELECT d.workspace_id FROM announcement_deliveries d
         JOIN workspaces w ON w.id = d.workspace_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND w.platform = $2 AND {DELIVERABLE}
         GROUP BY d.workspace_id ORDER BY min(d.next_attempt_at) LIMIT $3"
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
    db: impl Executor<'_>,
    workspace: WorkspaceId,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Delivery>> {
    let rows: Vec<DueRow> = sqlx::query_as(built(format!(
        "{DUE_COLUMNS}
         WHERE d.workspace_id = $1 AND d.status = 'pending' AND d.next_attempt_at <= $2 AND {DELIVERABLE}
         ORDER BY d.next_attempt_at, d.announcement_id LIMIT $3"
    )))
    .bind(workspace)
    .bind(ts(now))
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(delivery).collect()
}

/// When the next deliverable pending delivery for `platform` falls due.
pub async fn next_due(db: impl Executor<'_>, platform: Platform) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(built(format!(
        "SELECT min(d.next_attempt_at) FROM announcement_deliveries d JOIN workspaces w ON w.id = d.workspace_id
         WHERE d.status = 'pending' AND w.platform = $1 AND {DELIVERABLE}"
    )))
    .bind(platform.as_str())
    .fetch_one(db)
    .await?)
}

/// Records that an attempt is about to be made, before it is: if the answer never
/// comes, the delivery is known to be uncertain, even after a crash.
pub async fn begin_attempt(
    conn: &mut Conn,
    d: &Delivery,
    lease: &Lease,
    now: DateTime<Utc>,
) -> Result<bool> {
    if !renew_lease(&mut *conn, d.workspace, lease, now).await? {
        return Ok(false);
    }
    let begun = sqlx::query(
        "UPDATE announcement_deliveries SET attempts = attempts + 1, attempt_started_at = $1
         WHERE announcement_id = $2 AND workspace_id = $3 AND status = 'pending'",
    )
    .bind(ts(now))
    .bind(d.announcement)
    .bind(d.workspace)
    .execute(conn)
    .await?;
    Ok(begun.rows_affected() == 1)
}

/// Takes the lease on `workspace`'s deliveries for `lease.holder` until
/// `lease.until`: when nobody holds it, when it has expired at `now`, or when
/// the holder has it already. False if another worker holds it.
pub async fn take_lease(
    conn: &mut Conn,
    workspace: WorkspaceId,
    lease: &Lease,
    now: DateTime<Utc>,
) -> Result<bool> {
    let taken: Option<i64> = sqlx::query_scalar(
        "INSERT INTO delivery_leases (workspace_id, holder, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (workspace_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE delivery_leases.expires_at <= $4 OR delivery_leases.holder = excluded.holder
         RETURNING workspace_id",
    )
    .bind(workspace)
    .bind(&lease.holder)
    .bind(ts(lease.until))
    .bind(ts(now))
    .fetch_optional(conn)
    .await?;
    Ok(taken.is_some())
}

/// Extends the holder's lease on `workspace` to `lease.until`; false if it
/// holds it no longer (it expired, and another worker took it).
async fn renew_lease(
    conn: &mut Conn,
    workspace: WorkspaceId,
    lease: &Lease,
    now: DateTime<Utc>,
) -> Result<bool> {
    let renewed = sqlx::query(
        "UPDATE delivery_leases SET expires_at = $3
         WHERE workspace_id = $1 AND holder = $2 AND expires_at > $4",
    )
    .bind(workspace)
    .bind(&lease.holder)
    .bind(ts(lease.until))
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(renewed.rows_affected() == 1)
}

/// Gives the holder's lease on `workspace` back.
pub async fn release_lease(conn: &mut Conn, workspace: WorkspaceId, holder: &str) -> Result<()> {
    sqlx::query("DELETE FROM delivery_leases WHERE workspace_id = $1 AND holder = $2")
        .bind(workspace)
        .bind(holder)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets every lease: for a process that knows it is the only one (SQLite's
/// runner), at start, so work a crash left leased goes out at once.
pub async fn release_all_leases(conn: &mut Conn) -> Result<()> {
    sqlx::query("DELETE FROM delivery_leases")
        .execute(conn)
        .await?;
    Ok(())
}

/// Records the conversation a group's delivery opened, before anything is
/// posted in it.
pub async fn record_conversation(conn: &mut Conn, d: &Delivery, conversation: &str) -> Result<()> {
    sqlx::query(
        "UPDATE announcement_deliveries SET conversation = $3
          WHERE announcement_id = $1 AND workspace_id = $2",
    )
    .bind(d.announcement)
    .bind(d.workspace)
    .bind(conversation)
    .execute(conn)
    .await?;
    Ok(())
}

/// Counts an edit's attempt (for the backoff should it fail). An edit needs no
/// record of its start: making it twice does no harm.
pub async fn begin_edit(conn: &mut Conn, d: &Delivery) -> Result<()> {
    sqlx::query(
        "UPDATE announcement_deliveries SET attempts = attempts + 1
         WHERE announcement_id = $1 AND workspace_id = $2 AND status = 'pending'",
    )
    .bind(d.announcement)
    .bind(d.workspace)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks delivered, with where it landed, when what went out was the body's
/// `revision`; a body changed since (redacted) leaves the delivery pending, as an
/// edit of that message, due now. False if it was not pending (someone else
/// delivered it).
pub async fn mark_delivered(
    conn: &mut Conn,
    d: &Delivery,
    posted: &Posted,
    revision: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE announcement_deliveries SET
            status = CASE WHEN a.revision = $1 THEN 'delivered' ELSE 'pending' END,
            action = CASE WHEN a.revision = $1 THEN action ELSE 'edit' END,
            delivered_at = $2, next_attempt_at = $2, last_error = NULL, attempt_started_at = NULL,
            posted_channel = $3, posted_message = $4
         FROM (SELECT revision FROM announcements WHERE id = $5) AS a
         WHERE announcement_id = $5 AND workspace_id = $6 AND status = 'pending'",
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

/// Schedules another attempt at `at`, and holds back the rest of the workspace's
/// announcements until then: a platform that asks to wait (Slack's rate limits are
/// per workspace) or fails would only fail them too, one attempt each. Those
/// queued already move to `at`, keeping their order; those queued meanwhile are
/// queued for it. An uncertain attempt stays on record, so the next one first
/// asks the platform whether it went through.
pub async fn mark_retry(
    conn: &mut Conn,
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
        "UPDATE announcement_deliveries SET next_attempt_at = $1, last_error = $2, {attempt}
         WHERE announcement_id = $3 AND workspace_id = $4 AND status = 'pending'"
    )))
    .bind(ts(at))
    .bind(error)
    .bind(d.announcement)
    .bind(d.workspace)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE announcement_deliveries SET next_attempt_at = $1
         WHERE workspace_id = $2 AND status = 'pending' AND next_attempt_at < $1",
    )
    .bind(ts(at))
    .bind(d.workspace)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE workspaces SET announcements_held_until = $1 WHERE id = $2")
        .bind(ts(at))
        .bind(d.workspace)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Gives up on a delivery: it will never work as it is.
pub async fn mark_failed(conn: &mut Conn, d: &Delivery, error: &str) -> Result<()> {
    finish(conn, d, "failed", Some(error)).await
}

/// Drops a delivery that outlived its use instead of posting it late.
pub async fn mark_expired(conn: &mut Conn, d: &Delivery) -> Result<()> {
    finish(conn, d, "expired", None).await
}

async fn finish(
    conn: &mut Conn,
    d: &Delivery,
    status: &'static str,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE announcement_deliveries SET status = $1, last_error = COALESCE($2, last_error)
         WHERE announcement_id = $3 AND workspace_id = $4 AND status = 'pending'",
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
    conn: &mut Conn,
    now: DateTime<Utc>,
    milestone_max_age: chrono::Duration,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE announcement_deliveries SET status = 'expired'
         WHERE status = 'pending' AND action = 'post' AND announcement_id IN (
            SELECT a.id FROM announcement_deliveries d JOIN announcements a ON a.id = d.announcement_id
            WHERE d.status = 'pending' AND d.action = 'post'
              AND (a.expires_at <= $1 OR (a.kind = 'milestone' AND a.created_at <= $2)))",
    )
    .bind(ts(now))
    .bind(ts(now - milestone_max_age))
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Makes a workspace's waiting deliveries due now (its channel was just set);
/// returns how many there are.
pub async fn make_due(conn: &mut Conn, workspace: WorkspaceId, now: DateTime<Utc>) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE announcement_deliveries SET next_attempt_at = $1 WHERE workspace_id = $2 AND status = 'pending'",
    )
    .bind(ts(now))
    .bind(workspace)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
