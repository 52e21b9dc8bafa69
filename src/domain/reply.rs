//! Platform-neutral replies. The core says *what* to show; each adapter decides how
//! (console text, Discord embed, Slack Block Kit) and escapes user text for its
//! platform, so nothing a member typed can ping anyone.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::actor::{ContributionId, EventId, MemberId, PairingGroupId};
use super::events::Answer;

use crate::spool::Spool;

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
    /// A member, shown by the name they had when the line was written. Stored
    /// bodies are redacted by this id when the member is erased (R8), whatever
    /// they are called by then.
    Member { id: MemberId, name: String },
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
    pub fn member(mut self, id: MemberId, name: impl Into<String>) -> Self {
        self.0.push(Span::Member {
            id,
            name: name.into(),
        });
        self
    }
    /// This line followed by the spans of `more`.
    pub fn extend(mut self, more: Line) -> Self {
        self.0.extend(more.0);
        self
    }
    /// Whether the line names `member`.
    pub fn names(&self, member: MemberId) -> bool {
        self.0
            .iter()
            .any(|span| matches!(span, Span::Member { id, .. } if *id == member))
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
                Span::Member { name, .. } => name.clone(),
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

/// A file that goes with a reply: an export, a chart. `filename` and
/// `media_type` describe what members get; the body says where the bytes are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub filename: String,
    pub media_type: String,
    #[serde(skip)]
    pub body: Body,
}

/// Where an attachment's bytes are.
#[derive(Debug, Clone)]
pub enum Body {
    /// A small file made in memory (a chart).
    InMemory(Vec<u8>),
    /// A large file (an export), gzip-compressed in a private temporary file.
    /// Platforms receive it compressed, as `<filename>.gz`; the console saves it
    /// decompressed.
    Gzipped(Arc<Spool>),
}

impl Default for Body {
    fn default() -> Self {
        Body::InMemory(Vec::new())
    }
}

impl PartialEq for Body {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Body::InMemory(a), Body::InMemory(b)) => a == b,
            (Body::Gzipped(a), Body::Gzipped(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// What a gzipped attachment is uploaded as.
const GZIP_MEDIA_TYPE: &str = "application/gzip";

impl Attachment {
    pub fn in_memory(
        filename: impl Into<String>,
        media_type: impl Into<String>,
        bytes: Vec<u8>,
    ) -> Self {
        Attachment {
            filename: filename.into(),
            media_type: media_type.into(),
            body: Body::InMemory(bytes),
        }
    }

    pub fn gzipped(
        filename: impl Into<String>,
        media_type: impl Into<String>,
        spool: Spool,
    ) -> Self {
        Attachment {
            filename: filename.into(),
            media_type: media_type.into(),
            body: Body::Gzipped(Arc::new(spool)),
        }
    }

    /// The file's name as uploaded to a platform.
    pub fn upload_name(&self) -> String {
        match &self.body {
            Body::InMemory(_) => self.filename.clone(),
            Body::Gzipped(_) => format!("{}.gz", self.filename),
        }
    }

    /// The file's media type as uploaded to a platform.
    pub fn upload_media_type(&self) -> &str {
        match &self.body {
            Body::InMemory(_) => &self.media_type,
            Body::Gzipped(_) => GZIP_MEDIA_TYPE,
        }
    }

    /// The size of the upload, in bytes.
    pub fn upload_len(&self) -> u64 {
        match &self.body {
            Body::InMemory(bytes) => bytes.len() as u64,
            Body::Gzipped(spool) => spool.len(),
        }
    }

    /// The upload's bytes, whole, in memory: for clients that take only bytes.
    pub fn upload_bytes(&self) -> std::io::Result<Vec<u8>> {
        match &self.body {
            Body::InMemory(bytes) => Ok(bytes.clone()),
            Body::Gzipped(spool) => spool.compressed(),
        }
    }

    /// The contents as members read them (decompressed), whole, in memory: for
    /// tests and small files.
    pub fn contents(&self) -> std::io::Result<Vec<u8>> {
        match &self.body {
            Body::InMemory(bytes) => Ok(bytes.clone()),
            Body::Gzipped(spool) => {
                let mut out = Vec::new();
                spool.decompress_into(&mut out)?;
                Ok(out)
            }
        }
    }

    /// The contents if they are at most `max` bytes (to show a small file inline).
    pub fn contents_up_to(&self, max: usize) -> std::io::Result<Option<Vec<u8>>> {
        match &self.body {
            Body::InMemory(bytes) => Ok((bytes.len() <= max).then(|| bytes.clone())),
            Body::Gzipped(spool) => {
                let (start, whole) = spool.decompressed_start(max)?;
                Ok(whole.then_some(start))
            }
        }
    }

    /// Writes the contents as members read them (decompressed) into `out`.
    pub fn write_contents(&self, out: &mut impl std::io::Write) -> std::io::Result<u64> {
        match &self.body {
            Body::InMemory(bytes) => {
                out.write_all(bytes)?;
                Ok(bytes.len() as u64)
            }
            Body::Gzipped(spool) => spool.decompress_into(out),
        }
    }
}

/// What pressing a button under a message does, as whoever pressed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Press {
    /// `review approve #id`.
    Approve(ContributionId),
    /// `review reject #id`, once a form has asked for the reason.
    Reject(ContributionId),
    /// `pair met yes|no`, for the group the follow-up asked.
    Met(PairingGroupId, bool),
    /// `event rsvp #id yes|no|maybe`, from an event's card.
    Rsvp(EventId, Answer),
}

impl Press {
    /// How adapters name the press to their platform (a Slack action's value, a
    /// Discord component's custom id); [`Press::from_key`] reads it back.
    pub fn key(self) -> String {
        match self {
            Press::Approve(id) => format!("review-approve:{}", id.0),
            Press::Reject(id) => format!("review-reject:{}", id.0),
            Press::Met(group, met) => {
                format!("pair-met:{}:{}", group.0, if met { "yes" } else { "no" })
            }
            Press::Rsvp(id, answer) => format!("event-rsvp:{}:{answer}", id.0),
        }
    }

    pub fn from_key(key: &str) -> Option<Press> {
        let (verb, rest) = key.split_once(':')?;
        let id = |raw: &str| raw.parse::<i64>().ok().filter(|id| *id > 0);
        match verb {
            "review-approve" => Some(Press::Approve(ContributionId(id(rest)?))),
            "review-reject" => Some(Press::Reject(ContributionId(id(rest)?))),
            "event-rsvp" => {
                let (event, answer) = rest.split_once(':')?;
                Some(Press::Rsvp(EventId(id(event)?), Answer::from_db(answer)?))
            }
            "pair-met" => {
                let (group, met) = rest.split_once(':')?;
                let group = PairingGroupId(id(group)?);
                match met {
                    "yes" => Some(Press::Met(group, true)),
                    "no" => Some(Press::Met(group, false)),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// A button offered under a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Button {
    pub label: String,
    pub press: Press,
    /// Shown as a warning: it cannot be undone by pressing again.
    pub danger: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub visibility: Visibility,
    pub title: Option<String>,
    pub lines: Vec<Line>,
    pub fields: Vec<Field>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
}

impl Reply {
    pub fn public(title: impl Into<String>) -> Self {
        Reply {
            visibility: Visibility::Public,
            title: Some(title.into()),
            lines: Vec::new(),
            fields: Vec::new(),
            attachments: Vec::new(),
            buttons: Vec::new(),
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
    pub fn button(mut self, label: impl Into<String>, press: Press, danger: bool) -> Self {
        self.buttons.push(Button {
            label: label.into(),
            press,
            danger,
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
    /// The members its lines and fields name.
    pub fn members_named(&self) -> BTreeSet<MemberId> {
        self.lines
            .iter()
            .chain(self.fields.iter().map(|f| &f.value))
            .flat_map(|line| &line.0)
            .filter_map(|span| match span {
                Span::Member { id, .. } => Some(*id),
                _ => None,
            })
            .collect()
    }
    /// The reply without the lines and fields that name `member`.
    pub fn without_member(&self, member: MemberId) -> Reply {
        Reply {
            lines: self
                .lines
                .iter()
                .filter(|l| !l.names(member))
                .cloned()
                .collect(),
            fields: self
                .fields
                .iter()
                .filter(|f| !f.value.names(member))
                .cloned()
                .collect(),
            ..self.clone()
        }
    }
    /// Member references to `from` now refer to `into` (the two were merged).
    pub fn renumber_member(&mut self, from: MemberId, into: MemberId) {
        let lines = self
            .lines
            .iter_mut()
            .chain(self.fields.iter_mut().map(|f| &mut f.value));
        for span in lines.flat_map(|line| line.0.iter_mut()) {
            if let Span::Member { id, .. } = span
                && *id == from
            {
                *id = into;
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_is_shown_by_name_and_taken_out_by_id() {
        let (ann, bo) = (MemberId(1), MemberId(2));
        let reply = Reply::public("Digest")
            .line(
                Line::new()
                    .text("• ")
                    .member(ann, "Ann")
                    .text(" logged their first contribution!"),
            )
            .line(
                Line::new()
                    .text("• ")
                    .member(bo, "Bo")
                    .text(" logged their 10th contribution!"),
            )
            .line("The community reached 100 contributions!")
            .field("Top", Line::new().member(ann, "Ann"));
        assert_eq!(
            reply.lines[0].plain(),
            "• Ann logged their first contribution!"
        );
        assert_eq!(reply.members_named(), BTreeSet::from([ann, bo]));

        // Renamed since, or not: the id decides.
        let without = reply.without_member(ann);
        assert_eq!(
            without.plain(),
            "Digest\n• Bo logged their 10th contribution!\nThe community reached 100 contributions!"
        );
        assert_eq!(without.members_named(), BTreeSet::from([bo]));

        let mut merged = reply.clone();
        merged.renumber_member(bo, ann);
        assert_eq!(merged.members_named(), BTreeSet::from([ann]));
        assert_eq!(merged.without_member(ann).lines.len(), 1);
    }

    #[test]
    fn a_press_reads_back_from_its_key() {
        for press in [
            Press::Approve(ContributionId(12)),
            Press::Reject(ContributionId(7)),
            Press::Rsvp(EventId(3), Answer::Yes),
            Press::Rsvp(EventId(3), Answer::Maybe),
            Press::Rsvp(EventId(41), Answer::No),
        ] {
            assert_eq!(
                Press::from_key(&press.key()),
                Some(press),
                "{}",
                press.key()
            );
        }
        assert_eq!(
            Press::Rsvp(EventId(12), Answer::Yes).key(),
            "event-rsvp:12:yes"
        );
        for other in [
            "event-rsvp:12",
            "event-rsvp:12:going",
            "event-rsvp:0:yes",
            "event-rsvp:x:yes",
            "review-approve:",
            "review-approve:3:yes",
            "rsvp:3:yes",
        ] {
            assert_eq!(Press::from_key(other), None, "{other}");
        }
    }

    #[test]
    fn bodies_stored_before_member_references_still_read() {
        let stored = r#"{"visibility":"Public","title":"t","lines":[[{"Text":"a"}]],"fields":[]}"#;
        let reply: Reply = serde_json::from_str(stored).unwrap();
        assert!(reply.members_named().is_empty());
        let with = Reply::public("t").line(Line::new().member(MemberId(7), "Ann"));
        let json = serde_json::to_string(&with).unwrap();
        assert_eq!(serde_json::from_str::<Reply>(&json).unwrap(), with);
    }
}
