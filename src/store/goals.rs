//! Goals: what the community works towards, with progress kept by the writer.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{SqliteConnection, SqliteExecutor};

use super::built;
use super::{day, parse_day, ts};
use crate::domain::{CommunityId, GoalId, MemberId};
use crate::error::Result;

/// Goals, as the application reads and changes them.
impl super::Store {
    pub async fn goal_by_slug(&self, community: CommunityId, slug: &str) -> Result<Option<Goal>> {
        by_slug(&self.sqlite().read, community, slug).await
    }

    /// The community's open goals, soonest deadline first.
    pub async fn open_goals(&self, community: CommunityId) -> Result<Vec<Goal>> {
        list(&self.sqlite().read, community, false).await
    }

    /// Creates a goal unless the community already has `max_open` open ones (counted
    /// under the write lock, so two organisers cannot both pass) or the slug is
    /// taken; nothing is written then.
    pub async fn create_goal(
        &self,
        community: CommunityId,
        goal: &NewGoalRow<'_>,
        max_open: i64,
        now: DateTime<Utc>,
    ) -> Result<Result<GoalId, GoalRefused>> {
        self.sqlite()
            .write_or_refuse(async |conn| {
                if open_count(&mut *conn, community).await? >= max_open {
                    return Ok(Err(GoalRefused::TooManyOpen));
                }
                match create(conn, community, goal, now).await {
                    Ok(id) => Ok(Ok(id)),
                    Err(e) if super::errors::is_unique_violation(&e) => {
                        Ok(Err(GoalRefused::SlugTaken))
                    }
                    Err(e) => Err(e.into()),
                }
            })
            .await
    }

    /// Closes an open goal; false if it was already closed.
    pub async fn close_goal(
        &self,
        community: CommunityId,
        goal: GoalId,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.sqlite()
            .write(async |conn| close(conn, community, goal, now).await)
            .await
    }

    /// Per goal with any in `[from, to]`: slug, title, unit, contributions and amount.
    pub async fn goal_progress_between(
        &self,
        community: CommunityId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(String, String, Option<String>, i64, f64)>> {
        progress_between(&self.sqlite().read, community, from, to).await
    }
}

/// Why a goal was not created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoalRefused {
    /// The community has as many open goals as it may.
    TooManyOpen,
    /// Another goal of the community has that slug (slugs stay taken after a goal
    /// closes).
    SlugTaken,
}

#[derive(Debug, Clone)]
pub struct Goal {
    pub id: GoalId,
    pub community: CommunityId,
    pub slug: String,
    pub title: String,
    pub target: f64,
    pub unit: Option<String>,
    pub deadline: Option<NaiveDate>,
    pub open: bool,
    pub progress: f64,
    pub contribution_count: i64,
    pub met_at: Option<String>,
}

impl Goal {
    /// Progress as a percentage of the target, capped at 100 for display.
    pub fn percent(&self) -> f64 {
        (self.progress / self.target * 100.0).clamp(0.0, 100.0)
    }
}

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
    })
}

const SELECT: &str =
    "SELECT id, community_id, slug, title, target, unit, deadline, status, progress,
    contribution_count, met_at FROM goals";

pub async fn by_slug(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    slug: &str,
) -> Result<Option<Goal>> {
    let row: Option<Row> = sqlx::query_as(built(format!(
        "{SELECT} WHERE community_id = ? AND slug = ?"
    )))
    .bind(community)
    .bind(slug)
    .fetch_optional(db)
    .await?;
    row.map(from_row).transpose()
}

pub async fn by_id(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    id: GoalId,
) -> Result<Option<Goal>> {
    let row: Option<Row> =
        sqlx::query_as(built(format!("{SELECT} WHERE community_id = ? AND id = ?")))
            .bind(community)
            .bind(id)
            .fetch_optional(db)
            .await?;
    row.map(from_row).transpose()
}

/// Open goals first (by deadline), then closed ones, newest first.
pub async fn list(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    include_closed: bool,
) -> Result<Vec<Goal>> {
    let filter = if include_closed {
        ""
    } else {
        "AND status = 'open'"
    };
    let rows: Vec<Row> = sqlx::query_as(built(format!(
        "{SELECT} WHERE community_id = ? {filter}
         ORDER BY status = 'closed', deadline IS NULL, deadline, id DESC"
    )))
    .bind(community)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// How many goals of a community are open.
pub async fn open_count(db: impl SqliteExecutor<'_>, community: CommunityId) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM goals WHERE community_id = ? AND status = 'open'")
            .bind(community)
            .fetch_one(db)
            .await?,
    )
}

pub struct NewGoalRow<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub target: f64,
    pub unit: Option<&'a str>,
    pub deadline: Option<NaiveDate>,
    pub created_by: MemberId,
}

/// Inserts a goal. A taken slug is a unique violation for the caller to explain.
pub async fn create(
    conn: &mut SqliteConnection,
    community: CommunityId,
    goal: &NewGoalRow<'_>,
    now: DateTime<Utc>,
) -> Result<GoalId, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO goals (community_id, slug, title, target, unit, deadline, created_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(community)
    .bind(goal.slug)
    .bind(goal.title)
    .bind(goal.target)
    .bind(goal.unit)
    .bind(goal.deadline.map(day))
    .bind(goal.created_by)
    .bind(ts(now))
    .fetch_one(conn)
    .await?;
    Ok(GoalId(id))
}

/// Closes an open goal; false if it was already closed.
pub async fn close(
    conn: &mut SqliteConnection,
    community: CommunityId,
    id: GoalId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE goals SET status = 'closed', closed_at = ? WHERE community_id = ? AND id = ? AND status = 'open'",
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
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(String, String, Option<String>, i64, f64)>> {
    Ok(sqlx::query_as(
        "SELECT g.slug, g.title, g.unit, COALESCE(SUM(d.contributions), 0), COALESCE(SUM(d.amount), 0)
         FROM goals g JOIN goal_daily_progress d ON d.goal_id = g.id
         WHERE g.community_id = ? AND d.day BETWEEN ? AND ?
         GROUP BY g.id ORDER BY 4 DESC, g.id",
    )
    .bind(community)
    .bind(day(from))
    .bind(day(to))
    .fetch_all(db)
    .await?)
}
