//! Link codes' and merges' queries: joining a workspace to another community,
//! or a member to another.

use chrono::{DateTime, Utc};

use super::super::engine::built;
use super::{Conn, Executor, IDS_PER_STATEMENT, Pool, numbered_list};
use super::{activity, windows};
use crate::domain::command::LinkKind;
use crate::domain::{CommunityId, MemberId, WorkspaceId};
use crate::error::Result;
use crate::store::activity::Counts;
use crate::store::forget::Reason;
use crate::store::links::{Moving, Redeemed, hash_code};
use crate::store::{parse_ts, ts};

pub async fn create(
    conn: &mut Conn,
    code: &str,
    kind: LinkKind,
    community: CommunityId,
    member: Option<MemberId>,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO link_codes (code_hash, kind, community_id, member_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
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

/// Uses a code: succeeds once, only before it expires.
pub async fn redeem(conn: &mut Conn, code: &str, now: DateTime<Utc>) -> Result<Option<Redeemed>> {
    let row: Option<(String, i64, Option<i64>)> = sqlx::query_as(
        "UPDATE link_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1
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
/// goals, contributions, kudos, milestones or events.
pub async fn has_content(conn: &mut Conn, community: CommunityId) -> Result<bool> {
    let found: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM contributions WHERE community_id = $1)
             OR EXISTS (SELECT 1 FROM goals WHERE community_id = $1)
             OR EXISTS (SELECT 1 FROM mission_versions WHERE community_id = $1)
             OR EXISTS (SELECT 1 FROM kudos WHERE community_id = $1)
             OR EXISTS (SELECT 1 FROM milestones WHERE community_id = $1)
             OR EXISTS (SELECT 1 FROM events WHERE community_id = $1)",
    )
    .bind(community)
    .fetch_one(conn)
    .await?;
    Ok(found)
}

/// Moves a workspace, with the members and activity of its old community, into
/// `into`. The old community is removed once it has no workspace left.
pub async fn move_workspace(
    conn: &mut Conn,
    workspace: WorkspaceId,
    from: CommunityId,
    into: CommunityId,
    today: chrono::NaiveDate,
) -> Result<()> {
    let moved: Vec<i64> = sqlx::query_scalar("SELECT id FROM members WHERE community_id = $1")
        .bind(from)
        .fetch_all(&mut *conn)
        .await?;
    let statements = [
        "UPDATE members SET community_id = $2 WHERE community_id = $1",
        "UPDATE member_daily_activity SET community_id = $2 WHERE community_id = $1",
        "DELETE FROM community_daily_activity WHERE community_id = $1",
        "DELETE FROM member_window_totals WHERE community_id = $1",
        "DELETE FROM community_windows WHERE community_id = $1",
        // Insights (migration 0003): hours add up; cohorts and signals are the
        // moved members' shares, put back by add_member below.
        "INSERT INTO community_hourly_activity (community_id, day, hour, events)
         SELECT $2, day, hour, events FROM community_hourly_activity WHERE community_id = $1
         ON CONFLICT (community_id, day, hour) DO UPDATE
            SET events = community_hourly_activity.events + excluded.events",
        "DELETE FROM community_hourly_activity WHERE community_id = $1",
        "DELETE FROM cohort_activity WHERE community_id = $1",
        "DELETE FROM member_signals WHERE community_id = $1",
        "DELETE FROM member_signal_dirty WHERE community_id = $1",
        "DELETE FROM community_signal_marks WHERE community_id = $1",
    ];
    run_from_into(conn, &statements, from.0, into.0).await?;
    for member in moved {
        activity::add_member(conn, into, MemberId(member)).await?;
    }
    windows::rebuild_all(conn, into, today).await?;
    sqlx::query("UPDATE workspaces SET community_id = $1 WHERE id = $2")
        .bind(into)
        .bind(workspace)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM communities WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM workspaces WHERE community_id = $1)")
        .bind(from)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// How many workspaces a community has.
pub async fn workspace_count(conn: &mut Conn, community: CommunityId) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM workspaces WHERE community_id = $1")
            .bind(community)
            .fetch_one(conn)
            .await?,
    )
}

/// The merges under way: (merged member, the member they became).
pub async fn pending(db: impl Executor<'_>) -> Result<Vec<(MemberId, MemberId)>> {
    Ok(sqlx::query_as(
        "SELECT from_member_id, into_member_id FROM merges ORDER BY requested_at, from_member_id",
    )
    .fetch_all(db)
    .await?)
}

/// Whether a member row exists.
pub async fn is_member(db: impl Executor<'_>, member: MemberId) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM members WHERE id = $1)")
            .bind(member)
            .fetch_one(db)
            .await?,
    )
}

/// What is left to move of member `from`'s contributions; None once `from` is gone.
pub async fn to_move(read: &Pool, from: MemberId, into: MemberId) -> Result<Option<Moving>> {
    let mut snapshot = super::super::engine::snapshot(read).await?;
    let found: Option<(CommunityId, i64)> =
        sqlx::query_as("SELECT community_id, contribution_count FROM members WHERE id = $1")
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
        "SELECT id FROM contributions WHERE community_id = $1 AND member_id = $2 ORDER BY id",
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
    conn: &mut Conn,
    community: CommunityId,
    from: MemberId,
    into: MemberId,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO merges (from_member_id, into_member_id, requested_at) VALUES ($1, $2, $3)
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
pub async fn move_contributions(conn: &mut Conn, moving: &Moving, ids: &[i64]) -> Result<u64> {
    let mut moved = 0;
    for ids in ids.chunks(IDS_PER_STATEMENT) {
        let mut update = sqlx::query(built(format!(
            "UPDATE contributions SET member_id = $1 WHERE id IN {} AND member_id = $2
               AND EXISTS (SELECT 1 FROM merges WHERE from_member_id = $2)",
            numbered_list(3, ids.len())
        )))
        .bind(moving.into)
        .bind(moving.from);
        for id in ids {
            update = update.bind(id);
        }
        moved += update.execute(&mut *conn).await?.rows_affected();
    }
    Ok(moved)
}

/// Ends a merge: whatever was recorded for `from` meanwhile is merged too, their
/// contributions since the snapshot move, and `from` goes.
pub async fn finish_merge(conn: &mut Conn, moving: &Moving) -> Result<()> {
    let (community, from, into) = (moving.community, moving.from, moving.into);
    let still: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM merges WHERE from_member_id = $1)")
            .bind(from)
            .fetch_one(&mut *conn)
            .await?;
    if !still {
        return Ok(());
    }
    merge_member_rows(conn, community, from, into).await?;
    sqlx::query(
        "UPDATE contributions SET member_id = $1 WHERE community_id = $2 AND id > $3 AND member_id = $4",
    )
    .bind(into)
    .bind(community)
    .bind(moving.newest)
    .bind(from)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM members WHERE id = $1")
        .bind(from)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM merges WHERE from_member_id = $1")
        .bind(from)
        .execute(&mut *conn)
        .await?;
    windows::note_rebuild(conn, community).await
}

/// Drops a merge whose `into` went before it finished (erased): the person asked
/// to be forgotten, so what is left of `from` is erased too.
pub async fn abandon_merge(conn: &mut Conn, from: MemberId, now: DateTime<Utc>) -> Result<()> {
    sqlx::query("DELETE FROM merges WHERE from_member_id = $1")
        .bind(from)
        .execute(&mut *conn)
        .await?;
    super::forget::request(conn, from, Reason::ForgetMe, now).await?;
    Ok(())
}

/// Moves everything of `from` but its contribution rows onto `into`, adjusting
/// every figure by the two members' own rows (R6): no community-wide rebuild. Safe
/// to run again: it moves what is there.
async fn merge_member_rows(
    conn: &mut Conn,
    community: CommunityId,
    from: MemberId,
    into: MemberId,
) -> Result<()> {
    // Kudos between the two would become kudos to oneself: take them out first.
    let between: Vec<(i64, MemberId, MemberId, String)> = sqlx::query_as(
        "SELECT id, from_member_id, to_member_id, created_at FROM kudos
         WHERE (from_member_id = $1 AND to_member_id = $2) OR (from_member_id = $2 AND to_member_id = $1)",
    )
    .bind(from)
    .bind(into)
    .fetch_all(&mut *conn)
    .await?;
    let counted = windows::counted_up_to(conn, community).await?;
    let mut removed: Vec<crate::store::windows::Entry> = Vec::new();
    let mut hours: std::collections::BTreeMap<(chrono::NaiveDate, u32), i64> =
        std::collections::BTreeMap::new();
    for (id, giver, receiver, at) in &between {
        let at = parse_ts(at)?;
        let on = at.date_naive();
        // The kudos go (one cannot thank oneself): so does their hour's event.
        *hours.entry((on, chrono::Timelike::hour(&at))).or_default() -= 1;
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
    super::insights::add_hours(conn, community, &hours).await?;
    activity::withdraw_member(conn, community, from).await?;
    activity::withdraw_member(conn, community, into).await?;
    // Their announcements now name the member they became, for a later erasure;
    // those of `from`'s own milestones outlive the milestones (which go with
    // `from`), so that their posts can still be edited.
    super::redaction::renumber_member(conn, from, into).await?;
    super::corrections::merge_members(conn, from, into).await?;
    super::review::merge_members(conn, from, into).await?;
    super::events::merge_members(conn, from, into).await?;
    super::pairing::merge_members(conn, from, into).await?;
    sqlx::query(
        "UPDATE announcements SET achievement_id = NULL
         WHERE achievement_id IN (SELECT id FROM milestone_achievements WHERE member_id = $1)",
    )
    .bind(from)
    .execute(&mut *conn)
    .await?;
    let statements = [
        "UPDATE identities SET member_id = $2 WHERE member_id = $1",
        // Amounts by unit (migration 0004) follow the contributions.
        "INSERT INTO member_unit_amounts (member_id, unit, amount)
         SELECT $2, unit, amount FROM member_unit_amounts WHERE member_id = $1 AND true
         ON CONFLICT (member_id, unit) DO UPDATE
            SET amount = member_unit_amounts.amount + excluded.amount",
        "DELETE FROM member_unit_amounts WHERE member_id = $1",
        "DELETE FROM kudos WHERE (from_member_id = $1 AND to_member_id = $2) OR (from_member_id = $2 AND to_member_id = $1)",
        "UPDATE kudos SET from_member_id = $2 WHERE from_member_id = $1",
        "UPDATE kudos SET to_member_id = $2 WHERE to_member_id = $1",
        "INSERT INTO member_daily_activity (community_id, day, member_id, contributions, kudos_given, kudos_received, messages, reactions, introductions)
         SELECT community_id, day, $2, contributions, kudos_given, kudos_received, messages, reactions, introductions
         FROM member_daily_activity WHERE member_id = $1 AND true
         ON CONFLICT (community_id, day, member_id) DO UPDATE SET
            contributions = member_daily_activity.contributions + excluded.contributions,
            kudos_given = member_daily_activity.kudos_given + excluded.kudos_given,
            kudos_received = member_daily_activity.kudos_received + excluded.kudos_received,
            messages = member_daily_activity.messages + excluded.messages,
            reactions = member_daily_activity.reactions + excluded.reactions,
            introductions = member_daily_activity.introductions + excluded.introductions",
        "DELETE FROM member_daily_activity WHERE member_id = $1",
        "UPDATE members SET contribution_count = contribution_count + (SELECT contribution_count FROM members WHERE id = $1),
            joined_at = CASE WHEN (SELECT joined_at FROM members WHERE id = $1) < joined_at
                             THEN (SELECT joined_at FROM members WHERE id = $1) ELSE joined_at END
         WHERE id = $2",
        // `from` counts nothing now; naming joined_at lets the population counts'
        // trigger (migration 0004) see its contribution count change.
        "UPDATE members SET contribution_count = 0, joined_at = joined_at WHERE id = $1",
        "UPDATE mission_versions SET author_member_id = $2 WHERE author_member_id = $1",
        "UPDATE goals SET created_by = $2 WHERE created_by = $1",
        "UPDATE milestones SET created_by = $2 WHERE created_by = $1",
        "UPDATE announcements SET about_member_id = $2 WHERE about_member_id = $1",
    ];
    run_from_into(conn, &statements, from.0, into.0).await?;
    // The window totals: `from`'s move to `into`, less the kudos between them.
    windows::merge_members(conn, community, from, into, &removed).await?;
    activity::add_member(conn, community, into).await
}

/// Runs `statements` in order, each with `$1` = `from` and, if it names it,
/// `$2` = `into` (PostgreSQL takes no argument a statement does not name).
async fn run_from_into(
    conn: &mut Conn,
    statements: &[&'static str],
    from: i64,
    into: i64,
) -> Result<()> {
    for &sql in statements {
        let statement = sqlx::query(sql).bind(from);
        let statement = if sql.contains("$2") {
            statement.bind(into)
        } else {
            statement
        };
        statement.execute(&mut *conn).await?;
    }
    Ok(())
}
