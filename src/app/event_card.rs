//! An event's public card (issue 19 §1, "On the platforms"): posted through the
//! outbox to each announcement channel when the event is planned, and edited in
//! place whenever its answers or terms change. It shows what, when, where, what
//! attending counts towards, the places and how many answered what, never who:
//! a channel sees counts, and members see their own answer privately.

use chrono::{DateTime, Utc};

use super::events::{answers_text, details, named, when};
use crate::domain::Reply;
use crate::domain::events::Answer;
use crate::domain::reply::{Line, Press};
use crate::store::events::{Answers, Event};

/// The card of `event` with `answers`, as it is at `now`. One open to answers
/// carries buttons that answer as whoever presses them; a cancelled one says so,
/// with the reason, and one that is over has nothing left to press.
pub fn card(event: &Event, answers: &Answers, now: DateTime<Utc>) -> Reply {
    let id = event.id;
    if let Some(cancelled) = &event.cancelled {
        return Reply::public(format!("Event {} is cancelled", named(event)))
            .line(when(event))
            .line(format!("Cancelled: {}", cancelled.reason));
    }
    let mut reply = details(
        Reply::public(format!("Event {}", named(event))).line(when(event)),
        event,
    )
    .line(format!("Answers: {}", answers_text(event, answers)));
    if now >= event.ends_at {
        return reply.line("This event is over.");
    }
    reply = reply.line(
        Line::new()
            .text("Answer with the buttons, or ")
            .code(format!("event rsvp #{id} yes|no|maybe"))
            .text(". ")
            .code(format!("event show #{id}"))
            .text(" adds it to your calendar."),
    );
    reply
        .button("Going", Press::Rsvp(id, Answer::Yes), false)
        .button("Maybe", Press::Rsvp(id, Answer::Maybe), false)
        .button("Can't go", Press::Rsvp(id, Answer::No), false)
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
            title: "Planting day".into(),
            starts_at,
            ends_at: starts_at + Duration::hours(2),
            place: Some("Riverside park".into()),
            goal: Some("trees".into()),
            goal_unit: Some("hours".into()),
            amount: None,
            capacity: Some(20),
            check_in_code: "K7F3QX".into(),
            cancelled: None,
            card: None,
        }
    }

    #[test]
    fn a_card_shows_the_event_and_its_counts_with_buttons_to_answer() {
        let event = planting_day();
        let answers = Answers {
            going: 3,
            waitlisted: 1,
            maybe: 2,
            no: 4,
        };
        let card = card(&event, &answers, event.starts_at - Duration::days(1));
        let text = card.plain();
        for needle in [
            "Event #12 Planting day",
            "When: 2027-01-10 09:00 UTC – 2027-01-10 11:00 UTC (2h)",
            "Where: Riverside park",
            "towards the goal trees",
            "Places: 20",
            "Answers: 3 of 20 going · 1 waiting · 2 maybe",
        ] {
            assert!(text.contains(needle), "{needle:?} in:\n{text}");
        }
        assert!(
            !text.contains("K7F3QX"),
            "the code is never public:\n{text}"
        );
        assert!(!card.is_private());
        let keys: Vec<String> = card.buttons.iter().map(|b| b.press.key()).collect();
        assert_eq!(
            keys,
            [
                "event-rsvp:12:yes",
                "event-rsvp:12:maybe",
                "event-rsvp:12:no"
            ]
        );
    }

    #[test]
    fn a_cancelled_or_ended_card_has_nothing_to_press() {
        let event = planting_day();
        let over = card(&event, &Answers::default(), event.ends_at);
        assert!(over.buttons.is_empty());
        assert!(over.plain().contains("This event is over."));

        let cancelled = Event {
            cancelled: Some(Cancellation {
                at: event.starts_at - Duration::days(2),
                reason: "Storm warning".into(),
            }),
            ..event.clone()
        };
        let card = card(
            &cancelled,
            &Answers::default(),
            event.starts_at - Duration::days(2),
        );
        assert!(card.buttons.is_empty());
        let text = card.plain();
        assert!(
            text.contains("Event #12 Planting day is cancelled"),
            "{text}"
        );
        assert!(text.contains("Cancelled: Storm warning"), "{text}");
    }
}
