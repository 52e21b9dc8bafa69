//! An event as a calendar file (`event-12.ics`, RFC 5545), attached to `event
//! show` and to a member's yes or maybe, for their own calendar. Its UID is the
//! event's, the same every time, so importing it again updates the entry
//! rather than adding one; times are in UTC, which every calendar shows in its
//! reader's zone; a cancelled event is marked so.

use chrono::{DateTime, Utc};
use icalendar::{Calendar, Component, EventLike, EventStatus, Property};

use crate::domain::reply::Attachment;
use crate::store::events::Event;

/// What calendar files are uploaded as.
const MEDIA_TYPE: &str = "text/calendar";

/// `event-12.ics`, made at `now`, for `event`; `description` is what it says in
/// words (what attending counts, how to answer, why it was cancelled).
pub fn calendar_file(event: &Event, description: &str, now: DateTime<Utc>) -> Attachment {
    Attachment::in_memory(
        format!("event-{}.ics", event.id),
        MEDIA_TYPE,
        calendar_text(event, description, now).into_bytes(),
    )
}

/// The calendar's text: one VEVENT, lines folded at 75 octets and ended with
/// CRLF, its words escaped, by the icalendar crate.
fn calendar_text(event: &Event, description: &str, now: DateTime<Utc>) -> String {
    let mut entry = icalendar::Event::new();
    entry
        .uid(&format!("event-{}@keel", event.id))
        .timestamp(now)
        .starts(event.starts_at)
        .ends(event.ends_at)
        .summary(&event.title)
        .description(description);
    if let Some(place) = &event.place {
        entry.location(place);
    }
    if event.cancelled.is_some() {
        entry.status(EventStatus::Cancelled);
    }
    let mut calendar = Calendar::empty();
    calendar
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", "-//Keel//Events//EN"))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .push(entry.done());
    calendar.to_string()
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::domain::{CommunityId, EventId};
    use crate::store::events::Cancellation;

    fn planting_day() -> Event {
        let starts_at = Utc.with_ymd_and_hms(2027, 1, 10, 9, 0, 0).unwrap();
        Event {
            id: EventId(12),
            community: CommunityId(1),
            title: "Planting day, with friends; bring gloves".into(),
            starts_at,
            ends_at: starts_at + Duration::minutes(150),
            place: Some("Riverside park, north gate".into()),
            goal: None,
            goal_unit: None,
            amount: None,
            capacity: None,
            check_in_code: "K7F3QX".into(),
            cancelled: None,
            card: None,
        }
    }

    /// The content lines, unfolded (RFC 5545 §3.1: CRLF and a space continue a
    /// line), each checked to end with CRLF and to fit in 75 octets.
    fn lines(text: &str) -> Vec<String> {
        assert!(text.ends_with("\r\n"), "{text:?}");
        let mut out: Vec<String> = Vec::new();
        for raw in text.trim_end_matches("\r\n").split("\r\n") {
            assert!(raw.len() <= 75, "a line longer than 75 octets: {raw:?}");
            assert!(!raw.contains('\n'), "a bare LF: {raw:?}");
            match raw.strip_prefix(' ') {
                Some(more) => out.last_mut().expect("a first line").push_str(more),
                None => out.push(raw.to_string()),
            }
        }
        out
    }

    fn value<'a>(lines: &'a [String], name: &str) -> Vec<&'a str> {
        lines
            .iter()
            .filter_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .collect()
    }

    #[test]
    fn an_event_is_one_vevent_in_utc_with_a_stable_uid() {
        let event = planting_day();
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 8, 30, 0).unwrap();
        let description = "Attending counts one contribution. Answer in Keel: event rsvp #12 yes|no|maybe. A long line, long enough to be folded by the calendar's rules.";
        let text = calendar_text(&event, description, now);
        let lines = lines(&text);
        assert_eq!(lines.first().map(String::as_str), Some("BEGIN:VCALENDAR"));
        assert_eq!(lines.last().map(String::as_str), Some("END:VCALENDAR"));
        assert_eq!(value(&lines, "VERSION"), ["2.0"]);
        assert_eq!(value(&lines, "PRODID"), ["-//Keel//Events//EN"]);
        assert_eq!(value(&lines, "BEGIN"), ["VCALENDAR", "VEVENT"]);
        assert_eq!(value(&lines, "UID"), ["event-12@keel"]);
        assert_eq!(value(&lines, "DTSTAMP"), ["20261201T083000Z"]);
        assert_eq!(value(&lines, "DTSTART"), ["20270110T090000Z"]);
        assert_eq!(value(&lines, "DTEND"), ["20270110T113000Z"]);
        // Commas and semicolons in members' words are escaped, not separators.
        assert_eq!(
            value(&lines, "SUMMARY"),
            [r"Planting day\, with friends\; bring gloves"]
        );
        assert_eq!(value(&lines, "LOCATION"), [r"Riverside park\, north gate"]);
        assert_eq!(
            value(&lines, "DESCRIPTION"),
            [description.replace(',', r"\,").as_str()]
        );
        assert!(value(&lines, "STATUS").is_empty());

        // The same event made again has the same UID: calendars update it.
        let again = calendar_text(&event, description, now + Duration::days(3));
        assert_eq!(value(&self::lines(&again), "UID"), ["event-12@keel"]);
    }

    #[test]
    fn a_cancelled_event_is_marked_cancelled() {
        let event = Event {
            cancelled: Some(Cancellation {
                at: Utc.with_ymd_and_hms(2027, 1, 5, 10, 0, 0).unwrap(),
                reason: "Storm warning".into(),
            }),
            place: None,
            ..planting_day()
        };
        let file = calendar_file(&event, "Cancelled: Storm warning", Utc::now());
        assert_eq!(file.filename, "event-12.ics");
        assert_eq!(file.media_type, "text/calendar");
        let text = String::from_utf8(file.contents().unwrap()).unwrap();
        let lines = lines(&text);
        assert_eq!(value(&lines, "STATUS"), ["CANCELLED"]);
        assert!(value(&lines, "LOCATION").is_empty());
        assert_eq!(value(&lines, "UID"), ["event-12@keel"]);
    }
}
