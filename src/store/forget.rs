//! Erasing a member ("forget me", P2): their contributions, kudos, identities and
//! everything that names them, with the aggregates that counted them corrected.

use std::collections::BTreeMap;

use chrono::{NaiveDate, Timelike};
use sqlx::SqliteConnection;

use super::activity::{self, Counts};
use super::built;
use super::parse_ts;
use crate::domain::{CommunityId, MemberId};
use crate::error::Result;

/// What was erased, for the reply.
#[derive(Debug, Clone, Default)]
pub struct Forgotten {
    pub contributions: i64,
    pub kudos: i64,
    pub identities: i64,
}

/// How a goal counts a contribution; the same rule the writer applies.
const GOAL_AMOUNT: &str =
    "CASE WHEN g.unit IS NULL THEN COALESCE(c.amount, 1) ELSE COALESCE(c.amount, 0) END";

pub async fn forget_member(
    conn: &mut SqliteConnection,
    community: CommunityId,
    member: MemberId,
    today: NaiveDate,
) -> Result<Forgotten> {
    let mut forgotten = Forgotten::default();

    // Activity by hour loses the moments their contributions and kudos were recorded.
    let moments: Vec<String> = sqlx::query_scalar(
        "SELECT created_at FROM contributions WHERE community_id = ?1 AND member_id = ?2
         UNION ALL
         SELECT created_at FROM kudos WHERE community_id = ?1 AND (from_member_id = ?2 OR to_member_id = ?2)",
    )
    .bind(community)
    .bind(member)
    .fetch_all(&mut *conn)
    .await?;
    let mut hours: BTreeMap<(NaiveDate, u32), i64> = BTreeMap::new();
    for at in moments {
        let at = parse_ts(&at)?;
        *hours.entry((at.date_naive(), at.hour())).or_default() -= 1;
    }
    super::insights::add_hours(conn, community, &hours).await?;

    // Kudos: the other side's daily counts lose what this member gave or received.
    let kudos: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT from_member_id, to_member_id, created_at FROM kudos
         WHERE community_id = ?1 AND (from_member_id = ?2 OR to_member_id = ?2)",
    )
    .bind(community)
    .bind(member)
    .fetch_all(&mut *conn)
    .await?;
    forgotten.kudos = kudos.len() as i64;
    for (from, to, at) in kudos {
        let on = parse_ts(&at)?.date_naive();
        // Only the other side: the member's own rows go with their share below.
        let (other, delta) = if from == member.0 {
            let delta = Counts {
                kudos_received: -1,
                ..Counts::default()
            };
            (MemberId(to), delta)
        } else {
            let delta = Counts {
                kudos_given: -1,
                ..Counts::default()
            };
            (MemberId(from), delta)
        };
        activity::adjust(conn, community, other, on, delta).await?;
    }
    sqlx::query(
        "DELETE FROM kudos WHERE community_id = ?1 AND (from_member_id = ?2 OR to_member_id = ?2)",
    )
    .bind(community)
    .bind(member)
    .execute(&mut *conn)
    .await?;

    // The member's share of the community's daily figures goes with them.
    activity::withdraw_member(conn, community, member).await?;

    // Contributions: goals, alignment and the community count lose them too.
    let aligned: Vec<(String, i64)> = sqlx::query_as(
        "SELECT happened_on, count(*) FROM contributions WHERE community_id = ? AND member_id = ?
           AND (goal_id IS NOT NULL OR value_name IS NOT NULL) GROUP BY happened_on",
    )
    .bind(community)
    .bind(member)
    .fetch_all(&mut *conn)
    .await?;
    for (on, n) in aligned {
        activity::add_aligned(conn, community, super::parse_day(&on)?, -n).await?;
    }
    let goals: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT goal_id FROM contributions WHERE community_id = ? AND member_id = ? AND goal_id IS NOT NULL",
    )
    .bind(community)
    .bind(member)
    .fetch_all(&mut *conn)
    .await?;
    forgotten.contributions =
        sqlx::query("DELETE FROM contributions WHERE community_id = ? AND member_id = ?")
            .bind(community)
            .bind(member)
            .execute(&mut *conn)
            .await?
            .rows_affected() as i64;
    sqlx::query(
        "UPDATE communities SET contribution_count = max(0, contribution_count - ?) WHERE id = ?",
    )
    .bind(forgotten.contributions)
    .bind(community)
    .execute(&mut *conn)
    .await?;
    for goal in goals {
        recount_goal(conn, goal).await?;
    }

    // Announcements: their own milestones go; the community's and goals' stay,
    // without the lines that name them (what they wrote, who they are).
    let display_name: Option<String> =
        sqlx::query_scalar("SELECT display_name FROM members WHERE id = ?")
            .bind(member)
            .fetch_optional(&mut *conn)
            .await?;
    sqlx::query(
        "DELETE FROM announcements WHERE about_member_id = ?1 AND (achievement_id IS NULL OR achievement_id IN
            (SELECT id FROM milestone_achievements WHERE member_id = ?1))",
    )
    .bind(member)
    .execute(&mut *conn)
    .await?;
    let kept: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, body FROM announcements WHERE about_member_id = ?")
            .bind(member)
            .fetch_all(&mut *conn)
            .await?;
    for (id, body) in kept {
        let mut reply: crate::domain::Reply = serde_json::from_str(&body)?;
        if let Some(name) = &display_name {
            reply
                .lines
                .retain(|line| !line.plain().contains(name.as_str()));
        }
        sqlx::query("UPDATE announcements SET body = ?, about_member_id = NULL WHERE id = ?")
            .bind(serde_json::to_string(&reply)?)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }

    forgotten.identities = sqlx::query("DELETE FROM identities WHERE member_id = ?")
        .bind(member)
        .execute(&mut *conn)
        .await?
        .rows_affected() as i64;
    // The rest follows the member row: daily activity, member milestones,
    // announcements naming them and link codes cascade; authorship is cleared.
    sqlx::query("DELETE FROM members WHERE community_id = ? AND id = ?")
        .bind(community)
        .bind(member)
        .execute(&mut *conn)
        .await?;
    // Others' window totals counted kudos from or to them.
    super::windows::rebuild_all(conn, community, today).await?;
    Ok(forgotten)
}

/// Recomputes a goal's progress and daily rollup from its remaining contributions.
async fn recount_goal(conn: &mut SqliteConnection, goal: i64) -> Result<()> {
    sqlx::query("DELETE FROM goal_daily_progress WHERE goal_id = ?")
        .bind(goal)
        .execute(&mut *conn)
        .await?;
    sqlx::query(built(format!(
        "INSERT INTO goal_daily_progress (goal_id, day, contributions, amount)
         SELECT c.goal_id, c.happened_on, count(*), SUM({GOAL_AMOUNT})
         FROM contributions c JOIN goals g ON g.id = c.goal_id WHERE c.goal_id = ? GROUP BY c.happened_on"
    )))
    .bind(goal)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE goals SET
            progress = round(COALESCE((SELECT SUM(amount) FROM goal_daily_progress WHERE goal_id = ?1), 0), 6),
            contribution_count = COALESCE((SELECT SUM(contributions) FROM goal_daily_progress WHERE goal_id = ?1), 0)
         WHERE id = ?1",
    )
    .bind(goal)
    .execute(&mut *conn)
    .await?;
    // A goal no longer at its target is no longer met (it is met again, and
    // re-dated, if contributions bring it back).
    sqlx::query(
        "UPDATE goals SET met_at = NULL WHERE id = ?1 AND progress < target - 1e-9 * max(1, target)",
    )
    .bind(goal)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
