//! Slack installations', install states' and the inbox's queries.

use chrono::{DateTime, Utc};

use super::{Conn, Executor};
use crate::error::Result;
use crate::store::slack::{InboxRow, NewInstallation, Received};
use crate::store::{parse_ts, ts};

/// Stores an installation; a reinstall updates the same row (S7).
pub async fn save_installation(
    conn: &mut Conn,
    i: &NewInstallation<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO slack_installations
            (enterprise_id, team_id, team_name, bot_user_id, bot_token_sealed, installer_user_id, scopes, installed_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
         ON CONFLICT (enterprise_id, team_id) DO UPDATE SET
            team_name = excluded.team_name, bot_user_id = excluded.bot_user_id,
            bot_token_sealed = excluded.bot_token_sealed, installer_user_id = excluded.installer_user_id,
            scopes = excluded.scopes, updated_at = excluded.updated_at",
    )
    .bind(i.enterprise_id)
    .bind(i.team_id)
    .bind(i.team_name)
    .bind(i.bot_user_id)
    .bind(i.bot_token_sealed)
    .bind(i.installer_user_id)
    .bind(i.scopes)
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// The sealed bot token and enterprise of a team's installation.
pub async fn sealed_token(
    db: impl Executor<'_>,
    team_id: &str,
) -> Result<Option<(String, Vec<u8>)>> {
    Ok(sqlx::query_as(
        "SELECT enterprise_id, bot_token_sealed FROM slack_installations WHERE team_id = $1 ORDER BY updated_at DESC LIMIT 1",
    )
    .bind(team_id)
    .fetch_optional(db)
    .await?)
}

/// Deletes a team's installation and tokens (S9); returns how many rows went.
pub async fn delete_installation(conn: &mut Conn, team_id: &str) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM slack_installations WHERE team_id = $1")
            .bind(team_id)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

/// Records an install state as used, once it has verified; false if it was used
/// before. Kept until the state expires: after that the state is refused as expired
/// whether or not it is here.
pub async fn spend_state(
    conn: &mut Conn,
    single_use: &str,
    expires_at: DateTime<Utc>,
) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO slack_install_states_used (state_hash, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(single_use)
    .bind(ts(expires_at))
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Forgets up to `limit` used states that expired before `now`, through the index
/// on their expiry; returns how many went.
pub async fn prune_spent_states(conn: &mut Conn, now: DateTime<Utc>, limit: u32) -> Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM slack_install_states_used WHERE state_hash IN
            (SELECT state_hash FROM slack_install_states_used WHERE expires_at < $1 LIMIT $2)",
    )
    .bind(ts(now))
    .bind(i64::from(limit))
    .execute(conn)
    .await?
    .rows_affected())
}

/// Writes what Slack sent into the inbox, unless it is there already, and claims
/// it for `claim` if it is unhandled and unclaimed.
pub async fn receive(
    conn: &mut Conn,
    dedupe_key: &str,
    kind: &str,
    team_id: &str,
    payload: &str,
    now: DateTime<Utc>,
    claim: chrono::Duration,
) -> Result<Received> {
    sqlx::query(
        "INSERT INTO slack_inbox (dedupe_key, kind, team_id, payload, received_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(dedupe_key)
    .bind(kind)
    .bind(team_id)
    .bind(payload)
    .bind(ts(now))
    .execute(&mut *conn)
    .await?;
    let (id, handled): (i64, Option<String>) =
        sqlx::query_as("SELECT id, handled_at FROM slack_inbox WHERE dedupe_key = $1")
            .bind(dedupe_key)
            .fetch_one(&mut *conn)
            .await?;
    if handled.is_some() {
        return Ok(Received::Handled);
    }
    Ok(match claim_row(conn, id, now, claim).await? {
        Some(row) => Received::Claimed(row),
        None => Received::Busy,
    })
}

type InboxColumns = (i64, String, String, String, String, i64);

fn inbox_row(
    (id, kind, team_id, payload, received_at, attempts): InboxColumns,
) -> Result<InboxRow> {
    Ok(InboxRow {
        id,
        kind,
        team_id,
        payload,
        received_at: parse_ts(&received_at)?,
        attempts,
    })
}

/// Claims an unhandled row whose claim (if any) has run out; None if it is
/// handled or claimed by someone else.
pub async fn claim_row(
    conn: &mut Conn,
    id: i64,
    now: DateTime<Utc>,
    claim: chrono::Duration,
) -> Result<Option<InboxRow>> {
    let row: Option<InboxColumns> = sqlx::query_as(
        "UPDATE slack_inbox SET claimed_until = $1, attempts = attempts + 1
         WHERE id = $2 AND handled_at IS NULL AND (claimed_until IS NULL OR claimed_until <= $3)
         RETURNING id, kind, team_id, payload, received_at, attempts",
    )
    .bind(ts(now + claim))
    .bind(id)
    .bind(ts(now))
    .fetch_optional(conn)
    .await?;
    row.map(inbox_row).transpose()
}

/// Marks a row handled: its effect is done, and a duplicate changes nothing.
pub async fn mark_handled(conn: &mut Conn, id: i64, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "UPDATE slack_inbox SET handled_at = $1, claimed_until = NULL, last_error = NULL WHERE id = $2",
    )
    .bind(ts(now))
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Releases a row whose handling failed, to be tried again at `retry_at`; after
/// `attempts` tries it is given up (marked handled, with the error kept).
pub async fn mark_failed(
    conn: &mut Conn,
    id: i64,
    error: &str,
    retry_at: DateTime<Utc>,
    give_up: bool,
) -> Result<()> {
    sqlx::query(
        "UPDATE slack_inbox SET claimed_until = $1, last_error = $2,
            handled_at = CASE WHEN $3 THEN $1 ELSE NULL END
         WHERE id = $4",
    )
    .bind(ts(retry_at))
    .bind(error)
    .bind(give_up)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Unhandled rows nobody holds a claim on at `now`, oldest first.
pub async fn unclaimed(db: impl Executor<'_>, now: DateTime<Utc>, limit: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM slack_inbox
         WHERE handled_at IS NULL AND (claimed_until IS NULL OR claimed_until <= $1)
         ORDER BY id LIMIT $2",
    )
    .bind(ts(now))
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Forgets handled rows received before `before` (event ids are kept at least a
/// day, S5).
pub async fn prune_inbox(conn: &mut Conn, before: DateTime<Utc>) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM slack_inbox WHERE received_at < $1 AND handled_at IS NOT NULL")
            .bind(ts(before))
            .execute(conn)
            .await?
            .rows_affected(),
    )
}
