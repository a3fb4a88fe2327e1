use chrono::{DateTime, Utc};

use super::*;
use crate::crd::ScheduleWindow;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn schedule(windows: &[(&str, &str)], days: &[&str], zone: Option<&str>) -> Schedule {
    Schedule {
        windows: windows
            .iter()
            .map(|(s, e)| ScheduleWindow {
                start: (*s).into(),
                end: (*e).into(),
            })
            .collect(),
        days_of_week: days.iter().map(|d| (*d).to_owned()).collect(),
        timezone: zone.map(str::to_owned),
    }
}

fn inside(s: &Schedule, now: &str) -> bool {
    let gate = Gate::from_spec(Some(s)).unwrap().unwrap();
    matches!(gate.verdict(at(now)), Verdict::Inside(_))
}

#[test]
fn no_schedule_means_no_gate() {
    assert!(Gate::from_spec(None).unwrap().is_none());
}

/// 2026-12-07 is a Monday; Berlin is UTC+1 and New York UTC-5 in December.
#[test]
fn windows_days_and_zones_decide_table() {
    let weekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"];
    let cases: [(Schedule, &str, bool); 14] = [
        // A plain window in UTC; the end is exclusive.
        (
            schedule(&[("01:00", "05:00")], &[], None),
            "2026-12-07T01:00:00Z",
            true,
        ),
        (
            schedule(&[("01:00", "05:00")], &[], None),
            "2026-12-07T04:59:59Z",
            true,
        ),
        (
            schedule(&[("01:00", "05:00")], &[], None),
            "2026-12-07T05:00:00Z",
            false,
        ),
        (
            schedule(&[("01:00", "05:00")], &[], None),
            "2026-12-07T00:59:00Z",
            false,
        ),
        // The zone moves the window: 02:00 Berlin is 01:00 UTC.
        (
            schedule(&[("02:00", "03:00")], &[], Some("Europe/Berlin")),
            "2026-12-07T01:30:00Z",
            true,
        ),
        (
            schedule(&[("02:00", "03:00")], &[], Some("Europe/Berlin")),
            "2026-12-07T02:30:00Z",
            false,
        ),
        // The day is the local one: Monday 02:00 UTC is still Sunday 21:00 in New York.
        (
            schedule(&[], &weekdays, Some("America/New_York")),
            "2026-12-07T02:00:00Z",
            false,
        ),
        (
            schedule(&[], &weekdays, Some("America/New_York")),
            "2026-12-07T06:00:00Z",
            true,
        ),
        // Across midnight: Friday's 22:00-04:00 window runs into Saturday, not Sunday's into Monday.
        (
            schedule(&[("22:00", "04:00")], &["Fri"], None),
            "2026-12-11T23:00:00Z",
            true,
        ),
        (
            schedule(&[("22:00", "04:00")], &["Fri"], None),
            "2026-12-12T03:00:00Z",
            true,
        ),
        (
            schedule(&[("22:00", "04:00")], &["Fri"], None),
            "2026-12-07T03:00:00Z",
            false,
        ),
        // Several windows: any one opens.
        (
            schedule(&[("01:00", "02:00"), ("13:00", "14:00")], &[], None),
            "2026-12-07T13:10:00Z",
            true,
        ),
        // Days without windows: the whole day; names in any case, short or long.
        (
            schedule(&[], &["saturday", "SUN"], None),
            "2026-12-12T12:00:00Z",
            true,
        ),
        (
            schedule(&[], &["saturday", "SUN"], None),
            "2026-12-07T12:00:00Z",
            false,
        ),
    ];
    for (s, now, want) in cases {
        assert_eq!(inside(&s, now), want, "{s:?} at {now}");
    }
}

#[test]
fn bad_schedules_are_refused_table() {
    let cases = [
        (
            schedule(&[], &[], Some("Mars/Olympus")),
            "spec.updateStrategy.schedule.timezone: \"Mars/Olympus\" is not an IANA time zone",
        ),
        (
            schedule(&[], &["Funday"], None),
            "spec.updateStrategy.schedule.daysOfWeek[0]: \"Funday\" is not a day",
        ),
        (
            schedule(&[("1:00", "05:00")], &[], None),
            "spec.updateStrategy.schedule.windows[0].start: \"1:00\" is not a time of day",
        ),
        (
            schedule(&[("01:00", "24:00")], &[], None),
            "spec.updateStrategy.schedule.windows[0].end: \"24:00\" is not a time of day",
        ),
        (
            schedule(&[("03:00", "03:00")], &[], None),
            "spec.updateStrategy.schedule.windows[0]: start and end are both 03:00",
        ),
    ];
    for (s, want) in cases {
        let err = Gate::from_spec(Some(&s)).unwrap_err().to_string();
        assert!(err.starts_with(want), "{err}");
    }
}

#[test]
fn the_verdict_says_where_and_when() {
    let s = schedule(&[("02:00", "03:00")], &["Mon"], Some("Europe/Berlin"));
    let gate = Gate::from_spec(Some(&s)).unwrap().unwrap();
    assert_eq!(
        gate.verdict(at("2026-12-07T12:00:00Z")),
        Verdict::Outside(
            "outside the schedule (Mon 02:00-03:00 Europe/Berlin); resizes wait for the next \
             window"
                .into()
        )
    );
}
