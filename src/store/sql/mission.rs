//! Mission versions' queries.

use chrono::{DateTime, Utc};

use super::super::engine::built;
use super::{Conn, Executor};
use crate::domain::{CommunityId, MemberId};
use crate::error::Result;
use crate::store::mission::MissionVersion;
use crate::store::{parse_ts, ts};

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
    WHERE v.community_id = $1";

pub async fn current(
    db: impl Executor<'_>,
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
pub async fn history(db: impl Executor<'_>, community: CommunityId) -> Result<Vec<MissionVersion>> {
    let rows: Vec<Row> = sqlx::query_as(built(format!("{SELECT} ORDER BY v.version")))
        .bind(community)
        .fetch_all(db)
        .await?;
    rows.into_iter().map(from_row).collect()
}

/// Adds the next version; returns its number.
pub async fn add_version(
    conn: &mut Conn,
    community: CommunityId,
    statement: &str,
    values: &[String],
    author: MemberId,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64> {
    let version: i64 = sqlx::query_scalar(
        "INSERT INTO mission_versions (community_id, version, statement, value_names, author_member_id, reason, created_at)
         VALUES ($1, (SELECT COALESCE(MAX(version), 0) + 1 FROM mission_versions WHERE community_id = $1), $2, $3, $4, $5, $6)
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
