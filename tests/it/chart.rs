//! The Helm chart against the binary and the controller's needs: every environment variable
//! the Deployment sets is one `attune controller` reads, every value the templates use is in
//! values.yaml, and the ClusterRole grants what the reconcile calls (and no write beyond it).

use std::collections::BTreeSet;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn chart(file: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("charts/attune")
            .join(file),
    )
    .unwrap()
}

/// Replaces every `{{ ... }}` with a plain word and drops template-only lines, enough to read
/// the static structure of a template as YAML.
fn flatten(template: &str) -> String {
    let mut out = String::new();
    for line in template.lines() {
        if line.trim_start().starts_with("{{-") && line.trim_end().ends_with("}}") {
            continue;
        }
        let mut rest = line;
        let mut flat = String::new();
        while let Some(start) = rest.find("{{") {
            flat.push_str(&rest[..start]);
            let end = rest[start..]
                .find("}}")
                .map_or(rest.len(), |e| start + e + 2);
            flat.push_str("templated");
            rest = &rest[end..];
        }
        flat.push_str(rest);
        out.push_str(&flat);
        out.push('\n');
    }
    out
}

#[test]
fn every_env_var_of_the_deployment_is_a_flag_of_the_binary() {
    let help = Command::cargo_bin("attune")
        .unwrap()
        .args(["controller", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let deployment = chart("templates/deployment.yaml");
    let set: BTreeSet<&str> = deployment
        .split("name: ")
        .skip(1)
        .filter_map(|s| s.split([',', '}', ' ']).next())
        .filter(|n| n.starts_with("ATTUNE_"))
        .collect();
    assert!(set.len() >= 15, "{set:?}");
    for var in set {
        assert!(
            help.contains(&format!("env: {var}")),
            "{var} is not read by attune controller"
        );
    }
}

#[test]
fn every_value_the_templates_use_is_defined() {
    let values: Value = serde_saphyr::from_str(&chart("values.yaml")).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("charts/attune/templates");
    let mut used = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for part in text.split(".Values.").skip(1) {
            let path: String = part
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect();
            used.insert(path.trim_end_matches('.').to_owned());
        }
    }
    assert!(used.len() > 10, "{used:?}");
    for path in used {
        let mut node = &values;
        for key in path.split('.') {
            node = node
                .get(key)
                .unwrap_or_else(|| panic!(".Values.{path} is not in values.yaml"));
        }
    }
}

/// (group, resource, verb) triples of the ClusterRole.
fn grants() -> BTreeSet<(String, String, String)> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(&flatten(&chart("templates/clusterrole.yaml"))).unwrap();
    let role = docs.iter().find(|d| d["kind"] == "ClusterRole").unwrap();
    let mut out = BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        let list = |k: &str| -> Vec<String> {
            rule[k]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default()
        };
        for g in list("apiGroups") {
            for r in list("resources") {
                for v in list("verbs") {
                    out.insert((g.clone(), r.clone(), v));
                }
            }
        }
    }
    out
}

#[test]
fn the_cluster_role_grants_what_the_controller_calls_and_writes_nothing_else() {
    let have = grants();
    let need = [
        ("attune.io", "attunepolicies", "watch"),
        ("attune.io", "attunepolicies/status", "patch"),
        ("", "pods", "watch"),
        ("", "pods", "patch"),
        ("", "pods/resize", "patch"),
        ("apps", "deployments", "watch"),
        ("apps", "statefulsets", "watch"),
        ("apps", "daemonsets", "watch"),
        ("events.k8s.io", "events", "create"),
        ("events.k8s.io", "events", "patch"),
        ("argoproj.io", "applications", "get"),
        ("kustomize.toolkit.fluxcd.io", "kustomizations", "get"),
        ("source.toolkit.fluxcd.io", "gitrepositories", "get"),
        ("helm.toolkit.fluxcd.io", "helmreleases", "get"),
    ];
    for (g, r, v) in need {
        assert!(
            have.contains(&(g.to_owned(), r.to_owned(), v.to_owned())),
            "missing {v} on {g}/{r}"
        );
    }
    let writes: BTreeSet<(String, String)> = have
        .iter()
        .filter(|(_, _, v)| {
            ["create", "update", "patch", "delete", "deletecollection"].contains(&v.as_str())
        })
        .map(|(g, r, _)| (g.clone(), r.clone()))
        .collect();
    let allowed: BTreeSet<(String, String)> = [
        ("attune.io", "attunepolicies/status"),
        ("", "pods"),
        ("", "pods/resize"),
        ("events.k8s.io", "events"),
    ]
    .iter()
    .map(|(g, r)| ((*g).to_owned(), (*r).to_owned()))
    .collect();
    assert_eq!(writes, allowed, "the controller writes nothing else");
    assert!(
        !have.iter().any(|(_, r, _)| r == "secrets"),
        "secrets are granted separately (secretAccess)"
    );
}
