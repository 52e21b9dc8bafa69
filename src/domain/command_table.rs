//! The one table of commands. Each entry is a command as people meet it: the words
//! that select it, its usage line and summary, who may run it, the function that
//! parses the rest of the line, and the Discord command that offers it. The text
//! parser picks entries by their words, help lists them, the policy
//! ([`Command::requires_organiser`](super::Command::requires_organiser) and
//! [`Command::role_check`](super::Command::role_check)) reads their access, and the
//! Discord adapter derives its default permissions from them and is checked
//! against them by a test. Adding a command is one entry here, its parser in
//! `parse`, its `Command` variant with its line in [`Command::entry`], and its
//! handler in `app`.
//!
//! [`Command::entry`]: super::Command::entry

use std::collections::HashMap;
use std::sync::LazyLock;

use super::command::{Command, RoleCheck};
use super::error::UserError;
use super::parse::{self, Args};

/// Who may run a command, and whether the platform must be asked who organises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Everyone, and the outcome is the same for all: no need to ask.
    Everyone,
    /// Everyone, but organisers see more (help lists their commands too); when
    /// the platform cannot say, the answer is a member's.
    EveryoneOrganisersSeeMore,
    /// Everyone, but what it does depends on the role (a code that joins a
    /// workspace needs an organiser): when the platform cannot say, say so.
    EveryoneRoleDecides,
    /// Organisers only. Adapters may hide it from members too; the core checks.
    Organisers,
    /// Everyone, except with the thing named, which only an organiser of the
    /// workspace it is used in may use: `link <code>` redeems a member's own
    /// identity code for anyone, a community code only for an organiser (admin)
    /// of the server or workspace joining. Adapters must ask the platform.
    OrganisersFor(&'static str),
}

impl Access {
    pub fn role_check(self) -> RoleCheck {
        match self {
            Access::Everyone => RoleCheck::Unneeded,
            Access::EveryoneOrganisersSeeMore => RoleCheck::Preferred,
            Access::EveryoneRoleDecides | Access::Organisers | Access::OrganisersFor(_) => {
                RoleCheck::Required
            }
        }
    }
}

/// Where help lists a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Mission,
    Contributions,
    Goals,
    Events,
    Introductions,
    Statistics,
    People,
    YourData,
    Settings,
    Help,
}

impl Group {
    pub fn title(self) -> &'static str {
        match self {
            Group::Mission => "Mission",
            Group::Contributions => "Contributions",
            Group::Goals => "Goals and milestones",
            Group::Events => "Events",
            Group::Introductions => "Introductions",
            Group::Statistics => "Statistics",
            Group::People => "People",
            Group::YourData => "Your data",
            Group::Settings => "Settings",
            Group::Help => "Help",
        }
    }
}

/// Parses the words and options after an entry's verb.
pub type Parser = fn(&mut Args, chrono::NaiveDate) -> Result<Command, UserError>;

pub struct Entry {
    /// The command's name in help, logs and refusals: "goal create".
    pub name: &'static str,
    /// How its verb is written: words separated by spaces, each a choice of
    /// spellings separated by `|` ("goal|goals create|new|add"). Matched without
    /// regard to case; the longest match on a line wins.
    pub spellings: &'static [&'static str],
    /// Also chosen by the first word of its spelling alone: `goal` → `goal list`.
    pub bare: bool,
    pub group: Group,
    /// The usage line, shown in help and under every parse error.
    pub form: &'static str,
    pub summary: &'static str,
    pub access: Access,
    pub parse: Parser,
    /// The Discord slash command that offers it, as its qualified name: "goal
    /// create", "stats community". Several entries may share one (`export`).
    pub discord: &'static str,
    /// Lines that make this command, for help and for the table's tests.
    pub examples: &'static [&'static str],
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry").field("name", &self.name).finish()
    }
}

impl Entry {
    pub fn organisers_only(&self) -> bool {
        self.access == Access::Organisers
    }

    /// How many words of `words` (lowercased) one of its spellings takes, if
    /// one matches.
    fn matched(&self, words: &[String]) -> Option<usize> {
        let mut best = None;
        // Every command's words pass through here: nothing is allocated.
        for spelling in self.spellings {
            let parts = spelling.split(' ').count();
            if matches_prefix(spelling.split(' '), words) == parts {
                best = best.max(Some(parts));
            } else if self.bare
                && words.len() == 1
                && parts == 2
                && matches_prefix(spelling.split(' ').take(1), words) == 1
            {
                best = best.max(Some(1));
            }
        }
        best
    }
}

/// How many leading words match the spelling's parts.
fn matches_prefix<'a>(parts: impl IntoIterator<Item = &'a str>, words: &[String]) -> usize {
    parts
        .into_iter()
        .zip(words)
        .take_while(|(part, word)| part.split('|').any(|choice| choice == word.as_str()))
        .count()
}

use Access::{Everyone, EveryoneOrganisersSeeMore, EveryoneRoleDecides, Organisers, OrganisersFor};
use Group::*;

pub static TABLE: &[Entry] = &[
    Entry {
        name: "mission show",
        spellings: &["mission show"],
        bare: true,
        group: Mission,
        form: "mission show",
        summary: "Show the mission and its values.",
        access: Everyone,
        parse: parse::mission_show,
        discord: "mission show",
        examples: &["mission show", "mission"],
    },
    Entry {
        name: "mission history",
        spellings: &["mission history"],
        bare: false,
        group: Mission,
        form: "mission history",
        summary: "Every version of the mission: who changed it, when and why.",
        access: Everyone,
        parse: parse::mission_history,
        discord: "mission history",
        examples: &["mission history"],
    },
    Entry {
        name: "mission set",
        spellings: &["mission set"],
        bare: false,
        group: Mission,
        form: "mission set <statement> [reason=\"why it changed\"]",
        summary: "Set a new version of the mission.",
        access: Organisers,
        parse: parse::mission_set,
        discord: "mission set",
        examples: &["mission set Grow a thriving urban forest, together. reason=\"first draft\""],
    },
    Entry {
        name: "mission value add",
        spellings: &["mission value add"],
        bare: false,
        group: Mission,
        form: "mission value add <value>",
        summary: "Add a value to the mission.",
        access: Organisers,
        parse: parse::mission_value_add,
        discord: "mission value add",
        examples: &["mission value add stewardship"],
    },
    Entry {
        name: "mission value remove",
        spellings: &["mission value remove|rm|delete"],
        bare: false,
        group: Mission,
        form: "mission value remove <value>",
        summary: "Remove a value from the mission.",
        access: Organisers,
        parse: parse::mission_value_remove,
        discord: "mission value remove",
        examples: &["mission value remove stewardship"],
    },
    Entry {
        name: "contribute",
        spellings: &["contribute"],
        bare: false,
        group: Contributions,
        form: "contribute <what you did> [amount=40] [unit=trees] [goal=slug] [value=name] [date=YYYY-MM-DD]",
        summary: "Log something you did for the community (date may be up to 90 days back).",
        access: Everyone,
        parse: parse::contribute,
        discord: "contribute",
        examples: &["contribute Planted 40 oaks in Riverside park amount=40 goal=trees"],
    },
    Entry {
        name: "contribute-for",
        spellings: &["contribute-for"],
        bare: false,
        group: Contributions,
        form: "contribute-for @member <what they did> [amount=40] [unit=trees] [goal=slug] [value=name] [date=YYYY-MM-DD]",
        summary: "Log a member's message as their contribution: your own, or, for organisers, anyone's (they are told privately). On Slack and Discord: “Log as contribution” in a message's menu.",
        access: EveryoneRoleDecides,
        parse: parse::contribute_for,
        // A message's context menu, which opens the contribution form prefilled.
        discord: "Log as contribution",
        examples: &["contribute-for @bob Fixed the onboarding doc amount=2 unit=hours"],
    },
    Entry {
        name: "contributions",
        spellings: &["contributions"],
        bare: false,
        group: Contributions,
        form: "contributions [@member]",
        summary: "Recent contributions: yours, or a member's.",
        access: Everyone,
        parse: parse::contributions,
        discord: "contributions",
        examples: &["contributions", "contributions @bob"],
    },
    Entry {
        name: "contribution remove",
        spellings: &["contribution|contributions remove|delete"],
        bare: false,
        group: Contributions,
        form: r#"contribution remove <#id> reason="…""#,
        summary: "Remove a contribution: your own within 7 days of logging it; organisers any, telling its member why.",
        access: EveryoneRoleDecides,
        parse: parse::contribution_remove,
        discord: "contribution remove",
        examples: &[r#"contribution remove #123 reason="logged twice""#],
    },
    Entry {
        name: "contribution edit",
        spellings: &["contribution|contributions edit|change|correct"],
        bare: false,
        group: Contributions,
        form: r#"contribution edit <#id> [new text] [amount=N] [unit=…] [goal=slug|goal=-] [value=…|value=-] [date=YYYY-MM-DD] reason="…""#,
        summary: "Correct a contribution: your own within 7 days of logging it; organisers any, telling its member why. Past the goal's review_above it waits for review again.",
        access: EveryoneRoleDecides,
        parse: parse::contribution_edit,
        discord: "contribution edit",
        examples: &[r#"contribution edit #123 amount=40 reason="typo: 40, not 400""#],
    },
    Entry {
        name: "review",
        spellings: &["review|reviews"],
        bare: true,
        group: Contributions,
        form: "review",
        summary: "Contributions waiting for an organiser (above their goal's review_above), with their ids.",
        access: Organisers,
        parse: parse::review,
        discord: "review list",
        examples: &["review"],
    },
    Entry {
        name: "review approve",
        spellings: &["review|reviews approve|accept|ok"],
        bare: false,
        group: Contributions,
        form: "review approve <#id>",
        summary: "Approve a contribution waiting for review: it counts from now on, and its member is told.",
        access: Organisers,
        parse: parse::review_approve,
        discord: "review approve",
        examples: &["review approve #123"],
    },
    Entry {
        name: "review reject",
        spellings: &["review|reviews reject|decline"],
        bare: false,
        group: Contributions,
        form: r#"review reject <#id> reason="…""#,
        summary: "Reject a contribution waiting for review; its member is told why.",
        access: Organisers,
        parse: parse::review_reject,
        discord: "review reject",
        examples: &[r#"review reject #123 reason="one tree, not 500""#],
    },
    Entry {
        name: "audit",
        spellings: &["audit"],
        bare: false,
        group: Contributions,
        form: "audit [member=@name] [period=30d]",
        summary: "Corrections to the record: what was changed, by whom, when and why.",
        access: Organisers,
        parse: parse::audit,
        discord: "audit",
        examples: &["audit", "audit member=@bob period=90d"],
    },
    Entry {
        name: "goal create",
        spellings: &["goal|goals create|new|add"],
        bare: false,
        group: Goals,
        form: "goal create <title> target=1000 [unit=trees] [slug=trees] [deadline=YYYY-MM-DD] [max=N] [review_above=N]",
        summary: "Create a goal the community works towards.",
        access: Organisers,
        parse: parse::goal_create,
        discord: "goal create",
        examples: &["goal create Plant 1000 trees target=1000 unit=trees slug=trees"],
    },
    Entry {
        name: "goal list",
        spellings: &["goal|goals list"],
        bare: true,
        group: Goals,
        form: "goal list",
        summary: "Open goals and how far along they are.",
        access: Everyone,
        parse: parse::goal_list,
        discord: "goal list",
        examples: &["goal list", "goals"],
    },
    Entry {
        name: "goal show",
        spellings: &["goal|goals show"],
        bare: false,
        group: Goals,
        form: "goal show <slug> [chart]",
        summary: "One goal in detail, or its progress as a picture.",
        access: Everyone,
        parse: parse::goal_show,
        discord: "goal show",
        examples: &["goal show trees"],
    },
    Entry {
        name: "goal chart",
        spellings: &["goal|goals chart"],
        bare: false,
        group: Goals,
        form: "goal chart <slug>",
        summary: "A goal's progress as a picture.",
        access: Everyone,
        parse: parse::goal_chart,
        discord: "goal chart",
        examples: &["goal chart trees", "goal show trees chart"],
    },
    Entry {
        name: "goal edit",
        spellings: &["goal|goals edit|change"],
        bare: false,
        group: Goals,
        form: "goal edit <slug> [title=…] [target=N] [unit=…] [deadline=YYYY-MM-DD|none] [slug=…] [max=N|off] [review_above=N|off]",
        summary: "Change a goal; its contributions and milestones stay with it.",
        access: Organisers,
        parse: parse::goal_edit,
        discord: "goal edit",
        examples: &[
            "goal edit trees target=2000",
            "goal edit trees max=100 review_above=50",
        ],
    },
    Entry {
        name: "goal reopen",
        spellings: &["goal|goals reopen"],
        bare: false,
        group: Goals,
        form: "goal reopen <slug>",
        summary: "Open a closed goal again, so contributions count towards it.",
        access: Organisers,
        parse: parse::goal_reopen,
        discord: "goal reopen",
        examples: &["goal reopen trees"],
    },
    Entry {
        name: "goal close",
        spellings: &["goal|goals close"],
        bare: false,
        group: Goals,
        form: "goal close <slug>",
        summary: "Close a goal; no more contributions count towards it.",
        access: Organisers,
        parse: parse::goal_close,
        discord: "goal close",
        examples: &["goal close trees"],
    },
    Entry {
        name: "milestone add",
        spellings: &["milestone|milestones add|create"],
        bare: false,
        group: Goals,
        form: "milestone add <title> at=1000 [goal=slug]",
        summary: "Add a custom milestone: at a goal's amount, or at a community contribution count.",
        access: Organisers,
        parse: parse::milestone_add,
        discord: "milestone add",
        examples: &["milestone add Halfway there at=500 goal=trees"],
    },
    Entry {
        name: "milestone list",
        spellings: &["milestone|milestones list"],
        bare: true,
        group: Goals,
        form: "milestone list",
        summary: "Milestones reached and still ahead.",
        access: Everyone,
        parse: parse::milestone_list,
        discord: "milestone list",
        examples: &["milestone list", "milestones"],
    },
    Entry {
        name: "milestone remove",
        spellings: &["milestone|milestones remove|delete"],
        bare: false,
        group: Goals,
        form: "milestone remove <#id>",
        summary: "Remove a custom milestone (`milestone list` shows their ids); built-in ones stay.",
        access: Organisers,
        parse: parse::milestone_remove,
        discord: "milestone remove",
        examples: &["milestone remove #12", "milestone remove 12"],
    },
    Entry {
        name: "event create",
        spellings: &["event|events create|new|add|plan"],
        bare: false,
        group: Events,
        form: r#"event create <title> at=2027-01-10T10:00 [duration=2h] [where="Riverside park"] [goal=slug] [amount=N] [capacity=N]"#,
        summary: "Plan an event, in the community's time zone (it may have started, to record one that happened). Attending counts towards goal=: amount=, or its hours towards a goal in hours.",
        access: Organisers,
        parse: parse::event_create,
        discord: "event create",
        examples: &[
            r#"event create Planting day at=2027-01-10T10:00 duration=2h where="Riverside park" goal=trees capacity=20"#,
        ],
    },
    Entry {
        name: "event list",
        spellings: &["event|events list"],
        bare: true,
        group: Events,
        form: "event list",
        summary: "Upcoming events, with how many are going.",
        access: Everyone,
        parse: parse::event_list,
        discord: "event list",
        examples: &["event list", "events"],
    },
    Entry {
        name: "event show",
        spellings: &["event|events show"],
        bare: false,
        group: Events,
        form: "event show <#id>",
        summary: "One event: when, where, who is going, your answer, and its calendar file (.ics); organisers also see its check-in code.",
        access: EveryoneOrganisersSeeMore,
        parse: parse::event_show,
        discord: "event show",
        examples: &["event show #12", "event show 12"],
    },
    Entry {
        name: "event rsvp",
        spellings: &["event|events rsvp|answer"],
        bare: false,
        group: Events,
        form: "event rsvp <#id> yes|no|maybe",
        summary: "Say whether you are going. Past its capacity a yes joins the waitlist, and you are told when a place frees up.",
        access: Everyone,
        parse: parse::event_rsvp,
        discord: "event rsvp",
        examples: &["event rsvp #12 yes", "event rsvp 12 maybe"],
    },
    Entry {
        name: "event checkin",
        spellings: &["event|events checkin|check-in"],
        bare: false,
        group: Events,
        form: "event checkin <#id> code=<code>",
        summary: "Check in at an event with the code its organisers show there (during it, or up to 12 hours after); it counts as your contribution.",
        access: Everyone,
        parse: parse::event_checkin,
        discord: "event checkin",
        examples: &["event checkin #12 code=K7F3QX"],
    },
    Entry {
        name: "event attend",
        spellings: &["event|events attend|attended|attendance"],
        bare: false,
        group: Events,
        form: "event attend <#id> @member [@member …]",
        summary: "Record who attended an event once it has started; each counts it once as their contribution.",
        access: Organisers,
        parse: parse::event_attend,
        discord: "event attend",
        examples: &["event attend #12 @ann @bob"],
    },
    Entry {
        name: "event edit",
        spellings: &["event|events edit|change"],
        bare: false,
        group: Events,
        form: r#"event edit <#id> [title=…] [at=2027-01-10T10:00] [duration=2h] [where="…"|where=none] [capacity=N|capacity=none]"#,
        summary: "Change an event; everyone who answered yes or maybe is told of a new time or place.",
        access: Organisers,
        parse: parse::event_edit,
        discord: "event edit",
        examples: &[
            "event edit #12 at=2027-01-17T10:00",
            "event edit 12 capacity=30",
        ],
    },
    Entry {
        name: "event cancel",
        spellings: &["event|events cancel"],
        bare: false,
        group: Events,
        form: r#"event cancel <#id> reason="…""#,
        summary: "Cancel an event; everyone who answered yes or maybe is told why.",
        access: Organisers,
        parse: parse::event_cancel,
        discord: "event cancel",
        examples: &[r#"event cancel #12 reason="storm warning""#],
    },
    Entry {
        name: "pair join",
        spellings: &["pair|pairing join|in"],
        bare: false,
        group: Introductions,
        form: "pair join",
        summary: "Be introduced to other members: each round groups you with someone you have not met lately.",
        access: Everyone,
        parse: parse::pair_join,
        discord: "pair join",
        examples: &["pair join"],
    },
    Entry {
        name: "pair leave",
        spellings: &["pair|pairing leave|out"],
        bare: false,
        group: Introductions,
        form: "pair leave",
        summary: "Stop being introduced; your past introductions stay yours.",
        access: Everyone,
        parse: parse::pair_leave,
        discord: "pair leave",
        examples: &["pair leave"],
    },
    Entry {
        name: "pair status",
        spellings: &["pair|pairing status"],
        bare: true,
        group: Introductions,
        form: "pair status",
        summary: "Your group in the latest round, by name, and when the next round is.",
        access: Everyone,
        parse: parse::pair_status,
        discord: "pair status",
        examples: &["pair status", "pair"],
    },
    Entry {
        name: "pair avoid",
        spellings: &["pair|pairing avoid"],
        bare: false,
        group: Introductions,
        form: "pair avoid @member",
        summary: "Never be grouped with this member. Nobody else is told.",
        access: Everyone,
        parse: parse::pair_avoid,
        discord: "pair avoid",
        examples: &["pair avoid @bo"],
    },
    Entry {
        name: "pair met",
        spellings: &["pair|pairing met"],
        bare: false,
        group: Introductions,
        form: "pair met yes|no",
        summary: "Say whether your group in the latest round met (the follow-up's buttons say it too).",
        access: Everyone,
        parse: parse::pair_met,
        discord: "pair met",
        examples: &["pair met yes", "pair met no"],
    },
    Entry {
        name: "pair now",
        spellings: &["pair|pairing now|run"],
        bare: false,
        group: Introductions,
        form: "pair now",
        summary: "Run a pairing round now, outside the schedule.",
        access: Organisers,
        parse: parse::pair_now,
        discord: "pair now",
        examples: &["pair now"],
    },
    Entry {
        name: "stats",
        spellings: &["stats"],
        bare: false,
        group: Statistics,
        form: "stats [period=7d|28d|90d|12w] [from=YYYY-MM-DD to=YYYY-MM-DD]",
        summary: "Community activity, growth, retention, newcomer conversion, equity, goals and top contributors.",
        access: Everyone,
        parse: parse::stats,
        discord: "stats community",
        examples: &["stats", "stats period=12w"],
    },
    Entry {
        name: "stats chart",
        spellings: &["stats chart|charts"],
        bare: false,
        group: Statistics,
        form: "stats chart [period=…] [from=… to=…]",
        summary: "The same window as pictures: weekly activity, retention cohorts, activity by hour, goals.",
        access: Everyone,
        parse: parse::stats_chart,
        discord: "stats chart",
        examples: &["stats chart period=12w"],
    },
    Entry {
        name: "stats me",
        spellings: &["stats me"],
        bare: false,
        group: Statistics,
        form: "stats me",
        summary: "Your own totals and streak.",
        access: Everyone,
        parse: parse::stats_me,
        discord: "stats me",
        examples: &["stats me"],
    },
    Entry {
        name: "leaderboard",
        spellings: &["leaderboard|top"],
        bare: false,
        group: Statistics,
        form: "leaderboard [week|month|all|improved]",
        summary: "Top contributors this week, this month (the default), of all time, or most improved; kudos alongside.",
        access: Everyone,
        parse: parse::leaderboard,
        discord: "leaderboard",
        examples: &["leaderboard", "leaderboard improved"],
    },
    Entry {
        name: "health",
        spellings: &["health"],
        bare: false,
        group: Statistics,
        form: "health [page=2]",
        summary: "Who may be drifting away or overloaded, who is inactive, newcomers yet to contribute, and equity; 25 names a list per page.",
        access: Organisers,
        parse: parse::health,
        discord: "health",
        examples: &["health", "health page=2"],
    },
    Entry {
        name: "export health",
        spellings: &["export health"],
        bare: false,
        group: Statistics,
        form: "export health",
        summary: "Every name on the health lists, as a CSV file.",
        access: Organisers,
        parse: parse::export_health,
        discord: "export",
        examples: &["export health"],
    },
    Entry {
        name: "kudos",
        spellings: &["kudos|thanks"],
        bare: false,
        group: People,
        form: "kudos @member [for] <what for>",
        summary: "Thank a member for something they did.",
        access: Everyone,
        parse: parse::kudos,
        discord: "kudos",
        examples: &["kudos @bob for leading Saturday's planting"],
    },
    Entry {
        name: "kudos remove",
        spellings: &["kudos remove|delete"],
        bare: false,
        group: People,
        form: r#"kudos remove <#id> reason="…""#,
        summary: "Take kudos out of the record (its receipt and `export` show the id), telling both members why.",
        access: Organisers,
        parse: parse::kudos_remove,
        discord: "kudos-remove",
        examples: &[r#"kudos remove #42 reason="given to the wrong Bob""#],
    },
    Entry {
        name: "away",
        spellings: &["away"],
        bare: false,
        group: People,
        form: "away on|off",
        summary: "Pause your health signals while you take a break.",
        access: Everyone,
        parse: parse::away,
        discord: "away",
        examples: &["away on", "away off"],
    },
    Entry {
        name: "link",
        spellings: &["link me", "link"],
        bare: false,
        group: YourData,
        form: "link",
        summary: "Get a code to join another platform identity (your Slack account, say) to you.",
        access: Everyone,
        parse: parse::link,
        discord: "link me",
        examples: &["link", "link me"],
    },
    Entry {
        name: "link code",
        spellings: &["link code"],
        bare: false,
        group: YourData,
        form: "link <code>",
        summary: "Use a code made with `link` (your own, from your other account) or `link community` on another platform.",
        access: OrganisersFor("a community code, made with `link community`"),
        parse: parse::link_code,
        discord: "link code",
        examples: &["link KEEL-7F3K-9QXP", "link code KEEL-7F3K-9QXP"],
    },
    Entry {
        name: "link community",
        spellings: &["link community|workspace|server"],
        bare: false,
        group: YourData,
        form: "link community",
        summary: "Get a code to join another Discord server or Slack workspace to this community.",
        access: Organisers,
        parse: parse::link_community,
        discord: "link community",
        examples: &["link community"],
    },
    Entry {
        name: "export me",
        spellings: &["export me|mine"],
        bare: false,
        group: YourData,
        form: "export me [format=csv|json]",
        summary: "Your own data as a file: CSV holds your contributions; JSON also your kudos, event answers and attendance, and introductions.",
        access: Everyone,
        parse: parse::export_me,
        discord: "export",
        examples: &["export me", "export me format=json"],
    },
    Entry {
        name: "export community",
        spellings: &["export"],
        bare: false,
        group: YourData,
        form: "export [format=csv|json]",
        summary: "All of the community's data as a file.",
        access: Organisers,
        parse: parse::export_community,
        discord: "export",
        examples: &["export", "export format=json", "export json"],
    },
    Entry {
        name: "forget-me",
        spellings: &["forget-me|forgetme", "forget me"],
        bare: false,
        group: YourData,
        form: "forget-me [confirm]",
        summary: "Erase your contributions, kudos and identities from this community.",
        access: Everyone,
        parse: parse::forget_me,
        discord: "forget-me",
        examples: &["forget-me", "forget-me confirm", "forget me"],
    },
    Entry {
        name: "setup show",
        spellings: &["setup|settings show"],
        bare: true,
        group: Settings,
        form: "setup show",
        summary: "The community's settings.",
        access: Organisers,
        parse: parse::setup_show,
        discord: "setup show",
        examples: &["setup show", "setup"],
    },
    Entry {
        name: "setup announcements",
        spellings: &["setup|settings announcements|announce|channel"],
        bare: false,
        group: Settings,
        form: "setup announcements <channel>",
        summary: "Where milestones, digests and reminders are posted.",
        access: Organisers,
        parse: parse::setup_announcements,
        discord: "setup announcements",
        examples: &["setup announcements #celebrations"],
    },
    Entry {
        name: "setup review-channel",
        spellings: &["setup|settings review-channel|review"],
        bare: false,
        group: Settings,
        form: "setup review-channel <channel>",
        summary: "The organisers' review channel, for contributions waiting for review (see `review`).",
        access: Organisers,
        parse: parse::setup_review_channel,
        discord: "setup review-channel",
        examples: &["setup review-channel #reviews"],
    },
    Entry {
        name: "setup organiser-role",
        spellings: &["setup|settings organiser-role|organizer-role|role"],
        bare: false,
        group: Settings,
        form: "setup organiser-role <role>",
        summary: "A role (or Slack group) whose members organise.",
        access: Organisers,
        parse: parse::setup_organiser_role,
        discord: "setup organiser-role",
        examples: &["setup organiser-role @stewards"],
    },
    Entry {
        name: "setup timezone",
        spellings: &["setup|settings timezone|tz"],
        bare: false,
        group: Settings,
        form: "setup timezone <Area/City>",
        summary: "The community's time zone, for schedules and days.",
        access: Organisers,
        parse: parse::setup_timezone,
        discord: "setup timezone",
        examples: &["setup timezone Europe/Paris"],
    },
    Entry {
        name: "setup digest",
        spellings: &["setup|settings digest"],
        bare: false,
        group: Settings,
        form: "setup digest daily 09:00|weekly mon 09:00|monthly 1 09:00|off",
        summary: "When the digest is posted.",
        access: Organisers,
        parse: parse::setup_digest,
        discord: "setup digest",
        examples: &["setup digest weekly mon 09:00", "setup digest off"],
    },
    Entry {
        name: "setup reminder",
        spellings: &["setup|settings reminder|mission-reminder"],
        bare: false,
        group: Settings,
        form: "setup reminder daily 09:00|weekly mon 09:00|monthly 1 09:00|off",
        summary: "When the mission reminder is posted.",
        access: Organisers,
        parse: parse::setup_reminder,
        discord: "setup reminder",
        examples: &["setup reminder monthly 1 09:00"],
    },
    Entry {
        name: "setup milestones",
        spellings: &["setup|settings milestones|milestone-posts"],
        bare: false,
        group: Settings,
        form: "setup milestones each|digest",
        summary: "Announce each milestone as it is reached, or list them in the digest only.",
        access: Organisers,
        parse: parse::setup_milestones,
        discord: "setup milestones",
        examples: &["setup milestones digest", "setup milestones each"],
    },
    Entry {
        name: "setup pairing",
        spellings: &["setup|settings pairing|pairs"],
        bare: false,
        group: Settings,
        form: "setup pairing weekly mon 09:00|fortnightly mon 09:00|monthly 1 09:00|off",
        summary: "When pairing rounds run, in the community's time zone.",
        access: Organisers,
        parse: parse::setup_pairing,
        discord: "setup pairing",
        examples: &["setup pairing fortnightly mon 09:00", "setup pairing off"],
    },
    Entry {
        name: "setup pairing-size",
        spellings: &["setup|settings pairing-size"],
        bare: false,
        group: Settings,
        form: "setup pairing-size <2-6>",
        summary: "How many members a pairing round puts in a group (default 2).",
        access: Organisers,
        parse: parse::setup_pairing_size,
        discord: "setup pairing-size",
        examples: &["setup pairing-size 3"],
    },
    Entry {
        name: "setup pairing-channel",
        spellings: &["setup|settings pairing-channel"],
        bare: false,
        group: Settings,
        form: "setup pairing-channel <channel>",
        summary: "Where Discord's private threads for introductions are made.",
        access: Organisers,
        parse: parse::setup_pairing_channel,
        discord: "setup pairing-channel",
        examples: &["setup pairing-channel #introductions"],
    },
    Entry {
        name: "setup inactive-days",
        spellings: &["setup|settings inactive-days"],
        bare: false,
        group: Settings,
        form: "setup inactive-days <1-365>",
        summary: "After how many quiet days a member counts as inactive.",
        access: Organisers,
        parse: parse::setup_inactive_days,
        discord: "setup inactive-days",
        examples: &["setup inactive-days 14"],
    },
    Entry {
        name: "setup kudos-per-week",
        spellings: &["setup|settings kudos-per-week"],
        bare: false,
        group: Settings,
        form: "setup kudos-per-week <1-1000>",
        summary: "How many kudos a member may give over any 7 days (one a day to the same member).",
        access: Organisers,
        parse: parse::setup_kudos_per_week,
        discord: "setup kudos-per-week",
        examples: &["setup kudos-per-week 5"],
    },
    Entry {
        name: "setup alignment",
        spellings: &["setup|settings alignment|alignment-threshold"],
        bare: false,
        group: Settings,
        form: "setup alignment <0-100>",
        summary: "Below what percent of contributions linked to a goal or value stats warn of mission drift.",
        access: Organisers,
        parse: parse::setup_alignment,
        discord: "setup alignment",
        examples: &["setup alignment 50", "setup alignment 50%"],
    },
    Entry {
        name: "setup name",
        spellings: &["setup|settings name"],
        bare: false,
        group: Settings,
        form: "setup name <community name>",
        summary: "The community's name.",
        access: Organisers,
        parse: parse::setup_name,
        discord: "setup name",
        examples: &["setup name Forest Friends"],
    },
    Entry {
        name: "help",
        spellings: &["help|?"],
        bare: false,
        group: Help,
        form: "help [command]",
        summary: "This list, or one command in detail.",
        access: EveryoneOrganisersSeeMore,
        parse: parse::help,
        discord: "help",
        examples: &["help", "help goal"],
    },
];

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The entry called `name`. Meant for `const` blocks (see [`entry!`]), where a
/// name the table lacks stops the build instead of failing at run time.
pub const fn named(name: &str) -> &'static Entry {
    let mut i = 0;
    while i < TABLE.len() {
        if same(TABLE[i].name, name) {
            return &TABLE[i];
        }
        i += 1;
    }
    panic!("no command of that name in the command table")
}

/// The table's entry of that name, found while compiling: `entry!("goal create")`.
macro_rules! entry {
    ($name:literal) => {
        const { $crate::domain::command_table::named($name) }
    };
}
pub(crate) use entry;

/// The entry a line's words select (lowercased, the verb first) and how many
/// words its verb took; or an error that shows the forms that work.
/// The most words a command's name takes ("mission value add"): `pick` needs
/// no more of a line than these.
pub const MOST_VERB_WORDS: usize = 3;

/// The command a line names with nothing after its name ("contribute", "goal
/// create"), for adapters that answer a bare name with a form.
pub fn bare(line: &str) -> Option<&'static Entry> {
    let words: Vec<String> = line
        .split_whitespace()
        .take(MOST_VERB_WORDS + 1)
        .map(str::to_lowercase)
        .collect();
    if words.len() > MOST_VERB_WORDS {
        return None;
    }
    match pick(&words) {
        Ok((entry, taken)) if taken == words.len() => Some(entry),
        _ => None,
    }
}

/// The entries one of whose spellings begins with each word, in the table's
/// order. Every command's words pass through [`pick`]: matching them against
/// every entry's spellings cost a slash command a few percent of its time.
static BY_FIRST_WORD: LazyLock<HashMap<&'static str, Vec<&'static Entry>>> = LazyLock::new(|| {
    let mut by_word: HashMap<&'static str, Vec<&'static Entry>> = HashMap::new();
    for entry in TABLE {
        for spelling in entry.spellings {
            let first = spelling.split(' ').next().unwrap_or_default();
            for word in first.split('|') {
                let entries = by_word.entry(word).or_default();
                if !entries.iter().any(|e| std::ptr::eq(*e, entry)) {
                    entries.push(entry);
                }
            }
        }
    }
    by_word
});

pub fn pick(words: &[String]) -> Result<(&'static Entry, usize), UserError> {
    let Some(first) = words.first() else {
        return Err(UserError::syntax(
            "There is no command on that line.",
            "help (lists every command)",
        ));
    };
    let found = BY_FIRST_WORD
        .get(first.as_str())
        .into_iter()
        .flatten()
        .filter_map(|e| e.matched(words).map(|n| (*e, n)))
        .max_by_key(|(_, n)| *n);
    if let Some(found) = found {
        return Ok(found);
    }
    // Some entries begin with these words: show theirs.
    let depth = TABLE
        .iter()
        .flat_map(|e| e.spellings.iter())
        .map(|s| matches_prefix(s.split(' '), words))
        .max()
        .unwrap_or(0);
    if depth == 0 {
        return Err(UserError::syntax(
            format!("`{first}` is not a Keel command."),
            "help (lists every command)",
        ));
    }
    let prefix = words[..depth].join(" ");
    let starting_alike: Vec<(&Entry, Vec<&str>)> = TABLE
        .iter()
        .filter_map(|e| {
            e.spellings
                .iter()
                .map(|s| s.split(' ').collect::<Vec<_>>())
                .find(|parts| matches_prefix(parts.iter().copied(), words) == depth)
                .map(|parts| (e, parts))
        })
        .collect();
    // The group as help writes it: "goals frob" is not a goal command.
    let group = starting_alike[0].1[..depth]
        .iter()
        .map(|part| part.split('|').next().unwrap_or(part))
        .collect::<Vec<_>>()
        .join(" ");
    let forms: Vec<&str> = starting_alike.iter().map(|(e, _)| e.form).collect();
    let problem = match words.get(depth) {
        Some(next) => format!("`{prefix} {next}` is not a {group} command."),
        None => format!("`{prefix}` needs one more word."),
    };
    Err(UserError::syntax(problem, forms.join(" | ")))
}

/// Entries a help topic names: "goal" → every goal command, "thanks" → kudos,
/// "goal create" → that one.
pub fn matching(topic: &str) -> Vec<&'static Entry> {
    let words: Vec<String> = topic
        .split_whitespace()
        .map(|w| w.trim_start_matches('/').to_lowercase())
        .collect();
    if words.is_empty() {
        return Vec::new();
    }
    TABLE
        .iter()
        .filter(|e| {
            e.name == words.join(" ")
                || e.spellings.iter().any(|s| {
                    let parts: Vec<&str> = s.split(' ').collect();
                    matches_prefix(parts.iter().copied(), &words) == words.len()
                })
        })
        .collect()
}

/// The entries a Discord command (by qualified name) offers.
pub fn on_discord(qualified_name: &str) -> impl Iterator<Item = &'static Entry> {
    TABLE.iter().filter(move |e| e.discord == qualified_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::parse::parse;
    use chrono::NaiveDate;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_lowercase).collect()
    }

    #[test]
    fn every_entry_has_a_parser_that_makes_its_own_command() {
        for entry in TABLE {
            assert!(!entry.examples.is_empty(), "{} has no example", entry.name);
            for line in entry.examples {
                let command = parse(line, today())
                    .unwrap_or_else(|e| panic!("{}: `{line}` does not parse: {e}", entry.name));
                assert_eq!(
                    command.entry().name,
                    entry.name,
                    "`{line}` makes {command:?}"
                );
                // The policy the core applies is the entry's.
                assert_eq!(
                    command.requires_organiser(),
                    entry.organisers_only(),
                    "{line}"
                );
                assert_eq!(command.role_check(), entry.access.role_check(), "{line}");
            }
        }
    }

    #[test]
    fn a_bare_name_is_found_and_a_name_with_more_is_not() {
        assert_eq!(bare("  Contribute ").map(|e| e.name), Some("contribute"));
        assert_eq!(bare("goal create").map(|e| e.name), Some("goal create"));
        assert!(bare("contribute Planted oaks").is_none());
        assert!(bare("").is_none());
        assert!(bare("frobnicate").is_none());
    }

    #[test]
    fn every_spelling_picks_its_own_entry_and_names_are_unique() {
        for entry in TABLE {
            assert!(std::ptr::eq(named(entry.name), entry));
            assert_eq!(
                TABLE.iter().filter(|e| e.name == entry.name).count(),
                1,
                "{} is in the table twice",
                entry.name
            );
            for spelling in entry.spellings {
                assert!(spelling.split(' ').count() <= MOST_VERB_WORDS, "{spelling}");
                // Every choice of every word, written out.
                let mut lines = vec![String::new()];
                for part in spelling.split(' ') {
                    lines = lines
                        .iter()
                        .flat_map(|l| part.split('|').map(move |c| format!("{l} {c}")))
                        .collect();
                }
                for line in lines {
                    let (picked, _) = pick(&words(&line)).unwrap();
                    assert_eq!(picked.name, entry.name, "`{line}`");
                }
            }
        }
    }

    #[test]
    fn every_entry_has_help_and_a_discord_command() {
        for entry in TABLE {
            assert!(!entry.form.is_empty() && entry.summary.ends_with('.'));
            assert!(
                matching(entry.name).iter().any(|e| e.name == entry.name),
                "`help {}` does not find it",
                entry.name
            );
            assert!(!entry.discord.is_empty(), "{}", entry.name);
        }
    }

    #[test]
    fn unknown_words_show_the_forms_that_start_alike() {
        let e = pick(&words("goal frobnicate")).unwrap_err().to_string();
        assert!(e.contains("`goal frobnicate` is not a goal command"), "{e}");
        assert!(
            e.contains("goal create <title>") && e.contains("goal close <slug>"),
            "{e}"
        );
        let e = pick(&words("mission value")).unwrap_err().to_string();
        assert!(e.contains("`mission value` needs one more word"), "{e}");
        assert!(
            e.contains("mission value add <value> | mission value remove <value>"),
            "{e}"
        );
        let e = pick(&words("goals frobnicate")).unwrap_err().to_string();
        assert!(
            e.contains("`goals frobnicate` is not a goal command"),
            "{e}"
        );
        let e = pick(&words("setup colour red")).unwrap_err().to_string();
        assert!(e.contains("setup milestones each|digest"), "{e}");
        let e = pick(&words("frobnicate")).unwrap_err().to_string();
        assert!(
            e.contains("not a Keel command") && e.contains("help"),
            "{e}"
        );
    }

    #[test]
    fn the_table_says_who_may_redeem_a_community_code() {
        let redeem = named("link code");
        assert_eq!(
            redeem.access,
            OrganisersFor("a community code, made with `link community`")
        );
        // Both adapters ask the platform for the role before the core decides.
        assert_eq!(redeem.access.role_check(), RoleCheck::Required);
        assert!(!redeem.organisers_only());
        assert!(named("link community").organisers_only());
    }

    #[test]
    fn help_topics_follow_spellings() {
        let names = |topic: &str| -> Vec<&str> { matching(topic).iter().map(|e| e.name).collect() };
        assert_eq!(names("thanks"), ["kudos"]);
        assert_eq!(names("contribute"), ["contribute"]);
        assert!(names("goals").contains(&"goal create"));
        assert!(names("setup").contains(&"setup milestones"));
        assert_eq!(
            names("export"),
            ["export health", "export me", "export community"]
        );
        assert!(names("frobnicate").is_empty());
    }
}
