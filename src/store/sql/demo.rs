//! The demo generator's queries: a community's members, mission and goals, its
//! contributions in large transactions, then its kudos with every rollup, counter
//! and milestone already passed. Numbering the rows is each engine's own
//! (`native::demo`).

use chrono::{DateTime, NaiveDate, Utc};

use super::super::engine::built;
use super::Conn;
use crate::domain::milestones::{
    Milestone, community_counts_crossed, goal_percents_crossed, headline,
};
use crate::domain::{CommunityId, GoalId, MemberId, Platform};
use crate::error::Result;
use crate::store::communities::Workspace;
use crate::store::demo::{DemoCommunity, DemoContribution, DemoKudos, DemoMember, DemoSeeded};
use crate::store::milestones::NewAchievement;
use crate::store::{day, numbered_values, ts};

/// Rows per multi-row INSERT.
const CHUNK: usize = 400;

/// The console workspace `name` (created with its community if need be), unless
/// its community already has data.
pub async fn empty_workspace(
    conn: &mut Conn,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Option<Workspace>> {
    let workspace =
        super::communities::ensure_workspace(&mut *conn, Platform::Console, name, name, now)
            .await?;
    if super::links::has_content(&mut *conn, workspace.community_id).await? {
        return Ok(None);
    }
    Ok(Some(workspace))
}

/// Writes the community's members, numbered from `first_member`, with their
/// console identities, its mission and its goals.
pub async fn seed(
    conn: &mut Conn,
    workspace: &Workspace,
    first_member: MemberId,
    c: &DemoCommunity<'_>,
) -> Result<DemoSeeded> {
    let community = workspace.community_id;
    let first_member = first_member.0;
    let numbered: Vec<(i64, &DemoMember)> = (first_member..).zip(c.members).collect();
    for chunk in numbered.chunks(CHUNK) {
        let mut q = sqlx::query(built(format!(
            "INSERT INTO members (id, community_id, display_name, joined_at) VALUES {}",
            numbered_values(1, chunk.len(), 4)
        )));
        for (id, member) in chunk {
            q = q
                .bind(id)
                .bind(community)
                .bind(&member.name)
                .bind(ts(member.joined_at));
        }
        q.execute(&mut *conn).await?;
        let mut q = sqlx::query(built(format!(
            "INSERT INTO identities (workspace_id, external_user_id, member_id) VALUES {}",
            numbered_values(1, chunk.len(), 3)
        )));
        for (id, member) in chunk {
            q = q.bind(workspace.id).bind(&member.name).bind(id);
        }
        q.execute(&mut *conn).await?;
    }
    super::mission::add_version(
        &mut *conn,
        community,
        c.mission,
        c.values,
        MemberId(first_member),
        Some("demo data"),
        c.mission_at,
    )
    .await?;
    let mut goals = Vec::new();
    for goal in c.goals {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO goals (community_id, slug, title, target, unit, deadline, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(community)
        .bind(goal.slug)
        .bind(goal.title)
        .bind(goal.target)
        .bind(goal.unit)
        .bind(day(goal.deadline))
        .bind(first_member)
        .bind(ts(goal.created_at))
        .fetch_one(&mut *conn)
        .await?;
        goals.push(GoalId(id));
    }
    Ok(DemoSeeded {
        community,
        first_member: MemberId(first_member),
        goals,
    })
}

/// Writes a batch of the demo's contributions, without their rollups.
pub async fn insert_contributions(
    conn: &mut Conn,
    community: CommunityId,
    rows: &[DemoContribution<'_>],
) -> Result<()> {
    for chunk in rows.chunks(CHUNK) {
        let mut q = sqlx::query(built(format!(
            "INSERT INTO contributions (id, community_id, member_id, description, amount, unit, goal_id, value_name,
             platform, happened_on, created_at) VALUES {}",
            numbered_values(1, chunk.len(), 11)
        )));
        for c in chunk {
            q = q
                .bind(c.id)
                .bind(community)
                .bind(c.member)
                .bind(c.description)
                .bind(c.amount)
                .bind(c.unit)
                .bind(c.goal)
                .bind(c.value)
                .bind(Platform::Console.as_str())
                .bind(day(c.happened_on))
                .bind(ts(c.created_at));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Writes the demo's kudos, then every rollup and counter, and the milestones
/// already passed.
pub async fn finish(
    conn: &mut Conn,
    community: CommunityId,
    kudos: &[DemoKudos<'_>],
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<()> {
    for chunk in kudos.chunks(CHUNK) {
        let mut q = sqlx::query(built(format!(
            "INSERT INTO kudos (community_id, from_member_id, to_member_id, reason, platform, created_at) VALUES {}",
            numbered_values(1, chunk.len(), 6)
        )));
        for k in chunk {
            q = q
                .bind(community)
                .bind(k.from)
                .bind(k.to)
                .bind(k.reason)
                .bind(Platform::Console.as_str())
                .bind(ts(k.created_at));
        }
        q.execute(&mut *conn).await?;
    }

    // Rollups and counters, exactly as the live writer would have kept them.
    for sql in [
        "INSERT INTO member_daily_activity (community_id, day, member_id, contributions)
         SELECT community_id, happened_on, member_id, count(*) FROM contributions WHERE community_id = $1
         GROUP BY community_id, happened_on, member_id",
        "INSERT INTO member_daily_activity (community_id, day, member_id, kudos_given)
         SELECT community_id, substr(created_at, 1, 10), from_member_id, count(*) FROM kudos WHERE community_id = $1
         GROUP BY 1, 2, 3 ON CONFLICT (community_id, day, member_id) DO UPDATE
            SET kudos_given = member_daily_activity.kudos_given + excluded.kudos_given",
        "INSERT INTO member_daily_activity (community_id, day, member_id, kudos_received)
         SELECT community_id, substr(created_at, 1, 10), to_member_id, count(*) FROM kudos WHERE community_id = $1
         GROUP BY 1, 2, 3 ON CONFLICT (community_id, day, member_id) DO UPDATE
            SET kudos_received = member_daily_activity.kudos_received + excluded.kudos_received",
        "INSERT INTO goal_daily_progress (goal_id, day, contributions, amount)
         SELECT goal_id, happened_on, count(*), SUM(COALESCE(amount, 0)) FROM contributions
         WHERE community_id = $1 AND goal_id IS NOT NULL GROUP BY goal_id, happened_on",
        "INSERT INTO member_unit_amounts (member_id, unit, amount)
         SELECT member_id, unit, SUM(amount) FROM contributions
         WHERE community_id = $1 AND amount IS NOT NULL AND unit IS NOT NULL GROUP BY member_id, unit",
        "UPDATE members SET contribution_count = c.n
         FROM (SELECT member_id, count(*) AS n FROM contributions WHERE community_id = $1 GROUP BY member_id) AS c
         WHERE members.id = c.member_id",
        // Newcomers yet to contribute per joining day (migration 0004; the other
        // population counts follow the member rows by themselves).
        "UPDATE community_daily_members SET silent = COALESCE(s.n, 0)
         FROM (SELECT substr(joined_at, 1, 10) AS day,
                      CAST(SUM(CASE WHEN contribution_count = 0 THEN 1 ELSE 0 END) AS BIGINT) AS n
               FROM members WHERE community_id = $1 GROUP BY 1) AS s
         WHERE community_daily_members.community_id = $1 AND community_daily_members.day = s.day",
        "UPDATE communities SET contribution_count = (SELECT count(*) FROM contributions WHERE community_id = $1) WHERE id = $1",
        "UPDATE goals SET
            progress = COALESCE((SELECT SUM(amount) FROM goal_daily_progress WHERE goal_id = goals.id), 0),
            contribution_count = CAST(COALESCE((SELECT SUM(contributions) FROM goal_daily_progress
                                                WHERE goal_id = goals.id), 0) AS BIGINT)
         WHERE community_id = $1",
    ] {
        sqlx::query(sql).bind(community).execute(&mut *conn).await?;
    }

    super::activity::rebuild(&mut *conn, community).await?;
    super::super::native::insights::rebuild(&mut *conn, community).await?;
    super::windows::rebuild_all(&mut *conn, community, today).await?;

    // Milestones already passed count as reached, so the next contribution does
    // not announce a history's worth of them at once.
    let total: i64 = sqlx::query_scalar("SELECT contribution_count FROM communities WHERE id = $1")
        .bind(community)
        .fetch_one(&mut *conn)
        .await?;
    for m in community_counts_crossed(0, total) {
        record_past(conn, community, &m, "community", &headline(&m, ""), now).await?;
    }
    for n in [1i64, 10, 50, 100] {
        let suffix = headline(&Milestone::MemberCount(n), "");
        sqlx::query(
            "INSERT INTO milestone_achievements (community_id, milestone_key, subject, title, member_id, achieved_at)
             SELECT community_id, $1, 'member:' || id, display_name || $2, id, $3 FROM members
             WHERE community_id = $4 AND contribution_count >= $5 ON CONFLICT DO NOTHING",
        )
        .bind(Milestone::MemberCount(n).key())
        .bind(suffix)
        .bind(ts(now))
        .bind(community)
        .bind(n)
        .execute(&mut *conn)
        .await?;
    }
    let goals: Vec<(i64, String, f64, f64)> =
        sqlx::query_as("SELECT id, title, progress, target FROM goals WHERE community_id = $1")
            .bind(community)
            .fetch_all(&mut *conn)
            .await?;
    for (id, title, progress, target) in goals {
        for m in goal_percents_crossed(0.0, progress, target) {
            record_past(
                conn,
                community,
                &m,
                &format!("goal:{id}"),
                &headline(&m, &title),
                now,
            )
            .await?;
        }
    }
    Ok(())
}

async fn record_past(
    conn: &mut Conn,
    community: CommunityId,
    milestone: &Milestone,
    subject: &str,
    title: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let achievement = NewAchievement {
        community,
        milestone_key: &milestone.key(),
        subject,
        title,
        member: None,
        goal: None,
        contribution: None,
    };
    super::milestones::record(conn, &achievement, now).await?;
    Ok(())
}
