//! The status the recommender owns, built from what was read for each workload: the
//! recommendations (at most `maxStatusRecommendations`, the biggest changes kept), `savings`,
//! `workloads.dataPointsCollected/Required` and the `Ready` condition. Pure: no clients, no
//! clock (the caller passes "now"). What it does not recompute — recommendations in Observe
//! mode, everything while the policy is paused or invalid, a workload whose query failed — it
//! sends back as it was, because a server-side apply drops what its manager stops sending.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::oom::OomKill;
use crate::crd::{
    AttunePolicyStatus, Condition, ContainerRecommendation, Savings, WorkloadRecommendation,
};
use crate::recommend::{
    ContainerInput, ContainerOutcome, DataProgress, Profile, Settings, is_stale,
    keep_largest_changes, recommend_container, stale_after,
};

/// One container's usage profiles.
#[derive(Debug, Clone)]
pub struct ContainerProfiles {
    pub name: String,
    pub cpu: Profile,
    pub memory: Profile,
}

/// What was read from Prometheus for one workload.
#[derive(Debug, Clone)]
pub enum Fetched {
    /// Profiles per container (as Prometheus names them) and the newest sample's time.
    Profiles {
        containers: Vec<ContainerProfiles>,
        newest_ms: Option<i64>,
    },
    /// The query failed; the text names the address and what it answered (never a secret).
    Failed(String),
}

/// One target workload: its current values and its usage.
#[derive(Debug, Clone)]
pub struct WorkloadState {
    pub kind: String,
    pub name: String,
    /// Per container, from [`super::current::current_values`].
    pub current: Vec<(String, crate::crd::ResourceValues)>,
    /// Per container, what the pod asks for now ([`super::current::live_values`]).
    pub live: Vec<(String, crate::crd::ResourceValues)>,
    /// OOM kills within the history window ([`super::oom::oom_kills`]).
    pub oom: Vec<OomKill>,
    pub fetched: Fetched,
}

/// Why nothing is computed for the policy; the `Ready` reason says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocked {
    Paused,
    /// A field of the policy (or its bearer-token Secret) is unusable; the text names it.
    Invalid(String),
    DiscoveryFailed(String),
    NoWorkloads,
}

/// How recommendations go into the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteRules {
    /// False in Observe mode: computed, not written (the previous ones stay).
    pub recommendations: bool,
    /// `includeExplanationsInStatus`.
    pub explanations: bool,
    /// `maxStatusRecommendations` (0: no limit).
    pub max: usize,
}

/// Everything [`build`] reads.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub previous: Option<&'a AttunePolicyStatus>,
    pub blocked: Option<Blocked>,
    pub workloads: &'a [WorkloadState],
    /// The chain's settings; `None` only when blocked.
    pub settings: Option<&'a Settings>,
    /// `queryStep`, for staleness and the time left while collecting.
    pub step: Duration,
    pub write: WriteRules,
    pub generation: Option<i64>,
    pub now: DateTime<Utc>,
}

/// The owned status, and what a log line reports about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Owned {
    pub ready: Condition,
    pub recommendations: Vec<WorkloadRecommendation>,
    pub savings: Option<Savings>,
    /// `workloads.dataPointsCollected` / `dataPointsRequired`.
    pub data_points: Option<(i64, i64)>,
    /// Workloads with a recommendation computed now.
    pub recommended: usize,
    /// Recommendations written with `stale: true`.
    pub stale: usize,
    /// Containers whose current values could not be read.
    pub problems: Vec<String>,
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn ready(ok: bool, reason: &str, message: String) -> Condition {
    Condition {
        type_: "Ready".into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: Some(reason.into()),
        message: Some(message),
        last_transition_time: None,
        observed_generation: None,
    }
}

/// Builds the owned status.
pub fn build(inputs: &Inputs<'_>) -> Owned {
    let previous_recommendations = inputs
        .previous
        .map(|p| p.recommendations.clone())
        .unwrap_or_default();
    let previous_savings = inputs.previous.and_then(|p| p.savings.clone());
    let previous_points = inputs
        .previous
        .and_then(|p| p.workloads.as_ref())
        .and_then(|w| w.data_points_collected.zip(w.data_points_required));
    let mut owned = match (&inputs.blocked, inputs.settings) {
        (Some(blocked), _) => Owned {
            ready: blocked_ready(blocked),
            recommendations: previous_recommendations,
            savings: previous_savings,
            data_points: previous_points,
            recommended: 0,
            stale: 0,
            problems: Vec::new(),
        },
        (None, None) => Owned {
            ready: blocked_ready(&Blocked::Invalid("the recommender has no settings".into())),
            recommendations: previous_recommendations,
            savings: previous_savings,
            data_points: previous_points,
            recommended: 0,
            stale: 0,
            problems: Vec::new(),
        },
        (None, Some(settings)) => {
            computed(inputs, settings, previous_recommendations, previous_savings)
        }
    };
    owned.ready.observed_generation = inputs.generation;
    let before = inputs
        .previous
        .into_iter()
        .flat_map(|p| &p.conditions)
        .find(|c| c.type_ == "Ready");
    owned.ready.last_transition_time = match before {
        Some(b) if b.status == owned.ready.status && b.last_transition_time.is_some() => {
            b.last_transition_time.clone()
        }
        _ => Some(time(inputs.now)),
    };
    owned
}

fn blocked_ready(blocked: &Blocked) -> Condition {
    match blocked {
        Blocked::Paused => ready(false, "Paused", "spec.paused is true".into()),
        Blocked::Invalid(why) => ready(false, "InvalidConfig", why.clone()),
        Blocked::DiscoveryFailed(why) => ready(false, "WorkloadDiscoveryFailed", why.clone()),
        Blocked::NoWorkloads => ready(
            false,
            "NoWorkloadsFound",
            "no workload in the policy's namespace matches targetRef".into(),
        ),
    }
}

fn computed(
    inputs: &Inputs<'_>,
    settings: &Settings,
    previous: Vec<WorkloadRecommendation>,
    previous_savings: Option<Savings>,
) -> Owned {
    let mut list = Vec::new();
    let mut failures = Vec::new();
    let mut problems = Vec::new();
    let mut collected = 0usize;
    let mut recommended = 0;
    for w in inputs.workloads {
        match &w.fetched {
            Fetched::Failed(why) => {
                failures.push(why.clone());
                let kept = previous
                    .iter()
                    .find(|r| r.workload == w.name && r.kind == w.kind)
                    .cloned();
                list.extend(kept.map(|r| aged(r, inputs.now, inputs.step)));
            }
            Fetched::Profiles {
                containers,
                newest_ms,
            } => {
                let (entry, points) =
                    workload(inputs, settings, w, containers, *newest_ms, &mut problems);
                collected = collected.max(points);
                if let Some(entry) = entry {
                    recommended += 1;
                    list.push(entry);
                }
            }
        }
    }
    let stale_of =
        |l: &[WorkloadRecommendation]| l.iter().filter(|r| r.stale == Some(true)).count();
    let (recommendations, savings) = if inputs.write.recommendations {
        let kept = keep_largest_changes(list, inputs.write.max);
        let savings = super::savings::savings(&kept, inputs.workloads);
        (kept, Some(savings))
    } else {
        (previous, previous_savings)
    };
    let stale = stale_of(&recommendations);
    let required = settings.minimum_data_points;
    let progress = DataProgress::new(collected, required, inputs.step);
    let ready = if let Some(first) = failures.first() {
        let more = match failures.len() {
            1 => String::new(),
            2 => " (and 1 more workload)".to_owned(),
            n => format!(" (and {} more workloads)", n - 1),
        };
        ready(false, "PrometheusUnavailable", format!("{first}{more}"))
    } else if recommended == 0 {
        ready(false, "InsufficientData", progress.to_string())
    } else {
        let mut message = format!(
            "Watching {}, {} with recommendations",
            crate::controller::status::plural(inputs.workloads.len(), "workload"),
            recommended
        );
        if stale > 0 {
            message.push_str(&format!(
                "; {stale} stale (no recent usage data): neither resized nor proposed"
            ));
        }
        ready(true, "Monitoring", message)
    };
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    Owned {
        ready,
        recommendations,
        savings,
        data_points: Some((count(collected), count(required))),
        recommended,
        stale,
        problems,
    }
}

/// One workload's recommendation (when any container has one) and its most data points.
fn workload(
    inputs: &Inputs<'_>,
    settings: &Settings,
    w: &WorkloadState,
    containers: &[ContainerProfiles],
    newest_ms: Option<i64>,
    problems: &mut Vec<String>,
) -> (Option<WorkloadRecommendation>, usize) {
    let empty = Profile::from_samples(&[]);
    let at = time(inputs.now);
    let mut points = 0;
    let mut out: Vec<ContainerRecommendation> = Vec::new();
    for (name, current) in &w.current {
        // Per resource, the pod-level series (container "") stands in when Prometheus has
        // nothing for the container itself, as the Go operator reads it.
        let pick = |of: fn(&ContainerProfiles) -> &Profile| {
            let named = containers.iter().find(|c| &c.name == name).map(of);
            let pod = containers.iter().find(|c| c.name.is_empty()).map(of);
            match (named, pod) {
                (Some(p), _) if p.data_points > 0 => p,
                (_, Some(p)) => p,
                (Some(p), None) => p,
                (None, None) => &empty,
            }
        };
        let (cpu, memory) = (pick(|p| &p.cpu), pick(|p| &p.memory));
        points = points.max(cpu.data_points).max(memory.data_points);
        let oom = w.oom.iter().find(|k| &k.container == name);
        let input = ContainerInput {
            current,
            cpu,
            memory,
            oom: oom.and_then(|k| k.event(memory.overall.max)),
        };
        match recommend_container(settings, &input) {
            Ok(ContainerOutcome::Recommended(r)) => {
                out.push(r.to_status(name, &at, inputs.write.explanations));
            }
            Ok(ContainerOutcome::InsufficientData { .. }) => {}
            Err(e) => problems.push(format!("{}/{} container {name}: {e}", w.kind, w.name)),
        }
    }
    if out.is_empty() {
        return (None, points);
    }
    let last_data_time = newest_ms
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .map(time);
    let entry = WorkloadRecommendation {
        workload: w.name.clone(),
        kind: w.kind.clone(),
        last_data_time,
        stale: Some(is_stale(
            newest_ms,
            inputs.now.timestamp_millis(),
            inputs.step,
        )),
        containers: out,
    };
    (Some(entry), points)
}

/// A kept recommendation (its query failed now), stale once its `lastDataTime` is older than
/// 2 × step + 10 min or unreadable.
fn aged(
    mut r: WorkloadRecommendation,
    now: DateTime<Utc>,
    step: Duration,
) -> WorkloadRecommendation {
    let newest = r
        .last_data_time
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp_millis());
    let old = newest.is_none_or(|n| {
        i128::from(now.timestamp_millis()) - i128::from(n) > stale_after(step).as_millis() as i128
    });
    if old {
        r.stale = Some(true);
    }
    r
}

impl Owned {
    /// The status part of the apply body.
    pub fn status(&self) -> Value {
        let mut status = Map::new();
        status.insert("conditions".into(), json!([self.ready]));
        if let Some((collected, required)) = self.data_points {
            status.insert(
                "workloads".into(),
                json!({"dataPointsCollected": collected, "dataPointsRequired": required}),
            );
        }
        status.insert("recommendations".into(), json!(self.recommendations));
        if let Some(savings) = &self.savings {
            status.insert("savings".into(), json!(savings));
        }
        Value::Object(status)
    }

    /// The apply body for the status subresource.
    pub fn apply_body(&self) -> Value {
        json!({
            "apiVersion": "attune.io/v1alpha1",
            "kind": "AttunePolicy",
            "status": self.status(),
        })
    }

    /// Whether applying would change what `previous` holds, timestamps aside: the policy watch
    /// sees every write, so writing unchanged values would only wake reconciles.
    pub fn differs(&self, previous: Option<&AttunePolicyStatus>) -> bool {
        let Some(Ok(before)) = previous.map(serde_json::to_value) else {
            return true;
        };
        let want = self.status();
        let Value::Object(want) = want else {
            return true;
        };
        want.into_iter().any(|(key, want)| {
            let have = before.get(&key).cloned().unwrap_or(Value::Null);
            let have = match key.as_str() {
                "conditions" => json!(
                    have.as_array()
                        .into_iter()
                        .flatten()
                        .filter(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
                        .collect::<Vec<_>>()
                ),
                "workloads" => json!({
                    "dataPointsCollected": have.get("dataPointsCollected"),
                    "dataPointsRequired": have.get("dataPointsRequired"),
                }),
                "recommendations" if have.is_null() => json!([]),
                _ => have,
            };
            strip_times(have) != strip_times(want)
        })
    }
}

/// Drops `…Time` keys, `lastUpdated` and `hourlyProfile`, recursively, and compares numbers to
/// 12 significant digits: a float read back from the API server can differ in its last bit
/// (serde_json's default parser is not exactly round-trip), and `20.0` may come back as `20`.
/// The hourly profile moves a little with every new sample; alone it is no reason to write,
/// and the one stored is the evidence for the values stored with it.
fn strip_times(value: Value) -> Value {
    match value {
        Value::Number(n) => n
            .as_f64()
            .map_or(Value::Number(n), |f| Value::String(format!("{f:.11e}"))),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| {
                    !(k.ends_with("Time") || k == "lastUpdated" || k == "hourlyProfile")
                })
                .map(|(k, v)| (k, strip_times(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_times).collect()),
        other => other,
    }
}
