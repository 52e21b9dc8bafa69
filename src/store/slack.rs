//! Slack installations, install-flow states and handled event ids.

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

/// Remembers a state for 10 minutes, bound to the browser's key.
pub async fn save_state(
    conn: &mut SqliteConnection,
    state_hash: &str,
    browser_hash: &str,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("DELETE FROM slack_oauth_states WHERE expires_at < ?")
        .bind(ts(now - chrono::Duration::days(1)))
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO slack_oauth_states (state_hash, browser_hash, created_at, expires_at) VALUES (?, ?, ?, ?)")
        .bind(state_hash)
        .bind(browser_hash)
        .bind(ts(now))
        .bind(ts(expires))
        .execute(conn)
        .await?;
    Ok(())
}

/// What using a state found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateCheck {
    Valid,
    Unknown,
    /// Issued to another browser.
    Mismatched,
    Used,
    Expired,
}

/// Uses a state: valid once, for its own browser, before it expires.
pub async fn use_state(
    conn: &mut SqliteConnection,
    state_hash: &str,
    browser_hash: &str,
    now: DateTime<Utc>,
) -> Result<StateCheck> {
    let row: Option<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT browser_hash, expires_at, used_at FROM slack_oauth_states WHERE state_hash = ?",
    )
    .bind(state_hash)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((browser, expires, used)) = row else {
        return Ok(StateCheck::Unknown);
    };
    if browser != browser_hash {
        return Ok(StateCheck::Mismatched);
    }
    if used.is_some() {
        return Ok(StateCheck::Used);
    }
    if expires <= ts(now) {
        return Ok(StateCheck::Expired);
    }
    sqlx::query(
        "UPDATE slack_oauth_states SET used_at = ? WHERE state_hash = ? AND used_at IS NULL",
    )
    .bind(ts(now))
    .bind(state_hash)
    .execute(conn)
    .await?;
    Ok(StateCheck::Valid)
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
