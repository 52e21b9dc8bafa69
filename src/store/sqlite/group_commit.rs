//! Recording contributions, with group commit.
//!
//! With `synchronous=FULL` every commit waits for an fsync, which caps one commit
//! per contribution at a few thousand a second. So contributions go to one writer
//! task that takes everything queued, writes it in one transaction with a handful
//! of multi-row statements, commits once, and only then answers each caller. Under
//! load batches grow by themselves; alone, a contribution commits at once.
//!
//! The same transaction updates the daily rollups and counters, finds the
//! milestones crossed and queues their announcements, so an acknowledged
//! contribution and its announcement are durable together or not at all. What a
//! batch changes, and which milestones it crosses, is worked out in
//! domain::contribution; the statements that read what that needs and write what
//! it says, each reading its rows from one JSON array, are shared with
//! PostgreSQL's writer (`store/sql/contribution_batch.rs`). This is the machinery
//! around them: the queue, SQLite's write lock, and scripts that send a batch in
//! one trip with the COMMIT of the batch before.

use std::time::{Duration, Instant};

use sqlx::SqliteConnection;
use tokio::sync::mpsc;

use super::checkpoint::{self, WalRestart};
use super::script::Script;
use super::sql::contribution_batch as batch;
use super::write_connection::{WriteConnection, WriteGuard};
use crate::domain::contribution::plan::Plan;
use crate::domain::contribution::validate::Lookups;
use crate::domain::contribution::{ContributionRequest, Recorded};
use crate::domain::{ContributionId, UserError};
use crate::error::{Error, Result};
use crate::store::errors;
use crate::store::milestones::CustomHint;
use crate::store::writer_queue::{Job, MAX_BATCH, Message, Writer};

/// What the writer is told by the rest of the store.
pub(super) struct Hints {
    /// Whether any custom milestones exist.
    pub custom: CustomHint,
    /// Whether to finish the background checkpoint before the next batch.
    pub wal_restart: WalRestart,
}

/// Starts the writer task on its queue.
pub(super) fn start(write: WriteConnection, hints: Hints) -> Writer {
    Writer::start(move |inbox| run(write, hints, inbox))
}

/// How long the writer keeps the write connection while contributions keep
/// coming, before letting the other writers waiting for it have a turn.
const HOLD_CONNECTION: Duration = Duration::from_millis(50);
/// How long the writer keeps the write connection once the queue is empty.
const LINGER: Duration = Duration::from_millis(2);

async fn run(write: WriteConnection, hints: Hints, mut inbox: mpsc::Receiver<Message>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    // Kept from one batch to the next while work is queued, so that a batch's
    // COMMIT can ride at the head of the next one's trip (see `Uncommitted`).
    let mut held: Option<(WriteGuard, Instant)> = None;
    // The last batch, written but not yet committed (only ever on `held`).
    let mut uncommitted: Option<Uncommitted> = None;
    loop {
        let message = match inbox.try_recv() {
            Ok(message) => message,
            Err(mpsc::error::TryRecvError::Disconnected) => {
                release(&mut held, &hints, &mut uncommitted).await;
                return;
            }
            Err(mpsc::error::TryRecvError::Empty) => {
                settle_held(&mut held, &hints, &mut uncommitted).await;
                // Under load the queue runs dry only between bursts: keep the
                // connection a moment rather than hand it back and take it again.
                let soon = match held {
                    Some(_) => tokio::time::timeout(LINGER, inbox.recv()).await.ok(),
                    None => None,
                };
                match soon {
                    Some(Some(message)) => message,
                    Some(None) => return,
                    None => {
                        release(&mut held, &hints, &mut uncommitted).await;
                        match inbox.recv().await {
                            Some(message) => message,
                            None => return,
                        }
                    }
                }
            }
        };
        let mut closing = None;
        match message {
            Message::Record(job) => batch.push(job),
            Message::Close(ack) => closing = Some(ack),
        }
        while closing.is_none() && batch.len() < MAX_BATCH {
            match inbox.try_recv() {
                Ok(Message::Record(job)) => batch.push(job),
                Ok(Message::Close(ack)) => closing = Some(ack),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            if held
                .as_ref()
                .is_some_and(|(_, since)| since.elapsed() >= HOLD_CONNECTION)
            {
                release(&mut held, &hints, &mut uncommitted).await;
            }
            if held.is_none() {
                match write.lock().await {
                    Ok(conn) => held = Some((conn, Instant::now())),
                    Err(e) => {
                        fail(std::mem::take(&mut batch), &e);
                        continue;
                    }
                }
            }
            if let Some((conn, _)) = held.as_mut()
                && !commit(conn, &hints, std::mem::take(&mut batch), &mut uncommitted).await
                && let Some((conn, _)) = held.take()
            {
                // A failed batch was rolled back, but should the ROLLBACK itself
                // have failed, the transaction must not be handed on open: close
                // the connection, and the next writer opens a fresh one.
                conn.discard().await;
            }
        }
        if let Some(ack) = closing {
            release(&mut held, &hints, &mut uncommitted).await;
            let _ = ack.send(());
            return;
        }
    }
}

/// A batch written in a transaction that is still open. Its answers wait for the
/// COMMIT, which rides at the head of the next batch's trip when one is queued
/// (see [`write_batch`]): one trip to SQLite's thread per batch instead of two.
struct Uncommitted {
    jobs: Vec<Job>,
    answers: Vec<Result<Recorded, UserError>>,
}

impl Uncommitted {
    fn answer(self) {
        for (job, answer) in self.jobs.into_iter().zip(self.answers) {
            let _ = job.reply.send(answer.map_err(Error::User));
        }
    }
}

/// Commits what is uncommitted and hands the connection on (or closes it, if the
/// commit failed).
async fn release(
    held: &mut Option<(WriteGuard, Instant)>,
    hints: &Hints,
    uncommitted: &mut Option<Uncommitted>,
) {
    settle_held(held, hints, uncommitted).await;
    *held = None;
}

/// Commits what is uncommitted on the held connection; closes the connection if
/// that failed.
async fn settle_held(
    held: &mut Option<(WriteGuard, Instant)>,
    hints: &Hints,
    uncommitted: &mut Option<Uncommitted>,
) {
    if let Some((conn, _)) = held.as_mut()
        && !settle(conn, hints, uncommitted).await
        && let Some((conn, _)) = held.take()
    {
        conn.discard().await;
    }
}

/// Commits the uncommitted batch, if any, and answers it; false if that failed
/// (its contributions are then written again one at a time).
async fn settle(
    conn: &mut SqliteConnection,
    hints: &Hints,
    uncommitted: &mut Option<Uncommitted>,
) -> bool {
    match commit_uncommitted(conn, uncommitted).await {
        Ok(()) => true,
        Err(e) => {
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
            if let Some(lost) = uncommitted.take() {
                rewrite(conn, hints, lost.jobs, &e).await;
            }
            false
        }
    }
}

/// Sends the uncommitted batch's COMMIT on its own and answers the batch.
async fn commit_uncommitted(
    conn: &mut SqliteConnection,
    uncommitted: &mut Option<Uncommitted>,
) -> Result<()> {
    if uncommitted.is_some() {
        sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
        if let Some(done) = uncommitted.take() {
            done.answer();
        }
    }
    Ok(())
}

/// Writes the batch, leaving it uncommitted (committing the one before, if any);
/// false if a transaction failed.
async fn commit(
    conn: &mut SqliteConnection,
    hints: &Hints,
    jobs: Vec<Job>,
    uncommitted: &mut Option<Uncommitted>,
) -> bool {
    let requests: Vec<&ContributionRequest> = jobs.iter().map(|j| &j.request).collect();
    match write_in_transaction(conn, hints, &requests, uncommitted).await {
        Ok(answers) => {
            *uncommitted = Some(Uncommitted { jobs, answers });
            true
        }
        Err(e) => {
            // Rolled back. If the batch before's COMMIT was what failed, that
            // batch is gone with it: write it again too.
            if let Some(lost) = uncommitted.take() {
                rewrite(conn, hints, lost.jobs, &e).await;
            }
            rewrite(conn, hints, jobs, &e).await;
            false
        }
    }
}

/// After a failed transaction: one request must not sink the others, so each is
/// written alone to find it; a request that fails alone is answered with `e`.
async fn rewrite(conn: &mut SqliteConnection, hints: &Hints, jobs: Vec<Job>, e: &Error) {
    if jobs.len() == 1 {
        tracing::error!(error = %e, "contribution could not be written");
        fail(jobs, e);
        return;
    }
    tracing::warn!(error = %e, batch = jobs.len(), "contribution batch failed; writing each alone");
    for job in jobs {
        let mut alone = None;
        if Box::pin(commit(conn, hints, vec![job], &mut alone)).await {
            Box::pin(settle(conn, hints, &mut alone)).await;
        }
    }
}

fn fail(jobs: Vec<Job>, e: &Error) {
    let message = e.to_string();
    for job in jobs {
        let _ = job.reply.send(Err(Error::internal(
            "writing a contribution",
            message.clone(),
        )));
    }
}

async fn write_in_transaction(
    conn: &mut SqliteConnection,
    hints: &Hints,
    requests: &[&ContributionRequest],
    uncommitted: &mut Option<Uncommitted>,
) -> Result<Vec<Result<Recorded, UserError>>> {
    // `BEGIN IMMEDIATE` takes the write lock up front; another process holding it
    // is waited out as in `begin_immediate`.
    let mut busy = super::BusyBackoff::default();
    loop {
        let attempt = write_batch(conn, hints, requests, uncommitted).await;
        if attempt.is_err() {
            // Nothing of a failed batch is kept. With no transaction open (BEGIN
            // itself failed) SQLite refuses the ROLLBACK, which is fine.
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
        }
        match attempt {
            // Only once the batch before is committed: it went with the ROLLBACK.
            Err(e)
                if uncommitted.is_none()
                    && busy
                        .wait(errors::database(&e).is_some_and(super::is_busy))
                        .await => {}
            done => return done,
        }
    }
}

/// Writes the batch in a transaction it leaves open for the caller to commit. The
/// batch before, if still uncommitted, is committed first, in the same trip as this
/// one's writes whenever it can be.
async fn write_batch(
    conn: &mut SqliteConnection,
    hints: &Hints,
    requests: &[&ContributionRequest],
    previous: &mut Option<Uncommitted>,
) -> Result<Vec<Result<Recorded, UserError>>> {
    // Validation reads goals and the mission's values inside the transaction, so a
    // batch that names any takes the write lock first; one that names none (most)
    // takes it in its script, saving a trip.
    let looks_up = Lookups::needed(requests);
    if looks_up {
        commit_uncommitted(&mut *conn, previous).await?;
        sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    }
    let lookups = batch::read_lookups(&mut *conn, requests).await?;
    let mut plan = Plan::new(requests, &lookups);
    if let Some(refused) = plan.all_refused() {
        // Only validation refuses, and only a batch that looked something up.
        return Ok(refused);
    }
    // Only a batch that named a goal can hold any, and that one looked it up
    // inside its transaction (on SQLite, after BEGIN IMMEDIATE).
    batch::hold_for_review(&mut *conn, &mut plan).await?;

    // Every write whose arguments are known now, in one trip; the same statements
    // every time (see store::script).
    let mut script = Script::default();
    let commits_previous = match previous {
        Some(_) => Some(script.push("COMMIT", &[])?),
        None => None,
    };
    if !looks_up {
        if hints.wal_restart.take() {
            script.push(checkpoint::FINISH, &[])?;
        }
        script.push("BEGIN IMMEDIATE", &[])?;
    }
    let writes = batch::push_writes(&mut script, &plan, None)?;
    // The batch before is durable once its COMMIT lands: answer it then, while
    // SQLite goes on with this batch.
    let done = script
        .run(&mut *conn, |step| {
            if Some(step) == commits_previous
                && let Some(committed) = previous.take()
            {
                committed.answer();
            }
        })
        .await?;

    // AUTOINCREMENT numbers one statement's rows one after another.
    let insert = &done.get(writes.inserted).result;
    let n = plan.accepted() as i64;
    if insert.rows_affected() != n as u64 {
        return Err(Error::internal(
            "numbering contributions",
            format!("{} rows inserted for {n}", insert.rows_affected()),
        ));
    }
    let first_id = insert.last_insert_rowid() - n + 1;
    let ids: Vec<ContributionId> = (first_id..first_id + n).map(ContributionId).collect();
    batch::settle(conn, &hints.custom, requests, plan, &ids, &done, &writes).await
}
