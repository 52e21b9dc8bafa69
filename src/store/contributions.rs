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
//! contribution and its announcement are durable together or not at all.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use futures_util::{Stream, StreamExt};
use serde_json::json;
use sqlx::{SqliteConnection, SqliteExecutor};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::activity::{self, Counts};
use super::built;
use super::checkpoint::{self, WalRestart};
use super::insights;
use super::milestones::{CustomHint, CustomMilestone};
use super::script::Script;
use super::write_connection::{WriteConnection, WriteGuard};
use super::{day, goals, milestones, mission, outbox, parse_day, parse_ts, ts};
use crate::domain::announce::{self, GoalFigures};
use crate::domain::milestones::{
    Milestone, Subject, community_counts_crossed, custom_crossed, goal_percents_crossed, headline,
    member_counts_crossed,
};
use crate::domain::text::{reached, round_amount};
use crate::domain::{CommunityId, ContributionId, GoalId, MemberId, Platform, UserError};
use crate::error::{Error, Result};

/// The most contributions written in one transaction.
pub(super) const MAX_BATCH: usize = 512;

#[derive(Debug, Clone)]
pub struct ContributionRequest {
    pub community: CommunityId,
    pub member: MemberId,
    pub member_name: String,
    pub platform: Platform,
    pub description: String,
    pub amount: Option<f64>,
    pub unit: Option<String>,
    pub goal: Option<String>,
    pub value: Option<String>,
    pub day: NaiveDate,
    pub now: DateTime<Utc>,
}

/// A goal after a contribution counted towards it.
#[derive(Debug, Clone)]
pub struct GoalAfter {
    pub slug: String,
    pub title: String,
    pub unit: Option<String>,
    pub target: f64,
    /// Progress right after this contribution.
    pub progress: f64,
    /// How much this contribution added.
    pub counted: f64,
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub id: ContributionId,
    pub value: Option<String>,
    pub unit: Option<String>,
    pub goal: Option<GoalAfter>,
    /// The member's contribution count after this one.
    pub member_count: i64,
    /// Headlines of the milestones this contribution reached.
    pub milestones: Vec<String>,
}

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
                        .wait(super::errors::database(&e).is_some_and(super::is_busy))
                        .await => {}
            done => return done,
        }
    }
}

/// What validation settled for one request.
struct Prepared {
    goal: Option<goals::Goal>,
    /// Added to the goal's progress.
    goal_amount: f64,
    unit: Option<String>,
    value: Option<String>,
}

fn prepare(
    r: &ContributionRequest,
    goals: &HashMap<(CommunityId, String), Option<goals::Goal>>,
    values: &HashMap<CommunityId, Vec<String>>,
) -> Result<Prepared, UserError> {
    let goal = match &r.goal {
        None => None,
        Some(slug) => match goals.get(&(r.community, slug.clone())).cloned().flatten() {
            None => {
                return Err(UserError::not_found(
                    format!("No goal `{slug}`"),
                    "See `goal list` for the goals and their slugs.",
                ));
            }
            Some(g) if !g.open => {
                return Err(UserError::invalid(
                    format!("The goal `{slug}` is closed."),
                    "Log it without goal=, or pick an open goal from `goal list`.",
                ));
            }
            Some(g) => Some(g),
        },
    };
    if let (Some(g), Some(unit), Some(goal_unit)) =
        (&goal, &r.unit, goal.as_ref().and_then(|g| g.unit.as_ref()))
        && !unit.eq_ignore_ascii_case(goal_unit)
    {
        return Err(UserError::invalid(
            format!("The goal `{}` counts {goal_unit}, not {unit}.", g.slug),
            format!("Leave out unit= (it will be {goal_unit}), or log it without goal=."),
        ));
    }
    let value = match &r.value {
        None => None,
        Some(v) => {
            let known = values.get(&r.community).map(Vec::as_slice).unwrap_or(&[]);
            match known.iter().find(|k| k.to_lowercase() == v.to_lowercase()) {
                Some(k) => Some(k.clone()),
                None if known.is_empty() => {
                    return Err(UserError::invalid(
                        format!("The mission has no values yet, so value={v} cannot be used."),
                        "Log it without value=, or ask an organiser to `mission value add` it.",
                    ));
                }
                None => {
                    return Err(UserError::not_found(
                        format!("No value `{v}` in the mission"),
                        format!("The values are: {}.", known.join(", ")),
                    ));
                }
            }
        }
    };
    let (goal_amount, unit) = match &goal {
        // A goal without a unit counts contributions: each counts one unless an
        // amount says otherwise.
        Some(g) if g.unit.is_none() => (r.amount.unwrap_or(1.0), r.unit.clone()),
        Some(g) => (r.amount.unwrap_or(0.0), r.amount.and(g.unit.clone())),
        None => (0.0, r.unit.clone()),
    };
    Ok(Prepared {
        goal,
        goal_amount,
        unit,
        value,
    })
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
    let looks_up = requests
        .iter()
        .any(|r| r.goal.is_some() || r.value.is_some());
    if looks_up {
        commit_uncommitted(&mut *conn, previous).await?;
        sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    }
    // Look up what validation needs, once per distinct goal and community.
    let mut goals_by_slug: HashMap<(CommunityId, String), Option<goals::Goal>> = HashMap::new();
    let mut values: HashMap<CommunityId, Vec<String>> = HashMap::new();
    for r in requests {
        if let Some(slug) = &r.goal {
            let key = (r.community, slug.clone());
            if let std::collections::hash_map::Entry::Vacant(e) = goals_by_slug.entry(key) {
                let goal = goals::by_slug(&mut *conn, r.community, slug).await?;
                e.insert(goal);
            }
        }
        if r.value.is_some() && !values.contains_key(&r.community) {
            let current = mission::current(&mut *conn, r.community).await?;
            values.insert(r.community, current.map(|m| m.values).unwrap_or_default());
        }
    }
    let prepared: Vec<Result<Prepared, UserError>> = requests
        .iter()
        .map(|r| prepare(r, &goals_by_slug, &values))
        .collect();
    let accepted: Vec<(usize, &Prepared)> = prepared
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.as_ref().ok().map(|p| (i, p)))
        .collect();
    if accepted.is_empty() {
        // Only validation refuses, and only a batch that looked something up.
        return Ok(prepared
            .into_iter()
            .map(|p| p.map(|_| unreachable!()))
            .collect());
    }

    // What the batch adds, summed per row it changes.
    let mut member_days: BTreeMap<(CommunityId, NaiveDate, MemberId), i64> = BTreeMap::new();
    let mut community_days: BTreeMap<(CommunityId, NaiveDate), i64> = BTreeMap::new();
    let mut goal_days: BTreeMap<(GoalId, NaiveDate), (i64, f64)> = BTreeMap::new();
    let mut member_deltas: BTreeMap<MemberId, i64> = BTreeMap::new();
    let mut community_deltas: BTreeMap<CommunityId, i64> = BTreeMap::new();
    let mut goal_deltas: BTreeMap<GoalId, (i64, f64)> = BTreeMap::new();
    // Activity by the UTC hour it was recorded (PRODUCT.md "Activity by hour").
    let mut hours: BTreeMap<CommunityId, BTreeMap<(NaiveDate, u32), i64>> = BTreeMap::new();
    // Alignment: contributions linked to a goal or a value, per community and day.
    let mut aligned: BTreeMap<(CommunityId, NaiveDate), i64> = BTreeMap::new();
    // Each member's amounts by unit (`stats me`).
    let mut unit_amounts: BTreeMap<(MemberId, &str), f64> = BTreeMap::new();
    let mut rows = Vec::with_capacity(accepted.len());
    for (i, p) in &accepted {
        let r = requests[*i];
        rows.push(json!({
            "community": r.community,
            "member": r.member,
            "description": r.description,
            "amount": r.amount,
            "unit": p.unit,
            "goal": p.goal.as_ref().map(|g| g.id),
            "value": p.value,
            "platform": r.platform.as_str(),
            "day": day(r.day),
            "at": ts(r.now),
        }));
        *member_days
            .entry((r.community, r.day, r.member))
            .or_default() += 1;
        *community_days.entry((r.community, r.day)).or_default() += 1;
        *member_deltas.entry(r.member).or_default() += 1;
        *community_deltas.entry(r.community).or_default() += 1;
        if let Some(g) = &p.goal {
            let e = goal_days.entry((g.id, r.day)).or_default();
            e.0 += 1;
            e.1 += p.goal_amount;
            let e = goal_deltas.entry(g.id).or_default();
            e.0 += 1;
            e.1 += p.goal_amount;
        }
        *hours
            .entry(r.community)
            .or_default()
            .entry((r.now.date_naive(), r.now.hour()))
            .or_default() += 1;
        if p.goal.is_some() || p.value.is_some() {
            *aligned.entry((r.community, r.day)).or_default() += 1;
        }
        if let (Some(amount), Some(unit)) = (r.amount, p.unit.as_deref()) {
            *unit_amounts.entry((r.member, unit)).or_default() += amount;
        }
    }
    let day_rows: Vec<activity::DayRow> = member_days
        .iter()
        .map(|((community, on, member), n)| {
            let counts = Counts {
                contributions: *n,
                ..Counts::default()
            };
            activity::DayRow::new(*community, *member, *on, &counts)
        })
        .collect();
    let rollup_rows: Vec<activity::RollupRow> = community_days
        .iter()
        .map(|((community, on), n)| activity::RollupRow::counts(*community, *on, *n, 0))
        .collect();
    let unit_rows: Vec<_> = unit_amounts
        .iter()
        .map(|((member, unit), amount)| json!({"member": member, "unit": unit, "amount": amount}))
        .collect();
    let goal_day_rows: Vec<_> = goal_days
        .iter()
        .map(|((goal, on), (n, amount))| {
            json!({"goal": goal, "day": day(*on), "n": n, "amount": amount})
        })
        .collect();
    let member_rows: Vec<_> = member_deltas
        .iter()
        .map(|(member, n)| json!({"member": member, "n": n}))
        .collect();
    let community_rows: Vec<_> = community_deltas
        .iter()
        .map(|(community, n)| json!({"community": community, "n": n}))
        .collect();
    let goal_rows: Vec<_> = goal_deltas
        .iter()
        .map(|(goal, (n, amount))| json!({"goal": goal, "n": n, "amount": amount}))
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
        &[&insights::hours_json(hours.iter().map(|(c, h)| (*c, h)))?],
    )?;
    // After ADD_ROLLUP, which makes the day's row.
    script.push(activity::ADD_ALIGNED, &[&activity::aligned_json(aligned)?])?;
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
    let n = accepted.len() as i64;
    if insert.rows_affected() != n as u64 {
        return Err(Error::internal(
            "numbering contributions",
            format!("{} rows inserted for {n}", insert.rows_affected()),
        ));
    }
    let first_id = insert.last_insert_rowid() - n + 1;
    let ids: HashMap<usize, i64> = accepted
        .iter()
        .enumerate()
        .map(|(n, (i, _))| (*i, first_id + n as i64))
        .collect();

    // Days that became active change DAU, WAU, MAU and the cohorts.
    let totals: Vec<activity::DayTotal> = done.rows(days)?;
    let fresh = activity::fresh_days(&totals, |community, member, on| {
        member_days
            .get(&(community, on, member))
            .copied()
            .unwrap_or(0)
    })?;
    // Written in the trip after this, with the milestones.
    let mut after = Script::default();
    let mut coverage = BTreeMap::new();
    activity::push_became_active(
        &mut *conn,
        &fresh,
        &done.rows(near)?,
        &mut coverage,
        &mut after,
    )
    .await?;
    activity::push_rollups(&coverage, &mut after)?;

    // Counters after the batch: "before" is after minus this batch.
    let member_after: HashMap<MemberId, i64> = done
        .rows::<(i64, i64)>(members)?
        .into_iter()
        .map(|(id, count)| (MemberId(id), count))
        .collect();
    let community_after: HashMap<CommunityId, i64> = done
        .rows::<(i64, i64)>(communities)?
        .into_iter()
        .map(|(id, count)| (CommunityId(id), count))
        .collect();
    let goal_after: HashMap<GoalId, f64> = done
        .rows::<(i64, f64)>(goals_counted)?
        .into_iter()
        .map(|(id, progress)| (GoalId(id), progress))
        .collect();

    // A goal at its target is met from the first moment it gets there.
    for (goal, progress) in &goal_after {
        let target = goals_by_slug
            .values()
            .flatten()
            .find(|g| g.id == *goal)
            .map(|g| g.target);
        if let Some(target) = target
            && reached(*progress, target)
        {
            sqlx::query("UPDATE goals SET met_at = COALESCE(met_at, ?) WHERE id = ?")
                .bind(ts(requests[0].now))
                .bind(goal)
                .execute(&mut *conn)
                .await?;
        }
    }

    // Walk the batch in order with running counters, so each milestone is credited
    // to the contribution that crossed it.
    let mut member_running: HashMap<MemberId, i64> = member_deltas
        .iter()
        .map(|(m, n)| (*m, member_after.get(m).copied().unwrap_or(*n) - n))
        .collect();
    let mut community_running: HashMap<CommunityId, i64> = community_deltas
        .iter()
        .map(|(c, n)| (*c, community_after[c] - n))
        .collect();
    let mut goal_running: HashMap<GoalId, f64> = goal_deltas
        .iter()
        .map(|(g, (_, amount))| (*g, round_amount(goal_after[g] - amount)))
        .collect();
    // Custom milestones are few and rarely added: asked for only when any exist,
    // and only those still to be reached (at most MAX_PENDING_MILESTONES).
    let mut customs: HashMap<CommunityId, Vec<CustomMilestone>> =
        community_deltas.keys().map(|c| (*c, Vec::new())).collect();
    if hints.custom.any(&mut *conn).await? {
        for community in community_deltas.keys() {
            customs.insert(
                *community,
                milestones::pending_custom_for(&mut *conn, *community).await?,
            );
        }
    }

    let mut crossings: Vec<Crossing> = Vec::new();
    let mut ordinals: Vec<(MemberId, i64, NaiveDate)> = Vec::new();
    let mut out = Vec::with_capacity(requests.len());
    for (i, p) in prepared.into_iter().enumerate() {
        let p = match p {
            Ok(p) => p,
            Err(e) => {
                out.push(Err(e));
                continue;
            }
        };
        let r = requests[i];
        let id = ids[&i];
        let mut crossed: Vec<(Milestone, Subject)> = Vec::new();

        let c_before = community_running[&r.community];
        let c_after = c_before + 1;
        community_running.insert(r.community, c_after);
        crossed.extend(
            community_counts_crossed(c_before, c_after)
                .into_iter()
                .map(|m| (m, Subject::Community)),
        );

        let m_before = member_running[&r.member];
        let m_after = m_before + 1;
        member_running.insert(r.member, m_after);
        if matches!(m_after, 1 | 2 | 4) {
            ordinals.push((r.member, m_after, r.day));
        }
        crossed.extend(
            member_counts_crossed(m_before, m_after)
                .into_iter()
                .map(|m| (m, Subject::Member(r.member))),
        );

        let community_customs = &customs[&r.community];
        crossed.extend(
            community_customs
                .iter()
                .filter(|c| c.goal_id.is_none())
                .filter_map(|c| {
                    custom_crossed(c_before as f64, c_after as f64, c.id, &c.title, c.threshold)
                })
                .map(|m| (m, Subject::Community)),
        );

        let mut goal_report = None;
        if let Some(g) = &p.goal {
            let before = goal_running[&g.id];
            let after = round_amount(before + p.goal_amount);
            goal_running.insert(g.id, after);
            crossed.extend(
                goal_percents_crossed(before, after, g.target)
                    .into_iter()
                    .map(|m| (m, Subject::Goal(g.id))),
            );
            crossed.extend(
                community_customs
                    .iter()
                    .filter(|c| c.goal_id == Some(g.id))
                    .filter_map(|c| custom_crossed(before, after, c.id, &c.title, c.threshold))
                    .map(|m| (m, Subject::Goal(g.id))),
            );
            goal_report = Some(GoalAfter {
                slug: g.slug.clone(),
                title: g.title.clone(),
                unit: g.unit.clone(),
                target: g.target,
                progress: after,
                counted: p.goal_amount,
            });
        }

        for (milestone, subject) in crossed {
            let goal_figures = goal_report.as_ref().map(|g| GoalFigures {
                title: &g.title,
                progress: g.progress,
                target: g.target,
                unit: g.unit.as_deref(),
            });
            let subject_name = match subject {
                Subject::Goal(_) => goal_report.as_ref().map_or("", |g| g.title.as_str()),
                _ => r.member_name.as_str(),
            };
            let body = announce::milestone(
                &milestone,
                (r.member, &r.member_name),
                &r.description,
                goal_figures
                    .as_ref()
                    .filter(|_| matches!(subject, Subject::Goal(_))),
            );
            let title = headline(&milestone, subject_name);
            let (key, subject_key) = (milestone.key(), subject.key());
            crossings.push(Crossing {
                contribution: out.len(),
                row: json!({
                    "community": r.community,
                    "key": key,
                    "subject": subject_key,
                    "title": title,
                    "member": matches!(subject, Subject::Member(_)).then_some(r.member),
                    "goal": match subject {
                        Subject::Goal(g) => Some(g),
                        _ => None,
                    },
                    "contribution": id,
                    "about": r.member,
                    "at": ts(r.now),
                    "body": serde_json::to_string(&body)?,
                }),
                achievement: (r.community.0, key, subject_key),
                title,
            });
        }
        out.push(Ok(Recorded {
            id: ContributionId(id),
            value: p.value,
            unit: p.unit,
            goal: goal_report,
            member_count: m_after,
            milestones: Vec::new(),
        }));
    }

    // The milestones crossed and the newcomer steps reached, in one more trip with
    // what newly active days change, only when there are any.
    let mut script = after;
    let achieved = if crossings.is_empty() {
        None
    } else {
        let rows = serde_json::to_string(&crossings.iter().map(|c| &c.row).collect::<Vec<_>>())?;
        let achieved = script.push(milestones::RECORD_CROSSED, &[&rows])?;
        script.push(outbox::ANNOUNCE_CROSSED, &[&rows])?;
        script.push(outbox::NAME_CROSSED, &[&rows])?;
        script.push(outbox::DELIVER_CROSSED, &[&rows])?;
        Some(achieved)
    };
    if !ordinals.is_empty() {
        script.push(
            insights::REACH_ORDINALS,
            &[&insights::ordinals_json(&ordinals)?],
        )?;
    }
    if !script.is_empty() {
        let done = script.run(&mut *conn, |_| {}).await?;
        if let Some(achieved) = achieved {
            // Only the first time a milestone is crossed is it achieved.
            let new: HashSet<(i64, String, String)> = done.rows(achieved)?.into_iter().collect();
            for crossing in crossings {
                if new.contains(&crossing.achievement)
                    && let Some(Ok(recorded)) = out.get_mut(crossing.contribution)
                {
                    recorded.milestones.push(crossing.title);
                }
            }
        }
    }
    Ok(out)
}

/// A milestone a contribution of the batch crossed, to record (and announce, unless
/// its community takes milestones in the digest only) if it is the first time.
struct Crossing {
    /// The contribution's place in the batch.
    contribution: usize,
    /// The row for [`milestones::RECORD_CROSSED`] and the outbox's statements.
    row: serde_json::Value,
    /// (community, milestone key, subject): the achievement's unique key.
    achievement: (i64, String, String),
    title: String,
}

#[derive(Debug, Clone)]
pub struct ContributionRow {
    pub id: ContributionId,
    pub member: String,
    pub description: String,
    pub amount: Option<f64>,
    pub unit: Option<String>,
    pub goal: Option<String>,
    pub value: Option<String>,
    pub platform: String,
    pub day: NaiveDate,
    pub created_at: DateTime<Utc>,
}

type Row = (
    i64,
    String,
    String,
    Option<f64>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
);

fn from_row(r: Row) -> Result<ContributionRow> {
    Ok(ContributionRow {
        id: ContributionId(r.0),
        member: r.1,
        description: r.2,
        amount: r.3,
        unit: r.4,
        goal: r.5,
        value: r.6,
        platform: r.7,
        day: parse_day(&r.8)?,
        created_at: parse_ts(&r.9)?,
    })
}

const SELECT: &str = "SELECT c.id, m.display_name, c.description, c.amount, c.unit, g.slug, c.value_name,
    c.platform, c.happened_on, c.created_at
    FROM contributions c JOIN members m ON m.id = c.member_id LEFT JOIN goals g ON g.id = c.goal_id";

/// A member's latest contributions, newest first.
pub async fn by_member(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    member: MemberId,
    limit: i64,
) -> Result<Vec<ContributionRow>> {
    let rows: Vec<Row> = sqlx::query_as(built(format!(
        "{SELECT} WHERE c.community_id = ? AND c.member_id = ? ORDER BY c.happened_on DESC, c.id DESC LIMIT ?"
    )))
    .bind(community)
    .bind(member)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// A goal's latest contributions, newest first.
pub async fn by_goal(
    db: impl SqliteExecutor<'_>,
    community: CommunityId,
    goal: GoalId,
    limit: i64,
) -> Result<Vec<ContributionRow>> {
    let rows: Vec<Row> = sqlx::query_as(built(format!(
        "{SELECT} WHERE c.community_id = ? AND c.goal_id = ? ORDER BY c.id DESC LIMIT ?"
    )))
    .bind(community)
    .bind(goal)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Every contribution of a community (or of one member), oldest first, for
/// export: a row at a time, however many there are.
pub fn each<'e>(
    db: impl SqliteExecutor<'e> + 'e,
    community: CommunityId,
    member: Option<MemberId>,
) -> impl Stream<Item = Result<ContributionRow>> + Send + 'e {
    sqlx::query_as::<_, Row>(built(format!(
        "{SELECT} WHERE c.community_id = ?1 AND (?2 IS NULL OR c.member_id = ?2) ORDER BY c.id"
    )))
    .bind(community)
    .bind(member)
    .fetch(db)
    .map(|row| from_row(row?))
}

impl super::Store {
    /// A member's contributions in their community, newest first.
    pub async fn contributions_by_member(
        &self,
        community: CommunityId,
        member: MemberId,
        limit: i64,
    ) -> Result<Vec<ContributionRow>> {
        by_member(&self.read, community, member, limit).await
    }
}
