//! A pod's containers reduced to what resizing looks at: CPU and memory requests and limits as
//! exact amounts, and which resources restart the container when resized.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;

use super::amount::Amount;
use super::decision::Resource;

/// Request and limit of one resource in one container.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pair {
    pub request: Option<Amount>,
    pub limit: Option<Amount>,
}

impl Pair {
    /// The request the API server acts on: a missing request defaults to the limit.
    pub fn effective_request(&self) -> Option<&Amount> {
        self.request.as_ref().or(self.limit.as_ref())
    }
}

/// One container's resizable resources.
#[derive(Clone, Debug)]
pub(crate) struct Resources {
    pub name: String,
    /// False for init containers (and native sidecars), which count for the QoS class but
    /// are not resized here.
    pub resizable: bool,
    pub cpu: Pair,
    pub memory: Pair,
    pub restart_cpu: bool,
    pub restart_memory: bool,
}

impl Resources {
    pub fn pair(&self, resource: Resource) -> &Pair {
        match resource {
            Resource::Cpu => &self.cpu,
            Resource::Memory => &self.memory,
        }
    }

    pub fn pair_mut(&mut self, resource: Resource) -> &mut Pair {
        match resource {
            Resource::Cpu => &mut self.cpu,
            Resource::Memory => &mut self.memory,
        }
    }

    pub fn restarts(&self, resource: Resource) -> bool {
        match resource {
            Resource::Cpu => self.restart_cpu,
            Resource::Memory => self.restart_memory,
        }
    }
}

/// Reads every container of the pod, init containers first. The error names the value that
/// is not a quantity (the API server never stores one, so this means a hand-made object).
pub(crate) fn read_containers(pod: &Pod) -> Result<Vec<Resources>, String> {
    let Some(spec) = pod.spec.as_ref() else {
        return Ok(Vec::new());
    };
    let init = spec.init_containers.iter().flatten().map(|c| (c, false));
    let regular = spec.containers.iter().map(|c| (c, true));
    init.chain(regular)
        .map(|(container, resizable)| read_container(container, resizable))
        .collect()
}

fn read_container(container: &Container, resizable: bool) -> Result<Resources, String> {
    let resources = container.resources.as_ref();
    let requests = resources.and_then(|r| r.requests.as_ref());
    let limits = resources.and_then(|r| r.limits.as_ref());
    let read = |map: Option<&BTreeMap<String, K8sQuantity>>, resource: Resource, what: &str| {
        map.and_then(|m| m.get(resource.as_str()))
            .map(|q| {
                Amount::parse(&q.0)
                    .map_err(|e| format!("container {} {resource} {what}: {e}", container.name))
            })
            .transpose()
    };
    let restarts =
        |resource: Resource| {
            container.resize_policy.iter().flatten().any(|p| {
                p.resource_name == resource.as_str() && p.restart_policy == "RestartContainer"
            })
        };
    Ok(Resources {
        name: container.name.clone(),
        resizable,
        cpu: Pair {
            request: read(requests, Resource::Cpu, "request")?,
            limit: read(limits, Resource::Cpu, "limit")?,
        },
        memory: Pair {
            request: read(requests, Resource::Memory, "request")?,
            limit: read(limits, Resource::Memory, "limit")?,
        },
        restart_cpu: restarts(Resource::Cpu),
        restart_memory: restarts(Resource::Memory),
    })
}

/// Pod-level `spec.resources` change how Kubernetes derives the QoS class, which the rules
/// here do not model.
pub(crate) fn has_pod_level_resources(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .is_some_and(|r| {
            r.requests.as_ref().is_some_and(|m| !m.is_empty())
                || r.limits.as_ref().is_some_and(|m| !m.is_empty())
        })
}
