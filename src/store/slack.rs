//! Slack installations, used install states and handled event ids.

use chrono::{DateTime, Utc};
use sqlx::{SqliteConnection, SqliteExecutor};

use super::ts;
use crate::error::Result;

pub struct NewInstallation<'a> {
    pub enterprise_id: &'a str,
    pub team_id: &'a str,
    pub team_name: &'a str,
    pub bot_user_id: Option<&'a str>,
    pub bot_token_sealed: &'a [u8],
    pub installer_user_id: Option<&'a str>,
    pub scopes: &'a str,
}

/// Stores an installation; a reinstall updates the same row (S7).
pub async fn save_installation(
    conn: &mut SqliteConnection,
    i: &NewInstallation<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO slack_installations
            (enterprise_id, team_id, team_name, bot_user_id, bot_token_sealed, installer_user_id, scopes, installed_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
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
    db: impl SqliteExecutor<'_>,
    team_id: &str,
) -> Result<Option<(String, Vec<u8>)>> {
    Ok(sqlx::query_as(
        "SELECT enterprise_id, bot_token_sealed FROM slack_installations WHERE team_id = ? ORDER BY updated_at DESC LIMIT 1",
    )
    .bind(team_id)
    .fetch_optional(db)
    .await?)
}

/// Deletes a team's installation and tokens (S9); returns how many rows went.
pub async fn delete_installation(conn: &mut SqliteConnection, team_id: &str) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM slack_installations WHERE team_id = ?")
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
    conn: &mut SqliteConnection,
    single_use: &str,
    expires_at: DateTime<Utc>,
) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO slack_install_states_used (state_hash, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(single_use)
    .bind(ts(expires_at))
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Forgets up to `limit` used states that expired before `now`, through the index
/// on their expiry; returns how many went.
pub async fn prune_spent_states(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM slack_install_states_used WHERE state_hash IN
            (SELECT state_hash FROM slack_install_states_used WHERE expires_at < ? LIMIT ?)",
    )
    .bind(ts(now))
    .bind(limit)
    .execute(conn)
    .await?
    .rows_affected())
}

/// Records an event id; false if it was handled before (a retry).
pub async fn first_sighting(
    conn: &mut SqliteConnection,
    event_id: &str,
    team_id: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let inserted = sqlx::query("INSERT INTO slack_events_seen (event_id, team_id, seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
        .bind(event_id)
        .bind(team_id)
        .bind(ts(now))
        .execute(conn)
        .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Forgets that an event was seen, when handling it failed: Slack's retry is then
/// handled as a first sighting.
pub async fn forget_sighting(conn: &mut SqliteConnection, event_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM slack_events_seen WHERE event_id = ?")
        .bind(event_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Forgets event ids older than `before` (they are kept at least a day, S5).
pub async fn prune_events(conn: &mut SqliteConnection, before: DateTime<Utc>) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM slack_events_seen WHERE seen_at < ?")
            .bind(ts(before))
            .execute(conn)
            .await?
            .rows_affected(),
    )
}
