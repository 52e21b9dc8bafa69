//! Replies as Discord embeds. User text is escaped so it cannot format or link;
//! nothing Keel sends parses mentions (D6); times are Discord timestamps, shown in
//! each reader's own time zone; every limit (D7) is kept by splitting on line and
//! character boundaries, never by sending something Discord would refuse.

use serenity::all::{CreateAllowedMentions, CreateEmbed, CreateEmbedFooter};

use crate::domain::reply::{Line, Reply, Span};

/// Discord's limits (RELIABILITY.md D7).
pub const MESSAGE_CHARS: usize = 2000;
pub const TITLE_CHARS: usize = 256;
pub const DESCRIPTION_CHARS: usize = 4096;
pub const FIELD_NAME_CHARS: usize = 256;
pub const FIELD_VALUE_CHARS: usize = 1024;
pub const FIELDS: usize = 25;
pub const EMBED_TOTAL_CHARS: usize = 6000;
pub const EMBEDS_PER_MESSAGE: usize = 10;

/// Keel's colour on embeds.
const COLOUR: u32 = 0x2f6f62;

/// Mentions parse nothing: no `@everyone`, `@here`, role or user ever pings.
pub fn no_mentions() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
}

/// One embed's parts, counted before they become a `CreateEmbed`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub title: Option<String>,
    pub description: String,
    pub fields: Vec<(String, String)>,
    pub footer: Option<String>,
}

impl Page {
    pub fn chars(&self) -> usize {
        self.title.as_deref().map_or(0, count)
            + count(&self.description)
            + self
                .fields
                .iter()
                .map(|(n, v)| count(n) + count(v))
                .sum::<usize>()
            + self.footer.as_deref().map_or(0, count)
    }

    pub fn embed(&self) -> CreateEmbed {
        let mut embed = CreateEmbed::new().colour(COLOUR);
        if let Some(title) = &self.title {
            embed = embed.title(title);
        }
        if !self.description.is_empty() {
            embed = embed.description(&self.description);
        }
        for (name, value) in &self.fields {
            embed = embed.field(name, value, true);
        }
        if let Some(footer) = &self.footer {
            embed = embed.footer(CreateEmbedFooter::new(footer));
        }
        embed
    }
}

/// The reply as embeds, one per message, each within every limit. Most replies
/// are one page; a long list continues on the next.
pub fn pages(reply: &Reply) -> Vec<Page> {
    let title = reply
        .title
        .as_deref()
        .map(|t| truncate(&escape(t), TITLE_CHARS));
    let lines: Vec<String> = reply.lines.iter().map(line).collect();
    // Leave room in each embed for the title and a few fields.
    let budget = DESCRIPTION_CHARS.min(EMBED_TOTAL_CHARS - TITLE_CHARS - 1500);
    let descriptions = pack_lines(&lines, budget);
    let mut pages: Vec<Page> = descriptions
        .into_iter()
        .map(|description| Page {
            title: None,
            description,
            ..Page::default()
        })
        .collect();
    if pages.is_empty() {
        pages.push(Page::default());
    }
    pages[0].title = title;
    for field in &reply.fields {
        let name = truncate(&escape(&field.name), FIELD_NAME_CHARS);
        let name = if name.is_empty() {
            "\u{200b}".into()
        } else {
            name
        };
        let value = truncate(&line(&field.value), FIELD_VALUE_CHARS);
        let value = if value.is_empty() {
            "–".into()
        } else {
            value
        };
        let last = pages.last_mut().expect("at least one page");
        if last.fields.len() >= FIELDS
            || last.chars() + count(&name) + count(&value) > EMBED_TOTAL_CHARS - 100
        {
            pages.push(Page::default());
        }
        pages
            .last_mut()
            .expect("at least one page")
            .fields
            .push((name, value));
    }
    let total = pages.len();
    if total > 1 {
        for (i, page) in pages.iter_mut().enumerate() {
            page.footer = Some(format!("{} of {total}", i + 1));
        }
    }
    pages
}

/// Groups lines into descriptions of at most `budget` characters, breaking a line
/// that is longer than that on a character boundary.
fn pack_lines(lines: &[String], budget: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in lines {
        for piece in split_chars(line, budget) {
            let needed = count(&current) + usize::from(!current.is_empty()) + count(&piece);
            if needed > budget && !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push('\n');
            }
            current.push_str(&piece);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// `s` in pieces of at most `max` characters.
fn split_chars(s: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars.chunks(max).map(|c| c.iter().collect()).collect()
}

/// Characters as Discord counts them (Unicode scalar values).
fn count(s: &str) -> usize {
    s.chars().count()
}

/// At most `max` characters, ending in "…" when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if count(s) <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    // Never leave a dangling escape backslash before the ellipsis.
    if out.ends_with('\\') && !out.ends_with("\\\\") {
        out.pop();
    }
    out.push('…');
    out
}

/// One line as Discord markdown.
pub fn line(line: &Line) -> String {
    line.0
        .iter()
        .map(|span| match span {
            Span::Text(s) | Span::Member { name: s, .. } => escape(s),
            Span::Strong(s) if s.trim().is_empty() => escape(s),
            Span::Strong(s) => format!("**{}**", escape(s)),
            Span::Code(s) => format!("`{}`", s.replace('`', "ˋ")),
            Span::Time(t) => format!("<t:{}:f>", t.timestamp()),
            Span::Day(d) => Line::written_day(*d),
        })
        .collect()
}

/// An error for the member who caused it, as message content.
pub fn error(message: &str) -> String {
    truncate(&format!("⚠️ {}", escape(message)), MESSAGE_CHARS)
}

/// Escapes Discord markdown, mention and link syntax, so user text shows as typed.
/// A backslash before any punctuation is shown as that punctuation alone.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '*'
                | '_'
                | '~'
                | '`'
                | '|'
                | '>'
                | '<'
                | '@'
                | '#'
                | '['
                | ']'
                | '('
                | ')'
                | '-'
                | ':'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::reply::Reply;

    #[test]
    fn user_text_cannot_format_link_or_mention() {
        let text = escape("@everyone <@123> **bold** [x](http://e.vil) `code`");
        assert_eq!(
            text,
            "\\@everyone \\<\\@123\\> \\*\\*bold\\*\\* \\[x\\]\\(http\\://e.vil\\) \\`code\\`"
        );
    }

    #[test]
    fn long_replies_split_within_every_limit() {
        let mut reply = Reply::public("t".repeat(400));
        for i in 0..300 {
            reply = reply.line(format!("line {i} {}", "é".repeat(60)));
        }
        for i in 0..40 {
            reply = reply.field(format!("field {i}"), "v".repeat(2000));
        }
        let pages = pages(&reply);
        assert!(pages.len() > 3, "{}", pages.len());
        for page in &pages {
            assert!(page.title.as_deref().map_or(0, count) <= TITLE_CHARS);
            assert!(count(&page.description) <= DESCRIPTION_CHARS);
            assert!(page.fields.len() <= FIELDS);
            assert!(
                page.fields
                    .iter()
                    .all(|(n, v)| count(n) <= FIELD_NAME_CHARS && count(v) <= FIELD_VALUE_CHARS)
            );
            assert!(page.chars() <= EMBED_TOTAL_CHARS, "{}", page.chars());
        }
        let shown: usize = pages
            .iter()
            .map(|p| p.description.matches("line ").count())
            .sum();
        assert_eq!(shown, 300, "every line is on some page");
        let fields: usize = pages.iter().map(|p| p.fields.len()).sum();
        assert_eq!(fields, 40);
    }

    #[test]
    fn a_single_huge_line_breaks_on_character_boundaries() {
        let reply = Reply::public("x").line("🌳".repeat(10_000));
        let pages = pages(&reply);
        let trees: usize = pages.iter().map(|p| p.description.chars().count()).sum();
        assert_eq!(trees, 10_000);
        assert!(
            pages
                .iter()
                .all(|p| count(&p.description) <= DESCRIPTION_CHARS)
        );
        assert!(count(&error(&"x".repeat(5000))) <= MESSAGE_CHARS);
    }
}
