//! The event publisher against the scripted apiserver: what a first note creates, how a repeat
//! folds into the first event's series, and what starts a new event instead.

use serde_json::{Value, json};

use super::fixtures::{policy, recommend, typed};
use super::server::{Log, client, client_without_old_events};
use crate::controller::events::{Note, Publisher};

const CREATE: &str = "POST /apis/events.k8s.io/v1/namespaces/ns/events";

fn calls(log: &Log) -> Vec<(String, String, Value)> {
    log.lock()
        .unwrap()
        .iter()
        .map(|s| (s.method.clone(), s.path.clone(), s.body.clone().unwrap()))
        .collect()
}

fn resized(pod: &str) -> Note {
    Note::normal("Resized", "Resize", format!("{pod}: cpu 200m -> 120m")).about_pod(pod)
}

#[tokio::test]
async fn a_first_note_creates_a_complete_event() {
    let p = policy(json!({"type": "Auto"}), recommend("120m"));
    let (client, log) = client(p.clone());
    let publisher = Publisher::new(client, "attune-controller", Some("attune-0".into()));
    publisher.publish(&typed(&p), &[resized("web-1")]).await;

    let seen = calls(&log);
    assert_eq!(seen.len(), 1, "{seen:?}");
    let (method, path, body) = &seen[0];
    assert_eq!(format!("{method} {}", path.trim_end_matches('?')), CREATE);
    let name = body["metadata"]["name"].as_str().unwrap();
    let (prefix, suffix) = name.split_once('.').unwrap();
    assert_eq!(prefix, "web-policy");
    assert_eq!(suffix.len(), 16, "{name}");
    assert_eq!(body["metadata"]["namespace"], "ns");
    assert_eq!(body["type"], "Normal");
    assert_eq!(body["reason"], "Resized");
    assert_eq!(body["action"], "Resize");
    assert_eq!(body["note"], "web-1: cpu 200m -> 120m");
    assert_eq!(body["reportingController"], "attune-controller");
    assert_eq!(body["reportingInstance"], "attune-0");
    assert_eq!(body["regarding"]["kind"], "AttunePolicy");
    assert_eq!(body["regarding"]["name"], "web-policy");
    assert_eq!(body["regarding"]["uid"], "u1");
    assert_eq!(body["related"]["kind"], "Pod");
    assert_eq!(body["related"]["name"], "web-1");
    assert!(body["eventTime"].is_string(), "{body}");
    assert!(body.get("series").is_none(), "{body}");
}

#[tokio::test]
async fn a_repeat_counts_on_the_first_event_and_other_pods_get_their_own() {
    let p = policy(json!({"type": "Auto"}), recommend("120m"));
    let (client, log) = client(p.clone());
    let publisher = Publisher::new(client, "attune-controller", None);
    let policy = typed(&p);
    publisher.publish(&policy, &[resized("web-1")]).await;
    publisher.publish(&policy, &[resized("web-1")]).await;
    publisher
        .publish(&policy, &[resized("web-1"), resized("web-2")])
        .await;

    let seen = calls(&log);
    let first = seen[0].2["metadata"]["name"].as_str().unwrap().to_owned();
    assert_eq!(seen[0].2["reportingInstance"], "attune-controller");
    let expected_patch = format!("/apis/events.k8s.io/v1/namespaces/ns/events/{first}?");
    for (i, count) in [(1, 2), (2, 3)] {
        let (method, path, body) = &seen[i];
        assert_eq!(method, "PATCH");
        assert!(path.starts_with(&expected_patch), "{path}");
        assert_eq!(body["series"]["count"], count, "{body}");
        assert!(body["series"]["lastObservedTime"].is_string(), "{body}");
        assert_eq!(
            body.as_object().unwrap().len(),
            1,
            "only the series: {body}"
        );
    }
    let (method, _, body) = &seen[3];
    assert_eq!(method, "POST");
    assert_eq!(body["related"]["name"], "web-2");
    assert_ne!(body["metadata"]["name"], first.as_str());
    assert_eq!(seen.len(), 4, "{seen:?}");
}

#[tokio::test]
async fn a_warning_is_not_a_repeat_of_a_normal_event() {
    let p = policy(json!({"type": "Auto"}), recommend("120m"));
    let (client, log) = client(p.clone());
    let publisher = Publisher::new(client, "attune-controller", None);
    let normal = Note::normal("PullRequestOpened", "OpenPullRequest", "opened #1");
    let warning = Note::warning("PullRequestOpened", "OpenPullRequest", "opened #1");
    publisher.publish(&typed(&p), &[normal, warning]).await;

    let seen = calls(&log);
    let methods: Vec<&str> = seen.iter().map(|(m, _, _)| m.as_str()).collect();
    assert_eq!(methods, ["POST", "POST"]);
    assert_eq!(seen[1].2["type"], "Warning");
}

#[tokio::test]
async fn a_series_whose_event_expired_starts_a_new_event() {
    let p = policy(json!({"type": "Auto"}), recommend("120m"));
    let (client, log) = client_without_old_events(p.clone());
    let publisher = Publisher::new(client, "attune-controller", None);
    let policy = typed(&p);
    publisher.publish(&policy, &[resized("web-1")]).await;
    publisher.publish(&policy, &[resized("web-1")]).await;
    publisher.publish(&policy, &[resized("web-1")]).await;

    let seen = calls(&log);
    let methods: Vec<&str> = seen.iter().map(|(m, _, _)| m.as_str()).collect();
    // Each patch finds nothing (this server has forgotten every event), so each repeat starts
    // a new event, and the next repeat counts on that one.
    assert_eq!(methods, ["POST", "PATCH", "POST", "PATCH", "POST"]);
    let second = seen[2].2["metadata"]["name"].as_str().unwrap();
    assert_ne!(seen[0].2["metadata"]["name"], second);
    assert!(seen[3].1.contains(second), "{}", seen[3].1);
    assert_eq!(seen[3].2["series"]["count"], 2);
}

#[tokio::test]
async fn a_long_policy_name_still_makes_a_valid_event_name() {
    let mut p = policy(json!({"type": "Auto"}), recommend("120m"));
    p["metadata"]["name"] = json!("p".repeat(253));
    let (client, log) = client(p.clone());
    let publisher = Publisher::new(client, "attune-controller", None);
    publisher.publish(&typed(&p), &[resized("web-1")]).await;

    let seen = calls(&log);
    let name = seen[0].2["metadata"]["name"].as_str().unwrap();
    assert_eq!(name.len(), 253, "{name}");
}
