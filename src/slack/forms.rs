//! Forms where they read better than a command line: `/keel contribute` and
//! `/keel goal create` with no text open a modal; its submission becomes the same
//! core command the text would have made, checked by the same value types.

use serde_json::{Value, json};

use crate::domain::UserError;
use crate::domain::command::{Command, GoalCaps, NewContribution, NewGoal};
use crate::domain::text::{Amount, Description, Slug, Title, Unit, ValueName};

pub const CONTRIBUTE: &str = "keel_contribute";
pub const GOAL_CREATE: &str = "keel_goal_create";

fn plain(text: &str) -> Value {
    json!({"type": "plain_text", "text": text})
}

fn input(block_id: &str, label: &str, element: Value, optional: bool) -> Value {
    json!({"type": "input", "block_id": block_id, "label": plain(label), "optional": optional, "element": element})
}

fn text_input(max: usize, multiline: bool, placeholder: &str) -> Value {
    json!({"type": "plain_text_input", "action_id": "value", "max_length": max, "multiline": multiline,
           "placeholder": plain(placeholder)})
}

fn select(options: &[(String, String)], placeholder: &str) -> Value {
    let options: Vec<Value> = options
        .iter()
        .take(100)
        .map(|(value, text)| json!({"text": plain(&crate::slack::render::truncate(text, 75)), "value": value}))
        .collect();
    json!({"type": "static_select", "action_id": "value", "placeholder": plain(placeholder), "options": options})
}

fn modal(callback: &str, title: &str, submit: &str, channel: &str, blocks: Vec<Value>) -> Value {
    json!({"type": "modal", "callback_id": callback, "title": plain(title), "submit": plain(submit),
           "close": plain("Cancel"), "private_metadata": channel, "blocks": blocks})
}

/// The contribution form. `goals` are (slug, title) of open goals; `values` the mission's.
pub fn contribute(channel: &str, goals: &[(String, String)], values: &[String]) -> Value {
    let mut blocks = vec![
        input(
            "description",
            "What did you do?",
            text_input(
                Description::MAX_CHARS,
                true,
                "Planted 40 oaks in Riverside park",
            ),
            false,
        ),
        input("amount", "Amount", text_input(20, false, "40"), true),
        input(
            "unit",
            "Unit",
            text_input(Unit::MAX_CHARS, false, "trees, hours, euros"),
            true,
        ),
    ];
    if !goals.is_empty() {
        blocks.push(input(
            "goal",
            "Towards a goal",
            select(goals, "Pick a goal"),
            true,
        ));
    }
    if !values.is_empty() {
        let options: Vec<(String, String)> =
            values.iter().map(|v| (v.clone(), v.clone())).collect();
        blocks.push(input(
            "value",
            "Reflecting a value",
            select(&options, "Pick a value"),
            true,
        ));
    }
    blocks.push(input(
        "date",
        "When",
        json!({"type": "datepicker", "action_id": "value"}),
        true,
    ));
    modal(CONTRIBUTE, "Log a contribution", "Log it", channel, blocks)
}

/// The goal form.
pub fn goal_create(channel: &str) -> Value {
    let blocks = vec![
        input(
            "title",
            "Goal",
            text_input(Title::MAX_CHARS, false, "Plant 1000 trees"),
            false,
        ),
        input("target", "Target", text_input(20, false, "1000"), false),
        input(
            "unit",
            "Unit",
            text_input(Unit::MAX_CHARS, false, "trees"),
            true,
        ),
        input(
            "slug",
            "Short name",
            text_input(Slug::MAX_CHARS, false, "trees"),
            true,
        ),
        input(
            "deadline",
            "Deadline",
            json!({"type": "datepicker", "action_id": "value"}),
            true,
        ),
    ];
    modal(GOAL_CREATE, "Create a goal", "Create", channel, blocks)
}

/// A field's submitted value: typed text, a chosen option or a date.
fn field(state: &Value, block: &str) -> Option<String> {
    let v = &state[block]["value"];
    let text = v["value"]
        .as_str()
        .or_else(|| v["selected_option"]["value"].as_str())
        .or_else(|| v["selected_date"].as_str())?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// A submission's command, or the block to show an error under and the error.
pub fn command(
    callback: &str,
    state: &Value,
) -> Option<Result<Command, (&'static str, UserError)>> {
    let date = |block: &'static str, raw: Option<String>| {
        raw.map(|d| {
            chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| {
                (
                    block,
                    UserError::invalid("That is not a date.", "Pick one."),
                )
            })
        })
        .transpose()
    };
    let parsed = match callback {
        CONTRIBUTE => (|| {
            Ok(Command::Contribute(NewContribution {
                description: Description::parse(&field(state, "description").unwrap_or_default())
                    .map_err(|e| ("description", e))?,
                amount: field(state, "amount")
                    .map(|a| Amount::parse("amount", &a))
                    .transpose()
                    .map_err(|e| ("amount", e))?,
                unit: field(state, "unit")
                    .map(|u| Unit::parse(&u))
                    .transpose()
                    .map_err(|e| ("unit", e))?,
                goal: field(state, "goal")
                    .map(|g| Slug::parse(&g))
                    .transpose()
                    .map_err(|e| ("goal", e))?,
                value: field(state, "value")
                    .map(|v| ValueName::parse(&v))
                    .transpose()
                    .map_err(|e| ("value", e))?,
                day: date("date", field(state, "date"))?,
            }))
        })(),
        GOAL_CREATE => (|| {
            Ok(Command::GoalCreate(NewGoal {
                title: Title::parse(&field(state, "title").unwrap_or_default())
                    .map_err(|e| ("title", e))?,
                target: Amount::parse("target", &field(state, "target").unwrap_or_default())
                    .map_err(|e| ("target", e))?,
                unit: field(state, "unit")
                    .map(|u| Unit::parse(&u))
                    .transpose()
                    .map_err(|e| ("unit", e))?,
                slug: field(state, "slug")
                    .map(|s| Slug::parse(&s))
                    .transpose()
                    .map_err(|e| ("slug", e))?,
                deadline: date("deadline", field(state, "deadline"))?,
                // The form keeps to the common fields; caps are typed:
                // `/keel goal create … max=100 review_above=50`.
                caps: GoalCaps::default(),
            }))
        })(),
        _ => return None,
    };
    Some(parsed)
}

/// Which form field an error from the core belongs under.
pub fn block_for(callback: &str, error: &UserError) -> &'static str {
    let text = error.to_string().to_lowercase();
    match callback {
        CONTRIBUTE if text.contains("goal") => "goal",
        CONTRIBUTE if text.contains("value") => "value",
        CONTRIBUTE if text.contains("days ago") || text.contains("future") => "date",
        CONTRIBUTE if text.contains("unit") || text.contains("counts") => "unit",
        CONTRIBUTE => "description",
        _ if text.contains("slug") => "slug",
        _ if text.contains("deadline") => "deadline",
        _ => "title",
    }
}
