//! One-time link codes, and what redeeming one does: join a workspace to another
//! community, or an identity to another member.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::domain::command::LinkKind;
use crate::domain::{CommunityId, MemberId, WorkspaceId};
use crate::error::Result;

/// Link codes and merges, as the application makes, redeems and drives them.
impl super::Store {
    /// Stores a new link code (hashed), usable once until `expires`.
    pub async fn create_link_code(
        &self,
        code: &str,
        kind: LinkKind,
        community: CommunityId,
        member: Option<MemberId>,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<()> {
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                sql::links::create(conn, code, kind, community, member, now, expires).await
            })
            .await)
    }

    /// Redeems a link code and does what `decide` makes of it, in one write
    /// transaction: the code is used up only if all of it succeeds. A workspace
    /// moves only out of a community it alone makes up and that holds no content
    /// yet, so no two communities' data are mixed.
    pub async fn redeem_link_code(
        &self,
        code: &str,
        now: DateTime<Utc>,
        decide: impl FnOnce(&Redeemed) -> Result<LinkUse>,
    ) -> Result<Result<Linked, LinkRefused>> {
        on_engine!(self, e => e
            .write_or_refuse(async |conn| {
                let Some(redeemed) = sql::links::redeem(conn, code, now).await? else {
                    return Ok(Err(LinkRefused::InvalidCode));
                };
                match decide(&redeemed)? {
                    LinkUse::MergeMembers {
                        community,
                        from,
                        into,
                    } => {
                        sql::links::begin_merge(conn, community, from, into, now).await?;
                        Ok(Ok(Linked::MembersMerging { into }))
                    }
                    LinkUse::MoveWorkspace {
                        workspace,
                        from,
                        into,
                    } => {
                        if sql::links::workspace_count(conn, from).await? > 1 {
                            return Ok(Err(LinkRefused::SpansWorkspaces));
                        }
                        if sql::links::has_content(conn, from).await? {
                            return Ok(Err(LinkRefused::HasContent));
                        }
                        sql::links::move_workspace(conn, workspace, from, into, now.date_naive())
                            .await?;
                        let community = sql::communities::community(&mut *conn, into).await?;
                        Ok(Ok(Linked::WorkspaceMoved {
                            community_name: community.name,
                        }))
                    }
                }
            })
            .await)
    }

    /// The merges under way: (merged member, the member they became).
    pub async fn pending_merges(&self) -> Result<Vec<(MemberId, MemberId)>> {
        on_engine!(self, e => sql::links::pending(&e.read).await)
    }

    /// Whether a member row exists.
    pub async fn member_exists(&self, member: MemberId) -> Result<bool> {
        on_engine!(self, e => sql::links::is_member(&e.read, member).await)
    }

    /// What is left to move of member `from`'s contributions, found on a read
    /// snapshot; None once `from` is gone.
    pub async fn merge_to_move(&self, from: MemberId, into: MemberId) -> Result<Option<Moving>> {
        on_engine!(self, e => sql::links::to_move(&e.read, from, into).await)
    }

    /// Moves a chunk of a merge's contributions, in one write transaction; returns
    /// how many moved.
    pub async fn move_merged_contributions(&self, moving: &Moving, ids: &[i64]) -> Result<u64> {
        on_engine!(self, e => e
            .write_in(moving.community, async |conn| {
                sql::links::move_contributions(conn, moving, ids).await
            })
            .await)
    }

    /// Ends a merge, in one write transaction: whatever was recorded for `from`
    /// meanwhile is merged too, their contributions since the snapshot move, and
    /// `from` goes. Nothing happens once the merge was called off.
    pub async fn finish_merge(&self, moving: &Moving) -> Result<()> {
        on_engine!(self, e => e
            .write_in(moving.community, async |conn| sql::links::finish_merge(conn, moving).await)
            .await)
    }

    /// Drops a merge whose `into` is being erased, and requests the erasure of
    /// what is left of `from`, in one write transaction.
    pub async fn abandon_merge(&self, from: MemberId, now: DateTime<Utc>) -> Result<()> {
        on_engine!(self, e => e
            .write(async |conn| sql::links::abandon_merge(conn, from, now).await)
            .await)
    }
}

/// What a redeemed link code is to do, as the application decides from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkUse {
    /// Member `from` becomes `into`, both of `community`, at once but for their
    /// contributions, which follow in chunks.
    MergeMembers {
        community: CommunityId,
        from: MemberId,
        into: MemberId,
    },
    /// `workspace` leaves community `from` for `into`, with its members.
    MoveWorkspace {
        workspace: WorkspaceId,
        from: CommunityId,
        into: CommunityId,
    },
}

/// What redeeming a link code did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Linked {
    /// The members are one now; the contributions of the other are still to move
    /// into `into`.
    MembersMerging { into: MemberId },
    /// The workspace is part of the community called `community_name` now.
    WorkspaceMoved { community_name: String },
}

/// Why redeeming a link code changed nothing (the code is not used up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefused {
    /// No such code, or used already, or expired.
    InvalidCode,
    /// The workspace's community spans other workspaces too.
    SpansWorkspaces,
    /// The workspace's community has data of its own: a mission, goals,
    /// contributions, kudos or milestones.
    HasContent,
}

/// Codes are stored hashed: a leaked database cannot be used to link.
pub fn hash_code(code: &str) -> String {
    let normalised: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let digest = Sha256::digest(normalised.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone)]
pub struct Redeemed {
    pub kind: LinkKind,
    pub community: CommunityId,
    pub member: Option<MemberId>,
}

/// A merge's contributions still to move, found on a read snapshot before any
/// write lock: filtering the community's index for a member is the one read that
/// grows with the community (about 75 ms in one of a million).
#[derive(Debug, Clone)]
pub struct Moving {
    pub community: CommunityId,
    pub from: MemberId,
    pub into: MemberId,
    pub ids: Vec<i64>,
    /// The newest contribution id the snapshot saw; theirs after it are found at
    /// the end, cheaply, by id.
    pub(in crate::store) newest: i64,
}
