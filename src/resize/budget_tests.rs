use std::collections::BTreeMap;

use super::*;
use crate::resize::decision::{Change, PodDecision};

fn change(resource: Resource, field: Field, from: Option<&str>, to: &str) -> Change {
    Change {
        container: "app".into(),
        resource,
        field,
        from: from.map(str::to_owned),
        to: to.into(),
        restarts_container: false,
    }
}

fn resize_pod(name: &str, changes: Vec<Change>) -> PodDecision {
    PodDecision {
        pod: name.into(),
        decision: Decision::Resize(Resize {
            patch: serde_json::Value::Null,
            annotations: BTreeMap::new(),
            changes,
            held: Vec::new(),
        }),
    }
}

fn strategy(cpu: Option<&str>, memory: Option<&str>) -> UpdateStrategy {
    UpdateStrategy {
        max_total_cpu_increase: cpu.map(str::to_owned),
        max_total_memory_increase: memory.map(str::to_owned),
        ..UpdateStrategy::default()
    }
}

fn resized(plan: &Plan) -> Vec<&str> {
    plan.resizes().map(|(p, _)| p).collect()
}

#[test]
fn the_budget_admits_pods_in_order_while_they_fit_table() {
    use Resource::{Cpu, Memory};
    let up = |pod: &str, from: &str, to: &str| {
        resize_pod(pod, vec![change(Cpu, Field::Request, Some(from), to)])
    };
    let cases: [(UpdateStrategy, Vec<PodDecision>, Vec<&str>); 6] = [
        // No budget: everything goes.
        (
            strategy(None, None),
            vec![up("a", "100m", "1"), up("b", "100m", "1")],
            vec!["a", "b"],
        ),
        // 250m: a (+100m) and b (+100m) fit, c (+100m) does not.
        (
            strategy(Some("250m"), None),
            vec![
                up("a", "100m", "200m"),
                up("b", "100m", "200m"),
                up("c", "100m", "200m"),
            ],
            vec!["a", "b"],
        ),
        // A pod that does not fit is skipped, a smaller one after it still fits.
        (
            strategy(Some("300m"), None),
            vec![
                up("a", "100m", "300m"),
                up("b", "100m", "1"),
                up("c", "100m", "200m"),
            ],
            vec!["a", "c"],
        ),
        // Decreases are free and give nothing back.
        (
            strategy(Some("100m"), None),
            vec![
                up("a", "1", "100m"),
                up("b", "100m", "200m"),
                up("c", "100m", "200m"),
            ],
            vec!["a", "b"],
        ),
        // Memory budget, a request set where there was none counts whole; limits cost nothing.
        (
            strategy(None, Some("64Mi")),
            vec![
                resize_pod(
                    "a",
                    vec![
                        change(Memory, Field::Request, None, "64Mi"),
                        change(Memory, Field::Limit, Some("64Mi"), "1Gi"),
                    ],
                ),
                resize_pod(
                    "b",
                    vec![change(Memory, Field::Request, Some("64Mi"), "65Mi")],
                ),
            ],
            vec!["a"],
        ),
        // Zero budget: only decreases.
        (
            strategy(Some("0"), Some("0")),
            vec![up("a", "100m", "101m"), up("b", "200m", "100m")],
            vec!["b"],
        ),
    ];
    for (s, pods, want) in cases {
        let mut budget = Budget::from_strategy(Some(&s)).unwrap();
        let plan = budget.admit(Plan { pods });
        assert_eq!(resized(&plan), want, "{s:?}");
    }
}

#[test]
fn the_budget_lasts_across_workloads_and_says_when_it_ran_out() {
    let mut budget = Budget::from_strategy(Some(&strategy(Some("150m"), None))).unwrap();
    let up = |pod: &str| {
        resize_pod(
            pod,
            vec![change(Resource::Cpu, Field::Request, Some("100m"), "200m")],
        )
    };
    let first = budget.admit(Plan {
        pods: vec![up("web-a")],
    });
    assert_eq!(resized(&first), ["web-a"]);
    assert_eq!(budget.exhausted_message(), None);
    let second = budget.admit(Plan {
        pods: vec![up("api-a")],
    });
    assert!(resized(&second).is_empty());
    let Some(Decision::Skip(skip)) = second.get("api-a") else {
        panic!("api-a must be skipped")
    };
    assert_eq!(skip.reason, SkipReason::BudgetExhausted);
    assert_eq!(
        budget.exhausted_message().unwrap(),
        "increase budget exhausted (maxTotalCpuIncrease 150m, maxTotalMemoryIncrease \
         unlimited); 1 pod(s) wait for the next cycle: api-a"
    );
}

#[test]
fn a_budget_that_is_not_a_quantity_is_refused() {
    let err = Budget::from_strategy(Some(&strategy(Some("lots"), None))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "spec.updateStrategy.maxTotalCpuIncrease: \"lots\" is not a non-negative quantity \
         such as 500m or 1Gi"
    );
    assert!(Budget::from_strategy(Some(&strategy(None, Some("-1Gi")))).is_err());
}
