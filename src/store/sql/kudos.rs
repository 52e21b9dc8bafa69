//! Kudos' queries.

use chrono::{DateTime, Duration, Timelike, Utc};
use futures_util::{Stream, StreamExt};

use super::activity;
use super::insights;
use super::windows;
use super::{Conn, Executor};
use crate::domain::{CommunityId, MemberId, Platform};
use crate::error::Result;
use crate::store::activity::Counts;
use crate::store::corrections::{Change, RemovedKudos};
use crate::store::kudos::{KudosRefused, KudosRow};
use crate::store::{parse_ts, ts};

/// Records kudos and counts them as activity for both members, today; or, if
/// the giver has used up their allowance, says when they may give again. Run
/// under the community's write lock, so two kudos at once cannot both pass.
pub async fn give(
    conn: &mut Conn,
    community: CommunityId,
    from: MemberId,
    to: MemberId,
    reason: &str,
    platform: Platform,
    now: DateTime<Utc>,
) -> Result<Result<i64, KudosRefused>> {
    if let Some(refused) = allowance(conn, community, from, to, now).await? {
        return Ok(Err(refused));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO kudos (community_id, from_member_id, to_member_id, reason, platform, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(community)
    .bind(from)
    .bind(to)
    .bind(reason)
    .bind(platform.as_str())
    .bind(ts(now))
    .fetch_one(&mut *conn)
    .await?;
    let today = now.date_naive();
    let given = Counts {
        kudos_given: 1,
        ..Counts::default()
    };
    let received = Counts {
        kudos_received: 1,
        ..Counts::default()
    };
    activity::record(
        conn,
        community,
        &[(from, today, given), (to, today, received)],
    )
    .await?;
    let hour = std::collections::BTreeMap::from([((today, now.hour()), 1)]);
    insights::add_hours(conn, community, &hour).await?;
    Ok(Ok(id))
}

/// Removes kudos `id` of `community` and takes it out of every figure it
/// counted in, both members' (their days, the community's day, the activity by
/// hour, the receiver's window totals), as erasure does (`forget::erase_kudos`);
/// the change is kept in the audit trail with `reason`. None if there is no such
/// kudos.
pub async fn remove(
    conn: &mut Conn,
    community: CommunityId,
    id: i64,
    by: MemberId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Option<RemovedKudos>> {
    let found: Option<(i64, String, i64, String, String, String, String)> = sqlx::query_as(
        "SELECT k.from_member_id, f.display_name, k.to_member_id, t.display_name, k.reason,
                k.platform, k.created_at
         FROM kudos k JOIN members f ON f.id = k.from_member_id JOIN members t ON t.id = k.to_member_id
         WHERE k.id = $1 AND k.community_id = $2",
    )
    .bind(id)
    .bind(community)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((from, from_name, to, to_name, what_for, platform, at)) = found else {
        return Ok(None);
    };
    let (from, to, at) = (MemberId(from), MemberId(to), parse_ts(&at)?);
    let on = at.date_naive();
    sqlx::query("DELETE FROM kudos WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let hour = std::collections::BTreeMap::from([((on, at.hour()), -1)]);
    insights::add_hours(conn, community, &hour).await?;
    let given = Counts {
        kudos_given: -1,
        ..Counts::default()
    };
    let received = Counts {
        kudos_received: -1,
        ..Counts::default()
    };
    activity::adjust(conn, community, from, on, given).await?;
    activity::adjust(conn, community, to, on, received).await?;
    // Window totals keep kudos received only.
    match windows::counted_up_to(conn, community).await? {
        Some((_, seen)) if id <= seen => {
            windows::take_out(conn, community, &[(to, on, 0, -1)]).await?;
        }
        // Not counted yet: a catch-up counting on an older snapshot must count again.
        _ => windows::note_rebuild(conn, community).await?,
    }
    insights::mark_dirty(conn, community, &[from, to]).await?;
    let removed = RemovedKudos {
        id,
        from,
        from_name,
        to,
        to_name,
        reason: what_for,
        platform,
        day: on,
        given_at: at,
    };
    super::corrections::record(
        conn,
        &Change {
            community,
            subject: "kudos",
            subject_id: id,
            action: "remove",
            member: Some(to),
            other: Some(from),
            actor: Some(by),
            before: Some(serde_json::json!({
                "reason": removed.reason,
                "platform": removed.platform,
                "day": removed.day,
                "given_at": ts(at),
            })),
            after: None,
            reason: Some(reason),
        },
        now,
    )
    .await?;
    Ok(Some(removed))
}

/// Why `from` may not give kudos to `to` now, if they may not: the same member
/// thanked within the last 24 hours, or the community's weekly allowance used
/// over the last 7 days. Reads only the giver's last week (kudos_by_from).
async fn allowance(
    conn: &mut Conn,
    community: CommunityId,
    from: MemberId,
    to: MemberId,
    now: DateTime<Utc>,
) -> Result<Option<KudosRefused>> {
    let day_ago = ts(now - Duration::hours(KudosRefused::SAME_MEMBER_HOURS));
    let last_to: Option<String> = sqlx::query_scalar(
        "SELECT max(created_at) FROM kudos
         WHERE from_member_id = $1 AND created_at > $2 AND to_member_id = $3",
    )
    .bind(from)
    .bind(&day_ago)
    .bind(to)
    .fetch_one(&mut *conn)
    .await?;
    if let Some(last) = last_to {
        return Ok(Some(KudosRefused::SameMember {
            next: parse_ts(&last)? + Duration::hours(KudosRefused::SAME_MEMBER_HOURS),
        }));
    }
    let per_week: i64 = sqlx::query_scalar("SELECT kudos_per_week FROM communities WHERE id = $1")
        .bind(community)
        .fetch_one(&mut *conn)
        .await?;
    // The kudos that must leave the 7 days before one more fits: the per_week-th
    // newest, if there are that many.
    let week_ago = ts(now - Duration::days(KudosRefused::ALLOWANCE_DAYS));
    let oldest_counted: Option<String> = sqlx::query_scalar(
        "SELECT created_at FROM kudos WHERE from_member_id = $1 AND created_at > $2
         ORDER BY created_at DESC LIMIT 1 OFFSET $3",
    )
    .bind(from)
    .bind(&week_ago)
    .bind(per_week - 1)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match oldest_counted {
        Some(at) => Some(KudosRefused::Allowance {
            per_week,
            next: parse_ts(&at)? + Duration::days(KudosRefused::ALLOWANCE_DAYS),
        }),
        None => None,
    })
}

/// (received, given) kudos counts of a member.
pub async fn counts(db: impl Executor<'_>, member: MemberId) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT (SELECT count(*) FROM kudos WHERE to_member_id = $1), (SELECT count(*) FROM kudos WHERE from_member_id = $1)",
    )
    .bind(member)
    .fetch_one(db)
    .await?)
}

/// Kudos of a community (or those one member gave or received), oldest first, a
/// row at a time.
pub fn each<'e>(
    db: impl Executor<'e> + 'e,
    community: CommunityId,
    member: Option<MemberId>,
) -> impl Stream<Item = Result<KudosRow>> + Send + 'e {
    sqlx::query_as::<_, (i64, String, String, String, String)>(
        "SELECT k.id, f.display_name, t.display_name, k.reason, k.created_at
         FROM kudos k JOIN members f ON f.id = k.from_member_id JOIN members t ON t.id = k.to_member_id
         WHERE k.community_id = $1 AND ($2 IS NULL OR k.from_member_id = $2 OR k.to_member_id = $2)
         ORDER BY k.id",
    )
    .bind(community)
    .bind(member)
    .fetch(db)
    .map(|row| {
        let (id, from, to, reason, at) = row?;
        Ok(KudosRow {
            id,
            from,
            to,
            reason,
            created_at: parse_ts(&at)?,
        })
    })
}
