//! One-time link codes, and what redeeming one does: join a workspace to another
//! community, or an identity to another member.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::{SqliteConnection, SqliteExecutor, SqlitePool};

use super::activity::{self, Counts};
use super::{ts, windows};
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
        self.sqlite()
            .write(async |conn| create(conn, code, kind, community, member, now, expires).await)
            .await
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
        self.sqlite()
            .write_or_refuse(async |conn| {
                let Some(redeemed) = redeem(conn, code, now).await? else {
                    return Ok(Err(LinkRefused::InvalidCode));
                };
                match decide(&redeemed)? {
                    LinkUse::MergeMembers {
                        community,
                        from,
                        into,
                    } => {
                        begin_merge(conn, community, from, into, now).await?;
                        Ok(Ok(Linked::MembersMerging { into }))
                    }
                    LinkUse::MoveWorkspace {
                        workspace,
                        from,
                        into,
                    } => {
                        if workspace_count(conn, from).await? > 1 {
                            return Ok(Err(LinkRefused::SpansWorkspaces));
                        }
                        if has_content(conn, from).await? {
                            return Ok(Err(LinkRefused::HasContent));
                        }
                        move_workspace(conn, workspace, from, into, now.date_naive()).await?;
                        let community = super::communities::community(&mut *conn, into).await?;
                        Ok(Ok(Linked::WorkspaceMoved {
                            community_name: community.name,
                        }))
                    }
                }
            })
            .await
    }

    /// The merges under way: (merged member, the member they became).
    pub async fn pending_merges(&self) -> Result<Vec<(MemberId, MemberId)>> {
        pending(&self.sqlite().read).await
    }

    /// Whether a member row exists.
    pub async fn member_exists(&self, member: MemberId) -> Result<bool> {
        is_member(&self.sqlite().read, member).await
    }

    /// What is left to move of member `from`'s contributions, found on a read
    /// snapshot; None once `from` is gone.
    pub async fn merge_to_move(&self, from: MemberId, into: MemberId) -> Result<Option<Moving>> {
        to_move(&self.sqlite().read, from, into).await
    }

    /// Moves a chunk of a merge's contributions, in one write transaction; returns
    /// how many moved.
    pub async fn move_merged_contributions(&self, moving: &Moving, ids: &[i64]) -> Result<u64> {
        self.sqlite()
            .write(async |conn| move_contributions(conn, moving, ids).await)
            .await
    }

    /// Ends a merge (see [`finish_merge`]), in one write transaction.
    pub async fn finish_merge(&self, moving: &Moving) -> Result<()> {
        self.sqlite()
            .write(async |conn| finish_merge(conn, moving).await)
            .await
    }

    /// Drops a merge whose `into` is being erased, and requests the erasure of
    /// what is left of `from`, in one write transaction.
    pub async fn abandon_merge(&self, from: MemberId, now: DateTime<Utc>) -> Result<()> {
        self.sqlite()
            .write(async |conn| abandon_merge(conn, from, now).await)
            .await
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

pub async fn create(
    conn: &mut SqliteConnection,
    code: &str,
    kind: LinkKind,
    community: CommunityId,
    member: Option<MemberId>,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO link_codes (code_hash, kind, community_id, member_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(hash_code(code))
    .bind(match kind {
        LinkKind::Workspace => "workspace",
        LinkKind::Identity => "identity",
    })
    .bind(community)
    .bind(member)
    .bind(ts(now))
    .bind(ts(expires))
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Redeemed {
    pub kind: LinkKind,
    pub community: CommunityId,
    pub member: Option<MemberId>,
}

/// Uses a code: succeeds once, only before it expires.
pub async fn redeem(
    conn: &mut SqliteConnection,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Option<Redeemed>> {
    let row: Option<(String, i64, Option<i64>)> = sqlx::query_as(
        "UPDATE link_codes SET used_at = ?1 WHERE code_hash = ?2 AND used_at IS NULL AND expires_at > ?1
         RETURNING kind, community_id, member_id",
    )
    .bind(ts(now))
    .bind(hash_code(code))
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(kind, community, member)| Redeemed {
        kind: if kind == "workspace" {
            LinkKind::Workspace
        } else {
            LinkKind::Identity
        },
        community: CommunityId(community),
        member: member.map(MemberId),
    }))
}

/// Whether a community holds anything beyond members and counts: a mission,
/// goals, contributions, kudos or milestones.
pub async fn has_content(conn: &mut SqliteConnection, community: CommunityId) -> Result<bool> {
    let found: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM contributions WHERE community_id = ?1)
             OR EXISTS (SELECT 1 FROM goals WHERE community_id = ?1)
             OR EXISTS (SELECT 1 FROM mission_versions WHERE community_id = ?1)
             OR EXISTS (SELECT 1 FROM kudos WHERE community_id = ?1)
             OR EXISTS (SELECT 1 FROM milestones WHERE community_id = ?1)",
    )
    .bind(community)
    .fetch_one(conn)
    .await?;
    Ok(found)
}

/// Moves a workspace, with the members and activity of its old community, into
/// `into`. The old community is removed once it has no workspace left.
pub async fn move_workspace(
    conn: &mut SqliteConnection,
    workspace: WorkspaceId,
    from: CommunityId,
    into: CommunityId,
    today: chrono::NaiveDate,
) -> Result<()> {
    let moved: Vec<i64> = sqlx::query_scalar("SELECT id FROM members WHERE community_id = ?")
        .bind(from)
        .fetch_all(&mut *conn)
        .await?;
    for sql in [
        "UPDATE members SET community_id = ?2 WHERE community_id = ?1",
        "UPDATE member_daily_activity SET community_id = ?2 WHERE community_id = ?1",
        "DELETE FROM community_daily_activity WHERE community_id = ?1",
        "DELETE FROM member_window_totals WHERE community_id = ?1",
        "DELETE FROM community_windows WHERE community_id = ?1",
        // Insights (migration 0003): hours add up; cohorts and signals are the
        // moved members' shares, put back by add_member below.
        "INSERT INTO community_hourly_activity (community_id, day, hour, events)
         SELECT ?2, day, hour, events FROM community_hourly_activity WHERE community_id = ?1
         ON CONFLICT (community_id, day, hour) DO UPDATE SET events = events + excluded.events",
        "DELETE FROM community_hourly_activity WHERE community_id = ?1",
        "DELETE FROM cohort_activity WHERE community_id = ?1",
        "DELETE FROM member_signals WHERE community_id = ?1",
        "DELETE FROM member_signal_dirty WHERE community_id = ?1",
        "DELETE FROM community_signal_marks WHERE community_id = ?1",
    ] {
        sqlx::query(sql)
            .bind(from)
            .bind(into)
            .execute(&mut *conn)
            .await?;
    }
    for member in moved {
        activity::add_member(conn, into, MemberId(member)).await?;
    }
    super::windows::rebuild_all(conn, into, today).await?;
    sqlx::query("UPDATE workspaces SET community_id = ? WHERE id = ?")
        .bind(into)
        .bind(workspace)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM communities WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM workspaces WHERE community_id = ?1)")
        .bind(from)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// How many workspaces a community has.
pub async fn workspace_count(conn: &mut SqliteConnection, community: CommunityId) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM workspaces WHERE community_id = ?")
            .bind(community)
            .fetch_one(conn)
            .await?,
    )
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
    newest: i64,
}

/// The merges under way: (merged member, the member they became).
pub async fn pending(db: impl SqliteExecutor<'_>) -> Result<Vec<(MemberId, MemberId)>> {
    Ok(sqlx::query_as(
        "SELECT from_member_id, into_member_id FROM merges ORDER BY requested_at, from_member_id",
    )
    .fetch_all(db)
    .await?)
}

/// Whether a member row exists.
pub async fn is_member(db: impl SqliteExecutor<'_>, member: MemberId) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM members WHERE id = ?)")
            .bind(member)
            .fetch_one(db)
            .await?,
    )
}

/// What is left to move of member `from`'s contributions; None once `from` is gone.
pub async fn to_move(read: &SqlitePool, from: MemberId, into: MemberId) -> Result<Option<Moving>> {
    let mut snapshot = read.begin().await?;
    let found: Option<(CommunityId, i64)> =
        sqlx::query_as("SELECT community_id, contribution_count FROM members WHERE id = ?")
            .bind(from)
            .fetch_optional(&mut *snapshot)
            .await?;
    let Some((community, _)) = found else {
        return Ok(None);
    };
    let newest: i64 = sqlx::query_scalar("SELECT COALESCE(max(id), 0) FROM contributions")
        .fetch_one(&mut *snapshot)
        .await?;
    let ids = sqlx::query_scalar(
        "SELECT id FROM contributions WHERE community_id = ? AND member_id = ? ORDER BY id",
    )
    .bind(community)
    .bind(from)
    .fetch_all(&mut *snapshot)
    .await?;
    snapshot.rollback().await?;
    Ok(Some(Moving {
        community,
        from,
        into,
        ids,
        newest,
    }))
}

/// Folds member `from` into member `into` (same community): identities, kudos,
/// active days, window totals and counts merge now, so `from` is `into` from this
/// transaction on; their contributions follow in chunks ([`move_contributions`],
/// then [`finish_merge`]), recorded in `merges` so a restart finishes them.
pub async fn begin_merge(
    conn: &mut SqliteConnection,
    community: CommunityId,
    from: MemberId,
    into: MemberId,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO merges (from_member_id, into_member_id, requested_at) VALUES (?, ?, ?)
         ON CONFLICT (from_member_id) DO NOTHING",
    )
    .bind(from)
    .bind(into)
    .bind(ts(now))
    .execute(&mut *conn)
    .await?;
    merge_member_rows(conn, community, from, into).await
}

/// Moves some of `from`'s contributions (ids from [`to_move`]) to `into`; returns
/// how many moved. Their counts moved already: only the rows change hands. Nothing
/// moves once the merge was called off (`into` is being erased).
pub async fn move_contributions(
    conn: &mut SqliteConnection,
    moving: &Moving,
    ids: &[i64],
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE contributions SET member_id = ?1 WHERE id IN (SELECT value FROM json_each(?2)) AND member_id = ?3
           AND EXISTS (SELECT 1 FROM merges WHERE from_member_id = ?3)",
    )
    .bind(moving.into)
    .bind(serde_json::to_string(ids)?)
    .bind(moving.from)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Ends a merge: whatever was recorded for `from` meanwhile is merged too, their
/// contributions since the snapshot move, and `from` goes.
pub async fn finish_merge(conn: &mut SqliteConnection, moving: &Moving) -> Result<()> {
    let (community, from, into) = (moving.community, moving.from, moving.into);
    let still: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM merges WHERE from_member_id = ?)")
            .bind(from)
            .fetch_one(&mut *conn)
            .await?;
    if !still {
        return Ok(());
    }
    merge_member_rows(conn, community, from, into).await?;
    sqlx::query(
        "UPDATE contributions SET member_id = ?1 WHERE community_id = ?2 AND id > ?3 AND member_id = ?4",
    )
    .bind(into)
    .bind(community)
    .bind(moving.newest)
    .bind(from)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM members WHERE id = ?")
        .bind(from)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM merges WHERE from_member_id = ?")
        .bind(from)
        .execute(&mut *conn)
        .await?;
    windows::note_rebuild(conn, community).await
}

/// Drops a merge whose `into` went before it finished (erased): the person asked
/// to be forgotten, so what is left of `from` is erased too.
pub async fn abandon_merge(
    conn: &mut SqliteConnection,
    from: MemberId,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("DELETE FROM merges WHERE from_member_id = ?")
        .bind(from)
        .execute(&mut *conn)
        .await?;
    super::forget::request(conn, from, super::forget::Reason::ForgetMe, now).await?;
    Ok(())
}

/// Moves everything of `from` but its contribution rows onto `into`, adjusting
/// every figure by the two members' own rows (R6): no community-wide rebuild. Safe
/// to run again: it moves what is there.
async fn merge_member_rows(
    conn: &mut SqliteConnection,
    community: CommunityId,
    from: MemberId,
    into: MemberId,
) -> Result<()> {
    // Kudos between the two would become kudos to oneself: take them out first.
    let between: Vec<(i64, MemberId, MemberId, String)> = sqlx::query_as(
        "SELECT id, from_member_id, to_member_id, created_at FROM kudos
         WHERE (from_member_id = ?1 AND to_member_id = ?2) OR (from_member_id = ?2 AND to_member_id = ?1)",
    )
    .bind(from)
    .bind(into)
    .fetch_all(&mut *conn)
    .await?;
    let counted = windows::counted_up_to(conn, community).await?;
    let mut removed: Vec<windows::Entry> = Vec::new();
    for (id, giver, receiver, at) in &between {
        let on = super::parse_ts(at)?.date_naive();
        let given = Counts {
            kudos_given: -1,
            ..Counts::default()
        };
        let received = Counts {
            kudos_received: -1,
            ..Counts::default()
        };
        activity::adjust(conn, community, *giver, on, given).await?;
        activity::adjust(conn, community, *receiver, on, received).await?;
        if counted.is_some_and(|(_, seen)| *id <= seen) {
            removed.push((*receiver, on, 0, -1));
        }
    }
    activity::withdraw_member(conn, community, from).await?;
    activity::withdraw_member(conn, community, into).await?;
    // Their announcements now name the member they became, for a later erasure;
    // those of `from`'s own milestones outlive the milestones (which go with
    // `from`), so that their posts can still be edited.
    super::redaction::renumber_member(conn, from, into).await?;
    sqlx::query(
        "UPDATE announcements SET achievement_id = NULL
         WHERE achievement_id IN (SELECT id FROM milestone_achievements WHERE member_id = ?)",
    )
    .bind(from)
    .execute(&mut *conn)
    .await?;
    let statements = [
        "UPDATE identities SET member_id = ?2 WHERE member_id = ?1",
        // Amounts by unit (migration 0004) follow the contributions.
        "INSERT INTO member_unit_amounts (member_id, unit, amount)
         SELECT ?2, unit, amount FROM member_unit_amounts WHERE member_id = ?1 AND true
         ON CONFLICT (member_id, unit) DO UPDATE SET amount = amount + excluded.amount",
        "DELETE FROM member_unit_amounts WHERE member_id = ?1",
        "DELETE FROM kudos WHERE (from_member_id = ?1 AND to_member_id = ?2) OR (from_member_id = ?2 AND to_member_id = ?1)",
        "UPDATE kudos SET from_member_id = ?2 WHERE from_member_id = ?1",
        "UPDATE kudos SET to_member_id = ?2 WHERE to_member_id = ?1",
        "INSERT INTO member_daily_activity (community_id, day, member_id, contributions, kudos_given, kudos_received, messages, reactions)
         SELECT community_id, day, ?2, contributions, kudos_given, kudos_received, messages, reactions
         FROM member_daily_activity WHERE member_id = ?1 AND true
         ON CONFLICT (community_id, day, member_id) DO UPDATE SET
            contributions = contributions + excluded.contributions,
            kudos_given = kudos_given + excluded.kudos_given,
            kudos_received = kudos_received + excluded.kudos_received,
            messages = messages + excluded.messages,
            reactions = reactions + excluded.reactions",
        "DELETE FROM member_daily_activity WHERE member_id = ?1",
        "UPDATE members SET contribution_count = contribution_count + (SELECT contribution_count FROM members WHERE id = ?1),
            joined_at = min(joined_at, (SELECT joined_at FROM members WHERE id = ?1))
         WHERE id = ?2",
        // `from` counts nothing now; naming joined_at lets the population counts'
        // trigger (migration 0004) see its contribution count change.
        "UPDATE members SET contribution_count = 0, joined_at = joined_at WHERE id = ?1",
        "UPDATE mission_versions SET author_member_id = ?2 WHERE author_member_id = ?1",
        "UPDATE goals SET created_by = ?2 WHERE created_by = ?1",
        "UPDATE milestones SET created_by = ?2 WHERE created_by = ?1",
        "UPDATE announcements SET about_member_id = ?2 WHERE about_member_id = ?1",
    ];
    for sql in statements {
        sqlx::query(sql)
            .bind(from)
            .bind(into)
            .execute(&mut *conn)
            .await?;
    }
    // The window totals: `from`'s move to `into`, less the kudos between them.
    windows::merge_members(conn, community, from, into, &removed).await?;
    activity::add_member(conn, community, into).await
}
