//! Mission versions: a change adds a version, nothing is overwritten.

use chrono::{DateTime, Utc};
use sqlx::{SqliteConnection, SqliteExecutor};

use super::built;
use super::{parse_ts, ts};
use crate::domain::{CommunityId, MemberId};
use crate::error::Result;

/// The mission, as the application reads and changes it.
impl super::Store {
    pub async fn current_mission(&self, community: CommunityId) -> Result<Option<MissionVersion>> {
        current(&self.sqlite().read, community).await
    }

    /// Every version, oldest first.
    pub async fn mission_history(&self, community: CommunityId) -> Result<Vec<MissionVersion>> {
        history(&self.sqlite().read, community).await
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
        self.sqlite()
            .write(async |conn| {
                let values = current(&mut *conn, community)
                    .await?
                    .map(|v| v.values)
                    .unwrap_or_default();
                add_version(conn, community, statement, &values, author, reason, now).await
            })
            .await
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
        let changed = self
            .sqlite()
            .write_or_refuse(async |conn| {
                let Some(current) = current(&mut *conn, community).await? else {
                    return Ok(Err(()));
                };
                let mut values = current.values.clone();
                let said = change(&mut values)?;
                let version = add_version(
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
            .await?;
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

type Row = (i64, String, String, Option<String>, Option<String>, String);

fn from_row(
    (version, statement, values, author, reason, created_at): Row,
) -> Result<MissionVersion> {
    Ok(MissionVersion {
        version,
        statement,
        values: serde_json::from_str(&values)?,
        author,
        reason,
        created_at: parse_ts(&created_at)?,
    })
}

const SELECT: &str =
    "SELECT v.version, v.statement, v.value_names, m.display_name, v.reason, v.created_at
    FROM mission_versions v LEFT JOIN members m ON m.id = v.author_member_id
    WHERE v.community_id = ?";

pub async fn current(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
) -> Result<Option<MissionVersion>> {
    let row: Option<Row> =
        sqlx::query_as(built(format!("{SELECT} ORDER BY v.version DESC LIMIT 1")))
            .bind(community)
            .fetch_optional(db)
            .await?;
    row.map(from_row).transpose()
}

/// Every version, oldest first.
pub async fn history(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
) -> Result<Vec<MissionVersion>> {
    let rows: Vec<Row> = sqlx::query_as(built(format!("{SELECT} ORDER BY v.version")))
        .bind(community)
        .fetch_all(db)
        .await?;
    rows.into_iter().map(from_row).collect()
}

/// Adds the next version; returns its number.
pub async fn add_version(
    conn: &mut SqliteConnection,
    community: CommunityId,
    statement: &str,
    values: &[String],
    author: MemberId,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64> {
    let version: i64 = sqlx::query_scalar(
        "INSERT INTO mission_versions (community_id, version, statement, value_names, author_member_id, reason, created_at)
         VALUES (?1, (SELECT COALESCE(MAX(version), 0) + 1 FROM mission_versions WHERE community_id = ?1), ?2, ?3, ?4, ?5, ?6)
         RETURNING version",
    )
    .bind(community)
    .bind(statement)
    .bind(serde_json::to_string(values)?)
    .bind(author)
    .bind(reason)
    .bind(ts(now))
    .fetch_one(conn)
    .await?;
    Ok(version)
}
