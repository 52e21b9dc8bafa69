//! Rolling active-member counts, kept exact by adding each member's part.
//!
//! PRODUCT.md defines DAU / WAU / MAU as the distinct members with activity in the
//! rolling 1 / 7 / 28 days. A distinct count over a rolling window is the sum over
//! members of "was this member active in the window ending on day X", so each
//! member's active days *cover* a set of days per window width, and the community's
//! count for day X is how many members cover X. Adding or erasing a member's day
//! changes only that member's coverage; these functions compute it.

use std::collections::BTreeSet;

use chrono::{Days, NaiveDate};

/// Window widths in days: DAU, WAU, MAU.
pub const WIDTHS: [u32; 3] = [1, 7, 28];

/// The days X for which some day in `days` lies in `[X - width + 1, X]`.
pub fn covered(days: &BTreeSet<NaiveDate>, width: u32) -> BTreeSet<NaiveDate> {
    let mut out = BTreeSet::new();
    for &d in days {
        for k in 0..u64::from(width) {
            if let Some(x) = d.checked_add_days(Days::new(k)) {
                out.insert(x);
            }
        }
    }
    out
}

/// Per-day changes (+1 / −1) in a window's count when a member's active days go
/// from `before` to `after`. Both sets must include every active day of the member
/// within `width - 1` days of any day that changed.
pub fn coverage_change(
    before: &BTreeSet<NaiveDate>,
    after: &BTreeSet<NaiveDate>,
    width: u32,
) -> Vec<(NaiveDate, i64)> {
    let (b, a) = (covered(before, width), covered(after, width));
    let added = a.difference(&b).map(|&d| (d, 1));
    let removed = b.difference(&a).map(|&d| (d, -1));
    added.chain(removed).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn set(days: &[&str]) -> BTreeSet<NaiveDate> {
        days.iter().map(|s| d(s)).collect()
    }

    #[test]
    fn a_new_day_covers_the_window_after_it() {
        let change = coverage_change(&set(&[]), &set(&["2026-11-01"]), 7);
        assert_eq!(change.len(), 7);
        assert!(change.iter().all(|(_, n)| *n == 1));
        assert_eq!(change[0].0, d("2026-11-01"));
        assert_eq!(change[6].0, d("2026-11-07"));
    }

    #[test]
    fn overlapping_days_add_only_what_is_new() {
        // Active on the 1st; adding the 3rd extends WAU coverage by 2 days (8th, 9th).
        let change = coverage_change(
            &set(&["2026-11-01"]),
            &set(&["2026-11-01", "2026-11-03"]),
            7,
        );
        assert_eq!(change, vec![(d("2026-11-08"), 1), (d("2026-11-09"), 1)]);
        // DAU: just the day itself.
        let change = coverage_change(
            &set(&["2026-11-01"]),
            &set(&["2026-11-01", "2026-11-03"]),
            1,
        );
        assert_eq!(change, vec![(d("2026-11-03"), 1)]);
    }

    #[test]
    fn erasing_removes_coverage() {
        let change = coverage_change(&set(&["2026-11-01", "2026-11-03"]), &set(&[]), 7);
        assert_eq!(change.len(), 9);
        assert!(change.iter().all(|(_, n)| *n == -1));
    }
}
