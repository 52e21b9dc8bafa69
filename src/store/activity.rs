//! Daily activity counts per member. Counts only: no message text is ever stored.

use chrono::NaiveDate;
use sqlx::SqliteConnection;

use super::built;
use super::day;
use crate::domain::{CommunityId, MemberId};
use crate::error::Result;

/// Which daily count to bump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    KudosGiven,
    KudosReceived,
    Messages,
    Reactions,
}

impl Counter {
    fn column(self) -> &'static str {
        match self {
            Counter::KudosGiven => "kudos_given",
            Counter::KudosReceived => "kudos_received",
            Counter::Messages => "messages",
            Counter::Reactions => "reactions",
        }
    }
}

/// Adds `n` (which may be negative, when data is erased) to a member's count for a day.
pub async fn bump(
    conn: &mut SqliteConnection,
    community: CommunityId,
    member: MemberId,
    on: NaiveDate,
    counter: Counter,
    n: i64,
) -> Result<()> {
    let column = counter.column();
    let sql = if n >= 0 {
        format!(
            "INSERT INTO member_daily_activity (community_id, day, member_id, {column}) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (community_id, day, member_id) DO UPDATE SET {column} = {column} + excluded.{column}"
        )
    } else {
        format!(
            "UPDATE member_daily_activity SET {column} = max(0, {column} + ?4)
             WHERE community_id = ?1 AND day = ?2 AND member_id = ?3"
        )
    };
    sqlx::query(built(sql))
        .bind(community)
        .bind(day(on))
        .bind(member)
        .bind(n)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
