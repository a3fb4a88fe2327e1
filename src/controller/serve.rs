//! The controller's HTTP side: `/metrics` (OpenMetrics text), `/healthz` (the process is alive)
//! and `/readyz` (the apiserver answered, leader election works, and no shutdown has begun).
//!
//! [`Health`] holds the three facts readiness is made of; the runtime sets them, this module only
//! reports them. It must not know how the facts are found (apiserver calls, leases) nor what
//! the metrics mean, and it never prints configuration: nothing here can leak a credential.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;

use crate::metrics::Metrics;

/// The content type of the OpenMetrics 1.0 text format `Metrics::encode` writes.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("the metrics and health server failed")]
    Serve(#[source] std::io::Error),
}

/// What readiness is made of. All false at start: not ready until the runtime has checked.
#[derive(Debug, Default)]
pub struct Health {
    apiserver: AtomicBool,
    election: AtomicBool,
    stopping: AtomicBool,
    /// What keeps leader election from the lease, when the runtime knows.
    election_problem: Mutex<Option<String>>,
}

impl Health {
    pub fn new() -> Health {
        Health::default()
    }

    /// The apiserver answered a request.
    pub fn set_apiserver(&self, answered: bool) {
        self.apiserver.store(answered, Ordering::SeqCst);
    }

    /// Leader election is working: this replica leads, or it stands by with a lease manager
    /// that reaches the apiserver (always true without leader election).
    pub fn set_election(&self, healthy: bool) {
        if healthy {
            *self.problem() = None;
        }
        self.election.store(healthy, Ordering::SeqCst);
    }

    /// Leader election cannot reach the lease, for the reason given (shown by `/readyz`).
    pub fn set_election_problem(&self, problem: String) {
        *self.problem() = Some(problem);
        self.election.store(false, Ordering::SeqCst);
    }

    fn problem(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.election_problem
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Shutdown has begun: readiness goes away for good so traffic and probes move on.
    pub fn set_stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Why the process is not ready, or `None` when it is.
    pub fn not_ready_reason(&self) -> Option<String> {
        if self.is_stopping() {
            Some("shutting down".to_owned())
        } else if !self.apiserver.load(Ordering::SeqCst) {
            Some("the apiserver has not answered yet".to_owned())
        } else if !self.election.load(Ordering::SeqCst) {
            Some(match self.problem().as_deref() {
                Some(problem) => format!("leader election cannot reach the lease: {problem}"),
                None => "leader election cannot reach the lease".to_owned(),
            })
        } else {
            None
        }
    }
}

#[derive(Clone)]
struct Shared {
    metrics: Arc<Metrics>,
    health: Arc<Health>,
}

/// The routes, ready to serve or to call in a test.
pub fn router(metrics: Arc<Metrics>, health: Arc<Health>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(Shared { metrics, health })
}

/// Serves `router` on `listener` until `shutdown` resolves; requests in flight then finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServeError::Serve)
}

async fn metrics_text(State(shared): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)],
        shared.metrics.encode(),
    )
        .into_response()
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(shared): State<Shared>) -> Response {
    match shared.health.not_ready_reason() {
        None => (StatusCode::OK, "ok\n").into_response(),
        Some(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")).into_response(),
    }
}
