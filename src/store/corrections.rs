//! Corrections (issue 18 §3): a contribution removed by its member or an
//! organiser leaves every derived figure as a recount of what is left would (goal
//! progress, counts, daily activity and the rollups, cohorts and window totals it
//! feeds, hours, alignment, amounts by unit, newcomer conversion), retracts the
//! milestones only it reached, and is kept in the audit trail (`record_changes`,
//! migration 0016) with what it was, who removed it, when and why.
//!
//! One write transaction per correction, costing what the contribution and its
//! member's own days cost: nothing reads a community's contributions under the
//! write lock (migration 0008 keeps no index by member on them, on purpose).

use chrono::{DateTime, NaiveDate, Utc};

use super::outbox::{Kind, NewAnnouncement};
use super::parse_ts;
use crate::domain::contribution::correction::Corrector;
use crate::domain::contribution::snapshot::Snapshot;
use crate::domain::{CommunityId, ContributionId, MemberId, Reply, UserError, WorkspaceId};
use crate::error::Result;

/// Corrections, as the application makes them.
impl super::Store {
    /// Removes contribution `id` if `by` may (their own within 7 days of logging
    /// it; an organiser any), takes it out of every figure, retracts milestones it
    /// alone reached and keeps the change in the audit trail. When someone other
    /// than its member removed it, `notice` is sent to the member privately, in
    /// the same transaction.
    pub async fn remove_contribution(
        &self,
        community: CommunityId,
        id: ContributionId,
        by: Corrector,
        reason: &str,
        now: DateTime<Utc>,
        notice: impl Fn(&Removed) -> Reply + Send,
    ) -> Result<std::result::Result<Removed, UserError>> {
        on_engine!(self, e => e
            .write_or_refuse_in(community, async |conn| {
                let removed =
                    match sql::corrections::remove_contribution(conn, community, id, by, reason, now)
                        .await?
                    {
                        Ok(removed) => removed,
                        Err(refused) => return Ok(Err(refused)),
                    };
                if removed.member != by.member
                    && let Some((workspace, user)) =
                        sql::corrections::reach(conn, removed.member).await?
                {
                    let body = notice(&removed);
                    let new = NewAnnouncement {
                        community,
                        kind: Kind::Direct,
                        achievement_id: None,
                        contribution: None,
                        about_member: Some(removed.member),
                        body: &body,
                        expires_at: None,
                    };
                    sql::outbox::enqueue_direct(conn, &new, WorkspaceId(workspace), &user, now)
                        .await?;
                }
                Ok(Ok(removed))
            })
            .await)
    }

    /// Removes kudos `id` (`kudos remove`), takes it out of both members' counts
    /// and every figure they feed, and keeps the change in the audit trail. Its
    /// receiver and giver, unless one of them removed it, are sent `notice`
    /// privately in the same transaction. None if there is no such kudos.
    pub async fn remove_kudos(
        &self,
        community: CommunityId,
        id: i64,
        by: MemberId,
        reason: &str,
        now: DateTime<Utc>,
        notice: impl Fn(&RemovedKudos, KudosSide) -> Reply + Send,
    ) -> Result<Option<RemovedKudos>> {
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                let Some(removed) =
                    sql::kudos::remove(conn, community, id, by, reason, now).await?
                else {
                    return Ok(None);
                };
                for (member, side) in [
                    (removed.to, KudosSide::Received),
                    (removed.from, KudosSide::Given),
                ] {
                    if member == by {
                        continue;
                    }
                    let Some((workspace, user)) = sql::corrections::reach(conn, member).await?
                    else {
                        continue;
                    };
                    let body = notice(&removed, side);
                    let new = NewAnnouncement {
                        community,
                        kind: Kind::Direct,
                        achievement_id: None,
                        contribution: None,
                        about_member: Some(member),
                        body: &body,
                        expires_at: None,
                    };
                    sql::outbox::enqueue_direct(conn, &new, WorkspaceId(workspace), &user, now)
                        .await?;
                }
                Ok(Some(removed))
            })
            .await)
    }

    /// The community's audit trail since `since`, newest first, of one member's
    /// record if given.
    pub async fn audit(
        &self,
        community: CommunityId,
        member: Option<MemberId>,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        let rows = on_engine!(self, e => sql::corrections::audit(&e.read, community, member, since, limit).await)?;
        rows.into_iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.0,
                    subject: r.1,
                    subject_id: r.2,
                    action: r.3,
                    member: r.4,
                    other: r.5,
                    actor: r.6,
                    before: r.7.as_deref().map(serde_json::from_str).transpose()?,
                    after: r.8.as_deref().map(serde_json::from_str).transpose()?,
                    reason: r.9,
                    at: parse_ts(&r.10)?,
                })
            })
            .collect()
    }
}

/// A milestone retracted with the contribution that alone reached it.
#[derive(Debug, Clone, PartialEq)]
pub struct Retracted {
    pub title: String,
}

/// A contribution removed.
#[derive(Debug, Clone, PartialEq)]
pub struct Removed {
    pub id: ContributionId,
    /// Whose it was.
    pub member: MemberId,
    pub before: Snapshot,
    pub retracted: Vec<Retracted>,
}

/// Kudos removed.
#[derive(Debug, Clone, PartialEq)]
pub struct RemovedKudos {
    pub id: i64,
    pub from: MemberId,
    pub from_name: String,
    pub to: MemberId,
    pub to_name: String,
    /// What it was for ("" when nothing was said).
    pub reason: String,
    pub platform: String,
    pub day: NaiveDate,
    pub given_at: DateTime<Utc>,
}

/// Which side of removed kudos a member was on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KudosSide {
    Received,
    Given,
}

/// A change to add to the audit trail.
#[derive(Debug, Clone)]
pub(super) struct Change<'a> {
    pub community: CommunityId,
    /// 'contribution', 'goal', 'milestone', 'kudos' or 'achievement'.
    pub subject: &'static str,
    pub subject_id: i64,
    /// 'edit', 'remove', 'approve', 'reject', 'retract' or 'reopen'.
    pub action: &'static str,
    /// Whose record it is (their entry goes with them at forget-me).
    pub member: Option<MemberId>,
    /// Another member whose record it also is (a removed kudos' giver; their
    /// entry goes with them too).
    pub other: Option<MemberId>,
    pub actor: Option<MemberId>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub reason: Option<&'a str>,
}

/// An entry of the audit trail, as `audit` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub subject: String,
    pub subject_id: i64,
    pub action: String,
    /// Whose record it is, by name.
    pub member: Option<String>,
    /// The other member it concerns, by name: a removed kudos' giver.
    pub other: Option<String>,
    /// Who changed it, by name; None once they are forgotten.
    pub actor: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}
