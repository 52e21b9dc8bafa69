//! Milestones: the built-in ladders and organisers' custom ones, and which of them a
//! change crosses. Pure: the store feeds in counts before and after a contribution;
//! the database's unique key then makes each crossing count once.

use super::actor::{GoalId, MemberId};
use super::reply::{Line, Span};
use super::text::{format_number, reached};

/// Community contribution counts worth celebrating: 1, 10, 25, 50, 100, 250, 500,
/// 1000, then every 1000.
const COMMUNITY_LADDER: [i64; 8] = [1, 10, 25, 50, 100, 250, 500, 1000];
/// A member's own contribution counts: their first, 10th, 50th and 100th.
const MEMBER_LADDER: [i64; 4] = [1, 10, 50, 100];
/// Goal progress, in percent of the target.
const GOAL_PERCENTS: [u32; 4] = [25, 50, 75, 100];

/// What a milestone is about; one achievement per (milestone, subject).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Community,
    Goal(GoalId),
    Member(MemberId),
}

impl Subject {
    pub fn key(&self) -> String {
        match self {
            Subject::Community => "community".into(),
            Subject::Goal(id) => format!("goal:{id}"),
            Subject::Member(id) => format!("member:{id}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Milestone {
    /// The community's nth contribution.
    CommunityCount(i64),
    /// A member's nth contribution.
    MemberCount(i64),
    /// A goal at a percentage of its target.
    GoalPercent(u32),
    /// An organiser's milestone: a goal amount or a community count.
    Custom {
        id: i64,
        title: String,
        threshold: f64,
    },
}

impl Milestone {
    /// Stable key stored with the achievement.
    pub fn key(&self) -> String {
        match self {
            Milestone::CommunityCount(n) => format!("community.count.{n}"),
            Milestone::MemberCount(n) => format!("member.count.{n}"),
            Milestone::GoalPercent(p) => format!("goal.percent.{p}"),
            Milestone::Custom { id, .. } => format!("custom.{id}"),
        }
    }

    /// The built-in milestone a stored key names (custom ones need their row).
    pub fn built_in(key: &str) -> Option<Milestone> {
        let (kind, n) = key.rsplit_once('.')?;
        match kind {
            "community.count" => n.parse().ok().map(Milestone::CommunityCount),
            "member.count" => n.parse().ok().map(Milestone::MemberCount),
            "goal.percent" => n.parse().ok().map(Milestone::GoalPercent),
            _ => None,
        }
    }
}

/// Whether the ladder includes `n`.
fn on_community_ladder(n: i64) -> bool {
    COMMUNITY_LADDER.contains(&n) || (n > 1000 && n % 1000 == 0)
}

/// Community ladder steps in `(before, after]`.
pub fn community_counts_crossed(before: i64, after: i64) -> Vec<Milestone> {
    let mut out: Vec<Milestone> = COMMUNITY_LADDER
        .iter()
        .copied()
        .filter(|&n| n > before && n <= after)
        .map(Milestone::CommunityCount)
        .collect();
    let mut next = (before.max(1000) / 1000 + 1) * 1000;
    while next <= after {
        if next > 1000 && on_community_ladder(next) {
            out.push(Milestone::CommunityCount(next));
        }
        next += 1000;
    }
    out
}

/// Member ladder steps in `(before, after]`.
pub fn member_counts_crossed(before: i64, after: i64) -> Vec<Milestone> {
    MEMBER_LADDER
        .iter()
        .copied()
        .filter(|&n| n > before && n <= after)
        .map(Milestone::MemberCount)
        .collect()
}

/// Goal percentages whose amount lies in `(before, after]`.
pub fn goal_percents_crossed(before: f64, after: f64, target: f64) -> Vec<Milestone> {
    GOAL_PERCENTS
        .iter()
        .copied()
        .filter(|&p| {
            let at = target * f64::from(p) / 100.0;
            !reached(before, at) && reached(after, at)
        })
        .map(Milestone::GoalPercent)
        .collect()
}

/// Custom thresholds in `(before, after]`.
pub fn custom_crossed(
    before: f64,
    after: f64,
    id: i64,
    title: &str,
    threshold: f64,
) -> Option<Milestone> {
    (!reached(before, threshold) && reached(after, threshold)).then(|| Milestone::Custom {
        id,
        title: title.to_string(),
        threshold,
    })
}

/// 1 → "1st", 22 → "22nd", 1000 → "1,000th".
pub fn ordinal(n: i64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{}{suffix}", format_number(n as f64))
}

/// The headline of an achievement, for announcements and `milestone list`.
pub fn headline(milestone: &Milestone, subject_name: &str) -> String {
    headline_line(milestone, Span::Text(subject_name.to_string())).plain()
}

/// The headline as a line around `subject`: a member reference for a member's
/// milestone, so a digest that lists it names them by id (R8).
pub fn headline_line(milestone: &Milestone, subject: Span) -> Line {
    let around = |before: &str, after: String| {
        let mut line = Line::new();
        if !before.is_empty() {
            line = line.text(before);
        }
        line.0.push(subject.clone());
        line.text(after)
    };
    match milestone {
        Milestone::CommunityCount(1) => "The community logged its first contribution!".into(),
        Milestone::CommunityCount(n) => format!(
            "The community reached {} contributions!",
            format_number(*n as f64)
        )
        .into(),
        Milestone::MemberCount(1) => around("", " logged their first contribution!".into()),
        Milestone::MemberCount(n) => {
            around("", format!(" logged their {} contribution!", ordinal(*n)))
        }
        Milestone::GoalPercent(100) => around("Goal met: ", "!".into()),
        Milestone::GoalPercent(p) => around("", format!(" is {p}% of the way there!")),
        Milestone::Custom { title, .. } => format!("Milestone reached: {title}!").into(),
    }
}

/// The community ladder's next step after `count`, for "next milestone" hints.
pub fn next_community_step(count: i64) -> i64 {
    COMMUNITY_LADDER
        .iter()
        .copied()
        .find(|&n| n > count)
        .unwrap_or((count / 1000 + 1) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(v: Vec<Milestone>) -> Vec<i64> {
        v.into_iter()
            .map(|m| match m {
                Milestone::CommunityCount(n) | Milestone::MemberCount(n) => n,
                _ => -1,
            })
            .collect()
    }

    #[test]
    fn community_ladder() {
        assert_eq!(counts(community_counts_crossed(0, 1)), vec![1]);
        assert_eq!(counts(community_counts_crossed(1, 9)), Vec::<i64>::new());
        assert_eq!(counts(community_counts_crossed(9, 10)), vec![10]);
        assert_eq!(
            counts(community_counts_crossed(0, 100)),
            vec![1, 10, 25, 50, 100]
        );
        assert_eq!(counts(community_counts_crossed(999, 1000)), vec![1000]);
        assert_eq!(
            counts(community_counts_crossed(1000, 1999)),
            Vec::<i64>::new()
        );
        assert_eq!(
            counts(community_counts_crossed(1999, 3000)),
            vec![2000, 3000]
        );
        assert_eq!(next_community_step(0), 1);
        assert_eq!(next_community_step(100), 250);
        assert_eq!(next_community_step(1000), 2000);
    }

    #[test]
    fn member_ladder_and_goals() {
        assert_eq!(counts(member_counts_crossed(0, 1)), vec![1]);
        assert_eq!(counts(member_counts_crossed(9, 10)), vec![10]);
        assert_eq!(counts(member_counts_crossed(10, 49)), Vec::<i64>::new());
        let crossed = goal_percents_crossed(200.0, 500.0, 1000.0);
        assert_eq!(
            crossed,
            vec![Milestone::GoalPercent(25), Milestone::GoalPercent(50)]
        );
        assert!(goal_percents_crossed(500.0, 700.0, 1000.0).is_empty());
        assert_eq!(
            goal_percents_crossed(999.0, 1500.0, 1000.0),
            vec![Milestone::GoalPercent(100)]
        );
        assert!(custom_crossed(10.0, 20.0, 1, "x", 20.0).is_some());
        assert!(custom_crossed(20.0, 30.0, 1, "x", 20.0).is_none());
    }

    #[test]
    fn headlines() {
        assert_eq!(
            headline(&Milestone::MemberCount(10), "Alice"),
            "Alice logged their 10th contribution!"
        );
        assert_eq!(
            headline(&Milestone::CommunityCount(1000), ""),
            "The community reached 1,000 contributions!"
        );
        assert_eq!(
            headline(&Milestone::GoalPercent(100), "Trees"),
            "Goal met: Trees!"
        );
        let line = headline_line(
            &Milestone::MemberCount(1),
            Span::Member {
                id: MemberId(4),
                name: "Alice".into(),
            },
        );
        assert_eq!(line.plain(), "Alice logged their first contribution!");
        assert!(line.names(MemberId(4)));
        assert_eq!(
            Milestone::built_in(&Milestone::MemberCount(50).key()),
            Some(Milestone::MemberCount(50))
        );
        assert_eq!(Milestone::built_in("custom.3"), None);
        assert_eq!(ordinal(1), "1st");
        assert_eq!(ordinal(12), "12th");
        assert_eq!(ordinal(22), "22nd");
    }
}
