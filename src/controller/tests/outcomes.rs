//! What the history says of a resize after the API server accepted it: the kubelet's Deferred
//! verdict makes it `Pending`, and its later actuation makes it `Success`.

use serde_json::json;

use super::fixtures::*;
use super::scenarios::{after_apply, lines, status_body};
use super::server::client;
use crate::controller::reconcile::reconcile;

#[tokio::test]
async fn a_deferred_resize_is_pending_until_the_kubelet_applies_it() {
    let at = "2026-01-01T12:00:00Z";
    let mut p = policy(json!({"type": "Auto"}), recommend("150m"));
    p["status"]["resizeHistory"] = json!([{
        "timestamp": at, "workload": "web", "container": "app", "resource": "cpu",
        "from": "100m", "to": "150m", "method": "InPlace", "result": "Success",
    }]);
    let marks: std::collections::BTreeMap<String, String> = [
        ("attune.io/resized-at".to_owned(), at.to_owned()),
        ("attune.io/verified-resize".to_owned(), at.to_owned()),
        (
            "attune.io/resize-history".to_owned(),
            json!([{"at": at, "container": "app", "resource": "cpu", "field": "request",
                    "from": "100m", "to": "150m"}])
            .to_string(),
        ),
    ]
    .into();
    let mut waiting = pending(pod("web-5d8f-a", "150m"), "Deferred");
    waiting.metadata.annotations = Some(marks.clone());

    let (c, log) = client(p.clone());
    let ctx = context(c, vec![deployment()], vec![waiting]);
    reconcile(std::sync::Arc::new(typed(&p)), ctx)
        .await
        .unwrap();
    let status = status_body(&log);
    let entry = &status["status"]["resizeHistory"][0];
    assert_eq!(
        (&entry["result"], &entry["reason"]),
        (&json!("Pending"), &json!("deferred"))
    );
    assert_eq!(status["status"]["workloads"]["pending"], 1);

    // The kubelet found room: the pod runs at 150m, nothing pending on it.
    let stored = after_apply(&p, &status);
    let mut applied = pod("web-5d8f-a", "150m");
    applied.metadata.annotations = Some(marks);
    let (c, log) = client(stored.clone());
    let ctx = context(c, vec![deployment()], vec![applied.clone()]);
    reconcile(std::sync::Arc::new(typed(&stored)), ctx.clone())
        .await
        .unwrap();
    let status = status_body(&log);
    let entry = &status["status"]["resizeHistory"][0];
    assert_eq!(entry["result"], "Success");
    assert!(entry.get("reason").is_none(), "{entry}");
    assert_eq!(status["status"]["workloads"]["pending"], 0);

    // Settled: the next reconcile writes nothing.
    let settled = after_apply(&stored, &status);
    let (c, log) = client(settled.clone());
    let ctx = context(c, vec![deployment()], vec![applied]);
    reconcile(std::sync::Arc::new(typed(&settled)), ctx)
        .await
        .unwrap();
    assert_eq!(lines(&log), Vec::<String>::new());
}
