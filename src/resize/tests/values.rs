//! The one value function: what Git gets is what the pods get, and every clamp says why.

use serde_json::json;

use super::fixtures::*;
use crate::crd::{ContainerRecommendation, ResourceValues, WorkloadRecommendation};
use crate::resize::values::for_git;
use crate::resize::{Decision, Field, Resource, Settings};

struct Case {
    name: &'static str,
    settings: Settings,
    /// `resources()` text of the pod's container `app`.
    app: &'static str,
    cpu: Option<&'static str>,
    memory: Option<&'static str>,
    /// What Git gets: (cpuRequest, cpuLimit, memoryRequest, memoryLimit).
    git: (
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
    ),
    /// The clamp sentences.
    clamps: &'static [&'static str],
}

fn values(
    cpu_req: Option<&str>,
    cpu_lim: Option<&str>,
    mem_req: Option<&str>,
    mem_lim: Option<&str>,
) -> ResourceValues {
    ResourceValues {
        cpu_request: cpu_req.map(str::to_owned),
        cpu_limit: cpu_lim.map(str::to_owned),
        memory_request: mem_req.map(str::to_owned),
        memory_limit: mem_lim.map(str::to_owned),
    }
}

fn cases() -> Vec<Case> {
    let bounded = settings(
        json!({"type": "Auto", "maxConcurrentResizes": 50}),
        json!({"minAllowed": "50m", "maxAllowed": "1"}),
        json!({"minAllowed": "64Mi", "maxAllowed": "1Gi"}),
    );
    let limits = settings(
        json!({"type": "Auto", "maxConcurrentResizes": 50}),
        json!({"controlledValues": "RequestsAndLimits"}),
        json!({"controlledValues": "RequestsAndLimits"}),
    );
    vec![
        Case {
            name: "the issue's case: 48Mi recommended, minAllowed 64Mi",
            settings: bounded.clone(),
            app: "mem=128Mi/-",
            cpu: None,
            memory: Some("48Mi"),
            git: (None, None, Some("64Mi"), None),
            clamps: &["app memory request 48Mi -> 64Mi: spec.memory.minAllowed is 64Mi"],
        },
        Case {
            name: "above maxAllowed",
            settings: bounded.clone(),
            app: "cpu=100m/-",
            cpu: Some("3"),
            memory: None,
            git: (Some("1"), None, None, None),
            clamps: &["app cpu request 3 -> 1: spec.cpu.maxAllowed is 1"],
        },
        Case {
            name: "inside the bounds: the recommendation as it is",
            settings: bounded,
            app: "cpu=100m/- mem=128Mi/-",
            cpu: Some("150m"),
            memory: Some("100Mi"),
            git: (Some("150m"), None, Some("100Mi"), None),
            clamps: &[],
        },
        Case {
            name: "RequestsOnly: the request stops at the limit, which Git does not get",
            settings: auto(),
            app: "cpu=100m/200m",
            cpu: Some("300m"),
            memory: None,
            git: (Some("200m"), None, None, None),
            clamps: &[
                "app cpu request 300m -> 200m: a request may not exceed the container's \
                       cpu limit 200m (spec.cpu.controlledValues is RequestsOnly)",
            ],
        },
        Case {
            name: "RequestsAndLimits: the limit keeps its ratio, in Git too",
            settings: limits.clone(),
            app: "cpu=100m/200m mem=128Mi/256Mi",
            cpu: Some("150m"),
            memory: Some("100Mi"),
            git: (Some("150m"), Some("300m"), Some("100Mi"), Some("200Mi")),
            clamps: &[],
        },
        Case {
            name: "RequestsAndLimits without a limit: none is added",
            settings: limits,
            app: "cpu=100m/-",
            cpu: Some("150m"),
            memory: None,
            git: (Some("150m"), None, None, None),
            clamps: &[],
        },
        Case {
            name: "Guaranteed under RequestsOnly: the QoS class is kept, the request stays",
            settings: auto(),
            app: "cpu=100m/100m mem=128Mi/128Mi",
            cpu: Some("50m"),
            memory: None,
            git: (Some("100m"), None, None, None),
            clamps: &[
                "app cpu request 50m -> 100m: the pod's QoS class Guaranteed would \
                       change, so the request stays",
            ],
        },
    ]
}

fn recommendation(cpu: Option<&str>, memory: Option<&str>) -> WorkloadRecommendation {
    rec(&[("app", cpu, memory)])
}

#[test]
fn git_gets_the_decided_values_with_the_reasons_table() {
    for case in cases() {
        let p = with(pod("web-a"), "app", case.app);
        let r = recommendation(case.cpu, case.memory);
        let (out, clamps) = for_git(&case.settings, &r, Some(&p)).unwrap();
        let (cr, cl, mr, ml) = case.git;
        assert_eq!(
            out.containers[0].recommended,
            values(cr, cl, mr, ml),
            "{}",
            case.name
        );
        let sentences: Vec<String> = clamps.iter().map(|c| c.sentence()).collect();
        assert_eq!(sentences, case.clamps, "{}", case.name);
    }
}

/// The resize sends exactly the request (and limit) values that Git gets.
#[test]
fn the_pods_get_what_git_gets_table() {
    for case in cases() {
        let p = with(pod("web-a"), "app", case.app);
        let r = recommendation(case.cpu, case.memory);
        let (git, _) = for_git(&case.settings, &r, Some(&p)).unwrap();
        let decide = ctx(case.settings.clone(), &r, 35);
        let mut after = git.containers[0].recommended.clone();
        // Start from the pod's own values; apply what the resize changes.
        let mut pod_values = values(None, None, None, None);
        if let Decision::Resize(resize) = decide.assess(&p) {
            for c in &resize.changes {
                let slot = match (c.resource, c.field) {
                    (Resource::Cpu, Field::Request) => &mut pod_values.cpu_request,
                    (Resource::Cpu, Field::Limit) => &mut pod_values.cpu_limit,
                    (Resource::Memory, Field::Request) => &mut pod_values.memory_request,
                    (Resource::Memory, Field::Limit) => &mut pod_values.memory_limit,
                };
                *slot = Some(c.to.clone());
            }
        }
        // A value the resize leaves alone is already what Git says (or not Git's business).
        for (pod_value, git_value) in [
            (&pod_values.cpu_request, &mut after.cpu_request),
            (&pod_values.cpu_limit, &mut after.cpu_limit),
            (&pod_values.memory_request, &mut after.memory_request),
            (&pod_values.memory_limit, &mut after.memory_limit),
        ] {
            if let Some(v) = pod_value {
                assert_eq!(Some(v), git_value.as_ref(), "{}", case.name);
            }
        }
    }
}

#[test]
fn excluded_containers_and_known_sidecars_get_nothing() {
    let s = settings(
        json!({"type": "Auto", "maxConcurrentResizes": 50}),
        json!({}),
        json!({}),
    );
    let mut s_excluded =
        crate::crd::AttunePolicySpec::clone(&spec(json!({"type": "Auto"}), json!({}), json!({})));
    s_excluded.excluded_containers = vec!["logger".into()];
    let excluded = Settings::from_spec(&s_excluded).unwrap();
    let p = with(
        with(
            with(pod("web-a"), "app", "cpu=100m/-"),
            "istio-proxy",
            "cpu=100m/-",
        ),
        "logger",
        "cpu=100m/-",
    );
    let r = rec(&[
        ("app", Some("200m"), None),
        ("istio-proxy", Some("200m"), None),
        ("logger", Some("200m"), None),
    ]);
    for (settings, sized) in [(s, vec!["app", "logger"]), (excluded, vec!["app"])] {
        let (git, _) = for_git(&settings, &r, Some(&p)).unwrap();
        let names: Vec<&str> = git.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, sized);
        let Decision::Resize(resize) = ctx(settings, &r, 35).assess(&p) else {
            panic!("app must be resized");
        };
        let mut resized: Vec<&str> = resize
            .changes
            .iter()
            .map(|c| c.container.as_str())
            .collect();
        resized.dedup();
        assert_eq!(resized, sized);
    }
}

#[test]
fn without_a_pod_the_current_values_stand_in() {
    let r = WorkloadRecommendation {
        workload: "web".into(),
        kind: "Deployment".into(),
        containers: vec![ContainerRecommendation {
            name: "app".into(),
            current: Some(values(Some("100m"), Some("200m"), None, None)),
            recommended: values(Some("300m"), None, Some("1Mi"), None),
            ..ContainerRecommendation::default()
        }],
        ..WorkloadRecommendation::default()
    };
    let (git, clamps) = for_git(&auto(), &r, None).unwrap();
    assert_eq!(
        git.containers[0].recommended,
        values(Some("200m"), None, Some("4Mi"), None)
    );
    assert_eq!(clamps.len(), 2);
}
