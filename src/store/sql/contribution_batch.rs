//! A batch of contributions, as both engines' writers (`group_commit.rs`) write
//! it inside the transaction they open: reading what the rules need, the batch's
//! writes as one script (the engine's own statements, by the names its `native`
//! gives them, each reading one JSON array), and what the counters those return
//! settle: days that became active, goals met, milestones crossed and announced,
//! newcomers' steps. How a batch's transaction begins, how its contributions are
//! numbered and when it commits are each writer's own.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::super::native;
use super::super::script::{Outcomes, Script, Step};
use super::Conn;
use crate::domain::contribution::plan::{Counters, Crossing, NewRow, PendingMilestone, Plan};
use crate::domain::contribution::validate::{GoalTerms, Lookups};
use crate::domain::contribution::{ContributionRequest, Recorded};
use crate::domain::{CommunityId, ContributionId, GoalId, MemberId, UserError};
use crate::error::Result;
use crate::store::activity::{Counts, DayRow, DayTotal, RollupRow, aligned_json, fresh_days};
use crate::store::contributions::{
    community_counts_json, contributions_json, crossed_json, goal_counts_json, goal_days_json,
    member_counts_json, unit_amounts_json,
};
use crate::store::insights::{hours_json, ordinals_json};
use crate::store::milestones::{CustomHint, CustomMilestone};
use crate::store::{day, goals, ts};

/// Reads what checking `requests` needs, once per distinct goal and community.
pub async fn read_lookups(conn: &mut Conn, requests: &[&ContributionRequest]) -> Result<Lookups> {
    let mut lookups = Lookups::default();
    for r in requests {
        if let Some(slug) = &r.goal
            && !lookups.has_goal(r.community, slug)
        {
            let goal = super::goals::by_slug(&mut *conn, r.community, slug).await?;
            lookups.add_goal(r.community, slug, goal.map(goal_terms));
        }
        if r.value.is_some() && !lookups.has_values(r.community) {
            let current = super::mission::current(&mut *conn, r.community).await?;
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
        max_amount: g.max_amount,
        review_above: g.review_above,
    }
}

/// Where the batch's writes, once run, left what [`settle`] reads back.
pub struct Writes {
    /// The contributions' INSERT.
    pub inserted: Step,
    /// Members' days, with their totals after.
    days: Step,
    /// The days near those that became active.
    near: Step,
    /// The counters after.
    members: Step,
    communities: Step,
    goals: Step,
}

/// Adds the batch's writes to `script`: its contributions (with `ids` where the
/// engine chose them first, PostgreSQL; SQLite numbers them as it inserts) and
/// what they add to activity, insights, goals and counters. The same statements
/// every time, empty arrays and all (SQLite prepares the script once).
pub fn push_writes(
    script: &mut Script,
    plan: &Plan<'_>,
    ids: Option<&[ContributionId]>,
) -> Result<Writes> {
    let deltas = plan.deltas();
    let day_rows: Vec<DayRow> = deltas
        .member_days
        .iter()
        .map(|((community, on, member), n)| {
            let counts = Counts {
                contributions: *n,
                ..Counts::default()
            };
            DayRow::new(*community, *member, *on, &counts)
        })
        .collect();
    let rollup_rows: Vec<RollupRow> = deltas
        .community_days
        .iter()
        .map(|((community, on), n)| RollupRow::counts(*community, *on, *n, 0))
        .collect();
    let members_json = member_counts_json(deltas)?;

    let inserted = script.push(
        native::contributions::INSERT_CONTRIBUTIONS,
        &[&contributions_json(plan.rows(), ids)?],
    )?;
    let day_rows = serde_json::to_string(&day_rows)?;
    let days = script.push(native::activity::ADD_DAYS, &[&day_rows])?;
    let near = script.push(native::activity::FRESH_NEAR, &[&day_rows])?;
    script.push(
        native::activity::ADD_ROLLUP,
        &[&serde_json::to_string(&rollup_rows)?],
    )?;
    script.push(
        native::insights::ADD_HOURS,
        &[&hours_json(deltas.hours.iter().map(|(c, h)| (*c, h)))?],
    )?;
    // After ADD_ROLLUP, which makes the day's row.
    script.push(
        native::activity::ADD_ALIGNED,
        &[&aligned_json(deltas.aligned.iter().map(|(k, n)| (*k, *n)))?],
    )?;
    script.push(
        native::contributions::ADD_UNIT_AMOUNTS,
        &[&unit_amounts_json(deltas)?],
    )?;
    script.push(
        native::contributions::ADD_GOAL_DAYS,
        &[&goal_days_json(deltas)?],
    )?;
    let members = script.push(native::contributions::COUNT_MEMBERS, &[&members_json])?;
    script.push(native::contributions::FIRST_CONTRIBUTIONS, &[&members_json])?;
    let communities = script.push(
        native::contributions::COUNT_COMMUNITIES,
        &[&community_counts_json(deltas)?],
    )?;
    let goals = script.push(
        native::contributions::COUNT_GOALS,
        &[&goal_counts_json(deltas)?],
    )?;
    Ok(Writes {
        inserted,
        days,
        near,
        members,
        communities,
        goals,
    })
}

/// Once the batch's writes have run (`done`), with its contributions stored as
/// `ids` (in the order of [`Plan::rows`]): writes what the counters they returned
/// settle, in one more script when there is any, and answers each request.
/// `custom` tells whether custom milestones exist.
pub async fn settle(
    conn: &mut Conn,
    custom: &CustomHint,
    requests: &[&ContributionRequest],
    plan: Plan<'_>,
    ids: &[ContributionId],
    done: &Outcomes,
    writes: &Writes,
) -> Result<Vec<Result<Recorded, UserError>>> {
    let deltas = plan.deltas();
    // Days that became active change DAU, WAU, MAU and the cohorts.
    let totals: Vec<DayTotal> = done.rows(writes.days)?;
    let fresh = fresh_days(&totals, |community, member, on| {
        deltas
            .member_days
            .get(&(community, on, member))
            .copied()
            .unwrap_or(0)
    })?;
    // Written in the trip after this, with the milestones.
    let mut script = Script::default();
    let mut coverage = BTreeMap::new();
    super::activity::push_became_active(
        &mut *conn,
        &fresh,
        &done.rows(writes.near)?,
        &mut coverage,
        &mut script,
    )
    .await?;
    super::activity::push_rollups(&coverage, &mut script)?;

    // Counters after the batch: the plan's "before" is after minus this batch.
    let after = Counters {
        members: done
            .rows::<(i64, i64)>(writes.members)?
            .into_iter()
            .map(|(id, count)| (MemberId(id), count))
            .collect(),
        communities: done
            .rows::<(i64, i64)>(writes.communities)?
            .into_iter()
            .map(|(id, count)| (CommunityId(id), count))
            .collect(),
        goals: done
            .rows::<(i64, f64)>(writes.goals)?
            .into_iter()
            .map(|(id, progress)| (GoalId(id), progress))
            .collect(),
    };

    for goal in plan.goals_met(&after.goals) {
        sqlx::query("UPDATE goals SET met_at = COALESCE(met_at, $1) WHERE id = $2")
            .bind(ts(requests[0].now))
            .bind(goal)
            .execute(&mut *conn)
            .await?;
    }

    // Custom milestones are few and rarely added: asked for only when any exist,
    // and only those still to be reached (at most MAX_PENDING_MILESTONES).
    let mut pending: HashMap<CommunityId, Vec<PendingMilestone>> = HashMap::new();
    if custom
        .any_asking(super::milestones::any_custom(&mut *conn))
        .await?
    {
        for community in deltas.communities.keys() {
            let customs = super::milestones::pending_custom_for(&mut *conn, *community).await?;
            pending.insert(
                *community,
                customs.into_iter().map(pending_milestone).collect(),
            );
        }
    }
    let outcome = plan.settle(ids, &after, &pending);

    // The milestones crossed and the newcomer steps reached, in one more trip with
    // what newly active days change, only when there are any.
    let achieved = if outcome.crossings.is_empty() {
        None
    } else {
        let rows = crossed_json(&outcome.crossings)?;
        let achieved = script.push(native::milestones::RECORD_CROSSED, &[&rows])?;
        script.push(native::outbox::ANNOUNCE_CROSSED, &[&rows])?;
        script.push(native::outbox::NAME_CROSSED, &[&rows])?;
        script.push(native::outbox::DELIVER_CROSSED, &[&rows])?;
        Some(achieved)
    };
    if !outcome.ordinals.is_empty() {
        script.push(
            native::insights::REACH_ORDINALS,
            &[&ordinals_json(&outcome.ordinals)?],
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

fn pending_milestone(c: CustomMilestone) -> PendingMilestone {
    PendingMilestone {
        id: c.id,
        goal: c.goal_id,
        title: c.title,
        threshold: c.threshold,
    }
}

/// Stores the batch's contributions that wait for an organiser's review aside
/// (`pending_contributions`, migration 0018), each under an id taken from the
/// contributions' own sequence, and hands the ids to the plan. Nothing else is
/// written for them: they count nowhere until approved. Costs nothing for a
/// batch with none (most).
pub async fn hold_for_review(conn: &mut Conn, plan: &mut Plan<'_>) -> Result<()> {
    let waiting: Vec<NewRow<'_>> = plan.for_review().collect();
    if waiting.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(waiting.len());
    for row in &waiting {
        let id = reserve_id(&mut *conn).await?;
        hold(&mut *conn, row, id).await?;
        ids.push(id);
    }
    plan.set_review_ids(ids);
    Ok(())
}

/// The next contribution id, taken from the contributions' sequence without
/// storing a contribution.
pub async fn reserve_id(conn: &mut Conn) -> Result<ContributionId> {
    let (last, before) = native::contributions::RESERVE_ID
        .split_last()
        .expect("a statement that returns the id");
    for sql in before {
        sqlx::query(*sql).execute(&mut *conn).await?;
    }
    let id: i64 = sqlx::query_scalar(*last).fetch_one(&mut *conn).await?;
    Ok(ContributionId(id))
}

/// Stores one contribution waiting for review under `id`, and asks organisers
/// to decide on it.
pub async fn hold(conn: &mut Conn, row: &NewRow<'_>, id: ContributionId) -> Result<()> {
    sqlx::query(
        "INSERT INTO pending_contributions (id, community_id, member_id, description, amount, unit,
            goal_id, value_name, platform, happened_on, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id)
    .bind(row.community)
    .bind(row.member)
    .bind(row.description)
    .bind(row.amount)
    .bind(row.unit)
    .bind(row.goal)
    .bind(row.value)
    .bind(row.platform.as_str())
    .bind(day(row.day))
    .bind(ts(row.at))
    .execute(&mut *conn)
    .await?;
    super::review::request_review(conn, row.community, id, row.at).await
}

/// Writes one contribution under a known `id` (an approved one, or one edited)
/// in the open transaction, by the same writes and settling as a batch: every
/// figure follows it and the milestones it crosses for the first time are
/// recorded and announced. `approved`: an organiser approved it, so the review
/// rule is met; otherwise a contribution above its goal's `review_above` is
/// stored aside under `id` to wait for review. The caller brings what counts by
/// id (window totals) and by day order (newcomer steps) up to date.
pub async fn write_with_id(
    conn: &mut Conn,
    custom: &CustomHint,
    request: &ContributionRequest,
    id: ContributionId,
    approved: bool,
) -> Result<Result<Recorded, UserError>> {
    let requests = [request];
    let lookups = read_lookups(&mut *conn, &requests).await?;
    let mut plan = if approved {
        Plan::approved(&requests, &lookups)
    } else {
        Plan::new(&requests, &lookups)
    };
    if let Some(refused) = plan.all_refused() {
        return Ok(refused.into_iter().next().unwrap_or_else(|| {
            Err(UserError::invalid(
                "Nothing to write.",
                "Log a contribution.",
            ))
        }));
    }
    if plan.accepted() == 0 {
        let waiting: Vec<NewRow<'_>> = plan.for_review().collect();
        for row in &waiting {
            hold(&mut *conn, row, id).await?;
        }
        plan.set_review_ids(vec![id]);
    }
    let ids: Vec<ContributionId> = if plan.accepted() == 0 {
        Vec::new()
    } else {
        vec![id]
    };
    let mut script = Script::default();
    let writes = push_writes(&mut script, &plan, Some(&ids))?;
    let done = script.run(&mut *conn, |_| {}).await?;
    let inserted = done.get(writes.inserted).result.rows_affected();
    if inserted != ids.len() as u64 {
        return Err(crate::error::Error::internal(
            "storing a contribution by id",
            format!("{inserted} rows inserted for {}", ids.len()),
        ));
    }
    let mut answers = settle(conn, custom, &requests, plan, &ids, &done, &writes).await?;
    Ok(answers.pop().unwrap_or_else(|| {
        Err(UserError::invalid(
            "Nothing to write.",
            "Log a contribution.",
        ))
    }))
}
