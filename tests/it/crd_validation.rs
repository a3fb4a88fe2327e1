//! The CRD's validation rules (CEL `x-kubernetes-validations`, `maxLength`, `maxItems`) on the
//! real API server that tests/run starts: every rule refuses a bad example with its message,
//! the Rust validator the controller runs refuses the same example in the same words, and the
//! demo and fixture policies as well as a policy that sets every field at its limit are
//! accepted as written.

use std::path::Path;

use attune::crd::{AttunePolicy, AttunePolicySpec, Violation, ViolationKind, validate};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
use kube::CustomResourceExt;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use serde_json::{Value, json};

use crate::support::cluster::{self, TestNamespace};

/// A valid spec that the bad examples change in one place.
fn base() -> Value {
    json!({
        "targetRef": {"kind": "Deployment", "name": "api"},
        "metricsSource": {"prometheus": {"address": "http://prometheus.monitoring:9090"}},
        "cpu": {}, "memory": {},
    })
}

/// JSON merge patch: objects merge, `null` removes the key.
fn merge(into: &mut Value, patch: &Value) {
    match (into, patch) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                if v.is_null() {
                    a.remove(k);
                } else {
                    merge(a.entry(k.clone()).or_insert(json!({})), v);
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// A bad example: the field it breaks and the change to [`base`] that breaks it.
struct Case {
    path: String,
    patch: Value,
}

fn case(path: &str, patch: Value) -> Case {
    Case {
        path: path.to_owned(),
        patch,
    }
}

/// Puts `leaf` at `spec.<path>` as a merge patch.
fn at(path: &str, leaf: Value) -> Value {
    let mut value = leaf;
    for key in path.rsplit('.') {
        value = json!({ key: value });
    }
    value
}

/// One bad example per rule and field (some rules get more than one).
fn cases() -> Vec<Case> {
    let mut out = vec![
        case(
            "spec.targetRef",
            json!({"targetRef": {"selector": {"matchLabels": {"app": "api"}}}}),
        ),
        case("spec.targetRef", json!({"targetRef": {"name": null}})),
        case(
            "spec.metricsSource",
            json!({"metricsSource": {"vpa": {"name": "api"}}}),
        ),
        case("spec.weight", json!({"weight": 0})),
        case("spec.weight", json!({"weight": 1001})),
        case(
            "spec.cpu",
            json!({"cpu": {"minAllowed": "2", "maxAllowed": "1"}}),
        ),
        case("spec.cpu", json!({"cpu": {"minAllowed": "4001m"}})),
        case("spec.memory", json!({"memory": {"maxAllowed": "2Mi"}})),
    ];
    out.extend(scalar_cases());
    out.extend(resource_cases());
    out.extend(list_cases());
    out
}

/// Bad URLs, durations and single values, each put at its field in [`base`].
fn scalar_cases() -> Vec<Case> {
    let mut out = Vec::new();
    let address = "metricsSource.prometheus.address";
    for url in [
        "http://admin:secret@prometheus.monitoring:9090",
        "ftp://prometheus.monitoring",
        "http://:9090",
        "prometheus.monitoring:9090",
    ] {
        out.push(case(&format!("spec.{address}"), at(address, json!(url))));
    }
    let durations = [
        ("metricsSource.historyWindow", vec!["59m", "721h", "7d"]),
        ("metricsSource.queryStep", vec!["9s", "61m"]),
        ("metricsSource.rateWindow", vec!["29s"]),
        ("updateStrategy.cooldown", vec!["59s", "an hour", "-1h"]),
        ("updateStrategy.safetyObservationPeriod", vec!["0s"]),
        ("updateStrategy.canary.observationPeriod", vec!["5 minutes"]),
        ("updateStrategy.export.pullRequest.cooldown", vec!["1d"]),
        (
            "updateStrategy.export.pullRequest.cooldown",
            vec!["1h0m0s0ms0us0ns0h0m0s"],
        ),
    ];
    for (field, values) in durations {
        for value in values {
            out.push(case(&format!("spec.{field}"), at(field, json!(value))));
        }
    }
    let scalars = [
        ("metricsSource.minimumDataPoints", json!(0)),
        ("updateStrategy.canary.percentage", json!(0)),
        ("updateStrategy.maxConcurrentResizes", json!(51)),
        ("updateStrategy.maxStatusRecommendations", json!(501)),
        ("updateStrategy.maxTotalCpuIncrease", json!("-1")),
        ("updateStrategy.maxTotalMemoryIncrease", json!("1Qi")),
        (
            "updateStrategy.export.pullRequest.minChangePercent",
            json!(-5),
        ),
        (
            "updateStrategy.export.pullRequest.apiUrl",
            json!("https://bot:token@gitea.example/api/v1"),
        ),
    ];
    for (field, value) in scalars {
        out.push(case(&format!("spec.{field}"), at(field, value)));
    }
    out
}

/// The rules of `cpu` and `memory`, once for each.
fn resource_cases() -> Vec<Case> {
    let mut out = Vec::new();
    for resource in ["cpu", "memory"] {
        let per_resource = [
            ("percentile", json!(42)),
            ("overhead", json!("20%")),
            ("overhead", json!("1000.5")),
            ("minAllowed", json!("-1")),
            ("maxAllowed", json!("lots")),
            ("burstSensitivity", json!(1.5)),
            ("maxChangePercent", json!(0)),
            ("maxIncreasePercent", json!(1001)),
            ("maxDecreasePercent", json!(101)),
            ("memoryFromCpuRatio", json!(0)),
            ("decreaseUsageMarginPercent", json!(101)),
            ("startupBoost.multiplier", json!(11)),
            ("startupBoost.duration", json!("5s")),
        ];
        for (field, value) in per_resource {
            let field = format!("{resource}.{field}");
            out.push(case(&format!("spec.{field}"), at(&field, value)));
        }
    }
    out
}

/// Rules on list items and list lengths.
fn list_cases() -> Vec<Case> {
    let mut out = Vec::new();
    let windows = "spec.updateStrategy.schedule.windows";
    out.push(case(
        &format!("{windows}[0].start"),
        json!({"updateStrategy": {"schedule": {"windows": [{"start": "9:00", "end": "17:00"}]}}}),
    ));
    out.push(case(
        &format!("{windows}[0].end"),
        json!({"updateStrategy": {"schedule": {"windows": [{"start": "09:00", "end": "24:00"}]}}}),
    ));
    let guardrail = json!({"name": "errors", "query": "up", "threshold": "1"});
    let mut slow = guardrail.clone();
    slow["evaluationWindow"] = json!("5 minutes");
    out.push(case(
        "spec.updateStrategy.sloGuardrails[0].evaluationWindow",
        json!({"updateStrategy": {"sloGuardrails": [slow]}}),
    ));
    out.push(case(
        "spec.updateStrategy.sloGuardrails",
        json!({"updateStrategy": {"sloGuardrails": vec![guardrail; 11]}}),
    ));
    out.push(case(
        windows,
        json!({"updateStrategy": {"schedule": {"windows": vec![json!({"start": "09:00", "end": "10:00"}); 25]}}}),
    ));
    out
}

fn spec_of(case: &Case) -> Value {
    let mut spec = base();
    merge(&mut spec, &case.patch);
    spec
}

/// What the Rust validator says about a case: exactly one violation, at the case's field.
fn rust_verdict(case: &Case) -> Violation {
    let spec: AttunePolicySpec =
        serde_json::from_value(spec_of(case)).unwrap_or_else(|e| panic!("{}: {e}", case.patch));
    let violations = validate(&spec)
        .expect_err(&format!("{} passes the Rust validator", case.patch))
        .0;
    assert_eq!(violations.len(), 1, "{}: {violations:?}", case.patch);
    let v = violations.into_iter().next().unwrap();
    assert_eq!(v.path, case.path, "{}", case.patch);
    v
}

/// Every field path that has CEL rules in the generated CRD, with their messages.
fn rule_sites(schema: &JSONSchemaProps, path: &str, out: &mut Vec<(String, String)>) {
    for rule in schema.x_kubernetes_validations.iter().flatten() {
        let message = rule.message.clone().unwrap_or_default();
        out.push((path.to_owned(), message));
    }
    for (name, field) in schema.properties.iter().flatten() {
        rule_sites(field, &format!("{path}.{name}"), out);
    }
    if let Some(items) = &schema.items {
        let items: JSONSchemaProps =
            serde_json::from_value(serde_json::to_value(items).unwrap()).unwrap();
        rule_sites(&items, &format!("{path}[0]"), out);
    }
}

#[test]
fn every_rule_of_the_crd_has_a_bad_example_the_rust_validator_refuses() {
    let crd = AttunePolicy::crd();
    let root = crd.spec.versions[0].schema.as_ref().unwrap();
    let root = root.open_api_v3_schema.as_ref().unwrap();
    let mut sites = Vec::new();
    rule_sites(
        &root.properties.as_ref().unwrap()["spec"],
        "spec",
        &mut sites,
    );
    assert!(sites.len() >= 40, "only {} rule sites found", sites.len());
    let verdicts: Vec<Violation> = cases().iter().map(rust_verdict).collect();
    for (path, message) in &sites {
        let covered = verdicts.iter().any(|v| {
            &v.path == path
                && matches!(&v.kind, ViolationKind::Invalid { message: m, .. } if m == message)
        });
        assert!(covered, "no bad example for {path}: {message}");
    }
}

#[test]
fn the_maximal_and_the_fixture_policies_pass_the_rust_validator() {
    for (name, spec) in good_policies() {
        let typed: AttunePolicySpec = serde_json::from_value(spec).unwrap();
        if let Err(e) = validate(&typed) {
            panic!("{name}: {e}");
        }
    }
}

/// A spec setting every field, numbers and durations at the edges of their ranges.
fn maximal() -> Value {
    let guardrails: Vec<Value> = (0..10)
        .map(|i| {
            json!({"name": format!("slo-{i}"), "query": "sum(rate(errors[5m]))", "threshold": "0.5",
                   "comparison": "below", "evaluationWindow": "1ms"})
        })
        .collect();
    let windows: Vec<Value> = (0..24)
        .map(|h| json!({"start": format!("{h:02}:00"), "end": format!("{h:02}:59")}))
        .collect();
    let resource = |percentile: i32, min: Value, max: Value| {
        json!({
            "percentile": percentile, "overhead": "1000.0000", "minAllowed": min, "maxAllowed": max,
            "controlledValues": "RequestsAndLimits", "allowDecrease": false, "burstSensitivity": 1,
            "maxChangePercent": 100, "maxIncreasePercent": 1000, "maxDecreasePercent": 1,
            "memoryFromCpuRatio": 0.001, "decreaseUsageMarginPercent": 100,
            "startupBoost": {"multiplier": 10, "duration": "1h"},
        })
    };
    json!({
        "targetRef": {"kind": "StatefulSet", "selector": {
            "matchLabels": {"tier": "api"},
            "matchExpressions": [{"key": "track", "operator": "NotIn", "values": ["canary"]}],
        }},
        "metricsSource": {
            "prometheus": {
                "address": "https://prometheus.monitoring.svc:9090/prom/?dedup=true#x",
                "headers": {"X-Scope-OrgID": "team-a"},
                "queryParameters": {"dedup": "true"},
                "bearerTokenSecret": {"name": "prometheus", "key": "token"},
                "tls": {"insecureSkipVerify": false},
            },
            "historyWindow": "720h", "minimumDataPoints": 1, "queryStep": "10s",
            "rateWindow": "30s", "podAggregation": "Avg",
            "cpuRecordingMetric": "cpu:rate5m", "memoryRecordingMetric": "memory:max",
        },
        "cpu": resource(50, json!("0"), json!(256)),
        "memory": resource(99, json!("4Mi"), json!("16Ti")),
        "paused": false,
        "excludedContainers": ["istio-proxy", "log-shipper"],
        "excludeKnownSidecars": true,
        "weight": 1000,
        "runtimeProfile": "java",
        "updateStrategy": {
            "type": "Canary",
            "canary": {"percentage": 100, "observationPeriod": "1ns", "autoPromote": true},
            "cooldown": "1m", "autoRevert": true, "resizeMethod": "InPlaceOrRecreate",
            "safetyObservationPeriod": "999999h", "initialSizing": false,
            "schedule": {"windows": windows, "daysOfWeek": ["Monday", "Friday"],
                         "timezone": "Europe/Berlin"},
            "maxConcurrentResizes": 50, "maxStatusRecommendations": 500,
            "includeExplanationsInStatus": true,
            "maxTotalCpuIncrease": 0, "maxTotalMemoryIncrease": "16Gi",
            "export": {
                "configMap": {"enabled": true},
                "pullRequest": {
                    "enabled": true, "provider": "gitea",
                    "tokenSecretRef": {"name": "forge", "key": "token"},
                    "repository": "acme/deploy", "baseBranch": "main",
                    "apiUrl": "http://127.0.0.1:3000/api/v1", "cooldown": "0",
                    "minChangePercent": 0, "labels": ["attune", "sizing"], "dryRun": true,
                    "path": "apps/",
                },
            },
            "sloGuardrails": guardrails,
            "templatePersistence": {"enabled": false, "when": "OnRecommendation"},
        },
    })
}

/// The maximal spec and every policy under fixtures/ as written there, by a unique name.
fn good_policies() -> Vec<(String, Value)> {
    let mut out = vec![("maximal".to_owned(), maximal())];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files = vec![root.join("demo/policies.yaml")];
    let mut cases: Vec<_> = std::fs::read_dir(root.join("repos"))
        .unwrap()
        .map(|e| e.unwrap().path().join("policies.yaml"))
        .filter(|p| p.exists())
        .collect();
    cases.sort();
    files.extend(cases);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
        let items = docs.into_iter().flat_map(|d| match d["kind"].as_str() {
            Some("List") => d["items"].as_array().cloned().unwrap_or_default(),
            _ => vec![d],
        });
        for (i, doc) in items.filter(|d| !d.is_null()).enumerate() {
            let case = file
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy();
            out.push((format!("{case} #{i}"), doc["spec"].clone()));
        }
    }
    assert!(out.len() > 30, "only {} policies found", out.len());
    out
}

const NOT_CHECKED: &str = "<nil>: Invalid value: null: some validation rules were not checked \
                           because the object was invalid; correct the existing errors to \
                           complete validation";

fn policy_api(ns: &TestNamespace) -> Api<DynamicObject> {
    let resource = ApiResource::erase::<AttunePolicy>(&());
    Api::namespaced_with(ns.client.clone(), &ns.name, &resource)
}

fn object(name: &str, spec: &Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
        "metadata": {"name": name}, "spec": spec,
    }))
    .unwrap()
}

#[tokio::test]
async fn the_api_server_refuses_each_bad_example_in_the_validators_words() {
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, "crd-validation-bad").await;
    let api = policy_api(&ns);
    let cases = cases();
    for (i, case) in cases.iter().enumerate() {
        let expected = rust_verdict(case);
        let name = format!("bad-{i}");
        let refused = match api
            .create(&PostParams::default(), &object(&name, &spec_of(case)))
            .await
        {
            Ok(_) => panic!("the API server accepted {}", case.patch),
            Err(kube::Error::Api(status)) => status,
            Err(e) => panic!("{}: {e}", case.patch),
        };
        assert_eq!(refused.code, 422, "{}: {refused:?}", case.patch);
        // A schema error (maxLength, maxItems) stops the API server before the CEL rules,
        // and it says so.
        let reported = match expected.kind {
            ViolationKind::Invalid { .. } => expected.to_string(),
            _ => format!("[{expected}, {NOT_CHECKED}]"),
        };
        // The API server echoes a URL to its sender as sent; the validator, whose words go
        // into the status, masks its credentials.
        let answer = refused.message.replace("bot:token@", "***@");
        let answer = answer.replace("admin:secret@", "***@");
        assert_eq!(
            answer,
            format!("AttunePolicy.attune.io \"{name}\" is invalid: {reported}"),
            "{}",
            case.patch
        );
    }
    let list = api.list(&Default::default()).await.unwrap();
    assert!(list.items.is_empty(), "nothing bad was stored");
    eprintln!("{} bad examples refused", cases.len());
}

#[tokio::test]
async fn the_api_server_accepts_the_maximal_and_the_fixture_policies_as_written() {
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, "crd-validation-good").await;
    let api = policy_api(&ns);
    let policies = good_policies();
    for (i, (what, spec)) in policies.iter().enumerate() {
        let name = format!("good-{i}");
        let stored = api
            .create(&PostParams::default(), &object(&name, spec))
            .await
            .unwrap_or_else(|e| panic!("{what} refused: {e}"));
        // Nothing pruned or defaulted: what is stored is what was written.
        assert_eq!(&stored.data["spec"], spec, "{what}");
    }
    eprintln!("{} good policies accepted", policies.len());
}
