//! The metrics and health routes, called in process: content type and body of `/metrics`, and
//! `/readyz` following the runtime's facts (not ready before the apiserver answered or while
//! leader election is failing, ready after, not ready again once shutdown began).

use std::sync::Arc;

use attune::controller::serve::{Health, OPENMETRICS_CONTENT_TYPE, router};
use attune::metrics::{Metrics, ReconcileResult};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

async fn get(app: &axum::Router, path: &str) -> (StatusCode, Option<String>, String) {
    let response = app
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn metrics_serves_the_registry_as_openmetrics_text() {
    let metrics = Arc::new(Metrics::new());
    metrics.reconcile(ReconcileResult::Ok, 0.2);
    metrics.set_leader(true);
    let app = router(metrics.clone(), Arc::new(Health::new()));

    let (status, content_type, body) = get(&app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        content_type.as_deref(),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert_eq!(OPENMETRICS_CONTENT_TYPE, content_type.unwrap());
    assert!(
        body.contains("attune_reconciles_total{result=\"ok\"} 1"),
        "{body}"
    );
    assert!(body.contains("attune_leader 1"), "{body}");
    assert!(body.ends_with("# EOF\n"), "{body}");

    // The route reads the registry on every request, not a snapshot.
    metrics.set_leader(false);
    let (_, _, body) = get(&app, "/metrics").await;
    assert!(body.contains("attune_leader 0"), "{body}");
}

#[tokio::test]
async fn healthz_answers_while_the_process_lives_even_when_not_ready() {
    let health = Arc::new(Health::new());
    let app = router(Arc::new(Metrics::new()), health.clone());
    let (status, _, body) = get(&app, "/healthz").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));
    health.set_stopping();
    let (status, _, _) = get(&app, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn readyz_follows_apiserver_election_and_shutdown() {
    let health = Arc::new(Health::new());
    let app = router(Arc::new(Metrics::new()), health.clone());

    let (status, _, body) = get(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("apiserver"), "{body}");

    health.set_apiserver(true);
    let (status, _, body) = get(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("leader election"), "{body}");

    health.set_election(true);
    let (status, _, body) = get(&app, "/readyz").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok\n"));

    // A standby whose lease manager fails is not ready; it is again once it recovers.
    health.set_election(false);
    assert_eq!(
        get(&app, "/readyz").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    health.set_election(true);
    assert_eq!(get(&app, "/readyz").await.0, StatusCode::OK);

    health.set_stopping();
    let (status, _, body) = get(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("shutting down"), "{body}");
}

#[tokio::test]
async fn unknown_paths_are_not_found() {
    let app = router(Arc::new(Metrics::new()), Arc::new(Health::new()));
    assert_eq!(get(&app, "/debug").await.0, StatusCode::NOT_FOUND);
}
