//! Drives erasures (`forget-me confirm`, and members a purge leaves without an
//! identity) through the steps of [`crate::store::forget`], each its own write
//! transaction, so the write lock is held for what one step's rows need and then
//! handed on (R6). `forget-me` drives its own erasure for a while and answers; the
//! background job (`keel run`) and the console drive the rest, and any erasure a
//! restart interrupted, from its row in `erasures`.

use std::time::{Duration, Instant};

use super::App;
use crate::domain::MemberId;
use crate::domain::events::Answer;
use crate::error::Result;
use crate::store::forget::{self, Held, Plan, Reason};

/// What an erasure did, and what it cost the writer.
#[derive(Debug, Clone, Default)]
pub struct Erased {
    pub contributions: u64,
    pub kudos: u64,
    pub identities: i64,
    /// Messages already posted, queued to be edited without the member.
    pub edits: u64,
    /// Write transactions taken, and the longest any held the write lock
    /// (the WAL scrub included).
    pub transactions: u32,
    pub longest_hold: Duration,
    /// Each step's hold, in order.
    pub holds: Vec<(&'static str, Duration)>,
    /// Every row of the member is gone.
    pub finished: bool,
}

impl Erased {
    fn held(&mut self, step: &'static str, hold: Duration) {
        self.transactions += 1;
        self.longest_hold = self.longest_hold.max(hold);
        self.holds.push((step, hold));
        tracing::debug!(
            step,
            hold_us = hold.as_micros() as u64,
            "erasure step committed"
        );
    }
}

/// How long `forget-me` works on its erasure before it answers; the background
/// finishes what is left (a member with tens of thousands of contributions).
const INLINE_BUDGET: Duration = Duration::from_secs(2);
/// How long an erasure waits for readers to leave the WAL before scrubbing it is
/// left for later.
const SCRUB_PATIENCE: Duration = Duration::from_secs(2);

/// Waits for one step (its own write transaction) and notes how long it held the
/// lock.
async fn step<T>(
    erased: &mut Erased,
    name: &'static str,
    work: impl Future<Output = Result<Held<T>>>,
) -> Result<T> {
    let Held { value, lock_held } = work.await?;
    erased.held(name, lock_held);
    Ok(value)
}

/// `forget-me confirm`: the member's identities go at once, then their rows, for
/// up to [`INLINE_BUDGET`]; whatever is left then goes in the background.
pub async fn erase_member(app: &App, member: MemberId) -> Result<Erased> {
    let mut erased = Erased::default();
    let Some(_claim) = app.claim_member_job(member) else {
        // Another request is at it already (the same command sent twice).
        return Ok(erased);
    };
    // Requested first, so that nothing recorded for them after it escapes the plan.
    let now = app.now();
    let store = app.store();
    let identities = step(
        &mut erased,
        "request",
        store.request_erasure(member, Reason::ForgetMe, now),
    )
    .await?;
    app.forget_cached_actors();
    erased.identities = identities;
    let Some(plan) = store.erasure_plan(member).await? else {
        return Ok(erased);
    };
    give_up_places(app, &plan).await?;
    // A member with no contributions or kudos is gone in this transaction.
    let (redacted, finished) = step(
        &mut erased,
        "detach",
        store.detach_erased_member_finishing_if_empty(&plan, now),
    )
    .await?;
    erased.edits += redacted.edits;
    erased.finished = finished;
    if !finished {
        let deadline = Instant::now() + INLINE_BUDGET;
        erased.finished =
            rounds(app, plan, true, &mut erased, || Instant::now() < deadline).await?;
    }
    if erased.edits > 0 {
        app.outbox_signal().notify_one();
    }
    if erased.finished {
        scrub(app, member, &mut erased).await?;
    } else {
        app.member_jobs_signal().notify_one();
    }
    Ok(erased)
}

/// Drives every erasure under way to its end, while `go_on` says so; returns how
/// many members were erased. The background job and the console call this.
pub async fn erase_pending(app: &App, go_on: impl Fn() -> bool) -> Result<usize> {
    let mut done = 0;
    let store = app.store();
    for (member, rows_gone) in store.pending_erasures().await? {
        if !go_on() {
            break;
        }
        let Some(_claim) = app.claim_member_job(member) else {
            continue;
        };
        let mut erased = Erased::default();
        if !rows_gone {
            match store.erasure_plan(member).await? {
                Some(plan) => {
                    if !rounds(app, plan, false, &mut erased, &go_on).await? {
                        break;
                    }
                }
                None => {
                    // The member row went with their community.
                    let now = app.now();
                    step(&mut erased, "gone", store.mark_member_erased(member, now)).await?;
                }
            }
            if erased.edits > 0 {
                app.outbox_signal().notify_one();
            }
            tracing::info!(
                member = %member,
                contributions = erased.contributions,
                kudos = erased.kudos,
                transactions = erased.transactions,
                longest_hold_ms = erased.longest_hold.as_secs_f64() * 1000.0,
                "member erased"
            );
        }
        if scrub(app, member, &mut erased).await? {
            done += 1;
        }
    }
    Ok(done)
}

/// The member's answers to events ahead become no, as if they had answered it:
/// the places they held go to those waiting, who are told, and the counts
/// follow. Their answers themselves go with the member row.
async fn give_up_places(app: &App, plan: &Plan) -> Result<()> {
    let now = app.now();
    let store = app.store();
    let mut promoted = 0;
    for event in store.events_answered_ahead(plan.member, now).await? {
        let answered = store
            .answer_event(
                plan.community,
                event,
                plan.member,
                Answer::No,
                now,
                |_| Ok(()),
                super::events::promoted_notice,
                |event, answers| super::event_card::card(event, answers, now),
            )
            .await?;
        promoted += answered.map_or(0, |a| a.promoted);
    }
    if promoted > 0 {
        app.outbox_signal().notify_one();
    }
    Ok(())
}

/// Erases the planned rows chunk by chunk, then the member, going round again for
/// anything recorded meanwhile. False if `go_on` stopped it first: the erasure row
/// keeps the work for later.
async fn rounds(
    app: &App,
    mut plan: Plan,
    mut detached: bool,
    erased: &mut Erased,
    go_on: impl Fn() -> bool,
) -> Result<bool> {
    let store = app.store();
    let member = plan.member;
    loop {
        let now = app.now();
        if !detached {
            give_up_places(app, &plan).await?;
            let redacted = step(erased, "detach", store.detach_erased_member(&plan, now)).await?;
            erased.edits += redacted.edits;
        }
        for chunk in plan.contributions.chunks(forget::CHUNK) {
            if !go_on() {
                return Ok(false);
            }
            erased.contributions += step(
                erased,
                "contributions",
                store.erase_contributions_chunk(&plan, chunk),
            )
            .await?;
        }
        for chunk in plan.kudos.chunks(forget::CHUNK) {
            if !go_on() {
                return Ok(false);
            }
            erased.kudos += step(erased, "kudos", store.erase_kudos_chunk(&plan, chunk)).await?;
        }
        if step(erased, "finish", store.finish_erasure(&plan, now)).await? {
            erased.finished = true;
            return Ok(true);
        }
        // Recorded for them since the plan was made: another round.
        plan = match store.erasure_plan(member).await? {
            Some(plan) => plan,
            None => return Ok(true),
        };
        detached = false;
    }
}

/// Empties the WAL of the erased member's text and ends the erasure; false (the
/// erasure row kept for the next try) while readers keep the WAL in use.
async fn scrub(app: &App, member: MemberId, erased: &mut Erased) -> Result<bool> {
    match app.store().scrub_wal(SCRUB_PATIENCE).await? {
        Some(hold) => erased.held("scrub", hold),
        None => {
            tracing::warn!(member = %member, "the WAL stayed in use; scrubbing it is left for the next try");
            return Ok(false);
        }
    }
    step(erased, "forgotten", app.store().end_erasure(member)).await?;
    Ok(true)
}
