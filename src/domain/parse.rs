//! The one text syntax, shared by the console and Slack's `/keel …`: a verb, free
//! text, and `key=value` options anywhere on the line. Double quotes (straight or
//! curly) group words: `reason="first draft"`, or a whole text that contains `=`.
//! Apostrophes are ordinary letters, so "Saturday's" needs no quoting.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::actor::MemberRef;
use super::command::{
    Board, Command, ContributionChanges, EventChanges, ExportFormat, ExportScope, GoalCaps,
    GoalChanges, LinkKind, NewContribution, NewEvent, NewGoal, NewMilestone, Setup, Window,
};
use super::command_table::{self, Entry};
use super::error::UserError;
use super::events::{Answer, CheckInCode, EventDuration, parse_local_time};
use super::schedule::{SCHEDULE_USAGE, ScheduleSpec};
use super::text::{
    Amount, Capacity, Description, InactiveDays, KudosPerWeek, Name, PageNumber, PairingSize,
    Percent, Place, PlatformRef, Reason, Slug, Statement, Title, Unit, ValueName, parse_day,
};
use super::{ContributionId, EventId};

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

/// The words and options after a command's verb, for its parser.
pub struct Args {
    entry: &'static Entry,
    words: Vec<String>,
    options: Vec<(String, String)>,
}

impl Args {
    fn error(&self, problem: impl Into<String>) -> UserError {
        UserError::syntax(problem, self.entry.form)
    }

    /// The options, checked against those the command takes.
    fn options(&mut self, allowed: &[&str]) -> Result<HashMap<String, String>, UserError> {
        let mut out = HashMap::new();
        for (key, value) in std::mem::take(&mut self.options) {
            if !allowed.contains(&key.as_str()) {
                let known = if allowed.is_empty() {
                    format!("`{}` takes no options.", self.entry.name)
                } else {
                    format!("Options for `{}`: {}.", self.entry.name, allowed.join(", "))
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

    /// A command that takes neither words nor options.
    /// The one id a command takes, read by `id`. `missing` is the error when
    /// there is none; `after` follows an unexpected word (a hint, or nothing).
    fn only_id<T>(
        &self,
        id: impl Fn(&str) -> Result<T, UserError>,
        missing: &str,
        after: &str,
    ) -> Result<T, UserError> {
        match self.words.as_slice() {
            [one] => id(one),
            [] => Err(self.error(missing)),
            [_, next, ..] => Err(self.error(format!("Unexpected `{next}`{after}."))),
        }
    }

    /// The `reason="…"` a correction must give; `why` asks for it.
    fn required_reason(
        &self,
        opts: &mut HashMap<String, String>,
        why: &str,
    ) -> Result<Reason, UserError> {
        let reason = opts.remove("reason").ok_or_else(|| self.error(why))?;
        Reason::parse(&reason)
    }

    fn nothing_more(&mut self, command: Command) -> Result<Command, UserError> {
        self.no_options()?;
        self.no_text()?;
        Ok(command)
    }

    /// The text after `setup <setting>`, which must be there.
    fn setting(&self, thing: &str) -> Result<String, UserError> {
        let text = self.text();
        if text.trim().is_empty() {
            return Err(self.error(format!("Missing {thing} after `{}`.", self.entry.name)));
        }
        Ok(text)
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
    let verb: Vec<String> = words
        .iter()
        .take(command_table::MOST_VERB_WORDS)
        .enumerate()
        .map(|(i, w)| {
            let w = if i == 0 { w.trim_start_matches('/') } else { w };
            w.to_lowercase()
        })
        .collect();
    let (entry, consumed) = command_table::pick(&verb)?;
    let mut args = Args {
        entry,
        words: words.split_off(consumed),
        options,
    };
    (entry.parse)(&mut args, today)
}

// The parsers, one for each entry of the command table.

pub(super) fn help(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.no_options()?;
    let topic = args.text();
    Ok(Command::Help {
        topic: (!topic.is_empty()).then_some(topic),
    })
}

pub(super) fn mission_show(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.nothing_more(Command::MissionShow)
}

pub(super) fn mission_history(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.nothing_more(Command::MissionHistory)
}

pub(super) fn mission_set(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    let mut opts = args.options(&["reason"])?;
    let statement = Statement::parse(&args.require_text("the mission statement")?)?;
    let reason = opts
        .remove("reason")
        .map(|r| Reason::parse(&r))
        .transpose()?;
    Ok(Command::MissionSet { statement, reason })
}

fn value_name(args: &mut Args) -> Result<ValueName, UserError> {
    args.no_options()?;
    ValueName::parse(&args.require_text("the value's name")?)
}

pub(super) fn mission_value_add(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    Ok(Command::MissionValueAdd {
        name: value_name(args)?,
    })
}

pub(super) fn mission_value_remove(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    Ok(Command::MissionValueRemove {
        name: value_name(args)?,
    })
}

pub(super) fn contribute(args: &mut Args, today: NaiveDate) -> Result<Command, UserError> {
    new_contribution(args, today).map(Command::Contribute)
}

/// `contribute-for @member <what they did> [options]`: `contribute`'s words and
/// options after whose contribution it is.
pub(super) fn contribute_for(args: &mut Args, today: NaiveDate) -> Result<Command, UserError> {
    let Some(first) = args.words.first().cloned() else {
        return Err(args.error("Missing whose contribution it is, like @bob."));
    };
    let author = MemberRef::parse(&first)
        .ok_or_else(|| args.error(format!("`{first}` is not a member: start with @name.")))?;
    args.words.remove(0);
    let new = new_contribution(args, today)?;
    Ok(Command::ContributeFor { author, new })
}

fn new_contribution(args: &mut Args, today: NaiveDate) -> Result<NewContribution, UserError> {
    let mut opts = args.options(&["amount", "unit", "goal", "value", "date"])?;
    let description = Description::parse(&args.require_text("what you did")?)?;
    Ok(NewContribution {
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

pub(super) fn contributions(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.no_options()?;
    let member = match args.words.as_slice() {
        [] => MemberRef::Me,
        [one] => MemberRef::parse(one)
            .ok_or_else(|| args.error(format!("`{one}` is not a member: write @name.")))?,
        _ => return Err(args.error("Name one member, like @bob.")),
    };
    Ok(Command::Contributions { member })
}

/// What a correction's parser says after a word past the id, and when the
/// reason is missing.
const REASON_HINT: &str = ": give the reason as reason=\"…\"";
const SAY_WHY: &str = "Say why with reason=\"…\".";

/// A contribution's id, written `#123` or `123`.
pub fn contribution_id(raw: &str) -> Result<ContributionId, UserError> {
    record_id(
        raw,
        "a contribution",
        "Write its number as `contributions` shows it, like #123.",
    )
    .map(ContributionId)
}

pub(super) fn contribution_remove(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    let mut opts = args.options(&["reason"])?;
    let id = args.only_id(
        contribution_id,
        "Missing the contribution's id.",
        REASON_HINT,
    )?;
    let reason = args.required_reason(&mut opts, SAY_WHY)?;
    Ok(Command::ContributionRemove { id, reason })
}

pub(super) fn contribution_edit(args: &mut Args, today: NaiveDate) -> Result<Command, UserError> {
    let mut opts = args.options(&["amount", "unit", "goal", "value", "date", "reason"])?;
    let Some(first) = args.words.first() else {
        return Err(args.error("Missing the contribution's id."));
    };
    let id = contribution_id(first)?;
    let text = args.words[1..].join(" ");
    let cleared = |raw: &str| matches!(raw.trim(), "-" | "none");
    let change = ContributionChanges {
        description: (!text.trim().is_empty())
            .then(|| Description::parse(&text))
            .transpose()?,
        amount: opts
            .remove("amount")
            .map(|a| Amount::parse("amount", &a))
            .transpose()?,
        unit: opts.remove("unit").map(|u| Unit::parse(&u)).transpose()?,
        goal: opts
            .remove("goal")
            .map(|g| match cleared(&g) {
                true => Ok(None),
                false => Slug::parse(&g).map(Some),
            })
            .transpose()?,
        value: opts
            .remove("value")
            .map(|v| match cleared(&v) {
                true => Ok(None),
                false => ValueName::parse(&v).map(Some),
            })
            .transpose()?,
        day: opts
            .remove("date")
            .map(|d| parse_day("date", &d, today))
            .transpose()?,
    };
    let reason = args.required_reason(&mut opts, SAY_WHY)?;
    if change.is_empty() {
        return Err(args
            .error("Nothing to change: give a new text, amount=, unit=, goal=, value= or date=."));
    }
    Ok(Command::ContributionEdit { id, change, reason })
}

pub(super) fn review(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.nothing_more(Command::Review)
}

/// The one id `review approve|reject` takes.
fn review_id(args: &Args) -> Result<ContributionId, UserError> {
    args.only_id(
        contribution_id,
        "Missing the contribution's id; `review` lists them.",
        "",
    )
}

pub(super) fn review_approve(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.no_options()?;
    Ok(Command::ReviewApprove {
        id: review_id(args)?,
    })
}

pub(super) fn review_reject(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    let mut opts = args.options(&["reason"])?;
    let id = review_id(args)?;
    let reason =
        args.required_reason(&mut opts, "Say why with reason=\"…\"; its member is told.")?;
    Ok(Command::ReviewReject { id, reason })
}

pub(super) fn setup_review_channel(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    setting(args, "the channel", |raw| {
        PlatformRef::parse(raw).map(Setup::ReviewChannel)
    })
}

pub(super) fn audit(args: &mut Args, today: NaiveDate) -> Result<Command, UserError> {
    let mut opts = args.options(&["member", "period"])?;
    args.no_text()?;
    let member = opts
        .remove("member")
        .map(|m| {
            MemberRef::parse(&m)
                .ok_or_else(|| args.error(format!("`{m}` is not a member: write member=@name.")))
        })
        .transpose()?;
    let window = match opts.remove("period") {
        None => Window::Last { days: 30 },
        Some(p) => stats_window(Some(p), None, None, today).map_err(|e| args.error(e))?,
    };
    Ok(Command::Audit { member, window })
}

pub(super) fn goal_create(args: &mut Args, today: NaiveDate) -> Result<Command, UserError> {
    let mut opts = args.options(&["target", "unit", "slug", "deadline", "max", "review_above"])?;
    let title = Title::parse(&args.require_text("the goal's title")?)?;
    let target = opts
        .remove("target")
        .ok_or_else(|| args.error("Missing target=N: how much makes the goal met."))?;
    Ok(Command::GoalCreate(NewGoal {
        title,
        target: Amount::parse("target", &target)?,
        unit: opts.remove("unit").map(|u| Unit::parse(&u)).transpose()?,
        slug: opts.remove("slug").map(|s| Slug::parse(&s)).transpose()?,
        deadline: opts
            .remove("deadline")
            .map(|d| parse_day("deadline", &d, today))
            .transpose()?,
        caps: GoalCaps::new(
            opts.remove("max")
                .map(|m| Amount::parse("max", &m))
                .transpose()?,
            opts.remove("review_above")
                .map(|r| Amount::parse("review_above", &r))
                .transpose()?,
        )?,
    }))
}

pub(super) fn goal_list(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.nothing_more(Command::GoalList)
}

/// The one slug a goal command names, and whether `chart` follows it.
fn goal_slug(args: &mut Args, chart_may_follow: bool) -> Result<(Slug, bool), UserError> {
    args.no_options()?;
    let chart = chart_may_follow
        && args.words.len() == 2
        && matches!(args.words[1].to_lowercase().as_str(), "chart" | "charts");
    match args.words.as_slice() {
        [one] => Ok((Slug::parse(one)?, false)),
        [one, _] if chart => Ok((Slug::parse(one)?, true)),
        [] => Err(args.error("Missing the goal's slug (see `goal list`).")),
        _ => Err(args.error("Give one slug, like `trees`.")),
    }
}

pub(super) fn goal_show(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    Ok(match goal_slug(args, true)? {
        (slug, true) => Command::GoalChart { slug },
        (slug, false) => Command::GoalShow { slug },
    })
}

pub(super) fn goal_chart(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    let (slug, _) = goal_slug(args, false)?;
    Ok(Command::GoalChart { slug })
}

pub(super) fn goal_close(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    let (slug, _) = goal_slug(args, false)?;
    Ok(Command::GoalClose { slug })
}

/// `none` or `off`: an optional field cleared.
fn cleared(raw: &str) -> bool {
    matches!(raw.trim().to_lowercase().as_str(), "none" | "off")
}

/// An amount, or None for `off` (a cap removed).
pub fn amount_or_off(field: &str, raw: &str) -> Result<Option<Amount>, UserError> {
    if cleared(raw) {
        Ok(None)
    } else {
        Amount::parse(field, raw).map(Some)
    }
}

/// A day, or None for `none` (a deadline removed).
pub fn day_or_none(
    field: &str,
    raw: &str,
    today: NaiveDate,
) -> Result<Option<NaiveDate>, UserError> {
    if cleared(raw) {
        Ok(None)
    } else {
        parse_day(field, raw, today).map(Some)
    }
}

pub(super) fn goal_reopen(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    let (slug, _) = goal_slug(args, false)?;
    Ok(Command::GoalReopen { slug })
}

pub(super) fn goal_edit(args: &mut Args, today: NaiveDate) -> Result<Command, UserError> {
    let mut opts = args.options(&[
        "title",
        "target",
        "unit",
        "deadline",
        "slug",
        "max",
        "review_above",
    ])?;
    let slug = match args.words.as_slice() {
        [one] => Slug::parse(one)?,
        [] => return Err(args.error("Missing the goal's slug (see `goal list`).")),
        _ => {
            return Err(args.error(
                "Give the goal's slug, then what changes as options, like title=\"Plant 2000 trees\".",
            ));
        }
    };
    let changes = GoalChanges {
        title: opts.remove("title").map(|t| Title::parse(&t)).transpose()?,
        target: opts
            .remove("target")
            .map(|t| Amount::parse("target", &t))
            .transpose()?,
        unit: opts.remove("unit").map(|u| Unit::parse(&u)).transpose()?,
        deadline: opts
            .remove("deadline")
            .map(|d| day_or_none("deadline", &d, today))
            .transpose()?,
        slug: opts.remove("slug").map(|s| Slug::parse(&s)).transpose()?,
        max: opts
            .remove("max")
            .map(|m| amount_or_off("max", &m))
            .transpose()?,
        review_above: opts
            .remove("review_above")
            .map(|r| amount_or_off("review_above", &r))
            .transpose()?,
    };
    if changes.is_empty() {
        return Err(args.error("Say what changes, like target=2000 or max=100."));
    }
    Ok(Command::GoalEdit { slug, changes })
}

pub(super) fn milestone_add(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    let mut opts = args.options(&["at", "goal"])?;
    let title = Title::parse(&args.require_text("the milestone's title")?)?;
    let at = opts
        .remove("at")
        .ok_or_else(|| args.error("Missing at=N: the amount or count that reaches it."))?;
    Ok(Command::MilestoneAdd(NewMilestone {
        title,
        threshold: Amount::parse("at", &at)?,
        goal: opts.remove("goal").map(|g| Slug::parse(&g)).transpose()?,
    }))
}

pub(super) fn milestone_list(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.nothing_more(Command::MilestoneList)
}

/// A record's id, written `#12` or `12`; `what` names it in the refusal and
/// `hint` says where its ids are shown.
fn record_id(raw: &str, what: &str, hint: &str) -> Result<i64, UserError> {
    raw.trim()
        .strip_prefix('#')
        .unwrap_or(raw.trim())
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| UserError::invalid(format!("`{raw}` is not {what} id."), hint))
}

/// A custom milestone's id. A built-in milestone (a contribution count, a goal's
/// percentage) has none: naming one is refused with why.
pub fn milestone_id(raw: &str) -> Result<i64, UserError> {
    let built_in = raw.trim().ends_with('%')
        || ["community", "contributions"]
            .iter()
            .any(|w| raw.trim().eq_ignore_ascii_case(w));
    if built_in {
        return Err(UserError::invalid(
            format!("`{raw}` is a built-in milestone: those cannot be removed."),
            "Only custom milestones can be removed, by the #id `milestone list` shows before them, like `milestone remove #12`.",
        ));
    }
    record_id(
        raw,
        "a custom milestone",
        "Write its number as `milestone list` shows it, like #12.",
    )
}

pub(super) fn milestone_remove(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.no_options()?;
    let id = args.only_id(milestone_id, "Missing the milestone's id.", "")?;
    Ok(Command::MilestoneRemove { id })
}

pub(super) fn kudos(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.no_options()?;
    let Some(first) = args.words.first().cloned() else {
        return Err(args.error("Missing who the kudos are for."));
    };
    let to = MemberRef::parse(&first)
        .filter(|r| *r != MemberRef::Me)
        .ok_or_else(|| args.error(format!("`{first}` is not a member: start with @name.")))?;
    let mut rest: Vec<String> = args.words[1..].to_vec();
    if rest.first().is_some_and(|w| w.eq_ignore_ascii_case("for")) {
        rest.remove(0);
    }
    let reason = rest.join(" ");
    let reason = (!reason.trim().is_empty())
        .then(|| Reason::parse(&reason))
        .transpose()?;
    Ok(Command::Kudos { to, reason })
}

/// A kudos' id, as its receipt and `export` show it.
pub fn kudos_id(raw: &str) -> Result<i64, UserError> {
    record_id(
        raw,
        "a kudos",
        "Write its number as its receipt or `export` shows it, like #42.",
    )
}

pub(super) fn kudos_remove(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    let mut opts = args.options(&["reason"])?;
    let id = args.only_id(kudos_id, "Missing the kudos' id.", REASON_HINT)?;
    let reason = args.required_reason(&mut opts, SAY_WHY)?;
    Ok(Command::KudosRemove { id, reason })
}

fn window_of(args: &mut Args, today: NaiveDate) -> Result<Window, UserError> {
    let mut opts = args.options(&["period", "from", "to"])?;
    args.no_text()?;
    stats_window(
        opts.remove("period"),
        opts.remove("from"),
        opts.remove("to"),
        today,
    )
    .map_err(|problem| args.error(problem))
}

pub(super) fn stats(args: &mut Args, today: NaiveDate) -> Result<Command, UserError> {
    Ok(Command::Stats {
        window: window_of(args, today)?,
    })
}

pub(super) fn stats_chart(args: &mut Args, today: NaiveDate) -> Result<Command, UserError> {
    Ok(Command::StatsChart {
        window: window_of(args, today)?,
    })
}

pub(super) fn stats_me(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.nothing_more(Command::StatsMe)
}

pub(super) fn leaderboard(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.no_options()?;
    let board = match args.text().to_lowercase().as_str() {
        "" | "month" | "30d" => Board::Month,
        "week" | "7d" => Board::Week,
        "all" | "all-time" | "ever" => Board::AllTime,
        "improved" | "most-improved" | "rising" => Board::MostImproved,
        other => return Err(args.error(format!("`{other}` is not a leaderboard."))),
    };
    Ok(Command::Leaderboard { board })
}

pub(super) fn health(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    let mut opts = args.options(&["page"])?;
    args.no_text()?;
    let page = opts
        .remove("page")
        .map(|p| PageNumber::parse(&p))
        .transpose()?
        .unwrap_or(PageNumber::FIRST);
    Ok(Command::Health { page })
}

pub(super) fn away(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.no_options()?;
    match args.text().to_lowercase().as_str() {
        "on" => Ok(Command::Away { on: true }),
        "off" => Ok(Command::Away { on: false }),
        _ => Err(args.error("Say `away on` or `away off`.")),
    }
}

/// `link` alone makes a code for the asking member; `link <code>` uses one.
pub(super) fn link(args: &mut Args, today: NaiveDate) -> Result<Command, UserError> {
    if args.words.is_empty() {
        return args.nothing_more(Command::LinkStart {
            kind: LinkKind::Identity,
        });
    }
    link_code(args, today)
}

pub(super) fn link_code(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.no_options()?;
    match args.words.as_slice() {
        [code] => Ok(Command::LinkRedeem { code: code.clone() }),
        [] => Err(args.error("Missing the code, like `link KEEL-7F3K-9QXP`.")),
        _ => Err(args.error("Give one code, like `link KEEL-7F3K-9QXP`.")),
    }
}

pub(super) fn link_community(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.nothing_more(Command::LinkStart {
        kind: LinkKind::Workspace,
    })
}

/// An export's format: `format=csv|json`, or the word alone; CSV if neither.
/// `me` among the words makes it the member's own export.
fn export(args: &mut Args, mut scope: ExportScope) -> Result<Command, UserError> {
    let mut opts = args.options(&["format"])?;
    let mut format = opts.remove("format");
    for word in &args.words {
        match word.to_lowercase().as_str() {
            "csv" | "json" if format.is_none() => format = Some(word.clone()),
            "me" | "mine" if scope != ExportScope::Health => scope = ExportScope::Me,
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
    Command::export(scope, format)
}

pub(super) fn export_me(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    export(args, ExportScope::Me)
}

pub(super) fn export_community(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    export(args, ExportScope::Community)
}

pub(super) fn export_health(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    export(args, ExportScope::Health)
}

pub(super) fn forget_me(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.no_options()?;
    match args.text().to_lowercase().as_str() {
        "" => Ok(Command::ForgetMe { confirmed: false }),
        "confirm" => Ok(Command::ForgetMe { confirmed: true }),
        other => Err(args.error(format!(
            "Unexpected `{other}`: say `forget-me confirm` to go ahead."
        ))),
    }
}

pub(super) fn setup_show(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.nothing_more(Command::Setup(Setup::Show))
}

/// A setting's value: the words after `setup <setting>`, no options.
fn setting(
    args: &mut Args,
    thing: &str,
    make: impl FnOnce(&str) -> Result<Setup, UserError>,
) -> Result<Command, UserError> {
    args.no_options()?;
    make(&args.setting(thing)?).map(Command::Setup)
}

pub(super) fn setup_announcements(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    setting(args, "the channel", |raw| {
        PlatformRef::parse(raw).map(Setup::AnnouncementChannel)
    })
}

pub(super) fn setup_organiser_role(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    setting(args, "the role", |raw| {
        PlatformRef::parse(raw).map(Setup::OrganiserRole)
    })
}

pub(super) fn setup_timezone(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    setting(args, "the time zone, like Europe/Paris", |raw| {
        timezone(raw).map(Setup::Timezone)
    })
}

pub(super) fn setup_digest(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    setting(args, SCHEDULE_USAGE, |raw| {
        ScheduleSpec::parse(raw).map(Setup::Digest)
    })
}

pub(super) fn setup_reminder(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    setting(args, SCHEDULE_USAGE, |raw| {
        ScheduleSpec::parse(raw).map(Setup::Reminder)
    })
}

pub(super) fn setup_milestones(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    setting(args, "`each` or `digest`", |raw| {
        milestone_posts(raw).map(Setup::MilestonesInDigestOnly)
    })
}

pub(super) fn setup_inactive_days(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    setting(args, "a number of days", |raw| {
        InactiveDays::parse(raw).map(Setup::InactiveDays)
    })
}

pub(super) fn setup_kudos_per_week(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    setting(args, "a number of kudos", |raw| {
        KudosPerWeek::parse(raw).map(Setup::KudosPerWeek)
    })
}

pub(super) fn setup_alignment(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    setting(args, "a percentage", |raw| {
        Percent::parse(raw).map(Setup::AlignmentThreshold)
    })
}

pub(super) fn setup_name(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    setting(args, "the community's name", |raw| {
        Name::parse(raw).map(Setup::CommunityName)
    })
}

/// An event's id, written `#12` or `12`.
pub fn event_id(raw: &str) -> Result<EventId, UserError> {
    record_id(
        raw,
        "an event",
        "Write its number as `event list` shows it, like #12.",
    )
    .map(EventId)
}

/// A place, or None for `none` or `off` (no place any more).
pub fn place_or_none(raw: &str) -> Result<Option<Place>, UserError> {
    if cleared(raw) {
        Ok(None)
    } else {
        Place::parse(raw).map(Some)
    }
}

/// A capacity, or None for `none` or `off` (no limit any more).
pub fn capacity_or_none(raw: &str) -> Result<Option<Capacity>, UserError> {
    if cleared(raw) {
        Ok(None)
    } else {
        Capacity::parse(raw).map(Some)
    }
}

pub(super) fn event_create(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    let mut opts = args.options(&["at", "duration", "where", "goal", "amount", "capacity"])?;
    let title = Title::parse(&args.require_text("the event's title")?)?;
    let at = opts.remove("at").ok_or_else(|| {
        args.error(
            "Missing at=: when it starts, in the community's time zone, like at=2027-01-10T10:00.",
        )
    })?;
    Ok(Command::EventCreate(NewEvent {
        title,
        starts: parse_local_time("at", &at)?,
        duration: opts
            .remove("duration")
            .map(|d| EventDuration::parse(&d))
            .transpose()?,
        place: opts.remove("where").map(|w| Place::parse(&w)).transpose()?,
        goal: opts.remove("goal").map(|g| Slug::parse(&g)).transpose()?,
        amount: opts
            .remove("amount")
            .map(|a| Amount::parse("amount", &a))
            .transpose()?,
        capacity: opts
            .remove("capacity")
            .map(|c| Capacity::parse(&c))
            .transpose()?,
    }))
}

pub(super) fn event_list(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.nothing_more(Command::EventList)
}

/// The one id an event command takes first; `what_next` says what follows it.
fn first_event_id(args: &Args, what_next: &str) -> Result<EventId, UserError> {
    match args.words.first() {
        Some(first) => event_id(first),
        None => Err(args.error(format!(
            "Missing the event's id (see `event list`){what_next}."
        ))),
    }
}

pub(super) fn event_show(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.no_options()?;
    let id = args.only_id(event_id, "Missing the event's id (see `event list`).", "")?;
    Ok(Command::EventShow { id })
}

pub(super) fn event_rsvp(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.no_options()?;
    let id = first_event_id(args, ", then yes, no or maybe")?;
    match &args.words[1..] {
        [answer] => Ok(Command::EventRsvp {
            id,
            answer: Answer::parse(answer)?,
        }),
        [] => Err(args.error("Missing your answer: yes, no or maybe.")),
        [_, next, ..] => Err(args.error(format!("Unexpected `{next}`."))),
    }
}

pub(super) fn event_checkin(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    let mut opts = args.options(&["code"])?;
    let id = args.only_id(
        event_id,
        "Missing the event's id (see `event list`).",
        ": give the code as code=…",
    )?;
    let code = opts.remove("code").ok_or_else(|| {
        args.error("Missing code=: the check-in code the organisers show at the event.")
    })?;
    Ok(Command::EventCheckIn {
        id,
        code: CheckInCode::parse(&code)?,
    })
}

pub(super) fn event_attend(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.no_options()?;
    let id = first_event_id(args, ", then who attended, like @ann @bob")?;
    let mut members = Vec::new();
    for word in &args.words[1..] {
        let member = MemberRef::parse(word)
            .filter(|m| *m != MemberRef::Me)
            .ok_or_else(|| args.error(format!("`{word}` is not a member: write @name.")))?;
        if !members.contains(&member) {
            members.push(member);
        }
    }
    if members.is_empty() {
        return Err(args.error("Missing who attended, like @ann @bob."));
    }
    Ok(Command::EventAttend { id, members })
}

pub(super) fn event_edit(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    let mut opts = args.options(&["title", "at", "duration", "where", "capacity"])?;
    let id = args.only_id(
        event_id,
        "Missing the event's id (see `event list`).",
        ": give what changes as options, like title=\"Spring planting\"",
    )?;
    let changes = EventChanges {
        title: opts.remove("title").map(|t| Title::parse(&t)).transpose()?,
        starts: opts
            .remove("at")
            .map(|a| parse_local_time("at", &a))
            .transpose()?,
        duration: opts
            .remove("duration")
            .map(|d| EventDuration::parse(&d))
            .transpose()?,
        place: opts
            .remove("where")
            .map(|w| place_or_none(&w))
            .transpose()?,
        capacity: opts
            .remove("capacity")
            .map(|c| capacity_or_none(&c))
            .transpose()?,
    };
    if changes.is_empty() {
        return Err(args.error("Say what changes: title=, at=, duration=, where= or capacity=."));
    }
    Ok(Command::EventEdit { id, changes })
}

pub(super) fn event_cancel(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    let mut opts = args.options(&["reason"])?;
    let id = args.only_id(
        event_id,
        "Missing the event's id (see `event list`).",
        REASON_HINT,
    )?;
    let reason = args.required_reason(
        &mut opts,
        "Say why with reason=\"…\"; everyone who answered yes or maybe is told.",
    )?;
    Ok(Command::EventCancel { id, reason })
}

/// How milestones are posted, as typed: true for the digest only.
pub fn milestone_posts(raw: &str) -> Result<bool, UserError> {
    match raw.trim().to_lowercase().as_str() {
        "each" | "announce" | "on" => Ok(false),
        "digest" | "digest-only" => Ok(true),
        other => Err(UserError::invalid(
            format!("`{other}` is not a way to post milestones."),
            "Use `setup milestones each` (one post per milestone) or `setup milestones digest` (listed in the digest only).",
        )),
    }
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

pub(super) fn pair_join(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.nothing_more(Command::PairJoin)
}

pub(super) fn pair_leave(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.nothing_more(Command::PairLeave)
}

pub(super) fn pair_status(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.nothing_more(Command::PairStatus)
}

pub(super) fn pair_now(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.nothing_more(Command::PairNow)
}

pub(super) fn pair_avoid(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.no_options()?;
    match args.words.as_slice() {
        [word] => {
            let member = MemberRef::parse(word)
                .filter(|m| *m != MemberRef::Me)
                .ok_or_else(|| args.error(format!("`{word}` is not a member: write @name.")))?;
            Ok(Command::PairAvoid { member })
        }
        [] => Err(args.error("Missing whom to avoid, like @bo.")),
        _ => Err(args.error("Name one member at a time.")),
    }
}

pub(super) fn pair_met(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    args.no_options()?;
    match args.text().to_lowercase().as_str() {
        "yes" | "y" => Ok(Command::PairMet {
            met: true,
            group: None,
        }),
        "no" | "n" => Ok(Command::PairMet {
            met: false,
            group: None,
        }),
        _ => Err(args.error("Say `pair met yes` or `pair met no`.")),
    }
}

pub(super) fn setup_pairing(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    setting(args, SCHEDULE_USAGE, |raw| {
        ScheduleSpec::parse(raw).map(Setup::Pairing)
    })
}

pub(super) fn setup_pairing_size(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    setting(args, "a group size", |raw| {
        PairingSize::parse(raw).map(Setup::PairingSize)
    })
}

pub(super) fn setup_pairing_channel(args: &mut Args, _: NaiveDate) -> Result<Command, UserError> {
    setting(args, "the channel", |raw| {
        PlatformRef::parse(raw).map(Setup::PairingChannel)
    })
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
    fn goal_edit_takes_changes_and_clears_with_none_or_off() {
        match p("goal edit trees target=2000 max=off review_above=50 deadline=none slug=oaks")
            .unwrap()
        {
            Command::GoalEdit { slug, changes } => {
                assert_eq!(slug.as_str(), "trees");
                assert_eq!(changes.target.map(Amount::get), Some(2000.0));
                assert_eq!(changes.max, Some(None));
                assert_eq!(changes.review_above.flatten().map(Amount::get), Some(50.0));
                assert_eq!(changes.deadline, Some(None));
                assert_eq!(changes.slug.unwrap().as_str(), "oaks");
                assert_eq!(changes.title, None);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            p("goal edit trees")
                .unwrap_err()
                .to_string()
                .contains("Say what changes")
        );
        assert!(
            p("goal edit target=5")
                .unwrap_err()
                .to_string()
                .contains("Missing the goal's slug")
        );
        assert!(p("goal edit trees max=lots").is_err());
        assert_eq!(
            p("goal reopen trees").unwrap(),
            Command::GoalReopen {
                slug: Slug::parse("trees").unwrap()
            }
        );
    }

    #[test]
    fn goal_create_takes_caps_within_each_other() {
        match p("goal create Plant trees target=1000 max=100 review_above=50").unwrap() {
            Command::GoalCreate(g) => {
                assert_eq!(g.caps.max().map(Amount::get), Some(100.0));
                assert_eq!(g.caps.review_above().map(Amount::get), Some(50.0));
            }
            other => panic!("{other:?}"),
        }
        match p("goal create Plant trees target=1000").unwrap() {
            Command::GoalCreate(g) => assert_eq!(g.caps, GoalCaps::default()),
            other => panic!("{other:?}"),
        }
        let e = p("goal create Plant trees target=1000 max=10 review_above=50").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("review_above=50 is more than max=10"),
            "{e}"
        );
        let e = p("goal create Plant trees target=1000 max=0").unwrap_err();
        assert!(e.to_string().contains("max must be above 0"), "{e}");
    }

    #[test]
    fn event_forms_parse_and_refuse_with_their_form() {
        use crate::domain::EventId;
        use crate::domain::events::Answer;
        match p(r#"event create Planting day at=2027-01-10T10:00 duration=2h where="Riverside park" goal=trees amount=3 capacity=20"#)
            .unwrap()
        {
            Command::EventCreate(e) => {
                assert_eq!(e.title.as_str(), "Planting day");
                assert_eq!(e.starts.to_string(), "2027-01-10 10:00:00");
                assert_eq!(e.duration.unwrap().minutes(), 120);
                assert_eq!(e.place.unwrap().as_str(), "Riverside park");
                assert_eq!(e.goal.unwrap().as_str(), "trees");
                assert_eq!(e.amount.map(Amount::get), Some(3.0));
                assert_eq!(e.capacity.map(Capacity::get), Some(20));
            }
            other => panic!("{other:?}"),
        }
        let e = p("event create Planting day").unwrap_err().to_string();
        assert!(
            e.contains("Missing at=") && e.contains("event create <title> at="),
            "{e}"
        );
        let e = p("event create X at=soon").unwrap_err().to_string();
        assert!(e.contains("`soon` is not a date and time"), "{e}");
        let e = p("event create X at=2027-01-10T10:00 capacity=0")
            .unwrap_err()
            .to_string();
        assert!(e.contains("from 1 to 100000"), "{e}");
        assert_eq!(p("events").unwrap(), Command::EventList);
        assert_eq!(
            p("event show #12").unwrap(),
            Command::EventShow { id: EventId(12) }
        );
        assert_eq!(
            p("event rsvp 12 maybe").unwrap(),
            Command::EventRsvp {
                id: EventId(12),
                answer: Answer::Maybe
            }
        );
        let e = p("event rsvp #12").unwrap_err().to_string();
        assert!(
            e.contains("yes, no or maybe") && e.contains("event rsvp <#id>"),
            "{e}"
        );
        let e = p("event rsvp #x yes").unwrap_err().to_string();
        assert!(e.contains("`#x` is not an event id"), "{e}");
        match p("event checkin #12 code=k7f3qx").unwrap() {
            Command::EventCheckIn { id, code } => {
                assert_eq!((id, code.as_str()), (EventId(12), "K7F3QX"));
            }
            other => panic!("{other:?}"),
        }
        let e = p("event checkin #12").unwrap_err().to_string();
        assert!(e.contains("Missing code="), "{e}");
        match p("event attend #12 @ann @bob @ann").unwrap() {
            Command::EventAttend { id, members } => {
                assert_eq!(id, EventId(12));
                assert_eq!(members.len(), 2);
            }
            other => panic!("{other:?}"),
        }
        let e = p("event attend #12").unwrap_err().to_string();
        assert!(e.contains("Missing who attended"), "{e}");
        let e = p("event attend #12 ann").unwrap_err().to_string();
        assert!(e.contains("`ann` is not a member"), "{e}");
        match p("event edit #12 where=none capacity=off at=2027-01-17T10:00").unwrap() {
            Command::EventEdit { changes, .. } => {
                assert_eq!(changes.place, Some(None));
                assert_eq!(changes.capacity, Some(None));
                assert!(changes.starts.is_some() && changes.moves_time_or_place());
            }
            other => panic!("{other:?}"),
        }
        let e = p("event edit #12").unwrap_err().to_string();
        assert!(e.contains("Say what changes"), "{e}");
        let e = p("event cancel #12").unwrap_err().to_string();
        assert!(e.contains("reason="), "{e}");
        for line in [
            "event create X at=2027-01-10T10:00",
            "event attend #1 @a",
            "event edit #1 title=Y",
            r#"event cancel #1 reason="x""#,
        ] {
            assert!(p(line).unwrap().requires_organiser(), "{line}");
        }
        for line in [
            "event list",
            "event show 1",
            "event rsvp 1 yes",
            "event checkin 1 code=ABCD",
        ] {
            assert!(!p(line).unwrap().requires_organiser(), "{line}");
        }
    }

    #[test]
    fn kudos_per_week_takes_a_bounded_whole_number() {
        assert_eq!(
            p("setup kudos-per-week 5").unwrap(),
            Command::Setup(Setup::KudosPerWeek(KudosPerWeek::new(5).unwrap()))
        );
        let e = p("setup kudos-per-week 0").unwrap_err();
        assert!(e.to_string().contains("from 1 to 1000"), "{e}");
        let e = p("setup kudos-per-week many").unwrap_err();
        assert!(
            e.to_string().contains("`many` is not a number of kudos"),
            "{e}"
        );
        assert!(p("setup kudos-per-week").is_err());
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
        assert!(p("export health").unwrap().requires_organiser());
        // Settings are the organisers' on every platform, showing them too.
        assert!(p("setup").unwrap().requires_organiser());
        assert!(p("setup show").unwrap().requires_organiser());
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

    #[test]
    fn contribution_edit_takes_an_id_changes_and_a_reason() {
        match p(r#"contributions edit #12 Planted oaks amount=40 goal=- value=care date=2025-03-01 reason="typo""#)
            .unwrap()
        {
            Command::ContributionEdit { id, change, reason } => {
                assert_eq!(id, ContributionId(12));
                assert_eq!(change.description.unwrap().as_str(), "Planted oaks");
                assert_eq!(change.amount.map(|a| a.get()), Some(40.0));
                assert_eq!(change.goal, Some(None));
                assert_eq!(change.value.unwrap().unwrap().as_str(), "care");
                assert!(change.day.is_some() && change.unit.is_none());
                assert_eq!(reason.as_str(), "typo");
            }
            other => panic!("{other:?}"),
        }
        match p(r#"contribution edit 12 goal=trees reason="wrong goal""#).unwrap() {
            Command::ContributionEdit { change, .. } => {
                assert!(change.description.is_none());
                assert_eq!(change.goal.unwrap().unwrap().as_str(), "trees");
            }
            other => panic!("{other:?}"),
        }
        let e = p("contribution edit #12 amount=3").unwrap_err().to_string();
        assert!(e.contains("reason="), "{e}");
        let e = p(r#"contribution edit #12 reason="x""#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("Nothing to change"), "{e}");
        let e = p(r#"contribution edit amount=3 reason="x""#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("Missing the contribution's id"), "{e}");
    }

    #[test]
    fn review_lists_approves_and_rejects_with_a_reason() {
        assert_eq!(p("review").unwrap(), Command::Review);
        assert_eq!(
            p("review approve #7").unwrap(),
            Command::ReviewApprove {
                id: ContributionId(7)
            }
        );
        match p(r#"review reject 7 reason="not a tree""#).unwrap() {
            Command::ReviewReject { id, reason } => {
                assert_eq!((id, reason.as_str()), (ContributionId(7), "not a tree"));
            }
            other => panic!("{other:?}"),
        }
        let e = p("review reject 7").unwrap_err().to_string();
        assert!(e.contains("reason="), "{e}");
        let e = p("review approve").unwrap_err().to_string();
        assert!(e.contains("Missing the contribution's id"), "{e}");
        assert!(matches!(
            p("setup review-channel #reviews").unwrap(),
            Command::Setup(Setup::ReviewChannel(_))
        ));
    }

    #[test]
    fn contribution_remove_takes_an_id_with_or_without_its_hash_and_a_reason() {
        for line in [
            r#"contribution remove #123 reason="logged twice""#,
            r#"contributions remove 123 reason="logged twice""#,
            r#"contribution delete #123 reason="logged twice""#,
        ] {
            match p(line).unwrap() {
                Command::ContributionRemove { id, reason } => {
                    assert_eq!(id, ContributionId(123), "{line}");
                    assert_eq!(reason.as_str(), "logged twice");
                }
                other => panic!("{line}: {other:?}"),
            }
        }
        let e = p("contribution remove #123").unwrap_err().to_string();
        assert!(e.contains("reason="), "{e}");
        let e = p(r#"contribution remove abc reason="x""#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`abc` is not a contribution id"), "{e}");
        let e = p(r#"contribution remove #0 reason="x""#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a contribution id"), "{e}");
        let e = p(r#"contribution remove reason="x""#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("Missing the contribution's id"), "{e}");
        let e = p(r#"contribution remove 12 logged twice"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("Unexpected `logged`"), "{e}");
        // `contributions` alone still lists.
        assert!(matches!(
            p("contributions").unwrap(),
            Command::Contributions { .. }
        ));
    }

    #[test]
    fn audit_takes_a_member_and_a_period() {
        assert_eq!(
            p("audit").unwrap(),
            Command::Audit {
                member: None,
                window: Window::Last { days: 30 }
            }
        );
        match p("audit member=@bob period=12w").unwrap() {
            Command::Audit { member, window } => {
                assert_eq!(member, MemberRef::parse("@bob"));
                assert_eq!(window, Window::Last { days: 84 });
            }
            other => panic!("{other:?}"),
        }
        let e = p("audit period=forever").unwrap_err().to_string();
        assert!(e.contains("not a period"), "{e}");
        let e = p("audit bob").unwrap_err().to_string();
        assert!(e.contains("Unexpected `bob`"), "{e}");
        assert!(p("audit").unwrap().requires_organiser());
    }

    #[test]
    fn milestone_remove_takes_a_custom_milestones_id_and_refuses_built_in_ones() {
        for line in [
            "milestone remove #12",
            "milestones remove 12",
            "milestone delete #12",
        ] {
            assert_eq!(
                p(line).unwrap(),
                Command::MilestoneRemove { id: 12 },
                "{line}"
            );
        }
        for built_in in ["milestone remove 50%", "milestone remove community"] {
            let e = p(built_in).unwrap_err().to_string();
            assert!(
                e.contains("built-in milestone: those cannot be removed"),
                "{e}"
            );
        }
        let e = p("milestone remove trees").unwrap_err().to_string();
        assert!(e.contains("`trees` is not a custom milestone id"), "{e}");
        let e = p("milestone remove").unwrap_err().to_string();
        assert!(e.contains("Missing the milestone's id"), "{e}");
        assert!(p("milestone remove #12 #13").is_err());
        assert!(p("milestone remove #12").unwrap().requires_organiser());
    }

    #[test]
    fn kudos_remove_takes_an_id_and_a_reason_and_is_not_kudos_to_someone() {
        for line in [
            r#"kudos remove #42 reason="wrong Bob""#,
            r#"kudos remove 42 reason="wrong Bob""#,
            r#"Kudos delete #42 reason="wrong Bob""#,
        ] {
            match p(line).unwrap() {
                Command::KudosRemove { id, reason } => {
                    assert_eq!(id, 42, "{line}");
                    assert_eq!(reason.as_str(), "wrong Bob");
                }
                other => panic!("{line}: {other:?}"),
            }
        }
        let e = p("kudos remove #42").unwrap_err().to_string();
        assert!(e.contains("reason="), "{e}");
        let e = p(r#"kudos remove @bob reason="x""#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`@bob` is not a kudos id"), "{e}");
        let e = p(r#"kudos remove reason="x""#).unwrap_err().to_string();
        assert!(e.contains("Missing the kudos' id"), "{e}");
        assert!(
            p(r#"kudos remove #4 reason="x""#)
                .unwrap()
                .requires_organiser()
        );
        // Thanking someone is still kudos.
        assert!(matches!(
            p("kudos @bob for removing weeds").unwrap(),
            Command::Kudos { .. }
        ));
    }
}
