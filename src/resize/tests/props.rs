//! Properties over generated pods, recommendations and policies: a resize never changes the
//! QoS class, keeps every request at or below its limit, never adds or removes a limit, keeps
//! requests inside the policy's bounds, and respects the memory-limit rule before 1.35.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::fixtures::*;
use crate::quantity;
use crate::resize::{Decision, Field, Resource};

/// A resource of a container: none, request only, request below its limit, or equal.
#[derive(Clone, Debug)]
enum Shape {
    None,
    Request(u32),
    Below(u32, u32),
    Equal(u32),
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::None),
        (1u32..5000).prop_map(Shape::Request),
        (1u32..5000, 1u32..5000).prop_map(|(r, extra)| Shape::Below(r, r + extra)),
        (1u32..5000).prop_map(Shape::Equal),
    ]
}

fn text(resource: Resource, n: u32) -> String {
    match resource {
        Resource::Cpu => format!("{n}m"),
        Resource::Memory => format!("{n}Mi"),
    }
}

fn write(shape: &Shape, resource: Resource) -> String {
    let key = match resource {
        Resource::Cpu => "cpu",
        Resource::Memory => "mem",
    };
    let one = |n| text(resource, n);
    match shape {
        Shape::None => String::new(),
        Shape::Request(r) => format!("{key}={}/-", one(*r)),
        Shape::Below(r, l) => format!("{key}={}/{}", one(*r), one(*l)),
        Shape::Equal(v) => format!("{key}={}/{}", one(*v), one(*v)),
    }
}

#[derive(Clone, Debug)]
struct Input {
    containers: Vec<(Shape, Shape, Option<u32>, Option<u32>)>,
    init: Option<(Shape, Shape)>,
    cpu_bounds: (u32, u32),
    memory_bounds: (u32, u32),
    cpu_limits: bool,
    memory_limits: bool,
    minor: u32,
}

fn input() -> impl Strategy<Value = Input> {
    let container = (
        shape(),
        shape(),
        proptest::option::of(0u32..8000),
        proptest::option::of(0u32..8000),
    );
    (
        proptest::collection::vec(container, 1..4),
        proptest::option::of((shape(), shape())),
        (1u32..1000, 0u32..4000),
        (4u32..512, 0u32..4000),
        any::<bool>(),
        any::<bool>(),
        33u32..37,
    )
        .prop_map(
            |(containers, init, cpu, memory, cpu_limits, memory_limits, minor)| Input {
                containers,
                init,
                cpu_bounds: (cpu.0, cpu.0 + cpu.1),
                memory_bounds: (memory.0, memory.0 + memory.1),
                cpu_limits,
                memory_limits,
                minor,
            },
        )
}

fn build(input: &Input) -> (Pod, crate::crd::WorkloadRecommendation) {
    let mut pod = pod("p");
    for (i, (cpu, memory, _, _)) in input.containers.iter().enumerate() {
        let spec = format!(
            "{} {}",
            write(cpu, Resource::Cpu),
            write(memory, Resource::Memory)
        );
        pod = with(pod, &format!("c{i}"), &spec);
    }
    if let Some((cpu, memory)) = &input.init {
        let spec = format!(
            "{} {}",
            write(cpu, Resource::Cpu),
            write(memory, Resource::Memory)
        );
        pod = with_init(pod, "init", &spec);
    }
    let names: Vec<String> = (0..input.containers.len())
        .map(|i| format!("c{i}"))
        .collect();
    let values: Vec<(Option<String>, Option<String>)> = input
        .containers
        .iter()
        .map(|(_, _, cpu, memory)| {
            (
                cpu.map(|n| text(Resource::Cpu, n)),
                memory.map(|n| text(Resource::Memory, n)),
            )
        })
        .collect();
    let listed: Vec<(&str, Option<&str>, Option<&str>)> = names
        .iter()
        .zip(&values)
        .map(|(n, (c, m))| (n.as_str(), c.as_deref(), m.as_deref()))
        .collect();
    (pod, rec(&listed))
}

fn controlled(on: bool) -> &'static str {
    if on {
        "RequestsAndLimits"
    } else {
        "RequestsOnly"
    }
}

/// Applies a strategic merge patch of `spec.containers[].resources` the way the API server
/// does: containers matched by name, request and limit maps merged key by key.
fn apply(pod: &Pod, patch: &Value) -> Pod {
    let mut out = pod.clone();
    let top: Vec<&String> = patch.as_object().unwrap().keys().collect();
    assert_eq!(top, ["spec"], "the patch touches only spec");
    let spec = patch["spec"].as_object().unwrap();
    assert_eq!(spec.keys().collect::<Vec<_>>(), ["containers"]);
    for entry in patch["spec"]["containers"].as_array().unwrap() {
        let keys: Vec<&String> = entry.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["name", "resources"]);
        let name = entry["name"].as_str().unwrap();
        let containers = &mut out.spec.as_mut().unwrap().containers;
        let container = containers
            .iter_mut()
            .find(|c| c.name == name)
            .expect("known name");
        let resources = container.resources.get_or_insert_with(Default::default);
        for (section, values) in entry["resources"].as_object().unwrap() {
            let map = match section.as_str() {
                "requests" => resources.requests.get_or_insert_with(BTreeMap::new),
                "limits" => resources.limits.get_or_insert_with(BTreeMap::new),
                other => panic!("unexpected section {other}"),
            };
            for (key, value) in values.as_object().unwrap() {
                map.insert(key.clone(), Quantity(value.as_str().unwrap().to_owned()));
            }
        }
    }
    out
}

fn amount(container: &Container, section: Field, resource: &str) -> Option<i128> {
    let resources = container.resources.as_ref()?;
    let map = match section {
        Field::Request => resources.requests.as_ref()?,
        Field::Limit => resources.limits.as_ref()?,
    };
    let value = quantity::parse(&map.get(resource)?.0).unwrap();
    if resource == "cpu" {
        value.millis_ceil()
    } else {
        value.units_ceil()
    }
}

/// Kubernetes' QoS rule written out independently of the code under test: sums of positive
/// requests and limits per resource over all containers.
fn qos(pod: &Pod) -> &'static str {
    let spec = pod.spec.as_ref().unwrap();
    let all = spec
        .init_containers
        .iter()
        .flatten()
        .chain(&spec.containers);
    let (mut requests, mut limits) = (BTreeMap::new(), BTreeMap::new());
    let mut guaranteed = true;
    for container in all {
        for resource in ["cpu", "memory"] {
            if let Some(v) = amount(container, Field::Request, resource).filter(|v| *v > 0) {
                *requests.entry(resource).or_insert(0) += v;
            }
            match amount(container, Field::Limit, resource).filter(|v| *v > 0) {
                Some(v) => *limits.entry(resource).or_insert(0) += v,
                None => guaranteed = false,
            }
        }
    }
    if requests.is_empty() && limits.is_empty() {
        "BestEffort"
    } else if guaranteed && requests == limits {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn resizes_keep_qos_bounds_and_limits(input in input()) {
        let (pod, recommendation) = build(&input);
        let settings = settings(
            json!({ "type": "Auto" }),
            json!({
                "minAllowed": text(Resource::Cpu, input.cpu_bounds.0),
                "maxAllowed": text(Resource::Cpu, input.cpu_bounds.1),
                "controlledValues": controlled(input.cpu_limits),
            }),
            json!({
                "minAllowed": text(Resource::Memory, input.memory_bounds.0),
                "maxAllowed": text(Resource::Memory, input.memory_bounds.1),
                "controlledValues": controlled(input.memory_limits),
            }),
        );
        let plan = ctx(settings, &recommendation, input.minor).plan(std::slice::from_ref(&pod));
        let Decision::Resize(resize) = &plan.pods[0].decision else {
            return Ok(());
        };
        prop_assert!(!resize.changes.is_empty());
        let after = apply(&pod, &resize.patch);
        prop_assert_eq!(qos(&pod), qos(&after), "patch {}", resize.patch);

        let before_containers = &pod.spec.as_ref().unwrap().containers;
        for (old, new) in before_containers.iter().zip(&after.spec.as_ref().unwrap().containers) {
            for resource in ["cpu", "memory"] {
                let (min, max, limits_controlled) = if resource == "cpu" {
                    (i128::from(input.cpu_bounds.0), i128::from(input.cpu_bounds.1), input.cpu_limits)
                } else {
                    (
                        i128::from(input.memory_bounds.0) << 20,
                        i128::from(input.memory_bounds.1) << 20,
                        input.memory_limits,
                    )
                };
                let old_request = amount(old, Field::Request, resource);
                let new_request = amount(new, Field::Request, resource);
                let old_limit = amount(old, Field::Limit, resource);
                let new_limit = amount(new, Field::Limit, resource);
                prop_assert_eq!(old_limit.is_some(), new_limit.is_some(), "limit added or removed");
                prop_assert!(old_request.is_none() || new_request.is_some(), "request removed");
                if let (Some(request), Some(limit)) = (new_request, new_limit) {
                    prop_assert!(request <= limit, "{} request {} above limit {}", resource, request, limit);
                }
                if new_request != old_request {
                    let request = new_request.unwrap_or_default();
                    let pinned_by_limit = new_limit == Some(request) && request < min;
                    prop_assert!(
                        (min..=max).contains(&request) || pinned_by_limit,
                        "{} request {} outside [{}, {}]", resource, request, min, max
                    );
                }
                if new_limit != old_limit {
                    prop_assert!(limits_controlled, "{} limit moved under RequestsOnly", resource);
                    if resource == "memory" && input.minor < 35 {
                        prop_assert!(new_limit > old_limit, "memory limit lowered on 1.{}", input.minor);
                    }
                }
            }
        }
    }
}
