//! Corrections' queries (see `store::corrections`): taking one contribution out
//! of every figure it counted in, the milestones it alone reached, and the audit
//! trail (`record_changes`, migration 0016).
//!
//! Everything here reads by a key (the contribution's id, the member's days, the
//! goal's days): nothing scans a community's contributions under the write lock.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Timelike, Utc};

use super::super::engine::built;
use super::{Conn, Executor, IDS_PER_STATEMENT, activity, insights, numbered_list, windows};
use crate::domain::contribution::correction::{Corrector, may_correct};
use crate::domain::contribution::snapshot::Snapshot;
use crate::domain::contribution::{ContributionRequest, Recorded};
use crate::domain::milestones::Milestone;
use crate::domain::text::reached;
use crate::domain::{CommunityId, ContributionId, MemberId, UserError, WorkspaceId, announce};
use crate::error::Result;
use crate::store::activity::Counts;
use crate::store::corrections::{Change, Removed, Retracted};
use crate::store::milestones::CustomHint;
use crate::store::{day, parse_day, parse_ts, ts};

/// A contribution as its correction needs it.
type Row = (
    i64,            // member
    String,         // description
    Option<f64>,    // amount
    Option<String>, // unit
    Option<i64>,    // goal
    Option<String>, // goal's slug
    Option<String>, // value
    String,         // platform
    String,         // day
    String,         // created at
    f64,            // what its goal counted
);

/// A stored contribution, read by id for a correction.
pub struct Found {
    pub member: MemberId,
    pub goal: Option<i64>,
    /// What its goal counted.
    pub counted: f64,
    pub snapshot: Snapshot,
}

/// Contribution `id` of `community`, if there is one.
pub async fn find(
    conn: &mut Conn,
    community: CommunityId,
    id: ContributionId,
) -> Result<Option<Found>> {
    let found: Option<Row> = sqlx::query_as(
        "SELECT c.member_id, c.description, c.amount, c.unit, c.goal_id, g.slug, c.value_name,
                c.platform, c.happened_on, c.created_at,
                CAST(CASE WHEN g.unit IS NULL THEN COALESCE(c.amount, 1) ELSE COALESCE(c.amount, 0) END
                     AS DOUBLE PRECISION)
         FROM contributions c LEFT JOIN goals g ON g.id = c.goal_id
         WHERE c.id = $1 AND c.community_id = $2",
    )
    .bind(id)
    .bind(community)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((member, description, amount, unit, goal, slug, value, platform, on, at, counted)) =
        found
    else {
        return Ok(None);
    };
    Ok(Some(Found {
        member: MemberId(member),
        goal,
        counted,
        snapshot: Snapshot {
            description,
            amount,
            unit,
            goal: slug,
            value,
            platform,
            day: parse_day(&on)?,
            logged_at: parse_ts(&at)?,
        },
    }))
}

/// The milestones a contribution was credited with: (achievement, key, subject,
/// title). Read before it is taken out, which clears their contribution_id.
pub async fn achievements_of(
    conn: &mut Conn,
    id: ContributionId,
) -> Result<Vec<(i64, String, String, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, milestone_key, subject, title FROM milestone_achievements WHERE contribution_id = $1",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Removes contribution `id` of `community`, if `by` may, and takes it out of
/// every figure it counted in; milestones it alone reached are retracted. The
/// change is kept in the audit trail with `reason`.
pub async fn remove_contribution(
    conn: &mut Conn,
    community: CommunityId,
    id: ContributionId,
    by: Corrector,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<std::result::Result<Removed, UserError>> {
    let Some(found) = find(conn, community, id).await? else {
        return Ok(Err(not_found(id)));
    };
    let member = found.member;
    if let Err(refused) = may_correct(by, id, member, found.snapshot.logged_at, now) {
        return Ok(Err(refused));
    }
    // Its milestones, before the delete clears their contribution_id.
    let achievements = achievements_of(conn, id).await?;
    take_out(conn, community, id, &found).await?;
    let retracted = retract_unreached(
        conn,
        community,
        id,
        &achievements,
        member,
        by.member,
        reason,
        now,
    )
    .await?;
    let before = found.snapshot;
    record(
        conn,
        &Change {
            community,
            subject: "contribution",
            subject_id: id.0,
            action: "remove",
            member: Some(member),
            other: None,
            actor: Some(by.member),
            before: Some(serde_json::to_value(&before)?),
            after: None,
            reason: Some(reason),
        },
        now,
    )
    .await?;
    Ok(Ok(Removed {
        id,
        member,
        before,
        retracted,
    }))
}

/// Deletes contribution `id` (as `found` read it) and takes it out of every
/// figure it counted in: goal progress, counters, daily activity and the rollups,
/// cohorts and window totals it feeds, hours, alignment, amounts by unit and
/// newcomer steps. Its achievements are left for the caller to check.
pub async fn take_out(
    conn: &mut Conn,
    community: CommunityId,
    id: ContributionId,
    found: &Found,
) -> Result<()> {
    let member = found.member;
    let c = &found.snapshot;
    let (on, at) = (c.day, c.logged_at);
    sqlx::query("DELETE FROM contributions WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;

    let aligned = found.goal.is_some() || c.value.is_some();
    insights::add_hours(
        conn,
        community,
        &BTreeMap::from([((at.date_naive(), at.hour()), -1)]),
    )
    .await?;
    if aligned {
        activity::add_aligned(conn, &BTreeMap::from([((community, on), -1)])).await?;
    }
    if let Some(goal) = found.goal {
        super::forget::take_out_of_goals(
            conn,
            &BTreeMap::from([((goal, day(on)), (1, found.counted))]),
        )
        .await?;
    }
    sqlx::query(
        "UPDATE communities SET contribution_count =
            CASE WHEN contribution_count > 0 THEN contribution_count - 1 ELSE 0 END
         WHERE id = $1",
    )
    .bind(community)
    .execute(&mut *conn)
    .await?;
    // Setting joined_at to itself lets the trigger of migration 0004 move the
    // member back among the newcomers yet to contribute when this was their last.
    sqlx::query(
        "UPDATE members SET joined_at = joined_at,
            contribution_count = CASE WHEN contribution_count > 0 THEN contribution_count - 1 ELSE 0 END
         WHERE id = $1",
    )
    .bind(member)
    .execute(&mut *conn)
    .await?;
    if let (Some(amount), Some(unit)) = (c.amount, c.unit.as_deref()) {
        sqlx::query(
            "UPDATE member_unit_amounts SET amount = amount - $1 WHERE member_id = $2 AND unit = $3",
        )
        .bind(amount)
        .bind(member)
        .bind(unit)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "DELETE FROM member_unit_amounts WHERE member_id = $1 AND unit = $2
               AND amount < 1e-9 AND amount > -1e-9",
        )
        .bind(member)
        .bind(unit)
        .execute(&mut *conn)
        .await?;
    }
    let one_less = Counts {
        contributions: -1,
        ..Counts::default()
    };
    activity::adjust(conn, community, member, on, one_less).await?;
    count_in_windows(conn, community, id, member, on, -1).await?;
    recount_ordinals(conn, member).await?;
    // Their health signals (contributions per day among them) are computed again.
    insights::mark_dirty(conn, community, &[member]).await?;
    Ok(())
}

/// Writes `request` as contribution `id` (approved, or edited: `approved` says
/// whether the review rule is met) by the contribution writer's own writes, and
/// brings up to date what those leave to the caller: window totals (counted by
/// id, and `id` may be older than what they counted), newcomer steps (by day,
/// and its day may be older than the member's others) and health signals.
/// Milestones it crosses for the first time are achieved and announced now, not
/// at its logging time. Stored aside, waiting for review, it changes nothing.
pub async fn put_in(
    conn: &mut Conn,
    custom: &CustomHint,
    request: &ContributionRequest,
    id: ContributionId,
    approved: bool,
    now: DateTime<Utc>,
) -> Result<std::result::Result<Recorded, UserError>> {
    let recorded = match super::contribution_batch::write_with_id(
        conn, custom, request, id, approved,
    )
    .await?
    {
        Ok(recorded) => recorded,
        Err(refused) => return Ok(Err(refused)),
    };
    if recorded.review.is_some() {
        return Ok(Ok(recorded));
    }
    let (community, member) = (request.community, request.member);
    count_in_windows(conn, community, id, member, request.day, 1).await?;
    recount_ordinals(conn, member).await?;
    insights::mark_dirty(conn, community, &[member]).await?;
    // The writer dated its achievements, announcements and goals met when it was
    // logged.
    let logged = ts(request.now);
    let now = ts(now);
    sqlx::query(
        "UPDATE announcement_deliveries SET next_attempt_at = CASE WHEN next_attempt_at < $1
            THEN $1 ELSE next_attempt_at END
         WHERE status = 'pending' AND announcement_id IN (SELECT n.id FROM announcements n
            JOIN milestone_achievements a ON a.id = n.achievement_id
            WHERE a.contribution_id = $2 AND a.achieved_at = $3)",
    )
    .bind(&now)
    .bind(id)
    .bind(&logged)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE announcements SET created_at = $1 WHERE achievement_id IN
            (SELECT id FROM milestone_achievements WHERE contribution_id = $2 AND achieved_at = $3)",
    )
    .bind(&now)
    .bind(id)
    .bind(&logged)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE milestone_achievements SET achieved_at = $1 WHERE contribution_id = $2 AND achieved_at = $3",
    )
    .bind(&now)
    .bind(id)
    .bind(&logged)
    .execute(&mut *conn)
    .await?;
    // A goal it met was met now, not when it was logged.
    sqlx::query(
        "UPDATE goals SET met_at = $1
         WHERE id = (SELECT goal_id FROM contributions WHERE id = $2) AND met_at = $3",
    )
    .bind(&now)
    .bind(id)
    .bind(&logged)
    .execute(&mut *conn)
    .await?;
    Ok(Ok(recorded))
}

/// Counts a contribution in (`sign` 1) or out (-1) of the window totals: at once
/// if they counted its id already; otherwise a catch-up counting on an older
/// snapshot must count again.
async fn count_in_windows(
    conn: &mut Conn,
    community: CommunityId,
    id: ContributionId,
    member: MemberId,
    on: chrono::NaiveDate,
    sign: i64,
) -> Result<()> {
    match windows::counted_up_to(conn, community).await? {
        Some((counted, _)) if id.0 <= counted => {
            windows::take_out(conn, community, &[(member, on, sign, 0)]).await
        }
        _ => windows::note_rebuild(conn, community).await,
    }
}

/// Retracts those of `achievements` (a contribution's, read before it was taken
/// out or changed) whose figure no longer reaches them, keeping each in the
/// audit trail; the others are credited to contribution `id` again, if it is
/// still stored. Returns those retracted.
#[allow(clippy::too_many_arguments)]
pub async fn retract_unreached(
    conn: &mut Conn,
    community: CommunityId,
    id: ContributionId,
    achievements: &[(i64, String, String, String)],
    member: MemberId,
    actor: MemberId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Retracted>> {
    let mut retracted = Vec::new();
    for (achievement, key, subject, title) in achievements {
        if still_reached(conn, community, key, subject).await? {
            sqlx::query(
                "UPDATE milestone_achievements SET contribution_id = $1 WHERE id = $2
                   AND EXISTS (SELECT 1 FROM contributions WHERE id = $1)",
            )
            .bind(id)
            .bind(achievement)
            .execute(&mut *conn)
            .await?;
            continue;
        }
        retract(conn, *achievement, now).await?;
        record(
            conn,
            &Change {
                community,
                subject: "achievement",
                subject_id: *achievement,
                action: "retract",
                member: Some(member),
                other: None,
                actor: Some(actor),
                before: Some(serde_json::json!({
                    "milestone": key, "subject": subject, "title": title, "contribution": id.0,
                })),
                after: None,
                reason: Some(reason),
            },
            now,
        )
        .await?;
        retracted.push(Retracted {
            title: title.clone(),
        });
    }
    Ok(retracted)
}

pub fn not_found(id: ContributionId) -> UserError {
    UserError::not_found(
        format!("contribution #{id}"),
        "`contributions` lists yours with their ids; `contributions @member` a member's.",
    )
}

/// Sets the days of the member's 1st, 2nd and 4th contributions from their
/// active days (PRODUCT.md "Newcomer conversion"), as a rebuild would: bounded
/// by their first four days, read by the member's index.
pub async fn recount_ordinals(conn: &mut Conn, member: MemberId) -> Result<()> {
    let days: Vec<(String, i64)> = sqlx::query_as(
        "SELECT day, contributions FROM member_daily_activity
         WHERE member_id = $1 AND contributions > 0 ORDER BY day LIMIT 4",
    )
    .bind(member)
    .fetch_all(&mut *conn)
    .await?;
    let mut nth: [Option<String>; 3] = [None, None, None];
    let mut so_far = 0;
    for (on, contributions) in days {
        let before = so_far;
        so_far += contributions;
        for (slot, n) in nth.iter_mut().zip([1, 2, 4]) {
            if before < n && so_far >= n {
                *slot = Some(on.clone());
            }
        }
        if so_far >= 4 {
            break;
        }
    }
    let [first, second, fourth] = nth;
    sqlx::query(
        "UPDATE members SET first_contribution_on = $1, second_contribution_on = $2,
            fourth_contribution_on = $3
         WHERE id = $4 AND (first_contribution_on IS DISTINCT FROM $1
            OR second_contribution_on IS DISTINCT FROM $2 OR fourth_contribution_on IS DISTINCT FROM $3)",
    )
    .bind(first)
    .bind(second)
    .bind(fourth)
    .bind(member)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether the figure a milestone is about is still at or past it.
async fn still_reached(
    conn: &mut Conn,
    community: CommunityId,
    key: &str,
    subject: &str,
) -> Result<bool> {
    let subject_id = || -> Option<i64> { subject.split_once(':')?.1.parse().ok() };
    let community_count = async |conn: &mut Conn| -> Result<f64> {
        let n: i64 = sqlx::query_scalar("SELECT contribution_count FROM communities WHERE id = $1")
            .bind(community)
            .fetch_one(&mut *conn)
            .await?;
        Ok(n as f64)
    };
    let goal_progress = async |conn: &mut Conn, goal: i64| -> Result<Option<(f64, f64)>> {
        Ok(
            sqlx::query_as("SELECT progress, target FROM goals WHERE id = $1")
                .bind(goal)
                .fetch_optional(&mut *conn)
                .await?,
        )
    };
    let below = |figure: f64, threshold: f64| !reached(figure, threshold);
    match Milestone::built_in(key) {
        Some(Milestone::CommunityCount(n)) => Ok(!below(community_count(conn).await?, n as f64)),
        Some(Milestone::MemberCount(n)) => {
            let Some(member) = subject_id() else {
                return Ok(true);
            };
            let count: Option<i64> =
                sqlx::query_scalar("SELECT contribution_count FROM members WHERE id = $1")
                    .bind(member)
                    .fetch_optional(&mut *conn)
                    .await?;
            Ok(count.is_none_or(|c| !below(c as f64, n as f64)))
        }
        Some(Milestone::GoalPercent(p)) => {
            let Some(goal) = subject_id() else {
                return Ok(true);
            };
            Ok(match goal_progress(conn, goal).await? {
                Some((progress, target)) => !below(progress, target * f64::from(p) / 100.0),
                None => true,
            })
        }
        _ => {
            let Some(custom) = key
                .strip_prefix("custom.")
                .and_then(|n| n.parse::<i64>().ok())
            else {
                return Ok(true);
            };
            let milestone: Option<(Option<i64>, f64)> =
                sqlx::query_as("SELECT goal_id, threshold FROM milestones WHERE id = $1")
                    .bind(custom)
                    .fetch_optional(&mut *conn)
                    .await?;
            Ok(match milestone {
                Some((Some(goal), threshold)) => match goal_progress(conn, goal).await? {
                    Some((progress, _)) => !below(progress, threshold),
                    None => true,
                },
                Some((None, threshold)) => !below(community_count(conn).await?, threshold),
                None => true,
            })
        }
    }
}

/// Deletes an achievement so its milestone can be reached, and announced, again;
/// its announcement says it was retracted: not posted yet, it is dropped, and a
/// message it was posted as is edited (as erasure redacts, `sql::redaction`).
async fn retract(conn: &mut Conn, achievement: i64, now: DateTime<Utc>) -> Result<()> {
    let announcement: Option<i64> =
        sqlx::query_scalar("SELECT id FROM announcements WHERE achievement_id = $1")
            .bind(achievement)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(announcement) = announcement {
        sqlx::query(
            "UPDATE announcements SET achievement_id = NULL, body = $1, revision = revision + 1
             WHERE id = $2",
        )
        .bind(serde_json::to_string(&announce::retracted())?)
        .bind(announcement)
        .execute(&mut *conn)
        .await?;
        super::redaction::replace_posts(conn, announcement, now).await?;
    }
    sqlx::query("DELETE FROM milestone_achievements WHERE id = $1")
        .bind(achievement)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Adds a change to the audit trail.
pub async fn record(conn: &mut Conn, change: &Change<'_>, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "INSERT INTO record_changes (community_id, subject, subject_id, action, member_id,
            other_member_id, actor_id, before, after, reason, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(change.community)
    .bind(change.subject)
    .bind(change.subject_id)
    .bind(change.action)
    .bind(change.member)
    .bind(change.other)
    .bind(change.actor)
    .bind(change.before.as_ref().map(|v| v.to_string()))
    .bind(change.after.as_ref().map(|v| v.to_string()))
    .bind(change.reason)
    .bind(ts(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// A row of the audit trail as `audit` lists it.
pub type AuditRow = (
    i64,            // id
    String,         // subject
    i64,            // subject id
    String,         // action
    Option<String>, // whose record (name)
    Option<String>, // the other member it concerns (name)
    Option<String>, // who changed it (name); NULL: a former member
    Option<String>, // before
    Option<String>, // after
    Option<String>, // reason
    String,         // when
);

/// The community's changes since `since`, newest first, of one member's record
/// if given: by the (community, created_at) index, or the member's.
pub async fn audit(
    db: impl Executor<'_>,
    community: CommunityId,
    member: Option<MemberId>,
    since: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<AuditRow>> {
    Ok(sqlx::query_as(
        "SELECT r.id, r.subject, r.subject_id, r.action, m.display_name, o.display_name,
                a.display_name, r.before, r.after, r.reason, r.created_at
         FROM record_changes r
         LEFT JOIN members m ON m.id = r.member_id
         LEFT JOIN members o ON o.id = r.other_member_id
         LEFT JOIN members a ON a.id = r.actor_id
         WHERE r.community_id = $1 AND r.created_at >= $2
           AND ($3 IS NULL OR r.member_id = $3 OR r.other_member_id = $3)
         ORDER BY r.created_at DESC, r.id DESC LIMIT $4",
    )
    .bind(community)
    .bind(ts(since))
    .bind(member)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// A member being erased: their own entries go (their old texts, the reasons
/// written about them); where they acted on others' records, they become "a
/// former member" and the reasons they wrote go.
pub async fn forget_member(conn: &mut Conn, member: MemberId) -> Result<()> {
    for sql in [
        "DELETE FROM record_changes WHERE member_id = $1",
        "DELETE FROM record_changes WHERE other_member_id = $1",
    ] {
        sqlx::query(sql).bind(member).execute(&mut *conn).await?;
    }
    sqlx::query("UPDATE record_changes SET actor_id = NULL, reason = NULL WHERE actor_id = $1")
        .bind(member)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Two members were merged into `into`: their entries are its.
pub async fn merge_members(conn: &mut Conn, from: MemberId, into: MemberId) -> Result<()> {
    for sql in [
        "UPDATE record_changes SET member_id = $2 WHERE member_id = $1",
        "UPDATE record_changes SET other_member_id = $2 WHERE other_member_id = $1",
        "UPDATE record_changes SET actor_id = $2 WHERE actor_id = $1",
    ] {
        sqlx::query(sql)
            .bind(from)
            .bind(into)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Where to tell a member privately: one of their identities (workspace, user id).
pub async fn reach(conn: &mut Conn, member: MemberId) -> Result<Option<(i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT workspace_id, external_user_id FROM identities WHERE member_id = $1 ORDER BY id LIMIT 1",
    )
    .bind(member)
    .fetch_optional(conn)
    .await?)
}

/// [`reach`] for each of `members`, in a statement per few hundred; a member
/// Keel cannot reach is left out.
pub async fn reach_each(
    conn: &mut Conn,
    members: &[MemberId],
) -> Result<HashMap<MemberId, (WorkspaceId, String)>> {
    let mut reached = HashMap::new();
    for chunk in members.chunks(IDS_PER_STATEMENT) {
        let mut q = sqlx::query_as::<_, (i64, i64, String)>(built(format!(
            "SELECT member_id, workspace_id, external_user_id FROM identities
              WHERE member_id IN {} ORDER BY id DESC",
            numbered_list(1, chunk.len())
        )));
        for member in chunk {
            q = q.bind(member);
        }
        // Newest first, so each member's oldest identity, [`reach`]'s, is kept.
        for (member, workspace, user) in q.fetch_all(&mut *conn).await? {
            reached.insert(MemberId(member), (WorkspaceId(workspace), user));
        }
    }
    Ok(reached)
}
