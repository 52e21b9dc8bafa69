//! Community-health metrics, computed from plain numbers so each definition can be
//! checked by hand. Every function cites its definition in shared/docs/PRODUCT.md
//! ("Metric definitions"); the store supplies the counts, the app the wording.

/// Figures about groups smaller than this are not shown: they would single
/// someone out (PRODUCT.md: "any group figure computed over fewer than 5 members
/// says so instead of showing a number").
pub const MIN_GROUP: usize = 5;

/// A figure about a group, or the reason it is withheld.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Guarded<T> {
    Shown(T),
    /// The group has fewer than [`MIN_GROUP`] members.
    TooFew {
        members: usize,
    },
}

/// Withholds `value` when it was computed over fewer than [`MIN_GROUP`] members.
pub fn guarded<T>(members: usize, value: T) -> Guarded<T> {
    if members < MIN_GROUP {
        Guarded::TooFew { members }
    } else {
        Guarded::Shown(value)
    }
}

/// **Gini** of contributions per member (PRODUCT.md): sort ascending,
/// G = 2·Σ i·cᵢ ÷ (n·Σc) − (n+1) ÷ n, with i from 1. 0 is perfect equality; it
/// nears 1 when one member does everything. None without contributions.
pub fn gini(counts: &[u64]) -> Option<f64> {
    let n = counts.len();
    let total: u64 = counts.iter().sum();
    if n == 0 || total == 0 {
        return None;
    }
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    let weighted: f64 = sorted
        .iter()
        .enumerate()
        .map(|(i, &c)| (i as f64 + 1.0) * c as f64)
        .sum();
    let n = n as f64;
    Some(2.0 * weighted / (n * total as f64) - (n + 1.0) / n)
}

/// **Contributor Absence Factor** (PRODUCT.md, CHAOSS): sort members by
/// contribution count descending; the smallest k whose top-k share is ≥ 50 %.
pub fn contributor_absence_factor(counts: &[u64]) -> Option<usize> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let mut sorted = counts.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let mut running = 0u64;
    for (k, c) in sorted.iter().enumerate() {
        running += c;
        // running / total ≥ 1/2, in integers.
        if running * 2 >= total {
            return Some(k + 1);
        }
    }
    Some(sorted.len())
}

/// Contribution counts as a histogram: (contributions, members with that many).
/// What the store keeps per window, so equity figures read the distinct totals,
/// not every member.
pub type Histogram = [(u64, u64)];

/// Members counted in a histogram.
pub fn members(histogram: &Histogram) -> usize {
    histogram.iter().map(|&(_, n)| n as usize).sum()
}

/// [`gini`] over a histogram: the same figure, in time that follows the distinct
/// counts. A run of k members with count c at ranks a+1 … a+k adds
/// c·(k·a + k(k+1)/2) to Σ i·cᵢ (PRODUCT.md "Gini").
pub fn gini_of_histogram(histogram: &Histogram) -> Option<f64> {
    let mut sorted: Vec<(u64, u64)> = histogram.iter().copied().filter(|&(_, n)| n > 0).collect();
    sorted.sort_unstable();
    let n: u128 = sorted.iter().map(|&(_, k)| u128::from(k)).sum();
    let total: u128 = sorted
        .iter()
        .map(|&(c, k)| u128::from(c) * u128::from(k))
        .sum();
    if n == 0 || total == 0 {
        return None;
    }
    let mut below: u128 = 0;
    let mut weighted: u128 = 0;
    for (c, k) in sorted {
        let (c, k) = (u128::from(c), u128::from(k));
        weighted += c * (k * below + k * (k + 1) / 2);
        below += k;
    }
    let n = n as f64;
    Some(2.0 * weighted as f64 / (n * total as f64) - (n + 1.0) / n)
}

/// [`contributor_absence_factor`] over a histogram (PRODUCT.md "Contributor
/// Absence Factor"): walking the counts from the largest, the smallest k whose
/// top-k share is ≥ 50 %.
pub fn contributor_absence_factor_of_histogram(histogram: &Histogram) -> Option<usize> {
    let mut sorted: Vec<(u64, u64)> = histogram.iter().copied().filter(|&(_, n)| n > 0).collect();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let total: u128 = sorted
        .iter()
        .map(|&(c, k)| u128::from(c) * u128::from(k))
        .sum();
    if total == 0 {
        return None;
    }
    let (mut running, mut taken) = (0u128, 0u128);
    for (c, k) in sorted {
        let (c, k) = (u128::from(c), u128::from(k));
        if c > 0 && (running + c * k) * 2 >= total {
            // The fewest j of these k with (running + j·c)·2 ≥ total.
            let needed = total.saturating_sub(running * 2);
            let j = needed.div_ceil(2 * c).max(1);
            return Some((taken + j) as usize);
        }
        running += c * k;
        taken += k;
    }
    Some(taken as usize)
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// **Drop signal** (PRODUCT.md): baseline b = median active days per week over the
/// previous 12 weeks; flag when the mean of the last 3 weeks is < 0.5·b and b ≥ 1.
/// `weeks` is active days per week, oldest first: the 12 baseline weeks, then the
/// last 3.
pub fn drop_signal(weeks: &[u32; 15]) -> bool {
    let baseline: Vec<f64> = weeks[..12].iter().map(|&d| f64::from(d)).collect();
    let b = median(&baseline);
    let recent = weeks[12..].iter().map(|&d| f64::from(d)).sum::<f64>() / 3.0;
    b >= 1.0 && recent < 0.5 * b
}

/// **Overload signal** (PRODUCT.md): active on ≥ 90 % of the last 14 days, or the
/// member alone makes up the period's Contributor Absence Factor (CAF = 1).
pub fn overload_signal(active_days_of_last_14: u32, sole_absence_factor: bool) -> bool {
    f64::from(active_days_of_last_14) >= 0.9 * 14.0 || sole_absence_factor
}

/// **Growth** (PRODUCT.md): net = joins − leaves; rate = (N_end − N_start) ÷ N_start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Growth {
    pub net: i64,
    pub rate: Option<f64>,
}

pub fn growth(joins: u64, leaves: u64, members_at_start: u64, members_at_end: u64) -> Growth {
    Growth {
        net: joins as i64 - leaves as i64,
        rate: (members_at_start > 0)
            .then(|| (members_at_end as f64 - members_at_start as f64) / members_at_start as f64),
    }
}

/// **Retention cohorts** (PRODUCT.md): C_w = members whose first activity fell in
/// period w; R(w,k) = |members of C_w active in period w+k| ÷ |C_w|.
///
/// `active_periods` lists, per member, the period indexes (0 = first of the
/// window) in which they were active; a member's first period is their cohort.
/// Returns, per cohort, its size and R for k = 0, 1, … up to the last period.
pub fn retention(active_periods: &[Vec<usize>], periods: usize) -> Vec<(usize, Vec<f64>)> {
    let mut cohorts: Vec<Vec<&Vec<usize>>> = vec![Vec::new(); periods];
    for member in active_periods {
        if let Some(&first) = member.iter().min()
            && first < periods
        {
            cohorts[first].push(member);
        }
    }
    cohorts
        .iter()
        .enumerate()
        .map(|(w, members)| {
            let size = members.len();
            let rates = (0..periods - w)
                .map(|k| {
                    if size == 0 {
                        return 0.0;
                    }
                    let active = members.iter().filter(|m| m.contains(&(w + k))).count();
                    active as f64 / size as f64
                })
                .collect();
            (size, rates)
        })
        .collect()
}

/// **Newcomer conversion** (PRODUCT.md, CHAOSS): of first-time contributors, the
/// share who make a 2nd contribution, and a 4th, within 90 days of their first.
/// `days_after_first` lists, per newcomer, the days after their first
/// contribution on which each later one came (sorted or not).
pub fn newcomer_conversion(days_after_first: &[Vec<u32>]) -> Option<(f64, f64)> {
    if days_after_first.is_empty() {
        return None;
    }
    let within =
        |later: &Vec<u32>, nth: usize| later.iter().filter(|&&d| d <= 90).count() >= nth - 1;
    let n = days_after_first.len() as f64;
    let second = days_after_first.iter().filter(|l| within(l, 2)).count() as f64 / n;
    let fourth = days_after_first.iter().filter(|l| within(l, 4)).count() as f64 / n;
    Some((second, fourth))
}

/// **Newcomer conversion** (PRODUCT.md, CHAOSS) from counts kept by the store:
/// of `newcomers` first-time contributors, `second` made a 2nd contribution and
/// `fourth` a 4th within 90 days of their first.
pub fn conversion_rates(newcomers: u64, second: u64, fourth: u64) -> Option<(f64, f64)> {
    (newcomers > 0).then(|| {
        (
            second as f64 / newcomers as f64,
            fourth as f64 / newcomers as f64,
        )
    })
}

/// **Goal-achievement rate** (PRODUCT.md): goals met by their deadline ÷ goals
/// whose deadline has passed.
pub fn goal_achievement_rate(met_by_deadline: u64, deadline_passed: u64) -> Option<f64> {
    (deadline_passed > 0).then(|| met_by_deadline as f64 / deadline_passed as f64)
}

/// **Alignment** (PRODUCT.md, mission drift): contributions in the window linked
/// to a goal or value ÷ all contributions in the window.
pub fn alignment(linked: u64, all: u64) -> Option<f64> {
    (all > 0).then(|| linked as f64 / all as f64)
}

/// Whether alignment has fallen below the community's threshold (default 50 %).
pub fn drifting(alignment: Option<f64>, threshold: f64) -> bool {
    alignment.is_some_and(|a| a < threshold)
}

/// **Events** (issue 19; PRODUCT.md counts attendance as activity): an event is
/// *held* in a window when it started in it, is over, and was not cancelled.
/// **Attendance rate** = attendees of the held events ÷ their yes answers with a
/// place; walk-ins count, so it can pass 100 %. **No-show rate** = those yes
/// answers whose member did not attend ÷ the yes answers.
pub fn attendance_rates(yes: u64, attended: u64, yes_attended: u64) -> Option<(f64, f64)> {
    (yes > 0).then(|| {
        (
            attended as f64 / yes as f64,
            yes.saturating_sub(yes_attended) as f64 / yes as f64,
        )
    })
}

/// **Introductions** (issue 19; a confirmed introduction is activity): groups
/// a pairing round introduced in the window. **Meet rate** = groups in which
/// someone answered "yes, we met" ÷ groups asked "Did you meet?". **Members
/// introduced** = members in the rounds now who were in a group in the last
/// [`INTRODUCED_DAYS`] ÷ members in the rounds.
pub fn meet_rate(met: u64, asked: u64) -> Option<f64> {
    (asked > 0).then(|| met as f64 / asked as f64)
}

pub const INTRODUCED_DAYS: i64 = 90;

/// Health lists members who answered yes (with a place) to at least this many
/// events held in the last [`YES_NEVER_ATTENDING_DAYS`] and attended none: one
/// missed event is life, a habit of it is an early sign of drifting away.
pub const YES_NEVER_ATTENDING_MIN: i64 = 2;
pub const YES_NEVER_ATTENDING_DAYS: i64 = 90;

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn attendance_and_no_show_rates_by_hand() {
        assert_eq!(attendance_rates(0, 3, 0), None);
        // 10 said yes, 6 of them came, and 2 came without answering.
        let (attendance, no_show) = attendance_rates(10, 8, 6).unwrap();
        assert!(close(attendance, 0.8) && close(no_show, 0.4));
        let (attendance, no_show) = attendance_rates(2, 5, 2).unwrap();
        assert!(close(attendance, 2.5) && close(no_show, 0.0));
    }

    #[test]
    fn gini_by_hand() {
        // Everyone equal: 0.
        assert!(close(gini(&[3, 3, 3, 3]).unwrap(), 0.0));
        // [0, 0, 0, 10]: Σ i·cᵢ = 4·10 = 40; 2·40 ÷ (4·10) − 5/4 = 2 − 1.25 = 0.75.
        assert!(close(gini(&[10, 0, 0, 0]).unwrap(), 0.75));
        // [1, 2, 3, 4]: Σ i·cᵢ = 1+4+9+16 = 30; 60 ÷ 40 − 1.25 = 0.25.
        assert!(close(gini(&[4, 1, 3, 2]).unwrap(), 0.25));
        assert_eq!(gini(&[]), None);
        assert_eq!(gini(&[0, 0]), None);
    }

    /// The histogram forms give exactly the figures of the per-member forms.
    #[test]
    fn histogram_forms_match_per_member_forms() {
        let cases: Vec<Vec<u64>> = vec![
            vec![],
            vec![0, 0],
            vec![10, 5, 3, 2],
            vec![6, 9, 5, 5],
            vec![1, 1, 1, 1, 1],
            vec![10, 0, 0, 0],
            vec![4, 1, 3, 2],
            (1..200).map(|i| (i * i) % 37 + 1).collect(),
            (0..5000)
                .map(|i| ((i as u64 * 7919) % 101) * ((i as u64 % 3) + 1))
                .collect(),
        ];
        for counts in cases {
            let mut histogram: std::collections::BTreeMap<u64, u64> = Default::default();
            for &c in counts.iter().filter(|&&c| c > 0) {
                *histogram.entry(c).or_default() += 1;
            }
            let histogram: Vec<(u64, u64)> = histogram.into_iter().collect();
            let positive: Vec<u64> = counts.iter().copied().filter(|&c| c > 0).collect();
            assert_eq!(gini_of_histogram(&histogram), gini(&positive), "{counts:?}");
            assert_eq!(
                contributor_absence_factor_of_histogram(&histogram),
                contributor_absence_factor(&positive),
                "{counts:?}"
            );
            assert_eq!(members(&histogram), positive.len());
        }
    }

    #[test]
    fn absence_factor_by_hand() {
        // 10 of 20 from the top member: exactly half, so k = 1.
        assert_eq!(contributor_absence_factor(&[10, 5, 3, 2]), Some(1));
        // 9 + 6 = 15 ≥ 12.5 of 25: k = 2.
        assert_eq!(contributor_absence_factor(&[6, 9, 5, 5]), Some(2));
        // Five equal members: 3 of 5 needed (2 of 5 is 40 %).
        assert_eq!(contributor_absence_factor(&[1, 1, 1, 1, 1]), Some(3));
        assert_eq!(contributor_absence_factor(&[0, 0]), None);
    }

    #[test]
    fn drop_signal_from_the_issue() {
        // Active 4 days a week for 12 weeks, then once in 3 weeks: b = 4, recent
        // mean = 1/3 < 2 → flagged.
        let mut weeks = [4u32; 15];
        weeks[12..].copy_from_slice(&[1, 0, 0]);
        assert!(drop_signal(&weeks));
        // Steady: not flagged.
        assert!(!drop_signal(&[4; 15]));
        // Someone who was barely there (b = 0) cannot drop.
        let mut light = [0u32; 15];
        light[3] = 2;
        assert!(!drop_signal(&light));
        // Half the baseline exactly is not below half.
        let mut half = [4u32; 15];
        half[12..].copy_from_slice(&[2, 2, 2]);
        assert!(!drop_signal(&half));
    }

    #[test]
    fn overload_from_the_issue() {
        // Active 13 of the last 14 days: 13 ≥ 12.6 → overloaded.
        assert!(overload_signal(13, false));
        assert!(!overload_signal(12, false));
        assert!(overload_signal(3, true));
    }

    #[test]
    fn growth_and_rates() {
        assert_eq!(
            growth(12, 2, 40, 50),
            Growth {
                net: 10,
                rate: Some(0.25)
            }
        );
        assert_eq!(growth(3, 0, 0, 3).rate, None);
        assert_eq!(goal_achievement_rate(2, 3), Some(2.0 / 3.0));
        assert_eq!(goal_achievement_rate(0, 0), None);
        assert_eq!(alignment(3, 4), Some(0.75));
        assert!(drifting(alignment(2, 5), 0.5));
        assert!(!drifting(alignment(0, 0), 0.5));
    }

    #[test]
    fn retention_by_hand() {
        // Four periods. A: first in 0, active 0,1,3. B: first in 0, active 0,2.
        // C: first in 1, active 1,2. D: first in 1, active 1.
        let members = vec![vec![0, 1, 3], vec![0, 2], vec![1, 2], vec![1]];
        let r = retention(&members, 4);
        // C_0 = {A, B}: R(0,0) = 1, R(0,1) = ½ (A), R(0,2) = ½ (B), R(0,3) = ½ (A).
        assert_eq!(r[0], (2, vec![1.0, 0.5, 0.5, 0.5]));
        // C_1 = {C, D}: R(1,0) = 1, R(1,1) = ½ (C), R(1,2) = 0.
        assert_eq!(r[1], (2, vec![1.0, 0.5, 0.0]));
        assert_eq!(r[2], (0, vec![0.0, 0.0]));
    }

    #[test]
    fn newcomer_conversion_by_hand() {
        // Four newcomers: one never returns; one returns on day 10; one returns on
        // days 5, 20, 60 (a 4th within 90); one returns on day 100 (too late).
        let later = vec![vec![], vec![10], vec![5, 20, 60], vec![100]];
        // 2nd within 90: 2 of 4 = 0.5; 4th within 90: 1 of 4 = 0.25.
        assert_eq!(newcomer_conversion(&later), Some((0.5, 0.25)));
        assert_eq!(newcomer_conversion(&[]), None);
        assert_eq!(conversion_rates(4, 2, 1), Some((0.5, 0.25)));
        assert_eq!(conversion_rates(0, 0, 0), None);
    }

    #[test]
    fn small_groups_are_withheld() {
        assert_eq!(guarded(4, 0.5), Guarded::TooFew { members: 4 });
        assert_eq!(guarded(5, 0.5), Guarded::Shown(0.5));
    }
}
