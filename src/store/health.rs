//! What the health report reads: each member's recent active days and totals.

use chrono::{Days, NaiveDate};
use sqlx::SqlitePool;

use super::{day, parse_day};
use crate::domain::{CommunityId, MemberId};
use crate::error::Result;

/// One member as the health report sees them.
#[derive(Debug, Clone)]
pub struct MemberActivity {
    pub id: MemberId,
    pub name: String,
    pub joined_on: NaiveDate,
    pub away: bool,
    pub contribution_count: i64,
    pub last_active: Option<NaiveDate>,
    /// Active days in each of the last 15 weeks (7-day blocks ending today), oldest first.
    pub weeks: [u32; 15],
    /// Contributions in the equity window.
    pub window_contributions: u64,
}

/// Id, name, joined at, away since, contribution count, last active day.
type MemberRow = (i64, String, String, Option<String>, i64, Option<String>);

/// Every member of a community with their activity up to `today`; contributions
/// are counted over the `window_days` ending today.
pub async fn members(
    db: &SqlitePool,
    community: CommunityId,
    today: NaiveDate,
    window_days: u64,
) -> Result<Vec<MemberActivity>> {
    let rows: Vec<MemberRow> = sqlx::query_as(
        "SELECT m.id, m.display_name, m.joined_at, m.away_since, m.contribution_count,
                (SELECT max(day) FROM member_daily_activity d WHERE d.member_id = m.id AND d.day <= ?2)
         FROM members m WHERE m.community_id = ?1 ORDER BY m.id",
    )
    .bind(community)
    .bind(day(today))
    .fetch_all(db)
    .await?;
    let first_week_day = today - Days::new(15 * 7 - 1);
    let days: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT member_id, day, contributions FROM member_daily_activity
         WHERE community_id = ? AND day BETWEEN ? AND ?",
    )
    .bind(community)
    .bind(day(
        first_week_day.min(today - Days::new(window_days.saturating_sub(1)))
    ))
    .bind(day(today))
    .fetch_all(db)
    .await?;
    let mut out: Vec<MemberActivity> = rows
        .into_iter()
        .map(|(id, name, joined, away, count, last)| {
            Ok(MemberActivity {
                id: MemberId(id),
                name,
                joined_on: parse_day(joined.get(..10).unwrap_or_default())?,
                away: away.is_some(),
                contribution_count: count,
                last_active: last.as_deref().map(parse_day).transpose()?,
                weeks: [0; 15],
                window_contributions: 0,
            })
        })
        .collect::<Result<_>>()?;
    let index: std::collections::HashMap<i64, usize> =
        out.iter().enumerate().map(|(i, m)| (m.id.0, i)).collect();
    let window_start = today - Days::new(window_days.saturating_sub(1));
    for (member, d, contributions) in days {
        let Some(&i) = index.get(&member) else {
            continue;
        };
        let d = parse_day(&d)?;
        if d >= first_week_day {
            let week = ((d - first_week_day).num_days() / 7) as usize;
            out[i].weeks[week.min(14)] += 1;
        }
        if d >= window_start {
            out[i].window_contributions += contributions.max(0) as u64;
        }
    }
    Ok(out)
}
