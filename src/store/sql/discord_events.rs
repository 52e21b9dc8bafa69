//! Queries of `store::discord_events`: the scheduled events that mirror events.

use chrono::{DateTime, Utc};

use super::{Conn, Executor};
use crate::domain::{EventId, WorkspaceId};
use crate::error::Result;
use crate::store::{parse_ts, ts};

pub async fn scheduled_event(
    db: impl Executor<'_>,
    event: EventId,
    workspace: WorkspaceId,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT scheduled_event_id FROM discord_scheduled_events
         WHERE event_id = $1 AND workspace_id = $2",
    )
    .bind(event)
    .bind(workspace)
    .fetch_optional(db)
    .await?)
}

/// Keeps the first scheduled event recorded for the event and server: a second
/// is only ever made by mistake, and the members' interest is in the first.
pub async fn record(
    conn: &mut Conn,
    event: EventId,
    workspace: WorkspaceId,
    scheduled: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO discord_scheduled_events
            (event_id, workspace_id, scheduled_event_id, created_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(event)
    .bind(workspace)
    .bind(scheduled)
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn event_of(
    db: impl Executor<'_>,
    guild: &str,
    scheduled: &str,
) -> Result<Option<EventId>> {
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT d.event_id FROM discord_scheduled_events d
         JOIN workspaces w ON w.id = d.workspace_id
         WHERE d.scheduled_event_id = $1 AND w.platform = 'discord' AND w.external_id = $2",
    )
    .bind(scheduled)
    .bind(guild)
    .fetch_optional(db)
    .await?;
    Ok(id.map(EventId))
}

/// Moves the shared identify window on by `shards` × `spacing` from whichever
/// is later, `now` or where it stood, and returns where the reserved part
/// starts. Compare-and-set, so two processes reserving at once get one window
/// each, one after the other.
pub async fn reserve_identify(
    conn: &mut Conn,
    shards: u32,
    spacing: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>> {
    loop {
        let free_at: String =
            sqlx::query_scalar("SELECT free_at FROM discord_identify_turns WHERE id = 1")
                .fetch_one(&mut *conn)
                .await?;
        let start = parse_ts(&free_at)?.max(now);
        let end = start + spacing * shards.max(1) as i32;
        let moved = sqlx::query(
            "UPDATE discord_identify_turns SET free_at = $1 WHERE id = 1 AND free_at = $2",
        )
        .bind(ts(end))
        .bind(&free_at)
        .execute(&mut *conn)
        .await?;
        if moved.rows_affected() == 1 {
            return Ok(start);
        }
    }
}
