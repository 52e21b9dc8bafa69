//! Forms where they read better than a command line: `/keel contribute` and
//! `/keel goal create` with no text open a modal, and so does the message
//! shortcut "Log as contribution" (prefilled from the message); its submission
//! becomes the same core command the text would have made, checked by the same
//! value types.

use serde_json::{Value, json};

use crate::domain::command::{Command, GoalCaps, NewContribution, NewGoal};
use crate::domain::text::{Amount, Description, Reason, Slug, Title, Unit, ValueName};
use crate::domain::{ContributionId, MemberRef, UserError};

pub const CONTRIBUTE: &str = "keel_contribute";
pub const GOAL_CREATE: &str = "keel_goal_create";
/// The contribution form opened from a message: the contribution is its author's.
pub const CONTRIBUTE_FOR: &str = "keel_contribute_for";
/// The form a review request's Reject button opens, asking why.
pub const REVIEW_REJECT: &str = "keel_review_reject";

/// What a form carries from where it was opened to its submission (its
/// `private_metadata`, which Slack keeps and the member cannot change): the
/// channel to confirm in; for a message logged as a contribution, its author; for
/// a review request's Reject, the contribution.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Metadata {
    pub channel: String,
    pub author: Option<String>,
    pub contribution: Option<ContributionId>,
}

impl Metadata {
    /// The channel alone is written as it is; with more, as JSON.
    pub fn write(&self) -> String {
        if self.author.is_none() && self.contribution.is_none() {
            return self.channel.clone();
        }
        json!({"channel": self.channel, "author": self.author,
               "contribution": self.contribution.map(|c| c.0)})
        .to_string()
    }

    pub fn read(raw: &str) -> Metadata {
        match serde_json::from_str::<Value>(raw) {
            Ok(v) if v.is_object() => Metadata {
                channel: v["channel"].as_str().unwrap_or_default().to_string(),
                author: v["author"].as_str().map(str::to_string),
                contribution: v["contribution"].as_i64().map(ContributionId),
            },
            _ => Metadata {
                channel: raw.to_string(),
                ..Metadata::default()
            },
        }
    }
}

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
    let blocks = contribution_blocks(None, goals, values);
    modal(CONTRIBUTE, "Log a contribution", "Log it", channel, blocks)
}

/// The contribution form for `author`'s message, its description prefilled from
/// `text` (which the member may change).
pub fn contribute_for(
    channel: &str,
    author: &str,
    text: &str,
    goals: &[(String, String)],
    values: &[String],
) -> Value {
    let mut blocks = vec![json!({"type": "context", "elements": [{"type": "mrkdwn",
        "text": format!("From <@{author}>'s message; the contribution is theirs. Organisers may log anyone's message, and its author is told.")}]})];
    blocks.extend(contribution_blocks(Some(text), goals, values));
    let metadata = Metadata {
        channel: channel.to_string(),
        author: Some(author.to_string()),
        contribution: None,
    };
    modal(
        CONTRIBUTE_FOR,
        "Log a contribution",
        "Log it",
        &metadata.write(),
        blocks,
    )
}

fn contribution_blocks(
    description: Option<&str>,
    goals: &[(String, String)],
    values: &[String],
) -> Vec<Value> {
    let mut what = text_input(
        Description::MAX_CHARS,
        true,
        "Planted 40 oaks in Riverside park",
    );
    if let Some(text) = description.filter(|t| !t.is_empty()) {
        what["initial_value"] = json!(text);
    }
    let mut blocks = vec![
        input("description", "What did you do?", what, false),
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
    blocks
}

/// The form that asks why contribution `id` is rejected.
pub fn review_reject(channel: &str, id: ContributionId) -> Value {
    let metadata = Metadata {
        channel: channel.to_string(),
        author: None,
        contribution: Some(id),
    };
    let blocks = vec![input(
        "reason",
        "Why not? Its member is told.",
        text_input(
            Reason::MAX_CHARS,
            true,
            "Not a tree: log it under the workshop goal",
        ),
        false,
    )];
    modal(
        REVIEW_REJECT,
        &format!("Reject #{id}"),
        "Reject",
        &metadata.write(),
        blocks,
    )
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
    metadata: &Metadata,
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
    let new_contribution = || -> Result<NewContribution, (&'static str, UserError)> {
        Ok(NewContribution {
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
        })
    };
    let parsed = match callback {
        CONTRIBUTE => new_contribution().map(Command::Contribute),
        CONTRIBUTE_FOR => match &metadata.author {
            Some(author) => new_contribution().map(|new| Command::ContributeFor {
                // Named by the adapter before it runs (see shortcuts::name_author).
                author: MemberRef::PlatformUser {
                    id: author.clone(),
                    name: None,
                },
                new,
            }),
            None => Err((
                "description",
                UserError::invalid(
                    "This form no longer says whose message it logs.",
                    "Open it again from the message's menu: Log as contribution.",
                ),
            )),
        },
        REVIEW_REJECT => match metadata.contribution {
            Some(id) => Reason::parse(&field(state, "reason").unwrap_or_default())
                .map(|reason| Command::ReviewReject { id, reason })
                .map_err(|e| ("reason", e)),
            None => Err((
                "reason",
                UserError::invalid(
                    "This form no longer says which contribution it rejects.",
                    "Press Reject on the review request again, or type `/keel review reject #id reason=\"…\"`.",
                ),
            )),
        },
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
        CONTRIBUTE | CONTRIBUTE_FOR if text.contains("goal") => "goal",
        CONTRIBUTE | CONTRIBUTE_FOR if text.contains("value") => "value",
        CONTRIBUTE | CONTRIBUTE_FOR if text.contains("days ago") || text.contains("future") => {
            "date"
        }
        CONTRIBUTE | CONTRIBUTE_FOR if text.contains("unit") || text.contains("counts") => "unit",
        CONTRIBUTE | CONTRIBUTE_FOR => "description",
        REVIEW_REJECT => "reason",
        _ if text.contains("slug") => "slug",
        _ if text.contains("deadline") => "deadline",
        _ => "title",
    }
}
