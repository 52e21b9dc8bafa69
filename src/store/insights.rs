//! What the insights read, kept in step with activity (migration 0003): members'
//! first and last active days, retention-cohort counts, activity by UTC hour,
//! the days of each member's 1st, 2nd and 4th contribution, and which members'
//! health signals need computing again. Metric definitions: shared/docs/PRODUCT.md.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::json;

use crate::domain::cohorts::CohortCounts;
use crate::domain::{CommunityId, MemberId};
use crate::error::Result;
use crate::store::day;

// Rows the engines' insights statements (`native::insights`) read, one JSON
// array each: the same on both engines.

/// Rows for `ADD_COHORTS`: a community's changes to the retention cohorts.
pub(super) fn cohorts_json(
    community: CommunityId,
    counts: &CohortCounts,
) -> impl Iterator<Item = serde_json::Value> + '_ {
    counts
        .iter()
        .filter(|(_, n)| **n != 0)
        .map(move |((kind, cohort, period), n)| {
            json!({"community": community, "kind": kind.as_str(), "cohort": day(*cohort),
                   "period": day(*period), "n": n})
        })
}

/// A row for `MARK_DIRTY`: a member whose health signals must be computed again.
pub(super) fn dirty_row(community: CommunityId, member: MemberId) -> serde_json::Value {
    json!({"community": community, "member": member})
}

/// A row for `WIDEN_ACTIVE_DAYS`: a member's new active days span `lo` to `hi`.
pub(super) fn bounds_row(member: MemberId, lo: NaiveDate, hi: NaiveDate) -> serde_json::Value {
    json!({"member": member, "lo": day(lo), "hi": day(hi)})
}

/// Rows for `ADD_HOURS`: events per UTC day and hour.
pub(super) fn hours_json<'a>(
    events: impl IntoIterator<Item = (CommunityId, &'a BTreeMap<(NaiveDate, u32), i64>)>,
) -> Result<String> {
    let rows: Vec<serde_json::Value> = events
        .into_iter()
        .flat_map(|(community, hours)| {
            hours.iter().map(move |((d, hour), n)| {
                json!({"community": community, "day": day(*d), "hour": hour, "events": n})
            })
        })
        .collect();
    Ok(serde_json::to_string(&rows)?)
}

/// Rows for `REACH_ORDINALS`: (member, ordinal, day).
pub(super) fn ordinals_json(reached: &[(MemberId, i64, NaiveDate)]) -> Result<String> {
    let rows: Vec<serde_json::Value> = reached
        .iter()
        .map(|(member, nth, on)| json!({"member": member, "nth": nth, "day": day(*on)}))
        .collect();
    Ok(serde_json::to_string(&rows)?)
}
