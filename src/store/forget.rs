//! Erasing a member (P2 "forget me", and a member a purge leaves without an
//! identity) in steps that each cost what the member's own rows cost (R6), so no
//! erasure holds the write lock for a community-wide rebuild, and that together
//! leave every derived figure equal to a recount of what is left (R8).
//!
//! 1. [`request_erasure`](super::Store::request_erasure) records the erasure
//!    (`erasures`, migration 0012) and takes the member's identities, link codes
//!    and name at once: nothing more can be recorded for them, and nothing shows
//!    their name.
//! 2. [`erasure_plan`](super::Store::erasure_plan), on a read snapshot and before
//!    any lock: the ids of their contributions (found by filtering their
//!    community's index, the one slow read, skipped for a member who never
//!    contributed) and kudos.
//! 3. Before it, the member's answers to events ahead
//!    ([`events_answered_ahead`](super::Store::events_answered_ahead)) become no,
//!    so the places they held go to those waiting; the answers, check-ins and
//!    reminders themselves go with the member row.
//!    [`detach_erased_member`](super::Store::detach_erased_member): announcements
//!    naming them are redacted (and their posts queued for editing), their own
//!    milestones go, their share of the community's daily figures, cohorts and
//!    window totals is taken out, and their per-member rows go. Bounded by their
//!    own days.
//! 4. [`erase_contributions_chunk`](super::Store::erase_contributions_chunk) and
//!    [`erase_kudos_chunk`](super::Store::erase_kudos_chunk): at most [`CHUNK`]
//!    rows per transaction, each taking out exactly what those rows counted
//!    (goals, hours, alignment, the community's count, the other side of a kudos).
//! 5. [`finish_erasure`](super::Store::finish_erasure): when nothing was recorded
//!    for them meanwhile (else another round from 2), the member row goes. Then
//!    the WAL is scrubbed of their text and
//!    [`end_erasure`](super::Store::end_erasure) ends the erasure.
//!
//! Each step is safe to run again, or after another driver ran it: a restart
//! resumes from the `erasures` row, at 2.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::redaction::Redacted;
use crate::domain::{CommunityId, EventId, MemberId};
use crate::error::Result;

/// Erasures, as the application drives them: each step is its own write
/// transaction and reports how long it held the write lock.
impl super::Store {
    /// The erasures under way: each member, and whether their rows are all gone
    /// (only the WAL is left to scrub).
    pub async fn pending_erasures(&self) -> Result<Vec<(MemberId, bool)>> {
        on_engine!(self, e => sql::forget::pending(&e.read).await)
    }

    /// Whether a member is being erased.
    pub async fn erasure_pending(&self, member: MemberId) -> Result<bool> {
        on_engine!(self, e => sql::forget::is_pending(&e.read, member).await)
    }

    /// The member's rows still to erase, read on a read snapshot, without the
    /// write lock: the ids of their contributions (found by filtering their
    /// community's index, the one slow read, skipped for a member who never
    /// contributed) and kudos. None once the member is gone.
    pub async fn erasure_plan(&self, member: MemberId) -> Result<Option<Plan>> {
        on_engine!(self, e => sql::forget::plan(&e.read, member).await)
    }

    /// The events ahead (not over, not cancelled) the member answered yes or
    /// maybe, so erasing them can first give their places to the waitlist.
    pub async fn events_answered_ahead(
        &self,
        member: MemberId,
        now: DateTime<Utc>,
    ) -> Result<Vec<EventId>> {
        on_engine!(self, e => sql::forget::events_answered_ahead(&e.read, member, now).await)
    }

    /// Step 1: records that a member is to be erased, and takes their identities,
    /// link codes and name now. Returns how many identities went.
    pub async fn request_erasure(
        &self,
        member: MemberId,
        reason: Reason,
        now: DateTime<Utc>,
    ) -> Result<Held<i64>> {
        held(on_engine!(self, e => e
            .write(async |conn| timed(sql::forget::request(conn, member, reason, now)).await)
            .await))
    }

    /// Step 3: redacts what names the member and takes out their share of the
    /// community's figures, with every per-member row.
    pub async fn detach_erased_member(
        &self,
        plan: &Plan,
        now: DateTime<Utc>,
    ) -> Result<Held<Redacted>> {
        held(on_engine!(self, e => e
            .write_in(plan.community, async |conn| {
                timed(sql::forget::detach(conn, plan, now)).await
            })
            .await))
    }

    /// Step 3 and, when the plan has no contributions or kudos to erase, step 5
    /// in the same transaction: true once the member is gone.
    pub async fn detach_erased_member_finishing_if_empty(
        &self,
        plan: &Plan,
        now: DateTime<Utc>,
    ) -> Result<Held<(Redacted, bool)>> {
        let nothing_else = plan.contributions.is_empty() && plan.kudos.is_empty();
        held(on_engine!(self, e => e
            .write_in(plan.community, async |conn| {
                timed(async {
                    let redacted = sql::forget::detach(conn, plan, now).await?;
                    let finished = nothing_else && sql::forget::finish(conn, plan, now).await?;
                    Ok((redacted, finished))
                })
                .await
            })
            .await))
    }

    /// Step 4 for a chunk of the plan's contributions: erases them and takes out
    /// what they counted; returns how many went.
    pub async fn erase_contributions_chunk(&self, plan: &Plan, ids: &[i64]) -> Result<Held<u64>> {
        held(on_engine!(self, e => e
            .write_in(plan.community, async |conn| {
                timed(sql::forget::erase_contributions(conn, plan, ids)).await
            })
            .await))
    }

    /// Step 4 for a chunk of the plan's kudos: erases them and takes them out of
    /// the other side's counts; returns how many went.
    pub async fn erase_kudos_chunk(&self, plan: &Plan, ids: &[i64]) -> Result<Held<u64>> {
        held(on_engine!(self, e => e
            .write_in(plan.community, async |conn| {
                timed(sql::forget::erase_kudos(conn, plan, ids)).await
            })
            .await))
    }

    /// Step 5: removes the member row; false when something was recorded for them
    /// since the plan was made, and the erasure must go round again.
    pub async fn finish_erasure(&self, plan: &Plan, now: DateTime<Utc>) -> Result<Held<bool>> {
        held(on_engine!(self, e => e
            .write_in(plan.community, async |conn| {
                timed(sql::forget::finish(conn, plan, now)).await
            })
            .await))
    }

    /// The member row went before the erasure got to it (their community was
    /// purged, or an earlier round finished): nothing is left but the scrub.
    pub async fn mark_member_erased(
        &self,
        member: MemberId,
        now: DateTime<Utc>,
    ) -> Result<Held<()>> {
        held(on_engine!(self, e => e
            .write(async |conn| timed(sql::forget::mark_erased(conn, member, now)).await)
            .await))
    }

    /// Ends an erasure once its rows are gone and the WAL is scrubbed.
    pub async fn end_erasure(&self, member: MemberId) -> Result<Held<()>> {
        held(on_engine!(self, e => e
            .write(async |conn| timed(sql::forget::forgotten(conn, member)).await)
            .await))
    }
}

/// Runs a write transaction's work, noting when it started: just after the
/// write lock was taken.
async fn timed<T>(work: impl Future<Output = Result<T>>) -> Result<(Instant, T)> {
    let taken = Instant::now();
    Ok((taken, work.await?))
}

/// A committed write transaction's answer, with how long it held the lock: from
/// when its work started ([`timed`]) to now, the commit done.
fn held<T>(done: Result<(Instant, T)>) -> Result<Held<T>> {
    let (taken, value) = done?;
    Ok(Held {
        value,
        lock_held: taken.elapsed(),
    })
}

/// What a write transaction returned, and how long it held the write lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held<T> {
    pub value: T,
    pub lock_held: std::time::Duration,
}

/// Rows erased per write transaction: in a community of 1,000,000 contributions
/// a chunk this size holds the lock for a few milliseconds (README, Performance).
pub const CHUNK: usize = 250;

/// Why a member is being erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// They asked (`forget-me confirm`).
    ForgetMe,
    /// Their last identity went with a purged workspace.
    Purge,
}

impl Reason {
    pub(in crate::store) fn as_str(self) -> &'static str {
        match self {
            Reason::ForgetMe => "forget-me",
            Reason::Purge => "purge",
        }
    }
}

/// What one round of an erasure removes, found on a read snapshot.
#[derive(Debug, Clone)]
pub struct Plan {
    pub member: MemberId,
    pub community: CommunityId,
    pub contributions: Vec<i64>,
    pub kudos: Vec<i64>,
    /// The newest contribution id the snapshot saw: any of theirs after it was
    /// recorded since, and [`finish_erasure`](super::Store::finish_erasure) sends
    /// the erasure round again.
    pub(in crate::store) newest_contribution: i64,
}
