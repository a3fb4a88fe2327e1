//! One owner per workload. When several policies target one workload, the one with the highest
//! `weight` (default 100) owns it; ties go to the oldest policy (`creationTimestamp`, then
//! name). Only the owner resizes the workload or proposes it in a pull request; the others
//! say in their status who owns it.
//!
//! A policy may also name the controller that acts on it with the `attune.io/controller`
//! annotation; one naming another controller (the Go operator, during a migration) is left
//! alone entirely by this one. It still takes part in the weight contest: its controller may be
//! resizing the workload, and two controllers must never resize one pod.

use std::cmp::Ordering;

use crate::crd::AttunePolicy;

/// Annotation naming the controller that acts on a policy.
pub const CONTROLLER_ANNOTATION: &str = "attune.io/controller";
/// This controller's name in [`CONTROLLER_ANNOTATION`]; unset or empty also means this one.
pub const CONTROLLER_NAME: &str = "attune-controller";
/// `weight` when unset.
pub const DEFAULT_WEIGHT: i32 = 100;

/// Whether this controller acts on `policy`.
pub fn is_ours(policy: &AttunePolicy) -> bool {
    match controller_of(policy) {
        None => true,
        Some(name) => name == CONTROLLER_NAME,
    }
}

/// The controller the policy names, when it names one.
pub fn controller_of(policy: &AttunePolicy) -> Option<&str> {
    policy
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(CONTROLLER_ANNOTATION))
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
}

/// Whether `a` wins a workload over `b`: higher weight, then older, then lower name.
fn beats(a: &AttunePolicy, b: &AttunePolicy) -> bool {
    let weight = |p: &AttunePolicy| p.spec.weight.unwrap_or(DEFAULT_WEIGHT);
    // A missing creation time (a hand-made object) counts as newest.
    let created = |p: &AttunePolicy| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
    let by_weight = weight(b).cmp(&weight(a));
    let by_age = match (created(a), created(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    let by_name = a.metadata.name.cmp(&b.metadata.name);
    by_weight.then(by_age).then(by_name) == Ordering::Less
}

/// The policy that owns a workload, out of every policy targeting it (which includes `me`).
pub fn owner<'a>(contenders: &'a [&'a AttunePolicy]) -> Option<&'a AttunePolicy> {
    contenders
        .iter()
        .copied()
        .reduce(|best, next| if beats(next, best) { next } else { best })
}

/// Why `me` does not own the workload `owner` won, in one sentence; `None` when it does.
pub fn lost_to(me: &AttunePolicy, owner: &AttunePolicy) -> Option<String> {
    if me.metadata.uid == owner.metadata.uid && me.metadata.name == owner.metadata.name {
        return None;
    }
    let weight = |p: &AttunePolicy| p.spec.weight.unwrap_or(DEFAULT_WEIGHT);
    let name = owner.metadata.name.as_deref().unwrap_or_default();
    let why = if weight(owner) != weight(me) {
        format!("weight {} > {}", weight(owner), weight(me))
    } else {
        format!("same weight {}, older policy", weight(me))
    };
    let controller = match controller_of(owner) {
        Some(c) if c != CONTROLLER_NAME => format!(", acted on by controller {c}"),
        _ => String::new(),
    };
    Some(format!("policy {name} ({why}{controller})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(name: &str, weight: Option<i32>, created: Option<&str>) -> AttunePolicy {
        let mut p: AttunePolicy = serde_json::from_value(serde_json::json!({
            "apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
            "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}")},
            "spec": {"targetRef": {"kind": "Deployment", "name": "web"},
                     "metricsSource": {}, "cpu": {}, "memory": {}},
        }))
        .unwrap();
        p.spec.weight = weight;
        if let Some(t) = created {
            p.metadata.creation_timestamp = Some(
                k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(t.parse().unwrap()),
            );
        }
        p
    }

    #[test]
    fn the_owner_table() {
        let old = Some("2026-01-01T00:00:00Z");
        let new = Some("2026-06-01T00:00:00Z");
        let cases = [
            // Highest weight wins, whatever the age or name.
            (
                vec![policy("a", Some(10), old), policy("b", Some(500), new)],
                "b",
            ),
            // Unset weight is 100.
            (
                vec![policy("a", None, new), policy("b", Some(99), old)],
                "a",
            ),
            (
                vec![policy("a", Some(101), new), policy("b", None, old)],
                "a",
            ),
            // Ties: the oldest; then the name.
            (vec![policy("z", None, old), policy("a", None, new)], "z"),
            (
                vec![policy("b", Some(5), old), policy("a", Some(5), old)],
                "a",
            ),
            // A policy without a creation time loses a tie to one with it.
            (vec![policy("a", None, None), policy("b", None, new)], "b"),
            // Alone: it owns.
            (vec![policy("a", Some(1), None)], "a"),
        ];
        for (policies, want) in cases {
            let refs: Vec<&AttunePolicy> = policies.iter().collect();
            // The order of the list must not matter.
            let mut reversed = refs.clone();
            reversed.reverse();
            for list in [refs, reversed] {
                let got = owner(&list).unwrap();
                assert_eq!(got.metadata.name.as_deref(), Some(want), "{list:?}");
            }
        }
    }

    #[test]
    fn the_loser_is_told_who_won_and_why() {
        let old = Some("2026-01-01T00:00:00Z");
        let big = policy("big", Some(200), None);
        let small = policy("small", None, old);
        assert_eq!(
            lost_to(&small, &big).as_deref(),
            Some("policy big (weight 200 > 100)")
        );
        assert_eq!(lost_to(&big, &big), None);
        let elder = policy("elder", None, old);
        let young = policy("young", None, Some("2026-02-01T00:00:00Z"));
        assert_eq!(
            lost_to(&young, &elder).as_deref(),
            Some("policy elder (same weight 100, older policy)")
        );
        let mut go = policy("go", Some(300), None);
        go.metadata.annotations =
            Some([(CONTROLLER_ANNOTATION.into(), "go-operator".into())].into());
        assert_eq!(
            lost_to(&small, &go).as_deref(),
            Some("policy go (weight 300 > 100, acted on by controller go-operator)")
        );
    }

    #[test]
    fn the_controller_annotation_table() {
        let cases = [
            (None, true),
            (Some(""), true),
            (Some("attune-controller"), true),
            (Some(" attune-controller "), true),
            (Some("go-operator"), false),
            (Some("attune-go"), false),
        ];
        for (value, want) in cases {
            let mut p = policy("a", None, None);
            if let Some(v) = value {
                p.metadata.annotations = Some([(CONTROLLER_ANNOTATION.into(), v.into())].into());
            }
            assert_eq!(is_ours(&p), want, "{value:?}");
        }
    }
}
