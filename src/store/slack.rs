//! Slack installations, used install states and handled event ids.

use chrono::{DateTime, Utc};

use crate::error::Result;

/// Slack's installations and inbox, as the application keeps them.
impl super::Store {
    /// Stores an installation (a reinstall updates it), the workspace if it is new,
    /// and cancels any purge scheduled when it was uninstalled: one transaction.
    pub async fn save_slack_installation(
        &self,
        installation: &NewInstallation<'_>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let team = installation.team_id;
        on_engine!(self, e => e
            .write(async |conn| {
                sql::slack::save_installation(conn, installation, now).await?;
                sql::communities::ensure_workspace(
                    conn,
                    SLACK,
                    team,
                    installation.team_name,
                    now,
                )
                .await?;
                sql::communities::schedule_purge(conn, SLACK, team, None).await
            })
            .await)
    }

    /// Deletes a team's installation and tokens and schedules its data's purge at
    /// `purge_at`, in one transaction; returns how many installations went.
    pub async fn uninstall_slack_team(
        &self,
        team_id: &str,
        purge_at: DateTime<Utc>,
    ) -> Result<u64> {
        on_engine!(self, e => e
            .write(async |conn| {
                let removed = sql::slack::delete_installation(conn, team_id).await?;
                sql::communities::schedule_purge(conn, SLACK, team_id, Some(purge_at)).await?;
                Ok(removed)
            })
            .await)
    }

    /// The sealed bot token and enterprise of a team's installation.
    pub async fn slack_sealed_token(&self, team_id: &str) -> Result<Option<(String, Vec<u8>)>> {
        on_engine!(self, e => sql::slack::sealed_token(&e.read, team_id).await)
    }

    /// Records an install state as used; false if it was used before.
    pub async fn spend_install_state(
        &self,
        single_use: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool> {
        on_engine!(self, e => e
            .write(async |conn| sql::slack::spend_state(conn, single_use, expires_at).await)
            .await)
    }

    /// Forgets up to `limit` used install states that expired before `now`, in one
    /// transaction; returns how many went.
    pub async fn prune_spent_install_states(&self, now: DateTime<Utc>, limit: u32) -> Result<u64> {
        on_engine!(self, e => e
            .write(async |conn| sql::slack::prune_spent_states(conn, now, limit).await)
            .await)
    }

    /// Writes what Slack sent into the inbox, unless it is there already, and
    /// claims it for `claim` if it is unhandled and unclaimed (see `sql::slack::receive`).
    pub async fn receive_from_slack(
        &self,
        dedupe_key: &str,
        kind: &str,
        team_id: &str,
        payload: &str,
        now: DateTime<Utc>,
        claim: chrono::Duration,
    ) -> Result<Received> {
        on_engine!(self, e => e
            .write(async |conn| {
                sql::slack::receive(conn, dedupe_key, kind, team_id, payload, now, claim).await
            })
            .await)
    }

    /// Claims an unhandled inbox row whose claim (if any) has run out; None if it
    /// is handled or claimed by someone else.
    pub async fn claim_inbox_row(
        &self,
        id: i64,
        now: DateTime<Utc>,
        claim: chrono::Duration,
    ) -> Result<Option<InboxRow>> {
        on_engine!(self, e => e
            .write(async |conn| sql::slack::claim_row(conn, id, now, claim).await)
            .await)
    }

    /// Marks an inbox row handled.
    pub async fn mark_inbox_handled(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        on_engine!(self, e => e
            .write(async |conn| sql::slack::mark_handled(conn, id, now).await)
            .await)
    }

    /// Releases an inbox row whose handling failed, to be tried again at
    /// `retry_at`, or gives it up (see `sql::slack::mark_failed`).
    pub async fn mark_inbox_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: DateTime<Utc>,
        give_up: bool,
    ) -> Result<()> {
        on_engine!(self, e => e
            .write(async |conn| sql::slack::mark_failed(conn, id, error, retry_at, give_up).await)
            .await)
    }

    /// Unhandled inbox rows nobody holds a claim on at `now`, oldest first.
    pub async fn unclaimed_inbox_rows(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<i64>> {
        on_engine!(self, e => sql::slack::unclaimed(&e.read, now, limit).await)
    }

    /// Forgets handled inbox rows received before `before`; returns how many.
    pub async fn prune_slack_inbox(&self, before: DateTime<Utc>) -> Result<u64> {
        on_engine!(self, e => e
            .write(async |conn| sql::slack::prune_inbox(conn, before).await)
            .await)
    }
}

/// The platform of every installation here.
const SLACK: crate::domain::Platform = crate::domain::Platform::Slack;

pub struct NewInstallation<'a> {
    pub enterprise_id: &'a str,
    pub team_id: &'a str,
    pub team_name: &'a str,
    pub bot_user_id: Option<&'a str>,
    pub bot_token_sealed: &'a [u8],
    pub installer_user_id: Option<&'a str>,
    pub scopes: &'a str,
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
