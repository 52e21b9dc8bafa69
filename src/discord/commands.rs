//! Every core command as a Discord slash command: typed options with
//! descriptions and Discord-side length limits, autocomplete for goal slugs and
//! values. Each turns its options into the core's `Command` with the same
//! validated values the text syntax uses, then `interaction::run` does the rest.
//! Organiser-only commands also carry `default_member_permissions`; the check that
//! counts runs in the core on every call (D5).

use serenity::all::{AutocompleteChoice, ChannelId, CreateAutocompleteResponse, RoleId, User};

use super::interaction::{CommandResult, run};
use super::{BoxError, Ctx, Discord};
use crate::domain::command::{
    Board, Command, ExportFormat, ExportScope, LinkKind, NewContribution, NewGoal, NewMilestone,
    Setup, Window,
};
use crate::domain::parse::{stats_window, timezone};
use crate::domain::schedule::ScheduleSpec;
use crate::domain::text::{
    Amount, Description, Name, PlatformRef, Reason, Slug, Statement, Title, Unit, ValueName,
    parse_day,
};
use crate::domain::{MemberRef, UserError};

/// Every command Keel registers.
pub fn all() -> Vec<poise::Command<std::sync::Arc<Discord>, BoxError>> {
    vec![
        help(),
        mission(),
        contribute(),
        contributions(),
        goal(),
        milestone(),
        kudos(),
        stats(),
        leaderboard(),
        away(),
        link(),
        export(),
        forget_me(),
        setup(),
        health(),
    ]
}

fn today(ctx: Ctx<'_>) -> chrono::NaiveDate {
    ctx.data().app.today()
}

fn member(user: &User) -> MemberRef {
    MemberRef::PlatformUser {
        id: user.id.to_string(),
        name: Some(
            user.global_name
                .clone()
                .unwrap_or_else(|| user.name.clone()),
        ),
    }
}

fn optional_amount(field: &str, value: Option<f64>) -> Result<Option<Amount>, UserError> {
    value
        .map(|v| Amount::parse(field, &v.to_string()))
        .transpose()
}

fn day(
    field: &str,
    raw: Option<String>,
    today: chrono::NaiveDate,
) -> Result<Option<chrono::NaiveDate>, UserError> {
    raw.map(|d| parse_day(field, &d, today)).transpose()
}

/// The window from `period`, or `from` and `to`, by the text syntax's rules.
fn window(
    ctx: Ctx<'_>,
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<Window, UserError> {
    stats_window(period, from, to, today(ctx)).map_err(|problem| {
        UserError::invalid(problem, "Give period (like 30d), or from and to, not both.")
    })
}

// ---------------------------------------------------------------- autocomplete

/// The community's goals whose slug or title starts with (or contains) what was typed.
async fn goal_slugs(ctx: Ctx<'_>, partial: &str) -> CreateAutocompleteResponse {
    let mut choices = Vec::new();
    if let Some(community) = community_of(ctx).await {
        let partial = partial.to_lowercase();
        if let Ok(list) = ctx.data().app.store().open_goals(community).await {
            for goal in list {
                if goal.slug.contains(&partial) || goal.title.to_lowercase().contains(&partial) {
                    let label =
                        super::render::truncate(&format!("{} — {}", goal.slug, goal.title), 100);
                    choices.push(AutocompleteChoice::new(label, goal.slug.clone()));
                }
            }
        }
    }
    choices.truncate(25);
    CreateAutocompleteResponse::new().set_choices(choices)
}

/// The mission's values that contain what was typed.
async fn values(ctx: Ctx<'_>, partial: &str) -> CreateAutocompleteResponse {
    let mut choices = Vec::new();
    if let Some(community) = community_of(ctx).await {
        let partial = partial.to_lowercase();
        if let Ok(Some(current)) = ctx.data().app.store().current_mission(community).await {
            for value in current.values {
                if value.to_lowercase().contains(&partial) {
                    choices.push(AutocompleteChoice::new(value.clone(), value));
                }
            }
        }
    }
    choices.truncate(25);
    CreateAutocompleteResponse::new().set_choices(choices)
}

async fn community_of(ctx: Ctx<'_>) -> Option<crate::domain::CommunityId> {
    let guild = ctx.guild_id()?.to_string();
    ctx.data()
        .app
        .store()
        .workspace_by_external(crate::domain::Platform::Discord, &guild)
        .await
        .ok()
        .flatten()
        .map(|w| w.community_id)
}

// ---------------------------------------------------------------- help

/// What Keel can do, or how one command works.
#[poise::command(slash_command)]
pub async fn help(
    ctx: Ctx<'_>,
    #[description = "A command to explain, like contribute or goal create"]
    #[max_length = 40]
    topic: Option<String>,
) -> CommandResult {
    run(ctx, Ok(Command::Help { topic })).await
}

// ---------------------------------------------------------------- mission

/// The community's mission: show it, change it, see how it evolved.
#[poise::command(
    slash_command,
    subcommands("mission_show", "mission_set", "mission_history", "mission_value"),
    subcommand_required
)]
pub async fn mission(_ctx: Ctx<'_>) -> CommandResult {
    Ok(())
}

/// Show the mission and its values.
#[poise::command(slash_command, rename = "show")]
pub async fn mission_show(ctx: Ctx<'_>) -> CommandResult {
    run(ctx, Ok(Command::MissionShow)).await
}

/// Change the mission (organisers). The old version is kept in the history.
#[poise::command(slash_command, rename = "set")]
pub async fn mission_set(
    ctx: Ctx<'_>,
    #[description = "The new mission statement"]
    #[max_length = 1000]
    statement: String,
    #[description = "Why it changed, for the history"]
    #[max_length = 300]
    reason: Option<String>,
) -> CommandResult {
    let command = (|| {
        Ok(Command::MissionSet {
            statement: Statement::parse(&statement)?,
            reason: reason.as_deref().map(Reason::parse).transpose()?,
        })
    })();
    run(ctx, command).await
}

/// Every version of the mission, with what changed word by word.
#[poise::command(slash_command, rename = "history")]
pub async fn mission_history(ctx: Ctx<'_>) -> CommandResult {
    run(ctx, Ok(Command::MissionHistory)).await
}

/// The mission's values (organisers add and remove them).
#[poise::command(
    slash_command,
    rename = "value",
    subcommands("mission_value_add", "mission_value_remove"),
    subcommand_required
)]
pub async fn mission_value(_ctx: Ctx<'_>) -> CommandResult {
    Ok(())
}

/// Add a value, such as stewardship (organisers).
#[poise::command(slash_command, rename = "add")]
pub async fn mission_value_add(
    ctx: Ctx<'_>,
    #[description = "The value's name"]
    #[max_length = 40]
    name: String,
) -> CommandResult {
    let command = ValueName::parse(&name).map(|name| Command::MissionValueAdd { name });
    run(ctx, command).await
}

/// Remove a value (organisers).
#[poise::command(slash_command, rename = "remove")]
pub async fn mission_value_remove(
    ctx: Ctx<'_>,
    #[description = "The value's name"]
    #[max_length = 40]
    #[autocomplete = "values"]
    name: String,
) -> CommandResult {
    let command = ValueName::parse(&name).map(|name| Command::MissionValueRemove { name });
    run(ctx, command).await
}

// ---------------------------------------------------------------- contributions

/// Log something you did for the community.
#[poise::command(slash_command)]
#[allow(clippy::too_many_arguments)]
pub async fn contribute(
    ctx: Ctx<'_>,
    #[description = "What you did, in your words"]
    #[max_length = 500]
    what: String,
    #[description = "How much, like 40 (trees) or 2.5 (hours)"]
    #[min = 0]
    amount: Option<f64>,
    #[description = "The unit of the amount: trees, hours, euros"]
    #[max_length = 20]
    unit: Option<String>,
    #[description = "The goal it counts towards"]
    #[max_length = 40]
    #[autocomplete = "goal_slugs"]
    goal: Option<String>,
    #[description = "The mission value it reflects"]
    #[max_length = 40]
    #[autocomplete = "values"]
    value: Option<String>,
    #[description = "When it happened, if not today: YYYY-MM-DD or yesterday"]
    #[max_length = 10]
    date: Option<String>,
) -> CommandResult {
    let today = today(ctx);
    let command = (|| {
        Ok(Command::Contribute(NewContribution {
            description: Description::parse(&what)?,
            amount: optional_amount("amount", amount)?,
            unit: unit.as_deref().map(Unit::parse).transpose()?,
            goal: goal.as_deref().map(Slug::parse).transpose()?,
            value: value.as_deref().map(ValueName::parse).transpose()?,
            day: day("date", date, today)?,
        }))
    })();
    run(ctx, command).await
}

/// Recent contributions: yours, or another member's.
#[poise::command(slash_command)]
pub async fn contributions(
    ctx: Ctx<'_>,
    #[description = "Whose contributions (you if empty)"] member: Option<User>,
) -> CommandResult {
    let member = member.as_ref().map_or(MemberRef::Me, self::member);
    run(ctx, Ok(Command::Contributions { member })).await
}

// ---------------------------------------------------------------- goals

/// The community's goals.
#[poise::command(
    slash_command,
    subcommands("goal_create", "goal_list", "goal_show", "goal_chart", "goal_close"),
    subcommand_required
)]
pub async fn goal(_ctx: Ctx<'_>) -> CommandResult {
    Ok(())
}

/// Create a goal (organisers).
#[poise::command(slash_command, rename = "create")]
pub async fn goal_create(
    ctx: Ctx<'_>,
    #[description = "What the goal is, like Plant 500 trees"]
    #[max_length = 100]
    title: String,
    #[description = "How much makes it met"]
    #[min = 0]
    target: f64,
    #[description = "The unit: trees, hours, euros"]
    #[max_length = 20]
    unit: Option<String>,
    #[description = "A short name to refer to it (made from the title if empty)"]
    #[max_length = 40]
    slug: Option<String>,
    #[description = "When it should be met: YYYY-MM-DD"]
    #[max_length = 10]
    deadline: Option<String>,
) -> CommandResult {
    let today = today(ctx);
    let command = (|| {
        Ok(Command::GoalCreate(NewGoal {
            title: Title::parse(&title)?,
            target: Amount::parse("target", &target.to_string())?,
            unit: unit.as_deref().map(Unit::parse).transpose()?,
            slug: slug.as_deref().map(Slug::parse).transpose()?,
            deadline: day("deadline", deadline, today)?,
        }))
    })();
    run(ctx, command).await
}

/// Open goals and how far along they are.
#[poise::command(slash_command, rename = "list")]
pub async fn goal_list(ctx: Ctx<'_>) -> CommandResult {
    run(ctx, Ok(Command::GoalList)).await
}

/// One goal in detail.
#[poise::command(slash_command, rename = "show")]
pub async fn goal_show(
    ctx: Ctx<'_>,
    #[description = "The goal"]
    #[max_length = 40]
    #[autocomplete = "goal_slugs"]
    slug: String,
) -> CommandResult {
    run(
        ctx,
        Slug::parse(&slug).map(|slug| Command::GoalShow { slug }),
    )
    .await
}

/// A goal's progress as an image.
#[poise::command(slash_command, rename = "chart")]
pub async fn goal_chart(
    ctx: Ctx<'_>,
    #[description = "The goal"]
    #[max_length = 40]
    #[autocomplete = "goal_slugs"]
    slug: String,
) -> CommandResult {
    run(
        ctx,
        Slug::parse(&slug).map(|slug| Command::GoalChart { slug }),
    )
    .await
}

/// Close a goal (organisers).
#[poise::command(slash_command, rename = "close")]
pub async fn goal_close(
    ctx: Ctx<'_>,
    #[description = "The goal"]
    #[max_length = 40]
    #[autocomplete = "goal_slugs"]
    slug: String,
) -> CommandResult {
    run(
        ctx,
        Slug::parse(&slug).map(|slug| Command::GoalClose { slug }),
    )
    .await
}

// ---------------------------------------------------------------- milestones

/// Milestones the community celebrates.
#[poise::command(
    slash_command,
    subcommands("milestone_add", "milestone_list"),
    subcommand_required
)]
pub async fn milestone(_ctx: Ctx<'_>) -> CommandResult {
    Ok(())
}

/// Add a milestone of your own (organisers).
#[poise::command(slash_command, rename = "add")]
pub async fn milestone_add(
    ctx: Ctx<'_>,
    #[description = "What to celebrate, like Our 100th tree"]
    #[max_length = 100]
    title: String,
    #[description = "The count (or the goal's amount) that reaches it"]
    #[min = 0]
    at: f64,
    #[description = "A goal whose progress it follows (contributions if empty)"]
    #[max_length = 40]
    #[autocomplete = "goal_slugs"]
    goal: Option<String>,
) -> CommandResult {
    let command = (|| {
        Ok(Command::MilestoneAdd(NewMilestone {
            title: Title::parse(&title)?,
            threshold: Amount::parse("at", &at.to_string())?,
            goal: goal.as_deref().map(Slug::parse).transpose()?,
        }))
    })();
    run(ctx, command).await
}

/// Milestones reached and ahead.
#[poise::command(slash_command, rename = "list")]
pub async fn milestone_list(ctx: Ctx<'_>) -> CommandResult {
    run(ctx, Ok(Command::MilestoneList)).await
}

// ---------------------------------------------------------------- people

/// Thank a member for something they did.
#[poise::command(slash_command)]
pub async fn kudos(
    ctx: Ctx<'_>,
    #[description = "Who to thank"] to: User,
    #[description = "What for"]
    #[max_length = 300]
    reason: Option<String>,
) -> CommandResult {
    let command = reason
        .as_deref()
        .map(Reason::parse)
        .transpose()
        .map(|reason| Command::Kudos {
            to: member(&to),
            reason,
        });
    run(ctx, command).await
}

/// Set yourself away (left out of attention lists) or back.
#[poise::command(slash_command)]
pub async fn away(
    ctx: Ctx<'_>,
    #[description = "True to be away, false when you are back"] on: bool,
) -> CommandResult {
    run(ctx, Ok(Command::Away { on })).await
}

// ---------------------------------------------------------------- statistics

/// Community and personal statistics.
#[poise::command(
    slash_command,
    subcommands("stats_community", "stats_me", "stats_chart"),
    subcommand_required
)]
pub async fn stats(_ctx: Ctx<'_>) -> CommandResult {
    Ok(())
}

/// Active members, contributions, goals and alignment over a window.
#[poise::command(slash_command, rename = "community")]
pub async fn stats_community(
    ctx: Ctx<'_>,
    #[description = "The last days or weeks, like 7d, 30d, 90d or 12w"]
    #[max_length = 6]
    period: Option<String>,
    #[description = "Or from this day: YYYY-MM-DD"]
    #[max_length = 10]
    from: Option<String>,
    #[description = "…to this day (today if empty)"]
    #[max_length = 10]
    to: Option<String>,
) -> CommandResult {
    let command = window(ctx, period, from, to).map(|window| Command::Stats { window });
    run(ctx, command).await
}

/// Charts of activity, retention and goals over a window, as images.
#[poise::command(slash_command, rename = "chart")]
pub async fn stats_chart(
    ctx: Ctx<'_>,
    #[description = "The last days or weeks, like 30d, 90d or 12w"]
    #[max_length = 6]
    period: Option<String>,
    #[description = "Or from this day: YYYY-MM-DD"]
    #[max_length = 10]
    from: Option<String>,
    #[description = "…to this day (today if empty)"]
    #[max_length = 10]
    to: Option<String>,
) -> CommandResult {
    let command = window(ctx, period, from, to).map(|window| Command::StatsChart { window });
    run(ctx, command).await
}

/// Your own totals and streak (only you see them).
#[poise::command(slash_command, rename = "me")]
pub async fn stats_me(ctx: Ctx<'_>) -> CommandResult {
    run(ctx, Ok(Command::StatsMe)).await
}

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum BoardChoice {
    #[name = "this week"]
    Week,
    #[name = "this month"]
    Month,
    #[name = "all time"]
    AllTime,
    #[name = "most improved"]
    MostImproved,
}

/// Who contributed most, by window; kudos alongside.
#[poise::command(slash_command)]
pub async fn leaderboard(
    ctx: Ctx<'_>,
    #[description = "Which board (this month if empty)"] board: Option<BoardChoice>,
) -> CommandResult {
    let board = match board.unwrap_or(BoardChoice::Month) {
        BoardChoice::Week => Board::Week,
        BoardChoice::Month => Board::Month,
        BoardChoice::AllTime => Board::AllTime,
        BoardChoice::MostImproved => Board::MostImproved,
    };
    run(ctx, Ok(Command::Leaderboard { board })).await
}

/// Who needs attention: drifting away, overloaded, inactive, not started (organisers).
#[poise::command(slash_command, default_member_permissions = "MANAGE_GUILD")]
pub async fn health(ctx: Ctx<'_>) -> CommandResult {
    run(ctx, Ok(Command::Health)).await
}

// ---------------------------------------------------------------- your data

/// Join your identities, or another workspace to this community.
#[poise::command(
    slash_command,
    subcommands("link_identity", "link_community", "link_redeem"),
    subcommand_required
)]
pub async fn link(_ctx: Ctx<'_>) -> CommandResult {
    Ok(())
}

/// Get a code that joins your account elsewhere (like Slack) to you here.
#[poise::command(slash_command, rename = "me")]
pub async fn link_identity(ctx: Ctx<'_>) -> CommandResult {
    run(
        ctx,
        Ok(Command::LinkStart {
            kind: LinkKind::Identity,
        }),
    )
    .await
}

/// Get a code that joins another workspace to this community (organisers).
#[poise::command(slash_command, rename = "community")]
pub async fn link_community(ctx: Ctx<'_>) -> CommandResult {
    run(
        ctx,
        Ok(Command::LinkStart {
            kind: LinkKind::Workspace,
        }),
    )
    .await
}

/// Use a code made with `link` elsewhere.
#[poise::command(slash_command, rename = "code")]
pub async fn link_redeem(
    ctx: Ctx<'_>,
    #[description = "The code, like KEEL-7F3K-9QXP"]
    #[max_length = 20]
    code: String,
) -> CommandResult {
    run(
        ctx,
        Ok(Command::LinkRedeem {
            code: code.trim().to_string(),
        }),
    )
    .await
}

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum FormatChoice {
    #[name = "CSV"]
    Csv,
    #[name = "JSON"]
    Json,
}

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum ScopeChoice {
    #[name = "my data"]
    Me,
    #[name = "the whole community (organisers)"]
    Community,
}

/// Download data as a file: yours, or the community's (organisers).
#[poise::command(slash_command)]
pub async fn export(
    ctx: Ctx<'_>,
    #[description = "Whose data (yours if empty)"] what: Option<ScopeChoice>,
    #[description = "File format (CSV if empty)"] format: Option<FormatChoice>,
) -> CommandResult {
    let scope = match what.unwrap_or(ScopeChoice::Me) {
        ScopeChoice::Me => ExportScope::Me,
        ScopeChoice::Community => ExportScope::Community,
    };
    let format = match format.unwrap_or(FormatChoice::Csv) {
        FormatChoice::Csv => ExportFormat::Csv,
        FormatChoice::Json => ExportFormat::Json,
    };
    run(ctx, Ok(Command::Export { scope, format })).await
}

/// Erase everything Keel holds about you (asks first).
#[poise::command(slash_command, rename = "forget-me")]
pub async fn forget_me(
    ctx: Ctx<'_>,
    #[description = "True to erase now; without it Keel explains what goes"] confirm: Option<bool>,
) -> CommandResult {
    run(
        ctx,
        Ok(Command::ForgetMe {
            confirmed: confirm.unwrap_or(false),
        }),
    )
    .await
}

// ---------------------------------------------------------------- setup

/// Community settings (organisers).
#[poise::command(
    slash_command,
    default_member_permissions = "MANAGE_GUILD",
    subcommands(
        "setup_show",
        "setup_announcements",
        "setup_organiser_role",
        "setup_timezone",
        "setup_digest",
        "setup_reminder",
        "setup_inactive_days",
        "setup_alignment",
        "setup_name"
    ),
    subcommand_required
)]
pub async fn setup(_ctx: Ctx<'_>) -> CommandResult {
    Ok(())
}

/// The current settings.
#[poise::command(slash_command, rename = "show")]
pub async fn setup_show(ctx: Ctx<'_>) -> CommandResult {
    run(ctx, Ok(Command::Setup(Setup::Show))).await
}

/// The channel for milestone announcements, digests and reminders.
#[poise::command(slash_command, rename = "announcements")]
pub async fn setup_announcements(
    ctx: Ctx<'_>,
    #[description = "The channel"]
    #[channel_types("Text", "News")]
    channel: ChannelId,
) -> CommandResult {
    let command = PlatformRef::parse(&format!("<#{channel}>"))
        .map(|c| Command::Setup(Setup::AnnouncementChannel(c)));
    run(ctx, command).await
}

/// A role whose members organise, besides those with Manage Server.
#[poise::command(slash_command, rename = "organiser-role")]
pub async fn setup_organiser_role(
    ctx: Ctx<'_>,
    #[description = "The role"] role: RoleId,
) -> CommandResult {
    let command =
        PlatformRef::parse(&format!("<@&{role}>")).map(|r| Command::Setup(Setup::OrganiserRole(r)));
    run(ctx, command).await
}

/// The community's time zone, for schedules and days.
#[poise::command(slash_command, rename = "timezone")]
pub async fn setup_timezone(
    ctx: Ctx<'_>,
    #[description = "Like Europe/Paris, America/New_York or UTC"]
    #[max_length = 40]
    zone: String,
) -> CommandResult {
    run(
        ctx,
        timezone(&zone).map(|tz| Command::Setup(Setup::Timezone(tz))),
    )
    .await
}

/// When the digest is posted.
#[poise::command(slash_command, rename = "digest")]
pub async fn setup_digest(
    ctx: Ctx<'_>,
    #[description = "daily 09:00, weekly mon 09:00, monthly 1 09:00, or off"]
    #[max_length = 30]
    schedule: String,
) -> CommandResult {
    run(
        ctx,
        ScheduleSpec::parse(&schedule).map(|s| Command::Setup(Setup::Digest(s))),
    )
    .await
}

/// When the mission reminder is posted.
#[poise::command(slash_command, rename = "reminder")]
pub async fn setup_reminder(
    ctx: Ctx<'_>,
    #[description = "daily 09:00, weekly mon 09:00, monthly 1 09:00, or off"]
    #[max_length = 30]
    schedule: String,
) -> CommandResult {
    run(
        ctx,
        ScheduleSpec::parse(&schedule).map(|s| Command::Setup(Setup::Reminder(s))),
    )
    .await
}

/// After how many quiet days a member counts as inactive.
#[poise::command(slash_command, rename = "inactive-days")]
pub async fn setup_inactive_days(
    ctx: Ctx<'_>,
    #[description = "Days, 1 to 365"]
    #[min = 1]
    #[max = 365]
    days: u32,
) -> CommandResult {
    run(
        ctx,
        Ok(Command::Setup(Setup::InactiveDays(days.clamp(1, 365)))),
    )
    .await
}

/// Below what share of aligned contributions stats warn of mission drift.
#[poise::command(slash_command, rename = "alignment")]
pub async fn setup_alignment(
    ctx: Ctx<'_>,
    #[description = "Percent, 0 to 100"]
    #[min = 0]
    #[max = 100]
    percent: u32,
) -> CommandResult {
    run(
        ctx,
        Ok(Command::Setup(Setup::AlignmentThreshold(percent.min(100)))),
    )
    .await
}

/// The community's name.
#[poise::command(slash_command, rename = "name")]
pub async fn setup_name(
    ctx: Ctx<'_>,
    #[description = "The name"]
    #[max_length = 80]
    name: String,
) -> CommandResult {
    run(
        ctx,
        Name::parse(&name).map(|n| Command::Setup(Setup::CommunityName(n))),
    )
    .await
}
