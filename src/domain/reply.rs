//! Platform-neutral replies. The core says *what* to show; each adapter decides how
//! (console text, Discord embed, Slack Block Kit) and escapes user text for its
//! platform, so nothing a member typed can ping anyone.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Who may see a reply. Personal stats, health and every error are private.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Visibility {
    Private,
    Public,
}

/// One piece of a line. Adapters render times in the reader's own time zone
/// (Discord timestamps, Slack date tokens), and escape `Text` for their platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Span {
    /// Plain text, possibly typed by a user: always escaped when rendered.
    Text(String),
    /// Emphasised text (a name, a figure).
    Strong(String),
    /// Literal command syntax, shown as code.
    Code(String),
    /// A moment, shown in the reader's time zone.
    Time(DateTime<Utc>),
    /// A calendar day.
    Day(NaiveDate),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Line(pub Vec<Span>);

impl Line {
    pub fn new() -> Self {
        Line(Vec::new())
    }
    pub fn text(mut self, s: impl Into<String>) -> Self {
        self.0.push(Span::Text(s.into()));
        self
    }
    pub fn strong(mut self, s: impl Into<String>) -> Self {
        self.0.push(Span::Strong(s.into()));
        self
    }
    pub fn code(mut self, s: impl Into<String>) -> Self {
        self.0.push(Span::Code(s.into()));
        self
    }
    pub fn time(mut self, t: DateTime<Utc>) -> Self {
        self.0.push(Span::Time(t));
        self
    }
    pub fn day(mut self, d: NaiveDate) -> Self {
        self.0.push(Span::Day(d));
        self
    }
    /// A calendar day as chat platforms show it (1 Dec 2026): the same for every
    /// reader, unlike a moment, which each sees in their own time zone.
    pub fn written_day(d: NaiveDate) -> String {
        d.format("%-d %b %Y").to_string()
    }

    /// The line as plain text with UTC times: for logs, tests and the console.
    pub fn plain(&self) -> String {
        self.0
            .iter()
            .map(|span| match span {
                Span::Text(s) | Span::Strong(s) | Span::Code(s) => s.clone(),
                Span::Time(t) => t.format("%Y-%m-%d %H:%M UTC").to_string(),
                Span::Day(d) => d.format("%Y-%m-%d").to_string(),
            })
            .collect()
    }
}

impl From<&str> for Line {
    fn from(s: &str) -> Self {
        Line::new().text(s)
    }
}

impl From<String> for Line {
    fn from(s: String) -> Self {
        Line::new().text(s)
    }
}

/// A labelled figure, shown side by side where the platform allows (embed fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub value: Line,
}

/// A file that goes with a reply: an export, a chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub filename: String,
    pub media_type: String,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub visibility: Visibility,
    pub title: Option<String>,
    pub lines: Vec<Line>,
    pub fields: Vec<Field>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

impl Reply {
    pub fn public(title: impl Into<String>) -> Self {
        Reply {
            visibility: Visibility::Public,
            title: Some(title.into()),
            lines: Vec::new(),
            fields: Vec::new(),
            attachments: Vec::new(),
        }
    }
    pub fn private(title: impl Into<String>) -> Self {
        Reply {
            visibility: Visibility::Private,
            ..Reply::public(title)
        }
    }
    pub fn line(mut self, line: impl Into<Line>) -> Self {
        self.lines.push(line.into());
        self
    }
    pub fn field(mut self, name: impl Into<String>, value: impl Into<Line>) -> Self {
        self.fields.push(Field {
            name: name.into(),
            value: value.into(),
        });
        self
    }
    pub fn attach(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }
    pub fn is_private(&self) -> bool {
        self.visibility == Visibility::Private
    }
    /// Everything in the reply as plain text, one line per line or field.
    pub fn plain(&self) -> String {
        let mut out = Vec::new();
        if let Some(title) = &self.title {
            out.push(title.clone());
        }
        out.extend(self.lines.iter().map(Line::plain));
        out.extend(
            self.fields
                .iter()
                .map(|f| format!("{}: {}", f.name, f.value.plain())),
        );
        out.join("\n")
    }
}
