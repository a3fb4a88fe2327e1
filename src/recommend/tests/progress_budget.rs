//! Collection progress, staleness, and the status budget.

use std::time::Duration;

use serde_json::json;

use crate::crd::{ContainerRecommendation, ResourceValues, WorkloadRecommendation};
use crate::recommend::{
    DataProgress, change_score, is_stale, keep_largest_changes, stale_after, strip_explanations,
};

const STEP: Duration = Duration::from_secs(300);

#[test]
fn progress_message_counts_points_percent_and_time_left() {
    let p = DataProgress::new(10, 48, STEP);
    assert_eq!(
        (p.percent, p.remaining),
        (20, Duration::from_secs(38 * 300))
    );
    assert_eq!(
        p.to_string(),
        "Collecting data: 10/48 data points (20%), about 3h10m left"
    );
    assert_eq!(
        DataProgress::new(0, 48, STEP).to_string(),
        "Collecting data: 0/48 data points (0%), about 4h0m left"
    );
    assert_eq!(
        DataProgress::new(45, 48, STEP).to_string(),
        "Collecting data: 45/48 data points (93%), about 15m left"
    );
    // Never 100 % while collecting; nothing left reads as such.
    assert_eq!(
        DataProgress::new(60, 48, STEP).to_string(),
        "Collecting data: 60/48 data points (99%), about less than a minute left"
    );
    assert_eq!(
        DataProgress::new(0, 2016, STEP).to_string(),
        "Collecting data: 0/2016 data points (0%), about 7d0h left"
    );
    // Seconds are dropped: 3 × 50 s = 2m30s.
    assert_eq!(
        DataProgress::new(1, 4, Duration::from_secs(50)).remaining,
        Duration::from_secs(120)
    );
    assert_eq!(DataProgress::new(0, 0, STEP).percent, 0);
}

#[test]
fn stale_after_twice_the_step_plus_ten_minutes() {
    assert_eq!(stale_after(STEP), Duration::from_secs(20 * 60));
    let now = 1_704_067_200_000;
    let limit = 20 * 60_000;
    assert!(!is_stale(Some(now), now, STEP));
    assert!(!is_stale(Some(now - limit), now, STEP));
    assert!(is_stale(Some(now - limit - 1), now, STEP));
    assert!(is_stale(None, now, STEP));
    // A sample from the future is not stale.
    assert!(!is_stale(Some(now + 60_000), now, STEP));
}

fn container(current: (&str, &str), recommended: (&str, &str)) -> ContainerRecommendation {
    let values = |(cpu, memory): (&str, &str)| ResourceValues {
        cpu_request: Some(cpu.to_owned()),
        memory_request: Some(memory.to_owned()),
        ..ResourceValues::default()
    };
    ContainerRecommendation {
        name: "app".into(),
        current: Some(values(current)),
        recommended: values(recommended),
        explanation: Some(json!({"cpu": {"final": recommended.0}}).into()),
        ..ContainerRecommendation::default()
    }
}

fn workload(name: &str, containers: Vec<ContainerRecommendation>) -> WorkloadRecommendation {
    WorkloadRecommendation {
        workload: name.into(),
        kind: "Deployment".into(),
        containers,
        ..WorkloadRecommendation::default()
    }
}

#[test]
fn change_score_sums_millicores_and_whole_mib_per_container() {
    let w = workload(
        "a",
        vec![
            container(("500m", "256Mi"), ("250m", "348966093")),
            container(("1", "1Gi"), ("1", "1Gi")),
        ],
    );
    // 250 m + ⌊(348966093 − 268435456) / 1Mi⌋ = 250 + 76.
    assert_eq!(change_score(&w), 326);
    let unreadable = workload("b", vec![container(("lots", "1Gi"), ("100m", "1Gi"))]);
    assert_eq!(change_score(&unreadable), 100);
}

#[test]
fn the_budget_keeps_the_largest_changes_first() {
    let recs = vec![
        workload("small", vec![container(("100m", "1Gi"), ("110m", "1Gi"))]),
        workload("big", vec![container(("100m", "1Gi"), ("900m", "1Gi"))]),
        workload(
            "mid-a",
            vec![container(("100m", "1Gi"), ("100m", "1124Mi"))],
        ),
        workload("mid-b", vec![container(("200m", "1Gi"), ("100m", "1Gi"))]),
    ];
    let names = |recs: &[WorkloadRecommendation]| {
        recs.iter().map(|r| r.workload.clone()).collect::<Vec<_>>()
    };
    let kept = keep_largest_changes(recs.clone(), 3);
    assert_eq!(names(&kept), ["big", "mid-a", "mid-b"]);
    assert_eq!(names(&keep_largest_changes(recs.clone(), 4)), names(&recs));
    assert_eq!(names(&keep_largest_changes(recs.clone(), 0)), names(&recs));

    let mut stripped = kept;
    strip_explanations(&mut stripped);
    assert!(
        stripped
            .iter()
            .flat_map(|r| &r.containers)
            .all(|c| c.explanation.is_none())
    );
}
