//! Kudos between members.

use chrono::{DateTime, Timelike, Utc};
use futures_util::{Stream, StreamExt};
use sqlx::{SqliteConnection, SqliteExecutor};

use super::activity::{self, Counts};
use super::{parse_ts, ts};
use crate::domain::{CommunityId, MemberId, Platform};
use crate::error::Result;

/// Kudos, as the application gives and counts them.
impl super::Store {
    /// Records kudos from one member to another, with both members' counts, in
    /// one write transaction; returns its id.
    pub async fn give_kudos(
        &self,
        community: CommunityId,
        from: MemberId,
        to: MemberId,
        reason: &str,
        platform: Platform,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        self.sqlite()
            .write(async |conn| give(conn, community, from, to, reason, platform, now).await)
            .await
    }

    /// (received, given) kudos counts of a member.
    pub async fn kudos_counts(&self, member: MemberId) -> Result<(i64, i64)> {
        counts(&self.sqlite().read, member).await
    }
}

/// Records kudos and counts them as activity for both members, today.
pub async fn give(
    conn: &mut SqliteConnection,
    community: CommunityId,
    from: MemberId,
    to: MemberId,
    reason: &str,
    platform: Platform,
    now: DateTime<Utc>,
) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO kudos (community_id, from_member_id, to_member_id, reason, platform, created_at)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
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
    super::insights::add_hours(conn, community, &hour).await?;
    Ok(id)
}

/// (received, given) kudos counts of a member.
pub async fn counts(db: impl SqliteExecutor<'_>, member: MemberId) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT (SELECT count(*) FROM kudos WHERE to_member_id = ?1), (SELECT count(*) FROM kudos WHERE from_member_id = ?1)",
    )
    .bind(member)
    .fetch_one(db)
    .await?)
}

#[derive(Debug, Clone)]
pub struct KudosRow {
    pub from: String,
    pub to: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

/// Kudos of a community (or those one member gave or received), oldest first, a
/// row at a time.
pub fn each<'e>(
    db: impl SqliteExecutor<'e> + 'e,
    community: CommunityId,
    member: Option<MemberId>,
) -> impl Stream<Item = Result<KudosRow>> + Send + 'e {
    sqlx::query_as::<_, (String, String, String, String)>(
        "SELECT f.display_name, t.display_name, k.reason, k.created_at
         FROM kudos k JOIN members f ON f.id = k.from_member_id JOIN members t ON t.id = k.to_member_id
         WHERE k.community_id = ?1 AND (?2 IS NULL OR k.from_member_id = ?2 OR k.to_member_id = ?2)
         ORDER BY k.id",
    )
    .bind(community)
    .bind(member)
    .fetch(db)
    .map(|row| {
        let (from, to, reason, at) = row?;
        Ok(KudosRow {
            from,
            to,
            reason,
            created_at: parse_ts(&at)?,
        })
    })
}
