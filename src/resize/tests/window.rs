//! The schedule gates resizes: outside the window every pod is skipped as OutsideSchedule.

use serde_json::json;

use super::fixtures::*;
use crate::resize::SkipReason as R;

#[test]
fn resizes_happen_only_inside_the_schedule_table() {
    // now() is 2026-01-01 12:00 UTC, a Thursday; 13:00 in Berlin.
    let cases = [
        (
            json!({"windows": [{"start": "11:00", "end": "13:00"}]}),
            None,
        ),
        (
            json!({"windows": [{"start": "13:00", "end": "14:00"}]}),
            Some(R::OutsideSchedule),
        ),
        (
            json!({"windows": [{"start": "12:30", "end": "13:30"}], "timezone": "Europe/Berlin"}),
            None,
        ),
        (
            json!({"daysOfWeek": ["Saturday", "Sunday"]}),
            Some(R::OutsideSchedule),
        ),
        (json!({"daysOfWeek": ["Thursday"]}), None),
    ];
    for (schedule, want) in cases {
        let s = settings(
            json!({"type": "Auto", "schedule": schedule}),
            json!({}),
            json!({}),
        );
        let p = with(pod("web-a"), "app", "cpu=100m/-");
        let decision = ctx(s, &rec(&[("app", Some("200m"), None)]), 35).assess(&p);
        match (got(&decision), want) {
            (Want::Skip(reason), Some(w)) => assert_eq!(reason, w, "{schedule}"),
            (Want::Patch(_), None) => {}
            (other, _) => panic!("{schedule}: {other:?}"),
        }
    }
}
