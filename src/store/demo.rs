//! What `keel demo` generates, written in bulk: a new community's members, mission
//! and goals; its contributions in large transactions; then its kudos, with every
//! rollup, counter and milestone already passed as the live writer would have kept
//! them. The generating (seeded, so runs repeat) is the demo's own (src/demo.rs).

use chrono::{DateTime, NaiveDate, Utc};

use super::Store;
use crate::domain::{CommunityId, ContributionId, GoalId, MemberId};
use crate::error::Result;

/// The demo's data, written in bulk.
impl Store {
    /// Creates the demo's community (or finds the workspace's), its members,
    /// mission and goals, in one transaction. None, with nothing written, if that
    /// community already has data.
    pub async fn seed_demo_community(
        &self,
        community: &DemoCommunity<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<DemoSeeded>> {
        let seeded = on_engine!(self, e => e
            .write_or_refuse(async |conn| {
                let Some(workspace) = sql::demo::empty_workspace(conn, community.name, now).await?
                else {
                    return Ok(Err(()));
                };
                let first_member = MemberId(native::demo::next_id(conn, "members").await?);
                let seeded = sql::demo::seed(conn, &workspace, first_member, community).await?;
                native::demo::numbered(conn, "members").await?;
                Ok(Ok(seeded))
            })
            .await)?;
        Ok(seeded.ok())
    }

    /// The id the next contribution would get, read under the write lock and let
    /// go: the demo numbers its contributions from it.
    pub async fn next_contribution_id(&self) -> Result<ContributionId> {
        let id = on_engine!(self, e => e
            .write(async |conn| native::demo::next_id(conn, "contributions").await)
            .await)?;
        Ok(ContributionId(id))
    }

    /// Writes a batch of the demo's contributions in one transaction, without
    /// their rollups (`finish_demo` builds those).
    pub async fn insert_demo_contributions(
        &self,
        community: CommunityId,
        rows: &[DemoContribution<'_>],
    ) -> Result<()> {
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                sql::demo::insert_contributions(conn, community, rows).await?;
                native::demo::numbered(conn, "contributions").await
            })
            .await)
    }

    /// Writes the demo's kudos, then every rollup and counter, and the milestones
    /// already passed, in one transaction; then lets the engine take stock.
    pub async fn finish_demo(
        &self,
        community: CommunityId,
        kudos: &[DemoKudos<'_>],
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                sql::demo::finish(conn, community, kudos, today, now).await
            })
            .await)?;
        on_engine!(self, e => native::demo::analyze(&e.read).await)
    }
}

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
