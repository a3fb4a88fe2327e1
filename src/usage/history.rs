//! One workload's usage of one resource: the plan, the query, and the answer grouped by
//! container — what the recommender reads.

use std::collections::BTreeMap;

use super::answer::Series;
use super::promql::{self, Resource, Workload};
use super::{Prometheus, QuerySettings, RangePlan, UsageError};
use crate::recommend::Sample;

/// The pause container's series in older kubelets (dockershim). Container names are DNS labels
/// (lowercase), so no real container can be called this.
const PAUSE_CONTAINER: &str = "POD";

/// Usage history of one workload and resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    pub resource: Resource,
    /// The PromQL sent.
    pub query: String,
    /// The instants asked for, and whether the step was widened (for the explanation).
    pub plan: RangePlan,
    /// Samples per container (cores or bytes), containers by name, samples by time. The
    /// pod-level series (`container=""`) is left out unless it is the only one.
    pub containers: Vec<(String, Vec<Sample>)>,
}

impl Usage {
    /// The samples of `container`; the pod-level series when Prometheus had nothing per
    /// container.
    pub fn container(&self, name: &str) -> Option<&[Sample]> {
        let found = |wanted: &str| {
            self.containers
                .iter()
                .find(|(container, _)| container == wanted)
                .map(|(_, samples)| samples.as_slice())
        };
        found(name).or_else(|| found(""))
    }

    /// The newest sample's time, for staleness.
    pub fn newest_ms(&self) -> Option<i64> {
        self.containers
            .iter()
            .filter_map(|(_, samples)| samples.last())
            .map(|sample| sample.timestamp_ms)
            .max()
    }
}

/// What to read: one workload's usage of one resource over the window ending at `now_ms`.
#[derive(Debug, Clone, Copy)]
pub struct UsageRequest<'a> {
    pub settings: &'a QuerySettings,
    pub workload: Workload<'a>,
    pub resource: Resource,
    /// Unix milliseconds; the last point is the last step-aligned instant at or before it.
    pub now_ms: i64,
}

/// Queries Prometheus for one workload and resource and groups the answer by container.
pub async fn fetch_usage(
    prometheus: &Prometheus,
    request: &UsageRequest<'_>,
) -> Result<Usage, UsageError> {
    let plan = RangePlan::new(request.settings, request.now_ms);
    let query = promql::expression(
        request.resource,
        request.settings,
        &request.workload,
        plan.rate_window,
    );
    let series = prometheus.query_range(&query, &plan).await?;
    Ok(Usage {
        resource: request.resource,
        query,
        plan,
        containers: by_container(series),
    })
}

/// Merges series per `container` label (several with `podAggregation: None`, one per pod),
/// sorted by time; drops the pause container, and the pod-level series when any container
/// has its own.
pub(crate) fn by_container(series: Vec<Series>) -> Vec<(String, Vec<Sample>)> {
    let mut groups: BTreeMap<String, Vec<Sample>> = BTreeMap::new();
    for Series { container, samples } in series {
        if container == PAUSE_CONTAINER {
            continue;
        }
        groups.entry(container).or_default().extend(samples);
    }
    if groups.keys().any(|name| !name.is_empty()) {
        groups.remove("");
    }
    groups
        .into_iter()
        .map(|(name, mut samples)| {
            samples.sort_by_key(|sample| sample.timestamp_ms);
            (name, samples)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(container: &str, points: &[(i64, f64)]) -> Series {
        Series {
            container: container.into(),
            samples: points
                .iter()
                .map(|&(timestamp_ms, value)| Sample {
                    timestamp_ms,
                    value,
                })
                .collect(),
        }
    }

    #[test]
    fn groups_by_container_and_merges_pods_in_time_order() {
        let grouped = by_container(vec![
            series("proxy", &[(0, 1.0)]),
            series("app", &[(0, 0.5), (300, 0.25)]),
            series("app", &[(150, 0.75), (300, 0.125)]),
            series("", &[(0, 9.0)]),
            series("POD", &[(0, 0.001)]),
        ]);
        let names: Vec<&str> = grouped.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["app", "proxy"]);
        let app: Vec<(i64, f64)> = grouped[0]
            .1
            .iter()
            .map(|s| (s.timestamp_ms, s.value))
            .collect();
        assert_eq!(app, [(0, 0.5), (150, 0.75), (300, 0.25), (300, 0.125)]);
    }

    #[test]
    fn the_pod_level_series_is_used_only_when_it_is_all_there_is() {
        let grouped = by_container(vec![series("", &[(0, 2.0)]), series("POD", &[(0, 1.0)])]);
        assert_eq!(
            grouped,
            vec![(
                String::new(),
                vec![Sample {
                    timestamp_ms: 0,
                    value: 2.0
                }]
            )]
        );
        let usage = Usage {
            resource: Resource::Memory,
            query: String::new(),
            plan: RangePlan::new(&QuerySettings::default(), 0),
            containers: grouped,
        };
        assert_eq!(usage.container("app").map(<[Sample]>::len), Some(1));
        assert_eq!(usage.newest_ms(), Some(0));
        assert!(by_container(vec![]).is_empty());
    }
}
