//! What the health report reads. The drop and overload signals need fifteen weeks
//! of every member's active days, so they are computed once a day per community
//! into `member_signals` (for the members who show them) and, during the day, again
//! for just the members whose active days changed (`member_signal_dirty`, marked by
//! the activity writer). A background job keeps both current; a read that finds
//! them behind brings them up to date first, so what is shown is always exact.
//! Everything else comes from indexed columns (migration 0003) and counts kept
//! per community (migration 0004): named lists read the page shown, totals a few
//! rows, however many members there are.

use chrono::{DateTime, NaiveDate, Utc};

use super::export::Exported;
use crate::domain::{CommunityId, MemberId};
use crate::error::Result;

/// Health signals and lists, as the application reads them.
impl super::Store {
    /// Whether the community's signals are exact for `today` as they stand.
    pub async fn health_signals_current(
        &self,
        community: CommunityId,
        today: NaiveDate,
    ) -> Result<bool> {
        on_engine!(self, e => sql::health::signals_current(&e.read, community, today).await)
    }

    /// Brings the community's signals up to `today`, in one write transaction.
    pub async fn refresh_health_signals(
        &self,
        community: CommunityId,
        today: NaiveDate,
    ) -> Result<()> {
        self.refresh_signals(community, today).await
    }

    /// Brings the kept `window`-day totals and the health signals up to `today`:
    /// whatever is behind is counted on a read snapshot, then brought up to date
    /// in one write transaction; none when both are current.
    pub async fn catch_up_health(
        &self,
        community: CommunityId,
        window: u32,
        today: NaiveDate,
    ) -> Result<()> {
        on_engine!(self, e => {
            let window_behind =
                !sql::windows::is_current(&e.read, community, window, today).await?;
            let signals_behind = !sql::health::signals_current(&e.read, community, today).await?;
            if !window_behind && !signals_behind {
                return Ok(());
            }
            let counted = if window_behind {
                sql::windows::count_since_marks(&e.read, community).await?
            } else {
                None
            };
            e.write_in(community, async |conn| {
                if window_behind {
                    sql::windows::catch_up_counted(conn, community, today, counted).await?;
                }
                if signals_behind {
                    sql::health::refresh_signals(conn, community, today).await?;
                }
                Ok(())
            })
            .await
        })
    }

    /// Members showing a signal ("drop" or "overload"), leaving out those away
    /// and those who left: a page of names in member order and the full count.
    pub async fn members_flagged(
        &self,
        community: CommunityId,
        signal: &str,
        page: Page,
    ) -> Result<Listed> {
        on_engine!(self, e => {
            sql::health::flagged(&e.read, community, signal, page.limit, page.offset).await
        })
    }

    /// Whether a member shows a signal ("drop" or "overload").
    pub async fn member_flagged(
        &self,
        community: CommunityId,
        signal: &str,
        member: MemberId,
    ) -> Result<bool> {
        on_engine!(self, e => sql::health::is_flagged(&e.read, community, signal, member).await)
    }

    /// Members inactive for more than `interval` days on `today`, away members
    /// left out: a page of the most recently active and the full count.
    pub async fn inactive_members(
        &self,
        community: CommunityId,
        today: NaiveDate,
        interval: u64,
        page: Page,
    ) -> Result<Listed> {
        on_engine!(self, e => {
            sql::health::inactive(&e.read, community, today, interval, page.limit, page.offset)
                .await
        })
    }

    /// How many members were inactive on `today`, away or not.
    pub async fn inactive_member_count(
        &self,
        community: CommunityId,
        today: NaiveDate,
        interval: u64,
    ) -> Result<i64> {
        on_engine!(self, e => {
            sql::health::inactive_count(&e.read, community, today, interval).await
        })
    }

    /// Members who joined in the last `interval` days, have not contributed yet
    /// and have not left.
    pub async fn newcomers_yet_to_contribute(
        &self,
        community: CommunityId,
        today: NaiveDate,
        interval: u64,
        page: Page,
    ) -> Result<Listed> {
        on_engine!(self, e => {
            sql::health::newcomers(&e.read, community, today, interval, page.limit, page.offset)
                .await
        })
    }

    /// Writes every name on the health lists into `sink` as CSV, from one read
    /// snapshot.
    pub async fn export_health<W: std::io::Write + Send + 'static>(
        &self,
        lists: HealthExport,
        sink: W,
    ) -> Result<Exported<W>> {
        self.write_streamed(
            sink,
            async |out| on_engine!(self, e => sql::health::export(&e.read, &lists, out).await),
        )
        .await
    }

    /// The member with most contributions in a kept window, if any: id, name and
    /// whether health lists leave them out (away, or left).
    pub async fn top_of_window(
        &self,
        community: CommunityId,
        window: u32,
    ) -> Result<Option<(MemberId, String, bool)>> {
        on_engine!(self, e => sql::health::top_of_window(&e.read, community, window).await)
    }

    /// How many members need attention; signals must be current.
    pub async fn attention_counts(
        &self,
        community: CommunityId,
        today: NaiveDate,
        interval: u64,
    ) -> Result<Attention> {
        on_engine!(self, e => {
            sql::health::attention_counts(&e.read, community, today, interval).await
        })
    }

    /// Communities whose signals are behind `today` or have members to compute again.
    pub async fn signals_behind(&self, today: NaiveDate) -> Result<Vec<CommunityId>> {
        on_engine!(self, e => sql::health::signals_behind(&e.read, today).await)
    }

    /// Brings a community's signals up to `today`, in one write transaction.
    pub async fn refresh_signals(&self, community: CommunityId, today: NaiveDate) -> Result<()> {
        on_engine!(self, e => e
            .write_in(community, async |conn| {
                sql::health::refresh_signals(conn, community, today).await
            })
            .await)
    }
}

/// Which names of a list to read: `limit` of them after the first `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

/// What `export health` writes: the lists as `health` shows them on `today`
/// with the community's inactivity interval, and the member the overload list
/// adds for carrying half the work (the app decides, as `health` does).
#[derive(Debug, Clone, Copy)]
pub struct HealthExport {
    pub community: CommunityId,
    pub today: NaiveDate,
    pub interval: u64,
    pub carrying_half: Option<MemberId>,
    pub now: DateTime<Utc>,
    /// Where members said yes to events and came to none: since then, until now.
    pub no_shows_since: DateTime<Utc>,
    /// Where the community pairs members, who joined since then counts as a
    /// newcomer to introduce.
    pub newcomers_introduced_since: Option<DateTime<Utc>>,
}

/// The health export's columns: which list, the member, their last active day
/// and the day they joined.
pub const HEALTH_CSV_HEADER: [&str; 4] = ["list", "member", "last_active", "joined"];

/// A page of names (in the list's order) and the full count of a list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listed {
    pub names: Vec<String>,
    pub total: i64,
}

/// How many members need attention, for the digest (PRODUCT.md: names stay in
/// `health`). Signals must be current; away members are left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attention {
    pub dropping: i64,
    pub overloaded: i64,
    pub inactive: i64,
}
