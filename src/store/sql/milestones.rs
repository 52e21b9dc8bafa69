//! Custom milestones' and achievements' queries.

use chrono::{DateTime, Utc};

use super::super::engine::built;
use super::{Conn, Executor};
use crate::domain::{CommunityId, GoalId, MemberId};
use crate::error::Result;
use crate::store::corrections::Change;
use crate::store::milestones::{Achievement, CustomMilestone, NewAchievement, RemovedMilestone};
use crate::store::{parse_ts, ts};

/// The community's custom milestones, by goal (the community's own first) and
/// threshold.
pub async fn custom_for(
    db: impl Executor<'_>,
    community: CommunityId,
) -> Result<Vec<CustomMilestone>> {
    Ok(sqlx::query_as(
        "SELECT id, goal_id, title, threshold FROM milestones WHERE community_id = $1
         ORDER BY goal_id NULLS FIRST, threshold",
    )
    .bind(community)
    .fetch_all(db)
    .await?)
}

/// Custom milestones that can still be reached: not reached yet, and on the
/// community's count or on an open goal. What the contribution writer checks.
const PENDING: &str = "FROM milestones m LEFT JOIN goals g ON g.id = m.goal_id
     WHERE m.community_id = $1 AND (m.goal_id IS NULL OR g.status = 'open')
     AND NOT EXISTS (SELECT 1 FROM milestone_achievements a
                     WHERE a.community_id = $1 AND a.milestone_key = 'custom.' || m.id)";

pub async fn pending_custom_for(
    db: impl Executor<'_>,
    community: CommunityId,
) -> Result<Vec<CustomMilestone>> {
    Ok(sqlx::query_as(built(format!(
        "SELECT m.id, m.goal_id, m.title, m.threshold {PENDING}
         ORDER BY m.goal_id NULLS FIRST, m.threshold"
    )))
    .bind(community)
    .fetch_all(db)
    .await?)
}

pub async fn pending_custom_count(db: impl Executor<'_>, community: CommunityId) -> Result<i64> {
    Ok(
        sqlx::query_scalar(built(format!("SELECT count(*) {PENDING}")))
            .bind(community)
            .fetch_one(db)
            .await?,
    )
}

/// Whether any community has custom milestones.
pub async fn any_custom(db: impl Executor<'_>) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM milestones)")
            .fetch_one(db)
            .await?,
    )
}

pub async fn add_custom(
    conn: &mut Conn,
    community: CommunityId,
    goal: Option<GoalId>,
    title: &str,
    threshold: f64,
    by: MemberId,
    now: DateTime<Utc>,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO milestones (community_id, goal_id, title, threshold, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
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

/// Removes a custom milestone of `community` and keeps what it was in the audit
/// trail; None if there is no such milestone.
pub async fn remove_custom(
    conn: &mut Conn,
    community: CommunityId,
    id: i64,
    by: MemberId,
    now: DateTime<Utc>,
) -> Result<Option<RemovedMilestone>> {
    let found: Option<(String, f64, Option<String>, bool)> = sqlx::query_as(
        "SELECT m.title, m.threshold, g.slug,
                EXISTS (SELECT 1 FROM milestone_achievements a
                        WHERE a.community_id = $2 AND a.milestone_key = 'custom.' || m.id)
         FROM milestones m LEFT JOIN goals g ON g.id = m.goal_id
         WHERE m.id = $1 AND m.community_id = $2",
    )
    .bind(id)
    .bind(community)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((title, threshold, goal, reached)) = found else {
        return Ok(None);
    };
    sqlx::query("DELETE FROM milestones WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let removed = RemovedMilestone {
        title,
        threshold,
        goal,
        reached,
    };
    super::corrections::record(
        conn,
        &Change {
            community,
            subject: "milestone",
            subject_id: id,
            action: "remove",
            member: None,
            other: None,
            actor: Some(by),
            before: Some(serde_json::to_value(&removed)?),
            after: None,
            reason: None,
        },
        now,
    )
    .await?;
    Ok(Some(removed))
}

/// Records an achievement; Some(id) only the first time.
pub async fn record(
    conn: &mut Conn,
    a: &NewAchievement<'_>,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO milestone_achievements
            (community_id, milestone_key, subject, title, member_id, goal_id, contribution_id, achieved_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
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

/// The latest achievements of a community, newest first.
pub async fn recent(
    db: impl Executor<'_>,
    community: CommunityId,
    limit: i64,
) -> Result<Vec<Achievement>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT title, achieved_at FROM milestone_achievements WHERE community_id = $1 ORDER BY id DESC LIMIT $2",
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
pub async fn reached_custom_ids(db: impl Executor<'_>, community: CommunityId) -> Result<Vec<i64>> {
    let keys: Vec<String> = sqlx::query_scalar(
        "SELECT milestone_key FROM milestone_achievements WHERE community_id = $1 AND milestone_key LIKE 'custom.%'",
    )
    .bind(community)
    .fetch_all(db)
    .await?;
    Ok(keys
        .iter()
        .filter_map(|k| k.strip_prefix("custom.")?.parse().ok())
        .collect())
}
