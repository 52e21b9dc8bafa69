//! What a batch of contributions changes, on plain data, so that each engine
//! turns it into its own statements.
//!
//! A batch is written as one: what it adds is summed per row it changes
//! ([`Deltas`]), so any batch is the same handful of statements. The writes return
//! the counters after the batch ([`Counters`]); walking the batch in order from the
//! counters before it (after minus the batch) then credits each milestone to the
//! contribution that crossed it ([`Plan::settle`]), with its announcement.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Timelike, Utc};

use super::validate::{Accepted, Lookups, validate};
use super::{ContributionRequest, GoalAfter, Recorded, ReviewWait};
use crate::domain::announce::{self, GoalFigures};
use crate::domain::milestones::{
    Milestone, Subject, community_counts_crossed, custom_crossed, goal_percents_crossed, headline,
    member_counts_crossed,
};
use crate::domain::text::{reached, round_amount};
use crate::domain::{CommunityId, ContributionId, GoalId, MemberId, Platform, Reply, UserError};

/// A batch of requests, checked against the rules, with what the accepted ones add.
pub struct Plan<'a> {
    requests: &'a [&'a ContributionRequest],
    lookups: &'a Lookups,
    /// Per request, in the batch's order.
    checked: Vec<Result<Accepted<'a>, UserError>>,
    deltas: Deltas<'a>,
    /// The ids of the contributions that wait for review, in the batch's order
    /// ([`Plan::for_review`]), once the engine took them.
    review_ids: Vec<ContributionId>,
}

/// Contributions and an amount, added to a goal.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct GoalTally {
    pub contributions: i64,
    pub amount: f64,
}

impl GoalTally {
    fn add(&mut self, amount: f64) {
        self.contributions += 1;
        self.amount += amount;
    }
}

/// What a batch adds, summed per row it changes.
#[derive(Debug, Default)]
pub struct Deltas<'a> {
    /// Contributions per member and day (their daily activity).
    pub member_days: BTreeMap<(CommunityId, NaiveDate, MemberId), i64>,
    /// Contributions per community and day (its daily rollup).
    pub community_days: BTreeMap<(CommunityId, NaiveDate), i64>,
    /// Per goal and day (its daily progress).
    pub goal_days: BTreeMap<(GoalId, NaiveDate), GoalTally>,
    /// Members' contribution counters. A member whose count after the batch is
    /// just this made their first contributions in it (no longer a newcomer yet to
    /// contribute).
    pub members: BTreeMap<MemberId, i64>,
    /// Communities' contribution counters.
    pub communities: BTreeMap<CommunityId, i64>,
    /// Goals' progress and contribution counters.
    pub goals: BTreeMap<GoalId, GoalTally>,
    /// Activity by the UTC day and hour it was recorded (PRODUCT.md "Activity by
    /// hour").
    pub hours: BTreeMap<CommunityId, BTreeMap<(NaiveDate, u32), i64>>,
    /// Alignment: contributions linked to a goal or a value, per community and day.
    pub aligned: BTreeMap<(CommunityId, NaiveDate), i64>,
    /// Each member's amounts by unit (`stats me`).
    pub unit_amounts: BTreeMap<(MemberId, &'a str), f64>,
}

impl<'a> Deltas<'a> {
    fn add(&mut self, r: &ContributionRequest, a: &Accepted<'a>) {
        *self
            .member_days
            .entry((r.community, r.day, r.member))
            .or_default() += 1;
        *self.community_days.entry((r.community, r.day)).or_default() += 1;
        *self.members.entry(r.member).or_default() += 1;
        *self.communities.entry(r.community).or_default() += 1;
        if let Some(g) = a.goal {
            self.goal_days
                .entry((g.id, r.day))
                .or_default()
                .add(a.goal_amount);
            self.goals.entry(g.id).or_default().add(a.goal_amount);
        }
        *self
            .hours
            .entry(r.community)
            .or_default()
            .entry((r.now.date_naive(), r.now.hour()))
            .or_default() += 1;
        if a.goal.is_some() || a.value.is_some() {
            *self.aligned.entry((r.community, r.day)).or_default() += 1;
        }
        if let (Some(amount), Some(unit)) = (r.amount, a.unit) {
            *self.unit_amounts.entry((r.member, unit)).or_default() += amount;
        }
    }
}

/// A contribution to store, as the rules accepted it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewRow<'a> {
    pub community: CommunityId,
    pub member: MemberId,
    pub description: &'a str,
    pub amount: Option<f64>,
    pub unit: Option<&'a str>,
    pub goal: Option<GoalId>,
    pub value: Option<&'a str>,
    pub platform: Platform,
    pub day: NaiveDate,
    pub at: DateTime<Utc>,
}

/// The counters the batch's writes left, as the engine read them back: every one
/// the batch's [`Deltas`] changed.
#[derive(Debug, Default)]
pub struct Counters {
    pub members: HashMap<MemberId, i64>,
    pub communities: HashMap<CommunityId, i64>,
    /// Goals' progress.
    pub goals: HashMap<GoalId, f64>,
}

/// An organiser's milestone not reached yet: on the community's count, or on a
/// goal's progress.
#[derive(Debug, Clone)]
pub struct PendingMilestone {
    pub id: i64,
    pub goal: Option<GoalId>,
    pub title: String,
    pub threshold: f64,
}

/// A milestone a contribution of the batch crossed, to record, and to announce
/// unless its community takes milestones in the digest only, if it is the first
/// time it is reached: (community, key, subject) is the achievement's unique key.
#[derive(Debug, Clone)]
pub struct Crossing {
    /// The contribution's place in the batch.
    pub place: usize,
    pub community: CommunityId,
    /// The milestone's key ([`Milestone::key`]).
    pub key: String,
    /// Its subject's key ([`Subject::key`]).
    pub subject: String,
    pub title: String,
    /// The member whose own milestone it is.
    pub member: Option<MemberId>,
    /// The goal whose milestone it is.
    pub goal: Option<GoalId>,
    pub contribution: ContributionId,
    /// The member who contributed it, named in the announcement.
    pub about: MemberId,
    pub at: DateTime<Utc>,
    /// The announcement.
    pub body: Reply,
}

/// The batch, settled: each request's answer, and what else to record.
pub struct Outcome {
    answers: Vec<Result<Recorded, UserError>>,
    /// In the batch's order.
    pub crossings: Vec<Crossing>,
    /// Members' 1st, 2nd and 4th contributions and their day (PRODUCT.md
    /// "Newcomer conversion").
    pub ordinals: Vec<(MemberId, i64, NaiveDate)>,
}

impl<'a> Plan<'a> {
    /// Checks each request against the rules (with what `lookups` read for them)
    /// and sums what the accepted ones add.
    pub fn new(requests: &'a [&'a ContributionRequest], lookups: &'a Lookups) -> Plan<'a> {
        Plan::checked(requests, lookups, false)
    }

    /// A plan for contributions an organiser approved: the review rule is met
    /// (every other rule still holds).
    pub fn approved(requests: &'a [&'a ContributionRequest], lookups: &'a Lookups) -> Plan<'a> {
        Plan::checked(requests, lookups, true)
    }

    fn checked(
        requests: &'a [&'a ContributionRequest],
        lookups: &'a Lookups,
        approved: bool,
    ) -> Plan<'a> {
        let checked: Vec<Result<Accepted<'a>, UserError>> = requests
            .iter()
            .map(|r| {
                validate(r, lookups).map(|a| Accepted {
                    review: a.review && !approved,
                    ..a
                })
            })
            .collect();
        let mut deltas = Deltas::default();
        for (r, checked) in requests.iter().zip(&checked) {
            if let Ok(a) = checked
                && !a.review
            {
                deltas.add(r, a);
            }
        }
        Plan {
            requests,
            lookups,
            checked,
            deltas,
            review_ids: Vec::new(),
        }
    }

    /// Every request's refusal, if the rules refused them all: then there is
    /// nothing to write.
    pub fn all_refused(&self) -> Option<Vec<Result<Recorded, UserError>>> {
        self.checked
            .iter()
            .map(|c| c.as_ref().err().map(|e| Err(e.clone())))
            .collect()
    }

    /// How many contributions the batch stores (those waiting for review aside).
    pub fn accepted(&self) -> usize {
        self.checked
            .iter()
            .filter(|c| c.as_ref().is_ok_and(|a| !a.review))
            .count()
    }

    /// The contributions to store, in the batch's order: the engine gives them
    /// ids in this order, each larger than the one before.
    pub fn rows(&self) -> impl Iterator<Item = NewRow<'a>> + '_ {
        self.rows_where(false)
    }

    /// The contributions that wait for an organiser's review, in the batch's
    /// order: the engine stores them aside, with ids from the contributions'
    /// sequence, and hands those to [`Plan::set_review_ids`].
    pub fn for_review(&self) -> impl Iterator<Item = NewRow<'a>> + '_ {
        self.rows_where(true)
    }

    /// The ids the contributions of [`Plan::for_review`] were stored under.
    pub fn set_review_ids(&mut self, ids: Vec<ContributionId>) {
        self.review_ids = ids;
    }

    fn rows_where(&self, review: bool) -> impl Iterator<Item = NewRow<'a>> + '_ {
        self.requests
            .iter()
            .zip(&self.checked)
            .filter_map(move |(r, checked)| {
                let a = checked.as_ref().ok().filter(|a| a.review == review)?;
                Some(NewRow {
                    community: r.community,
                    member: r.member,
                    description: &r.description,
                    amount: r.amount,
                    unit: a.unit,
                    goal: a.goal.map(|g| g.id),
                    value: a.value,
                    platform: r.platform,
                    day: r.day,
                    at: r.now,
                })
            })
    }

    pub fn deltas(&self) -> &Deltas<'a> {
        &self.deltas
    }

    /// The goals at their target after the batch (`progress`, by goal), in order.
    /// A goal is met from the first moment it gets there.
    pub fn goals_met(&self, progress: &HashMap<GoalId, f64>) -> Vec<GoalId> {
        self.deltas
            .goals
            .keys()
            .filter(|id| {
                let goal = self.lookups.goals().find(|g| g.id == **id);
                matches!((goal, progress.get(id)), (Some(g), Some(p)) if reached(*p, g.target))
            })
            .copied()
            .collect()
    }

    /// Walks the batch in order from the counters before it (`after`, less what
    /// the batch added), so each milestone is credited to the contribution that
    /// crossed it. `ids` are the stored contributions' ids, one for each of
    /// [`Plan::rows`], in its order; `pending` holds the custom milestones still
    /// to reach, by community (none if absent). Panics if `ids` and the rows
    /// stored differ in number: the engines check they stored every row.
    pub fn settle(
        self,
        ids: &[ContributionId],
        after: &Counters,
        pending: &HashMap<CommunityId, Vec<PendingMilestone>>,
    ) -> Outcome {
        let d = &self.deltas;
        let mut member_running: HashMap<MemberId, i64> = d
            .members
            .iter()
            .map(|(m, n)| (*m, after.members.get(m).copied().unwrap_or(*n) - n))
            .collect();
        let mut community_running: HashMap<CommunityId, i64> = d
            .communities
            .iter()
            .map(|(c, n)| (*c, after.communities[c] - n))
            .collect();
        let mut goal_running: HashMap<GoalId, f64> = d
            .goals
            .iter()
            .map(|(g, tally)| (*g, round_amount(after.goals[g] - tally.amount)))
            .collect();

        let mut crossings = Vec::new();
        let mut ordinals = Vec::new();
        let mut answers = Vec::with_capacity(self.requests.len());
        assert_eq!(
            ids.len(),
            self.accepted(),
            "an id for each contribution stored"
        );
        let mut ids = ids.iter().copied();
        let mut review_ids = self.review_ids.iter().copied();
        for (place, (r, checked)) in self.requests.iter().zip(self.checked).enumerate() {
            let a = match checked {
                Ok(a) => a,
                Err(e) => {
                    answers.push(Err(e));
                    continue;
                }
            };
            if a.review {
                let (Some(id), Some(g)) = (review_ids.next(), a.goal) else {
                    unreachable!("an id for each contribution waiting for review, with its goal");
                };
                answers.push(Ok(Recorded {
                    id,
                    value: a.value.map(str::to_string),
                    unit: a.unit.map(str::to_string),
                    goal: None,
                    member_count: 0,
                    milestones: Vec::new(),
                    review: Some(ReviewWait {
                        goal_title: g.title.clone(),
                        goal_slug: g.slug.clone(),
                        review_above: g.review_above.unwrap_or_default(),
                        unit: g.unit.clone(),
                    }),
                }));
                continue;
            }
            let Some(id) = ids.next() else {
                unreachable!("an id for each contribution stored");
            };
            let mut crossed: Vec<(Milestone, Subject)> = Vec::new();

            let c_before = community_running[&r.community];
            let c_after = c_before + 1;
            community_running.insert(r.community, c_after);
            crossed.extend(
                community_counts_crossed(c_before, c_after)
                    .into_iter()
                    .map(|m| (m, Subject::Community)),
            );

            let m_before = member_running[&r.member];
            let m_after = m_before + 1;
            member_running.insert(r.member, m_after);
            if matches!(m_after, 1 | 2 | 4) {
                ordinals.push((r.member, m_after, r.day));
            }
            crossed.extend(
                member_counts_crossed(m_before, m_after)
                    .into_iter()
                    .map(|m| (m, Subject::Member(r.member))),
            );

            let customs = pending.get(&r.community).map_or(&[][..], Vec::as_slice);
            crossed.extend(
                customs
                    .iter()
                    .filter(|c| c.goal.is_none())
                    .filter_map(|c| {
                        custom_crossed(c_before as f64, c_after as f64, c.id, &c.title, c.threshold)
                    })
                    .map(|m| (m, Subject::Community)),
            );

            let goal = a.goal.map(|g| {
                let before = goal_running[&g.id];
                let after = round_amount(before + a.goal_amount);
                goal_running.insert(g.id, after);
                crossed.extend(
                    goal_percents_crossed(before, after, g.target)
                        .into_iter()
                        .map(|m| (m, Subject::Goal(g.id))),
                );
                crossed.extend(
                    customs
                        .iter()
                        .filter(|c| c.goal == Some(g.id))
                        .filter_map(|c| custom_crossed(before, after, c.id, &c.title, c.threshold))
                        .map(|m| (m, Subject::Goal(g.id))),
                );
                GoalAfter {
                    slug: g.slug.clone(),
                    title: g.title.clone(),
                    unit: g.unit.clone(),
                    target: g.target,
                    progress: after,
                    counted: a.goal_amount,
                }
            });

            for (milestone, subject) in crossed {
                crossings.push(crossing(place, r, id, &milestone, subject, goal.as_ref()));
            }
            answers.push(Ok(Recorded {
                id,
                value: a.value.map(str::to_string),
                unit: a.unit.map(str::to_string),
                goal,
                member_count: m_after,
                milestones: Vec::new(),
                review: None,
            }));
        }
        Outcome {
            answers,
            crossings,
            ordinals,
        }
    }
}

/// The crossing of `milestone` by the contribution `id` (`r`, at `place` in the
/// batch), with its announcement; `goal` is the contribution's goal after it.
fn crossing(
    place: usize,
    r: &ContributionRequest,
    id: ContributionId,
    milestone: &Milestone,
    subject: Subject,
    goal: Option<&GoalAfter>,
) -> Crossing {
    let goal_figures = goal.map(|g| GoalFigures {
        title: &g.title,
        progress: g.progress,
        target: g.target,
        unit: g.unit.as_deref(),
    });
    let subject_name = match subject {
        Subject::Goal(_) => goal.map_or("", |g| g.title.as_str()),
        _ => r.member_name.as_str(),
    };
    let body = announce::milestone(
        milestone,
        (r.member, &r.member_name),
        &r.description,
        goal_figures
            .as_ref()
            .filter(|_| matches!(subject, Subject::Goal(_))),
    );
    Crossing {
        place,
        community: r.community,
        key: milestone.key(),
        subject: subject.key(),
        title: headline(milestone, subject_name),
        member: matches!(subject, Subject::Member(_)).then_some(r.member),
        goal: match subject {
            Subject::Goal(g) => Some(g),
            _ => None,
        },
        contribution: id,
        about: r.member,
        at: r.now,
        body,
    }
}

impl Outcome {
    /// Each request's answer, each contribution's with the headlines of the
    /// milestones it reached: those of its crossings that were `first_time`.
    pub fn answers(
        self,
        first_time: impl Fn(&Crossing) -> bool,
    ) -> Vec<Result<Recorded, UserError>> {
        let mut answers = self.answers;
        for crossing in self.crossings {
            if first_time(&crossing)
                && let Some(Ok(recorded)) = answers.get_mut(crossing.place)
            {
                recorded.milestones.push(crossing.title);
            }
        }
        answers
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use chrono::TimeZone;

    use super::*;
    use crate::domain::contribution::testing::request;
    use crate::domain::contribution::validate::GoalTerms;

    const TREES: GoalId = GoalId(7);

    fn lookups() -> Lookups {
        let mut l = Lookups::default();
        l.add_goal(
            CommunityId(1),
            "trees",
            Some(GoalTerms {
                id: TREES,
                slug: "trees".into(),
                title: "Plant trees".into(),
                target: 10.0,
                unit: Some("trees".into()),
                open: true,
                max_amount: None,
                review_above: Some(20.0),
            }),
        );
        l.add_values(CommunityId(1), vec!["Care".into()]);
        l
    }

    fn counters(
        members: &[(i64, i64)],
        communities: &[(i64, i64)],
        goals: &[(GoalId, f64)],
    ) -> Counters {
        Counters {
            members: members.iter().map(|(m, n)| (MemberId(*m), *n)).collect(),
            communities: communities
                .iter()
                .map(|(c, n)| (CommunityId(*c), *n))
                .collect(),
            goals: goals.iter().copied().collect(),
        }
    }

    #[test]
    fn deltas_are_summed_per_row_they_change_from_accepted_requests_only() {
        let day = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
        let batch = [
            request(1, 1).goal("trees").amount(2.0),
            request(1, 1).goal("trees").amount(3.0).unit("TREES"),
            request(1, 2).value("care").amount(1.5).unit("km"),
            request(1, 2).goal("oak"),
            request(2, 3),
        ];
        let requests: Vec<&ContributionRequest> = batch.iter().collect();
        let lookups = lookups();
        let plan = Plan::new(&requests, &lookups);
        assert_eq!(plan.accepted(), 4);
        assert!(plan.all_refused().is_none());
        let d = plan.deltas();
        let (c1, c2) = (CommunityId(1), CommunityId(2));
        let (m1, m2, m3) = (MemberId(1), MemberId(2), MemberId(3));
        assert_eq!(
            d.member_days,
            BTreeMap::from([((c1, day, m1), 2), ((c1, day, m2), 1), ((c2, day, m3), 1)])
        );
        assert_eq!(
            d.community_days,
            BTreeMap::from([((c1, day), 3), ((c2, day), 1)])
        );
        let tally = GoalTally {
            contributions: 2,
            amount: 5.0,
        };
        assert_eq!(d.goal_days, BTreeMap::from([((TREES, day), tally)]));
        assert_eq!(d.goals, BTreeMap::from([(TREES, tally)]));
        assert_eq!(d.members, BTreeMap::from([(m1, 2), (m2, 1), (m3, 1)]));
        assert_eq!(d.communities, BTreeMap::from([(c1, 3), (c2, 1)]));
        assert_eq!(
            d.hours,
            BTreeMap::from([
                (c1, BTreeMap::from([((day, 12), 3)])),
                (c2, BTreeMap::from([((day, 12), 1)])),
            ])
        );
        assert_eq!(d.aligned, BTreeMap::from([((c1, day), 3)]));
        assert_eq!(
            d.unit_amounts,
            BTreeMap::from([((m1, "trees"), 5.0), ((m2, "km"), 1.5)])
        );

        let rows: Vec<NewRow> = plan.rows().collect();
        assert_eq!(rows.len(), 4);
        assert_eq!(
            rows[1],
            NewRow {
                community: c1,
                member: m1,
                description: "Did a thing",
                amount: Some(3.0),
                unit: Some("trees"),
                goal: Some(TREES),
                value: None,
                platform: Platform::Console,
                day,
                at: batch[1].now,
            }
        );
        assert_eq!((rows[2].value, rows[2].unit), (Some("Care"), Some("km")));
        assert_eq!(rows[3].member, m3);
    }

    #[test]
    fn a_batch_the_rules_refuse_whole_writes_nothing() {
        let batch = [request(1, 1).goal("oak"), request(1, 2).value("speed")];
        let requests: Vec<&ContributionRequest> = batch.iter().collect();
        let lookups = lookups();
        let plan = Plan::new(&requests, &lookups);
        assert_eq!(plan.accepted(), 0);
        assert_eq!(plan.rows().count(), 0);
        let refused = plan.all_refused().unwrap();
        assert!(matches!(
            &refused[..],
            [
                Err(UserError::NotFound { .. }),
                Err(UserError::NotFound { .. })
            ]
        ));
    }

    #[test]
    fn each_milestone_is_credited_to_the_contribution_that_crossed_it() {
        // Community 1 had 8 contributions, member 1 none, the goal 4 of 10 trees.
        let batch = [
            request(1, 1).goal("trees").amount(2.0),
            request(1, 2).goal("oak"),
            request(1, 1).goal("trees").amount(4.0),
        ];
        let requests: Vec<&ContributionRequest> = batch.iter().collect();
        let lookups = lookups();
        let plan = Plan::new(&requests, &lookups);
        let after = counters(&[(1, 2)], &[(1, 10)], &[(TREES, 10.0)]);
        assert_eq!(plan.goals_met(&after.goals), vec![TREES]);
        // Ids need not follow one another (PostgreSQL's may not).
        let ids = [ContributionId(41), ContributionId(57)];
        let outcome = plan.settle(&ids, &after, &HashMap::new());

        let keys: Vec<(usize, &str, &str)> = outcome
            .crossings
            .iter()
            .map(|c| (c.place, c.key.as_str(), c.subject.as_str()))
            .collect();
        assert_eq!(
            keys,
            vec![
                (0, "member.count.1", "member:1"),
                (0, "goal.percent.50", "goal:7"),
                (2, "community.count.10", "community"),
                (2, "goal.percent.75", "goal:7"),
                (2, "goal.percent.100", "goal:7"),
            ]
        );
        let first = &outcome.crossings[0];
        assert_eq!(first.title, "Ada logged their first contribution!");
        assert_eq!((first.member, first.goal), (Some(MemberId(1)), None));
        assert_eq!(
            (first.contribution, first.about),
            (ContributionId(41), MemberId(1))
        );
        let last = &outcome.crossings[4];
        assert_eq!(last.title, "Goal met: Plant trees!");
        assert_eq!((last.member, last.goal), (None, Some(TREES)));
        assert_eq!(last.contribution, ContributionId(57));
        // The announcement of a goal's milestone shows the goal after it.
        let figures = GoalFigures {
            title: "Plant trees",
            progress: 10.0,
            target: 10.0,
            unit: Some("trees"),
        };
        assert_eq!(
            last.body,
            announce::milestone(
                &Milestone::GoalPercent(100),
                (MemberId(1), "Ada"),
                "Did a thing",
                Some(&figures)
            )
        );
        assert_eq!(
            outcome.ordinals,
            vec![
                (MemberId(1), 1, batch[0].day),
                (MemberId(1), 2, batch[2].day)
            ]
        );

        // Only milestones reached for the first time are reported.
        let answers = outcome.answers(|c| c.key != "goal.percent.75");
        assert_eq!(answers.len(), 3);
        let first = answers[0].as_ref().unwrap();
        assert_eq!((first.id, first.member_count), (ContributionId(41), 1));
        assert_eq!(
            first.milestones,
            [
                "Ada logged their first contribution!",
                "Plant trees is 50% of the way there!"
            ]
        );
        let goal = first.goal.as_ref().unwrap();
        assert_eq!((goal.progress, goal.counted), (6.0, 2.0));
        assert!(answers[1].is_err());
        let third = answers[2].as_ref().unwrap();
        assert_eq!((third.id, third.member_count), (ContributionId(57), 2));
        assert_eq!(
            third.milestones,
            [
                "The community reached 10 contributions!",
                "Goal met: Plant trees!"
            ]
        );
    }

    #[test]
    fn custom_milestones_count_on_the_community_or_their_goal() {
        let batch = [request(1, 1).goal("trees").amount(3.0), request(1, 2)];
        let requests: Vec<&ContributionRequest> = batch.iter().collect();
        let lookups = lookups();
        let plan = Plan::new(&requests, &lookups);
        let custom = |id, goal, threshold| PendingMilestone {
            id,
            goal,
            title: format!("Custom {id}"),
            threshold,
        };
        let pending = HashMap::from([(
            CommunityId(1),
            vec![
                custom(1, None, 12.0),
                custom(2, Some(TREES), 3.0),
                custom(3, Some(GoalId(8)), 1.0),
                custom(4, None, 20.0),
            ],
        )]);
        let after = counters(&[(1, 5), (2, 5)], &[(1, 12)], &[(TREES, 3.0)]);
        assert_eq!(plan.goals_met(&after.goals), Vec::<GoalId>::new());
        let outcome = plan.settle(&[ContributionId(1), ContributionId(2)], &after, &pending);
        let keys: HashSet<(usize, &str, &str)> = outcome
            .crossings
            .iter()
            .map(|c| (c.place, c.key.as_str(), c.subject.as_str()))
            .collect();
        assert_eq!(
            keys,
            HashSet::from([
                (0, "goal.percent.25", "goal:7"),
                (0, "custom.2", "goal:7"),
                (1, "custom.1", "community"),
            ])
        );
        assert!(outcome.ordinals.is_empty());
    }

    #[test]
    fn a_contribution_above_review_above_waits_and_counts_nowhere_unless_approved() {
        // The goal lets through 20 trees unreviewed.
        let batch = [
            request(1, 1).goal("trees").amount(25.0),
            request(1, 1).goal("trees").amount(2.0),
        ];
        let requests: Vec<&ContributionRequest> = batch.iter().collect();
        let lookups = lookups();
        let mut plan = Plan::new(&requests, &lookups);
        assert_eq!(plan.accepted(), 1);
        assert!(plan.all_refused().is_none());
        let waiting: Vec<NewRow> = plan.for_review().collect();
        assert_eq!(waiting.len(), 1);
        assert_eq!(
            (waiting[0].amount, waiting[0].goal),
            (Some(25.0), Some(TREES))
        );
        assert_eq!(
            plan.rows().map(|r| r.amount).collect::<Vec<_>>(),
            [Some(2.0)]
        );
        let d = plan.deltas();
        assert_eq!(d.members, BTreeMap::from([(MemberId(1), 1)]));
        assert_eq!(d.goals[&TREES].amount, 2.0);
        plan.set_review_ids(vec![ContributionId(40)]);
        let after = counters(&[(1, 1)], &[(1, 1)], &[(TREES, 2.0)]);
        let answers = plan
            .settle(&[ContributionId(41)], &after, &HashMap::new())
            .answers(|_| true);
        let waits = answers[0].as_ref().unwrap();
        assert_eq!(waits.id, ContributionId(40));
        assert!(waits.goal.is_none() && waits.milestones.is_empty());
        assert_eq!(
            waits
                .review
                .as_ref()
                .map(|w| (w.goal_slug.as_str(), w.review_above)),
            Some(("trees", 20.0))
        );
        let counted = answers[1].as_ref().unwrap();
        assert_eq!(
            (counted.id, counted.review.is_none()),
            (ContributionId(41), true)
        );

        // Approved, the same contribution counts like any other.
        let approved = [&batch[0]];
        let plan = Plan::approved(&approved, &lookups);
        assert_eq!((plan.accepted(), plan.for_review().count()), (1, 0));
        assert_eq!(plan.deltas().goals[&TREES].amount, 25.0);
    }

    #[test]
    fn an_hour_is_the_hour_the_contribution_was_recorded() {
        let mut late = request(1, 1);
        late.now = Utc.with_ymd_and_hms(2025, 3, 2, 23, 59, 0).unwrap();
        let requests = [&late];
        let lookups = Lookups::default();
        let plan = Plan::new(&requests, &lookups);
        let recorded_on = NaiveDate::from_ymd_opt(2025, 3, 2).unwrap();
        assert_eq!(
            plan.deltas().hours[&CommunityId(1)],
            BTreeMap::from([((recorded_on, 23), 1)])
        );
    }
}
