//! Redaction's queries: the announcements naming a member, found by their id in
//! `announcement_members` (see `store::redaction`).

use chrono::{DateTime, Utc};

use super::Conn;
use crate::domain::announce;
use crate::domain::{MemberId, Reply};
use crate::error::Result;
use crate::store::redaction::Redacted;
use crate::store::ts;

/// Redacts every announcement that names `member`, and queues an edit of each
/// message they were posted as.
pub async fn redact_member(
    conn: &mut Conn,
    member: MemberId,
    now: DateTime<Utc>,
) -> Result<Redacted> {
    let named: Vec<(i64, bool, String)> = sqlx::query_as(
        "SELECT n.announcement_id, n.whole = 1, a.body FROM announcement_members n
         JOIN announcements a ON a.id = n.announcement_id WHERE n.member_id = $1",
    )
    .bind(member)
    .fetch_all(&mut *conn)
    .await?;
    let mut redacted = Redacted::default();
    for (announcement, whole, body) in named {
        let body: Reply = serde_json::from_str(&body)?;
        let references = body.members_named();
        let whole = whole || !references.contains(&member);
        let after = if whole {
            announce::removed()
        } else {
            body.without_member(member)
        };
        sqlx::query(
            "UPDATE announcements SET body = $1, revision = revision + 1,
                about_member_id = CASE WHEN about_member_id = $2 THEN NULL ELSE about_member_id END
             WHERE id = $3",
        )
        .bind(serde_json::to_string(&after)?)
        .bind(member)
        .bind(announcement)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "DELETE FROM announcement_members WHERE announcement_id = $1 AND member_id = $2",
        )
        .bind(announcement)
        .bind(member)
        .execute(&mut *conn)
        .await?;
        if whole {
            drop_unposted(conn, announcement).await?;
        }
        redacted.edits += queue_edits(conn, announcement, now).await?;
        if whole {
            delete_if_unposted(conn, announcement).await?;
        }
        redacted.announcements += 1;
    }
    Ok(redacted)
}

/// The announcements naming `from` name `into` instead (the two were merged into
/// `into`), bodies and records both.
pub async fn renumber_member(conn: &mut Conn, from: MemberId, into: MemberId) -> Result<()> {
    let named: Vec<(i64, String)> = sqlx::query_as(
        "SELECT n.announcement_id, a.body FROM announcement_members n
         JOIN announcements a ON a.id = n.announcement_id WHERE n.member_id = $1",
    )
    .bind(from)
    .fetch_all(&mut *conn)
    .await?;
    for (announcement, body) in named {
        let mut body: Reply = serde_json::from_str(&body)?;
        body.renumber_member(from, into);
        sqlx::query("UPDATE announcements SET body = $1 WHERE id = $2")
            .bind(serde_json::to_string(&body)?)
            .bind(announcement)
            .execute(&mut *conn)
            .await?;
    }
    // Named by both: about them wins, as the stronger redaction.
    sqlx::query(
        "INSERT INTO announcement_members (announcement_id, member_id, whole)
         SELECT announcement_id, $2, whole FROM announcement_members WHERE member_id = $1 AND true
         ON CONFLICT (announcement_id, member_id) DO UPDATE SET whole =
            CASE WHEN excluded.whole > announcement_members.whole THEN excluded.whole
                 ELSE announcement_members.whole END",
    )
    .bind(from)
    .bind(into)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM announcement_members WHERE member_id = $1")
        .bind(from)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// An announcement whose body was replaced as a whole (retracted): a post not yet
/// tried is dropped, messages it was posted as are queued for editing, and it goes
/// if it was never posted anywhere. Returns how many edits were queued.
pub async fn replace_posts(conn: &mut Conn, announcement: i64, now: DateTime<Utc>) -> Result<u64> {
    drop_unposted(conn, announcement).await?;
    let edits = queue_edits(conn, announcement, now).await?;
    delete_if_unposted(conn, announcement).await?;
    Ok(edits)
}

/// Nothing left worth posting: a post not yet tried is dropped, and so is a
/// private message, to them or not. A post that may have gone out stays, to be
/// found and edited (or posted redacted).
async fn drop_unposted(conn: &mut Conn, announcement: i64) -> Result<()> {
    sqlx::query(
        "DELETE FROM announcement_deliveries WHERE announcement_id = $1 AND status = 'pending'
            AND action = 'post' AND (attempt_started_at IS NULL OR recipient IS NOT NULL)",
    )
    .bind(announcement)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Queues an edit of every message the announcement was posted as (its body
/// changed: redacted, or an event card's counts). A message may name an erased
/// member's platform id: it goes too. It is due now, or once its workspace's
/// announcements are no longer held.
pub(super) async fn queue_edits(
    conn: &mut Conn,
    announcement: i64,
    now: DateTime<Utc>,
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE announcement_deliveries SET status = 'pending', action = 'edit', attempts = 0,
            last_error = NULL, recipient = NULL,
            next_attempt_at = CASE
                WHEN (SELECT announcements_held_until FROM workspaces WHERE id = workspace_id) > $1
                THEN (SELECT announcements_held_until FROM workspaces WHERE id = workspace_id)
                ELSE $1 END
         WHERE announcement_id = $2 AND posted_message IS NOT NULL
           AND (status = 'delivered' OR (status = 'pending' AND action = 'edit'))",
    )
    .bind(ts(now))
    .bind(announcement)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Never posted anywhere and now empty: nothing to keep it for.
async fn delete_if_unposted(conn: &mut Conn, announcement: i64) -> Result<()> {
    sqlx::query(
        "DELETE FROM announcements WHERE id = $1
         AND NOT EXISTS (SELECT 1 FROM announcement_deliveries WHERE announcement_id = $1
                         AND (posted_message IS NOT NULL OR status = 'pending'))",
    )
    .bind(announcement)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
