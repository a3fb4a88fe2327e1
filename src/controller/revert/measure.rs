//! The end-of-period measurements: the throttling ratio and every `sloGuardrails` query of a
//! pod, sent through the policy's Prometheus client (the one the recommender uses: same
//! address, headers, token, TLS settings and the process's query budget).
//!
//! Every failure fails open: a Prometheus that cannot be reached, refuses the query or
//! answers garbage says nothing about the pod, so the reading is [`Reading::Failed`] and the
//! resize stays. Each such failure is logged (the error text names the address, never a
//! credential) and counted in `attune_revert_checks_failed_open_total{check}`. The kubelet's
//! facts (OOM kills, restarts, readiness) never wait for Prometheus.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;

use super::queries::{self, Subject};
use super::verdict::{self, Reading, SloReading};
use super::{Readings, RevertSettings, facts};
use crate::controller::recommender::fetch::{self, Clients};
use crate::crd::{AttunePolicy, SloComparison};
use crate::metrics::{Metrics, RevertCheck};
use crate::usage::{Prometheus, UsageSettings};

/// Whether the pod's verdict waits on Prometheus: its period is over and nothing the kubelet
/// reports (OOM kill, restarts, readiness) reverts it already. Only these pods are measured,
/// after every other pod of the workload has been judged, so a slow or unreachable Prometheus
/// never delays a revert.
pub fn needs_readings(settings: &RevertSettings, pod: &Pod, now: DateTime<Utc>) -> bool {
    let Some(resized_at) = facts::watched_since(pod) else {
        return false;
    };
    let none = Readings::none();
    let observation = verdict::Observation {
        resized_at,
        now,
        period: settings.period,
        containers: facts::containers(pod),
        ready: facts::is_ready(pod),
        throttle: none.throttle,
        slos: none.slos,
    };
    matches!(verdict::decide(&observation), verdict::Verdict::Safe { .. })
}

/// The client for one policy's checks, or why there is none.
pub struct Meter {
    prometheus: Result<Arc<Prometheus>, String>,
    namespace: String,
    policy: String,
}

impl Meter {
    /// The policy's Prometheus: `spec.metricsSource.prometheus` with its bearer token read
    /// from the policy's namespace.
    pub async fn for_policy(
        client: &kube::Client,
        clients: &Clients,
        policy: &AttunePolicy,
        namespace: &str,
    ) -> Meter {
        let source = &policy.spec.metrics_source;
        let prometheus = async {
            let token = fetch::bearer_token(client, namespace, source.prometheus.as_ref())
                .await
                .map_err(|e| e.to_string())?;
            let settings = UsageSettings::from_spec(source, token).map_err(|e| e.to_string())?;
            clients.get(&settings.endpoint).map_err(|e| e.to_string())
        }
        .await;
        Meter {
            prometheus,
            namespace: namespace.to_owned(),
            policy: format!(
                "{namespace}/{}",
                policy.metadata.name.as_deref().unwrap_or_default()
            ),
        }
    }

    /// Readings for every pod of `pods` whose observation period is over at `now`, by name
    /// (the caller passes those [`needs_readings`] picks).
    pub async fn read_due(
        &self,
        settings: &RevertSettings,
        workload: &str,
        pods: &[Pod],
        now: DateTime<Utc>,
        metrics: &Metrics,
    ) -> HashMap<String, Readings> {
        let mut out = HashMap::new();
        for pod in pods {
            let Some(resized_at) = facts::watched_since(pod) else {
                continue;
            };
            if !verdict::period_over(resized_at, settings.period, now) {
                continue;
            }
            let name = pod.metadata.name.clone().unwrap_or_default();
            let subject = Subject {
                namespace: &self.namespace,
                workload,
                pod: &name,
            };
            let throttle = if now - resized_at >= verdict::THROTTLE_WARMUP {
                let query = queries::throttle_query(&self.namespace, &name);
                self.ask(
                    &query,
                    SloComparison::Above,
                    now,
                    RevertCheck::Throttle,
                    metrics,
                )
                .await
            } else {
                Reading::NoData
            };
            let mut slos = Vec::with_capacity(settings.guardrails.len());
            for g in &settings.guardrails {
                let query = queries::render(g, &subject);
                slos.push(SloReading {
                    name: g.name.clone(),
                    threshold: g.threshold,
                    comparison: g.comparison,
                    reading: self
                        .ask(&query, g.comparison, now, RevertCheck::Slo, metrics)
                        .await,
                });
            }
            out.insert(name, Readings { throttle, slos });
        }
        out
    }

    async fn ask(
        &self,
        query: &str,
        comparison: SloComparison,
        now: DateTime<Utc>,
        check: RevertCheck,
        metrics: &Metrics,
    ) -> Reading {
        let answer = match &self.prometheus {
            Ok(prometheus) => prometheus
                .query_at(query, now.timestamp_millis())
                .await
                .map_err(|e| e.to_string()),
            Err(why) => Err(format!("no Prometheus to ask: {why}")),
        };
        match answer {
            Ok(series) => queries::reduce(&series, comparison),
            Err(error) => {
                metrics.revert_check_failed_open(check);
                tracing::warn!(
                    policy = %self.policy,
                    check = check.as_str(),
                    %error,
                    "a revert check could not be made; it fails open (the resize stays)"
                );
                Reading::Failed(error)
            }
        }
    }
}
