//! When recurring posts (digest, mission reminder) fall due, in the community's own
//! time zone. Stored as text (`weekly mon 09:00`) so an organiser reads what they set.

use std::fmt;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

use super::error::UserError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleSpec {
    Daily {
        at: NaiveTime,
    },
    Weekly {
        day: Weekday,
        at: NaiveTime,
    },
    /// Every other week: the weeks an even number of weeks from Monday
    /// 1970-01-05, in the community's calendar, so every process agrees on which
    /// weeks without remembering when the schedule was set.
    Fortnightly {
        day: Weekday,
        at: NaiveTime,
    },
    /// Day of month 1–28, so every month has it.
    Monthly {
        day: u32,
        at: NaiveTime,
    },
}

pub const SCHEDULE_USAGE: &str = "`daily 09:00`, `weekly mon 09:00`, `fortnightly mon 09:00`, `monthly 1 09:00` (day 1–28) or `off`";

impl ScheduleSpec {
    pub const DEFAULT_DIGEST: ScheduleSpec = ScheduleSpec::Weekly {
        day: Weekday::Mon,
        at: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
    };
    pub const DEFAULT_REMINDER: ScheduleSpec = ScheduleSpec::Monthly {
        day: 1,
        at: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
    };

    /// Reads `daily 09:00`, `weekly mon 09:00`, `fortnightly mon 09:00`,
    /// `monthly 1 09:00`; `off` is None.
    pub fn parse(raw: &str) -> Result<Option<Self>, UserError> {
        let words: Vec<String> = raw.split_whitespace().map(str::to_lowercase).collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let bad = || {
            UserError::invalid(
                format!("`{raw}` is not a schedule."),
                format!("Use {SCHEDULE_USAGE}."),
            )
        };
        let time = |s: &str| NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| bad());
        let spec = match words.as_slice() {
            ["off"] => return Ok(None),
            ["daily", at] => ScheduleSpec::Daily { at: time(at)? },
            ["weekly", day, at] => ScheduleSpec::Weekly {
                day: day.parse::<Weekday>().map_err(|_| bad())?,
                at: time(at)?,
            },
            ["fortnightly" | "biweekly", day, at] => ScheduleSpec::Fortnightly {
                day: day.parse::<Weekday>().map_err(|_| bad())?,
                at: time(at)?,
            },
            ["monthly", day, at] => {
                let day: u32 = day.parse().map_err(|_| bad())?;
                if !(1..=28).contains(&day) {
                    return Err(bad());
                }
                ScheduleSpec::Monthly { day, at: time(at)? }
            }
            _ => return Err(bad()),
        };
        Ok(Some(spec))
    }

    /// The first time strictly after `after` that this schedule falls due in `tz`.
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let local_today = after.with_timezone(&tz).date_naive();
        // Walk candidate days from yesterday (time zones) for over two months.
        let start = local_today - Days::new(1);
        for offset in 0..70u64 {
            let day = start + Days::new(offset);
            if !self.falls_on(day) {
                continue;
            }
            if let Some(at) = local_moment(tz, day, self.time())
                && at > after
            {
                return at;
            }
        }
        // Unreachable for valid specs; a far but safe fallback.
        after + chrono::Duration::days(1)
    }

    fn time(&self) -> NaiveTime {
        match *self {
            ScheduleSpec::Daily { at }
            | ScheduleSpec::Weekly { at, .. }
            | ScheduleSpec::Fortnightly { at, .. }
            | ScheduleSpec::Monthly { at, .. } => at,
        }
    }

    fn falls_on(&self, day: NaiveDate) -> bool {
        match *self {
            ScheduleSpec::Daily { .. } => true,
            ScheduleSpec::Weekly { day: weekday, .. } => day.weekday() == weekday,
            ScheduleSpec::Fortnightly { day: weekday, .. } => {
                day.weekday() == weekday && even_week(day)
            }
            ScheduleSpec::Monthly { day: dom, .. } => day.day() == dom,
        }
    }
}

/// Whether `day` falls in a week an even number of weeks from Monday 1970-01-05.
fn even_week(day: NaiveDate) -> bool {
    let first_monday = NaiveDate::from_ymd_opt(1970, 1, 5).unwrap_or_default();
    (day - first_monday).num_days().div_euclid(7) % 2 == 0
}

/// A local wall-clock time as UTC. In a DST gap the time does not exist that day:
/// the schedule moves an hour later rather than skip the day.
fn local_moment(tz: Tz, day: NaiveDate, at: NaiveTime) -> Option<DateTime<Utc>> {
    let naive = day.and_time(at);
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
}

impl fmt::Display for ScheduleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScheduleSpec::Daily { at } => write!(f, "daily {}", at.format("%H:%M")),
            ScheduleSpec::Weekly { day, at } => write!(
                f,
                "weekly {} {}",
                day.to_string().to_lowercase(),
                at.format("%H:%M")
            ),
            ScheduleSpec::Fortnightly { day, at } => write!(
                f,
                "fortnightly {} {}",
                day.to_string().to_lowercase(),
                at.format("%H:%M")
            ),
            ScheduleSpec::Monthly { day, at } => write!(f, "monthly {day} {}", at.format("%H:%M")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for s in [
            "daily 09:00",
            "weekly mon 09:00",
            "fortnightly mon 09:00",
            "monthly 1 18:30",
        ] {
            assert_eq!(ScheduleSpec::parse(s).unwrap().unwrap().to_string(), s);
        }
        assert_eq!(ScheduleSpec::parse("off").unwrap(), None);
        assert!(ScheduleSpec::parse("monthly 31 09:00").is_err());
        assert!(ScheduleSpec::parse("weekly funday 09:00").is_err());
    }

    #[test]
    fn next_monday_nine_in_paris() {
        let tz: Tz = "Europe/Paris".parse().unwrap();
        // Wednesday 2026-11-25 12:00 UTC → Monday 2026-11-30 09:00 Paris = 08:00 UTC.
        let after = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        let next = ScheduleSpec::DEFAULT_DIGEST.next_after(after, tz);
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap());
        // Strictly after: asking at that moment gives the week after.
        let again = ScheduleSpec::DEFAULT_DIGEST.next_after(next, tz);
        assert_eq!(again, Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap());
    }

    #[test]
    fn fortnightly_skips_every_other_week() {
        let spec = ScheduleSpec::parse("fortnightly mon 09:00")
            .unwrap()
            .unwrap();
        let mut at = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        let mut runs = Vec::new();
        for _ in 0..4 {
            at = spec.next_after(at, Tz::UTC);
            runs.push(at);
        }
        assert_eq!(runs[0].weekday(), Weekday::Mon);
        for pair in runs.windows(2) {
            assert_eq!(pair[1] - pair[0], chrono::Duration::days(14));
        }
        // Across a year's end, still two weeks apart.
        let late = spec.next_after(
            Utc.with_ymd_and_hms(2026, 12, 24, 0, 0, 0).unwrap(),
            Tz::UTC,
        );
        let next = spec.next_after(late, Tz::UTC);
        assert_eq!(next - late, chrono::Duration::days(14));
    }

    #[test]
    fn monthly_rolls_over() {
        let after = Utc.with_ymd_and_hms(2026, 12, 15, 0, 0, 0).unwrap();
        let next = ScheduleSpec::DEFAULT_REMINDER.next_after(after, Tz::UTC);
        assert_eq!(next, Utc.with_ymd_and_hms(2027, 1, 1, 9, 0, 0).unwrap());
    }
}
