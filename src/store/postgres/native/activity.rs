//! PostgreSQL's activity writer (placeholder while it is written).

use chrono::NaiveDate;
use sqlx::PgConnection;

use crate::domain::{CommunityId, MemberId};
use crate::error::{Error, Result};
use crate::store::activity::Counts;

/// Adds activity (all counts ≥ 0) for members of one community.
pub async fn record(
    _conn: &mut PgConnection,
    _community: CommunityId,
    _entries: &[(MemberId, NaiveDate, Counts)],
) -> Result<()> {
    Err(Error::internal(
        "recording activity",
        "not yet on PostgreSQL",
    ))
}
