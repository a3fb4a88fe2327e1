use kube::CustomResourceExt;
use serde_json::{Value, json};

use super::*;
use crate::crd::AttunePolicy;

/// Leaf paths under `spec` in the generated schema, stopping at the paths [`FIELDS`] lists.
fn walk(schema: &Value, path: &str, out: &mut Vec<String>) {
    let listed = FIELDS.iter().any(|(p, _)| *p == path);
    let properties = schema.get("properties").and_then(Value::as_object);
    match properties {
        Some(props) if !listed => {
            for (name, child) in props {
                let child_path = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                walk(child, &child_path, out);
            }
        }
        _ => out.push(path.to_owned()),
    }
}

#[test]
fn every_spec_field_is_honoured_or_refused() {
    let crd = serde_json::to_value(AttunePolicy::crd()).unwrap();
    let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    let mut leaves = Vec::new();
    walk(spec, "", &mut leaves);
    let unlisted: Vec<&String> = leaves
        .iter()
        .filter(|l| !FIELDS.iter().any(|(p, _)| p == l))
        .collect();
    assert!(unlisted.is_empty(), "fields with no standing: {unlisted:?}");
    let stale: Vec<&str> = FIELDS
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| !leaves.iter().any(|l| l == p))
        .collect();
    assert!(stale.is_empty(), "listed but not in the CRD: {stale:?}");
}

#[test]
fn the_readme_table_lists_every_field_with_its_standing() {
    let readme = include_str!("../../README.md");
    let heading = "### Spec fields: honoured or refused\n";
    let start = readme.find(heading).expect("the README section") + heading.len();
    let section = &readme[start..];
    let section = &section[..section.find("\n### ").unwrap_or(section.len())];
    for (path, standing) in FIELDS {
        let row = section
            .lines()
            .find(|l| l.starts_with(&format!("| `{path}` |")))
            .unwrap_or_else(|| panic!("README has no row for {path}"));
        let word = match standing {
            Standing::Honoured => "honoured",
            Standing::Refused => "refused",
            Standing::Revert => "auto-revert",
            Standing::Recommender => "recommender",
        };
        assert!(
            row.contains(word),
            "README row for {path} must say {word}: {row}"
        );
    }
}

fn spec(extra: Value) -> AttunePolicySpec {
    let mut base = json!({
        "targetRef": {"kind": "Deployment", "name": "web"},
        "metricsSource": {"prometheus": {"address": "http://p:9090"}},
        "cpu": {}, "memory": {},
    });
    merge(&mut base, extra);
    serde_json::from_value(base).unwrap()
}

fn merge(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, e) => *b = e,
    }
}

#[test]
fn refused_fields_are_named_with_the_reason_table() {
    let cases = [
        (
            json!({"metricsSource": {"prometheus": null, "datadog": {"site": "datadoghq.eu"}}}),
            "spec.metricsSource.datadog: only Prometheus is implemented",
        ),
        (
            json!({"metricsSource": {"prometheus": null, "cloudwatch": {}}}),
            "spec.metricsSource.cloudwatch: only Prometheus",
        ),
        (
            json!({"metricsSource": {"prometheus": null, "vpa": {"name": "v"}}}),
            "spec.metricsSource.vpa: only Prometheus",
        ),
        (
            json!({"cpu": {"startupBoost": {"multiplier": 2.0}}}),
            "spec.cpu.startupBoost: the startup boost is not implemented",
        ),
        (
            json!({"memory": {"decreaseUsageMarginPercent": 10}}),
            "spec.memory.decreaseUsageMarginPercent: memory limit decreases",
        ),
        (
            json!({"cpu": {"memoryFromCpuRatio": 2.0}}),
            "spec.cpu.memoryFromCpuRatio: applies to memory only",
        ),
        (
            json!({"updateStrategy": {"initialSizing": true}}),
            "spec.updateStrategy.initialSizing: sizing pods at admission needs a mutating webhook",
        ),
        (
            json!({"updateStrategy": {"resizeMethod": "InPlaceOrRecreate"}}),
            "spec.updateStrategy.resizeMethod: InPlaceOrRecreate",
        ),
        (
            json!({"updateStrategy": {"export": {"configMap": {"enabled": true}}}}),
            "spec.updateStrategy.export.configMap.enabled: the ConfigMap export is not implemented",
        ),
        (
            json!({"updateStrategy": {"templatePersistence": {"enabled": true}}}),
            "spec.updateStrategy.templatePersistence.enabled: patching the Deployment/StatefulSet",
        ),
    ];
    for (extra, want) in cases {
        let got = refusal(&spec(extra.clone())).unwrap_or_else(|| panic!("{extra} is not refused"));
        assert!(got.starts_with(want), "{extra}: {got}");
    }
}

#[test]
fn the_values_that_ask_for_nothing_unimplemented_pass_table() {
    let cases = [
        json!({}),
        json!({"updateStrategy": {"initialSizing": false, "resizeMethod": "InPlaceOnly"}}),
        json!({"updateStrategy": {"export": {"configMap": {"enabled": false}}}}),
        json!({"updateStrategy": {"templatePersistence": {"enabled": false}}}),
        json!({"memory": {"memoryFromCpuRatio": 2.0}}),
        json!({"weight": 5, "runtimeProfile": "java", "excludedContainers": ["x"]}),
    ];
    for extra in cases {
        assert_eq!(refusal(&spec(extra.clone())), None, "{extra}");
    }
}

#[test]
fn every_refused_field_is_reported_not_just_the_first() {
    let s = spec(
        json!({"updateStrategy": {"initialSizing": true, "resizeMethod": "InPlaceOrRecreate"}}),
    );
    assert_eq!(refusals(&s).len(), 2);
}
