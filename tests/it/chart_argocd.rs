//! The Argo CD health script of charts/attune/docs/argocd-health.yaml, run by Lua 5.1 (Debian's
//! `lua5.1`, the dialect Argo CD embeds) the way Argo CD runs it: the live object as a global
//! table `obj`, the script's return value the health. One policy per state the controller
//! writes, plus the states Argo CD sees before the controller has.

use std::fmt::Write as _;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::helm::chart_dir;

const KEY: &str = "resource.customizations.health.attune.io_AttunePolicy";

fn script() -> String {
    let text = std::fs::read_to_string(chart_dir().join("docs/argocd-health.yaml")).unwrap();
    let config_map: Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(config_map["metadata"]["name"], "argocd-cm");
    config_map["data"][KEY].as_str().unwrap().to_owned()
}

/// A Lua table constructor holding `value` (JSON null: nil, as Argo CD's conversion leaves it).
fn lua_literal(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("nil"),
        Value::Bool(b) => write!(out, "{b}").unwrap(),
        Value::Number(n) => write!(out, "{n}").unwrap(),
        Value::String(s) => lua_string(s, out),
        Value::Array(items) => {
            out.push('{');
            for item in items {
                lua_literal(item, out);
                out.push_str(", ");
            }
            out.push('}');
        }
        Value::Object(map) => {
            out.push('{');
            for (key, item) in map {
                out.push('[');
                lua_string(key, out);
                out.push_str("] = ");
                lua_literal(item, out);
                out.push_str(", ");
            }
            out.push('}');
        }
    }
}

/// A Lua string literal; every byte outside printable ASCII as a decimal escape.
fn lua_string(s: &str, out: &mut String) {
    out.push('"');
    for b in s.bytes() {
        match b {
            b'"' | b'\\' => write!(out, "\\{}", b as char).unwrap(),
            0x20..=0x7e => out.push(b as char),
            _ => write!(out, "\\{b}").unwrap(),
        }
    }
    out.push('"');
}

/// Runs the script on `policy`: (status, message).
fn health(policy: &Value) -> (String, String) {
    let mut program = String::from("obj = ");
    lua_literal(policy, &mut program);
    program.push_str("\nlocal function health()\n");
    program.push_str(&script());
    program.push_str("\nend\nlocal hs = health()\nio.write(hs.status, \"\\n\", hs.message)\n");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("health.lua");
    std::fs::write(&file, &program).unwrap();
    let out = Command::new("lua5.1")
        .arg(&file)
        .output()
        .expect("lua5.1 on PATH (tests/deps.sh installs Debian's lua5.1)");
    assert!(
        out.status.success(),
        "lua5.1: {}\n{program}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (status, message) = text.split_once('\n').unwrap();
    (status.to_owned(), message.to_owned())
}

fn policy(generation: i64, conditions: Value) -> Value {
    json!({
        "apiVersion": "attune.io/v1alpha1",
        "kind": "AttunePolicy",
        "metadata": {"name": "web", "namespace": "shop", "generation": generation},
        "spec": {"targetRef": {"kind": "Deployment", "name": "web"}},
        "status": {"conditions": conditions},
    })
}

fn ready(status: &str, reason: &str, message: &str) -> Value {
    json!({"type": "Ready", "status": status, "reason": reason, "message": message,
           "observedGeneration": 3, "lastTransitionTime": "2026-01-01T00:00:00Z"})
}

#[test]
fn each_policy_state_maps_to_its_argo_cd_health() {
    let degraded = json!({"type": "Degraded", "status": "True", "reason": "HighRevertRate",
                          "message": "3 of the last 5 resizes were reverted"});
    let not_degraded = json!({"type": "Degraded", "status": "False", "reason": "Healthy"});
    let cases = [
        (
            policy(
                3,
                json!([
                    ready("True", "Monitoring", "Watching 1 workload, 2 pods"),
                    not_degraded
                ]),
            ),
            "Healthy",
            "Monitoring: Watching 1 workload, 2 pods",
        ),
        (
            policy(
                3,
                json!([ready(
                    "False",
                    "InsufficientData",
                    "Watching 1 workload; no recommendation yet"
                )]),
            ),
            "Progressing",
            "InsufficientData: Watching 1 workload; no recommendation yet",
        ),
        (
            policy(
                3,
                json!([ready(
                    "False",
                    "NoWorkloadsFound",
                    "no workload matches targetRef"
                )]),
            ),
            "Progressing",
            "NoWorkloadsFound: no workload matches targetRef",
        ),
        (
            policy(
                3,
                json!([ready(
                    "False",
                    "InvalidConfig",
                    "spec.cpu.percentile: must be 1-100"
                )]),
            ),
            "Degraded",
            "InvalidConfig: spec.cpu.percentile: must be 1-100",
        ),
        (
            policy(
                3,
                json!([ready("False", "WorkloadDiscoveryFailed", "forbidden")]),
            ),
            "Degraded",
            "WorkloadDiscoveryFailed: forbidden",
        ),
        (
            policy(
                3,
                json!([ready("True", "Monitoring", "Watching 1 workload"), degraded]),
            ),
            "Degraded",
            "HighRevertRate: 3 of the last 5 resizes were reverted",
        ),
        (
            policy(3, json!([ready("False", "Paused", "spec.paused is true")])),
            "Suspended",
            "Paused: spec.paused is true",
        ),
        // A spec change the controller has not seen yet: not Healthy on the old status.
        (
            policy(
                4,
                json!([ready("True", "Monitoring", "Watching 1 workload")]),
            ),
            "Progressing",
            "waiting for the controller to see generation 4",
        ),
        // Just created: no status, or conditions without Ready.
        (
            json!({"apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
                   "metadata": {"name": "web", "generation": 1}, "spec": {}}),
            "Progressing",
            "waiting for the Attune controller",
        ),
        (
            policy(
                1,
                json!([{"type": "Resizing", "status": "False", "reason": "Idle"}]),
            ),
            "Progressing",
            "waiting for the Attune controller",
        ),
    ];
    for (object, status, message) in cases {
        let got = health(&object);
        assert_eq!(
            (got.0.as_str(), got.1.as_str()),
            (status, message),
            "{object}"
        );
    }
}

#[test]
fn strings_reach_lua_unchanged() {
    // The conversion itself: quotes, backslashes, newlines and UTF-8 in a message survive.
    let message = "bad \"cpu\" \\ value\nline two: café";
    let (status, got) = health(&policy(
        3,
        json!([ready("False", "InvalidConfig", message)]),
    ));
    assert_eq!(status, "Degraded");
    assert_eq!(got, format!("InvalidConfig: {message}"));
}

#[test]
fn the_flux_example_checks_the_policy_kind() {
    let text = std::fs::read_to_string(chart_dir().join("docs/flux-kustomization.yaml")).unwrap();
    let kustomization: Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(kustomization["kind"], "Kustomization");
    let check = &kustomization["spec"]["healthChecks"][0];
    assert_eq!(check["apiVersion"], "attune.io/v1alpha1");
    assert_eq!(check["kind"], "AttunePolicy");
    let expr = &kustomization["spec"]["healthCheckExprs"][0];
    assert_eq!(expr["kind"], "AttunePolicy");
    for field in ["current", "inProgress", "failed"] {
        assert!(expr[field].as_str().unwrap().contains("Ready"), "{field}");
    }
}
