//! Drives merges (`link <code>` joining a member's second account to the first)
//! through the steps of [`crate::store::links`]: the member-level rows merge in
//! the transaction that redeems the code, then the contributions move a few
//! hundred per write transaction (R6). `link` drives its own merge for a while and
//! answers; the background job and the console finish the rest, and any merge a
//! restart interrupted, from its row in `merges`.

use std::time::{Duration, Instant};

use super::App;
use crate::domain::MemberId;
use crate::error::Result;
use crate::store::forget;

/// How long `link` works on its merge before it answers.
const INLINE_BUDGET: Duration = Duration::from_secs(2);

/// Moves the contributions of a merge `link` just began; false if some are left
/// for the background.
pub(super) async fn finish_now(app: &App, from: MemberId, into: MemberId) -> Result<bool> {
    let Some(_claim) = app.claim_member_job(from) else {
        return Ok(false);
    };
    let deadline = Instant::now() + INLINE_BUDGET;
    let done = drive(app, from, into, || Instant::now() < deadline).await?;
    if !done {
        app.member_jobs_signal().notify_one();
    }
    Ok(done)
}

/// Finishes every merge under way, while `go_on` says so; returns how many.
pub async fn merge_pending(app: &App, go_on: impl Fn() -> bool) -> Result<usize> {
    let mut done = 0;
    for (from, into) in app.store().pending_merges().await? {
        if !go_on() {
            break;
        }
        let Some(_claim) = app.claim_member_job(from) else {
            continue;
        };
        if drive(app, from, into, &go_on).await? {
            done += 1;
        }
    }
    Ok(done)
}

/// Moves the merged member's contributions chunk by chunk, then ends the merge;
/// false if `go_on` stopped it first.
async fn drive(
    app: &App,
    from: MemberId,
    into: MemberId,
    go_on: impl Fn() -> bool,
) -> Result<bool> {
    let store = app.store();
    let now = app.now();
    let into_stays = store.member_exists(into).await? && !store.erasure_pending(into).await?;
    let moving = match store.merge_to_move(from, into).await? {
        Some(moving) if into_stays => moving,
        // The member it joined is being erased: what is left of this one goes too.
        Some(_) => {
            store.abandon_merge(from, now).await?;
            app.member_jobs_signal().notify_one();
            return Ok(true);
        }
        None => return Ok(true),
    };
    for chunk in moving.ids.chunks(forget::CHUNK) {
        if !go_on() {
            return Ok(false);
        }
        store.move_merged_contributions(&moving, chunk).await?;
    }
    store.finish_merge(&moving).await?;
    Ok(true)
}
