//! Custom milestones and achievements. An achievement is unique per (milestone,
//! subject): recording it twice does nothing the second time.

use chrono::{DateTime, Utc};
use sqlx::{SqliteConnection, SqliteExecutor};

use super::{parse_ts, ts};
use crate::domain::{CommunityId, GoalId, MemberId};
use crate::error::Result;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomMilestone {
    pub id: i64,
    pub goal_id: Option<GoalId>,
    pub title: String,
    pub threshold: f64,
}

pub async fn custom_for(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
) -> Result<Vec<CustomMilestone>> {
    Ok(sqlx::query_as(
        "SELECT id, goal_id, title, threshold FROM milestones WHERE community_id = ? ORDER BY goal_id, threshold",
    )
    .bind(community)
    .fetch_all(db)
    .await?)
}

/// Whether any community has custom milestones. The answer is remembered for a
/// few seconds (and set at once when one is added here), so the writer does not
/// ask in every batch; one added by another process counts within that time.
pub async fn any_custom(conn: &mut SqliteConnection) -> Result<bool> {
    const FRESH: std::time::Duration = std::time::Duration::from_secs(5);
    if let Some((answer, at)) = *ANY_CUSTOM.lock().unwrap_or_else(|e| e.into_inner())
        && at.elapsed() < FRESH
    {
        return Ok(answer);
    }
    let found: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM milestones)")
        .fetch_one(conn)
        .await?;
    *ANY_CUSTOM.lock().unwrap_or_else(|e| e.into_inner()) =
        Some((found, std::time::Instant::now()));
    Ok(found)
}

static ANY_CUSTOM: std::sync::Mutex<Option<(bool, std::time::Instant)>> =
    std::sync::Mutex::new(None);

pub async fn add_custom(
    conn: &mut SqliteConnection,
    community: CommunityId,
    goal: Option<GoalId>,
    title: &str,
    threshold: f64,
    by: MemberId,
    now: DateTime<Utc>,
) -> Result<i64> {
    *ANY_CUSTOM.lock().unwrap_or_else(|e| e.into_inner()) = Some((true, std::time::Instant::now()));
    Ok(sqlx::query_scalar(
        "INSERT INTO milestones (community_id, goal_id, title, threshold, created_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(community)
    .bind(goal)
    .bind(title)
    .bind(threshold)
    .bind(by)
    .bind(ts(now))
    .fetch_one(conn)
    .await?)
}

pub struct NewAchievement<'a> {
    pub community: CommunityId,
    pub milestone_key: &'a str,
    pub subject: &'a str,
    pub title: &'a str,
    pub member: Option<MemberId>,
    pub goal: Option<GoalId>,
    pub contribution: Option<i64>,
}

/// Records an achievement; Some(id) only the first time.
pub async fn record(
    conn: &mut SqliteConnection,
    a: &NewAchievement<'_>,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO milestone_achievements
            (community_id, milestone_key, subject, title, member_id, goal_id, contribution_id, achieved_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (community_id, milestone_key, subject) DO NOTHING RETURNING id",
    )
    .bind(a.community)
    .bind(a.milestone_key)
    .bind(a.subject)
    .bind(a.title)
    .bind(a.member)
    .bind(a.goal)
    .bind(a.contribution)
    .bind(ts(now))
    .fetch_optional(conn)
    .await?)
}

#[derive(Debug, Clone)]
pub struct Achievement {
    pub title: String,
    pub achieved_at: DateTime<Utc>,
}

/// The latest achievements of a community, newest first.
pub async fn recent(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    limit: i64,
) -> Result<Vec<Achievement>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT title, achieved_at FROM milestone_achievements WHERE community_id = ? ORDER BY id DESC LIMIT ?",
    )
    .bind(community)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(title, at)| {
            Ok(Achievement {
                title,
                achieved_at: parse_ts(&at)?,
            })
        })
        .collect()
}

/// Which custom milestones are already reached, by id.
pub async fn reached_custom_ids(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
) -> Result<Vec<i64>> {
    let keys: Vec<String> = sqlx::query_scalar(
        "SELECT milestone_key FROM milestone_achievements WHERE community_id = ? AND milestone_key LIKE 'custom.%'",
    )
    .bind(community)
    .fetch_all(db)
    .await?;
    Ok(keys
        .iter()
        .filter_map(|k| k.strip_prefix("custom.")?.parse().ok())
        .collect())
}
