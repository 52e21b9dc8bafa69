//! Introductions: who meets whom in a pairing round (issue "Meaningful
//! activities…", PRODUCT.md). Members of one place (a Slack workspace or a
//! Discord server: Keel cannot open a conversation across platforms) are grouped
//! in pairs, or groups of `size`; those left over join groups, so an odd count
//! makes one trio. A round never puts together two members one of whom asked to
//! avoid the other, avoids every pair that met in the recent rounds, and among
//! arrangements that do, prefers groups where a newcomer meets an established
//! member.
//!
//! Up to [`EXACT_UP_TO`] members every arrangement is weighed, so a repeat-free
//! one is found whenever one exists. Beyond that a greedy placement and a pass of
//! swaps keep a round of 10,000 members well under a second.

use std::collections::HashSet;

use rand::Rng;
use rand::seq::SliceRandom;

use super::MemberId;

/// Members up to which every arrangement is weighed.
pub const EXACT_UP_TO: usize = 12;
/// How many recent rounds a pair must not repeat.
pub const REMEMBERED_ROUNDS: usize = 6;

/// A member opted in and not away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub member: MemberId,
    /// First active under 30 days ago.
    pub newcomer: bool,
}

/// Unordered pairs of members.
#[derive(Debug, Clone, Default)]
pub struct Pairs(HashSet<(MemberId, MemberId)>);

impl Pairs {
    pub fn new() -> Self {
        Pairs::default()
    }

    pub fn insert(&mut self, a: MemberId, b: MemberId) {
        self.0.insert(ordered(a, b));
    }

    /// Every pair within each group.
    pub fn insert_groups<'a>(&mut self, groups: impl IntoIterator<Item = &'a [MemberId]>) {
        for group in groups {
            for (i, a) in group.iter().enumerate() {
                for b in &group[i + 1..] {
                    self.insert(*a, *b);
                }
            }
        }
    }

    pub fn contains(&self, a: MemberId, b: MemberId) -> bool {
        self.0.contains(&ordered(a, b))
    }
}

fn ordered(a: MemberId, b: MemberId) -> (MemberId, MemberId) {
    if a <= b { (a, b) } else { (b, a) }
}

/// A round's arrangement for one place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Arrangement {
    pub groups: Vec<Vec<MemberId>>,
    /// Members no group could take: alone, or only with members they avoid.
    pub sitting_out: Vec<MemberId>,
}

impl Arrangement {
    /// Pairs in it that met in the recent rounds.
    pub fn repeats(&self, met: &Pairs) -> usize {
        self.groups.iter().map(|g| repeats_in(g, met)).sum()
    }
}

/// The sizes of the groups `n` members make: `n / size` groups, those left over
/// spread over them one each (round robin); fewer than `size` members but at
/// least two make one group.
pub fn group_sizes(n: usize, size: usize) -> Vec<usize> {
    let size = size.max(2);
    if n < 2 {
        return Vec::new();
    }
    let groups = (n / size).max(1);
    let mut sizes = vec![n / groups; groups];
    for extra in sizes.iter_mut().take(n % groups) {
        *extra += 1;
    }
    sizes
}

/// Arranges one place's candidates in groups of `size` (at least 2).
pub fn arrange(
    candidates: &[Candidate],
    size: usize,
    met: &Pairs,
    avoid: &Pairs,
    rng: &mut impl Rng,
) -> Arrangement {
    let mut candidates = candidates.to_vec();
    candidates.shuffle(rng);
    let mut sitting_out = Vec::new();
    // Whoever avoids everyone else sits out; others may still be unplaceable, in
    // which case the one with the most avoidances goes and the rest try again.
    while let Some(loner) = candidates.iter().position(|c| {
        candidates
            .iter()
            .all(|o| o.member == c.member || avoid.contains(c.member, o.member))
    }) {
        sitting_out.push(candidates.remove(loner).member);
    }
    loop {
        let arranged = if candidates.len() <= EXACT_UP_TO {
            exact(&candidates, size, met, avoid)
        } else {
            let (groups, unplaced) = greedy(&candidates, size, met, avoid, rng);
            sitting_out.extend(unplaced);
            Some(groups)
        };
        match arranged {
            Some(groups) => {
                return Arrangement {
                    groups,
                    sitting_out,
                };
            }
            None => {
                let most_avoided = (0..candidates.len())
                    .max_by_key(|&i| {
                        candidates
                            .iter()
                            .filter(|o| avoid.contains(candidates[i].member, o.member))
                            .count()
                    })
                    .expect("an arrangement of no one always exists");
                sitting_out.push(candidates.remove(most_avoided).member);
            }
        }
    }
}

/// What an arrangement costs, compared in order: pairs repeated from recent
/// rounds, then groups of newcomers with no established member to meet.
type Cost = (usize, usize);

fn group_cost(group: &[Candidate], met: &Pairs) -> Cost {
    let members: Vec<MemberId> = group.iter().map(|c| c.member).collect();
    let newcomers_alone = group.iter().all(|c| c.newcomer);
    (repeats_in(&members, met), usize::from(newcomers_alone))
}

fn repeats_in(group: &[MemberId], met: &Pairs) -> usize {
    let mut n = 0;
    for (i, a) in group.iter().enumerate() {
        for b in &group[i + 1..] {
            n += usize::from(met.contains(*a, *b));
        }
    }
    n
}

fn avoids_any(group: &[Candidate], avoid: &Pairs) -> bool {
    group.iter().enumerate().any(|(i, a)| {
        group[i + 1..]
            .iter()
            .any(|b| avoid.contains(a.member, b.member))
    })
}

/// The cheapest arrangement of a few candidates, every one weighed; None when
/// every arrangement puts together members who avoid each other.
fn exact(
    candidates: &[Candidate],
    size: usize,
    met: &Pairs,
    avoid: &Pairs,
) -> Option<Vec<Vec<MemberId>>> {
    let mut sizes = group_sizes(candidates.len(), size);
    if sizes.is_empty() {
        return Some(Vec::new());
    }
    sizes.sort_unstable();
    // The fewest groups of newcomers alone any arrangement can have: each
    // established member keeps one group company at most.
    let established = candidates.iter().filter(|c| !c.newcomer).count();
    let floor: Cost = (0, sizes.len().saturating_sub(established));
    let mut search = Search {
        candidates,
        met,
        avoid,
        best: None,
        floor,
        current: Vec::new(),
    };
    let all: Vec<usize> = (0..candidates.len()).collect();
    search.place(&all, &mut sizes, (0, 0));
    search.best.map(|(_, groups)| {
        groups
            .into_iter()
            .map(|g| g.into_iter().map(|i| candidates[i].member).collect())
            .collect()
    })
}

struct Search<'a> {
    candidates: &'a [Candidate],
    met: &'a Pairs,
    avoid: &'a Pairs,
    best: Option<(Cost, Vec<Vec<usize>>)>,
    /// No arrangement costs less: found, the search stops.
    floor: Cost,
    current: Vec<Vec<usize>>,
}

impl Search<'_> {
    fn done(&self) -> bool {
        self.best
            .as_ref()
            .is_some_and(|(cost, _)| *cost <= self.floor)
    }

    /// Places the first of `left` in a group of each size still wanted, with
    /// every choice of mates, and the rest after it.
    fn place(&mut self, left: &[usize], sizes: &mut Vec<usize>, cost: Cost) {
        if self.done() || self.best.as_ref().is_some_and(|(best, _)| cost >= *best) {
            return;
        }
        let Some((&first, rest)) = left.split_first() else {
            self.best = Some((cost, self.current.clone()));
            return;
        };
        let mut tried = Vec::new();
        for at in 0..sizes.len() {
            let size = sizes[at];
            if tried.contains(&size) {
                continue;
            }
            tried.push(size);
            sizes.remove(at);
            let mut mates = Vec::with_capacity(size);
            self.choose(first, rest, size - 1, 0, &mut mates, sizes, cost);
            sizes.insert(at, size);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn choose(
        &mut self,
        first: usize,
        rest: &[usize],
        wanted: usize,
        from: usize,
        mates: &mut Vec<usize>,
        sizes: &mut Vec<usize>,
        cost: Cost,
    ) {
        if wanted == 0 {
            let group: Vec<usize> = std::iter::once(first)
                .chain(mates.iter().copied())
                .collect();
            let members: Vec<Candidate> = group.iter().map(|&i| self.candidates[i]).collect();
            if avoids_any(&members, self.avoid) {
                return;
            }
            let (repeats, alone) = group_cost(&members, self.met);
            let left: Vec<usize> = rest
                .iter()
                .copied()
                .filter(|i| !mates.contains(i))
                .collect();
            self.current.push(group);
            self.place(&left, sizes, (cost.0 + repeats, cost.1 + alone));
            self.current.pop();
            return;
        }
        for at in from..rest.len() {
            if rest.len() - at < wanted || self.done() {
                return;
            }
            mates.push(rest[at]);
            self.choose(first, rest, wanted - 1, at + 1, mates, sizes, cost);
            mates.pop();
        }
    }
}

/// How many open groups a member is tried against before all of them are.
const SAMPLED: usize = 64;

/// Many candidates: an established member seeds each group, newcomers join
/// groups with one, then the rest; each goes to a group with room where they
/// meet no one again (sampled, then all), else where they repeat least; then
/// swaps between groups that repeat. Also returns those no group could take
/// (avoided by someone in each).
fn greedy(
    candidates: &[Candidate],
    size: usize,
    met: &Pairs,
    avoid: &Pairs,
    rng: &mut impl Rng,
) -> (Vec<Vec<MemberId>>, Vec<MemberId>) {
    let sizes = group_sizes(candidates.len(), size);
    let mut groups: Vec<Vec<Candidate>> = sizes.iter().map(|s| Vec::with_capacity(*s)).collect();
    let (newcomers, established): (Vec<Candidate>, Vec<Candidate>) =
        candidates.iter().partition(|c| c.newcomer);
    let seeds = established.len().min(groups.len());
    let order = established[..seeds]
        .iter()
        .chain(&newcomers)
        .chain(&established[seeds..])
        .copied();
    let mut unplaced = Vec::new();
    let mut open: Vec<usize> = (0..groups.len()).collect();
    for candidate in order {
        let fits =
            |g: &Vec<Candidate>| !g.iter().any(|o| avoid.contains(o.member, candidate.member));
        let clean = |g: &Vec<Candidate>| {
            fits(g)
                && !g.iter().any(|o| met.contains(o.member, candidate.member))
                && !(candidate.newcomer && !g.is_empty() && g.iter().all(|o| o.newcomer))
        };
        // Empty groups first while any are left: every group gets a seed.
        let empty = open.iter().position(|&g| groups[g].is_empty());
        let chosen = empty
            .filter(|_| !candidate.newcomer)
            .or_else(|| {
                (0..SAMPLED.min(open.len()))
                    .map(|_| rng.random_range(0..open.len()))
                    .find(|&at| clean(&groups[open[at]]))
            })
            .or_else(|| open.iter().position(|&g| clean(&groups[g])))
            .or_else(|| {
                open.iter()
                    .enumerate()
                    .filter(|(_, g)| fits(&groups[**g]))
                    .min_by_key(|(_, g)| {
                        groups[**g]
                            .iter()
                            .filter(|o| met.contains(o.member, candidate.member))
                            .count()
                    })
                    .map(|(at, _)| at)
            });
        let Some(at) = chosen else {
            unplaced.push(candidate.member);
            continue;
        };
        let g = open[at];
        groups[g].push(candidate);
        if groups[g].len() == sizes[g] {
            open.swap_remove(at);
        }
    }
    swap_repeats(&mut groups, met, avoid, rng);
    let mut arranged = Vec::with_capacity(groups.len());
    for group in groups {
        let members: Vec<MemberId> = group.into_iter().map(|c| c.member).collect();
        if members.len() >= 2 {
            arranged.push(members);
        } else {
            unplaced.extend(members);
        }
    }
    (arranged, unplaced)
}

/// Swaps members between a group that repeats a pair and random others while
/// that lowers the two groups' cost.
fn swap_repeats(groups: &mut [Vec<Candidate>], met: &Pairs, avoid: &Pairs, rng: &mut impl Rng) {
    if groups.len() < 2 {
        return;
    }
    let cost = |g: &[Candidate]| -> Cost {
        if avoids_any(g, avoid) {
            (usize::MAX / 4, 0)
        } else {
            group_cost(g, met)
        }
    };
    let add = |a: Cost, b: Cost| (a.0 + b.0, a.1 + b.1);
    for g in 0..groups.len() {
        let mut tries = 0;
        while group_cost(&groups[g], met).0 > 0 && tries < SAMPLED {
            tries += 1;
            let h = rng.random_range(0..groups.len());
            if h == g || groups[g].is_empty() || groups[h].is_empty() {
                continue;
            }
            let (i, j) = (
                rng.random_range(0..groups[g].len()),
                rng.random_range(0..groups[h].len()),
            );
            let before = add(cost(&groups[g]), cost(&groups[h]));
            let (a, b) = (groups[g][i], groups[h][j]);
            groups[g][i] = b;
            groups[h][j] = a;
            if add(cost(&groups[g]), cost(&groups[h])) >= before {
                groups[g][i] = a;
                groups[h][j] = b;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn people(n: i64, newcomers: &[i64]) -> Vec<Candidate> {
        (1..=n)
            .map(|i| Candidate {
                member: MemberId(i),
                newcomer: newcomers.contains(&i),
            })
            .collect()
    }

    fn sizes_of(a: &Arrangement) -> Vec<usize> {
        let mut sizes: Vec<usize> = a.groups.iter().map(Vec::len).collect();
        sizes.sort_unstable();
        sizes
    }

    /// Whether any arrangement of `candidates` in pairs (and a trio) repeats
    /// nothing: every partition weighed, independently of the search above.
    fn repeat_free_exists(candidates: &[MemberId], met: &Pairs) -> bool {
        fn go(left: &[MemberId], trio_left: bool, met: &Pairs) -> bool {
            let Some((&first, rest)) = left.split_first() else {
                return !trio_left;
            };
            for (i, &b) in rest.iter().enumerate() {
                if met.contains(first, b) {
                    continue;
                }
                let others: Vec<MemberId> = rest
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, m)| *m)
                    .collect();
                if go(&others, trio_left, met) {
                    return true;
                }
                if trio_left {
                    for (k, &c) in others.iter().enumerate() {
                        if met.contains(first, c) || met.contains(b, c) {
                            continue;
                        }
                        let rest3: Vec<MemberId> = others
                            .iter()
                            .enumerate()
                            .filter(|(j, _)| *j != k)
                            .map(|(_, m)| *m)
                            .collect();
                        if go(&rest3, false, met) {
                            return true;
                        }
                    }
                }
            }
            false
        }
        go(candidates, candidates.len() % 2 == 1, met)
    }

    #[test]
    fn seven_members_make_two_pairs_and_a_trio() {
        let mut rng = StdRng::seed_from_u64(7);
        let a = arrange(&people(7, &[]), 2, &Pairs::new(), &Pairs::new(), &mut rng);
        assert_eq!(sizes_of(&a), vec![2, 2, 3]);
        assert!(a.sitting_out.is_empty());
    }

    #[test]
    fn group_sizes_spread_those_left_over() {
        assert_eq!(group_sizes(7, 2), vec![3, 2, 2]);
        assert_eq!(group_sizes(10, 3), vec![4, 3, 3]);
        assert_eq!(group_sizes(3, 4), vec![3]);
        assert_eq!(group_sizes(1, 2), Vec::<usize>::new());
    }

    #[test]
    fn six_rounds_over_eight_members_repeat_no_pair_while_another_arrangement_exists() {
        for seed in 0..20 {
            let mut rng = StdRng::seed_from_u64(seed);
            let candidates = people(8, &[]);
            let members: Vec<MemberId> = candidates.iter().map(|c| c.member).collect();
            let mut rounds: Vec<Vec<Vec<MemberId>>> = Vec::new();
            for _ in 0..6 {
                let mut met = Pairs::new();
                for round in rounds.iter().rev().take(REMEMBERED_ROUNDS) {
                    met.insert_groups(round.iter().map(Vec::as_slice));
                }
                let a = arrange(&candidates, 2, &met, &Pairs::new(), &mut rng);
                if repeat_free_exists(&members, &met) {
                    assert_eq!(a.repeats(&met), 0, "seed {seed}: {:?}", a.groups);
                }
                rounds.push(a.groups);
            }
        }
    }

    #[test]
    fn a_newcomer_meets_an_established_member() {
        for seed in 0..20 {
            let mut rng = StdRng::seed_from_u64(seed);
            let a = arrange(
                &people(4, &[1, 2]),
                2,
                &Pairs::new(),
                &Pairs::new(),
                &mut rng,
            );
            for group in &a.groups {
                assert!(
                    group.iter().any(|m| m.0 > 2),
                    "seed {seed}: newcomers alone in {:?}",
                    a.groups
                );
            }
        }
    }

    #[test]
    fn members_who_avoid_each_other_are_never_grouped() {
        let mut avoid = Pairs::new();
        avoid.insert(MemberId(1), MemberId(2));
        for seed in 0..20 {
            let mut rng = StdRng::seed_from_u64(seed);
            let a = arrange(&people(2, &[]), 2, &Pairs::new(), &avoid, &mut rng);
            assert!(a.groups.is_empty());
            assert_eq!(a.sitting_out.len(), 2);
            let a = arrange(&people(4, &[]), 2, &Pairs::new(), &avoid, &mut rng);
            assert_eq!(a.groups.len(), 2);
            assert!(
                a.groups
                    .iter()
                    .all(|g| !(g.contains(&MemberId(1)) && g.contains(&MemberId(2))))
            );
        }
    }

    #[test]
    fn many_members_are_all_grouped_without_repeats_when_there_is_room() {
        let mut rng = StdRng::seed_from_u64(1);
        let candidates = people(2_000, &(1..=300).collect::<Vec<_>>());
        let mut met = Pairs::new();
        for _ in 0..REMEMBERED_ROUNDS {
            let a = arrange(&candidates, 2, &met, &Pairs::new(), &mut rng);
            assert_eq!(a.groups.iter().map(Vec::len).sum::<usize>(), 2_000);
            assert_eq!(a.repeats(&met), 0);
            met.insert_groups(a.groups.iter().map(Vec::as_slice));
        }
    }
}
