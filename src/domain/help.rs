//! The one list of commands, their syntax and what they are for. Help replies and
//! parse errors both read it, so an error always shows the form that works.

pub struct Usage {
    /// The words that select the command: "goal create".
    pub verb: &'static str,
    pub form: &'static str,
    pub summary: &'static str,
    pub organiser_only: bool,
}

const fn u(verb: &'static str, form: &'static str, summary: &'static str) -> Usage {
    Usage {
        verb,
        form,
        summary,
        organiser_only: false,
    }
}

const fn o(verb: &'static str, form: &'static str, summary: &'static str) -> Usage {
    Usage {
        verb,
        form,
        summary,
        organiser_only: true,
    }
}

pub const USAGES: &[Usage] = &[
    u(
        "mission show",
        "mission show",
        "Show the mission and its values.",
    ),
    u(
        "mission history",
        "mission history",
        "Every version of the mission: who changed it, when and why.",
    ),
    o(
        "mission set",
        "mission set <statement> [reason=\"why it changed\"]",
        "Set a new version of the mission.",
    ),
    o(
        "mission value add",
        "mission value add <value>",
        "Add a value to the mission.",
    ),
    o(
        "mission value remove",
        "mission value remove <value>",
        "Remove a value from the mission.",
    ),
    u(
        "contribute",
        "contribute <what you did> [amount=40] [unit=trees] [goal=slug] [value=name] [date=YYYY-MM-DD]",
        "Log something you did for the community (date may be up to 90 days back).",
    ),
    u(
        "contributions",
        "contributions [@member]",
        "Recent contributions: yours, or a member's.",
    ),
    o(
        "goal create",
        "goal create <title> target=1000 [unit=trees] [slug=trees] [deadline=YYYY-MM-DD]",
        "Create a goal the community works towards.",
    ),
    u(
        "goal list",
        "goal list",
        "Open goals and how far along they are.",
    ),
    u(
        "goal show",
        "goal show <slug> [chart]",
        "One goal in detail, or its progress as a picture.",
    ),
    o(
        "goal close",
        "goal close <slug>",
        "Close a goal; no more contributions count towards it.",
    ),
    o(
        "milestone add",
        "milestone add <title> at=1000 [goal=slug]",
        "Add a custom milestone: at a goal's amount, or at a community contribution count.",
    ),
    u(
        "milestone list",
        "milestone list",
        "Milestones reached and still ahead.",
    ),
    u(
        "kudos",
        "kudos @member [for] <what for>",
        "Thank a member for something they did.",
    ),
    u(
        "stats",
        "stats [period=7d|28d|90d|12w] [from=YYYY-MM-DD to=YYYY-MM-DD]",
        "Community activity, growth, retention, newcomer conversion, equity, goals and top contributors.",
    ),
    u(
        "stats chart",
        "stats chart [period=…] [from=… to=…]",
        "The same window as pictures: weekly activity, retention cohorts, activity by hour, goals.",
    ),
    u("stats me", "stats me", "Your own totals and streak."),
    u(
        "away",
        "away on|off",
        "Pause your health signals while you take a break.",
    ),
    u(
        "link",
        "link | link <code>",
        "Get a code to join another platform identity to you, or use one.",
    ),
    o(
        "link community",
        "link community",
        "Get a code to join another Discord server or Slack workspace to this community.",
    ),
    u(
        "export",
        "export me [format=csv|json]",
        "Your own data as a file.",
    ),
    o(
        "export community",
        "export [format=csv|json]",
        "All of the community's data as a file.",
    ),
    u(
        "forget-me",
        "forget-me [confirm]",
        "Erase your contributions, kudos and identities from this community.",
    ),
    o(
        "setup",
        "setup [announcements <channel> | organiser-role <role> | timezone <Area/City> | digest <schedule> | reminder <schedule> | inactive-days <n> | alignment <percent> | name <community name>]",
        "Show or change the community's settings.",
    ),
    u(
        "leaderboard",
        "leaderboard [week|month|all|improved]",
        "Top contributors this week, this month (the default), of all time, or most improved; kudos alongside.",
    ),
    o(
        "health",
        "health",
        "Who may be drifting away or overloaded, who is inactive, newcomers yet to contribute, and equity.",
    ),
    u(
        "help",
        "help [command]",
        "This list, or one command in detail.",
    ),
];

/// The usage entry for a verb ("goal create"), or for the first entry of a group
/// ("goal" → "goal create").
pub fn usage(verb: &str) -> &'static Usage {
    USAGES
        .iter()
        .find(|u| u.verb == verb)
        .or_else(|| USAGES.iter().find(|u| u.verb.starts_with(verb)))
        .unwrap_or(&USAGES[USAGES.len() - 1])
}

/// Entries whose verb starts with `topic`: "goal" → all goal commands.
pub fn matching(topic: &str) -> Vec<&'static Usage> {
    let topic = topic.trim().to_lowercase();
    USAGES
        .iter()
        .filter(|u| u.verb == topic || u.verb.starts_with(&format!("{topic} ")))
        .collect()
}
