//! The annotations written after a resize: resize time, originals on first resize only, and
//! the bounded history.

use serde_json::json;

use super::fixtures::*;
use crate::resize::annotations::{HISTORY, HISTORY_LIMIT, RESIZED_AT, read_history};
use crate::resize::{Decision, Resize};

fn resize_of(pod: k8s_openapi::api::core::v1::Pod) -> Resize {
    let plan = ctx(auto(), &rec(&[("app", Some("200m"), Some("256Mi"))]), 35).plan(&[pod]);
    match &plan.pods[0].decision {
        Decision::Resize(resize) => resize.clone(),
        Decision::Skip(skip) => panic!("expected a resize, got {skip:?}"),
    }
}

#[test]
fn first_resize_records_every_original_value_of_the_container() {
    let pod = with(
        with(pod("p"), "app", "cpu=100m/1 mem=128Mi/-"),
        "other",
        "cpu=1/-",
    );
    let resize = resize_of(pod);
    let keys: Vec<(&str, &str)> = resize
        .annotations
        .iter()
        .filter(|(k, _)| k.contains("original"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("attune.io/original-cpu-limit.app", "1"),
            ("attune.io/original-cpu-request.app", "100m"),
            ("attune.io/original-memory-request.app", "128Mi"),
        ]
    );
    assert_eq!(resize.annotations[RESIZED_AT], "2026-01-01T12:00:00Z");
}

#[test]
fn later_resizes_keep_the_first_originals() {
    let pod = annotate(
        with(pod("p"), "app", "cpu=150m/- mem=128Mi/-"),
        "attune.io/original-cpu-request.app",
        "100m",
    );
    let resize = resize_of(pod);
    assert!(
        !resize
            .annotations
            .contains_key("attune.io/original-cpu-request.app")
    );
    assert_eq!(
        resize.annotations["attune.io/original-memory-request.app"], "128Mi",
        "a value without an original gets one"
    );
}

#[test]
fn history_appends_and_stays_bounded() {
    let old: Vec<serde_json::Value> = (0..HISTORY_LIMIT)
        .map(|i| {
            json!({ "at": format!("2025-01-{:02}T00:00:00Z", i + 1), "container": "app",
                    "resource": "cpu", "field": "request", "from": "1", "to": "2" })
        })
        .collect();
    let pod = annotate(
        with(pod("p"), "app", "cpu=100m/- mem=128Mi/-"),
        HISTORY,
        &serde_json::to_string(&old).unwrap(),
    );
    let resize = resize_of(pod.clone());
    let written = annotate(pod, HISTORY, &resize.annotations[HISTORY]);
    let history = read_history(&written).unwrap();
    assert_eq!(history.len(), HISTORY_LIMIT);
    let newest = &history[HISTORY_LIMIT - 1];
    assert_eq!(
        (
            newest.resource.as_str(),
            newest.from.as_deref(),
            newest.to.as_str()
        ),
        ("memory", Some("128Mi"), "256Mi")
    );
    assert_eq!(
        history[0].at, "2025-01-03T00:00:00Z",
        "the two oldest fell off"
    );
}

#[test]
fn unreadable_history_is_started_afresh() {
    let pod = annotate(with(pod("p"), "app", "cpu=100m/-"), HISTORY, "not json");
    let resize = resize_of(pod.clone());
    let history = read_history(&annotate(pod, HISTORY, &resize.annotations[HISTORY])).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].from.as_deref(), Some("100m"));
    assert_eq!(history[1].from, None, "memory had no request");
}
