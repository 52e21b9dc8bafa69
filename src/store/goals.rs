//! Goals: what the community works towards, with progress kept by the writer.

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::{CommunityId, GoalId, MemberId};
use crate::error::Result;
use crate::store::corrections::Change;

/// Goals, as the application reads and changes them.
impl super::Store {
    pub async fn goal_by_slug(&self, community: CommunityId, slug: &str) -> Result<Option<Goal>> {
        on_engine!(self, e => sql::goals::by_slug(&e.read, community, slug).await)
    }

    /// The community's open goals, soonest deadline first.
    pub async fn open_goals(&self, community: CommunityId) -> Result<Vec<Goal>> {
        on_engine!(self, e => sql::goals::list(&e.read, community, false).await)
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
        on_engine!(self, e => e
            .write_or_refuse_in(community, async |conn| {
                if sql::goals::open_count(&mut *conn, community).await? >= max_open {
                    return Ok(Err(GoalRefused::TooManyOpen));
                }
                match sql::goals::create(conn, community, goal, now).await {
                    Ok(id) => Ok(Ok(id)),
                    Err(e) if super::errors::is_unique_violation(&e) => {
                        Ok(Err(GoalRefused::SlugTaken))
                    }
                    Err(e) => Err(e.into()),
                }
            })
            .await)
    }

    /// Writes a goal's new terms (`goal edit`), `before` becoming `after`. A goal
    /// whose target its progress no longer reaches is no longer met; one the edit
    /// brings to its target is met now. Refused, writing nothing, if the new slug
    /// is taken. The change is kept in the audit trail, terms before and after.
    pub async fn edit_goal(
        &self,
        community: CommunityId,
        before: &Goal,
        after: &Goal,
        by: MemberId,
        now: DateTime<Utc>,
    ) -> Result<Result<(), GoalRefused>> {
        on_engine!(self, e => e
            .write_or_refuse_in(community, async |conn| {
                match sql::goals::edit(conn, community, after, now).await {
                    Ok(()) => {}
                    Err(e) if super::errors::is_unique_violation(&e) => {
                        return Ok(Err(GoalRefused::SlugTaken));
                    }
                    Err(e) => return Err(e.into()),
                }
                let change = Change {
                    community,
                    subject: "goal",
                    subject_id: before.id.0,
                    action: "edit",
                    member: None,
                    other: None,
                    actor: Some(by),
                    before: Some(terms(before)),
                    after: Some(terms(after)),
                    reason: None,
                };
                sql::corrections::record(conn, &change, now).await?;
                Ok(Ok(()))
            })
            .await)
    }

    /// Opens a closed goal again: refused if `max_open` goals are open already
    /// (counted under the write lock); false if it was open. A reopening is kept
    /// in the audit trail.
    pub async fn reopen_goal(
        &self,
        community: CommunityId,
        goal: &Goal,
        max_open: i64,
        by: MemberId,
        now: DateTime<Utc>,
    ) -> Result<Result<bool, GoalRefused>> {
        on_engine!(self, e => e
            .write_or_refuse_in(community, async |conn| {
                if sql::goals::open_count(&mut *conn, community).await? >= max_open {
                    return Ok(Err(GoalRefused::TooManyOpen));
                }
                if !sql::goals::reopen(conn, community, goal.id).await? {
                    return Ok(Ok(false));
                }
                let change = Change {
                    community,
                    subject: "goal",
                    subject_id: goal.id.0,
                    action: "reopen",
                    member: None,
                    other: None,
                    actor: Some(by),
                    before: Some(serde_json::json!({
                        "title": goal.title, "slug": goal.slug, "status": "closed",
                    })),
                    after: Some(serde_json::json!({ "status": "open" })),
                    reason: None,
                };
                sql::corrections::record(conn, &change, now).await?;
                Ok(Ok(true))
            })
            .await)
    }

    /// Closes an open goal; false if it was already closed.
    pub async fn close_goal(
        &self,
        community: CommunityId,
        goal: GoalId,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        on_engine!(self, e => e
            .write_in(community, async |conn| sql::goals::close(conn, community, goal, now).await)
            .await)
    }

    /// Per goal with any in `[from, to]`: slug, title, unit, contributions and amount.
    pub async fn goal_progress_between(
        &self,
        community: CommunityId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(String, String, Option<String>, i64, f64)>> {
        on_engine!(self, e => sql::goals::progress_between(&e.read, community, from, to).await)
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
    /// The most one contribution may add.
    pub max_amount: Option<f64>,
    /// Contributions adding more wait for review (stored and shown for now).
    pub review_above: Option<f64>,
}

impl Goal {
    /// Progress as a percentage of the target, capped at 100 for display.
    pub fn percent(&self) -> f64 {
        (self.progress / self.target * 100.0).clamp(0.0, 100.0)
    }
}

pub struct NewGoalRow<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub target: f64,
    pub unit: Option<&'a str>,
    pub deadline: Option<NaiveDate>,
    pub created_by: MemberId,
    pub max_amount: Option<f64>,
    pub review_above: Option<f64>,
}

/// The terms `goal edit` changes, as the audit trail keeps them.
fn terms(goal: &Goal) -> serde_json::Value {
    serde_json::json!({
        "title": goal.title,
        "slug": goal.slug,
        "target": goal.target,
        "unit": goal.unit,
        "deadline": goal.deadline.map(|d| d.to_string()),
        "max": goal.max_amount,
        "review_above": goal.review_above,
    })
}
