//! PostgreSQL's own statements for who is who.

use sqlx::PgExecutor;

use crate::domain::CommunityId;
use crate::error::Result;
use crate::store::communities::Member;

/// Members of a community whose display name is `name`, ignoring case (ASCII, as
/// SQLite's NOCASE); not those being erased, nor one being merged into another.
/// `lower(display_name)` reads the index on the community's names.
pub async fn members_named(
    db: impl PgExecutor<'_>,
    community: CommunityId,
    name: &str,
) -> Result<Vec<Member>> {
    Ok(sqlx::query_as(
        "SELECT id, community_id, display_name, joined_at, away_since, contribution_count
         FROM members WHERE community_id = $1 AND lower(display_name) = lower($2)
           AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.member_id = members.id)
           AND NOT EXISTS (SELECT 1 FROM merges g WHERE g.from_member_id = members.id)
         ORDER BY id LIMIT 5",
    )
    .bind(community)
    .bind(name)
    .fetch_all(db)
    .await?)
}
