//! Queries of `store::discord_events`: the scheduled events that mirror events.

use chrono::{DateTime, Utc};

use super::{Conn, Executor};
use crate::domain::{EventId, WorkspaceId};
use crate::error::Result;
use crate::store::ts;

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
