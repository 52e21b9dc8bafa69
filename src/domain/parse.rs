//! The one text syntax, shared by the console and Slack's `/keel …`: a verb, free
//! text, and `key=value` options anywhere on the line. Double quotes (straight or
//! curly) group words: `reason="first draft"`, or a whole text that contains `=`.
//! Apostrophes are ordinary letters, so "Saturday's" needs no quoting.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::actor::MemberRef;
use super::command::{
    Board, Command, ExportFormat, ExportScope, LinkKind, NewContribution, NewGoal, NewMilestone,
    Setup, Window,
};
use super::error::UserError;
use super::help;
use super::schedule::{SCHEDULE_USAGE, ScheduleSpec};
use super::text::{
    Amount, Description, Name, PlatformRef, Reason, Slug, Statement, Title, Unit, ValueName,
    parse_day,
};

/// The longest line accepted, in characters; longer texts are refused whole rather
/// than cut (each field has its own, smaller limit).
pub const MAX_LINE_CHARS: usize = 8000;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Option { key: String, value: String },
}

fn is_open_quote(c: char) -> bool {
    matches!(c, '"' | '“' | '„' | '”')
}

fn is_close_quote(c: char) -> bool {
    matches!(c, '"' | '”' | '“')
}

fn is_key(word: &str) -> bool {
    let mut chars = word.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && word.len() <= 20
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Reads a quoted run starting at the opening quote; returns it and the index after
/// the closing quote.
fn read_quoted(chars: &[char], open: usize) -> Result<(String, usize), String> {
    let mut i = open + 1;
    let mut out = String::new();
    while i < chars.len() {
        if is_close_quote(chars[i]) {
            return Ok((out, i + 1));
        }
        out.push(chars[i]);
        i += 1;
    }
    Err("A quote mark is not closed: add the closing \" after the quoted words.".into())
}

fn tokenize(line: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = line.chars().collect();
    let n = chars.len();
    let mut tokens = Vec::new();
    let mut i = 0;
    'tokens: while i < n {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        if is_open_quote(chars[i]) {
            let (text, next) = read_quoted(&chars, i)?;
            tokens.push(Token::Quoted(text));
            i = next;
            continue;
        }
        let mut word = String::new();
        while i < n && !chars[i].is_whitespace() {
            if chars[i] == '=' && is_key(&word) {
                let key = word.to_ascii_lowercase();
                if i + 1 < n && is_open_quote(chars[i + 1]) {
                    let (value, next) = read_quoted(&chars, i + 1)?;
                    tokens.push(Token::Option { key, value });
                    i = next;
                } else {
                    let mut value = String::new();
                    i += 1;
                    while i < n && !chars[i].is_whitespace() {
                        value.push(chars[i]);
                        i += 1;
                    }
                    tokens.push(Token::Option { key, value });
                }
                continue 'tokens;
            }
            word.push(chars[i]);
            i += 1;
        }
        tokens.push(Token::Word(word));
    }
    Ok(tokens)
}

/// The words and options after the verb.
struct Args {
    usage: &'static help::Usage,
    words: Vec<String>,
    options: Vec<(String, String)>,
}

impl Args {
    fn error(&self, problem: impl Into<String>) -> UserError {
        UserError::syntax(problem, self.usage.form)
    }

    /// The options, checked against those the command takes.
    fn options(&mut self, allowed: &[&str]) -> Result<HashMap<String, String>, UserError> {
        let mut out = HashMap::new();
        for (key, value) in std::mem::take(&mut self.options) {
            if !allowed.contains(&key.as_str()) {
                let known = if allowed.is_empty() {
                    format!("`{}` takes no options.", self.usage.verb)
                } else {
                    format!("Options for `{}`: {}.", self.usage.verb, allowed.join(", "))
                };
                return Err(self.error(format!(
                    "Unknown option `{key}`. {known} If `{key}=…` is part of your text, put the text in double quotes."
                )));
            }
            if value.trim().is_empty() {
                return Err(self.error(format!("The option `{key}=` has no value.")));
            }
            if out.insert(key.clone(), value).is_some() {
                return Err(self.error(format!("The option `{key}` is given twice.")));
            }
        }
        Ok(out)
    }

    fn no_options(&mut self) -> Result<(), UserError> {
        self.options(&[]).map(|_| ())
    }

    fn text(&self) -> String {
        self.words.join(" ")
    }

    fn require_text(&self, what: &str) -> Result<String, UserError> {
        let text = self.text();
        if text.trim().is_empty() {
            return Err(self.error(format!("Missing {what}.")));
        }
        Ok(text)
    }

    fn no_text(&self) -> Result<(), UserError> {
        match self.words.first() {
            None => Ok(()),
            Some(w) => Err(self.error(format!("Unexpected `{w}`."))),
        }
    }
}

/// Parses one command line. `today` resolves `date=today` and `yesterday`.
pub fn parse(line: &str, today: NaiveDate) -> Result<Command, UserError> {
    let count = line.chars().count();
    if count > MAX_LINE_CHARS {
        return Err(UserError::invalid(
            format!("That line is {count} characters long; the limit is {MAX_LINE_CHARS}."),
            "Send something shorter.",
        ));
    }
    let tokens = tokenize(line).map_err(|problem| UserError::syntax(problem, "help"))?;
    let mut words: Vec<String> = Vec::new();
    let mut options = Vec::new();
    for token in tokens {
        match token {
            Token::Word(w) | Token::Quoted(w) => words.push(w),
            Token::Option { key, value } => options.push((key, value)),
        }
    }
    // The console accepts Slack's form too: "/keel contribute …".
    if words
        .first()
        .is_some_and(|w| w.eq_ignore_ascii_case("/keel"))
    {
        words.remove(0);
    }
    let Some(first) = words.first() else {
        return Err(UserError::syntax(
            "There is no command on that line.",
            "help (lists every command)",
        ));
    };
    let first = first.trim_start_matches('/').to_lowercase();
    let second = words.get(1).map(|w| w.to_lowercase());
    let third = words.get(2).map(|w| w.to_lowercase());

    // Pick the verb: how many words it takes, and its usage entry.
    let (verb, consumed): (&str, usize) = match (
        first.as_str(),
        second.as_deref(),
        third.as_deref(),
    ) {
        ("mission", Some("value"), Some("add")) => ("mission value add", 3),
        ("mission", Some("value"), Some("remove" | "rm" | "delete")) => ("mission value remove", 3),
        ("mission", Some("value"), _) => {
            return Err(UserError::syntax(
                "`mission value` needs `add` or `remove`.",
                "mission value add <value> | mission value remove <value>",
            ));
        }
        ("mission", Some("show"), _) => ("mission show", 2),
        ("mission", Some("set"), _) => ("mission set", 2),
        ("mission", Some("history"), _) => ("mission history", 2),
        ("mission", None, _) => ("mission show", 1),
        ("mission", Some(other), _) => {
            return Err(UserError::syntax(
                format!("`mission {other}` is not a mission command."),
                "mission show | mission set <statement> | mission history | mission value add|remove <value>",
            ));
        }
        ("contribute", _, _) => ("contribute", 1),
        ("contributions", _, _) => ("contributions", 1),
        ("goal" | "goals", Some("create" | "new" | "add"), _) => ("goal create", 2),
        ("goal" | "goals", Some("list"), _) | ("goal" | "goals", None, _) => {
            ("goal list", if second.is_some() { 2 } else { 1 })
        }
        ("goal" | "goals", Some("show"), _) => ("goal show", 2),
        ("goal" | "goals", Some("close"), _) => ("goal close", 2),
        ("goal" | "goals", Some(other), _) => {
            return Err(UserError::syntax(
                format!("`goal {other}` is not a goal command."),
                "goal create <title> target=N | goal list | goal show <slug> | goal close <slug>",
            ));
        }
        ("milestone" | "milestones", Some("add" | "create"), _) => ("milestone add", 2),
        ("milestone" | "milestones", Some("list"), _) | ("milestone" | "milestones", None, _) => {
            ("milestone list", if second.is_some() { 2 } else { 1 })
        }
        ("milestone" | "milestones", Some(other), _) => {
            return Err(UserError::syntax(
                format!("`milestone {other}` is not a milestone command."),
                "milestone add <title> at=N [goal=slug] | milestone list",
            ));
        }
        ("kudos" | "thanks", _, _) => ("kudos", 1),
        ("stats", Some("me"), _) => ("stats me", 2),
        ("stats", Some("chart" | "charts"), _) => ("stats chart", 2),
        ("stats", _, _) => ("stats", 1),
        ("away", _, _) => ("away", 1),
        ("link", Some("community" | "workspace" | "server"), _) => ("link community", 2),
        ("link", _, _) => ("link", 1),
        ("export", Some("me"), _) => ("export", 2),
        ("export", _, _) => ("export community", 1),
        ("forget-me" | "forgetme", _, _) => ("forget-me", 1),
        ("forget", Some("me"), _) => ("forget-me", 2),
        ("setup" | "settings", _, _) => ("setup", 1),
        ("health", _, _) => ("health", 1),
        ("leaderboard" | "top", _, _) => ("leaderboard", 1),
        ("help" | "?", _, _) => ("help", 1),
        (other, _, _) => {
            return Err(UserError::syntax(
                format!("`{other}` is not a Keel command."),
                "help (lists every command)",
            ));
        }
    };
    let mut args = Args {
        usage: help::usage(verb),
        words: words.split_off(consumed),
        options,
    };
    parse_verb(verb, &mut args, today)
}

fn parse_verb(verb: &str, args: &mut Args, today: NaiveDate) -> Result<Command, UserError> {
    let command = match verb {
        "help" => {
            args.no_options()?;
            let topic = args.text();
            Command::Help {
                topic: (!topic.is_empty()).then_some(topic),
            }
        }
        "mission show" => {
            args.no_options()?;
            args.no_text()?;
            Command::MissionShow
        }
        "mission history" => {
            args.no_options()?;
            args.no_text()?;
            Command::MissionHistory
        }
        "mission set" => {
            let mut opts = args.options(&["reason"])?;
            let statement = Statement::parse(&args.require_text("the mission statement")?)?;
            let reason = opts
                .remove("reason")
                .map(|r| Reason::parse(&r))
                .transpose()?;
            Command::MissionSet { statement, reason }
        }
        "mission value add" | "mission value remove" => {
            args.no_options()?;
            let name = ValueName::parse(&args.require_text("the value's name")?)?;
            if verb.ends_with("add") {
                Command::MissionValueAdd { name }
            } else {
                Command::MissionValueRemove { name }
            }
        }
        "contribute" => {
            let mut opts = args.options(&["amount", "unit", "goal", "value", "date"])?;
            let description = Description::parse(&args.require_text("what you did")?)?;
            Command::Contribute(NewContribution {
                description,
                amount: opts
                    .remove("amount")
                    .map(|a| Amount::parse("amount", &a))
                    .transpose()?,
                unit: opts.remove("unit").map(|u| Unit::parse(&u)).transpose()?,
                goal: opts.remove("goal").map(|g| Slug::parse(&g)).transpose()?,
                value: opts
                    .remove("value")
                    .map(|v| ValueName::parse(&v))
                    .transpose()?,
                day: opts
                    .remove("date")
                    .map(|d| parse_day("date", &d, today))
                    .transpose()?,
            })
        }
        "contributions" => {
            args.no_options()?;
            let member = match args.words.as_slice() {
                [] => MemberRef::Me,
                [one] => MemberRef::parse(one)
                    .ok_or_else(|| args.error(format!("`{one}` is not a member: write @name.")))?,
                _ => return Err(args.error("Name one member, like @bob.")),
            };
            Command::Contributions { member }
        }
        "goal create" => {
            let mut opts = args.options(&["target", "unit", "slug", "deadline"])?;
            let title = Title::parse(&args.require_text("the goal's title")?)?;
            let target = opts
                .remove("target")
                .ok_or_else(|| args.error("Missing target=N: how much makes the goal met."))?;
            Command::GoalCreate(NewGoal {
                title,
                target: Amount::parse("target", &target)?,
                unit: opts.remove("unit").map(|u| Unit::parse(&u)).transpose()?,
                slug: opts.remove("slug").map(|s| Slug::parse(&s)).transpose()?,
                deadline: opts
                    .remove("deadline")
                    .map(|d| parse_day("deadline", &d, today))
                    .transpose()?,
            })
        }
        "goal list" => {
            args.no_options()?;
            args.no_text()?;
            Command::GoalList
        }
        "goal show" | "goal close" => {
            args.no_options()?;
            let chart = verb == "goal show"
                && args.words.len() == 2
                && matches!(args.words[1].to_lowercase().as_str(), "chart" | "charts");
            let slug = match args.words.as_slice() {
                [one] => Slug::parse(one)?,
                [one, _] if chart => Slug::parse(one)?,
                [] => return Err(args.error("Missing the goal's slug (see `goal list`).")),
                _ => return Err(args.error("Give one slug, like `trees`.")),
            };
            if chart {
                Command::GoalChart { slug }
            } else if verb == "goal show" {
                Command::GoalShow { slug }
            } else {
                Command::GoalClose { slug }
            }
        }
        "milestone add" => {
            let mut opts = args.options(&["at", "goal"])?;
            let title = Title::parse(&args.require_text("the milestone's title")?)?;
            let at = opts
                .remove("at")
                .ok_or_else(|| args.error("Missing at=N: the amount or count that reaches it."))?;
            Command::MilestoneAdd(NewMilestone {
                title,
                threshold: Amount::parse("at", &at)?,
                goal: opts.remove("goal").map(|g| Slug::parse(&g)).transpose()?,
            })
        }
        "milestone list" => {
            args.no_options()?;
            args.no_text()?;
            Command::MilestoneList
        }
        "kudos" => {
            args.no_options()?;
            let Some(first) = args.words.first().cloned() else {
                return Err(args.error("Missing who the kudos are for."));
            };
            let to = MemberRef::parse(&first)
                .filter(|r| *r != MemberRef::Me)
                .ok_or_else(|| {
                    args.error(format!("`{first}` is not a member: start with @name."))
                })?;
            let mut rest: Vec<String> = args.words[1..].to_vec();
            if rest.first().is_some_and(|w| w.eq_ignore_ascii_case("for")) {
                rest.remove(0);
            }
            let reason = rest.join(" ");
            let reason = (!reason.trim().is_empty())
                .then(|| Reason::parse(&reason))
                .transpose()?;
            Command::Kudos { to, reason }
        }
        "stats" | "stats chart" => {
            let mut opts = args.options(&["period", "from", "to"])?;
            args.no_text()?;
            let window = stats_window(
                opts.remove("period"),
                opts.remove("from"),
                opts.remove("to"),
                today,
            )
            .map_err(|problem| args.error(problem))?;
            if verb == "stats chart" {
                Command::StatsChart { window }
            } else {
                Command::Stats { window }
            }
        }
        "stats me" => {
            args.no_options()?;
            args.no_text()?;
            Command::StatsMe
        }
        "away" => {
            args.no_options()?;
            match args.text().to_lowercase().as_str() {
                "on" => Command::Away { on: true },
                "off" => Command::Away { on: false },
                _ => return Err(args.error("Say `away on` or `away off`.")),
            }
        }
        "link" => {
            args.no_options()?;
            match args.words.as_slice() {
                [] => Command::LinkStart {
                    kind: LinkKind::Identity,
                },
                [w] if w.eq_ignore_ascii_case("me") => Command::LinkStart {
                    kind: LinkKind::Identity,
                },
                [code] => Command::LinkRedeem { code: code.clone() },
                _ => return Err(args.error("Give one code, like `link KEEL-7F3K-9QXP`.")),
            }
        }
        "link community" => {
            args.no_options()?;
            args.no_text()?;
            Command::LinkStart {
                kind: LinkKind::Workspace,
            }
        }
        "export" | "export community" => {
            let mut opts = args.options(&["format"])?;
            let mut scope = if verb == "export" {
                ExportScope::Me
            } else {
                ExportScope::Community
            };
            let mut format = opts.remove("format");
            for word in &args.words {
                match word.to_lowercase().as_str() {
                    "csv" | "json" if format.is_none() => format = Some(word.clone()),
                    "me" | "mine" => scope = ExportScope::Me,
                    _ => return Err(args.error(format!("Unexpected `{word}`."))),
                }
            }
            let format = match format.as_deref().map(str::to_lowercase).as_deref() {
                None | Some("csv") => ExportFormat::Csv,
                Some("json") => ExportFormat::Json,
                Some(other) => {
                    return Err(args.error(format!("`{other}` is not a format: use csv or json.")));
                }
            };
            Command::Export { scope, format }
        }
        "forget-me" => {
            args.no_options()?;
            match args.text().to_lowercase().as_str() {
                "" => Command::ForgetMe { confirmed: false },
                "confirm" => Command::ForgetMe { confirmed: true },
                other => {
                    return Err(args.error(format!(
                        "Unexpected `{other}`: say `forget-me confirm` to go ahead."
                    )));
                }
            }
        }
        "leaderboard" => {
            args.no_options()?;
            let board = match args.text().to_lowercase().as_str() {
                "" | "month" | "30d" => Board::Month,
                "week" | "7d" => Board::Week,
                "all" | "all-time" | "ever" => Board::AllTime,
                "improved" | "most-improved" | "rising" => Board::MostImproved,
                other => return Err(args.error(format!("`{other}` is not a leaderboard."))),
            };
            Command::Leaderboard { board }
        }
        "health" => {
            args.no_options()?;
            args.no_text()?;
            Command::Health
        }
        "setup" => {
            args.no_options()?;
            Command::Setup(parse_setup(args)?)
        }
        _ => unreachable!("every verb picked above is parsed here"),
    };
    Ok(command)
}

fn parse_setup(args: &Args) -> Result<Setup, UserError> {
    let Some(what) = args.words.first().map(|w| w.to_lowercase()) else {
        return Ok(Setup::Show);
    };
    let rest = args.words[1..].join(" ");
    let need = |thing: &str| -> Result<&str, UserError> {
        if rest.trim().is_empty() {
            Err(args.error(format!("Missing {thing} after `setup {what}`.")))
        } else {
            Ok(rest.as_str())
        }
    };
    Ok(match what.as_str() {
        "announcements" | "announce" | "channel" => {
            Setup::AnnouncementChannel(PlatformRef::parse(need("the channel")?)?)
        }
        "organiser-role" | "organizer-role" | "role" => {
            Setup::OrganiserRole(PlatformRef::parse(need("the role")?)?)
        }
        "timezone" | "tz" => Setup::Timezone(timezone(need("the time zone, like Europe/Paris")?)?),
        "digest" => Setup::Digest(ScheduleSpec::parse(need(SCHEDULE_USAGE)?)?),
        "reminder" | "mission-reminder" => {
            Setup::Reminder(ScheduleSpec::parse(need(SCHEDULE_USAGE)?)?)
        }
        "inactive-days" => {
            let raw = need("a number of days")?;
            let days: u32 = raw
                .trim()
                .parse()
                .ok()
                .filter(|d| (1..=365).contains(d))
                .ok_or_else(|| {
                    UserError::invalid(
                        format!("`{raw}` is not a number of days."),
                        "Use a whole number from 1 to 365.",
                    )
                })?;
            Setup::InactiveDays(days)
        }
        "alignment" | "alignment-threshold" => {
            let raw = need("a percentage")?;
            let percent: u32 = raw
                .trim()
                .trim_end_matches('%')
                .parse()
                .ok()
                .filter(|p| *p <= 100)
                .ok_or_else(|| {
                    UserError::invalid(
                        format!("`{raw}` is not a percentage."),
                        "Use a whole number from 0 to 100, like 50.",
                    )
                })?;
            Setup::AlignmentThreshold(percent)
        }
        "milestones" | "milestone-posts" => {
            match need("`each` or `digest`")?.trim().to_lowercase().as_str() {
                "each" | "announce" | "on" => Setup::MilestonesInDigestOnly(false),
                "digest" | "digest-only" => Setup::MilestonesInDigestOnly(true),
                other => {
                    return Err(UserError::invalid(
                        format!("`{other}` is not a way to post milestones."),
                        "Use `setup milestones each` (one post per milestone) or `setup milestones digest` (listed in the digest only).",
                    ));
                }
            }
        }
        "name" => Setup::CommunityName(Name::parse(need("the community's name")?)?),
        other => return Err(args.error(format!("`setup {other}` is not a setting."))),
    })
}

/// The window `stats` covers: `period=` (7d, 12w…) or `from=` with an optional
/// `to=`; the default without either. Errors are the problem, in words.
pub fn stats_window(
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    today: NaiveDate,
) -> Result<Window, String> {
    Ok(match (period, from, to) {
        (None, None, None) => Window::DEFAULT,
        (Some(p), None, None) => parse_period(&p).ok_or_else(|| {
            format!(
                "`{p}` is not a period: use days or weeks like 7d, 28d, 90d or 12w (at most {} days).",
                Window::MAX_DAYS
            )
        })?,
        (None, Some(from), to) => {
            let from = parse_day("from", &from, today).map_err(|e| e.to_string())?;
            let to = to
                .map(|t| parse_day("to", &t, today))
                .transpose()
                .map_err(|e| e.to_string())?
                .unwrap_or(today);
            let days = (to - from).num_days() + 1;
            if days < 1 || days > i64::from(Window::MAX_DAYS) {
                return Err(format!(
                    "from= must be on or before to=, and the window at most {} days.",
                    Window::MAX_DAYS
                ));
            }
            Window::Between { from, to }
        }
        _ => return Err("Use either period= or from= (with an optional to=), not both.".into()),
    })
}

/// A time zone by its IANA name: Europe/Paris, America/New_York, UTC.
pub fn timezone(raw: &str) -> Result<chrono_tz::Tz, UserError> {
    raw.trim().parse().map_err(|_| {
        UserError::invalid(
            format!("`{raw}` is not a time zone."),
            "Use an Area/City name like Europe/Paris or America/New_York, or UTC.",
        )
    })
}

/// `7d`, `28d`, `12w` → a window ending today.
fn parse_period(raw: &str) -> Option<Window> {
    let raw = raw.trim().to_lowercase();
    let (number, unit) = raw.split_at(raw.len().checked_sub(1)?);
    let n: u32 = number.parse().ok()?;
    let days = match unit {
        "d" => n,
        "w" => n.checked_mul(7)?,
        _ => return None,
    };
    (1..=Window::MAX_DAYS)
        .contains(&days)
        .then_some(Window::Last { days })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    fn p(line: &str) -> Result<Command, UserError> {
        parse(line, today())
    }

    #[test]
    fn the_issue_lines_parse() {
        match p(r#"mission set Grow a thriving urban forest, together. reason="first draft""#)
            .unwrap()
        {
            Command::MissionSet { statement, reason } => {
                assert_eq!(
                    statement.as_str(),
                    "Grow a thriving urban forest, together."
                );
                assert_eq!(reason.unwrap().as_str(), "first draft");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(p("mission value add stewardship").unwrap(),
            Command::MissionValueAdd { name } if name.as_str() == "stewardship"));
        match p(
            "goal create Plant 1000 trees target=1000 unit=trees slug=trees deadline=2027-06-30",
        )
        .unwrap()
        {
            Command::GoalCreate(g) => {
                assert_eq!(g.title.as_str(), "Plant 1000 trees");
                assert_eq!(g.target.get(), 1000.0);
                assert_eq!(g.unit.unwrap().as_str(), "trees");
                assert_eq!(g.slug.unwrap().as_str(), "trees");
                assert_eq!(g.deadline, NaiveDate::from_ymd_opt(2027, 6, 30));
            }
            other => panic!("{other:?}"),
        }
        match p(
            "contribute Planted 40 oaks in Riverside park amount=40 goal=trees value=stewardship",
        )
        .unwrap()
        {
            Command::Contribute(c) => {
                assert_eq!(c.description.as_str(), "Planted 40 oaks in Riverside park");
                assert_eq!(c.amount.unwrap().get(), 40.0);
                assert_eq!(c.goal.unwrap().as_str(), "trees");
                assert_eq!(c.value.unwrap().as_str(), "stewardship");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            p("contribute Ran the newcomer onboarding session").unwrap(),
            Command::Contribute(_)
        ));
        match p("kudos @bob for leading Saturday's planting").unwrap() {
            Command::Kudos { to, reason } => {
                assert_eq!(to, MemberRef::Name("bob".into()));
                assert_eq!(reason.unwrap().as_str(), "leading Saturday's planting");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            p("stats").unwrap(),
            Command::Stats {
                window: Window::DEFAULT
            }
        );
        assert_eq!(p("stats me").unwrap(), Command::StatsMe);
        assert_eq!(
            p("stats chart period=12w").unwrap(),
            Command::StatsChart {
                window: Window::Last { days: 84 }
            }
        );
        assert!(matches!(
            p("goal show trees chart").unwrap(),
            Command::GoalChart { .. }
        ));
        assert!(p("goal show trees sideways").is_err());
        assert_eq!(
            p("setup milestones digest").unwrap(),
            Command::Setup(Setup::MilestonesInDigestOnly(true))
        );
        assert!(p("setup milestones sometimes").is_err());
        assert_eq!(p("goal list").unwrap(), Command::GoalList);
        assert_eq!(p("mission history").unwrap(), Command::MissionHistory);
    }

    #[test]
    fn curly_quotes_and_slack_prefix() {
        match p("/keel mission set “Be kind” reason=“typo fix”").unwrap() {
            Command::MissionSet { statement, reason } => {
                assert_eq!(statement.as_str(), "Be kind");
                assert_eq!(reason.unwrap().as_str(), "typo fix");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_name_the_problem_and_the_form() {
        let e = p("contribute amount=40").unwrap_err().to_string();
        assert!(e.contains("Missing what you did"), "{e}");
        assert!(e.contains("contribute <what you did>"), "{e}");
        let e = p("contribute Planted trees amount=lots")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`lots` is not a number"), "{e}");
        let e = p("contribute Planted trees colour=red")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Unknown option `colour`"), "{e}");
        let e = p("goal create Plant trees").unwrap_err().to_string();
        assert!(e.contains("target=N"), "{e}");
        let e = p(r#"mission set "unclosed"#).unwrap_err().to_string();
        assert!(e.contains("not closed"), "{e}");
        let e = p("frobnicate").unwrap_err().to_string();
        assert!(e.contains("not a Keel command"), "{e}");
        let e = p("").unwrap_err().to_string();
        assert!(e.contains("no command"), "{e}");
        let e = p("contribute x amount=1 amount=2").unwrap_err().to_string();
        assert!(e.contains("twice"), "{e}");
    }

    #[test]
    fn quoted_text_keeps_equals_signs() {
        match p(r#"contribute "Taught 2+2=4 to kids" amount=1"#).unwrap() {
            Command::Contribute(c) => assert_eq!(c.description.as_str(), "Taught 2+2=4 to kids"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn periods() {
        assert_eq!(parse_period("7d"), Some(Window::Last { days: 7 }));
        assert_eq!(parse_period("12w"), Some(Window::Last { days: 84 }));
        assert_eq!(parse_period("0d"), None);
        assert_eq!(parse_period("x"), None);
        assert!(p("stats period=fortnight").is_err());
    }

    #[test]
    fn organiser_commands_are_marked() {
        assert!(p("goal create X target=1").unwrap().requires_organiser());
        assert!(p("export").unwrap().requires_organiser());
        assert!(!p("export me").unwrap().requires_organiser());
        assert!(!p("setup").unwrap().requires_organiser());
        assert!(
            p("setup timezone Europe/Paris")
                .unwrap()
                .requires_organiser()
        );
        assert!(!p("contribute x").unwrap().requires_organiser());
    }

    #[test]
    fn redeeming_a_link_code_needs_the_role_known() {
        use crate::domain::command::RoleCheck;
        // Not organiser-only (a member redeems their own identity code), yet a
        // community code needs an organiser: adapters must ask.
        let redeem = p("link KEEL-7F3K-9QXP").unwrap();
        assert!(!redeem.requires_organiser());
        assert_eq!(redeem.role_check(), RoleCheck::Required);
        assert_eq!(
            p("link community").unwrap().role_check(),
            RoleCheck::Required
        );
        assert_eq!(p("help").unwrap().role_check(), RoleCheck::Preferred);
        assert_eq!(p("contribute x").unwrap().role_check(), RoleCheck::Unneeded);
        assert_eq!(p("link").unwrap().role_check(), RoleCheck::Unneeded);
    }
}
