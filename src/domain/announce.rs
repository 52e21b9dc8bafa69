//! What milestone announcements say. Built once when the milestone is reached and
//! stored in the outbox, so every platform posts the same words.

use super::actor::{ContributionId, MemberId};
use super::contribution::snapshot::{Snapshot, describe};
use super::milestones::{Milestone, headline};
use super::reply::{Line, Press, Reply};
use super::text::format_number;

/// How long announcements stay worth posting; past that, they expire unposted
/// rather than flood a channel late (RELIABILITY.md R9).
#[derive(Debug, Clone, Copy)]
pub struct Freshness {
    pub milestone_max_age: chrono::Duration,
    /// None: until the next digest is due.
    pub digest_max_age: Option<chrono::Duration>,
    /// None: until the next reminder is due.
    pub reminder_max_age: Option<chrono::Duration>,
}

impl Default for Freshness {
    fn default() -> Self {
        Freshness {
            milestone_max_age: chrono::Duration::days(7),
            digest_max_age: None,
            reminder_max_age: None,
        }
    }
}

/// A goal as an announcement needs it.
pub struct GoalFigures<'a> {
    pub title: &'a str,
    pub progress: f64,
    pub target: f64,
    pub unit: Option<&'a str>,
}

pub fn progress_text(progress: f64, target: f64, unit: Option<&str>) -> String {
    let unit = unit.map(|u| format!(" {u}")).unwrap_or_default();
    let percent = (progress / target * 100.0).clamp(0.0, 999.0);
    format!(
        "{} / {}{unit} ({}%)",
        format_number(progress),
        format_number(target),
        format_number((percent + 1e-9).floor())
    )
}

/// A ten-cell text progress bar: ▰▰▰▱▱▱▱▱▱▱.
pub fn progress_bar(progress: f64, target: f64) -> String {
    let filled = ((progress / target) * 10.0 + 1e-9).floor().clamp(0.0, 10.0) as usize;
    format!("{}{}", "▰".repeat(filled), "▱".repeat(10 - filled))
}

/// The announcement for a milestone reached by one contribution, by `member`
/// (their id and name).
pub fn milestone(
    milestone: &Milestone,
    (member, member_name): (MemberId, &str),
    description: &str,
    goal: Option<&GoalFigures<'_>>,
) -> Reply {
    let subject = match (milestone, goal) {
        (Milestone::GoalPercent(_), Some(g)) => g.title,
        _ => member_name,
    };
    let mut reply = Reply::public(format!("🎉 {}", headline(milestone, subject)));
    if let Some(g) = goal {
        reply = reply.line(
            Line::new()
                .strong(g.title)
                .text(": ")
                .text(progress_bar(g.progress, g.target))
                .text(" ")
                .text(progress_text(g.progress, g.target, g.unit)),
        );
    }
    // The line that quotes the contribution names its author, so erasing them
    // takes it out (R8).
    let who = match milestone {
        Milestone::MemberCount(_) => Line::new().text("Their contribution: "),
        _ => Line::new()
            .text("Reached with ")
            .member(member, member_name)
            .text("'s contribution: "),
    };
    reply.line(who.text(format!("“{description}”")))
}

/// What organisers decide from, in the review channel: the contribution waiting,
/// and buttons to approve or reject it (the typed forms work as well).
pub fn review_request(
    id: ContributionId,
    member: MemberId,
    member_name: &str,
    contribution: &Snapshot,
) -> Reply {
    Reply::public(format!("Contribution #{id} waits for review"))
        .line(
            Line::new()
                .member(member, member_name)
                .text(": ")
                .extend(describe(contribution)),
        )
        .line(
            Line::new()
                .text("It counts nowhere until approved. Or type ")
                .code(format!("review approve #{id}"))
                .text(" or ")
                .code(format!("review reject #{id} reason=\"…\""))
                .text("."),
        )
        .button("Approve", Press::Approve(id), false)
        .button("Reject…", Press::Reject(id), true)
}

/// What an announcement says once the member it was about has been erased: posted
/// in place of it, or edited into the message that carried it.
pub fn removed() -> Reply {
    Reply::public("Announcement removed")
        .line("The member it was about asked Keel to erase their data.")
}

/// What a milestone's announcement says once the milestone is retracted: it was
/// reached only through a contribution an organiser or its member removed.
pub fn retracted() -> Reply {
    Reply::public("Milestone retracted")
        .line("The contribution that reached it was removed; it can be reached again.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_figures() {
        assert_eq!(
            progress_text(40.0, 1000.0, Some("trees")),
            "40 / 1,000 trees (4%)"
        );
        assert_eq!(progress_bar(500.0, 1000.0), "▰▰▰▰▰▱▱▱▱▱");
        assert_eq!(progress_bar(2000.0, 1000.0), "▰".repeat(10));
    }

    #[test]
    fn goal_announcement_names_goal_and_member() {
        let g = GoalFigures {
            title: "Plant 1000 trees",
            progress: 250.0,
            target: 1000.0,
            unit: Some("trees"),
        };
        let r = milestone(
            &Milestone::GoalPercent(25),
            (MemberId(3), "Alice"),
            "Planted oaks",
            Some(&g),
        );
        let text = r.plain();
        assert!(
            text.contains("Plant 1000 trees is 25% of the way there!"),
            "{text}"
        );
        assert!(text.contains("Alice's contribution"), "{text}");
        // The line naming her goes with her; the goal's progress stays.
        let redacted = r.without_member(MemberId(3)).plain();
        assert!(!redacted.contains("Alice"), "{redacted}");
        assert!(!redacted.contains("Planted oaks"), "{redacted}");
        assert!(redacted.contains("250 / 1,000 trees"), "{redacted}");
    }
}
