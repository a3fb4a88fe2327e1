//! `maxStatusRecommendations` and `includeExplanationsInStatus`: what of the recommendations
//! goes into the status.

use std::cmp::Reverse;

use crate::crd::{ResourceValues, WorkloadRecommendation};
use crate::quantity;

const MIB: i128 = 1024 * 1024;

/// How much a workload's recommendation changes: Σ over containers of |Δ CPU request| in
/// millicores + |Δ memory request| in whole MiB (the Go operator's score). A missing or
/// unreadable request counts as zero.
pub fn change_score(recommendation: &WorkloadRecommendation) -> i128 {
    recommendation
        .containers
        .iter()
        .map(|c| {
            let empty = ResourceValues::default();
            let current = c.current.as_ref().unwrap_or(&empty);
            let cpu = millis(&c.recommended.cpu_request) - millis(&current.cpu_request);
            let memory = bytes(&c.recommended.memory_request) - bytes(&current.memory_request);
            cpu.abs() + memory.abs() / MIB
        })
        .sum()
}

/// The `max` recommendations with the largest [`change_score`], largest first (ties in their
/// original order). `max` 0, or no more than `max` entries, keeps everything in order.
pub fn keep_largest_changes(
    recommendations: Vec<WorkloadRecommendation>,
    max: usize,
) -> Vec<WorkloadRecommendation> {
    if max == 0 || recommendations.len() <= max {
        return recommendations;
    }
    let mut scored: Vec<(i128, WorkloadRecommendation)> = recommendations
        .into_iter()
        .map(|r| (change_score(&r), r))
        .collect();
    // Stable: equal scores keep their order.
    scored.sort_by_key(|(score, _)| Reverse(*score));
    scored.truncate(max);
    scored.into_iter().map(|(_, r)| r).collect()
}

/// Drops every container's explanation (`includeExplanationsInStatus: false`).
pub fn strip_explanations(recommendations: &mut [WorkloadRecommendation]) {
    for container in recommendations.iter_mut().flat_map(|r| &mut r.containers) {
        container.explanation = None;
    }
}

fn millis(text: &Option<String>) -> i128 {
    parsed(text).and_then(|q| q.millis_ceil()).unwrap_or(0)
}

fn bytes(text: &Option<String>) -> i128 {
    parsed(text).and_then(|q| q.units_ceil()).unwrap_or(0)
}

fn parsed(text: &Option<String>) -> Option<quantity::Quantity> {
    quantity::parse(text.as_deref()?).ok()
}
