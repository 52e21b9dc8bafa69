//! Goals' queries.

use chrono::{DateTime, NaiveDate, Utc};

use super::super::engine::built;
use super::{Conn, Executor};
use crate::domain::{CommunityId, GoalId};
use crate::error::Result;
use crate::store::goals::{Goal, NewGoalRow};
use crate::store::{day, parse_day, ts};

type Row = (
    i64,
    i64,
    String,
    String,
    f64,
    Option<String>,
    Option<String>,
    String,
    f64,
    i64,
    Option<String>,
    Option<f64>,
    Option<f64>,
);

fn from_row(r: Row) -> Result<Goal> {
    Ok(Goal {
        id: GoalId(r.0),
        community: CommunityId(r.1),
        slug: r.2,
        title: r.3,
        target: r.4,
        unit: r.5,
        deadline: r.6.as_deref().map(parse_day).transpose()?,
        open: r.7 == "open",
        progress: r.8,
        contribution_count: r.9,
        met_at: r.10,
        max_amount: r.11,
        review_above: r.12,
    })
}

const SELECT: &str =
    "SELECT id, community_id, slug, title, target, unit, deadline, status, progress,
    contribution_count, met_at, max_amount, review_above FROM goals";

pub async fn by_slug(
    db: impl Executor<'_>,
    community: CommunityId,
    slug: &str,
) -> Result<Option<Goal>> {
    let row: Option<Row> = sqlx::query_as(built(format!(
        "{SELECT} WHERE community_id = $1 AND slug = $2"
    )))
    .bind(community)
    .bind(slug)
    .fetch_optional(db)
    .await?;
    row.map(from_row).transpose()
}

/// Open goals first (by deadline), then closed ones, newest first.
pub async fn list(
    db: impl Executor<'_>,
    community: CommunityId,
    include_closed: bool,
) -> Result<Vec<Goal>> {
    let filter = if include_closed {
        ""
    } else {
        "AND status = 'open'"
    };
    let rows: Vec<Row> = sqlx::query_as(built(format!(
        "{SELECT} WHERE community_id = $1 {filter}
         ORDER BY status = 'closed', deadline IS NULL, deadline, id DESC"
    )))
    .bind(community)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// How many goals of a community are open.
pub async fn open_count(db: impl Executor<'_>, community: CommunityId) -> Result<i64> {
    Ok(
        sqlx::query_scalar(
            "SELECT count(*) FROM goals WHERE community_id = $1 AND status = 'open'",
        )
        .bind(community)
        .fetch_one(db)
        .await?,
    )
}

/// Inserts a goal. A taken slug is a unique violation for the caller to explain.
pub async fn create(
    conn: &mut Conn,
    community: CommunityId,
    goal: &NewGoalRow<'_>,
    now: DateTime<Utc>,
) -> Result<GoalId, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO goals (community_id, slug, title, target, unit, deadline, created_by, created_at,
                            max_amount, review_above)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(community)
    .bind(goal.slug)
    .bind(goal.title)
    .bind(goal.target)
    .bind(goal.unit)
    .bind(goal.deadline.map(day))
    .bind(goal.created_by)
    .bind(ts(now))
    .bind(goal.max_amount)
    .bind(goal.review_above)
    .fetch_one(conn)
    .await?;
    Ok(GoalId(id))
}

/// Writes a goal's terms as `goal` has them, and whether it is met by them:
/// progress short of a new target unmeets it, progress at one meets it now. A
/// taken slug is a unique violation for the caller to explain.
pub async fn edit(
    conn: &mut Conn,
    community: CommunityId,
    goal: &Goal,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE goals SET slug = $1, title = $2, target = $3, unit = $4, deadline = $5,
                max_amount = $6, review_above = $7,
                met_at = CASE WHEN progress >= $3 - 1e-9 * CASE WHEN $3 > 1 THEN $3 ELSE 1 END
                              THEN COALESCE(met_at, $8) END
         WHERE community_id = $9 AND id = $10",
    )
    .bind(&goal.slug)
    .bind(&goal.title)
    .bind(goal.target)
    .bind(&goal.unit)
    .bind(goal.deadline.map(day))
    .bind(goal.max_amount)
    .bind(goal.review_above)
    .bind(ts(now))
    .bind(community)
    .bind(goal.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Opens a closed goal again; false if it was open.
pub async fn reopen(conn: &mut Conn, community: CommunityId, id: GoalId) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE goals SET status = 'open', closed_at = NULL WHERE community_id = $1 AND id = $2 AND status = 'closed'",
    )
    .bind(community)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Closes an open goal; false if it was already closed.
pub async fn close(
    conn: &mut Conn,
    community: CommunityId,
    id: GoalId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE goals SET status = 'closed', closed_at = $1 WHERE community_id = $2 AND id = $3 AND status = 'open'",
    )
    .bind(ts(now))
    .bind(community)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Contributions and amount towards a goal per day in `[from, to]`.
pub async fn progress_between(
    db: impl Executor<'_>,
    community: CommunityId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(String, String, Option<String>, i64, f64)>> {
    Ok(sqlx::query_as(
        "SELECT g.slug, g.title, g.unit, CAST(COALESCE(SUM(d.contributions), 0) AS BIGINT),
                CAST(COALESCE(SUM(d.amount), 0) AS DOUBLE PRECISION)
         FROM goals g JOIN goal_daily_progress d ON d.goal_id = g.id
         WHERE g.community_id = $1 AND d.day BETWEEN $2 AND $3
         GROUP BY g.id ORDER BY 4 DESC, g.id",
    )
    .bind(community)
    .bind(day(from))
    .bind(day(to))
    .fetch_all(db)
    .await?)
}
