//! Replies as terminal text. Times are shown in UTC with the zone named.

use crate::domain::reply::{Line, Reply, Span};

fn line(line: &Line) -> String {
    line.0
        .iter()
        .map(|span| match span {
            Span::Text(s) | Span::Strong(s) | Span::Member { name: s, .. } => s.clone(),
            Span::Code(s) => format!("`{s}`"),
            Span::Time(t) => t.format("%Y-%m-%d %H:%M UTC").to_string(),
            Span::Day(d) => d.format("%Y-%m-%d").to_string(),
        })
        .collect()
}

/// A reply as lines of text: the title, its lines, then `  name: value` fields.
pub fn reply(reply: &Reply) -> String {
    let mut out = Vec::new();
    if let Some(title) = &reply.title {
        let private = if reply.is_private() {
            "  (only you see this)"
        } else {
            ""
        };
        out.push(format!("== {title} =={private}"));
    }
    out.extend(reply.lines.iter().map(line));
    out.extend(
        reply
            .fields
            .iter()
            .map(|f| format!("  {}: {}", f.name, line(&f.value))),
    );
    out.join("\n")
}
