//! What `keel demo` generates, written in bulk: a new community's members, mission
//! and goals; its contributions in large transactions; then its kudos, with every
//! rollup, counter and milestone already passed as the live writer would have kept
//! them. The generating (seeded, so runs repeat) is the demo's own (src/demo.rs).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::SqliteConnection;

use super::milestones::{self, NewAchievement};
use super::sqlite::next_id;
use super::{Store, built, communities, day, links, ts, values_placeholders};
use crate::domain::milestones::{
    Milestone, community_counts_crossed, goal_percents_crossed, headline,
};
use crate::domain::{CommunityId, ContributionId, GoalId, MemberId, Platform};
use crate::error::Result;

/// Rows per multi-row INSERT.
const CHUNK: usize = 400;

/// A community to create with its members, mission and goals. The first member
/// wrote the mission and created the goals.
pub struct DemoCommunity<'a> {
    /// The console workspace's id and name, and the community's name.
    pub name: &'a str,
    pub members: &'a [DemoMember],
    pub mission: &'a str,
    pub values: &'a [String],
    pub mission_at: DateTime<Utc>,
    pub goals: &'a [DemoGoal<'a>],
}

/// A member, numbered in the order given; their console user id is their name.
pub struct DemoMember {
    pub name: String,
    pub joined_at: DateTime<Utc>,
}

pub struct DemoGoal<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub unit: &'a str,
    pub target: f64,
    pub deadline: NaiveDate,
    pub created_at: DateTime<Utc>,
}

/// The community created for the demo.
pub struct DemoSeeded {
    pub community: CommunityId,
    /// The first member's id; the others follow it in order.
    pub first_member: MemberId,
    /// The goals' ids, in the order given.
    pub goals: Vec<GoalId>,
}

/// A contribution made on the console, numbered by the demo.
pub struct DemoContribution<'a> {
    pub id: ContributionId,
    pub member: MemberId,
    pub description: &'a str,
    pub amount: Option<f64>,
    pub unit: Option<&'a str>,
    pub goal: Option<GoalId>,
    pub value: Option<&'a str>,
    pub happened_on: NaiveDate,
    pub created_at: DateTime<Utc>,
}

/// Kudos given on the console.
pub struct DemoKudos<'a> {
    pub from: MemberId,
    pub to: MemberId,
    pub reason: &'a str,
    pub created_at: DateTime<Utc>,
}

async fn seed(
    conn: &mut SqliteConnection,
    c: &DemoCommunity<'_>,
    now: DateTime<Utc>,
) -> Result<Option<DemoSeeded>> {
    let workspace =
        communities::ensure_workspace(&mut *conn, Platform::Console, c.name, c.name, now).await?;
    let community = workspace.community_id;
    if links::has_content(&mut *conn, community).await? {
        return Ok(None);
    }
    let first_member = next_id(&mut *conn, "members").await?;
    let numbered: Vec<(i64, &DemoMember)> = (first_member..).zip(c.members).collect();
    for chunk in numbered.chunks(CHUNK) {
        let mut q = sqlx::query(built(format!(
            "INSERT INTO members (id, community_id, display_name, joined_at) VALUES {}",
            values_placeholders(chunk.len(), 4)
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
            values_placeholders(chunk.len(), 3)
        )));
        for (id, member) in chunk {
            q = q.bind(workspace.id).bind(&member.name).bind(id);
        }
        q.execute(&mut *conn).await?;
    }
    super::sqlite::sql::mission::add_version(
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
    Ok(Some(DemoSeeded {
        community,
        first_member: MemberId(first_member),
        goals,
    }))
}

async fn insert_contributions(
    conn: &mut SqliteConnection,
    community: CommunityId,
    rows: &[DemoContribution<'_>],
) -> Result<()> {
    for chunk in rows.chunks(CHUNK) {
        let mut q = sqlx::query(built(format!(
            "INSERT INTO contributions (id, community_id, member_id, description, amount, unit, goal_id, value_name,
             platform, happened_on, created_at) VALUES {}",
            values_placeholders(chunk.len(), 11)
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

async fn finish(
    conn: &mut SqliteConnection,
    community: CommunityId,
    kudos: &[DemoKudos<'_>],
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<()> {
    for chunk in kudos.chunks(CHUNK) {
        let mut q = sqlx::query(built(format!(
            "INSERT INTO kudos (community_id, from_member_id, to_member_id, reason, platform, created_at) VALUES {}",
            values_placeholders(chunk.len(), 6)
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
         SELECT community_id, happened_on, member_id, count(*) FROM contributions WHERE community_id = ?1
         GROUP BY happened_on, member_id",
        "INSERT INTO member_daily_activity (community_id, day, member_id, kudos_given)
         SELECT community_id, substr(created_at, 1, 10), from_member_id, count(*) FROM kudos WHERE community_id = ?1
         GROUP BY 2, 3 ON CONFLICT (community_id, day, member_id) DO UPDATE SET kudos_given = kudos_given + excluded.kudos_given",
        "INSERT INTO member_daily_activity (community_id, day, member_id, kudos_received)
         SELECT community_id, substr(created_at, 1, 10), to_member_id, count(*) FROM kudos WHERE community_id = ?1
         GROUP BY 2, 3 ON CONFLICT (community_id, day, member_id) DO UPDATE SET kudos_received = kudos_received + excluded.kudos_received",
        "INSERT INTO goal_daily_progress (goal_id, day, contributions, amount)
         SELECT goal_id, happened_on, count(*), SUM(COALESCE(amount, 0)) FROM contributions
         WHERE community_id = ?1 AND goal_id IS NOT NULL GROUP BY goal_id, happened_on",
        "INSERT INTO member_unit_amounts (member_id, unit, amount)
         SELECT member_id, unit, SUM(amount) FROM contributions
         WHERE community_id = ?1 AND amount IS NOT NULL AND unit IS NOT NULL GROUP BY member_id, unit",
        "UPDATE members SET contribution_count = c.n
         FROM (SELECT member_id, count(*) AS n FROM contributions WHERE community_id = ?1 GROUP BY member_id) AS c
         WHERE members.id = c.member_id",
        // Newcomers yet to contribute per joining day (migration 0004; the other
        // population counts follow the member rows by themselves).
        "UPDATE community_daily_members SET silent = COALESCE(s.n, 0)
         FROM (SELECT substr(joined_at, 1, 10) AS day, SUM(contribution_count = 0) AS n FROM members
               WHERE community_id = ?1 GROUP BY 1) AS s
         WHERE community_daily_members.community_id = ?1 AND community_daily_members.day = s.day",
        "UPDATE communities SET contribution_count = (SELECT count(*) FROM contributions WHERE community_id = ?1) WHERE id = ?1",
        "UPDATE goals SET
            progress = COALESCE((SELECT SUM(amount) FROM goal_daily_progress WHERE goal_id = goals.id), 0),
            contribution_count = COALESCE((SELECT SUM(contributions) FROM goal_daily_progress WHERE goal_id = goals.id), 0)
         WHERE community_id = ?1",
    ] {
        sqlx::query(sql).bind(community).execute(&mut *conn).await?;
    }

    super::activity::rebuild(&mut *conn, community).await?;
    super::insights::rebuild(&mut *conn, community).await?;
    super::windows::rebuild_all(&mut *conn, community, today).await?;

    // Milestones already passed count as reached, so the next contribution does
    // not announce a history's worth of them at once.
    let total: i64 = sqlx::query_scalar("SELECT contribution_count FROM communities WHERE id = ?")
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
             SELECT community_id, ?, 'member:' || id, display_name || ?, id, ? FROM members
             WHERE community_id = ? AND contribution_count >= ? ON CONFLICT DO NOTHING",
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
        sqlx::query_as("SELECT id, title, progress, target FROM goals WHERE community_id = ?")
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
    conn: &mut SqliteConnection,
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
    milestones::record(conn, &achievement, now).await?;
    Ok(())
}

impl Store {
    /// Creates the demo's community (or finds the workspace's), its members,
    /// mission and goals, in one transaction. None, with nothing written, if that
    /// community already has data.
    pub async fn seed_demo_community(
        &self,
        community: &DemoCommunity<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<DemoSeeded>> {
        let mut tx = self.sqlite().begin_write().await?;
        match seed(&mut tx, community, now).await? {
            Some(seeded) => {
                tx.commit().await?;
                Ok(Some(seeded))
            }
            None => {
                tx.rollback().await?;
                Ok(None)
            }
        }
    }

    /// The id the next contribution would get, read under the write lock and let
    /// go: the demo numbers its contributions from it.
    pub async fn next_contribution_id(&self) -> Result<ContributionId> {
        let mut tx = self.sqlite().begin_write().await?;
        let id = next_id(&mut tx, "contributions").await?;
        tx.rollback().await?;
        Ok(ContributionId(id))
    }

    /// Writes a batch of the demo's contributions in one transaction, without
    /// their rollups (`finish_demo` builds those).
    pub async fn insert_demo_contributions(
        &self,
        community: CommunityId,
        rows: &[DemoContribution<'_>],
    ) -> Result<()> {
        self.sqlite()
            .write(async |conn| insert_contributions(conn, community, rows).await)
            .await
    }

    /// Writes the demo's kudos, then every rollup and counter, and the milestones
    /// already passed, in one transaction.
    pub async fn finish_demo(
        &self,
        community: CommunityId,
        kudos: &[DemoKudos<'_>],
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.sqlite()
            .write(async |conn| finish(conn, community, kudos, today, now).await)
            .await
    }
}
