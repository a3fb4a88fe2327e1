//! Auto-revert: after Attune resizes a pod it watches the pod for the observation period and
//! puts the pod back to its values from before Attune's first resize when the resize hurt it.
//!
//! - [`verdict`] decides from facts (OOM kill, restarts, readiness, throttling, SLOs); pure.
//! - [`backoff`] reads the history: the backed-off cooldown, `HighRevertRate`, and the values
//!   the GitOps step must hold back; pure.
//! - [`facts`] reads a pod (what is watched, the kubelet's facts, the revert patch); pure.
//! - [`queries`] builds the throttling and `sloGuardrails` queries and reduces their answers;
//!   pure. [`measure`] sends them through the policy's Prometheus client.
//! - This file is the thin I/O: it reads the settings, sends the `pods/resize` revert (retried
//!   on conflict) and the annotations that close an observation.

pub mod backoff;
pub mod facts;
pub mod measure;
pub mod queries;
pub mod verdict;

#[cfg(test)]
mod tests;

use chrono::{DateTime, TimeDelta, Utc};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};

use crate::crd::duration::parse_go_duration;
use crate::crd::{AttunePolicySpec, UpdateMode};
use facts::{Restored, RevertPatch};
use verdict::{Observation, Reading, RevertReason, Verdict};

/// `safetyObservationPeriod` when unset.
const DEFAULT_PERIOD: TimeDelta = TimeDelta::minutes(5);
/// Attempts of one revert when the pod changes under it.
const CONFLICT_ATTEMPTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum RevertError {
    #[error("{field} {value:?} is not a duration: {reason}")]
    BadDuration {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error(transparent)]
    Guardrail(#[from] queries::GuardrailError),
    #[error("pod {pod}: reverting the resize ({reason}) failed: {source}")]
    Api {
        pod: String,
        reason: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "pod {pod}: reverting the resize ({reason}) conflicted {CONFLICT_ATTEMPTS} times; the \
         next reconcile tries again"
    )]
    Conflict { pod: String, reason: String },
}

/// The revert settings of a policy.
#[derive(Clone, Debug, PartialEq)]
pub struct RevertSettings {
    pub enabled: bool,
    /// `safetyObservationPeriod`, or the canary's `observationPeriod` or the longest
    /// guardrail `evaluationWindow` when longer (a guardrail then judges only time after the
    /// resize).
    pub period: TimeDelta,
    pub guardrails: Vec<queries::Guardrail>,
    /// `canary.autoPromote` of a Canary policy: once every canary pod passed its observation
    /// ([`facts::canary_passed`]) the rest of the workload is resized as in Auto.
    pub auto_promote: bool,
}

impl RevertSettings {
    pub fn from_spec(spec: &AttunePolicySpec) -> Result<RevertSettings, RevertError> {
        let strategy = spec.update_strategy.clone().unwrap_or_default();
        let read = |field: &'static str, text: Option<&str>| match text {
            None => Ok(None),
            Some(t) => parse_go_duration(t)
                .map(|d| Some(TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)))
                .map_err(|reason| RevertError::BadDuration {
                    field,
                    value: t.to_owned(),
                    reason,
                }),
        };
        let safety = read(
            "updateStrategy.safetyObservationPeriod",
            strategy.safety_observation_period.as_deref(),
        )?
        .unwrap_or(DEFAULT_PERIOD);
        let auto_promote = strategy.mode() == UpdateMode::Canary
            && strategy.canary.as_ref().and_then(|c| c.auto_promote) == Some(true);
        let canary = match strategy.mode() {
            UpdateMode::Canary => read(
                "updateStrategy.canary.observationPeriod",
                strategy
                    .canary
                    .as_ref()
                    .and_then(|c| c.observation_period.as_deref()),
            )?,
            _ => None,
        };
        let guardrails = queries::guardrails(&strategy.slo_guardrails)?;
        let longest = guardrails
            .iter()
            .map(queries::Guardrail::window_delta)
            .max();
        let period = canary.map_or(safety, |c| c.max(safety));
        Ok(RevertSettings {
            enabled: strategy.auto_revert != Some(false),
            period: longest.map_or(period, |w| w.max(period)),
            guardrails,
            auto_promote,
        })
    }
}

/// A pod put back.
#[derive(Clone, Debug, PartialEq)]
pub struct Reverted {
    pub pod: String,
    pub reason: RevertReason,
    pub restored: Vec<Restored>,
    /// Why the annotations that close the observation could not be written, if so.
    pub annotation_error: Option<String>,
}

/// What watching one workload's pods found and did.
#[derive(Debug, Default)]
pub struct Report {
    pub reverted: Vec<Reverted>,
    pub failures: Vec<RevertError>,
    /// Pods whose observation ended without a revert.
    pub verified: Vec<String>,
    /// Checks that could not be made and did not count against a resize (fail open).
    pub failed_open: Vec<String>,
    /// The earliest end of an observation still running.
    pub watch_until: Option<DateTime<Utc>>,
}

impl Report {
    /// Adds what watching other pods of the same workload found.
    pub fn merge(&mut self, other: Report) {
        self.reverted.extend(other.reverted);
        self.failures.extend(other.failures);
        self.verified.extend(other.verified);
        self.failed_open.extend(other.failed_open);
        if let Some(until) = other.watch_until {
            self.watch_until = Some(self.watch_until.map_or(until, |u| u.min(until)));
        }
    }
}

/// Prometheus readings for a pod whose observation period is over. The throttle and SLO
/// checks call it only then; an error is a [`Reading::Failed`] and fails open.
#[derive(Clone, Debug, PartialEq)]
pub struct Readings {
    pub throttle: Reading,
    pub slos: Vec<verdict::SloReading>,
}

impl Readings {
    /// Nothing measured (yet).
    pub fn none() -> Readings {
        Readings {
            throttle: Reading::NoData,
            slos: Vec::new(),
        }
    }
}

/// Watches the pods of one workload: reverts, verifies or keeps watching each resized pod.
/// `readings` is asked only for pods whose period is over.
pub async fn watch_pods(
    api: &Api<Pod>,
    settings: &RevertSettings,
    pods: &[Pod],
    now: DateTime<Utc>,
    readings: impl Fn(&Pod) -> Readings,
) -> Report {
    let mut report = Report::default();
    for pod in pods {
        let Some(resized_at) = facts::watched_since(pod) else {
            continue;
        };
        let due = verdict::period_over(resized_at, settings.period, now);
        let read = if due { readings(pod) } else { Readings::none() };
        let observation = Observation {
            resized_at,
            now,
            period: settings.period,
            containers: facts::containers(pod),
            ready: facts::is_ready(pod),
            throttle: read.throttle,
            slos: read.slos,
        };
        let name = pod.metadata.name.clone().unwrap_or_default();
        match verdict::decide(&observation) {
            Verdict::Watch { until } => {
                report.watch_until = Some(report.watch_until.map_or(until, |u| u.min(until)));
            }
            Verdict::Safe { failed_open } => {
                report
                    .failed_open
                    .extend(failed_open.into_iter().map(|f| format!("pod {name}: {f}")));
                let at = facts::resized_at_text(pod).unwrap_or_default();
                // Best effort: an unwritten mark only means the pod is judged again.
                if let Err(error) = annotate(api, &name, &facts::verified_annotation(at)).await {
                    tracing::debug!(pod = %name, %error, "verified mark not written");
                }
                report.verified.push(name);
            }
            Verdict::Revert(reason) => match revert(api, pod, &name, &reason, now).await {
                Ok(Some(done)) => report.reverted.push(done),
                Ok(None) => {}
                Err(error) => report.failures.push(error),
            },
        }
    }
    report
}

/// Sends the revert; `None` when the pod already has its original values.
async fn revert(
    api: &Api<Pod>,
    pod: &Pod,
    name: &str,
    reason: &RevertReason,
    now: DateTime<Utc>,
) -> Result<Option<Reverted>, RevertError> {
    let mut current = pod.clone();
    for _ in 0..CONFLICT_ATTEMPTS {
        let Some(RevertPatch { patch, restored }) = facts::revert_patch(&current) else {
            return Ok(None);
        };
        match api
            .patch_resize(name, &PatchParams::default(), &Patch::Strategic(&patch))
            .await
        {
            Ok(_) => {
                let marks = facts::revert_annotations(now, &reason.as_str());
                let annotation_error = annotate(api, name, &marks)
                    .await
                    .err()
                    .map(|e| e.to_string());
                return Ok(Some(Reverted {
                    pod: name.to_owned(),
                    reason: reason.clone(),
                    restored,
                    annotation_error,
                }));
            }
            Err(kube::Error::Api(status)) if status.code == 409 => {
                current = api.get(name).await.map_err(|source| RevertError::Api {
                    pod: name.to_owned(),
                    reason: reason.as_str(),
                    source,
                })?;
            }
            Err(source) => {
                return Err(RevertError::Api {
                    pod: name.to_owned(),
                    reason: reason.as_str(),
                    source,
                });
            }
        }
    }
    Err(RevertError::Conflict {
        pod: name.to_owned(),
        reason: reason.as_str(),
    })
}

async fn annotate(api: &Api<Pod>, name: &str, body: &serde_json::Value) -> Result<(), kube::Error> {
    api.patch(name, &PatchParams::default(), &Patch::Merge(body))
        .await
        .map(drop)
}
