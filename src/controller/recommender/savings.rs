//! `status.savings`, summed per container as the Go operator does (template values, not
//! times replicas). Pure.
//! - `cpuRequestReduction` / `memoryRequestReduction`: what the fresh recommendations would
//!   take off the current requests (decreases only), and `estimatedMonthlySavings` for them
//!   at the pull-request body's prices.
//! - `cpuRequestReductionTotal` / `memoryRequestReductionTotal`: what Attune's resizes have
//!   taken off so far and is still in effect: per container of each target workload, the
//!   request before Attune's first resize (`attune.io/original-*`) minus what the pod asks for
//!   now, where that is less. Read from the pods, not accumulated across cycles, so a revert,
//!   a rollout (new pods, no originals) or a restarted controller leaves it true.

use crate::crd::{ResourceValues, Savings, WorkloadRecommendation};
use crate::recommend::{Amount, Resource};

use super::owned::WorkloadState;

/// Hours in a month, as the pull-request body prices them.
const HOURS_PER_MONTH: f64 = 730.0;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Millicores and bytes taken off, each at least 0.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Cut {
    millis: i64,
    bytes: i64,
}

impl Cut {
    /// Adds `from − to` per request, where both read and it is a decrease.
    fn add(&mut self, from: &ResourceValues, to: &ResourceValues) {
        let read = |resource, text: &Option<String>| {
            text.as_deref()
                .and_then(|t| Amount::parse(resource, t, "").ok())
                .map(|a| a.base())
        };
        let pairs = [
            (Resource::Cpu, &from.cpu_request, &to.cpu_request),
            (Resource::Memory, &from.memory_request, &to.memory_request),
        ];
        for (resource, from, to) in pairs {
            if let (Some(from), Some(to)) = (read(resource, from), read(resource, to)) {
                let cut = from.saturating_sub(to).max(0);
                match resource {
                    Resource::Cpu => self.millis = self.millis.saturating_add(cut),
                    Resource::Memory => self.bytes = self.bytes.saturating_add(cut),
                }
            }
        }
    }

    fn cpu(&self) -> String {
        Amount::cpu_millis(self.millis).canonical()
    }

    fn memory(&self) -> String {
        Amount::memory_bytes(self.bytes).canonical()
    }
}

/// The savings of `recommendations` (the ones written) and the reductions in effect on
/// `workloads`' pods.
pub fn savings(recommendations: &[WorkloadRecommendation], workloads: &[WorkloadState]) -> Savings {
    let mut proposed = Cut::default();
    for c in recommendations
        .iter()
        .filter(|r| r.stale != Some(true))
        .flat_map(|r| &r.containers)
    {
        if let Some(current) = &c.current {
            proposed.add(current, &c.recommended);
        }
    }
    let mut applied = Cut::default();
    for w in workloads {
        for (name, before) in &w.current {
            if let Some((_, now)) = w.live.iter().find(|(n, _)| n == name) {
                applied.add(before, now);
            }
        }
    }
    let prices = crate::pr::body::Prices::default();
    let dollars = (proposed.millis as f64 / 1000.0 * prices.cpu
        + proposed.bytes as f64 / GIB * prices.memory)
        * HOURS_PER_MONTH;
    Savings {
        cpu_request_reduction: Some(proposed.cpu()),
        memory_request_reduction: Some(proposed.memory()),
        cpu_request_reduction_total: Some(applied.cpu()),
        memory_request_reduction_total: Some(applied.memory()),
        estimated_monthly_savings: Some(format!("${dollars:.2}")),
    }
}
