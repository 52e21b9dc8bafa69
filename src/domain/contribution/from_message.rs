//! A message someone wrote, as the description a contribution form starts from
//! ("Log as contribution" on Slack and Discord): what the rules would refuse is
//! left out, so the member only has to check it.

use crate::domain::text::{Description, is_direction_override};

/// `text` without control characters (newlines stay) or direction overrides,
/// trimmed and cut to [`Description::MAX_CHARS`] characters.
pub fn description(text: &str) -> String {
    let kept: String = text
        .replace("\r\n", "\n")
        .replace('\t', " ")
        .chars()
        .filter(|&c| !is_direction_override(c) && (!c.is_control() || c == '\n'))
        .collect();
    kept.trim()
        .chars()
        .take(Description::MAX_CHARS)
        .collect::<String>()
        .trim_end()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_becomes_a_description_the_rules_accept() {
        assert_eq!(
            description("  Planted 40 oaks\r\ntoday \u{202E}\u{0} "),
            "Planted 40 oaks\ntoday"
        );
        let long = "é".repeat(Description::MAX_CHARS + 20);
        let cut = description(&long);
        assert_eq!(cut.chars().count(), Description::MAX_CHARS);
        assert!(Description::parse(&cut).is_ok());
        assert_eq!(description(" \u{7} "), "");
    }
}
