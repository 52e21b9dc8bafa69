//! Mission versions: a change adds a version, nothing is overwritten.

use chrono::{DateTime, Utc};

use crate::domain::{CommunityId, MemberId};
use crate::error::Result;

/// The mission, as the application reads and changes it.
impl super::Store {
    pub async fn current_mission(&self, community: CommunityId) -> Result<Option<MissionVersion>> {
        on_engine!(self, e => sql::mission::current(&e.read, community).await)
    }

    /// Every version, oldest first.
    pub async fn mission_history(&self, community: CommunityId) -> Result<Vec<MissionVersion>> {
        on_engine!(self, e => sql::mission::history(&e.read, community).await)
    }

    /// Adds a version with a new statement and the current values (none if there
    /// is no mission yet), in one write transaction; returns its number.
    pub async fn set_mission_statement(
        &self,
        community: CommunityId,
        statement: &str,
        author: MemberId,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                let values = sql::mission::current(&mut *conn, community)
                    .await?
                    .map(|v| v.values)
                    .unwrap_or_default();
                sql::mission::add_version(conn, community, statement, &values, author, reason, now)
                    .await
            })
            .await)
    }

    /// Adds a version with the current statement and the values `change` makes of
    /// the current ones, in one write transaction; returns what `change` said,
    /// the new version's number and its values. None when there is no mission
    /// yet; nothing is written then, nor when `change` fails.
    pub async fn change_mission_values<T>(
        &self,
        community: CommunityId,
        author: MemberId,
        now: DateTime<Utc>,
        change: impl FnOnce(&mut Vec<String>) -> Result<T>,
    ) -> Result<Option<(T, i64, Vec<String>)>> {
        let changed = on_engine!(self, e => e
            .write_or_refuse_in(community, async |conn| {
                let Some(current) = sql::mission::current(&mut *conn, community).await? else {
                    return Ok(Err(()));
                };
                let mut values = current.values.clone();
                let said = change(&mut values)?;
                let version = sql::mission::add_version(
                    conn,
                    community,
                    &current.statement,
                    &values,
                    author,
                    None,
                    now,
                )
                .await?;
                Ok(Ok((said, version, values)))
            })
            .await)?;
        Ok(changed.ok())
    }
}

#[derive(Debug, Clone)]
pub struct MissionVersion {
    pub version: i64,
    pub statement: String,
    pub values: Vec<String>,
    /// None once the author has been forgotten.
    pub author: Option<String>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}
