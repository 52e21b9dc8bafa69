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
//! domain::contribution; this is the machinery that reads what that needs and
//! writes what it says, as SQLite statements that each read their rows from one
//! JSON array.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use sqlx::SqliteConnection;
use tokio::sync::{Mutex, mpsc, oneshot};

use super::checkpoint::{self, WalRestart};
use super::native::{activity, insights, outbox};
use super::script::Script;
use super::write_connection::{WriteConnection, WriteGuard};
use crate::domain::contribution::plan::{Counters, Crossing, NewRow, PendingMilestone, Plan};
use crate::domain::contribution::validate::{GoalTerms, Lookups};
use crate::domain::contribution::{ContributionRequest, Recorded};
use crate::domain::{CommunityId, ContributionId, GoalId, MemberId, UserError};
use crate::error::{Error, Result};
use crate::store::activity::Counts;
use crate::store::milestones::{CustomHint, CustomMilestone};
use crate::store::{day, errors, goals, ts};

/// The most contributions written in one transaction.
pub(super) const MAX_BATCH: usize = 512;

/// What the writer is told by the rest of the store.
pub(super) struct Hints {
    /// Whether any custom milestones exist.
    pub custom: CustomHint,
    /// Whether to finish the background checkpoint before the next batch.
    pub wal_restart: WalRestart,
}

struct Job {
    request: ContributionRequest,
    reply: oneshot::Sender<Result<Recorded>>,
}

enum Message {
    Record(Job),
    Close(oneshot::Sender<()>),
}

/// Handle to the writer task. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Message>,
    task: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl Writer {
    pub(super) fn start(write: WriteConnection, hints: Hints) -> Writer {
        let (queue, inbox) = mpsc::channel(8192);
        let task = tokio::spawn(run(write, hints, inbox));
        Writer {
            queue,
            task: Arc::new(Mutex::new(Some(task))),
        }
    }

    /// Records a contribution; returns once it is committed.
    pub async fn record(&self, request: ContributionRequest) -> Result<Recorded> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Message::Record(Job { request, reply }))
            .await
            .map_err(|_| Error::internal("contribution writer", "the writer has stopped"))?;
        answer.await.map_err(|_| {
            Error::internal("contribution writer", "the writer stopped before answering")
        })?
    }

    /// Finishes what is queued, then stops the writer.
    pub async fn close(&self) {
        let (ack, done) = oneshot::channel();
        if self.queue.send(Message::Close(ack)).await.is_ok() {
            let _ = done.await;
        }
        if let Some(task) = self.task.lock().await.take() {
            let _ = task.await;
        }
    }
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

/// The batch's contributions, from one JSON array, numbered in its order.
const INSERT_CONTRIBUTIONS: &str = "INSERT INTO contributions (community_id, member_id, description, amount,
        unit, goal_id, value_name, platform, happened_on, created_at)
     SELECT value->>'community', value->>'member', value->>'description', value->>'amount',
        value->>'unit', value->>'goal', value->>'value', value->>'platform', value->>'day', value->>'at'
     FROM jsonb_each(?) ORDER BY key";

/// Members' amounts by unit (`stats me`), from one JSON array of {member, unit, amount}.
const ADD_UNIT_AMOUNTS: &str = "INSERT INTO member_unit_amounts (member_id, unit, amount)
     SELECT value->>'member', value->>'unit', value->>'amount' FROM jsonb_each(?) WHERE true
     ON CONFLICT (member_id, unit) DO UPDATE SET amount = amount + excluded.amount";

/// Goals' progress by day, from one JSON array of {goal, day, n, amount}.
const ADD_GOAL_DAYS: &str = "INSERT INTO goal_daily_progress (goal_id, day, contributions, amount)
     SELECT value->>'goal', value->>'day', value->>'n', value->>'amount' FROM jsonb_each(?) WHERE true
     ON CONFLICT (goal_id, day) DO UPDATE SET contributions = contributions + excluded.contributions,
        amount = amount + excluded.amount";

/// Members' counters, from one JSON array of {member, n}; returns the counts after.
const COUNT_MEMBERS: &str = "UPDATE members SET contribution_count = contribution_count + d.n
     FROM (SELECT value->>'member' AS member, value->>'n' AS n FROM jsonb_each(?)) AS d
     WHERE members.id = d.member RETURNING id, contribution_count";

/// Members whose first contributions these are (their count is just this batch's)
/// stop counting as newcomers yet to contribute (migration 0004); same JSON as
/// [`COUNT_MEMBERS`], after it.
const FIRST_CONTRIBUTIONS: &str = "UPDATE community_daily_members SET silent = silent - f.n
     FROM (SELECT m.community_id, substr(m.joined_at, 1, 10) AS day, count(*) AS n
           FROM jsonb_each(?) AS d JOIN members AS m ON m.id = d.value->>'member'
           WHERE m.contribution_count = d.value->>'n' GROUP BY 1, 2) AS f
     WHERE community_daily_members.community_id = f.community_id
       AND community_daily_members.day = f.day";

/// Communities' counters, from one JSON array of {community, n}; returns the counts after.
const COUNT_COMMUNITIES: &str =
    "UPDATE communities SET contribution_count = contribution_count + d.n
     FROM (SELECT value->>'community' AS community, value->>'n' AS n FROM jsonb_each(?)) AS d
     WHERE communities.id = d.community RETURNING id, contribution_count";

/// Goals' progress, from one JSON array of {goal, n, amount}; returns the progress after.
const COUNT_GOALS: &str = "UPDATE goals SET progress = round(progress + d.amount, 6),
        contribution_count = contribution_count + d.n
     FROM (SELECT value->>'goal' AS goal, value->>'n' AS n, value->>'amount' AS amount
           FROM jsonb_each(?)) AS d
     WHERE goals.id = d.goal RETURNING id, progress";

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
    let lookups = read_lookups(&mut *conn, requests).await?;
    let plan = Plan::new(requests, &lookups);
    if let Some(refused) = plan.all_refused() {
        // Only validation refuses, and only a batch that looked something up.
        return Ok(refused);
    }

    let deltas = plan.deltas();
    let rows: Vec<ContributionJson> = plan.rows().map(ContributionJson::from).collect();
    let day_rows: Vec<activity::DayRow> = deltas
        .member_days
        .iter()
        .map(|((community, on, member), n)| {
            let counts = Counts {
                contributions: *n,
                ..Counts::default()
            };
            activity::DayRow::new(*community, *member, *on, &counts)
        })
        .collect();
    let rollup_rows: Vec<activity::RollupRow> = deltas
        .community_days
        .iter()
        .map(|((community, on), n)| activity::RollupRow::counts(*community, *on, *n, 0))
        .collect();
    let unit_rows: Vec<UnitAmountJson> = deltas
        .unit_amounts
        .iter()
        .map(|((member, unit), amount)| UnitAmountJson {
            member: *member,
            unit,
            amount: *amount,
        })
        .collect();
    let goal_day_rows: Vec<GoalDayJson> = deltas
        .goal_days
        .iter()
        .map(|((goal, on), tally)| GoalDayJson {
            goal: *goal,
            day: day(*on),
            n: tally.contributions,
            amount: tally.amount,
        })
        .collect();
    let member_rows: Vec<MemberCountJson> = deltas
        .members
        .iter()
        .map(|(member, n)| MemberCountJson {
            member: *member,
            n: *n,
        })
        .collect();
    let community_rows: Vec<CommunityCountJson> = deltas
        .communities
        .iter()
        .map(|(community, n)| CommunityCountJson {
            community: *community,
            n: *n,
        })
        .collect();
    let goal_rows: Vec<GoalCountJson> = deltas
        .goals
        .iter()
        .map(|(goal, tally)| GoalCountJson {
            goal: *goal,
            n: tally.contributions,
            amount: tally.amount,
        })
        .collect();

    // Every write whose arguments are known now, in one trip; the same statements
    // every time (see store::script).
    let members_json = serde_json::to_string(&member_rows)?;
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
    let inserted = script.push(INSERT_CONTRIBUTIONS, &[&serde_json::to_string(&rows)?])?;
    let day_rows = serde_json::to_string(&day_rows)?;
    let days = script.push(activity::ADD_DAYS, &[&day_rows])?;
    let near = script.push(activity::FRESH_NEAR, &[&day_rows])?;
    script.push(
        activity::ADD_ROLLUP,
        &[&serde_json::to_string(&rollup_rows)?],
    )?;
    script.push(
        insights::ADD_HOURS,
        &[&insights::hours_json(
            deltas.hours.iter().map(|(c, h)| (*c, h)),
        )?],
    )?;
    // After ADD_ROLLUP, which makes the day's row.
    script.push(
        activity::ADD_ALIGNED,
        &[&activity::aligned_json(
            deltas.aligned.iter().map(|(k, n)| (*k, *n)),
        )?],
    )?;
    script.push(ADD_UNIT_AMOUNTS, &[&serde_json::to_string(&unit_rows)?])?;
    script.push(ADD_GOAL_DAYS, &[&serde_json::to_string(&goal_day_rows)?])?;
    let members = script.push(COUNT_MEMBERS, &[&members_json])?;
    script.push(FIRST_CONTRIBUTIONS, &[&members_json])?;
    let communities = script.push(
        COUNT_COMMUNITIES,
        &[&serde_json::to_string(&community_rows)?],
    )?;
    let goals_counted = script.push(COUNT_GOALS, &[&serde_json::to_string(&goal_rows)?])?;
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
    let insert = &done.get(inserted).result;
    let n = rows.len() as i64;
    if insert.rows_affected() != n as u64 {
        return Err(Error::internal(
            "numbering contributions",
            format!("{} rows inserted for {n}", insert.rows_affected()),
        ));
    }
    let first_id = insert.last_insert_rowid() - n + 1;

    // Days that became active change DAU, WAU, MAU and the cohorts.
    let totals: Vec<activity::DayTotal> = done.rows(days)?;
    let fresh = activity::fresh_days(&totals, |community, member, on| {
        deltas
            .member_days
            .get(&(community, on, member))
            .copied()
            .unwrap_or(0)
    })?;
    // Written in the trip after this, with the milestones.
    let mut after_script = Script::default();
    let mut coverage = BTreeMap::new();
    activity::push_became_active(
        &mut *conn,
        &fresh,
        &done.rows(near)?,
        &mut coverage,
        &mut after_script,
    )
    .await?;
    activity::push_rollups(&coverage, &mut after_script)?;

    // Counters after the batch: the plan's "before" is after minus this batch.
    let after = Counters {
        members: done
            .rows::<(i64, i64)>(members)?
            .into_iter()
            .map(|(id, count)| (MemberId(id), count))
            .collect(),
        communities: done
            .rows::<(i64, i64)>(communities)?
            .into_iter()
            .map(|(id, count)| (CommunityId(id), count))
            .collect(),
        goals: done
            .rows::<(i64, f64)>(goals_counted)?
            .into_iter()
            .map(|(id, progress)| (GoalId(id), progress))
            .collect(),
    };

    for goal in plan.goals_met(&after.goals) {
        sqlx::query("UPDATE goals SET met_at = COALESCE(met_at, ?) WHERE id = ?")
            .bind(ts(requests[0].now))
            .bind(goal)
            .execute(&mut *conn)
            .await?;
    }

    // Custom milestones are few and rarely added: asked for only when any exist,
    // and only those still to be reached (at most MAX_PENDING_MILESTONES).
    let mut pending: HashMap<CommunityId, Vec<PendingMilestone>> = HashMap::new();
    if hints.custom.any(&mut *conn).await? {
        for community in deltas.communities.keys() {
            let customs =
                super::sql::milestones::pending_custom_for(&mut *conn, *community).await?;
            pending.insert(
                *community,
                customs.into_iter().map(pending_milestone).collect(),
            );
        }
    }
    let outcome = plan.settle(first_id, &after, &pending);

    // The milestones crossed and the newcomer steps reached, in one more trip with
    // what newly active days change, only when there are any.
    let mut script = after_script;
    let achieved = if outcome.crossings.is_empty() {
        None
    } else {
        let rows = outcome
            .crossings
            .iter()
            .map(CrossedJson::new)
            .collect::<Result<Vec<_>>>()?;
        let rows = serde_json::to_string(&rows)?;
        let achieved = script.push(super::native::milestones::RECORD_CROSSED, &[&rows])?;
        script.push(outbox::ANNOUNCE_CROSSED, &[&rows])?;
        script.push(outbox::NAME_CROSSED, &[&rows])?;
        script.push(outbox::DELIVER_CROSSED, &[&rows])?;
        Some(achieved)
    };
    if !outcome.ordinals.is_empty() {
        script.push(
            insights::REACH_ORDINALS,
            &[&insights::ordinals_json(&outcome.ordinals)?],
        )?;
    }
    if script.is_empty() {
        return Ok(outcome.answers(|_| false));
    }
    let done = script.run(&mut *conn, |_| {}).await?;
    let Some(achieved) = achieved else {
        return Ok(outcome.answers(|_| false));
    };
    // Only the first time a milestone is crossed is it achieved.
    let achieved: Vec<(i64, String, String)> = done.rows(achieved)?;
    let new: HashSet<(i64, &str, &str)> = achieved
        .iter()
        .map(|(community, key, subject)| (*community, key.as_str(), subject.as_str()))
        .collect();
    Ok(outcome
        .answers(|c: &Crossing| new.contains(&(c.community.0, c.key.as_str(), c.subject.as_str()))))
}

/// Reads what checking `requests` needs, once per distinct goal and community.
async fn read_lookups(
    conn: &mut SqliteConnection,
    requests: &[&ContributionRequest],
) -> Result<Lookups> {
    let mut lookups = Lookups::default();
    for r in requests {
        if let Some(slug) = &r.goal
            && !lookups.has_goal(r.community, slug)
        {
            let goal = super::sql::goals::by_slug(&mut *conn, r.community, slug).await?;
            lookups.add_goal(r.community, slug, goal.map(goal_terms));
        }
        if r.value.is_some() && !lookups.has_values(r.community) {
            let current = super::sql::mission::current(&mut *conn, r.community).await?;
            lookups.add_values(r.community, current.map(|m| m.values).unwrap_or_default());
        }
    }
    Ok(lookups)
}

fn goal_terms(g: goals::Goal) -> GoalTerms {
    GoalTerms {
        id: g.id,
        slug: g.slug,
        title: g.title,
        target: g.target,
        unit: g.unit,
        open: g.open,
    }
}

fn pending_milestone(c: CustomMilestone) -> PendingMilestone {
    PendingMilestone {
        id: c.id,
        goal: c.goal_id,
        title: c.title,
        threshold: c.threshold,
    }
}

/// A row of [`INSERT_CONTRIBUTIONS`].
#[derive(Serialize)]
struct ContributionJson<'a> {
    community: CommunityId,
    member: MemberId,
    description: &'a str,
    amount: Option<f64>,
    unit: Option<&'a str>,
    goal: Option<GoalId>,
    value: Option<&'a str>,
    platform: &'static str,
    day: String,
    at: String,
}

impl<'a> From<NewRow<'a>> for ContributionJson<'a> {
    fn from(r: NewRow<'a>) -> Self {
        ContributionJson {
            community: r.community,
            member: r.member,
            description: r.description,
            amount: r.amount,
            unit: r.unit,
            goal: r.goal,
            value: r.value,
            platform: r.platform.as_str(),
            day: day(r.day),
            at: ts(r.at),
        }
    }
}

/// A row of [`ADD_UNIT_AMOUNTS`].
#[derive(Serialize)]
struct UnitAmountJson<'a> {
    member: MemberId,
    unit: &'a str,
    amount: f64,
}

/// A row of [`ADD_GOAL_DAYS`].
#[derive(Serialize)]
struct GoalDayJson {
    goal: GoalId,
    day: String,
    n: i64,
    amount: f64,
}

/// A row of [`COUNT_MEMBERS`] and [`FIRST_CONTRIBUTIONS`].
#[derive(Serialize)]
struct MemberCountJson {
    member: MemberId,
    n: i64,
}

/// A row of [`COUNT_COMMUNITIES`].
#[derive(Serialize)]
struct CommunityCountJson {
    community: CommunityId,
    n: i64,
}

/// A row of [`COUNT_GOALS`].
#[derive(Serialize)]
struct GoalCountJson {
    goal: GoalId,
    n: i64,
    amount: f64,
}

/// A row of [`super::native::milestones::RECORD_CROSSED`] and the outbox's statements after it.
#[derive(Serialize)]
struct CrossedJson<'a> {
    community: CommunityId,
    key: &'a str,
    subject: &'a str,
    title: &'a str,
    member: Option<MemberId>,
    goal: Option<GoalId>,
    contribution: ContributionId,
    /// The contributor, whom the announcement names.
    about: MemberId,
    at: String,
    /// The announcement, as the outbox stores it.
    body: String,
}

impl<'a> CrossedJson<'a> {
    fn new(c: &'a Crossing) -> Result<Self> {
        Ok(CrossedJson {
            community: c.community,
            key: &c.key,
            subject: &c.subject,
            title: &c.title,
            member: c.member,
            goal: c.goal,
            contribution: c.contribution,
            about: c.about,
            at: ts(c.at),
            body: serde_json::to_string(&c.body)?,
        })
    }
}
