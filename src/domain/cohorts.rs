//! Retention-cohort bookkeeping (PRODUCT.md "Retention cohorts"): C_w = members
//! whose first activity fell in period w; R(w,k) = |members of C_w active in period
//! w+k| ÷ |C_w|. The store keeps, per (cohort, period), how many members of the
//! cohort were active in the period; these functions say how one member's active
//! days add to those counts, so a change to their days changes only their share.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Days, NaiveDate};

/// Weekly cohorts use Monday-started UTC weeks; monthly ones calendar months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeriodKind {
    Week,
    Month,
}

impl PeriodKind {
    pub const ALL: [PeriodKind; 2] = [PeriodKind::Week, PeriodKind::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::Week => "week",
            PeriodKind::Month => "month",
        }
    }

    /// The first day of the period holding `day`.
    pub fn start(self, day: NaiveDate) -> NaiveDate {
        match self {
            PeriodKind::Week => day - Days::new(u64::from(day.weekday().num_days_from_monday())),
            PeriodKind::Month => day.with_day(1).unwrap_or(day),
        }
    }

    /// The first day of the period after the one starting on `start`.
    pub fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            PeriodKind::Week => start + Days::new(7),
            PeriodKind::Month => start
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(start),
        }
    }
}

/// (kind, cohort start, period start) → members.
pub type CohortCounts = BTreeMap<(PeriodKind, NaiveDate, NaiveDate), i64>;

/// One member's share of the cohort counts: for each kind, +1 for every period in
/// which one of `days` falls, under the cohort of `first` (their first active day).
pub fn share(
    first: Option<NaiveDate>,
    days: &BTreeSet<NaiveDate>,
    sign: i64,
    out: &mut CohortCounts,
) {
    let Some(first) = first else {
        return;
    };
    for kind in PeriodKind::ALL {
        let cohort = kind.start(first);
        let periods: BTreeSet<NaiveDate> = days.iter().map(|d| kind.start(*d)).collect();
        for period in periods {
            *out.entry((kind, cohort, period)).or_default() += sign;
        }
    }
}

/// How the counts change when a member's first day and active days go from
/// `before` to `after`. Both day sets must hold every active day of the member in
/// each period touched (all days when `first` changes).
pub fn change(
    before: (Option<NaiveDate>, &BTreeSet<NaiveDate>),
    after: (Option<NaiveDate>, &BTreeSet<NaiveDate>),
) -> CohortCounts {
    let mut out = CohortCounts::new();
    share(before.0, before.1, -1, &mut out);
    share(after.0, after.1, 1, &mut out);
    out.retain(|_, n| *n != 0);
    out
}

/// Retention rates of the cohorts that start in `[from, to]`: per cohort, its start,
/// size |C_w| and R(w,k) for k = 0 … up to the period holding `to`.
pub fn rates(
    kind: PeriodKind,
    counts: &[(NaiveDate, NaiveDate, i64)],
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<(NaiveDate, i64, Vec<f64>)> {
    let last = kind.start(to);
    let mut out = Vec::new();
    let mut cohort = kind.start(from);
    if cohort < from {
        cohort = kind.next(cohort);
    }
    while cohort <= last {
        let find = |period: NaiveDate| {
            counts
                .iter()
                .find(|(c, p, _)| *c == cohort && *p == period)
                .map_or(0, |(_, _, n)| *n)
        };
        let size = find(cohort);
        let mut row = Vec::new();
        let mut period = cohort;
        while period <= last {
            row.push(if size > 0 {
                find(period) as f64 / size as f64
            } else {
                0.0
            });
            period = kind.next(period);
        }
        out.push((cohort, size, row));
        cohort = kind.next(cohort);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods_start_on_monday_and_the_first() {
        // 2026-11-26 is a Thursday.
        assert_eq!(PeriodKind::Week.start(d("2026-11-26")), d("2026-11-23"));
        assert_eq!(PeriodKind::Week.start(d("2026-11-23")), d("2026-11-23"));
        assert_eq!(PeriodKind::Week.start(d("2026-11-29")), d("2026-11-23"));
        assert_eq!(PeriodKind::Month.start(d("2026-11-26")), d("2026-11-01"));
        assert_eq!(PeriodKind::Month.next(d("2026-12-01")), d("2027-01-01"));
    }

    #[test]
    fn a_second_day_in_the_same_week_adds_nothing_weekly() {
        let first = Some(d("2026-11-02"));
        let before: BTreeSet<_> = [d("2026-11-02")].into();
        let after: BTreeSet<_> = [d("2026-11-02"), d("2026-11-04"), d("2026-11-10")].into();
        let c = change((first, &before), (first, &after));
        // Week: the 4th is in the cohort week already; the 10th opens week 9 Nov.
        // Month: both in November already.
        assert_eq!(
            c,
            [((PeriodKind::Week, d("2026-11-02"), d("2026-11-09")), 1)].into()
        );
    }

    #[test]
    fn an_earlier_first_day_moves_the_member_to_another_cohort() {
        let before: BTreeSet<_> = [d("2026-11-09")].into();
        let after: BTreeSet<_> = [d("2026-10-30"), d("2026-11-09")].into();
        let c = change(
            (Some(d("2026-11-09")), &before),
            (Some(d("2026-10-30")), &after),
        );
        assert_eq!(c[&(PeriodKind::Week, d("2026-11-09"), d("2026-11-09"))], -1);
        assert_eq!(c[&(PeriodKind::Week, d("2026-10-26"), d("2026-10-26"))], 1);
        assert_eq!(c[&(PeriodKind::Week, d("2026-10-26"), d("2026-11-09"))], 1);
        assert_eq!(
            c[&(PeriodKind::Month, d("2026-11-01"), d("2026-11-01"))],
            -1
        );
        assert_eq!(c[&(PeriodKind::Month, d("2026-10-01"), d("2026-10-01"))], 1);
        assert_eq!(c[&(PeriodKind::Month, d("2026-10-01"), d("2026-11-01"))], 1);
    }

    #[test]
    fn rates_by_hand() {
        // Cohort of 2 Nov: 4 members, 2 back the next week, 1 the week after.
        // Cohort of 9 Nov: 2 members, 1 back.
        let counts = vec![
            (d("2026-11-02"), d("2026-11-02"), 4),
            (d("2026-11-02"), d("2026-11-09"), 2),
            (d("2026-11-02"), d("2026-11-16"), 1),
            (d("2026-11-09"), d("2026-11-09"), 2),
            (d("2026-11-09"), d("2026-11-16"), 1),
        ];
        let r = rates(PeriodKind::Week, &counts, d("2026-11-02"), d("2026-11-18"));
        assert_eq!(r.len(), 3);
        assert_eq!(r[0], (d("2026-11-02"), 4, vec![1.0, 0.5, 0.25]));
        assert_eq!(r[1], (d("2026-11-09"), 2, vec![1.0, 0.5]));
        assert_eq!(r[2], (d("2026-11-16"), 0, vec![0.0]));
        // A window starting mid-week begins with the next whole cohort.
        let r = rates(PeriodKind::Week, &counts, d("2026-11-04"), d("2026-11-18"));
        assert_eq!(r[0].0, d("2026-11-09"));
    }
}
