//! Decisions of the recommender role: the owned status built from fetched profiles (Ready
//! reasons and messages, staleness, Observe, the status budget, savings, change detection),
//! the hand-over of `Ready`, the stale filter and the flag parsing.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use super::owned::{
    Blocked, ContainerProfiles, Fetched, Inputs, Owned, WorkloadState, WriteRules, build,
};
use super::{Mode, fresh, hand_over_ready};
use crate::crd::{AttunePolicySpec, AttunePolicyStatus, ResourceValues, WorkloadRecommendation};
use crate::recommend::{Profile, Sample, Settings};

const STEP: Duration = Duration::from_secs(300);

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap()
}

/// `count` samples every 5 minutes, the newest `age` before now.
fn flat(value: f64, count: i64, age: Duration) -> Profile {
    let newest = now().timestamp_millis() - age.as_millis() as i64;
    let samples: Vec<Sample> = (0..count)
        .map(|i| Sample {
            timestamp_ms: newest - (count - 1 - i) * 300_000,
            value,
        })
        .collect();
    Profile::from_samples(&samples)
}

fn settings() -> Settings {
    let spec: AttunePolicySpec = serde_json::from_value(json!({
        "targetRef": {"kind": "Deployment", "name": "web"},
        "metricsSource": {"prometheus": {"address": "http://prometheus:9090"}},
        "cpu": {}, "memory": {},
    }))
    .unwrap();
    Settings::from_spec(&spec).unwrap()
}

fn current(cpu: &str, memory: &str) -> ResourceValues {
    ResourceValues {
        cpu_request: Some(cpu.into()),
        memory_request: Some(memory.into()),
        ..ResourceValues::default()
    }
}

/// A workload with one container `app` whose CPU and memory are flat for `count` points.
fn workload(name: &str, cpu: f64, memory_mi: f64, count: i64, age: Duration) -> WorkloadState {
    let newest = now().timestamp_millis() - age.as_millis() as i64;
    WorkloadState {
        kind: "Deployment".into(),
        name: name.into(),
        current: vec![("app".into(), current("500m", "256Mi"))],
        live: vec![("app".into(), current("500m", "256Mi"))],
        oom: Vec::new(),
        fetched: Fetched::Profiles {
            containers: vec![ContainerProfiles {
                name: "app".into(),
                cpu: flat(cpu, count, age),
                memory: flat(memory_mi * 1_048_576.0, count, age),
            }],
            newest_ms: Some(newest),
        },
    }
}

const RULES: WriteRules = WriteRules {
    recommendations: true,
    explanations: true,
    max: 100,
};

fn run(
    previous: Option<&AttunePolicyStatus>,
    workloads: &[WorkloadState],
    write: WriteRules,
) -> Owned {
    let settings = settings();
    build(&Inputs {
        previous,
        blocked: None,
        workloads,
        settings: Some(&settings),
        step: STEP,
        write,
        generation: Some(3),
        now: now(),
    })
}

/// The status a previous apply left (as the API server would return it).
fn applied(owned: &Owned) -> AttunePolicyStatus {
    serde_json::from_value(owned.status()).unwrap()
}

#[test]
fn a_week_of_data_gives_monitoring_recommendations_with_explanations_and_savings() {
    let owned = run(
        None,
        &[workload("web", 0.1, 300.0, 2016, Duration::ZERO)],
        RULES,
    );
    assert_eq!(owned.ready.reason.as_deref(), Some("Monitoring"));
    assert_eq!(owned.ready.status, "True");
    assert_eq!(
        owned.ready.message.as_deref(),
        Some("Watching 1 workload, 1 with recommendations")
    );
    assert_eq!(owned.ready.observed_generation, Some(3));
    let [rec] = owned.recommendations.as_slice() else {
        panic!("{:?}", owned.recommendations)
    };
    assert_eq!(rec.stale, Some(false));
    assert_eq!(rec.last_data_time.as_deref(), Some("2026-01-05T00:00:00Z"));
    let app = &rec.containers[0];
    // E1 and E4 of the compatibility table: 100m flat → 250m (capped), 300Mi → 348966093.
    assert_eq!(app.recommended.cpu_request.as_deref(), Some("250m"));
    assert_eq!(app.recommended.memory_request.as_deref(), Some("348966093"));
    assert_eq!(app.data_points, Some(4032));
    let explanation = app.explanation.as_ref().unwrap().value();
    assert_eq!(explanation["cpu"]["afterConfidence"], json!("121m"));
    assert_eq!(owned.data_points, Some((2016, 48)));
    let savings = owned.savings.as_ref().unwrap();
    assert_eq!(savings.cpu_request_reduction.as_deref(), Some("250m"));
    assert_eq!(savings.memory_request_reduction.as_deref(), Some("0"));
    // 0.25 cores × $0.031 × 730 h.
    assert_eq!(savings.estimated_monthly_savings.as_deref(), Some("$5.66"));
    // Nothing resized yet: nothing taken off so far.
    assert_eq!(savings.cpu_request_reduction_total.as_deref(), Some("0"));
    assert_eq!(savings.memory_request_reduction_total.as_deref(), Some("0"));
}

#[test]
fn too_few_points_is_insufficient_data_with_progress_and_no_recommendation() {
    let owned = run(
        None,
        &[workload("fresh", 0.25, 200.0, 10, Duration::ZERO)],
        RULES,
    );
    assert_eq!(owned.ready.reason.as_deref(), Some("InsufficientData"));
    assert_eq!(owned.ready.status, "False");
    assert_eq!(
        owned.ready.message.as_deref(),
        Some("Collecting data: 10/48 data points (20%), about 3h10m left")
    );
    assert!(owned.recommendations.is_empty());
    assert_eq!(owned.data_points, Some((10, 48)));
    assert_eq!(owned.status()["workloads"]["dataPointsRequired"], json!(48));
}

#[test]
fn old_data_is_recommended_but_stale_and_the_message_says_so() {
    let owned = run(
        None,
        &[workload("web", 0.1, 300.0, 2016, Duration::from_secs(3600))],
        RULES,
    );
    assert_eq!(owned.recommendations[0].stale, Some(true));
    assert_eq!(owned.stale, 1);
    let message = owned.ready.message.clone().unwrap();
    assert!(
        message.ends_with("; 1 stale (no recent usage data): neither resized nor proposed"),
        "{message}"
    );
    // Stale recommendations count for no savings.
    assert_eq!(
        owned.savings.unwrap().cpu_request_reduction.as_deref(),
        Some("0")
    );
}

#[test]
fn prometheus_unavailable_names_the_answer_and_keeps_old_recommendations_as_stale() {
    let before = run(
        None,
        &[workload("web", 0.1, 300.0, 2016, Duration::ZERO)],
        RULES,
    );
    let mut previous = applied(&before);
    previous.recommendations[0].last_data_time = Some("2026-01-04T23:00:00Z".into());
    let failed = WorkloadState {
        fetched: Fetched::Failed(
            "prometheus at http://prometheus:9090 answered 503: unavailable".into(),
        ),
        ..workload("web", 0.0, 0.0, 0, Duration::ZERO)
    };
    let owned = run(Some(&previous), &[failed.clone(), failed], RULES);
    assert_eq!(owned.ready.reason.as_deref(), Some("PrometheusUnavailable"));
    assert_eq!(
        owned.ready.message.as_deref(),
        Some(
            "prometheus at http://prometheus:9090 answered 503: unavailable (and 1 more workload)"
        )
    );
    assert_eq!(owned.recommendations.len(), 2);
    assert!(owned.recommendations.iter().all(|r| r.stale == Some(true)));
    assert!(!fresh(&owned.recommendations[0]));
    // Data newer than 2 × step + 10 min stays usable while Prometheus is away.
    previous.recommendations[0].last_data_time = Some("2026-01-04T23:55:00Z".into());
    let failed = WorkloadState {
        fetched: Fetched::Failed("prometheus at http://prometheus:9090 did not answer".into()),
        ..workload("web", 0.0, 0.0, 0, Duration::ZERO)
    };
    let owned = run(Some(&previous), &[failed], RULES);
    assert_eq!(owned.recommendations[0].stale, Some(false));
}

#[test]
fn observe_computes_but_keeps_the_recommendations_that_were_there() {
    let previous = AttunePolicyStatus::default();
    let owned = run(
        Some(&previous),
        &[workload("web", 0.1, 300.0, 2016, Duration::ZERO)],
        WriteRules {
            recommendations: false,
            ..RULES
        },
    );
    assert_eq!(owned.ready.reason.as_deref(), Some("Monitoring"));
    assert_eq!(owned.recommended, 1);
    assert!(owned.recommendations.is_empty());
    assert_eq!(owned.status()["recommendations"], json!([]));
}

#[test]
fn the_status_budget_keeps_the_biggest_change_and_explanations_can_be_left_out() {
    let small = workload("small", 0.42, 256.0, 2016, Duration::ZERO);
    let big = workload("big", 0.1, 256.0, 2016, Duration::ZERO);
    let owned = run(
        None,
        &[small, big],
        WriteRules {
            recommendations: true,
            explanations: false,
            max: 1,
        },
    );
    let names: Vec<&str> = owned
        .recommendations
        .iter()
        .map(|r| r.workload.as_str())
        .collect();
    assert_eq!(names, ["big"]);
    assert!(owned.recommendations[0].containers[0].explanation.is_none());
    assert_eq!(
        owned.ready.message.as_deref(),
        Some("Watching 2 workloads, 2 with recommendations")
    );
}

#[test]
fn an_unchanged_result_is_not_written_again_but_a_changed_value_is() {
    let first = run(
        None,
        &[workload("web", 0.1, 300.0, 2016, Duration::ZERO)],
        RULES,
    );
    assert!(first.differs(None));
    let mut previous = applied(&first);
    // Another writer's condition and the controller's counters are not ours to compare.
    previous.conditions.push(crate::crd::Condition {
        type_: "Degraded".into(),
        status: "True".into(),
        ..Default::default()
    });
    previous.workloads.as_mut().unwrap().discovered = Some(1);
    previous.recommendations[0].containers[0].last_updated = Some("2020-01-01T00:00:00Z".into());
    // A float the API server gives back as written, `20.0`, still compares equal.
    let container = &mut previous.recommendations[0].containers[0];
    let mut explanation = container.explanation.as_ref().unwrap().value();
    assert_eq!(explanation["cpu"]["overhead"], json!(20));
    explanation["cpu"]["overhead"] = json!(20.0);
    container.explanation = Some(explanation.into());
    // And a float that lost its last bit on the way.
    let confidence = previous.recommendations[0].containers[0]
        .confidence
        .unwrap();
    previous.recommendations[0].containers[0].confidence =
        Some(f64::from_bits(confidence.to_bits() + 1));
    let again = run(
        Some(&previous),
        &[workload("web", 0.1, 300.0, 2016, Duration::ZERO)],
        RULES,
    );
    assert!(!again.differs(Some(&previous)), "{:#?}", again.status());
    // An hourly profile that moved while the values did not is no reason to write either.
    let mut moved = previous.clone();
    let container = &mut moved.recommendations[0].containers[0];
    let mut explanation = container.explanation.as_ref().unwrap().value();
    let profile = &mut explanation["cpu"]["hourlyProfile"]["values"][3];
    assert!(profile.is_string(), "{profile}");
    *profile = json!("999m");
    container.explanation = Some(explanation.into());
    assert!(!again.differs(Some(&moved)));
    let changed = run(
        Some(&previous),
        &[workload("web", 0.4, 300.0, 2016, Duration::ZERO)],
        RULES,
    );
    assert!(changed.differs(Some(&previous)));
}

#[test]
fn a_paused_or_invalid_policy_says_why_and_keeps_what_was_there() {
    let before = run(
        None,
        &[workload("web", 0.1, 300.0, 2016, Duration::ZERO)],
        RULES,
    );
    let previous = applied(&before);
    for (blocked, reason) in [
        (Blocked::Paused, "Paused"),
        (
            Blocked::Invalid("spec.metricsSource.prometheus.address: is required".into()),
            "InvalidConfig",
        ),
        (Blocked::NoWorkloads, "NoWorkloadsFound"),
    ] {
        let owned = build(&Inputs {
            previous: Some(&previous),
            blocked: Some(blocked),
            workloads: &[],
            settings: None,
            step: STEP,
            write: RULES,
            generation: Some(4),
            now: now(),
        });
        assert_eq!(owned.ready.reason.as_deref(), Some(reason));
        assert_eq!(owned.recommendations, previous.recommendations);
        assert_eq!(owned.savings, previous.savings);
        // The Ready status changed (True → False): a new transition time.
        assert_eq!(
            owned.ready.last_transition_time.as_deref(),
            Some("2026-01-05T00:00:00Z")
        );
    }
}

#[test]
fn a_container_with_only_pod_level_memory_uses_the_pod_series_for_memory() {
    let mut w = workload("agent", 0.1, 300.0, 2016, Duration::ZERO);
    let Fetched::Profiles { containers, .. } = &mut w.fetched else {
        unreachable!()
    };
    let memory = std::mem::replace(&mut containers[0].memory, Profile::from_samples(&[]));
    containers.push(ContainerProfiles {
        name: String::new(),
        cpu: Profile::from_samples(&[]),
        memory,
    });
    let owned = run(None, &[w], RULES);
    let app = &owned.recommendations[0].containers[0];
    assert_eq!(app.recommended.memory_request.as_deref(), Some("348966093"));
    assert_eq!(app.recommended.cpu_request.as_deref(), Some("250m"));
}

#[test]
fn in_builtin_mode_the_controller_leaves_ready_to_the_recommender() {
    let owned = json!({"conditions": [
        {"type": "Ready", "status": "True"}, {"type": "Resizing", "status": "False"}
    ]});
    let types = |v: &serde_json::Value| -> Vec<String> {
        v["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["type"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        types(&hand_over_ready(Mode::Builtin, owned.clone())),
        ["Resizing"]
    );
    assert_eq!(
        types(&hand_over_ready(Mode::External, owned)),
        ["Ready", "Resizing"]
    );
}

#[test]
fn stale_recommendations_are_filtered_and_fresh_ones_pass() {
    let mut r = WorkloadRecommendation {
        workload: "web".into(),
        kind: "Deployment".into(),
        ..Default::default()
    };
    assert!(fresh(&r));
    r.stale = Some(false);
    assert!(fresh(&r));
    r.stale = Some(true);
    assert!(!fresh(&r));
}

#[test]
fn the_recommender_flag_takes_builtin_or_external_only() {
    assert_eq!(Mode::parse("builtin"), Ok(Mode::Builtin));
    assert_eq!(Mode::parse(" external"), Ok(Mode::External));
    let err = Mode::parse("prometheus").unwrap_err();
    assert!(
        err.contains("use builtin") && err.contains("external"),
        "{err}"
    );
}

#[test]
fn query_volume_is_exported_as_a_counter() {
    let metrics = crate::metrics::Metrics::new();
    metrics.prometheus_queries(2);
    metrics.prometheus_queries(3);
    assert!(
        metrics
            .encode()
            .lines()
            .any(|l| l == "attune_prometheus_queries_total 5"),
        "{}",
        metrics.encode()
    );
}

/// `web` as [`workload`], its `app` OOM-killed at `at` with `limit_bytes` as its limit.
fn oom_killed(memory_mi: f64, limit_bytes: Option<i64>) -> WorkloadState {
    let mut w = workload("web", 0.1, memory_mi, 2016, Duration::ZERO);
    w.current[0].1.memory_limit = Some("512Mi".into());
    w.oom = vec![super::oom::OomKill {
        container: "app".into(),
        at: now() - chrono::Duration::hours(2),
        limit_bytes,
    }];
    w
}

#[test]
fn an_oom_kill_raises_memory_to_its_floor_and_the_explanation_shows_the_stage() {
    const MI: i64 = 1 << 20;
    // 300Mi flat alone gives 348966093 (E4); killed at a 512Mi limit, the floor is
    // max(512Mi + 100Mi, ⌈512Mi × 1.2⌉) = 644245095 bytes (612Mi is less).
    let owned = run(None, &[oom_killed(300.0, Some(512 * MI))], RULES);
    let app = &owned.recommendations[0].containers[0];
    assert_eq!(app.recommended.memory_request.as_deref(), Some("644245095"));
    let memory = &app.explanation.as_ref().unwrap().value()["memory"].clone();
    assert_eq!(memory["afterChangeFilter"], json!("348966093"));
    assert_eq!(memory["oomFloor"]["peak"], json!("512Mi"));
    assert_eq!(memory["oomFloor"]["floor"], json!("644245095"));
    assert_eq!(memory["afterOomFloor"], json!("644245095"));
    assert_eq!(memory["final"], json!("644245095"));
    // CPU has no OOM stage.
    assert!(
        app.explanation.as_ref().unwrap().value()["cpu"]
            .get("oomFloor")
            .is_none()
    );
    // The request above the limit keeps the limit's ratio only with RequestsAndLimits; the
    // default (RequestsOnly) leaves the limit as it was.
    assert_eq!(app.recommended.memory_limit.as_deref(), Some("512Mi"));
}

#[test]
fn an_oom_kill_without_a_limit_takes_the_highest_working_set_seen() {
    // No limit (a node-level kill): the peak is the profile's max, 300Mi → 300Mi + 100Mi.
    let owned = run(None, &[oom_killed(300.0, None)], RULES);
    let app = &owned.recommendations[0].containers[0];
    assert_eq!(app.recommended.memory_request.as_deref(), Some("400Mi"));
    let memory = &app.explanation.as_ref().unwrap().value()["memory"].clone();
    assert_eq!(memory["oomFloor"]["peak"], json!("300Mi"));
    // A floor below what the chain gives changes nothing but still shows.
    let owned = run(None, &[oom_killed(300.0, Some(100 * (1 << 20)))], RULES);
    let app = &owned.recommendations[0].containers[0];
    assert_eq!(app.recommended.memory_request.as_deref(), Some("348966093"));
    let memory = &app.explanation.as_ref().unwrap().value()["memory"].clone();
    assert_eq!(memory["oomFloor"]["floor"], json!("200Mi"));
    assert_eq!(memory["afterOomFloor"], json!("348966093"));
}

#[test]
fn request_reductions_in_effect_are_the_totals_and_increases_do_not_count() {
    let mut resized = workload("web", 0.1, 300.0, 2016, Duration::ZERO);
    // Before Attune: 500m / 256Mi (current); the pod now asks for 250m / 300Mi.
    resized.live = vec![("app".into(), current("250m", "300Mi"))];
    let mut other = workload("api", 0.1, 300.0, 2016, Duration::ZERO);
    other.current = vec![("app".into(), current("1", "1Gi"))];
    other.live = vec![("app".into(), current("600m", "512Mi"))];
    // A workload whose query failed still counts: the pods say what is in effect.
    other.fetched = Fetched::Failed("prometheus at http://prometheus:9090 did not answer".into());
    let owned = run(None, &[resized, other], RULES);
    let savings = owned.savings.as_ref().unwrap();
    assert_eq!(savings.cpu_request_reduction_total.as_deref(), Some("650m"));
    assert_eq!(
        savings.memory_request_reduction_total.as_deref(),
        Some("512Mi")
    );
    // The proposed reduction is still the recommendations' alone.
    assert_eq!(savings.cpu_request_reduction.as_deref(), Some("250m"));
}
