//! Reading contributions' queries (the group-commit writer records them).

use futures_util::{Stream, StreamExt};

use super::super::engine::built;
use super::Executor;
use crate::domain::{CommunityId, ContributionId, GoalId, MemberId};
use crate::error::Result;
use crate::store::contributions::ContributionRow;
use crate::store::{parse_day, parse_ts};

type Row = (
    i64,
    String,
    String,
    Option<f64>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
);

fn from_row(r: Row) -> Result<ContributionRow> {
    Ok(ContributionRow {
        id: ContributionId(r.0),
        member: r.1,
        description: r.2,
        amount: r.3,
        unit: r.4,
        goal: r.5,
        value: r.6,
        platform: r.7,
        day: parse_day(&r.8)?,
        created_at: parse_ts(&r.9)?,
    })
}

const SELECT: &str = "SELECT c.id, m.display_name, c.description, c.amount, c.unit, g.slug, c.value_name,
    c.platform, c.happened_on, c.created_at
    FROM contributions c JOIN members m ON m.id = c.member_id LEFT JOIN goals g ON g.id = c.goal_id";

/// A member's latest contributions, newest first.
pub async fn by_member(
    db: impl Executor<'_>,
    community: CommunityId,
    member: MemberId,
    limit: i64,
) -> Result<Vec<ContributionRow>> {
    let rows: Vec<Row> = sqlx::query_as(built(format!(
        "{SELECT} WHERE c.community_id = $1 AND c.member_id = $2 ORDER BY c.happened_on DESC, c.id DESC LIMIT $3"
    )))
    .bind(community)
    .bind(member)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// A goal's latest contributions, newest first.
pub async fn by_goal(
    db: impl Executor<'_>,
    community: CommunityId,
    goal: GoalId,
    limit: i64,
) -> Result<Vec<ContributionRow>> {
    let rows: Vec<Row> = sqlx::query_as(built(format!(
        "{SELECT} WHERE c.community_id = $1 AND c.goal_id = $2 ORDER BY c.id DESC LIMIT $3"
    )))
    .bind(community)
    .bind(goal)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Every contribution of a community (or of one member), oldest first, for
/// export: a row at a time, however many there are.
pub fn each<'e>(
    db: impl Executor<'e> + 'e,
    community: CommunityId,
    member: Option<MemberId>,
) -> impl Stream<Item = Result<ContributionRow>> + Send + 'e {
    sqlx::query_as::<_, Row>(built(format!(
        "{SELECT} WHERE c.community_id = $1 AND ($2 IS NULL OR c.member_id = $2) ORDER BY c.id"
    )))
    .bind(community)
    .bind(member)
    .fetch(db)
    .map(|row| from_row(row?))
}
