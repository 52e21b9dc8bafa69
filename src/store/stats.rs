//! Statistics read from the daily rollups and the population counts (migrations
//! 0003, 0004), so their cost follows the window asked, not the length of the
//! history or the number of members. Metric definitions: shared/docs/PRODUCT.md.

use chrono::NaiveDate;

use crate::domain::{CommunityId, MemberId};
use crate::error::Result;

/// Figures over communities and members, as the application reads them; all
/// on the read pool.
impl super::Store {
    /// DAU, WAU and MAU as of `on`.
    pub async fn active_members(
        &self,
        community: CommunityId,
        on: NaiveDate,
    ) -> Result<ActiveMembers> {
        on_engine!(self, e => sql::stats::active_members(&e.read, community, on).await)
    }

    /// Totals over `[from, to]`.
    pub async fn window_totals(
        &self,
        community: CommunityId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<WindowTotals> {
        on_engine!(self, e => sql::stats::window_totals(&e.read, community, from, to).await)
    }

    /// The members with most contributions in `[from, to]`, summed from the daily
    /// rows: (name, contributions, kudos received).
    pub async fn top_contributors(
        &self,
        community: CommunityId,
        from: NaiveDate,
        to: NaiveDate,
        limit: i64,
    ) -> Result<Vec<(String, i64, i64)>> {
        on_engine!(self, e => {
            sql::stats::top_contributors(&e.read, community, from, to, limit).await
        })
    }

    /// The all-time top: (name, contributions, kudos received).
    pub async fn top_all_time(
        &self,
        community: CommunityId,
        limit: i64,
    ) -> Result<Vec<(String, i64, i64)>> {
        on_engine!(self, e => sql::stats::top_all_time(&e.read, community, limit).await)
    }

    /// Members whose contributions rose most from the 30 days before `from` to
    /// `[from, to]`: (name, now, before).
    pub async fn most_improved(
        &self,
        community: CommunityId,
        from: NaiveDate,
        to: NaiveDate,
        limit: i64,
    ) -> Result<Vec<(String, i64, i64)>> {
        on_engine!(self, e => sql::stats::most_improved(&e.read, community, from, to, limit).await)
    }

    /// Days on which a member contributed (as stored), newest first, at most `limit`.
    pub async fn contribution_days(&self, member: MemberId, limit: i64) -> Result<Vec<String>> {
        on_engine!(self, e => sql::stats::contribution_days(&e.read, member, limit).await)
    }

    /// A member's amounts by unit.
    pub async fn member_amounts(&self, member: MemberId) -> Result<Vec<(String, f64)>> {
        on_engine!(self, e => sql::stats::member_amounts(&e.read, member).await)
    }

    /// Days a member was active in `[from, to]`.
    pub async fn member_active_days(
        &self,
        member: MemberId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<i64> {
        on_engine!(self, e => sql::stats::member_active_days(&e.read, member, from, to).await)
    }

    /// Members who joined in `[from, to)`.
    pub async fn members_joined(
        &self,
        community: CommunityId,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<i64> {
        on_engine!(self, e => sql::stats::members_joined(&e.read, community, from, to).await)
    }

    /// Goals whose deadline passed by `today`, and how many of them were met by it.
    pub async fn goals_due(&self, community: CommunityId, today: NaiveDate) -> Result<(i64, i64)> {
        on_engine!(self, e => sql::stats::goals_due(&e.read, community, today).await)
    }

    /// Contributions per mission value since `from` (the day included).
    pub async fn value_counts(
        &self,
        community: CommunityId,
        from: NaiveDate,
    ) -> Result<Vec<(String, i64)>> {
        on_engine!(self, e => sql::stats::value_counts(&e.read, community, from).await)
    }

    /// How many milestones were reached in `[from, to)`.
    pub async fn milestones_reached(
        &self,
        community: CommunityId,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<i64> {
        on_engine!(self, e => sql::stats::milestones_reached(&e.read, community, from, to).await)
    }

    /// The milestones reached in `[from, to)`, oldest first, at most `limit`.
    pub async fn milestones_reached_list(
        &self,
        community: CommunityId,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        limit: i64,
    ) -> Result<Vec<Reached>> {
        on_engine!(self, e => {
            sql::stats::milestones_reached_list(&e.read, community, from, to, limit).await
        })
    }

    /// Growth over `[from, to]`: joins, leaves, and members at either end.
    pub async fn growth(
        &self,
        community: CommunityId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<GrowthCounts> {
        on_engine!(self, e => sql::stats::growth(&e.read, community, from, to).await)
    }

    /// Cohort counts of one kind whose cohort starts in `[from, to]`: (cohort,
    /// period, members of the cohort active in the period).
    pub async fn cohort_counts(
        &self,
        community: CommunityId,
        kind: crate::domain::cohorts::PeriodKind,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, NaiveDate, i64)>> {
        on_engine!(self, e => sql::stats::cohort_counts(&e.read, community, kind, from, to).await)
    }

    /// First-time contributors in `[from, to]`, and how many of them made a 2nd
    /// and a 4th contribution within 90 days of their first.
    pub async fn conversion(
        &self,
        community: CommunityId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<(i64, i64, i64)> {
        on_engine!(self, e => sql::stats::conversion(&e.read, community, from, to).await)
    }

    /// Activity events per UTC hour over `[from, to]`.
    pub async fn activity_by_hour(
        &self,
        community: CommunityId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<[i64; 24]> {
        on_engine!(self, e => sql::stats::by_hour(&e.read, community, from, to).await)
    }

    /// Contributions per contributing member over `[from, to]` as a histogram of
    /// (contributions, members), summed from the daily rows.
    pub async fn contribution_histogram(
        &self,
        community: CommunityId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(u64, u64)>> {
        on_engine!(self, e => {
            sql::stats::contribution_histogram(&e.read, community, from, to).await
        })
    }

    /// Per day over `[from, to]`: (day, DAU, WAU, contributions).
    pub async fn daily_activity(
        &self,
        community: CommunityId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, i64, i64, i64)>> {
        on_engine!(self, e => sql::stats::daily(&e.read, community, from, to).await)
    }
}

/// Active-member counts as of one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveMembers {
    /// Distinct members with activity on the day (PRODUCT.md: DAU, rolling 1 day).
    pub dau: i64,
    /// Distinct members with activity in the 7 days ending on the day (WAU).
    pub wau: i64,
    /// Distinct members with activity in the 28 days ending on the day (MAU).
    pub mau: i64,
}

/// Totals over a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowTotals {
    /// Sum over the window's days of that day's active members; ÷ days = mean DAU.
    pub member_days: i64,
    pub contributions: i64,
    pub kudos: i64,
    /// Contributions linked to a goal or a value.
    pub aligned: i64,
}

/// The current run of consecutive contribution days ending today or yesterday
/// (a streak is not broken before the day is over).
pub fn streak(days_desc: &[NaiveDate], today: NaiveDate) -> u32 {
    let mut expected = match days_desc.first() {
        Some(&d) if d == today => today,
        Some(&d) if Some(d) == today.pred_opt() => d,
        _ => return 0,
    };
    let mut run = 0;
    for &d in days_desc {
        if d != expected {
            break;
        }
        run += 1;
        expected = match d.pred_opt() {
            Some(p) => p,
            None => break,
        };
    }
    run
}

/// Growth over `[from, to]` (PRODUCT.md "Growth"): joins, leaves, and members at
/// the start and at the end. Members who used `forget-me` are gone from every count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrowthCounts {
    pub joins: i64,
    pub leaves: i64,
    pub at_start: i64,
    pub at_end: i64,
}

/// A milestone reached, as the digest lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Reached {
    pub title: String,
    pub milestone_key: String,
    /// The member whose own milestone it is, with their name now.
    pub member_id: Option<MemberId>,
    pub member_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaks() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let today = d("2026-11-26");
        assert_eq!(streak(&[], today), 0);
        assert_eq!(
            streak(&[d("2026-11-26"), d("2026-11-25"), d("2026-11-23")], today),
            2
        );
        assert_eq!(streak(&[d("2026-11-25"), d("2026-11-24")], today), 2);
        assert_eq!(streak(&[d("2026-11-24")], today), 0);
    }
}
