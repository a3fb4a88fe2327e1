//! Everything one resize decision is made from, checked once: the policy settings, the
//! workload's recommendation as exact amounts, the server's minor version and the time.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::version::Info;

use super::ResizeError;
use super::amount::Amount;
use super::decision::{Decision, Plan, Resource};
use super::settings::Settings;

/// `pods/resize` and the `PodResize*` conditions arrived in 1.33.
pub const MIN_SERVER_MINOR: u32 = 33;
/// From 1.35 the kubelet lowers memory limits in place; before, the API server refuses.
pub const MEMORY_LIMIT_DECREASE_MINOR: u32 = 35;

/// The recommended requests of one container.
#[derive(Clone, Debug, Default)]
pub(crate) struct Recommended {
    pub cpu: Option<Amount>,
    pub memory: Option<Amount>,
}

impl Recommended {
    pub fn get(&self, resource: Resource) -> Option<&Amount> {
        match resource {
            Resource::Cpu => self.cpu.as_ref(),
            Resource::Memory => self.memory.as_ref(),
        }
    }
}

/// The inputs of a decision about one workload's pods.
#[derive(Clone, Debug)]
pub struct Context {
    pub(crate) settings: Settings,
    pub(crate) recommended: BTreeMap<String, Recommended>,
    pub(crate) stale: bool,
    pub(crate) server_minor: u32,
    pub(crate) now: DateTime<Utc>,
}

impl Context {
    /// Fails on a server without `pods/resize` and on recommended values that are not
    /// quantities. Only requests are read from the recommendation: limits follow the pod's own
    /// ratio, because that ratio is what keeps the pod's QoS class.
    pub fn new(
        settings: Settings,
        recommendation: &crate::crd::WorkloadRecommendation,
        server_minor: u32,
        now: DateTime<Utc>,
    ) -> Result<Context, ResizeError> {
        if server_minor < MIN_SERVER_MINOR {
            return Err(ResizeError::ServerTooOld {
                minor: server_minor,
            });
        }
        let mut recommended = BTreeMap::new();
        for container in &recommendation.containers {
            let values = &container.recommended;
            let read = |field: &str, text: Option<&String>| {
                text.map(|t| {
                    Amount::parse(t).map_err(|source| ResizeError::BadQuantity {
                        field: format!(
                            "recommendation {}/{} {field}",
                            recommendation.workload, container.name
                        ),
                        value: t.clone(),
                        source,
                    })
                })
                .transpose()
            };
            recommended.insert(
                container.name.clone(),
                Recommended {
                    cpu: read("cpuRequest", values.cpu_request.as_ref())?,
                    memory: read("memoryRequest", values.memory_request.as_ref())?,
                },
            );
        }
        Ok(Context {
            settings,
            recommended,
            stale: recommendation.stale == Some(true),
            server_minor,
            now,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Decides for every pod, in the order given.
    pub fn plan(&self, pods: &[Pod]) -> Plan {
        super::select::plan(self, pods)
    }

    /// The decision for one pod on its own, without the OneShot, Canary and concurrency
    /// quotas: used to look at a pod again after a conflict, when it was already chosen.
    pub fn assess(&self, pod: &Pod) -> Decision {
        super::assess::assess(self, pod)
    }

    /// Whether the pod's size differs from the recommendation (the meaning of
    /// `status.workloads.pending`), whatever the cooldown, mode or quotas say.
    pub fn differs(&self, pod: &Pod) -> bool {
        super::assess::differs(self, pod)
    }

    pub(crate) fn limit_decrease_allowed(&self, resource: Resource) -> bool {
        resource == Resource::Cpu || self.server_minor >= MEMORY_LIMIT_DECREASE_MINOR
    }
}

/// The minor version from `/version`. Managed clusters often write it as `"33+"`.
pub fn server_minor(info: &Info) -> Result<u32, ResizeError> {
    let digits: String = info
        .minor
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    if info.major != "1" {
        return Err(ResizeError::BadServerVersion {
            value: format!("{}.{}", info.major, info.minor),
        });
    }
    digits.parse().map_err(|_| ResizeError::BadServerVersion {
        value: format!("{}.{}", info.major, info.minor),
    })
}
