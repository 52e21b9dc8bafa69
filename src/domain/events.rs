//! Events (issue 19 §1): the rules an event keeps, apart from any database or
//! platform. When one may start and how long it lasts, the answers a member
//! gives, the check-in code and when check-in is open, what attending counts as,
//! and when its reminders are due. Times are typed in the community's time zone
//! and kept in UTC.

use std::fmt;

use chrono::{DateTime, Days, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::EventId;
use super::contribution::validate::MAX_DAYS_BACK;
use super::error::UserError;
use super::text::round_amount;

/// How far ahead an event may be planned.
pub const MAX_DAYS_AHEAD: u64 = 730;

/// How long after an event's end its members may still check in.
pub const CHECK_IN_HOURS_AFTER: i64 = 12;

/// How long an event lasts, in whole minutes; typed `2h`, `90m`, `1h30m` or `1.5h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventDuration(u32);

impl EventDuration {
    pub const MIN_MINUTES: u32 = 5;
    /// A week: a festival, not a season.
    pub const MAX_MINUTES: u32 = 7 * 24 * 60;
    /// When `duration=` is not given.
    pub const DEFAULT: EventDuration = EventDuration(60);

    pub fn parse(raw: &str) -> Result<Self, UserError> {
        let typed: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_lowercase();
        let minutes = match typed.split_once('h') {
            Some((hours, rest)) => {
                let hours: Option<f64> = hours.parse().ok().filter(|h: &f64| h.is_finite());
                // After hours, the minutes may go without their `m`: 1h30.
                let rest = match rest {
                    "" => Some(0.0),
                    rest => whole_minutes(rest).or_else(|| rest.parse::<u32>().ok().map(f64::from)),
                };
                match (hours, rest) {
                    (Some(h), Some(m)) if h >= 0.0 => Some((h * 60.0).round() + m),
                    _ => None,
                }
            }
            None => whole_minutes(&typed),
        };
        minutes
            .filter(|m| {
                (f64::from(Self::MIN_MINUTES)..=f64::from(Self::MAX_MINUTES)).contains(m)
            })
            .map(|m| EventDuration(m as u32))
            .ok_or_else(|| {
                UserError::invalid(
                    format!("`{}` is not a duration Keel takes.", raw.trim()),
                    format!(
                        "Write it in hours and minutes, from {}m to {} days, like duration=2h, duration=90m or duration=1h30m.",
                        Self::MIN_MINUTES,
                        Self::MAX_MINUTES / (24 * 60)
                    ),
                )
            })
    }

    /// The time between a stored event's start and end.
    pub fn between(starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) -> Self {
        EventDuration(u32::try_from((ends_at - starts_at).num_minutes().max(0)).unwrap_or(0))
    }

    pub fn minutes(self) -> u32 {
        self.0
    }

    /// In hours, as a contribution's amount: 90 minutes are 1.5.
    pub fn hours(self) -> f64 {
        round_amount(f64::from(self.0) / 60.0)
    }

    pub fn as_duration(self) -> Duration {
        Duration::minutes(i64::from(self.0))
    }
}

/// `30m` or `30min`: whole minutes, as f64 for the sum. A number alone is not
/// taken: `duration=2` may mean hours as well as minutes.
fn whole_minutes(raw: &str) -> Option<f64> {
    let digits = raw.strip_suffix("min").or_else(|| raw.strip_suffix('m'))?;
    digits.parse::<u32>().ok().map(f64::from)
}

impl fmt::Display for EventDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0 / 60, self.0 % 60) {
            (0, m) => write!(f, "{m}m"),
            (h, 0) => write!(f, "{h}h"),
            (h, m) => write!(f, "{h}h{m}m"),
        }
    }
}

/// The refusal for an event id the community has not.
pub fn not_found(id: EventId) -> UserError {
    UserError::not_found(
        format!("Event #{id}"),
        "`event list` shows the events ahead with their ids.",
    )
}

/// A start time as typed in `at=`: `2027-01-10T10:00`, in the community's time
/// zone (made UTC by [`in_zone`]).
pub fn parse_local_time(field: &str, raw: &str) -> Result<NaiveDateTime, UserError> {
    let typed = raw.trim();
    ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(typed, format).ok())
        .ok_or_else(|| {
            UserError::invalid(
                format!("`{typed}` is not a date and time."),
                format!(
                    "Write {field}= as YYYY-MM-DDTHH:MM in the community's time zone, like {field}=2027-01-10T10:00."
                ),
            )
        })
}

/// A local time in `tz`, in UTC. Of a time the clocks pass twice (autumn), the
/// first; a time they skip (spring) is refused.
pub fn in_zone(local: NaiveDateTime, tz: Tz) -> Result<DateTime<Utc>, UserError> {
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            UserError::invalid(
                format!(
                    "{} does not exist in {tz}: the clocks skip it.",
                    local.format("%Y-%m-%d %H:%M")
                ),
                "Choose a time an hour later or earlier.",
            )
        })
}

/// A moment as the community reads it: `2027-01-10 10:00 (Europe/Paris)`.
pub fn local(t: DateTime<Utc>, tz: Tz) -> String {
    format!("{} ({tz})", t.with_timezone(&tz).format("%Y-%m-%d %H:%M"))
}

/// An event may start up to [`MAX_DAYS_BACK`] days ago (to record one that
/// happened, whose attendance is dated then) and up to [`MAX_DAYS_AHEAD`] ahead.
pub fn check_start(starts_at: DateTime<Utc>, now: DateTime<Utc>, tz: Tz) -> Result<(), UserError> {
    let today = now.date_naive();
    if starts_at.date_naive() < today - Days::new(MAX_DAYS_BACK) {
        return Err(UserError::invalid(
            format!(
                "{} is more than {MAX_DAYS_BACK} days ago.",
                local(starts_at, tz)
            ),
            format!(
                "An event may be recorded up to {MAX_DAYS_BACK} days after it happened: give at= a later time."
            ),
        ));
    }
    if starts_at > now + Days::new(MAX_DAYS_AHEAD) {
        return Err(UserError::invalid(
            format!(
                "{} is more than {MAX_DAYS_AHEAD} days ahead.",
                local(starts_at, tz)
            ),
            "Plan events up to two years ahead.",
        ));
    }
    Ok(())
}

/// A member's answer to an event. Serialized into the buttons of stored event
/// cards ([`super::reply::Press::Rsvp`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    Yes,
    No,
    Maybe,
}

impl Answer {
    pub fn parse(raw: &str) -> Result<Self, UserError> {
        match raw.trim().to_lowercase().as_str() {
            "yes" | "y" | "going" => Ok(Answer::Yes),
            "no" | "n" | "not-going" => Ok(Answer::No),
            "maybe" | "perhaps" => Ok(Answer::Maybe),
            other => Err(UserError::invalid(
                format!("`{other}` is not an answer."),
                "Answer yes, no or maybe, like `event rsvp #12 yes`.",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Yes => "yes",
            Answer::No => "no",
            Answer::Maybe => "maybe",
        }
    }

    /// As stored; None for anything else.
    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "yes" => Some(Answer::Yes),
            "no" => Some(Answer::No),
            "maybe" => Some(Answer::Maybe),
            _ => None,
        }
    }

    /// Members who answered so hear of changes and get reminders.
    pub fn is_interested(self) -> bool {
        matches!(self, Answer::Yes | Answer::Maybe)
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The code members type to check in, shown to organisers: capital letters and
/// digits, without look-alikes (0/O, 1/I).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckInCode(String);

impl CheckInCode {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    /// Six characters: a billion codes, too many to guess by trying.
    pub const LENGTH: usize = 6;
    pub const MIN_CHARS: usize = 4;
    pub const MAX_CHARS: usize = 12;

    /// A new random code.
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        CheckInCode(
            (0..Self::LENGTH)
                .map(|_| Self::ALPHABET[rng.random_range(0..Self::ALPHABET.len())] as char)
                .collect(),
        )
    }

    /// As a member types it: any case, surrounding spaces ignored.
    pub fn parse(raw: &str) -> Result<Self, UserError> {
        let code = raw.trim().to_uppercase();
        let ok = (Self::MIN_CHARS..=Self::MAX_CHARS).contains(&code.len())
            && code.chars().all(|c| c.is_ascii_alphanumeric());
        if ok {
            Ok(CheckInCode(code))
        } else {
            Err(UserError::invalid(
                format!("`{}` is not a check-in code.", raw.trim()),
                "Type the code the organisers show at the event, like code=K7F3QX.",
            ))
        }
    }

    /// Whether the stored code is this one.
    pub fn matches(&self, stored: &str) -> bool {
        self.0.eq_ignore_ascii_case(stored.trim())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Check-in is open from the event's start until [`CHECK_IN_HOURS_AFTER`] hours
/// after its end.
pub fn check_in_open(
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<(), UserError> {
    if now < starts_at {
        return Err(UserError::invalid(
            format!(
                "Check-in opens when the event starts, at {}.",
                local(starts_at, tz)
            ),
            "Check in at the event, with the code the organisers show there.",
        ));
    }
    let closes = ends_at + Duration::hours(CHECK_IN_HOURS_AFTER);
    if now > closes {
        return Err(UserError::invalid(
            format!(
                "Check-in closed at {}, {CHECK_IN_HOURS_AFTER} hours after the event ended.",
                local(closes, tz)
            ),
            "Ask an organiser to record your attendance with `event attend`.",
        ));
    }
    Ok(())
}

/// Organisers record attendance once the event has started.
pub fn attendance_open(
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<(), UserError> {
    if now < starts_at {
        return Err(UserError::invalid(
            format!(
                "The event has not started yet: it starts at {}.",
                local(starts_at, tz)
            ),
            "Record attendance once it has started.",
        ));
    }
    Ok(())
}

/// Whether a goal's unit counts hours.
pub fn counts_hours(unit: &str) -> bool {
    matches!(unit.trim().to_lowercase().as_str(), "hours" | "hour" | "h")
}

/// What attending counts: the event's `amount=`, or its length in hours towards
/// a goal counted in hours; nothing otherwise (one contribution, no amount).
pub fn attendance_amount(
    amount: Option<f64>,
    duration: EventDuration,
    goal_unit: Option<&str>,
) -> Option<f64> {
    amount.or_else(|| {
        goal_unit
            .filter(|unit| counts_hours(unit))
            .map(|_| duration.hours())
    })
}

/// The contribution attending an event is recorded as.
pub fn attended(title: &str) -> String {
    format!("Attended {title}")
}

/// The reminders members who answered yes or maybe get before an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reminder {
    DayBefore,
    HourBefore,
}

impl Reminder {
    pub fn lead(self) -> Duration {
        match self {
            Reminder::DayBefore => Duration::hours(24),
            Reminder::HourBefore => Duration::hours(1),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Reminder::DayBefore => "day",
            Reminder::HourBefore => "hour",
        }
    }

    /// When it is due: its lead before the start. A member who answered after
    /// this is not sent it (they answered knowing how soon it is).
    pub fn moment(self, starts_at: DateTime<Utc>) -> DateTime<Utc> {
        starts_at - self.lead()
    }

    /// After this it is no longer worth delivering: the day's reminder once the
    /// hour's is due, the hour's once the event starts.
    pub fn expires_at(self, starts_at: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Reminder::DayBefore => Reminder::HourBefore.moment(starts_at),
            Reminder::HourBefore => starts_at,
        }
    }

    /// The reminder due at `now` for an event starting at `starts_at`: none more
    /// than a day ahead or once it has started; within the last hour the hour's
    /// (the day's, not sent by then, is not sent late).
    pub fn due(starts_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<Reminder> {
        if now >= starts_at {
            None
        } else if now >= Reminder::HourBefore.moment(starts_at) {
            Some(Reminder::HourBefore)
        } else if now >= Reminder::DayBefore.moment(starts_at) {
            Some(Reminder::DayBefore)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 1, 10, h, m, 0).unwrap()
    }

    #[test]
    fn durations_are_typed_in_hours_and_minutes_within_bounds() {
        for (typed, minutes) in [
            ("2h", 120),
            ("90m", 90),
            ("1h30m", 90),
            ("1.5h", 90),
            (" 1 h 30 min ", 90),
            ("45min", 45),
            ("1h30", 90),
            ("168h", 7 * 24 * 60),
        ] {
            assert_eq!(
                EventDuration::parse(typed).unwrap().minutes(),
                minutes,
                "{typed}"
            );
        }
        for bad in ["", "2", "two hours", "4m", "169h", "-1h", "h", "30", "NaNh"] {
            let e = EventDuration::parse(bad).unwrap_err().to_string();
            assert!(e.contains("duration=2h"), "{bad}: {e}");
        }
        assert_eq!(EventDuration::parse("90m").unwrap().to_string(), "1h30m");
        assert_eq!(EventDuration::parse("2h").unwrap().to_string(), "2h");
        assert_eq!(EventDuration::parse("45m").unwrap().hours(), 0.75);
    }

    #[test]
    fn times_are_local_to_the_community() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let local = parse_local_time("at", "2027-01-10T10:00").unwrap();
        assert_eq!(in_zone(local, paris).unwrap(), at(9, 0));
        assert_eq!(parse_local_time("at", "2027-01-10 10:00").unwrap(), local);
        let e = parse_local_time("at", "tomorrow").unwrap_err().to_string();
        assert!(e.contains("at=2027-01-10T10:00"), "{e}");
        assert!(parse_local_time("at", "2027-02-30T10:00").is_err());
        // The spring-forward gap does not exist; the autumn fold is its first.
        let gap = parse_local_time("at", "2027-03-28T02:30").unwrap();
        assert!(
            in_zone(gap, paris)
                .unwrap_err()
                .to_string()
                .contains("skip")
        );
        let fold = parse_local_time("at", "2027-10-31T02:30").unwrap();
        assert_eq!(
            in_zone(fold, paris).unwrap(),
            Utc.with_ymd_and_hms(2027, 10, 31, 0, 30, 0).unwrap()
        );
    }

    #[test]
    fn an_event_starts_at_most_90_days_back_and_two_years_ahead() {
        let now = at(12, 0);
        check_start(now - Duration::days(90), now, Tz::UTC).unwrap();
        check_start(now - Duration::hours(3), now, Tz::UTC).unwrap();
        check_start(now + Duration::days(700), now, Tz::UTC).unwrap();
        let e = check_start(now - Duration::days(91), now, Tz::UTC).unwrap_err();
        assert!(e.to_string().contains("more than 90 days ago"), "{e}");
        let e = check_start(now + Duration::days(731), now, Tz::UTC).unwrap_err();
        assert!(e.to_string().contains("730 days ahead"), "{e}");
    }

    #[test]
    fn check_in_runs_from_the_start_to_twelve_hours_after_the_end() {
        let (starts, ends) = (at(10, 0), at(12, 0));
        assert!(check_in_open(starts, ends, at(9, 59), Tz::UTC).is_err());
        check_in_open(starts, ends, at(10, 0), Tz::UTC).unwrap();
        check_in_open(starts, ends, at(23, 59), Tz::UTC).unwrap();
        check_in_open(starts, ends, at(12, 0) + Duration::hours(12), Tz::UTC).unwrap();
        let e = check_in_open(starts, ends, at(12, 1) + Duration::hours(12), Tz::UTC)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Check-in closed at 2027-01-11 00:00 (UTC)"),
            "{e}"
        );
        assert!(attendance_open(starts, at(9, 0), Tz::UTC).is_err());
        attendance_open(starts, at(10, 0), Tz::UTC).unwrap();
    }

    #[test]
    fn codes_are_capitals_and_digits_matched_in_any_case() {
        for _ in 0..50 {
            let code = CheckInCode::generate();
            assert_eq!(code.as_str().len(), CheckInCode::LENGTH);
            assert!(
                code.as_str()
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            );
            assert!(
                CheckInCode::parse(&code.as_str().to_lowercase())
                    .unwrap()
                    .matches(code.as_str())
            );
        }
        assert!(!CheckInCode::parse("K7F3").unwrap().matches("K7F4"));
        assert!(CheckInCode::parse("K7F").is_err());
        assert!(CheckInCode::parse("K7 F3").is_err());
    }

    #[test]
    fn attending_counts_the_amount_or_the_hours_towards_an_hours_goal() {
        let two = EventDuration::parse("2h").unwrap();
        assert_eq!(attendance_amount(Some(5.0), two, Some("hours")), Some(5.0));
        for unit in ["hours", "Hour", "h"] {
            assert_eq!(
                attendance_amount(None, two, Some(unit)),
                Some(2.0),
                "{unit}"
            );
        }
        assert_eq!(attendance_amount(None, two, Some("trees")), None);
        assert_eq!(attendance_amount(None, two, None), None);
        assert_eq!(attended("Planting day"), "Attended Planting day");
    }

    #[test]
    fn reminders_fall_due_a_day_and_an_hour_before() {
        let starts = at(10, 0);
        assert_eq!(Reminder::due(starts, starts - Duration::hours(25)), None);
        assert_eq!(
            Reminder::due(starts, starts - Duration::hours(24)),
            Some(Reminder::DayBefore)
        );
        assert_eq!(
            Reminder::due(starts, starts - Duration::minutes(61)),
            Some(Reminder::DayBefore)
        );
        assert_eq!(
            Reminder::due(starts, starts - Duration::minutes(60)),
            Some(Reminder::HourBefore)
        );
        assert_eq!(Reminder::due(starts, starts), None);
        assert_eq!(Reminder::DayBefore.expires_at(starts), at(9, 0));
    }

    #[test]
    fn answers() {
        assert_eq!(Answer::parse("YES").unwrap(), Answer::Yes);
        assert_eq!(Answer::parse("maybe").unwrap(), Answer::Maybe);
        assert_eq!(Answer::parse("no").unwrap(), Answer::No);
        let e = Answer::parse("sure").unwrap_err().to_string();
        assert!(e.contains("yes, no or maybe"), "{e}");
        assert!(Answer::Maybe.is_interested() && !Answer::No.is_interested());
    }
}
