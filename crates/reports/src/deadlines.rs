//! Deadline clocks in working days: a rule (how many working days, on which calendar) turns
//! the moment a clock starts into the moment it runs out: the end of the last working day in
//! the calendar's time zone. Weekends and the calendar's public holidays (data, in
//! `data/holidays.toml`) do not count; a year the data does not cover is refused, never
//! guessed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::Deserialize;
use time::{Date, Duration, Month, OffsetDateTime, Time, UtcOffset, Weekday};

const HOLIDAYS: &str = include_str!("../data/holidays.toml");

/// Why a deadline could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeadlineError {
    #[error("no calendar named {0} (known: ID, GB, EU)")]
    UnknownCalendar(String),
    #[error("the {calendar} calendar has no public holidays for {year}; add them to the data")]
    YearNotCovered { calendar: String, year: i32 },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    calendars: BTreeMap<String, CalendarData>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarData {
    zone: String,
    years: Vec<i32>,
    days: Vec<String>,
}

/// A country's working days.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub name: String,
    /// IANA name of its time zone.
    pub zone: String,
    years: BTreeSet<i32>,
    holidays: BTreeSet<Date>,
}

fn parse_date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).ok()
}

fn calendars() -> &'static BTreeMap<String, Calendar> {
    static CALENDARS: OnceLock<BTreeMap<String, Calendar>> = OnceLock::new();
    CALENDARS.get_or_init(|| {
        let Ok(file) = toml::from_str::<File>(HOLIDAYS) else {
            return BTreeMap::new();
        };
        file.calendars
            .into_iter()
            .map(|(name, data)| {
                let calendar = Calendar {
                    name: name.clone(),
                    zone: data.zone,
                    years: data.years.into_iter().collect(),
                    holidays: data.days.iter().filter_map(|d| parse_date(d)).collect(),
                };
                (name, calendar)
            })
            .collect()
    })
}

/// The calendar named `name` (`ID`, `GB`, `EU`).
pub fn calendar(name: &str) -> Result<&'static Calendar, DeadlineError> {
    calendars()
        .get(name)
        .ok_or_else(|| DeadlineError::UnknownCalendar(name.chars().take(16).collect()))
}

/// The last Sunday of `month` in `year`.
fn last_sunday(year: i32, month: Month) -> Date {
    let mut day = Date::from_calendar_date(year, month, month.length(year)).unwrap_or(Date::MIN);
    while day.weekday() != Weekday::Sunday {
        day = day.previous_day().unwrap_or(Date::MIN);
    }
    day
}

/// The zone's offset at `at`: Jakarta is +7 all year; London and the EU zones change at 01:00
/// UTC on the last Sundays of March and October.
pub fn offset_at(zone: &str, at: OffsetDateTime) -> UtcOffset {
    let hours = |h: i8| UtcOffset::from_hms(h, 0, 0).unwrap_or(UtcOffset::UTC);
    let (standard, summer) = match zone {
        "Asia/Jakarta" => return hours(7),
        "Europe/London" => (0, 1),
        _ => (1, 2),
    };
    let at = at.to_offset(UtcOffset::UTC);
    let year = at.year();
    let starts = last_sunday(year, Month::March)
        .with_time(Time::from_hms(1, 0, 0).unwrap_or(Time::MIDNIGHT))
        .assume_utc();
    let ends = last_sunday(year, Month::October)
        .with_time(Time::from_hms(1, 0, 0).unwrap_or(Time::MIDNIGHT))
        .assume_utc();
    if at >= starts && at < ends {
        hours(summer)
    } else {
        hours(standard)
    }
}

/// The end of `day` (midnight at its end, local time in `zone`), in UTC.
pub fn end_of_day(zone: &str, day: Date) -> OffsetDateTime {
    let end = day.next_day().unwrap_or(Date::MAX).midnight();
    // The offset at the end of that day (a change of offset falls on a Sunday, 01:00 UTC).
    let guess = end.assume_utc();
    let offset = offset_at(zone, guess - Duration::hours(2));
    end.assume_offset(offset).to_offset(UtcOffset::UTC)
}

impl Calendar {
    /// Whether `day` is a working day; refused for a year the data does not cover.
    pub fn is_working_day(&self, day: Date) -> Result<bool, DeadlineError> {
        if !self.years.contains(&day.year()) {
            return Err(DeadlineError::YearNotCovered {
                calendar: self.name.clone(),
                year: day.year(),
            });
        }
        let weekend = matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday);
        Ok(!weekend && !self.holidays.contains(&day))
    }

    /// When `working_days` working days after `start` end: the end (midnight, local) of the
    /// `working_days`-th working day after the day `start` falls on.
    pub fn due(
        &self,
        start: OffsetDateTime,
        working_days: u16,
    ) -> Result<OffsetDateTime, DeadlineError> {
        let local = start.to_offset(offset_at(&self.zone, start));
        let mut day = local.date();
        let mut left = working_days;
        while left > 0 {
            day = day.next_day().unwrap_or(Date::MAX);
            if self.is_working_day(day)? {
                left -= 1;
            }
        }
        Ok(end_of_day(&self.zone, day))
    }
}

/// A clock: how many working days, on which calendar, and how long before it runs out the
/// alert fires.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineRule {
    pub working_days: u16,
    pub calendar: String,
    /// Alert this many hours before the deadline.
    #[serde(default = "default_warn_hours")]
    pub warn_hours: u16,
}

fn default_warn_hours() -> u16 {
    24
}

impl DeadlineRule {
    pub fn due(&self, start: OffsetDateTime) -> Result<OffsetDateTime, DeadlineError> {
        calendar(&self.calendar)?.due(start, self.working_days)
    }

    /// When the alert fires for a clock due at `due`.
    pub fn warn_at(&self, due: OffsetDateTime) -> OffsetDateTime {
        due - Duration::hours(i64::from(self.warn_hours))
    }
}

/// Where a clock stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockState {
    Running,
    /// Inside the warning window: alert.
    DueSoon,
    Breached,
}

impl ClockState {
    pub fn at(now: OffsetDateTime, warn_at: OffsetDateTime, due: OffsetDateTime) -> Self {
        if now >= due {
            ClockState::Breached
        } else if now >= warn_at {
            ClockState::DueSoon
        } else {
            ClockState::Running
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ClockState::Running => "running",
            ClockState::DueSoon => "due_soon",
            ClockState::Breached => "breached",
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use time::macros::datetime;

    use super::*;

    #[test]
    fn the_data_parses_completely() {
        let file: File = toml::from_str(HOLIDAYS).unwrap();
        for (name, data) in &file.calendars {
            for day in &data.days {
                let date = parse_date(day).unwrap_or_else(|| panic!("{name}: {day}"));
                assert!(data.years.contains(&date.year()), "{name}: {day}");
            }
        }
        assert!(calendar("ID").is_ok() && calendar("GB").is_ok());
        assert!(matches!(
            calendar("XX"),
            Err(DeadlineError::UnknownCalendar(_))
        ));
    }

    #[test]
    fn ltkm_three_working_days_skip_the_weekend_and_holidays() {
        let id = calendar("ID").unwrap();
        // Thursday 10:00 WIB → Fri, Mon, Tue: due at the end of Tuesday 2026-12-08 WIB.
        let due = id.due(datetime!(2026-12-03 03:00 UTC), 3).unwrap();
        assert_eq!(due, datetime!(2026-12-08 17:00 UTC));
        // Over Christmas: Wed 23 Dec → (24, 25 holidays, weekend) Mon 28, Tue 29, Wed 30.
        let due = id.due(datetime!(2026-12-23 02:00 UTC), 3).unwrap();
        assert_eq!(due, datetime!(2026-12-30 17:00 UTC));
        // Late evening UTC is already the next day in Jakarta.
        let due = id.due(datetime!(2026-12-02 20:00 UTC), 1).unwrap();
        assert_eq!(due, datetime!(2026-12-04 17:00 UTC));
    }

    #[test]
    fn daml_seven_working_days_in_london_follow_bank_holidays_and_summer_time() {
        let gb = calendar("GB").unwrap();
        // Thu 2 Apr 2026: Good Friday and Easter Monday skipped → Tue 7 … Wed 15 Apr, in BST.
        let due = gb.due(datetime!(2026-04-02 12:00 UTC), 7).unwrap();
        assert_eq!(due, datetime!(2026-04-15 23:00 UTC));
        // In winter London is UTC.
        let due = gb.due(datetime!(2026-12-01 12:00 UTC), 1).unwrap();
        assert_eq!(due, datetime!(2026-12-03 00:00 UTC));
    }

    #[test]
    fn a_year_without_data_is_refused() {
        let id = calendar("ID").unwrap();
        assert_eq!(
            id.due(datetime!(2027-12-28 03:00 UTC), 5),
            Err(DeadlineError::YearNotCovered {
                calendar: "ID".to_owned(),
                year: 2028
            })
        );
    }

    #[test]
    fn the_clock_warns_before_it_breaches() {
        let rule = DeadlineRule {
            working_days: 3,
            calendar: "ID".to_owned(),
            warn_hours: 24,
        };
        let due = rule.due(datetime!(2026-12-03 03:00 UTC)).unwrap();
        let warn = rule.warn_at(due);
        assert_eq!(
            ClockState::at(warn - Duration::SECOND, warn, due),
            ClockState::Running
        );
        assert_eq!(ClockState::at(warn, warn, due), ClockState::DueSoon);
        assert_eq!(ClockState::at(due, warn, due), ClockState::Breached);
    }
}
