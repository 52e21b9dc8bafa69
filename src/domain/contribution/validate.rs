//! The rules a contribution must meet: the goal it names exists and is open and
//! counts its unit, and the value it names is one of the mission's. Checked once,
//! by the writer, in the transaction that records the contribution, against what
//! it read there ([`Lookups`]).

use std::collections::HashMap;

use chrono::{Days, NaiveDate};

use super::ContributionRequest;
use crate::domain::text::format_number;
use crate::domain::{CommunityId, GoalId, UserError};

/// How far back a contribution may be dated.
pub const MAX_DAYS_BACK: u64 = 90;

/// A contribution's day, logged or corrected: not in the future, and at most
/// [`MAX_DAYS_BACK`] days before `today`.
pub fn check_day(day: NaiveDate, today: NaiveDate) -> Result<(), UserError> {
    if day > today {
        return Err(UserError::invalid(
            format!("{day} is in the future."),
            "Date contributions on the day they happened: date=today or an earlier day.",
        ));
    }
    if day < today - Days::new(MAX_DAYS_BACK) {
        return Err(UserError::invalid(
            format!("{day} is more than {MAX_DAYS_BACK} days ago."),
            format!("Contributions can be dated up to {MAX_DAYS_BACK} days back."),
        ));
    }
    Ok(())
}

/// A goal as the rules and the milestones see it.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalTerms {
    pub id: GoalId,
    pub slug: String,
    pub title: String,
    pub target: f64,
    pub unit: Option<String>,
    pub open: bool,
    /// The most one contribution may add to it.
    pub max_amount: Option<f64>,
    /// Contributions adding more wait for an organiser's review.
    pub review_above: Option<f64>,
}

/// What the rules need to know about the goals and missions a batch names, read
/// by the engine once per distinct goal and community.
#[derive(Debug, Default)]
pub struct Lookups {
    /// By community and slug; None where no such goal exists.
    goals: HashMap<CommunityId, HashMap<String, Option<GoalTerms>>>,
    /// The mission's values, for communities whose requests name one.
    values: HashMap<CommunityId, Vec<String>>,
}

impl Lookups {
    /// Whether checking `requests` needs anything read (most name no goal and no
    /// value, and need nothing).
    pub fn needed(requests: &[&ContributionRequest]) -> bool {
        requests
            .iter()
            .any(|r| r.goal.is_some() || r.value.is_some())
    }

    /// Whether the goal `slug` of `community` was read already.
    pub fn has_goal(&self, community: CommunityId, slug: &str) -> bool {
        self.goals
            .get(&community)
            .is_some_and(|goals| goals.contains_key(slug))
    }

    /// What was read for the goal `slug` of `community`: None if there is none.
    pub fn add_goal(&mut self, community: CommunityId, slug: &str, goal: Option<GoalTerms>) {
        self.goals
            .entry(community)
            .or_default()
            .insert(slug.to_string(), goal);
    }

    /// Whether the mission's values of `community` were read already.
    pub fn has_values(&self, community: CommunityId) -> bool {
        self.values.contains_key(&community)
    }

    /// The values of the current mission of `community` (none if it has no mission).
    pub fn add_values(&mut self, community: CommunityId, values: Vec<String>) {
        self.values.insert(community, values);
    }

    fn goal(&self, community: CommunityId, slug: &str) -> Option<&GoalTerms> {
        self.goals.get(&community)?.get(slug)?.as_ref()
    }

    /// Every goal read that exists.
    pub(super) fn goals(&self) -> impl Iterator<Item = &GoalTerms> {
        self.goals
            .values()
            .flat_map(|goals| goals.values().flatten())
    }
}

/// What the rules settled for one request they accepted, borrowed from the
/// request and the lookups.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accepted<'l> {
    pub goal: Option<&'l GoalTerms>,
    /// Added to the goal's progress.
    pub goal_amount: f64,
    /// The unit stored with the contribution.
    pub unit: Option<&'l str>,
    /// The mission's value, spelt as the mission spells it.
    pub value: Option<&'l str>,
    /// It adds more than its goal's `review_above`: it waits for an organiser and
    /// counts nowhere until approved.
    pub review: bool,
}

/// Checks one request against the rules; what it says, if they refuse it.
pub fn validate<'l>(
    r: &'l ContributionRequest,
    lookups: &'l Lookups,
) -> Result<Accepted<'l>, UserError> {
    let goal = match &r.goal {
        None => None,
        Some(slug) => match lookups.goal(r.community, slug) {
            None => {
                return Err(UserError::not_found(
                    format!("No goal `{slug}`"),
                    "See `goal list` for the goals and their slugs.",
                ));
            }
            Some(g) if !g.open => {
                return Err(UserError::invalid(
                    format!("The goal `{slug}` is closed."),
                    "Log it without goal=, or pick an open goal from `goal list`.",
                ));
            }
            Some(g) => Some(g),
        },
    };
    if let (Some(g), Some(unit), Some(goal_unit)) =
        (goal, &r.unit, goal.and_then(|g| g.unit.as_ref()))
        && !unit.eq_ignore_ascii_case(goal_unit)
    {
        return Err(UserError::invalid(
            format!("The goal `{}` counts {goal_unit}, not {unit}.", g.slug),
            format!("Leave out unit= (it will be {goal_unit}), or log it without goal=."),
        ));
    }
    let value = match &r.value {
        None => None,
        Some(v) => {
            let known = lookups
                .values
                .get(&r.community)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let wanted = v.to_lowercase();
            match known.iter().find(|k| k.to_lowercase() == wanted) {
                Some(k) => Some(k.as_str()),
                None if known.is_empty() => {
                    return Err(UserError::invalid(
                        format!("The mission has no values yet, so value={v} cannot be used."),
                        "Log it without value=, or ask an organiser to `mission value add` it.",
                    ));
                }
                None => {
                    return Err(UserError::not_found(
                        format!("No value `{v}` in the mission"),
                        format!("The values are: {}.", known.join(", ")),
                    ));
                }
            }
        }
    };
    let (goal_amount, unit) = match goal {
        // A goal without a unit counts contributions: each counts one unless an
        // amount says otherwise.
        Some(g) if g.unit.is_none() => (r.amount.unwrap_or(1.0), r.unit.as_deref()),
        Some(g) => (r.amount.unwrap_or(0.0), r.amount.and(g.unit.as_deref())),
        None => (0.0, r.unit.as_deref()),
    };
    if let Some(g) = goal
        && let Some(max) = g.max_amount
        && goal_amount > max
    {
        let unit = g.unit.as_deref().unwrap_or("");
        let max = format!("{} {unit}", format_number(max));
        return Err(UserError::invalid(
            format!(
                "One contribution may add at most {} to the goal `{}`; this one adds {}.",
                max.trim_end(),
                g.slug,
                format_number(goal_amount)
            ),
            "Log what one contribution did (several if it was several), or ask an organiser about the goal's max.",
        ));
    }
    let review = goal
        .and_then(|g| g.review_above)
        .is_some_and(|above| goal_amount > above);
    Ok(Accepted {
        goal,
        goal_amount,
        unit,
        value,
        review,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::contribution::testing::request;

    const TREES: GoalId = GoalId(7);

    fn goal(id: GoalId, slug: &str, unit: Option<&str>, open: bool) -> GoalTerms {
        GoalTerms {
            id,
            slug: slug.into(),
            title: format!("The {slug}"),
            target: 100.0,
            unit: unit.map(Into::into),
            open,
            max_amount: None,
            review_above: None,
        }
    }

    fn lookups() -> Lookups {
        let mut l = Lookups::default();
        l.add_goal(
            CommunityId(1),
            "trees",
            Some(goal(TREES, "trees", Some("trees"), true)),
        );
        l.add_goal(
            CommunityId(1),
            "talks",
            Some(goal(GoalId(8), "talks", None, true)),
        );
        l.add_goal(
            CommunityId(1),
            "old",
            Some(goal(GoalId(9), "old", None, false)),
        );
        l.add_goal(CommunityId(1), "ghost", None);
        l.add_values(CommunityId(1), vec!["Care".into(), "Craft".into()]);
        l.add_values(CommunityId(2), Vec::new());
        l
    }

    type Verdict = Result<(Option<GoalId>, f64, Option<String>, Option<String>), UserError>;

    /// What the rules say of `r`: its goal, what it adds to it, its unit and value.
    fn verdict(r: ContributionRequest, l: &Lookups) -> Verdict {
        validate(&r, l).map(|a| {
            (
                a.goal.map(|g| g.id),
                a.goal_amount,
                a.unit.map(Into::into),
                a.value.map(Into::into),
            )
        })
    }

    fn accepted(
        goal: Option<GoalId>,
        amount: f64,
        unit: Option<&str>,
        value: Option<&str>,
    ) -> Verdict {
        Ok((goal, amount, unit.map(Into::into), value.map(Into::into)))
    }

    #[test]
    fn a_goal_max_refuses_a_bigger_amount_and_takes_up_to_it() {
        let mut l = lookups();
        let capped = |slug: &str, unit: Option<&str>| GoalTerms {
            max_amount: Some(50.0),
            ..goal(TREES, slug, unit, true)
        };
        l.add_goal(
            CommunityId(1),
            "trees",
            Some(capped("trees", Some("trees"))),
        );
        l.add_goal(CommunityId(1), "talks", Some(capped("talks", None)));
        assert_eq!(
            verdict(request(1, 1).goal("trees").amount(50.0), &l),
            accepted(Some(TREES), 50.0, Some("trees"), None)
        );
        let e = verdict(request(1, 1).goal("trees").amount(50.5), &l).unwrap_err();
        assert_eq!(
            e.to_string(),
            "One contribution may add at most 50 trees to the goal `trees`; this one adds 50.5. \
             Log what one contribution did (several if it was several), or ask an organiser about the goal's max."
        );
        // A goal without a unit counts one per contribution unless an amount says more.
        assert!(verdict(request(1, 1).goal("talks"), &l).is_ok());
        let e = verdict(request(1, 1).goal("talks").amount(999.0), &l).unwrap_err();
        assert!(
            e.to_string().contains("at most 50 to the goal `talks`"),
            "{e}"
        );
    }

    #[test]
    fn above_review_above_it_waits_for_review_and_up_to_it_it_does_not() {
        let mut l = lookups();
        l.add_goal(
            CommunityId(1),
            "trees",
            Some(GoalTerms {
                max_amount: Some(100.0),
                review_above: Some(50.0),
                ..goal(TREES, "trees", Some("trees"), true)
            }),
        );
        let review = |r: ContributionRequest| validate(&r, &l).map(|a| a.review);
        assert_eq!(review(request(1, 1).goal("trees").amount(50.0)), Ok(false));
        assert_eq!(review(request(1, 1).goal("trees").amount(50.5)), Ok(true));
        assert_eq!(review(request(1, 1).goal("trees").amount(100.0)), Ok(true));
        // Past max it is refused, not reviewed.
        assert!(review(request(1, 1).goal("trees").amount(100.5)).is_err());
        assert_eq!(review(request(1, 1).amount(900.0)), Ok(false));
    }

    #[test]
    fn a_request_naming_nothing_needs_no_lookups_and_keeps_its_unit() {
        let r = request(1, 1).amount(3.0).unit("km");
        assert!(!Lookups::needed(&[&r]));
        assert!(Lookups::needed(&[&r, &request(1, 1).goal("trees")]));
        assert!(Lookups::needed(&[&request(1, 1).value("care")]));
        assert_eq!(
            verdict(r, &Lookups::default()),
            accepted(None, 0.0, Some("km"), None)
        );
    }

    #[test]
    fn lookups_remember_what_was_read_even_when_nothing_was_found() {
        let l = lookups();
        assert!(l.has_goal(CommunityId(1), "ghost"));
        assert!(!l.has_goal(CommunityId(1), "oak"));
        assert!(!l.has_goal(CommunityId(2), "trees"));
        assert!(l.has_values(CommunityId(2)));
        assert!(!l.has_values(CommunityId(3)));
        assert_eq!(l.goals().count(), 3);
    }

    #[test]
    fn the_goal_must_exist_and_be_open() {
        let l = lookups();
        for slug in ["ghost", "oak"] {
            assert_eq!(
                verdict(request(1, 1).goal(slug), &l),
                Err(UserError::not_found(
                    format!("No goal `{slug}`"),
                    "See `goal list` for the goals and their slugs."
                ))
            );
        }
        // A slug of another community is not this one's.
        assert!(verdict(request(2, 1).goal("trees"), &l).is_err());
        assert_eq!(
            verdict(request(1, 1).goal("old"), &l),
            Err(UserError::invalid(
                "The goal `old` is closed.",
                "Log it without goal=, or pick an open goal from `goal list`."
            ))
        );
    }

    #[test]
    fn the_unit_must_be_the_goals() {
        let l = lookups();
        assert_eq!(
            verdict(request(1, 1).goal("trees").amount(2.0).unit("km"), &l),
            Err(UserError::invalid(
                "The goal `trees` counts trees, not km.",
                "Leave out unit= (it will be trees), or log it without goal=."
            ))
        );
        // Any case will do; it is stored as the goal spells it.
        assert_eq!(
            verdict(request(1, 1).goal("trees").amount(2.0).unit("TREES"), &l),
            accepted(Some(TREES), 2.0, Some("trees"), None)
        );
    }

    #[test]
    fn what_a_contribution_adds_to_its_goal() {
        let l = lookups();
        // A goal with a unit counts amounts: none adds nothing, and has no unit.
        assert_eq!(
            verdict(request(1, 1).goal("trees"), &l),
            accepted(Some(TREES), 0.0, None, None)
        );
        assert_eq!(
            verdict(request(1, 1).goal("trees").amount(4.0), &l),
            accepted(Some(TREES), 4.0, Some("trees"), None)
        );
        // A goal without one counts contributions: one each, unless an amount says.
        assert_eq!(
            verdict(request(1, 1).goal("talks"), &l),
            accepted(Some(GoalId(8)), 1.0, None, None)
        );
        assert_eq!(
            verdict(request(1, 1).goal("talks").amount(3.0).unit("h"), &l),
            accepted(Some(GoalId(8)), 3.0, Some("h"), None)
        );
    }

    #[test]
    fn the_value_must_be_the_missions_and_is_spelt_as_it_spells_it() {
        let l = lookups();
        assert_eq!(
            verdict(request(1, 1).value("cRAFT"), &l),
            accepted(None, 0.0, None, Some("Craft"))
        );
        assert_eq!(
            verdict(request(1, 1).value("speed"), &l),
            Err(UserError::not_found(
                "No value `speed` in the mission",
                "The values are: Care, Craft."
            ))
        );
        assert_eq!(
            verdict(request(2, 1).value("care"), &l),
            Err(UserError::invalid(
                "The mission has no values yet, so value=care cannot be used.",
                "Log it without value=, or ask an organiser to `mission value add` it."
            ))
        );
    }

    #[test]
    fn the_goal_is_checked_before_the_value() {
        let l = lookups();
        assert!(matches!(
            verdict(request(1, 1).goal("old").value("speed"), &l),
            Err(UserError::Invalid { .. })
        ));
    }
}
