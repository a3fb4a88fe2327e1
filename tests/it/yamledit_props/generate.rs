//! Proptest strategies: manifests, layouts and the assignments to make on them.

use attune::yamledit::{Seg, Set};
use proptest::prelude::*;

use super::model::*;

pub(super) fn cpu() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..4000).prop_map(|n| format!("{n}m")),
        (1u32..16).prop_map(|n| n.to_string()),
        prop::sample::select(vec!["0.5", "0.25", "1.5", "0.1"]).prop_map(str::to_owned),
    ]
}

pub(super) fn memory() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..8192).prop_map(|n| format!("{n}Mi")),
        (1u32..16).prop_map(|n| format!("{n}Gi")),
        (1u64..4_000_000_000).prop_map(|n| n.to_string()),
        (1u32..999).prop_map(|n| format!("{n}M")),
    ]
}

pub(super) fn quote() -> impl Strategy<Value = Quote> {
    prop_oneof![Just(Quote::Plain), Just(Quote::Single), Just(Quote::Double)]
}

pub(super) fn group() -> impl Strategy<Value = Group> {
    (
        any::<bool>(),
        prop::option::of((cpu(), quote())),
        prop::option::of((memory(), quote())),
        any::<bool>(),
    )
        .prop_map(|(flow, cpu, mem, mem_first)| {
            let mut pairs = Vec::new();
            if let Some((text, quote)) = cpu {
                pairs.push(("cpu", Quantity { text, quote }));
            }
            if let Some((text, quote)) = mem {
                pairs.push(("memory", Quantity { text, quote }));
            }
            if mem_first {
                pairs.reverse();
            }
            Group { flow, pairs }
        })
}

pub(super) fn resources() -> impl Strategy<Value = Resources> {
    prop_oneof![
        2 => Just(Resources::Absent),
        1 => any::<bool>().prop_map(|tilde| Resources::Null { tilde }),
        5 => (any::<bool>(), prop::option::of(group()), prop::option::of(group()), any::<bool>())
            .prop_map(|(flow, requests, limits, limits_first)| {
                // Inside a flow mapping every group is flow too.
                let fix = |g: Option<Group>| g.map(|g| Group { flow: g.flow || flow, ..g });
                Resources::Map { flow, requests: fix(requests), limits: fix(limits), limits_first }
            }),
    ]
}

pub(super) fn container() -> impl Strategy<Value = Container> {
    (
        "[a-z][a-z0-9]{0,7}",
        prop::sample::select(vec!["nginx:1.25", "ghcr.io/acme/app@sha256:abc", "busybox"]),
        resources(),
        0u8..4,
        prop::collection::vec(1u16..9000, 0..3),
    )
        .prop_map(|(name, image, resources, resources_at, ports)| Container {
            name,
            image: image.to_owned(),
            resources,
            resources_at,
            ports,
        })
}

pub(super) fn manifest() -> impl Strategy<Value = Manifest> {
    prop_oneof![
        6 => ("[a-z]{1,10}", 1u8..5, prop::bool::weighted(0.15), prop::collection::vec(container(), 1..4))
            .prop_map(|(name, replicas, flow_containers, containers)| Manifest::Deployment {
                name, replicas, flow_containers, containers,
            }),
        1 => ("[a-z]{1,10}", any::<bool>()).prop_map(|(name, embedded)| Manifest::ConfigMap { name, embedded }),
        1 => ("[a-z]{1,10}", 1u16..9000).prop_map(|(name, port)| Manifest::Service { name, port }),
    ]
}

pub(super) fn layout() -> impl Strategy<Value = Layout> {
    (
        prop::sample::select(vec![2usize, 4]),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.85),
        prop::collection::vec(any::<u8>(), 1..40),
    )
        .prop_map(
            |(step, indented_seqs, crlf, leading_separator, final_newline, decorations)| Layout {
                step,
                indented_seqs,
                crlf,
                leading_separator,
                final_newline,
                decorations,
            },
        )
}

/// An assignment to `requests.{cpu,memory}` of some container, before it is fitted to the
/// manifests (indices are taken modulo what exists).
#[derive(Debug, Clone)]
pub(super) struct Wish {
    pub(super) doc: usize,
    pub(super) container: usize,
    pub(super) memory: bool,
    pub(super) value: String,
}

pub(super) fn wish() -> impl Strategy<Value = Wish> {
    (0usize..8, 0usize..8, any::<bool>()).prop_flat_map(|(doc, container, is_memory)| {
        let value = if is_memory {
            memory().boxed()
        } else {
            cpu().boxed()
        };
        value.prop_map(move |value| Wish {
            doc,
            container,
            memory: is_memory,
            value,
        })
    })
}

pub(super) fn requests_path(container: usize, field: &str) -> Vec<Seg> {
    let key = |k: &str| Seg::Key(k.to_owned());
    vec![
        key("spec"),
        key("template"),
        key("spec"),
        key("containers"),
        Seg::Index(container),
        key("resources"),
        key("requests"),
        key(field),
    ]
}

/// Turns wishes into assignments on the Deployments that exist, one per path (last wins).
pub(super) fn fit(docs: &[Manifest], wishes: &[Wish]) -> Vec<Set> {
    let deployments: Vec<(usize, usize)> = docs
        .iter()
        .enumerate()
        .filter_map(|(i, m)| match m {
            Manifest::Deployment { containers, .. } => Some((i, containers.len())),
            _ => None,
        })
        .collect();
    let mut sets: Vec<Set> = Vec::new();
    if deployments.is_empty() {
        return sets;
    }
    for w in wishes {
        let (doc, count) = deployments[w.doc % deployments.len()];
        let path = requests_path(w.container % count, if w.memory { "memory" } else { "cpu" });
        sets.retain(|s| !(s.doc == doc && s.path == path));
        sets.push(Set {
            doc,
            path,
            value: w.value.clone(),
        });
    }
    sets
}

#[derive(Debug, Clone)]
pub(super) struct Case {
    pub(super) text: String,
    pub(super) crlf: bool,
    pub(super) sets: Vec<Set>,
}

pub(super) fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(manifest(), 1..5),
        layout(),
        prop::collection::vec(wish(), 0..6),
    )
        .prop_map(|(docs, layout, wishes)| Case {
            text: render(&docs, &layout),
            crlf: layout.crlf,
            sets: fit(&docs, &wishes),
        })
}
