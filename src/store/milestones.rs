//! Custom milestones and achievements. An achievement is unique per (milestone,
//! subject): recording it twice does nothing the second time.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::domain::{CommunityId, GoalId, MemberId};
use crate::error::Result;

/// Milestones, as the application reads and adds them.
impl super::Store {
    /// The community's custom milestones, by goal and threshold.
    pub async fn custom_milestones(&self, community: CommunityId) -> Result<Vec<CustomMilestone>> {
        on_engine!(self, e => sql::milestones::custom_for(&e.read, community).await)
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
        let added = on_engine!(self, e => e
            .write_or_refuse_in(community, async |conn| {
                if sql::milestones::pending_custom_count(&mut *conn, community).await? >= max_pending {
                    return Ok(Err(()));
                }
                let id = sql::milestones::add_custom(
                    conn, community, goal, title, threshold, created_by, now,
                )
                .await?;
                Ok(Ok(id))
            })
            .await)?
        .ok();
        if added.is_some() {
            on_engine!(self, e => e.custom_milestone_added());
        }
        Ok(added)
    }

    /// Removes custom milestone `id` (`milestone remove`), keeping what it was in
    /// the audit trail; None if the community has no such milestone. An
    /// achievement of it stays: it was reached, and was celebrated.
    pub async fn remove_custom_milestone(
        &self,
        community: CommunityId,
        id: i64,
        by: MemberId,
        now: DateTime<Utc>,
    ) -> Result<Option<RemovedMilestone>> {
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                sql::milestones::remove_custom(conn, community, id, by, now).await
            })
            .await)
    }

    /// The community's latest achievements, newest first.
    pub async fn recent_milestones(
        &self,
        community: CommunityId,
        limit: i64,
    ) -> Result<Vec<Achievement>> {
        on_engine!(self, e => sql::milestones::recent(&e.read, community, limit).await)
    }

    /// Which of the community's custom milestones are reached, by id.
    pub async fn reached_custom_milestone_ids(&self, community: CommunityId) -> Result<Vec<i64>> {
        on_engine!(self, e => sql::milestones::reached_custom_ids(&e.read, community).await)
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

/// A custom milestone as it was when removed, kept in the audit trail.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RemovedMilestone {
    pub title: String,
    pub threshold: f64,
    /// The slug of the goal it followed; None: the community's contribution count.
    pub goal: Option<String>,
    /// Whether it had been reached.
    pub reached: bool,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomMilestone {
    pub id: i64,
    pub goal_id: Option<GoalId>,
    pub title: String,
    pub threshold: f64,
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

    /// Whether any custom milestones exist: the answer remembered, or else `ask`'s.
    pub async fn any_asking(&self, ask: impl Future<Output = Result<bool>>) -> Result<bool> {
        if let Some((answer, at)) = *self.0.lock().unwrap_or_else(|e| e.into_inner())
            && at.elapsed() < Self::FRESH
        {
            return Ok(answer);
        }
        let found = ask.await?;
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((found, Instant::now()));
        Ok(found)
    }
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

#[derive(Debug, Clone)]
pub struct Achievement {
    pub title: String,
    pub achieved_at: DateTime<Utc>,
}
