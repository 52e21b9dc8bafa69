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

/// What Slack sent, waiting in the inbox to be handled.
#[derive(Debug, Clone)]
pub struct InboxRow {
    pub id: i64,
    pub kind: String,
    pub team_id: String,
    pub payload: String,
    pub received_at: DateTime<Utc>,
    pub attempts: i64,
}

/// What receiving something into the inbox found.
#[derive(Debug, Clone)]
pub enum Received {
    /// Handle it: this caller holds its claim until `claim` has passed.
    Claimed(InboxRow),
    /// Handled before: a duplicate, answered and left alone.
    Handled,
    /// Someone else is handling it right now.
    Busy,
}

/// Writes what Slack sent into the inbox, unless it is there already, and claims
/// it for `claim` if it is unhandled and unclaimed.
pub async fn receive(
    conn: &mut SqliteConnection,
    dedupe_key: &str,
    kind: &str,
    team_id: &str,
    payload: &str,
    now: DateTime<Utc>,
    claim: chrono::Duration,
) -> Result<Received> {
    sqlx::query(
        "INSERT INTO slack_inbox (dedupe_key, kind, team_id, payload, received_at)
         VALUES (?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(dedupe_key)
    .bind(kind)
    .bind(team_id)
    .bind(payload)
    .bind(ts(now))
    .execute(&mut *conn)
    .await?;
    let (id, handled): (i64, Option<String>) =
        sqlx::query_as("SELECT id, handled_at FROM slack_inbox WHERE dedupe_key = ?")
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
        received_at: super::parse_ts(&received_at)?,
        attempts,
    })
}

/// Claims an unhandled row whose claim (if any) has run out; None if it is
/// handled or claimed by someone else.
pub async fn claim_row(
    conn: &mut SqliteConnection,
    id: i64,
    now: DateTime<Utc>,
    claim: chrono::Duration,
) -> Result<Option<InboxRow>> {
    let row: Option<InboxColumns> = sqlx::query_as(
        "UPDATE slack_inbox SET claimed_until = ?, attempts = attempts + 1
         WHERE id = ? AND handled_at IS NULL AND (claimed_until IS NULL OR claimed_until <= ?)
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
pub async fn mark_handled(conn: &mut SqliteConnection, id: i64, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "UPDATE slack_inbox SET handled_at = ?, claimed_until = NULL, last_error = NULL WHERE id = ?",
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
    conn: &mut SqliteConnection,
    id: i64,
    error: &str,
    retry_at: DateTime<Utc>,
    give_up: bool,
) -> Result<()> {
    sqlx::query(
        "UPDATE slack_inbox SET claimed_until = ?, last_error = ?,
            handled_at = CASE WHEN ? THEN ? ELSE NULL END
         WHERE id = ?",
    )
    .bind(ts(retry_at))
    .bind(error)
    .bind(give_up)
    .bind(ts(retry_at))
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Unhandled rows nobody holds a claim on at `now`, oldest first.
pub async fn unclaimed(
    db: impl SqliteExecutor<'_>,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM slack_inbox
         WHERE handled_at IS NULL AND (claimed_until IS NULL OR claimed_until <= ?)
         ORDER BY id LIMIT ?",
    )
    .bind(ts(now))
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Forgets handled rows received before `before` (event ids are kept at least a
/// day, S5).
pub async fn prune_inbox(conn: &mut SqliteConnection, before: DateTime<Utc>) -> Result<u64> {
    Ok(
        sqlx::query("DELETE FROM slack_inbox WHERE received_at < ? AND handled_at IS NOT NULL")
            .bind(ts(before))
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

/// The platform of every installation here.
const SLACK: crate::domain::Platform = crate::domain::Platform::Slack;

impl super::Store {
    /// Stores an installation (a reinstall updates it), the workspace if it is new,
    /// and cancels any purge scheduled when it was uninstalled: one transaction.
    pub async fn save_slack_installation(
        &self,
        installation: &NewInstallation<'_>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let team = installation.team_id;
        self.sqlite()
            .write(async |conn| {
                save_installation(conn, installation, now).await?;
                super::communities::ensure_workspace(
                    conn,
                    SLACK,
                    team,
                    installation.team_name,
                    now,
                )
                .await?;
                super::communities::schedule_purge(conn, SLACK, team, None).await
            })
            .await
    }

    /// Deletes a team's installation and tokens and schedules its data's purge at
    /// `purge_at`, in one transaction; returns how many installations went.
    pub async fn uninstall_slack_team(
        &self,
        team_id: &str,
        purge_at: DateTime<Utc>,
    ) -> Result<u64> {
        self.sqlite()
            .write(async |conn| {
                let removed = delete_installation(conn, team_id).await?;
                super::communities::schedule_purge(conn, SLACK, team_id, Some(purge_at)).await?;
                Ok(removed)
            })
            .await
    }

    /// The sealed bot token and enterprise of a team's installation.
    pub async fn slack_sealed_token(&self, team_id: &str) -> Result<Option<(String, Vec<u8>)>> {
        sealed_token(&self.sqlite().read, team_id).await
    }

    /// Records an install state as used; false if it was used before.
    pub async fn spend_install_state(
        &self,
        single_use: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool> {
        self.sqlite()
            .write(async |conn| spend_state(conn, single_use, expires_at).await)
            .await
    }

    /// Forgets up to `limit` used install states that expired before `now`, in one
    /// transaction; returns how many went.
    pub async fn prune_spent_install_states(&self, now: DateTime<Utc>, limit: u32) -> Result<u64> {
        self.sqlite()
            .write(async |conn| prune_spent_states(conn, now, limit).await)
            .await
    }

    /// Writes what Slack sent into the inbox, unless it is there already, and
    /// claims it for `claim` if it is unhandled and unclaimed (see [`receive`]).
    pub async fn receive_from_slack(
        &self,
        dedupe_key: &str,
        kind: &str,
        team_id: &str,
        payload: &str,
        now: DateTime<Utc>,
        claim: chrono::Duration,
    ) -> Result<Received> {
        self.sqlite()
            .write(async |conn| receive(conn, dedupe_key, kind, team_id, payload, now, claim).await)
            .await
    }

    /// Claims an unhandled inbox row whose claim (if any) has run out; None if it
    /// is handled or claimed by someone else.
    pub async fn claim_inbox_row(
        &self,
        id: i64,
        now: DateTime<Utc>,
        claim: chrono::Duration,
    ) -> Result<Option<InboxRow>> {
        self.sqlite()
            .write(async |conn| claim_row(conn, id, now, claim).await)
            .await
    }

    /// Marks an inbox row handled.
    pub async fn mark_inbox_handled(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.sqlite()
            .write(async |conn| mark_handled(conn, id, now).await)
            .await
    }

    /// Releases an inbox row whose handling failed, to be tried again at
    /// `retry_at`, or gives it up (see [`mark_failed`]).
    pub async fn mark_inbox_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: DateTime<Utc>,
        give_up: bool,
    ) -> Result<()> {
        self.sqlite()
            .write(async |conn| mark_failed(conn, id, error, retry_at, give_up).await)
            .await
    }

    /// Unhandled inbox rows nobody holds a claim on at `now`, oldest first.
    pub async fn unclaimed_inbox_rows(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<i64>> {
        unclaimed(&self.sqlite().read, now, limit).await
    }

    /// Forgets handled inbox rows received before `before`; returns how many.
    pub async fn prune_slack_inbox(&self, before: DateTime<Utc>) -> Result<u64> {
        self.sqlite()
            .write(async |conn| prune_inbox(conn, before).await)
            .await
    }
}
