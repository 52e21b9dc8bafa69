//! The review queue (issue 18 §4) and contribution edits (§3). A contribution
//! adding more to its goal than the goal's `review_above` is stored aside by the
//! contribution writer, under an id from the contributions' own sequence, and
//! counts nowhere until an organiser approves it; approval writes it through the
//! writer's own writes under that id. An edit takes the old contribution out of
//! every figure (as a removal does) and puts the new one in by the same rules
//! and writes, so it passes its goal's max and review rules again.
//!
//! Every decision and edit is kept in the audit trail, and a member whose
//! contribution someone else decided on or edited is told privately, through the
//! outbox, in the same transaction.

use chrono::{DateTime, NaiveDate, Utc};

use super::corrections::Retracted;
use super::outbox::{Kind, NewAnnouncement};
use crate::domain::contribution::Recorded;
use crate::domain::contribution::correction::Corrector;
use crate::domain::contribution::snapshot::Snapshot;
use crate::domain::{CommunityId, ContributionId, MemberId, Reply, UserError, WorkspaceId};
use crate::error::Result;

type Refusable<T> = std::result::Result<T, UserError>;

/// The review queue and edits, as the application uses them.
impl super::Store {
    /// The community's contributions waiting for review, oldest first, and how
    /// many wait in all.
    pub async fn waiting_for_review(
        &self,
        community: CommunityId,
        limit: i64,
    ) -> Result<(Vec<Waiting>, i64)> {
        on_engine!(self, e => {
            let waiting = sql::review::waiting_in(&e.read, community, limit).await?;
            let count = if (waiting.len() as i64) < limit {
                waiting.len() as i64
            } else {
                sql::review::waiting_count(&e.read, community).await?
            };
            Ok((waiting, count))
        })
    }

    /// A member's contributions waiting for review or rejected, newest first.
    pub async fn member_waiting(&self, member: MemberId, limit: i64) -> Result<Vec<Waiting>> {
        on_engine!(self, e => sql::review::of_member(&e.read, member, limit).await)
    }

    /// Approves contribution `id`, waiting for review; its member, unless they
    /// approved it themselves, is sent `notice` privately, and the review
    /// requests posted for it show `card`.
    pub async fn approve_contribution(
        &self,
        community: CommunityId,
        id: ContributionId,
        reviewer: MemberId,
        now: DateTime<Utc>,
        decided: Decided<'_>,
    ) -> Result<Refusable<Approved>> {
        on_engine!(self, e => e
            .write_or_refuse_in(community, async |conn| {
                let approved = match sql::review::approve(
                    conn, &e.custom_milestones, community, id, reviewer, now,
                )
                .await?
                {
                    Ok(approved) => approved,
                    Err(refused) => return Ok(Err(refused)),
                };
                sql::review::settle_requests(conn, id, &(decided.card)(&approved.waiting), now)
                    .await?;
                let member = approved.waiting.member;
                if member != reviewer
                    && let Some((workspace, user)) = sql::corrections::reach(conn, member).await?
                {
                    let body = (decided.notice)(&approved.waiting);
                    let new = direct(community, member, &body);
                    sql::outbox::enqueue_direct(conn, &new, WorkspaceId(workspace), &user, now)
                        .await?;
                }
                Ok(Ok(approved))
            })
            .await)
    }

    /// Rejects contribution `id`, waiting for review, with `reason`; its member,
    /// unless they rejected it themselves, is sent `notice` privately, and the
    /// review requests posted for it show `card`.
    pub async fn reject_contribution(
        &self,
        community: CommunityId,
        id: ContributionId,
        reviewer: MemberId,
        reason: &str,
        now: DateTime<Utc>,
        decided: Decided<'_>,
    ) -> Result<Refusable<Rejected>> {
        on_engine!(self, e => e
            .write_or_refuse_in(community, async |conn| {
                let rejected =
                    match sql::review::reject(conn, community, id, reviewer, reason, now).await? {
                        Ok(rejected) => rejected,
                        Err(refused) => return Ok(Err(refused)),
                    };
                sql::review::settle_requests(conn, id, &(decided.card)(&rejected.waiting), now)
                    .await?;
                let member = rejected.waiting.member;
                if member != reviewer
                    && let Some((workspace, user)) = sql::corrections::reach(conn, member).await?
                {
                    let body = (decided.notice)(&rejected.waiting);
                    let new = direct(community, member, &body);
                    sql::outbox::enqueue_direct(conn, &new, WorkspaceId(workspace), &user, now)
                        .await?;
                }
                Ok(Ok(rejected))
            })
            .await)
    }

    /// Edits contribution `id` if `by` may; when someone other than its member
    /// edited it, `notice` is sent to the member privately.
    #[allow(clippy::too_many_arguments)]
    pub async fn edit_contribution(
        &self,
        community: CommunityId,
        id: ContributionId,
        by: Corrector,
        change: &ContributionEdit,
        reason: &str,
        now: DateTime<Utc>,
        notice: impl Fn(&Edited) -> Reply + Send,
    ) -> Result<Refusable<Edited>> {
        on_engine!(self, e => e
            .write_or_refuse_in(community, async |conn| {
                let edited = match sql::review::edit(
                    conn, &e.custom_milestones, community, id, by, change, reason, now,
                )
                .await?
                {
                    Ok(edited) => edited,
                    Err(refused) => return Ok(Err(refused)),
                };
                if edited.member != by.member
                    && let Some((workspace, user)) =
                        sql::corrections::reach(conn, edited.member).await?
                {
                    let body = notice(&edited);
                    let new = direct(community, edited.member, &body);
                    sql::outbox::enqueue_direct(conn, &new, WorkspaceId(workspace), &user, now)
                        .await?;
                }
                Ok(Ok(edited))
            })
            .await)
    }
}

/// A private message to `member` about their own record.
fn direct<'a>(community: CommunityId, member: MemberId, body: &'a Reply) -> NewAnnouncement<'a> {
    NewAnnouncement {
        community,
        kind: Kind::Direct,
        achievement_id: None,
        contribution: None,
        about_member: Some(member),
        body,
        expires_at: None,
    }
}

/// What a decision says: privately to its member (`notice`), and in place of the
/// buttons of the review requests posted for it (`card`).
pub struct Decided<'a> {
    pub notice: &'a (dyn Fn(&Waiting) -> Reply + Sync),
    pub card: &'a (dyn Fn(&Waiting) -> Reply + Sync),
}

/// A contribution waiting for review, or rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiting {
    pub id: ContributionId,
    pub member: MemberId,
    pub member_name: String,
    pub snapshot: Snapshot,
    pub rejected: bool,
    /// Why it was rejected.
    pub reason: Option<String>,
}

/// A contribution approved: as it waited, and as the writer recorded it.
#[derive(Debug, Clone)]
pub struct Approved {
    pub waiting: Waiting,
    pub recorded: Recorded,
}

/// A contribution rejected.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub waiting: Waiting,
}

/// What `contribution edit` changes; what it leaves None stays.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContributionEdit {
    pub description: Option<String>,
    pub amount: Option<f64>,
    pub unit: Option<String>,
    /// Some(None): no goal any more.
    pub goal: Option<Option<String>>,
    /// Some(None): no value any more.
    pub value: Option<Option<String>>,
    pub day: Option<NaiveDate>,
}

impl ContributionEdit {
    /// The contribution `before`, edited. A new goal, without a new unit, takes
    /// its own (the old one was the old goal's).
    pub fn apply(&self, before: &Snapshot) -> Snapshot {
        let goal = self.goal.clone().unwrap_or_else(|| before.goal.clone());
        let unit = match (&self.unit, &self.goal) {
            (Some(unit), _) => Some(unit.clone()),
            (None, Some(Some(_))) if goal != before.goal => None,
            _ => before.unit.clone(),
        };
        Snapshot {
            description: self
                .description
                .clone()
                .unwrap_or_else(|| before.description.clone()),
            amount: self.amount.or(before.amount),
            unit,
            goal,
            value: self.value.clone().unwrap_or_else(|| before.value.clone()),
            platform: before.platform.clone(),
            day: self.day.unwrap_or(before.day),
            logged_at: before.logged_at,
        }
    }

    /// Whether it changes anything at all.
    pub fn is_empty(&self) -> bool {
        *self == ContributionEdit::default()
    }
}

/// A contribution edited.
#[derive(Debug, Clone)]
pub struct Edited {
    pub id: ContributionId,
    /// Whose it is.
    pub member: MemberId,
    pub before: Snapshot,
    pub after: Snapshot,
    /// As the writer recorded it; `review` set when it now waits for review.
    pub recorded: Recorded,
    /// Milestones reached only through the old values.
    pub retracted: Vec<Retracted>,
}
