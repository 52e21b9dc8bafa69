//! Members' totals over the standard rolling windows (`member_window_totals`), so
//! the top contributors of the last 7, 28, 30 or 90 days are read from an index
//! instead of summed over every active day.
//!
//! They are kept off the write path: a catch-up reads the contributions and kudos
//! written since its mark and rolls the windows to today. A background job calls
//! it regularly, and a stats read calls it first whenever the totals are behind,
//! so what is shown is always exact. Both count those rows on a read snapshot first
//! (`count_since_marks`) and hold the write lock only to apply them.

use chrono::NaiveDate;

use crate::domain::{CommunityId, MemberId};
use crate::error::Result;

// transitional: the tests count and apply a catch-up themselves.

/// The kept rolling windows, as the application reads them.
impl super::Store {
    /// Brings a community's rolling-window totals up to `today`, counting the new
    /// rows on a read snapshot so the write lock is held only to apply them.
    pub async fn catch_up_windows(&self, community: CommunityId, today: NaiveDate) -> Result<()> {
        on_engine!(self, e => {
            let counted = sql::windows::count_since_marks(&e.read, community).await?;
            e.write_in(community, async |conn| {
                sql::windows::catch_up_counted(conn, community, today, counted).await
            })
            .await
        })
    }

    /// Whether the community's windows are exact for `today` as they stand.
    pub async fn window_is_current(
        &self,
        community: CommunityId,
        window: u32,
        today: NaiveDate,
    ) -> Result<bool> {
        on_engine!(self, e => sql::windows::is_current(&e.read, community, window, today).await)
    }

    /// The top members of a current window: (name, contributions, kudos received).
    pub async fn window_top(
        &self,
        community: CommunityId,
        window: u32,
        limit: i64,
    ) -> Result<Vec<(String, i64, i64)>> {
        on_engine!(self, e => sql::windows::top(&e.read, community, window, limit).await)
    }

    /// Contributions per member over a current window, as a histogram of
    /// (contributions, members with that many).
    pub async fn window_histogram(
        &self,
        community: CommunityId,
        window: u32,
    ) -> Result<Vec<(u64, u64)>> {
        on_engine!(self, e => sql::windows::histogram(&e.read, community, window).await)
    }

    /// Communities whose windows are behind their newest contribution or kudos.
    pub async fn windows_behind(&self) -> Result<Vec<CommunityId>> {
        on_engine!(self, e => sql::windows::behind(&e.read).await)
    }
}

/// The windows kept, in days.
pub const WINDOWS: [u32; 4] = [7, 28, 30, 90];

/// A change to a member's counts on a day: (member, day, contributions, kudos received).
pub type Entry = (MemberId, NaiveDate, i64, i64);

/// How far the totals have counted (contribution and kudos ids) and how many
/// times they were rebuilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Marks {
    pub(super) counted: (i64, i64),
    pub(super) rebuilds: i64,
}

/// Rows written since the marks, counted on a read snapshot for
/// `catch_up_counted`.
pub struct Counted {
    pub(super) since: Marks,
    pub(super) newest: (i64, i64),
    pub(super) entries: Vec<Entry>,
}
