//! The controller's Prometheus metrics, registered once and shared by every reconcile.
//!
//! Every label takes values from a closed set (an enum here), so a misbehaving cluster or
//! repository can never grow the number of series: no policy, pod or repository names appear
//! as label values. This module knows nothing about how the numbers are produced; the
//! controller calls the recording methods and the HTTP layer calls [`Metrics::encode`].

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// How a reconcile ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum ReconcileResult {
    Ok,
    Error,
}

/// Why a reconcile failed, in categories an operator can act on.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum FailureCategory {
    /// The policy itself is invalid (bad quantity, duration, bounds).
    InvalidPolicy,
    /// The API server refused or failed a call (including RBAC).
    Kubernetes,
    /// Tracing the workload to its Git source failed.
    Locate,
    /// A git fetch or push failed.
    Git,
    /// A forge API call failed.
    Forge,
    /// The repository or its files could not be used (not allowed, unreadable, bad YAML).
    Repository,
}

/// What happened to one pod's resize.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum ResizeResult {
    Applied,
    Skipped,
    Deferred,
    Infeasible,
    Failed,
    /// Put back to its values from before Attune's first resize by the auto-revert watch.
    Reverted,
}

/// What the pull-request pipeline did for one branch.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum PrAction {
    Created,
    Updated,
    Unchanged,
    Closed,
    Skipped,
    DryRun,
    Failed,
}

/// An auto-revert check that reads Prometheus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevertCheck {
    Throttle,
    Slo,
}

impl RevertCheck {
    pub fn as_str(self) -> &'static str {
        match self {
            RevertCheck::Throttle => "throttle",
            RevertCheck::Slo => "slo",
        }
    }
}

impl ReconcileResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ReconcileResult::Ok => "ok",
            ReconcileResult::Error => "error",
        }
    }
}

impl FailureCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCategory::InvalidPolicy => "invalid_policy",
            FailureCategory::Kubernetes => "kubernetes",
            FailureCategory::Locate => "locate",
            FailureCategory::Git => "git",
            FailureCategory::Forge => "forge",
            FailureCategory::Repository => "repository",
        }
    }
}

impl ResizeResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ResizeResult::Applied => "applied",
            ResizeResult::Skipped => "skipped",
            ResizeResult::Deferred => "deferred",
            ResizeResult::Infeasible => "infeasible",
            ResizeResult::Reverted => "reverted",
            ResizeResult::Failed => "failed",
        }
    }
}

impl PrAction {
    pub fn as_str(self) -> &'static str {
        match self {
            PrAction::Created => "created",
            PrAction::Updated => "updated",
            PrAction::Unchanged => "unchanged",
            PrAction::Closed => "closed",
            PrAction::Skipped => "skipped",
            PrAction::DryRun => "dry_run",
            PrAction::Failed => "failed",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CategoryLabel {
    category: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResizeLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabel {
    check: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PrLabel {
    action: &'static str,
}

/// The registry and every family in it.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    reconciles: Family<ResultLabel, Counter>,
    failures: Family<CategoryLabel, Counter>,
    reconcile_seconds: Histogram,
    resizes: Family<ResizeLabel, Counter>,
    pull_requests: Family<PrLabel, Counter>,
    pr_seconds: Histogram,
    leader: Gauge,
    prometheus_queries: Counter,
    failed_open: Family<CheckLabel, Counter>,
    prometheus_errors: Counter,
    recommended_at: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("attune");
        let reconciles = Family::<ResultLabel, Counter>::default();
        registry.register(
            "reconciles",
            "Policy reconciles by result",
            reconciles.clone(),
        );
        let failures = Family::<CategoryLabel, Counter>::default();
        registry.register(
            "reconcile_failures",
            "Failed reconcile steps by category",
            failures.clone(),
        );
        // 1 ms to ~7 min in steps of 1.5x: fine enough for percentiles, since a reconcile without
        // git takes milliseconds and one with a fetch and a push takes seconds.
        let reconcile_seconds = Histogram::new(
            prometheus_client::metrics::histogram::exponential_buckets(0.001, 1.5, 32),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time spent in one policy reconcile",
            reconcile_seconds.clone(),
        );
        let resizes = Family::<ResizeLabel, Counter>::default();
        registry.register("resizes", "Pod resizes by result", resizes.clone());
        let pull_requests = Family::<PrLabel, Counter>::default();
        registry.register(
            "gitops_pull_requests",
            "Pull-request pipeline runs by action",
            pull_requests.clone(),
        );
        let pr_seconds = Histogram::new(
            prometheus_client::metrics::histogram::exponential_buckets(0.05, 2.0, 12),
        );
        registry.register(
            "gitops_sync_duration_seconds",
            "Time spent in one pull-request pipeline run",
            pr_seconds.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica holds the leader lease",
            leader.clone(),
        );
        let prometheus_queries = Counter::default();
        registry.register(
            "prometheus_queries",
            "Range queries the built-in recommender sent to Prometheus",
            prometheus_queries.clone(),
        );
        let failed_open = Family::<CheckLabel, Counter>::default();
        registry.register(
            "revert_checks_failed_open",
            "Auto-revert checks (throttle, slo) that could not read Prometheus and kept the resize",
            failed_open.clone(),
        );
        let prometheus_errors = Counter::default();
        registry.register(
            "prometheus_query_errors",
            "Workload usage fetches from Prometheus that failed (unreachable, refused, bad answer)",
            prometheus_errors.clone(),
        );
        let recommended_at = Gauge::default();
        registry.register(
            "recommendations_computed_timestamp_seconds",
            "Unix time the recommender last computed recommendations from fresh usage",
            recommended_at.clone(),
        );
        Metrics {
            registry,
            reconciles,
            failures,
            reconcile_seconds,
            resizes,
            pull_requests,
            pr_seconds,
            leader,
            prometheus_queries,
            failed_open,
            prometheus_errors,
            recommended_at,
        }
    }

    pub fn reconcile(&self, result: ReconcileResult, seconds: f64) {
        self.reconciles
            .get_or_create(&ResultLabel {
                result: result.as_str(),
            })
            .inc();
        self.reconcile_seconds.observe(seconds);
    }

    pub fn failure(&self, category: FailureCategory) {
        self.failures
            .get_or_create(&CategoryLabel {
                category: category.as_str(),
            })
            .inc();
    }

    pub fn resize(&self, result: ResizeResult) {
        self.resizes
            .get_or_create(&ResizeLabel {
                result: result.as_str(),
            })
            .inc();
    }

    pub fn pull_request(&self, action: PrAction, seconds: f64) {
        self.pull_requests
            .get_or_create(&PrLabel {
                action: action.as_str(),
            })
            .inc();
        self.pr_seconds.observe(seconds);
    }

    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// Counts range queries sent by the recommender.
    pub fn prometheus_queries(&self, queries: u64) {
        self.prometheus_queries.inc_by(queries);
    }

    /// Counts a throttle or SLO check that failed open.
    pub fn revert_check_failed_open(&self, check: RevertCheck) {
        self.failed_open
            .get_or_create(&CheckLabel {
                check: check.as_str(),
            })
            .inc();
    }

    /// Counts usage fetches that failed.
    pub fn prometheus_query_errors(&self, errors: u64) {
        self.prometheus_errors.inc_by(errors);
    }

    /// Records that recommendations were computed from usage at `unix_seconds`.
    pub fn recommendations_computed(&self, unix_seconds: i64) {
        self.recommended_at.set(unix_seconds);
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_values_appear_with_bounded_labels() {
        let m = Metrics::new();
        m.reconcile(ReconcileResult::Ok, 0.01);
        m.reconcile(ReconcileResult::Error, 0.02);
        m.failure(FailureCategory::Git);
        m.resize(ResizeResult::Applied);
        m.resize(ResizeResult::Applied);
        m.pull_request(PrAction::Created, 1.5);
        m.set_leader(true);
        let text = m.encode();
        assert!(
            text.contains("attune_reconciles_total{result=\"ok\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("attune_reconcile_failures_total{category=\"git\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("attune_resizes_total{result=\"applied\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("attune_gitops_pull_requests_total{action=\"created\"} 1"),
            "{text}"
        );
        assert!(text.contains("attune_leader 1"), "{text}");
        m.prometheus_query_errors(2);
        m.recommendations_computed(1_796_644_800);
        let text = m.encode();
        assert!(
            text.contains("attune_prometheus_query_errors_total 2"),
            "{text}"
        );
        assert!(
            text.contains("attune_recommendations_computed_timestamp_seconds 1796644800"),
            "{text}"
        );
        assert!(
            text.contains("attune_reconcile_duration_seconds_count 2"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
