//! `updateStrategy.schedule`: the daily windows, days of the week and IANA time zone in which
//! resizes may start. Pure: [`Gate::from_spec`] reads and checks the spec once (an unknown zone,
//! day or time is an error, never "always open"), [`Gate::verdict`] says whether a given instant
//! is inside. Recommendations and pull requests are not gated; only resizes are.
//!
//! A window whose end is before its start crosses midnight and belongs to the day it starts on
//! (`22:00`–`04:00` on Friday runs into Saturday morning). The end is exclusive. Time zones come
//! from the tz database bundled with `jiff`, so a container image without
//! `/usr/share/zoneinfo` reads the same zones as a workstation.

use chrono::{DateTime, Utc};
use jiff::Timestamp;
use jiff::civil::Weekday;
use jiff::tz::TimeZone;

use crate::crd::Schedule;

const PATH: &str = "spec.updateStrategy.schedule";
const DAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Why a schedule cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "{PATH}.timezone: {0:?} is not an IANA time zone; write a name such as UTC, \
         Europe/Berlin or America/New_York"
    )]
    Zone(String),
    #[error(
        "{PATH}.daysOfWeek[{index}]: {value:?} is not a day; write Monday … Sunday (or Mon … Sun)"
    )]
    Day { index: usize, value: String },
    #[error("{PATH}.windows[{index}].{field}: {value:?} is not a time of day as HH:MM")]
    Time {
        index: usize,
        field: &'static str,
        value: String,
    },
    #[error(
        "{PATH}.windows[{index}]: start and end are both {value}, which is no window; for a \
         whole day leave out windows and list the day in daysOfWeek"
    )]
    Empty { index: usize, value: String },
}

/// One window in minutes after local midnight, end exclusive; `end < start` crosses midnight.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Window {
    start: u16,
    end: u16,
}

/// A checked schedule.
#[derive(Clone, Debug)]
pub struct Gate {
    zone: TimeZone,
    zone_name: String,
    windows: Vec<Window>,
    /// Allowed days, Monday = bit 0.
    days: u8,
}

/// Whether resizes may start at an instant, with a sentence for the status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Inside(String),
    Outside(String),
}

impl Gate {
    /// `None` when the policy sets no schedule (resizes at any time).
    pub fn from_spec(schedule: Option<&Schedule>) -> Result<Option<Gate>, ScheduleError> {
        let Some(s) = schedule else { return Ok(None) };
        let zone_name = match s.timezone.as_deref() {
            None | Some("") => "UTC".to_owned(),
            Some(name) => name.to_owned(),
        };
        let zone = TimeZone::get(&zone_name).map_err(|_| ScheduleError::Zone(zone_name.clone()))?;
        let mut days = 0u8;
        for (index, value) in s.days_of_week.iter().enumerate() {
            let day = parse_day(value).ok_or_else(|| ScheduleError::Day {
                index,
                value: value.clone(),
            })?;
            days |= 1 << day;
        }
        if s.days_of_week.is_empty() {
            days = 0x7f;
        }
        let mut windows = Vec::new();
        for (index, w) in s.windows.iter().enumerate() {
            let read = |field: &'static str, value: &str| {
                parse_time(value).ok_or_else(|| ScheduleError::Time {
                    index,
                    field,
                    value: value.to_owned(),
                })
            };
            let (start, end) = (read("start", &w.start)?, read("end", &w.end)?);
            if start == end {
                return Err(ScheduleError::Empty {
                    index,
                    value: w.start.clone(),
                });
            }
            windows.push(Window { start, end });
        }
        Ok(Some(Gate {
            zone,
            zone_name,
            windows,
            days,
        }))
    }

    fn day_allowed(&self, day: Weekday) -> bool {
        self.days & (1 << day.to_monday_zero_offset()) != 0
    }

    /// Inside or outside the schedule at `now`.
    pub fn verdict(&self, now: DateTime<Utc>) -> Verdict {
        let local = match Timestamp::from_second(now.timestamp()) {
            Ok(t) => t.to_zoned(self.zone.clone()),
            // Out of jiff's range (years beyond ±9999): closed, which is the safe side.
            Err(_) => return Verdict::Outside(format!("{now} is out of range")),
        };
        let day = local.weekday();
        let minute = u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute()))
            .unwrap_or_default();
        let inside = if self.windows.is_empty() {
            self.day_allowed(day)
        } else {
            self.windows.iter().any(|w| {
                if w.start < w.end {
                    self.day_allowed(day) && (w.start..w.end).contains(&minute)
                } else {
                    (self.day_allowed(day) && minute >= w.start)
                        || (self.day_allowed(day.previous()) && minute < w.end)
                }
            })
        };
        // No clock time in the text: it lands in a condition, which is written only when it
        // changes.
        let rule = self.describe();
        if inside {
            Verdict::Inside(format!("inside the schedule ({rule})"))
        } else {
            Verdict::Outside(format!(
                "outside the schedule ({rule}); resizes wait for the next window"
            ))
        }
    }

    fn describe(&self) -> String {
        let days = if self.days == 0x7f {
            "every day".to_owned()
        } else {
            (0..7)
                .filter(|d| self.days & (1 << d) != 0)
                .map(|d| &DAY_NAMES[d][..3])
                .collect::<Vec<_>>()
                .join(",")
        };
        let hhmm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        let windows = if self.windows.is_empty() {
            "all day".to_owned()
        } else {
            self.windows
                .iter()
                .map(|w| format!("{}-{}", hhmm(w.start), hhmm(w.end)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!("{days} {windows} {}", self.zone_name)
    }
}

/// Monday = 0. Full English names or their first three letters, any case.
fn parse_day(text: &str) -> Option<u8> {
    let lower = text.trim().to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|d| {
            let d = d.to_ascii_lowercase();
            lower == d || (lower.len() == 3 && d.starts_with(&lower))
        })
        .and_then(|i| u8::try_from(i).ok())
}

/// Minutes after midnight of `HH:MM`, 00:00 to 23:59.
fn parse_time(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    let two = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !two(h) || !two(m) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
