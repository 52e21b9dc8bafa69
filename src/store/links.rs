//! One-time link codes, and what redeeming one does: join a workspace to another
//! community, or an identity to another member.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::{SqliteConnection, SqlitePool};

use super::activity::{self, Counts};
use super::{ts, windows};
use crate::domain::command::LinkKind;
use crate::domain::{CommunityId, MemberId, WorkspaceId};
use crate::error::Result;

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

/// A member's contributions, found on a read snapshot before a merge takes the
/// write lock: filtering the community's index for them is the one read that grows
/// with the community (about 75 ms in one of a million), so it is kept off the lock.
#[derive(Debug, Clone, Default)]
pub struct Moving {
    ids: Vec<i64>,
    /// The newest contribution id the snapshot saw; theirs after it are found
    /// under the lock, cheaply, by id.
    newest: i64,
}

/// What [`merge_member`] will move of `member`'s contributions.
pub async fn contributions_to_move(
    read: &SqlitePool,
    community: CommunityId,
    member: MemberId,
) -> Result<Moving> {
    let mut snapshot = read.begin().await?;
    let newest: i64 = sqlx::query_scalar("SELECT COALESCE(max(id), 0) FROM contributions")
        .fetch_one(&mut *snapshot)
        .await?;
    let counted: i64 = sqlx::query_scalar(
        "SELECT COALESCE((SELECT contribution_count FROM members WHERE id = ?), 0)",
    )
    .bind(member)
    .fetch_one(&mut *snapshot)
    .await?;
    let ids = if counted > 0 {
        sqlx::query_scalar("SELECT id FROM contributions WHERE community_id = ? AND member_id = ?")
            .bind(community)
            .bind(member)
            .fetch_all(&mut *snapshot)
            .await?
    } else {
        Vec::new()
    };
    snapshot.rollback().await?;
    Ok(Moving { ids, newest })
}

/// Folds member `from` into member `into` (same community): identities,
/// contributions, kudos, activity and counts all move; `from` is removed. Every
/// figure is adjusted by the two members' own rows (R6): no community-wide rebuild.
pub async fn merge_member(
    conn: &mut SqliteConnection,
    community: CommunityId,
    from: MemberId,
    into: MemberId,
    moving: &Moving,
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
    // By id: contributions are indexed by community, not by member (migration
    // 0008), and those recorded since the snapshot are found after its newest id.
    sqlx::query(
        "UPDATE contributions SET member_id = ?1 WHERE id IN (SELECT value FROM json_each(?2)) AND member_id = ?3",
    )
    .bind(into)
    .bind(serde_json::to_string(&moving.ids)?)
    .bind(from)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE contributions SET member_id = ?1 WHERE community_id = ?2 AND id > ?3 AND member_id = ?4",
    )
    .bind(into)
    .bind(community)
    .bind(moving.newest)
    .bind(from)
    .execute(&mut *conn)
    .await?;
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
    sqlx::query("DELETE FROM members WHERE id = ?")
        .bind(from)
        .execute(&mut *conn)
        .await?;
    activity::add_member(conn, community, into).await
}
