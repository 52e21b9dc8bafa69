//! A contribution as it stands in the record, and the one line that describes it
//! wherever it is shown: corrections, the review queue, the audit trail and the
//! review requests posted to organisers.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::domain::reply::Line;
use crate::domain::text::format_number;

/// A contribution as it was, kept in the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    pub description: String,
    pub amount: Option<f64>,
    pub unit: Option<String>,
    /// Its goal's slug.
    pub goal: Option<String>,
    pub value: Option<String>,
    pub platform: String,
    pub day: NaiveDate,
    pub logged_at: DateTime<Utc>,
}

/// A contribution as it was, in one line: “text” (amount unit · goal · value) on day.
pub fn describe(c: &Snapshot) -> Line {
    let mut details = Vec::new();
    if let Some(amount) = c.amount {
        details.push(
            format!(
                "{} {}",
                format_number(amount),
                c.unit.as_deref().unwrap_or("")
            )
            .trim_end()
            .to_string(),
        );
    }
    if let Some(goal) = &c.goal {
        details.push(format!("goal {goal}"));
    }
    if let Some(value) = &c.value {
        details.push(format!("value: {value}"));
    }
    let mut line = Line::new().text(format!("“{}”", c.description));
    if !details.is_empty() {
        line = line.text(format!(" ({})", details.join(" · ")));
    }
    line.text(" on ").day(c.day)
}
