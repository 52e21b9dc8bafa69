//! Introductions (issue 19 §2) as the application reads and writes them:
//! members opted in and whom they avoid, the settings and schedule, rounds with
//! their groups and introductions, "Did you meet?" and its answers, and the
//! figures (migration 0022).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::health::{Listed, Page};
use crate::domain::pairing::Pairs;
use crate::domain::{CommunityId, MemberId, PairingGroupId, Platform, Reply, WorkspaceId};
use crate::error::Result;
use crate::store::activity::Counts;

/// The posted channel an introduction records when the platform could make no
/// conversation for the group and wrote to each member instead: its follow-up
/// goes the same way.
pub const DIRECT_MESSAGES: &str = "dm";

impl super::Store {
    /// Opts a member in; false if they were already.
    pub async fn join_pairing(
        &self,
        community: CommunityId,
        member: MemberId,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        on_engine!(self, e => e
            .write_in(community, async |conn| sql::pairing::join(conn, community, member, now).await)
            .await)
    }

    /// Opts a member out; false if they were not in.
    pub async fn leave_pairing(&self, community: CommunityId, member: MemberId) -> Result<bool> {
        on_engine!(self, e => e
            .write_in(community, async |conn| sql::pairing::leave(conn, member).await)
            .await)
    }

    pub async fn in_pairing(&self, member: MemberId) -> Result<bool> {
        on_engine!(self, e => sql::pairing::is_in(&e.read, member).await)
    }

    /// `member` is never to be grouped with `avoided`; false if that was so.
    pub async fn avoid_in_pairing(
        &self,
        community: CommunityId,
        member: MemberId,
        avoided: MemberId,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        on_engine!(self, e => e
            .write_in(community, async |conn| sql::pairing::avoid(conn, member, avoided, now).await)
            .await)
    }

    pub async fn pairing_settings(&self, community: CommunityId) -> Result<PairingSettings> {
        on_engine!(self, e => sql::pairing::settings(&e.read, community).await)
    }

    /// Sets the round schedule, as written, with when it next runs; None stops
    /// the rounds.
    pub async fn set_pairing_schedule(
        &self,
        community: CommunityId,
        schedule: Option<(&str, DateTime<Utc>)>,
    ) -> Result<()> {
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                sql::pairing::set_schedule(conn, community, schedule).await
            })
            .await)
    }

    pub async fn set_pairing_size(&self, community: CommunityId, size: u32) -> Result<()> {
        on_engine!(self, e => e
            .write_in(community, async |conn| sql::pairing::set_size(conn, community, size).await)
            .await)
    }

    pub async fn set_pairing_channel(&self, workspace: WorkspaceId, channel: &str) -> Result<()> {
        on_engine!(self, e => e
            .write(async |conn| sql::pairing::set_channel(conn, workspace, channel).await)
            .await)
    }

    /// The schedules whose round falls due at `now`: (community, spec, when due).
    pub async fn due_pairing_schedules(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(CommunityId, String, DateTime<Utc>)>> {
        on_engine!(self, e => sql::pairing::due_schedules(&e.read, now, limit).await)
    }

    /// Moves a schedule on from the period `due` to `next`, unless another
    /// process did first.
    pub async fn advance_pairing_schedule(
        &self,
        community: CommunityId,
        due: DateTime<Utc>,
        next: DateTime<Utc>,
    ) -> Result<()> {
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                sql::pairing::advance_schedule(conn, community, due, next).await
            })
            .await)
    }

    /// Members opted in, still here and not away, each where Keel reaches them;
    /// a newcomer's first activity is on or after `newcomer_since`.
    pub async fn pairing_candidates(
        &self,
        community: CommunityId,
        newcomer_since: NaiveDate,
    ) -> Result<Vec<PairingCandidate>> {
        on_engine!(self, e => {
            sql::pairing::candidates(&e.read, community, newcomer_since).await
        })
    }

    /// Every pair grouped together in the community's last `rounds` rounds.
    pub async fn recent_pairs(&self, community: CommunityId, rounds: usize) -> Result<Pairs> {
        on_engine!(self, e => {
            sql::pairing::recent_pairs(&e.read, community, rounds as i64).await
        })
    }

    /// Every pair one of whom asked to avoid the other.
    pub async fn avoided_pairs(&self, community: CommunityId) -> Result<Pairs> {
        on_engine!(self, e => sql::pairing::avoided_pairs(&e.read, community).await)
    }

    /// Each of the community's `members`' newest `per_member` contributions'
    /// descriptions, newest first.
    pub async fn recent_contributions(
        &self,
        community: CommunityId,
        members: &[MemberId],
        per_member: usize,
    ) -> Result<HashMap<MemberId, Vec<String>>> {
        on_engine!(self, e => {
            sql::pairing::recent_contributions(&e.read, community, members, per_member).await
        })
    }

    /// Records a round with its groups, queuing each group's introduction; None
    /// if a round was already recorded for its period.
    pub async fn record_pairing_round(&self, round: &NewRound) -> Result<Option<i64>> {
        on_engine!(self, e => e
            .write_in(round.community, async |conn| sql::pairing::record_round(conn, round).await)
            .await)
    }

    /// A member's group in the latest round they were in.
    pub async fn your_pairing_group(&self, member: MemberId) -> Result<Option<YourGroup>> {
        on_engine!(self, e => sql::pairing::your_group(&e.read, member).await)
    }

    /// The platform and external workspace id (guild or team) a group was made
    /// in: where a press of its follow-up's buttons outside any server (a
    /// Discord direct message) is answered.
    pub async fn pairing_group_workspace(
        &self,
        group: PairingGroupId,
    ) -> Result<Option<(Platform, String)>> {
        on_engine!(self, e => sql::pairing::group_workspace(&e.read, group).await)
    }

    /// Groups whose "Did you meet?" falls due at `now`.
    pub async fn due_follow_ups(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<FollowUpDue>> {
        on_engine!(self, e => sql::pairing::due_follow_ups(&e.read, now, limit).await)
    }

    /// Queues "Did you meet?" to a group, once.
    pub async fn send_follow_up(
        &self,
        due: &FollowUpDue,
        body: &Reply,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        on_engine!(self, e => e
            .write_in(due.community, async |conn| {
                sql::pairing::send_follow_up(conn, due.group, body, now).await
            })
            .await)
    }

    /// Records a member's answer to "Did you meet?" for `group`, or their
    /// latest; a first yes counts as activity on `today` (PRODUCT.md
    /// "Activity": a confirmed introduction). None if they were in no group.
    pub async fn answer_met(
        &self,
        community: CommunityId,
        member: MemberId,
        group: Option<PairingGroupId>,
        met: bool,
        now: DateTime<Utc>,
        today: NaiveDate,
    ) -> Result<Option<MetAnswered>> {
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                let answered = sql::pairing::answer_met(conn, member, group, met, now).await?;
                if answered.as_ref().is_some_and(|a| a.first_yes) {
                    let counts = Counts {
                        introductions: 1,
                        ..Counts::default()
                    };
                    sql::activity::record(conn, community, &[(member, today, counts)]).await?;
                }
                Ok(answered)
            })
            .await)
    }

    /// Introductions made in `[from, to)` and how many met; members introduced
    /// since `introduced_since`, of those opted in.
    pub async fn introduction_figures(
        &self,
        community: CommunityId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        introduced_since: DateTime<Utc>,
    ) -> Result<IntroductionFigures> {
        on_engine!(self, e => {
            sql::pairing::figures(&e.read, community, from, to, introduced_since).await
        })
    }

    /// Members who joined since `since`, still here, never introduced.
    pub async fn newcomers_not_introduced(
        &self,
        community: CommunityId,
        since: DateTime<Utc>,
        page: Page,
    ) -> Result<Listed> {
        on_engine!(self, e => {
            sql::pairing::newcomers_not_introduced(&e.read, community, since, page.limit, page.offset)
                .await
        })
    }
}

#[derive(Debug, Clone)]
pub struct PairingSettings {
    pub size: usize,
    /// As written (`fortnightly mon 09:00`), and when the next round runs.
    pub schedule: Option<(String, DateTime<Utc>)>,
    pub opted_in: i64,
}

/// A member a round may group: where Keel reaches them.
#[derive(Debug, Clone)]
pub struct PairingCandidate {
    pub member: MemberId,
    pub name: String,
    pub newcomer: bool,
    pub workspace: WorkspaceId,
    pub platform: Platform,
    /// Their user id in that workspace.
    pub user: String,
    /// The workspace's pairing channel (Discord's private threads).
    pub channel: Option<String>,
}

pub struct NewRound {
    pub community: CommunityId,
    /// The scheduled moment it runs for; None for a round run by hand.
    pub period: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
    pub follow_up_at: DateTime<Utc>,
    pub groups: Vec<NewGroup>,
}

pub struct NewGroup {
    pub workspace: WorkspaceId,
    pub members: Vec<MemberId>,
    pub recipients: Vec<String>,
    pub channel: Option<String>,
    pub body: Reply,
}

#[derive(Debug, Clone)]
pub struct YourGroup {
    pub group: PairingGroupId,
    pub ran_at: DateTime<Utc>,
    pub others: Vec<(MemberId, String)>,
    pub met: Option<bool>,
}

#[derive(Debug, Clone, Copy)]
pub struct FollowUpDue {
    pub group: PairingGroupId,
    pub community: CommunityId,
}

#[derive(Debug, Clone, Copy)]
pub struct MetAnswered {
    pub group: PairingGroupId,
    pub first_yes: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntroductionFigures {
    /// Groups introduced.
    pub made: i64,
    /// Of them, those asked "Did you meet?".
    pub asked: i64,
    /// Of those asked, groups where someone answered yes.
    pub met: i64,
    /// Members opted in now who were introduced in the recent window.
    pub introduced: i64,
    pub opted_in: i64,
}
