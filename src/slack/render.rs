//! Replies as Slack Block Kit. User text is escaped (`&`, `<`, `>`), so
//! `<!channel>`, `<!here>` and `<!subteam^…>` never notify anyone (S11); section
//! text stays within Slack's 3000 characters; times are Slack date tokens, shown in
//! each reader's own time zone, and calendar days are written out as they are.

use serde_json::{Value, json};
use slack_morphism::prelude::{SlackBlock, SlackMessageContent};

use crate::domain::reply::{Button, Line, Reply, Span};

/// Slack's limit on a section's text.
pub const SECTION_MAX: usize = 3000;
/// Slack's limit on blocks per message.
const MAX_BLOCKS: usize = 50;
/// The block a message's buttons are in.
pub const ACTIONS_BLOCK: &str = "keel_actions";

/// Escapes the three characters Slack gives meaning to in text.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn mrkdwn(line: &Line) -> String {
    line.0
        .iter()
        .map(|span| match span {
            Span::Text(s) | Span::Member { name: s, .. } => escape(s),
            Span::Strong(s) => format!("*{}*", escape(s).replace('*', "∗")),
            Span::Code(s) => format!("`{}`", escape(s).replace('`', "'")),
            Span::Time(t) => format!(
                "<!date^{}^{{date_short_pretty}} {{time}}|{}>",
                t.timestamp(),
                t.format("%Y-%m-%d %H:%M UTC")
            ),
            // A calendar day, not a moment: a date token would move it to the next
            // day for readers east of UTC+12 (New Zealand in summer).
            Span::Day(d) => Line::written_day(*d),
        })
        .collect()
}

/// Cuts text to at most `max` characters, on a character boundary, marking the cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let kept: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

pub fn section(text: String) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

/// The reply's blocks: a title, its lines in sections of at most 3000 characters,
/// then its fields, ten to a section.
pub fn blocks(reply: &Reply) -> Vec<Value> {
    let mut blocks = Vec::new();
    if let Some(title) = &reply.title {
        blocks.push(section(truncate(
            &format!("*{}*", escape(title)),
            SECTION_MAX,
        )));
    }
    let mut current = String::new();
    for line in &reply.lines {
        let text = truncate(&mrkdwn(line), SECTION_MAX);
        if !current.is_empty() && current.chars().count() + 1 + text.chars().count() > SECTION_MAX {
            blocks.push(section(std::mem::take(&mut current)));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&text);
    }
    if !current.is_empty() {
        blocks.push(section(current));
    }
    for chunk in reply.fields.chunks(10) {
        let fields: Vec<Value> = chunk
            .iter()
            .map(|f| {
                let text = format!("*{}*\n{}", escape(&f.name), mrkdwn(&f.value));
                json!({"type": "mrkdwn", "text": truncate(&text, 2000)})
            })
            .collect();
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    let room = if reply.buttons.is_empty() {
        MAX_BLOCKS
    } else {
        MAX_BLOCKS - 1
    };
    if blocks.len() > room {
        blocks.truncate(room - 1);
        blocks.push(section("…and more than fits in one message.".into()));
    }
    if !reply.buttons.is_empty() {
        blocks.push(actions(&reply.buttons));
    }
    blocks
}

/// The buttons, each named by its press ([`crate::domain::reply::Press::key`]) as its action id and
/// value, which `interactions` reads back.
fn actions(buttons: &[Button]) -> Value {
    let elements: Vec<Value> = buttons
        .iter()
        .map(|b| {
            let key = b.press.key();
            json!({"type": "button", "action_id": key, "value": key,
                   "text": {"type": "plain_text", "text": truncate(&b.label, 75)},
                   "style": if b.danger { "danger" } else { "primary" }})
        })
        .collect();
    json!({"type": "actions", "block_id": ACTIONS_BLOCK, "elements": elements})
}

/// Plain fallback text for notifications and screen readers.
pub fn fallback(reply: &Reply) -> String {
    truncate(
        &escape(&reply.title.clone().unwrap_or_else(|| reply.plain())),
        SECTION_MAX,
    )
}

/// A slash-command response or response_url message.
pub fn message(reply: &Reply) -> Value {
    json!({
        "response_type": if reply.is_private() { "ephemeral" } else { "in_channel" },
        "text": fallback(reply),
        "blocks": blocks(reply),
    })
}

/// A rendered message as slack-morphism content for the Web API. Blocks built
/// here always parse; if one ever did not, the plain text still goes out.
pub fn content(message: &Value) -> SlackMessageContent {
    let text = message["text"].as_str().unwrap_or_default().to_string();
    match serde_json::from_value::<Vec<SlackBlock>>(message["blocks"].clone()) {
        Ok(blocks) => SlackMessageContent::new()
            .with_text(text)
            .with_blocks(blocks),
        Err(e) => {
            tracing::warn!(error = %e, "blocks did not parse; sending text only");
            SlackMessageContent::new().with_text(text)
        }
    }
}

/// An error, privately.
pub fn error(text: &str) -> Value {
    json!({
        "response_type": "ephemeral",
        "text": truncate(&escape(text), SECTION_MAX),
        "blocks": [section(truncate(&format!("⚠️ {}", escape(text)), SECTION_MAX))],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_are_an_actions_block_that_slack_morphism_reads() {
        use crate::domain::ContributionId;
        use crate::domain::reply::Press;
        let id = ContributionId(3);
        let reply = Reply::public("Contribution #3 waits for review")
            .button("Approve", Press::Approve(id), false)
            .button("Reject…", Press::Reject(id), true);
        let rendered = message(&reply);
        let actions = rendered["blocks"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(actions["type"], "actions");
        assert_eq!(actions["elements"][0]["value"], "review-approve:3");
        assert_eq!(actions["elements"][1]["style"], "danger");
        let parsed = serde_json::from_value::<Vec<SlackBlock>>(rendered["blocks"].clone());
        assert!(parsed.is_ok(), "{parsed:?}");
        // A reply too long for one message keeps its buttons.
        let mut long = reply.clone();
        for i in 0..200 {
            long = long.line("x".repeat(2900) + &i.to_string());
        }
        let blocks = blocks(&long);
        assert_eq!(blocks.len(), MAX_BLOCKS);
        assert_eq!(blocks.last().unwrap()["type"], "actions");
    }

    #[test]
    fn mentions_in_user_text_are_neutralised() {
        let reply = Reply::public("Hi <!channel>")
            .line(Line::new().text("<!here> & <!subteam^S1|team> <@U1>"));
        let json = message(&reply).to_string();
        assert!(
            !json.contains("<!channel>")
                && !json.contains("<!here>")
                && !json.contains("<!subteam"),
            "{json}"
        );
        assert!(!json.contains("<@U1>"), "{json}");
        assert!(
            json.contains("&lt;!here&gt; &amp; &lt;!subteam^S1|team&gt;"),
            "{json}"
        );
        assert!(json.contains("\"response_type\":\"in_channel\""));
    }

    #[test]
    fn long_text_is_split_on_character_boundaries() {
        let long = "é".repeat(5000);
        let reply = Reply::private("t")
            .line(Line::new().text(long.clone()))
            .line(Line::new().text("next"));
        for block in blocks(&reply) {
            if let Some(text) = block["text"]["text"].as_str() {
                assert!(text.chars().count() <= SECTION_MAX);
            }
        }
        assert_eq!(message(&reply)["response_type"], "ephemeral");
    }

    #[test]
    fn times_are_date_tokens_and_days_are_days() {
        let t = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let text = mrkdwn(&Line::new().time(t));
        assert!(text.starts_with("<!date^1700000000^"), "{text}");
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(mrkdwn(&Line::new().day(day)), "1 Dec 2026");
    }
}
