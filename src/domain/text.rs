//! Validated values. A value of these types that exists is valid: trimmed, within its
//! length, free of control characters and of the invisible direction overrides that
//! can make text read differently from what it is ("Trojan Source").
//!
//! Mentions such as `@everyone` or `<!channel>` are kept exactly as typed; they are
//! made harmless where they are rendered (allowed_mentions on Discord, escaping on
//! Slack), so what a member wrote is never altered.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::error::UserError;

/// Characters that reorder text invisibly: embeddings, overrides and isolates.
/// (Plain LRM/RLM marks stay allowed: right-to-left writers need them.)
pub fn is_direction_override(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Trims `raw` and checks it. `field` names the thing in errors ("description").
fn checked(field: &str, raw: &str, max_chars: usize, multiline: bool) -> Result<String, UserError> {
    let normalised = raw.replace("\r\n", "\n").replace('\t', " ");
    let text = normalised.trim();
    if text.is_empty() {
        return Err(UserError::invalid(
            format!("The {field} is empty."),
            format!("Write the {field} after the command."),
        ));
    }
    if let Some(c) = text.chars().find(|&c| is_direction_override(c)) {
        return Err(UserError::invalid(
            format!(
                "The {field} contains an invisible direction-changing character (U+{:04X}).",
                c as u32
            ),
            "Remove it and send the text again.",
        ));
    }
    if let Some(c) = text
        .chars()
        .find(|&c| c.is_control() && !(multiline && c == '\n'))
    {
        return Err(UserError::invalid(
            format!(
                "The {field} contains a control character (U+{:04X}).",
                c as u32
            ),
            "Remove it and send the text again.",
        ));
    }
    let count = text.chars().count();
    if count > max_chars {
        return Err(UserError::invalid(
            format!("The {field} is {count} characters long; the limit is {max_chars}."),
            format!("Shorten the {field} and send it again."),
        ));
    }
    Ok(text.to_string())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr, $multiline:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;
            pub fn parse(raw: &str) -> Result<Self, UserError> {
                checked($field, raw, $max, $multiline).map($name)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = UserError;
            fn try_from(s: String) -> Result<Self, UserError> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_type!(
    /// What a member did, in their words.
    Description, "description", 500, true
);
text_type!(
    /// The mission statement.
    Statement, "mission statement", 1000, true
);
text_type!(
    /// Why something changed, or what kudos are for.
    Reason, "reason", 300, true
);
text_type!(
    /// A goal's or milestone's title.
    Title, "title", 100, false
);
text_type!(
    /// A mission value's name, such as "stewardship".
    ValueName, "value name", 40, false
);
text_type!(
    /// A unit of amounts: trees, hours, euros.
    Unit, "unit", 20, false
);
text_type!(
    /// A display name for a member or community.
    Name, "name", 80, false
);
text_type!(
    /// A platform channel or role reference, as the platform gives it.
    PlatformRef, "channel or role", 100, false
);
text_type!(
    /// Where an event takes place: "Riverside park", a video call's link.
    Place, "place", 200, false
);

impl ValueName {
    /// Values are matched without regard to case.
    pub fn matches(&self, other: &str) -> bool {
        self.0.to_lowercase() == other.to_lowercase()
    }
}

/// A goal's short handle, typed in `goal=trees`: lowercase letters, digits, dashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    pub const MAX_CHARS: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, UserError> {
        let s = raw.trim().to_lowercase();
        let ok = !s.is_empty()
            && s.len() <= Self::MAX_CHARS
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok {
            Ok(Slug(s))
        } else {
            Err(UserError::invalid(
                format!("`{}` is not a valid goal slug.", raw.trim()),
                "A slug is 1–32 lowercase letters, digits and dashes, like `trees` or `spring-cleanup`.",
            ))
        }
    }

    /// A slug made from a title: "Plant 1000 trees!" → "plant-1000-trees".
    /// None when the title has no ASCII letters or digits to build one from.
    pub fn from_title(title: &str) -> Option<Self> {
        let mut out = String::new();
        for word in title
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            let candidate_len = out.len() + usize::from(!out.is_empty()) + word.len();
            if candidate_len > Self::MAX_CHARS {
                break;
            }
            if !out.is_empty() {
                out.push('-');
            }
            out.push_str(&word.to_ascii_lowercase());
        }
        Slug::parse(&out).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = UserError;
    fn try_from(s: String) -> Result<Self, UserError> {
        Slug::parse(&s)
    }
}

impl From<Slug> for String {
    fn from(v: Slug) -> String {
        v.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A positive, finite quantity: 40 trees, 2.5 hours.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
pub struct Amount(f64);

impl Amount {
    pub const MAX: f64 = 1e12;

    pub fn parse(field: &str, raw: &str) -> Result<Self, UserError> {
        let hint = format!("Write {field} as a positive number, like {field}=40 or {field}=2.5.");
        let value: f64 = raw
            .trim()
            .parse()
            .map_err(|_| UserError::invalid(format!("`{raw}` is not a number."), hint.clone()))?;
        Amount::new(value).ok_or_else(|| {
            UserError::invalid(
                format!("{field} must be above 0 and at most 1,000,000,000,000 (got {raw})."),
                hint,
            )
        })
    }

    pub fn new(value: f64) -> Option<Self> {
        (value.is_finite() && value > 0.0 && value <= Self::MAX).then_some(Amount(value))
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_number(self.0))
    }
}

/// A whole number within bounds, as a setting or option takes it. Typed text and
/// a platform's number field (Discord's integer options) go through the same
/// check and are refused with the same words; nothing is clamped.
macro_rules! bounded_whole_number {
    ($(#[$doc:meta])* $name:ident, $what:literal, $min:expr, $max:expr, $example:literal, $suffix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u32);

        impl $name {
            pub const MIN: u32 = $min;
            pub const MAX: u32 = $max;

            /// As typed.
            pub fn parse(raw: &str) -> Result<Self, UserError> {
                let digits = raw.trim().trim_end_matches($suffix).trim();
                digits
                    .parse::<i64>()
                    .ok()
                    .and_then(Self::within)
                    .ok_or_else(|| Self::refusal(raw.trim()))
            }

            /// As a platform's number field gives it.
            pub fn new(n: i64) -> Result<Self, UserError> {
                Self::within(n).ok_or_else(|| Self::refusal(&n.to_string()))
            }

            fn within(n: i64) -> Option<Self> {
                u32::try_from(n)
                    .ok()
                    .filter(|n| (Self::MIN..=Self::MAX).contains(n))
                    .map($name)
            }

            fn refusal(shown: &str) -> UserError {
                UserError::invalid(
                    format!("`{shown}` is not {}.", $what),
                    format!(
                        "Use a whole number from {} to {}, like {}.",
                        Self::MIN,
                        Self::MAX,
                        $example
                    ),
                )
            }

            pub fn get(self) -> u32 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

bounded_whole_number!(
    /// After how many quiet days a member counts as inactive.
    InactiveDays, "a number of days", 1, 365, "30", ""
);
bounded_whole_number!(
    /// How many kudos a member may give over any 7 days.
    KudosPerWeek, "a number of kudos", 1, 1000, "10", ""
);
bounded_whole_number!(
    /// A share in whole percent; a trailing `%` may be typed.
    Percent, "a percentage", 0, 100, "50", "%"
);
bounded_whole_number!(
    /// Which page of a long list: 1 is the first.
    PageNumber, "a page number", 1, 1_000_000, "2", ""
);

bounded_whole_number!(
    /// How many members a pairing round puts in a group.
    PairingSize, "a group size", 2, 6, "2", ""
);

bounded_whole_number!(
    /// How many members an event has places for.
    Capacity, "a number of places", 1, 100_000, "20", ""
);

impl PageNumber {
    pub const FIRST: PageNumber = PageNumber(1);
}

/// Amounts are kept to six decimal places, so that ten times 0.1 is exactly 1
/// and a goal of 1 hour is met by ten tenths.
pub fn round_amount(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Whether `value` has reached `threshold`, allowing for floating-point dust.
pub fn reached(value: f64, threshold: f64) -> bool {
    value >= threshold - 1e-9 * threshold.abs().max(1.0)
}

/// 1234.5 → "1,234.5"; 40.0 → "40". Figures in replies read like figures.
pub fn format_number(value: f64) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    let negative = rounded < 0.0;
    let abs = rounded.abs();
    let whole = abs.trunc() as u64;
    let frac = ((abs - abs.trunc()) * 100.0).round() as u64;
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if negative { "-" } else { "" };
    match frac {
        0 => format!("{sign}{grouped}"),
        f if f % 10 == 0 => format!("{sign}{grouped}.{}", f / 10),
        f => format!("{sign}{grouped}.{f:02}"),
    }
}

/// A calendar day as typed: `2027-06-30`, `today` or `yesterday`.
pub fn parse_day(field: &str, raw: &str, today: NaiveDate) -> Result<NaiveDate, UserError> {
    match raw.trim().to_lowercase().as_str() {
        "today" => Ok(today),
        "yesterday" => Ok(today.pred_opt().unwrap_or(today)),
        s => NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
            UserError::invalid(
                format!("`{raw}` is not a date."),
                format!("Write {field} as YYYY-MM-DD, like {field}=2027-06-30."),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_checked() {
        assert_eq!(Description::parse("  hi  ").unwrap().as_str(), "hi");
        assert!(Description::parse("   ").is_err());
        assert!(Description::parse("a\u{0}b").is_err());
        assert!(Description::parse("abc\u{202E}def").is_err());
        assert!(Description::parse(&"x".repeat(501)).is_err());
        assert!(Description::parse(&"é".repeat(500)).is_ok());
        assert!(Title::parse("two\nlines").is_err());
        assert_eq!(
            Description::parse("@everyone <!channel>").unwrap().as_str(),
            "@everyone <!channel>"
        );
    }

    #[test]
    fn slugs() {
        assert_eq!(Slug::parse("Trees").unwrap().as_str(), "trees");
        assert!(Slug::parse("no spaces").is_err());
        assert!(Slug::parse("-x").is_err());
        assert_eq!(
            Slug::from_title("Plant 1000 trees!").unwrap().as_str(),
            "plant-1000-trees"
        );
        assert!(Slug::from_title("日本語").is_none());
    }

    #[test]
    fn amounts_and_numbers() {
        assert_eq!(Amount::parse("amount", "40").unwrap().get(), 40.0);
        assert!(Amount::parse("amount", "-1").is_err());
        assert!(Amount::parse("amount", "NaN").is_err());
        assert!(Amount::parse("amount", "inf").is_err());
        assert!(Amount::parse("amount", "forty").is_err());
        assert_eq!(format_number(1234.5), "1,234.5");
        assert_eq!(format_number(40.0), "40");
        assert_eq!(format_number(1000000.0), "1,000,000");
        assert_eq!(format_number(0.25), "0.25");
    }

    #[test]
    fn bounded_numbers_refuse_the_same_way_typed_or_given() {
        assert_eq!(InactiveDays::parse(" 14 ").unwrap().get(), 14);
        assert_eq!(Percent::parse("50%").unwrap().get(), 50);
        assert_eq!(PageNumber::parse("2").unwrap(), PageNumber::new(2).unwrap());
        for (typed, given) in [("0", 0), ("366", 366), ("-3", -3)] {
            let typed = InactiveDays::parse(typed).unwrap_err();
            assert_eq!(typed, InactiveDays::new(given).unwrap_err());
            assert!(typed.to_string().contains("from 1 to 365"), "{typed}");
        }
        assert_eq!(
            Percent::parse("120").unwrap_err(),
            Percent::new(120).unwrap_err()
        );
        assert!(
            Percent::parse("lots")
                .unwrap_err()
                .to_string()
                .contains("`lots` is not a percentage")
        );
        assert!(PageNumber::parse("0").is_err());
    }
}
