//! Custom milestones and achievements. An achievement is unique per (milestone,
//! subject): recording it twice does nothing the second time.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::{SqliteConnection, SqliteExecutor};

use super::{parse_ts, ts};
use crate::domain::{CommunityId, GoalId, MemberId};
use crate::error::Result;

/// Milestones, as the application reads and adds them.
impl super::Store {
    /// The community's custom milestones, by goal and threshold.
    pub async fn custom_milestones(&self, community: CommunityId) -> Result<Vec<CustomMilestone>> {
        custom_for(&self.sqlite().read, community).await
    }

    /// Adds a custom milestone unless the community already has `max_pending`
    /// waiting to be reached (counted under the write lock, so two organisers
    /// cannot both pass); None, with nothing written, then. The contribution
    /// writer is told at once.
    pub async fn add_custom_milestone(
        &self,
        community: CommunityId,
        milestone: &NewMilestoneRow<'_>,
        max_pending: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let NewMilestoneRow {
            goal,
            title,
            threshold,
            created_by,
        } = *milestone;
        let added = self
            .sqlite()
            .write_or_refuse(async |conn| {
                if pending_custom_count(&mut *conn, community).await? >= max_pending {
                    return Ok(Err(()));
                }
                let id =
                    add_custom(conn, community, goal, title, threshold, created_by, now).await?;
                Ok(Ok(id))
            })
            .await?
            .ok();
        if added.is_some() {
            self.sqlite().custom_milestone_added();
        }
        Ok(added)
    }

    /// The community's latest achievements, newest first.
    pub async fn recent_milestones(
        &self,
        community: CommunityId,
        limit: i64,
    ) -> Result<Vec<Achievement>> {
        recent(&self.sqlite().read, community, limit).await
    }

    /// Which of the community's custom milestones are reached, by id.
    pub async fn reached_custom_milestone_ids(&self, community: CommunityId) -> Result<Vec<i64>> {
        reached_custom_ids(&self.sqlite().read, community).await
    }
}

/// A custom milestone to add: at `threshold` of a goal's unit, or of the
/// community's contributions without a goal.
#[derive(Debug, Clone, Copy)]
pub struct NewMilestoneRow<'a> {
    pub goal: Option<GoalId>,
    pub title: &'a str,
    pub threshold: f64,
    pub created_by: MemberId,
}

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

/// Custom milestones that can still be reached: not reached yet, and on the
/// community's count or on an open goal. What the contribution writer checks.
const PENDING: &str = "FROM milestones m LEFT JOIN goals g ON g.id = m.goal_id
     WHERE m.community_id = ?1 AND (m.goal_id IS NULL OR g.status = 'open')
     AND NOT EXISTS (SELECT 1 FROM milestone_achievements a
                     WHERE a.community_id = ?1 AND a.milestone_key = 'custom.' || m.id)";

pub async fn pending_custom_for(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
) -> Result<Vec<CustomMilestone>> {
    Ok(sqlx::query_as(super::built(format!(
        "SELECT m.id, m.goal_id, m.title, m.threshold {PENDING} ORDER BY m.goal_id, m.threshold"
    )))
    .bind(community)
    .fetch_all(db)
    .await?)
}

pub async fn pending_custom_count(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
) -> Result<i64> {
    Ok(
        sqlx::query_scalar(super::built(format!("SELECT count(*) {PENDING}")))
            .bind(community)
            .fetch_one(db)
            .await?,
    )
}

/// Whether any community of a database has custom milestones, remembered a few
/// seconds so the contribution writer need not ask in every batch. The store
/// marks it as soon as one is added; one added by another process counts within
/// those seconds.
#[derive(Clone, Default)]
pub struct CustomHint(Arc<Mutex<Option<(bool, Instant)>>>);

impl CustomHint {
    const FRESH: Duration = Duration::from_secs(5);

    /// A custom milestone was just added.
    pub fn added(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((true, Instant::now()));
    }

    pub async fn any(&self, conn: &mut SqliteConnection) -> Result<bool> {
        if let Some((answer, at)) = *self.0.lock().unwrap_or_else(|e| e.into_inner())
            && at.elapsed() < Self::FRESH
        {
            return Ok(answer);
        }
        let found: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM milestones)")
            .fetch_one(conn)
            .await?;
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((found, Instant::now()));
        Ok(found)
    }
}

pub async fn add_custom(
    conn: &mut SqliteConnection,
    community: CommunityId,
    goal: Option<GoalId>,
    title: &str,
    threshold: f64,
    by: MemberId,
    now: DateTime<Utc>,
) -> Result<i64> {
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

/// Achievements from one JSON array of {community, key, subject, title, member,
/// goal, contribution, at}, in its order; returns (community, key, subject) of
/// those recorded now, the first time they were reached.
pub(super) const RECORD_CROSSED: &str = "INSERT INTO milestone_achievements
        (community_id, milestone_key, subject, title, member_id, goal_id, contribution_id, achieved_at)
     SELECT value->>'community', value->>'key', value->>'subject', value->>'title', value->>'member',
        value->>'goal', value->>'contribution', value->>'at'
     FROM jsonb_each(?) WHERE true ORDER BY key
     ON CONFLICT (community_id, milestone_key, subject) DO NOTHING
     RETURNING community_id, milestone_key, subject";

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
