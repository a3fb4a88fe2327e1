//! From AttunePolicy status to the values wanted per workload and container.

use crate::crd::FilePolicy;
use crate::repo::{ContainerWant, Field, Want};

/// One want per recommended workload. Requests are always wanted; limits only when the
/// policy's `controlledValues` for that resource is `RequestsAndLimits`.
pub fn wants(policies: &[FilePolicy]) -> Vec<Want> {
    let mut out = Vec::new();
    for policy in policies {
        let Some(status) = &policy.status else {
            continue;
        };
        let namespace = policy
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let name = policy.metadata.name.clone().unwrap_or_default();
        let cpu_limits = policy.spec.cpu_controls_limits();
        let memory_limits = policy.spec.memory_controls_limits();
        for rec in &status.recommendations {
            let containers = rec
                .containers
                .iter()
                .map(|c| {
                    let r = &c.recommended;
                    let candidates = [
                        (Field::CpuRequest, &r.cpu_request, true),
                        (Field::MemoryRequest, &r.memory_request, true),
                        (Field::CpuLimit, &r.cpu_limit, cpu_limits),
                        (Field::MemoryLimit, &r.memory_limit, memory_limits),
                    ];
                    let fields = candidates
                        .into_iter()
                        .filter(|(_, _, wanted)| *wanted)
                        .filter_map(|(f, v, _)| v.as_ref().map(|v| (f, v.trim().to_owned())))
                        .filter(|(_, v)| !v.is_empty())
                        .collect();
                    ContainerWant {
                        name: c.name.clone(),
                        fields,
                    }
                })
                .collect();
            out.push(Want {
                policy: name.clone(),
                namespace: namespace.clone(),
                kind: rec.kind.clone(),
                workload: rec.workload.clone(),
                containers,
            });
        }
    }
    out
}
