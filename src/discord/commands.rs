//! Every core command as a Discord slash command: typed options with
//! descriptions and Discord-side length limits, autocomplete for goal slugs and
//! values. Each turns its options into the core's `Command` with the same
//! validated values the text syntax uses, then `interaction::run` does the rest.
//! Organiser-only commands also carry `default_member_permissions`; the check that
//! counts runs in the core on every call (D5).

use serenity::all::{
    AutocompleteChoice, ChannelId, CreateAutocompleteResponse, Permissions, RoleId, User,
};

use super::interaction::{CommandResult, run};
use super::{BoxError, Ctx, Discord};
use crate::domain::command::{
    Board, Command, ContributionChanges, EventChanges, ExportFormat, ExportScope, GoalCaps,
    GoalChanges, LinkKind, NewContribution, NewEvent, NewGoal, NewMilestone, Setup, Window,
};
use crate::domain::command_table;
use crate::domain::events::{Answer, CheckInCode, EventDuration, parse_local_time};
use crate::domain::parse::{
    amount_or_off, capacity_or_none, contribution_id, day_or_none, event_id, kudos_id,
    milestone_id, place_or_none, stats_window, timezone,
};
use crate::domain::schedule::ScheduleSpec;
use crate::domain::text::{
    Amount, Capacity, Description, InactiveDays, KudosPerWeek, Name, PageNumber, PairingSize,
    Percent, Place, PlatformRef, Reason, Slug, Statement, Title, Unit, ValueName, parse_day,
};
use crate::domain::{MemberRef, UserError};

type DiscordCommand = poise::Command<std::sync::Arc<Discord>, BoxError>;

/// Every command Keel registers. A command is hidden from members by default
/// (Manage Server) when every table entry it offers is for organisers; Discord
/// sets that per top-level command, so one that also offers members' commands
/// (`/goal`, `/export`) stays visible and the core refuses members what is not
/// theirs.
pub fn all() -> Vec<DiscordCommand> {
    let mut commands = offered();
    for command in &mut commands {
        let mut entries = Vec::new();
        for leaf in leaves(command, "") {
            entries.extend(command_table::on_discord(&leaf));
        }
        if !entries.is_empty() && entries.iter().all(|e| e.organisers_only()) {
            command.default_member_permissions = Permissions::MANAGE_GUILD;
        }
    }
    commands
}

/// The qualified names of the commands members can run under `command`: itself,
/// or its subcommands', all the way down.
fn leaves(command: &DiscordCommand, parent: &str) -> Vec<String> {
    let name = if parent.is_empty() {
        // A context-menu command is known to Discord, and the table, by its label.
        command
            .context_menu_name
            .as_deref()
            .unwrap_or(&command.name)
            .to_string()
    } else {
        format!("{parent} {}", command.name)
    };
    if command.subcommands.is_empty() {
        return vec![name];
    }
    command
        .subcommands
        .iter()
        .flat_map(|sub| leaves(sub, &name))
        .collect()
}

fn offered() -> Vec<DiscordCommand> {
    vec![
        help(),
        mission(),
        contribute(),
        contributions(),
        contribution(),
        review(),
        audit(),
        goal(),
        milestone(),
        event(),
        pair(),
        kudos(),
        kudos_remove(),
        stats(),
        leaderboard(),
        away(),
        link(),
        export(),
        forget_me(),
        setup(),
        health(),
        super::log_message::log_message(),
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

/// The member's own latest contributions, as `#id — text`, for the id of one to
/// correct: what was typed matches the id or the text.
async fn recent_contributions(ctx: Ctx<'_>, partial: &str) -> CreateAutocompleteResponse {
    let mut choices = Vec::new();
    let store = ctx.data().app.store();
    let guild = ctx.guild_id().map(|g| g.to_string());
    let workspace = match guild {
        Some(guild) => store
            .workspace_by_external(crate::domain::Platform::Discord, &guild)
            .await
            .ok()
            .flatten(),
        None => None,
    };
    if let Some(workspace) = workspace
        && let Ok(Some(member)) = store
            .member_by_identity(workspace.id, &ctx.author().id.to_string())
            .await
        && let Ok(rows) = store
            .contributions_by_member(workspace.community_id, member.id, 25)
            .await
    {
        let partial = partial.trim_start_matches('#').to_lowercase();
        for row in rows {
            let id = row.id.to_string();
            if id.starts_with(&partial) || row.description.to_lowercase().contains(&partial) {
                let label = super::render::truncate(
                    &format!("#{id} — {} · {}", row.day, row.description),
                    100,
                );
                choices.push(AutocompleteChoice::new(label, format!("#{id}")));
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

/// Correct a contribution: yours within 7 days of logging it; organisers any.
#[poise::command(
    slash_command,
    subcommands("contribution_edit", "contribution_remove"),
    subcommand_required
)]
pub async fn contribution(_ctx: Ctx<'_>) -> CommandResult {
    Ok(())
}

/// Remove a contribution, saying why (its member is told if it is not yours).
#[poise::command(slash_command, rename = "remove")]
pub async fn contribution_remove(
    ctx: Ctx<'_>,
    #[description = "The contribution: #id, as /contributions shows it"]
    #[max_length = 20]
    #[autocomplete = "recent_contributions"]
    id: String,
    #[description = "Why it is removed"]
    #[max_length = 300]
    reason: String,
) -> CommandResult {
    let command = (|| {
        Ok(Command::ContributionRemove {
            id: contribution_id(&id)?,
            reason: Reason::parse(&reason)?,
        })
    })();
    run(ctx, command).await
}

/// Edit a contribution, saying why (its member is told if it is not yours).
#[poise::command(slash_command, rename = "edit")]
#[allow(clippy::too_many_arguments)]
pub async fn contribution_edit(
    ctx: Ctx<'_>,
    #[description = "The contribution: #id, as /contributions shows it"]
    #[max_length = 20]
    #[autocomplete = "recent_contributions"]
    id: String,
    #[description = "Why it is edited"]
    #[max_length = 300]
    reason: String,
    #[description = "What you did, in your words (unchanged if empty)"]
    #[max_length = 500]
    what: Option<String>,
    #[description = "How much, like 40 (trees) or 2.5 (hours)"]
    #[min = 0]
    amount: Option<f64>,
    #[description = "The unit of the amount"]
    #[max_length = 20]
    unit: Option<String>,
    #[description = "The goal it counts towards; - for none"]
    #[max_length = 40]
    #[autocomplete = "goal_slugs"]
    goal: Option<String>,
    #[description = "The mission value it reflects; - for none"]
    #[max_length = 40]
    #[autocomplete = "values"]
    value: Option<String>,
    #[description = "When it happened: YYYY-MM-DD or yesterday"]
    #[max_length = 10]
    date: Option<String>,
) -> CommandResult {
    let today = today(ctx);
    let cleared = |raw: &str| matches!(raw.trim(), "-" | "none");
    let command = (|| {
        let change = ContributionChanges {
            description: what.as_deref().map(Description::parse).transpose()?,
            amount: optional_amount("amount", amount)?,
            unit: unit.as_deref().map(Unit::parse).transpose()?,
            goal: goal
                .as_deref()
                .map(|g| match cleared(g) {
                    true => Ok(None),
                    false => Slug::parse(g).map(Some),
                })
                .transpose()?,
            value: value
                .as_deref()
                .map(|v| match cleared(v) {
                    true => Ok(None),
                    false => ValueName::parse(v).map(Some),
                })
                .transpose()?,
            day: day("date", date, today)?,
        };
        if change.is_empty() {
            return Err(UserError::invalid(
                "Nothing to change.",
                "Give what, amount, unit, goal, value or date.",
            ));
        }
        Ok(Command::ContributionEdit {
            id: contribution_id(&id)?,
            change,
            reason: Reason::parse(&reason)?,
        })
    })();
    run(ctx, command).await
}

/// Contributions waiting for an organiser's review (organisers).
#[poise::command(
    slash_command,
    subcommands("review_list", "review_approve", "review_reject"),
    subcommand_required
)]
pub async fn review(_ctx: Ctx<'_>) -> CommandResult {
    Ok(())
}

/// The contributions waiting for review, with their ids.
#[poise::command(slash_command, rename = "list")]
pub async fn review_list(ctx: Ctx<'_>) -> CommandResult {
    run(ctx, Ok(Command::Review)).await
}

/// Approve a contribution waiting for review: it counts from now on.
#[poise::command(slash_command, rename = "approve")]
pub async fn review_approve(
    ctx: Ctx<'_>,
    #[description = "The contribution: #id, as /review list shows it"]
    #[max_length = 20]
    id: String,
) -> CommandResult {
    let command = contribution_id(&id).map(|id| Command::ReviewApprove { id });
    run(ctx, command).await
}

/// Reject a contribution waiting for review; its member is told why.
#[poise::command(slash_command, rename = "reject")]
pub async fn review_reject(
    ctx: Ctx<'_>,
    #[description = "The contribution: #id, as /review list shows it"]
    #[max_length = 20]
    id: String,
    #[description = "Why not (its member is told)"]
    #[max_length = 300]
    reason: String,
) -> CommandResult {
    let command = (|| {
        Ok(Command::ReviewReject {
            id: contribution_id(&id)?,
            reason: Reason::parse(&reason)?,
        })
    })();
    run(ctx, command).await
}

/// Corrections to the record: what was changed, by whom, when and why (organisers).
#[poise::command(slash_command)]
pub async fn audit(
    ctx: Ctx<'_>,
    #[description = "Only this member's record"] member: Option<User>,
    #[description = "The last days or weeks, like 30d or 12w (30d if empty)"]
    #[max_length = 6]
    period: Option<String>,
) -> CommandResult {
    let command = match period {
        None => Ok(Window::Last { days: 30 }),
        Some(period) => window(ctx, Some(period), None, None),
    }
    .map(|window| Command::Audit {
        member: member.as_ref().map(self::member),
        window,
    });
    run(ctx, command).await
}

// ---------------------------------------------------------------- goals

/// The community's goals.
#[poise::command(
    slash_command,
    subcommands(
        "goal_create",
        "goal_list",
        "goal_show",
        "goal_chart",
        "goal_close",
        "goal_edit",
        "goal_reopen"
    ),
    subcommand_required
)]
pub async fn goal(_ctx: Ctx<'_>) -> CommandResult {
    Ok(())
}

/// Create a goal (organisers).
#[poise::command(slash_command, rename = "create")]
#[allow(clippy::too_many_arguments)]
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
    #[description = "The most one contribution may add (bigger is refused)"]
    #[min = 0]
    max: Option<f64>,
    #[description = "Contributions above this wait for an organiser (at most max)"]
    #[min = 0]
    review_above: Option<f64>,
) -> CommandResult {
    let today = today(ctx);
    let command = (|| {
        Ok(Command::GoalCreate(NewGoal {
            title: Title::parse(&title)?,
            target: Amount::parse("target", &target.to_string())?,
            unit: unit.as_deref().map(Unit::parse).transpose()?,
            slug: slug.as_deref().map(Slug::parse).transpose()?,
            deadline: day("deadline", deadline, today)?,
            caps: GoalCaps::new(
                max.map(|m| Amount::parse("max", &m.to_string()))
                    .transpose()?,
                review_above
                    .map(|r| Amount::parse("review_above", &r.to_string()))
                    .transpose()?,
            )?,
        }))
    })();
    run(ctx, command).await
}

/// Change a goal (organisers); its contributions and milestones stay with it.
#[poise::command(slash_command, rename = "edit")]
#[allow(clippy::too_many_arguments)]
pub async fn goal_edit(
    ctx: Ctx<'_>,
    #[description = "The goal"]
    #[max_length = 40]
    #[autocomplete = "goal_slugs"]
    slug: String,
    #[description = "A new title"]
    #[max_length = 100]
    title: Option<String>,
    #[description = "A new target"]
    #[min = 0]
    target: Option<f64>,
    #[description = "A new unit"]
    #[max_length = 20]
    unit: Option<String>,
    #[description = "A new deadline, YYYY-MM-DD, or none"]
    #[max_length = 10]
    deadline: Option<String>,
    #[description = "A new slug"]
    #[max_length = 40]
    new_slug: Option<String>,
    #[description = "The most one contribution may add, or off"]
    #[max_length = 20]
    max: Option<String>,
    #[description = "Contributions above this wait for review (at most max), or off"]
    #[max_length = 20]
    review_above: Option<String>,
) -> CommandResult {
    let today = today(ctx);
    let command = (|| {
        let changes = GoalChanges {
            title: title.as_deref().map(Title::parse).transpose()?,
            target: target
                .map(|t| Amount::parse("target", &t.to_string()))
                .transpose()?,
            unit: unit.as_deref().map(Unit::parse).transpose()?,
            deadline: deadline
                .map(|d| day_or_none("deadline", &d, today))
                .transpose()?,
            slug: new_slug.as_deref().map(Slug::parse).transpose()?,
            max: max.map(|m| amount_or_off("max", &m)).transpose()?,
            review_above: review_above
                .map(|r| amount_or_off("review_above", &r))
                .transpose()?,
        };
        if changes.is_empty() {
            return Err(UserError::invalid(
                "Nothing to change.",
                "Give at least one of title, target, unit, deadline, new_slug, max or review_above.",
            ));
        }
        Ok(Command::GoalEdit {
            slug: Slug::parse(&slug)?,
            changes,
        })
    })();
    run(ctx, command).await
}

/// Open a closed goal again (organisers).
#[poise::command(slash_command, rename = "reopen")]
pub async fn goal_reopen(
    ctx: Ctx<'_>,
    #[description = "The goal"]
    #[max_length = 40]
    #[autocomplete = "goal_slugs"]
    slug: String,
) -> CommandResult {
    run(
        ctx,
        Slug::parse(&slug).map(|slug| Command::GoalReopen { slug }),
    )
    .await
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
    subcommands("milestone_add", "milestone_list", "milestone_remove"),
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

/// Remove a custom milestone (organisers); built-in ones stay.
#[poise::command(slash_command, rename = "remove")]
pub async fn milestone_remove(
    ctx: Ctx<'_>,
    #[description = "The milestone: #id, as /milestone list shows it"]
    #[max_length = 20]
    id: String,
) -> CommandResult {
    run(
        ctx,
        milestone_id(&id).map(|id| Command::MilestoneRemove { id }),
    )
    .await
}

// ---------------------------------------------------------------- events

/// The community's events: plan, answer, check in, attend.
#[poise::command(
    slash_command,
    subcommands(
        "event_create",
        "event_list",
        "event_show",
        "event_rsvp",
        "event_checkin",
        "event_attend",
        "event_edit",
        "event_cancel"
    ),
    subcommand_required
)]
pub async fn event(_ctx: Ctx<'_>) -> CommandResult {
    Ok(())
}

/// Plan an event, in the community's time zone (organisers).
#[poise::command(slash_command, rename = "create")]
#[allow(clippy::too_many_arguments)]
pub async fn event_create(
    ctx: Ctx<'_>,
    #[description = "What it is, like Planting day"]
    #[max_length = 100]
    title: String,
    #[description = "When it starts: YYYY-MM-DDTHH:MM, in the community's time zone"]
    #[max_length = 19]
    at: String,
    #[description = "How long: 2h, 90m, 1h30m (1h if empty)"]
    #[max_length = 20]
    duration: Option<String>,
    #[description = "Where it takes place"]
    #[max_length = 200]
    place: Option<String>,
    #[description = "The goal attending counts towards"]
    #[max_length = 40]
    #[autocomplete = "goal_slugs"]
    goal: Option<String>,
    #[description = "What attending counts (its hours towards a goal in hours if empty)"]
    #[min = 0]
    amount: Option<f64>,
    #[description = "How many places (no limit if empty)"]
    #[min = 1]
    #[max = 100000]
    capacity: Option<i64>,
) -> CommandResult {
    let command = (|| {
        Ok(Command::EventCreate(NewEvent {
            title: Title::parse(&title)?,
            starts: parse_local_time("at", &at)?,
            duration: duration.as_deref().map(EventDuration::parse).transpose()?,
            place: place.as_deref().map(Place::parse).transpose()?,
            goal: goal.as_deref().map(Slug::parse).transpose()?,
            amount: optional_amount("amount", amount)?,
            capacity: capacity.map(Capacity::new).transpose()?,
        }))
    })();
    run(ctx, command).await
}

/// Upcoming events, with how many are going.
#[poise::command(slash_command, rename = "list")]
pub async fn event_list(ctx: Ctx<'_>) -> CommandResult {
    run(ctx, Ok(Command::EventList)).await
}

/// One event in detail; organisers also see its check-in code (only they see it).
#[poise::command(slash_command, rename = "show")]
pub async fn event_show(
    ctx: Ctx<'_>,
    #[description = "The event: #id, as /event list shows it"]
    #[max_length = 20]
    id: String,
) -> CommandResult {
    run(ctx, event_id(&id).map(|id| Command::EventShow { id })).await
}

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum AnswerChoice {
    #[name = "yes"]
    Yes,
    #[name = "no"]
    No,
    #[name = "maybe"]
    Maybe,
}

/// Say whether you are going.
#[poise::command(slash_command, rename = "rsvp")]
pub async fn event_rsvp(
    ctx: Ctx<'_>,
    #[description = "The event: #id, as /event list shows it"]
    #[max_length = 20]
    id: String,
    #[description = "Your answer"] answer: AnswerChoice,
) -> CommandResult {
    let answer = match answer {
        AnswerChoice::Yes => Answer::Yes,
        AnswerChoice::No => Answer::No,
        AnswerChoice::Maybe => Answer::Maybe,
    };
    run(
        ctx,
        event_id(&id).map(|id| Command::EventRsvp { id, answer }),
    )
    .await
}

/// Check in at an event with the code its organisers show there.
#[poise::command(slash_command, rename = "checkin")]
pub async fn event_checkin(
    ctx: Ctx<'_>,
    #[description = "The event: #id, as /event list shows it"]
    #[max_length = 20]
    id: String,
    #[description = "The check-in code shown at the event"]
    #[max_length = 12]
    code: String,
) -> CommandResult {
    let command = (|| {
        Ok(Command::EventCheckIn {
            id: event_id(&id)?,
            code: CheckInCode::parse(&code)?,
        })
    })();
    run(ctx, command).await
}

/// Record who attended an event (organisers).
#[poise::command(slash_command, rename = "attend")]
pub async fn event_attend(
    ctx: Ctx<'_>,
    #[description = "The event: #id, as /event list shows it"]
    #[max_length = 20]
    id: String,
    #[description = "Who attended: mention them, like @ann @bob"]
    #[max_length = 2000]
    members: String,
) -> CommandResult {
    let command = (|| {
        let mut named = Vec::new();
        for word in members.split_whitespace() {
            let member = MemberRef::parse(word)
                .filter(|m| *m != MemberRef::Me)
                .ok_or_else(|| {
                    UserError::invalid(
                        format!("`{word}` is not a member."),
                        "Mention each member who attended, like @ann @bob.",
                    )
                })?;
            if !named.contains(&member) {
                named.push(member);
            }
        }
        if named.is_empty() {
            return Err(UserError::invalid(
                "No one is named.",
                "Mention each member who attended, like @ann @bob.",
            ));
        }
        Ok(Command::EventAttend {
            id: event_id(&id)?,
            members: named,
        })
    })();
    run(ctx, command).await
}

/// Change an event (organisers); who answered yes or maybe hears of a new time or place.
#[poise::command(slash_command, rename = "edit")]
#[allow(clippy::too_many_arguments)]
pub async fn event_edit(
    ctx: Ctx<'_>,
    #[description = "The event: #id, as /event list shows it"]
    #[max_length = 20]
    id: String,
    #[description = "A new title"]
    #[max_length = 100]
    title: Option<String>,
    #[description = "A new start: YYYY-MM-DDTHH:MM, in the community's time zone"]
    #[max_length = 19]
    at: Option<String>,
    #[description = "A new length: 2h, 90m, 1h30m"]
    #[max_length = 20]
    duration: Option<String>,
    #[description = "A new place, or none"]
    #[max_length = 200]
    place: Option<String>,
    #[description = "How many places, or none for no limit"]
    #[max_length = 10]
    capacity: Option<String>,
) -> CommandResult {
    let command = (|| {
        let changes = EventChanges {
            title: title.as_deref().map(Title::parse).transpose()?,
            starts: at
                .as_deref()
                .map(|a| parse_local_time("at", a))
                .transpose()?,
            duration: duration.as_deref().map(EventDuration::parse).transpose()?,
            place: place.as_deref().map(place_or_none).transpose()?,
            capacity: capacity.as_deref().map(capacity_or_none).transpose()?,
        };
        if changes.is_empty() {
            return Err(UserError::invalid(
                "Nothing to change.",
                "Give at least one of title, at, duration, place or capacity.",
            ));
        }
        Ok(Command::EventEdit {
            id: event_id(&id)?,
            changes,
        })
    })();
    run(ctx, command).await
}

/// Cancel an event (organisers); who answered yes or maybe is told why.
#[poise::command(slash_command, rename = "cancel")]
pub async fn event_cancel(
    ctx: Ctx<'_>,
    #[description = "The event: #id, as /event list shows it"]
    #[max_length = 20]
    id: String,
    #[description = "Why it is cancelled"]
    #[max_length = 300]
    reason: String,
) -> CommandResult {
    let command = (|| {
        Ok(Command::EventCancel {
            id: event_id(&id)?,
            reason: Reason::parse(&reason)?,
        })
    })();
    run(ctx, command).await
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

/// Take kudos out of the record, telling both members why (organisers).
#[poise::command(slash_command, rename = "kudos-remove")]
pub async fn kudos_remove(
    ctx: Ctx<'_>,
    #[description = "The kudos: #id, as its receipt shows it"]
    #[max_length = 20]
    id: String,
    #[description = "Why it is removed"]
    #[max_length = 300]
    reason: String,
) -> CommandResult {
    let command = (|| {
        Ok(Command::KudosRemove {
            id: kudos_id(&id)?,
            reason: Reason::parse(&reason)?,
        })
    })();
    run(ctx, command).await
}

// ---------------------------------------------------------------- introductions

/// Introductions: pairing rounds that group you with members you have not met.
#[poise::command(
    slash_command,
    subcommands(
        "pair_join",
        "pair_leave",
        "pair_status",
        "pair_avoid",
        "pair_met",
        "pair_now"
    ),
    subcommand_required
)]
pub async fn pair(_ctx: Ctx<'_>) -> CommandResult {
    Ok(())
}

/// Join the pairing rounds.
#[poise::command(slash_command, rename = "join")]
pub async fn pair_join(ctx: Ctx<'_>) -> CommandResult {
    run(ctx, Ok(Command::PairJoin)).await
}

/// Leave the pairing rounds.
#[poise::command(slash_command, rename = "leave")]
pub async fn pair_leave(ctx: Ctx<'_>) -> CommandResult {
    run(ctx, Ok(Command::PairLeave)).await
}

/// Your latest group and when the next round is.
#[poise::command(slash_command, rename = "status")]
pub async fn pair_status(ctx: Ctx<'_>) -> CommandResult {
    run(ctx, Ok(Command::PairStatus)).await
}

/// Never be grouped with this member (nobody is told).
#[poise::command(slash_command, rename = "avoid")]
pub async fn pair_avoid(ctx: Ctx<'_>, #[description = "The member"] member: User) -> CommandResult {
    let command = Command::PairAvoid {
        member: self::member(&member),
    };
    run(ctx, Ok(command)).await
}

/// Say whether your latest group met.
#[poise::command(slash_command, rename = "met")]
pub async fn pair_met(ctx: Ctx<'_>, #[description = "True if you met"] met: bool) -> CommandResult {
    run(ctx, Ok(Command::PairMet { met, group: None })).await
}

/// Run a pairing round now (organisers).
#[poise::command(slash_command, rename = "now")]
pub async fn pair_now(ctx: Ctx<'_>) -> CommandResult {
    run(ctx, Ok(Command::PairNow)).await
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
#[poise::command(slash_command)]
pub async fn health(
    ctx: Ctx<'_>,
    #[description = "Which page of names: 25 a list on each (the first if empty)"]
    #[min = 1]
    #[max = 1000000]
    page: Option<i64>,
) -> CommandResult {
    let page = page.map_or(Ok(PageNumber::FIRST), PageNumber::new);
    run(ctx, page.map(|page| Command::Health { page })).await
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
    #[name = "every name on the health lists (organisers, CSV)"]
    Health,
}

/// Download data as a file: yours, the community's or the health lists (organisers).
#[poise::command(slash_command)]
pub async fn export(
    ctx: Ctx<'_>,
    #[description = "Whose data (yours if empty)"] what: Option<ScopeChoice>,
    #[description = "File format (CSV if empty)"] format: Option<FormatChoice>,
) -> CommandResult {
    let scope = match what.unwrap_or(ScopeChoice::Me) {
        ScopeChoice::Me => ExportScope::Me,
        ScopeChoice::Community => ExportScope::Community,
        ScopeChoice::Health => ExportScope::Health,
    };
    let format = match format.unwrap_or(FormatChoice::Csv) {
        FormatChoice::Csv => ExportFormat::Csv,
        FormatChoice::Json => ExportFormat::Json,
    };
    run(ctx, Command::export(scope, format)).await
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
    subcommands(
        "setup_show",
        "setup_announcements",
        "setup_review_channel",
        "setup_organiser_role",
        "setup_timezone",
        "setup_digest",
        "setup_reminder",
        "setup_milestones",
        "setup_inactive_days",
        "setup_kudos_per_week",
        "setup_alignment",
        "setup_name",
        "setup_pairing",
        "setup_pairing_size",
        "setup_pairing_channel"
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

/// The channel where contributions waiting for review are posted, with buttons.
#[poise::command(slash_command, rename = "review-channel")]
pub async fn setup_review_channel(
    ctx: Ctx<'_>,
    #[description = "The channel"]
    #[channel_types("Text")]
    channel: ChannelId,
) -> CommandResult {
    let command = PlatformRef::parse(&format!("<#{channel}>"))
        .map(|c| Command::Setup(Setup::ReviewChannel(c)));
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

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum MilestonePosts {
    #[name = "each: one post per milestone"]
    Each,
    #[name = "digest: listed in the digest only"]
    Digest,
}

/// Announce each milestone as it is reached, or list them in the digest only.
#[poise::command(slash_command, rename = "milestones")]
pub async fn setup_milestones(
    ctx: Ctx<'_>,
    #[description = "How milestones are posted"] posts: MilestonePosts,
) -> CommandResult {
    let digest_only = matches!(posts, MilestonePosts::Digest);
    run(
        ctx,
        Ok(Command::Setup(Setup::MilestonesInDigestOnly(digest_only))),
    )
    .await
}

// Discord's bounds below are hints its client applies; the core's types check
// the number that arrives, as they check typed text (a test keeps the two equal).

/// When pairing rounds run.
#[poise::command(slash_command, rename = "pairing")]
pub async fn setup_pairing(
    ctx: Ctx<'_>,
    #[description = "weekly mon 09:00, fortnightly mon 09:00, monthly 1 09:00, or off"]
    #[max_length = 30]
    schedule: String,
) -> CommandResult {
    run(
        ctx,
        ScheduleSpec::parse(&schedule).map(|s| Command::Setup(Setup::Pairing(s))),
    )
    .await
}

/// How many members a pairing round puts in a group.
#[poise::command(slash_command, rename = "pairing-size")]
pub async fn setup_pairing_size(
    ctx: Ctx<'_>,
    #[description = "Members per group, 2 to 6"]
    #[min = 2]
    #[max = 6]
    size: i64,
) -> CommandResult {
    let size = PairingSize::new(size).map(|s| Command::Setup(Setup::PairingSize(s)));
    run(ctx, size).await
}

/// The channel where introductions are made as private threads.
#[poise::command(slash_command, rename = "pairing-channel")]
pub async fn setup_pairing_channel(
    ctx: Ctx<'_>,
    #[description = "The channel"]
    #[channel_types("Text")]
    channel: ChannelId,
) -> CommandResult {
    let command = PlatformRef::parse(&format!("<#{channel}>"))
        .map(|c| Command::Setup(Setup::PairingChannel(c)));
    run(ctx, command).await
}

/// After how many quiet days a member counts as inactive.
#[poise::command(slash_command, rename = "inactive-days")]
pub async fn setup_inactive_days(
    ctx: Ctx<'_>,
    #[description = "Days, 1 to 365"]
    #[min = 1]
    #[max = 365]
    days: i64,
) -> CommandResult {
    let days = InactiveDays::new(days).map(|d| Command::Setup(Setup::InactiveDays(d)));
    run(ctx, days).await
}

/// How many kudos a member may give over any 7 days.
#[poise::command(slash_command, rename = "kudos-per-week")]
pub async fn setup_kudos_per_week(
    ctx: Ctx<'_>,
    #[description = "Kudos, 1 to 1000"]
    #[min = 1]
    #[max = 1000]
    kudos: i64,
) -> CommandResult {
    let kudos = KudosPerWeek::new(kudos).map(|k| Command::Setup(Setup::KudosPerWeek(k)));
    run(ctx, kudos).await
}

/// Below what share of aligned contributions stats warn of mission drift.
#[poise::command(slash_command, rename = "alignment")]
pub async fn setup_alignment(
    ctx: Ctx<'_>,
    #[description = "Percent, 0 to 100"]
    #[min = 0]
    #[max = 100]
    percent: i64,
) -> CommandResult {
    let percent = Percent::new(percent).map(|p| Command::Setup(Setup::AlignmentThreshold(p)));
    run(ctx, percent).await
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

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::domain::command_table::TABLE;

    /// What Keel registers with Discord, as Discord receives it.
    fn registered() -> Vec<Value> {
        poise::builtins::create_application_commands(&all())
            .iter()
            .map(|c| serde_json::to_value(c).unwrap())
            .collect()
    }

    /// Each runnable command's qualified name and its options.
    fn leaves(command: &Value, parent: &str, out: &mut Vec<(String, Value)>) {
        let name = format!("{parent} {}", command["name"].as_str().unwrap())
            .trim()
            .to_string();
        let options = command["options"].as_array().cloned().unwrap_or_default();
        // Option types 1 and 2 are a subcommand and a group of them.
        let subs: Vec<&Value> = options
            .iter()
            .filter(|o| matches!(o["type"].as_u64(), Some(1 | 2)))
            .collect();
        if subs.is_empty() {
            out.push((name, Value::Array(options)));
        } else {
            for sub in subs {
                leaves(sub, &name, out);
            }
        }
    }

    fn option<'a>(leaf: &'a [(String, Value)], command: &str, name: &str) -> &'a Value {
        let (_, options) = leaf.iter().find(|(n, _)| n == command).unwrap();
        options
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == name)
            .unwrap_or_else(|| panic!("/{command} has no option {name}"))
    }

    #[test]
    fn every_table_entry_is_a_discord_command_with_the_same_organiser_rule() {
        let registered = registered();
        let mut leaf = Vec::new();
        for command in &registered {
            leaves(command, "", &mut leaf);
        }
        let names: Vec<&str> = leaf.iter().map(|(n, _)| n.as_str()).collect();
        for entry in TABLE {
            assert!(
                names.contains(&entry.discord),
                "`{}` names /{}, which Keel does not register ({names:?})",
                entry.name,
                entry.discord
            );
        }
        for name in &names {
            assert!(
                TABLE.iter().any(|e| e.discord == *name),
                "/{name} offers no command of the table"
            );
        }
        // Discord hides a top-level command from members (Manage Server, bit 5)
        // exactly when every entry under it is for organisers.
        for command in &registered {
            let top = command["name"].as_str().unwrap();
            let under: Vec<_> = TABLE
                .iter()
                .filter(|e| e.discord == top || e.discord.starts_with(&format!("{top} ")))
                .collect();
            let hidden = command["default_member_permissions"] == "32";
            assert_eq!(
                hidden,
                under.iter().all(|e| e.organisers_only()),
                "/{top}: {:?}",
                under.iter().map(|e| (e.name, e.access)).collect::<Vec<_>>()
            );
        }
        assert_eq!(
            registered.iter().find(|c| c["name"] == "setup").unwrap()["default_member_permissions"],
            "32"
        );
        assert!(names.contains(&"setup milestones"));
    }

    #[test]
    fn discords_number_bounds_are_the_cores() {
        let mut leaf = Vec::new();
        for command in &registered() {
            leaves(command, "", &mut leaf);
        }
        for (command, name, min, max) in [
            (
                "setup inactive-days",
                "days",
                InactiveDays::MIN,
                InactiveDays::MAX,
            ),
            (
                "setup kudos-per-week",
                "kudos",
                KudosPerWeek::MIN,
                KudosPerWeek::MAX,
            ),
            ("setup alignment", "percent", Percent::MIN, Percent::MAX),
            ("health", "page", PageNumber::MIN, PageNumber::MAX),
            ("event create", "capacity", Capacity::MIN, Capacity::MAX),
        ] {
            let option = option(&leaf, command, name);
            assert_eq!(
                option["min_value"].as_f64(),
                Some(f64::from(min)),
                "/{command}"
            );
            assert_eq!(
                option["max_value"].as_f64(),
                Some(f64::from(max)),
                "/{command}"
            );
        }
    }
}
