//! Recording contributions on PostgreSQL, with group commit.
//!
//! A community's counter rows (its contribution count, today's rollup) are hot:
//! one transaction per contribution would queue every contribution of a busy
//! community behind the one before, each waiting for its own commit to be
//! flushed. So, as on SQLite, contributions go to one writer task per process,
//! which takes everything queued, writes it in one READ COMMITTED transaction,
//! commits once and only then answers each caller. Under load batches grow by
//! themselves; alone, a contribution commits at once.
//!
//! The transaction first locks the rows of the batch's communities, in id order,
//! so a community's writes run one at a time across processes as every other
//! write for it does (`Backend::write_in`), and two writers never wait for each
//! other in a circle. What a batch changes, and which milestones it crosses, is
//! worked out in domain::contribution; the statements that read what that needs
//! and write what it says are shared with SQLite's writer
//! (`store/sql/contribution_batch.rs`).

use sqlx::{PgConnection, PgPool};
use tokio::sync::mpsc;

use super::script::Script;
use super::sql::contribution_batch as batch;
use crate::domain::contribution::plan::Plan;
use crate::domain::contribution::{ContributionRequest, Recorded};
use crate::domain::{ContributionId, UserError};
use crate::error::{Error, Result};
use crate::store::milestones::CustomHint;
use crate::store::writer_queue::{Job, MAX_BATCH, Message, Writer};

/// Starts the writer task on its queue.
pub(in crate::store) fn start(pool: PgPool, custom: CustomHint) -> Writer {
    Writer::start(move |inbox| run(pool, custom, inbox))
}

async fn run(pool: PgPool, custom: CustomHint, mut inbox: mpsc::Receiver<Message>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while let Some(message) = inbox.recv().await {
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
            write(&pool, &custom, std::mem::take(&mut batch)).await;
        }
        if let Some(ack) = closing {
            let _ = ack.send(());
            return;
        }
    }
}

/// Writes the batch in one transaction and answers each of its callers.
async fn write(pool: &PgPool, custom: &CustomHint, jobs: Vec<Job>) {
    // READ COMMITTED whatever the server's default: once the communities are
    // locked, each statement sees what the writes before it committed.
    let mut tx = match pool
        .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
        .await
    {
        Ok(tx) => tx,
        Err(e) => return fail(jobs, &e.into()),
    };
    let requests: Vec<&ContributionRequest> = jobs.iter().map(|j| &j.request).collect();
    match write_batch(&mut tx, custom, &requests).await {
        Ok(answers) => match tx.commit().await {
            Ok(()) => {
                for (job, answer) in jobs.into_iter().zip(answers) {
                    let _ = job.reply.send(answer.map_err(Error::User));
                }
            }
            // Whether a COMMIT that failed took effect is not known (the
            // connection may have gone after the server committed): writing
            // the batch again could record it twice, so it fails.
            Err(e) => {
                tracing::error!(error = %e, batch = jobs.len(), "contribution batch's commit failed");
                fail(jobs, &e.into());
            }
        },
        Err(e) => {
            let _ = tx.rollback().await;
            rewrite(pool, custom, jobs, &e).await;
        }
    }
}

/// After a failed transaction: one request must not sink the others, so each is
/// written alone to find it; a request that fails alone is answered with `e`.
async fn rewrite(pool: &PgPool, custom: &CustomHint, jobs: Vec<Job>, e: &Error) {
    if jobs.len() == 1 {
        tracing::error!(error = %e, "contribution could not be written");
        fail(jobs, e);
        return;
    }
    tracing::warn!(error = %e, batch = jobs.len(), "contribution batch failed; writing each alone");
    for job in jobs {
        Box::pin(write(pool, custom, vec![job])).await;
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

/// Writes the batch in the open transaction `conn`, for the caller to commit.
async fn write_batch(
    conn: &mut PgConnection,
    custom: &CustomHint,
    requests: &[&ContributionRequest],
) -> Result<Vec<Result<Recorded, UserError>>> {
    lock_communities(&mut *conn, requests).await?;
    let lookups = batch::read_lookups(&mut *conn, requests).await?;
    let mut plan = Plan::new(requests, &lookups);
    if let Some(refused) = plan.all_refused() {
        return Ok(refused);
    }
    // Only a batch that named a goal can hold any, and that one looked it up
    // inside its transaction (on SQLite, after BEGIN IMMEDIATE).
    batch::hold_for_review(&mut *conn, &mut plan).await?;
    let ids = reserve_ids(&mut *conn, plan.accepted()).await?;
    let mut script = Script::default();
    let writes = batch::push_writes(&mut script, &plan, Some(&ids))?;
    let done = script.run(&mut *conn, |_| {}).await?;
    let inserted = done.get(writes.inserted).result.rows_affected();
    if inserted != ids.len() as u64 {
        return Err(Error::internal(
            "storing contributions",
            format!("{inserted} rows inserted for {}", ids.len()),
        ));
    }
    batch::settle(conn, custom, requests, plan, &ids, &done, &writes).await
}

/// Locks the rows of the communities `requests` name, in id order, for the rest
/// of the transaction (see `super::lock_community`).
async fn lock_communities(
    conn: &mut PgConnection,
    requests: &[&ContributionRequest],
) -> Result<()> {
    let mut communities: Vec<i64> = requests.iter().map(|r| r.community.0).collect();
    communities.sort_unstable();
    communities.dedup();
    sqlx::query("SELECT 1 FROM communities WHERE id = ANY($1) ORDER BY id FOR UPDATE")
        .bind(communities)
        .fetch_all(conn)
        .await?;
    Ok(())
}

/// Takes `n` ids for new contributions from their sequence, in increasing order.
/// Other processes take ids from it at the same time, so they need not follow one
/// another; they are inserted explicitly (the column is an identity BY DEFAULT).
async fn reserve_ids(conn: &mut PgConnection, n: usize) -> Result<Vec<ContributionId>> {
    let mut ids: Vec<i64> = sqlx::query_scalar(
        "SELECT nextval(pg_get_serial_sequence('contributions', 'id')) FROM generate_series(1, $1)",
    )
    .bind(n as i64)
    .fetch_all(conn)
    .await?;
    ids.sort_unstable();
    Ok(ids.into_iter().map(ContributionId).collect())
}
