//! The Helm chart as Helm renders it (a real `helm`, tests/tools/helm.sh), with the default
//! values and with charts/attune/ci/all-on-values.yaml: `helm lint` passes, every environment
//! variable the Deployment sets is one `attune controller` reads, every value the templates use
//! is in values.yaml, and the ClusterRole grants what the reconcile calls (and no write beyond it).

use std::collections::BTreeSet;

use assert_cmd::Command;
use serde_json::Value;

use crate::support::helm::{self, Values, chart_dir, find, kinds};

const NS: &str = "attune-system";

#[test]
fn helm_lint_passes_strictly_with_both_values_files() {
    for values in Values::BOTH {
        let chart = chart_dir().display().to_string();
        let all_on = chart_dir().join("ci/all-on-values.yaml");
        let all_on = all_on.display().to_string();
        let mut args = vec!["lint", "--strict", &chart];
        if matches!(values, Values::AllOn) {
            args.extend(["--values", &all_on]);
        }
        let out = helm::run(&args, None);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "helm lint {values:?}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("1 chart(s) linted, 0 chart(s) failed"),
            "{text}"
        );
    }
}

fn controller_env(objects: &[Value]) -> Vec<(String, Value)> {
    let deployment = find(objects, "Deployment", "attune-controller");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["name"], "controller");
    container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_owned(), e.clone()))
        .collect()
}

#[test]
fn every_env_var_of_the_deployment_is_a_flag_of_the_binary() {
    let help = Command::cargo_bin("attune")
        .unwrap()
        .args(["controller", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for values in Values::BOTH {
        let env = controller_env(&helm::template(values, NS));
        let attune: Vec<&str> = env
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| n.starts_with("ATTUNE_"))
            .collect();
        assert!(attune.len() >= 18, "{values:?}: {attune:?}");
        for var in attune {
            assert!(
                help.contains(&format!("env: {var}")),
                "{values:?}: {var} is not read by attune controller"
            );
        }
    }
}

#[test]
fn the_all_on_values_reach_the_deployment() {
    let objects = helm::template(Values::AllOn, NS);
    let env: std::collections::BTreeMap<String, Value> =
        controller_env(&objects).into_iter().collect();
    let value = |name: &str| env[name]["value"].as_str().unwrap().to_owned();
    assert_eq!(
        value("ATTUNE_ALLOWED_REPOSITORIES"),
        "github.com/acme/*,http://gitea.internal:3000/team/*"
    );
    assert_eq!(value("ATTUNE_ARGOCD_NAMESPACES"), "argocd,argocd-tenants");
    assert_eq!(value("ATTUNE_ARGOCD_INSTALLATION_ID"), "prod-east");
    assert_eq!(value("ATTUNE_PR_HOURLY_LIMIT"), "5");
    assert_eq!(value("ATTUNE_LEASE_DURATION"), "30s");
    assert_eq!(value("ATTUNE_BIND_ADDRESS"), "0.0.0.0:9090");
    assert_eq!(value("KUBERNETES_SERVICE_HOST"), "api.internal.example.com");
    assert_eq!(value("KUBERNETES_SERVICE_PORT"), "6443");
    let deployment = find(&objects, "Deployment", "attune-controller");
    assert_eq!(deployment["spec"]["replicas"], 3);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(
        pod["containers"][0]["image"],
        "registry.example.com/platform/attune:0.1.0-ci"
    );
    assert_eq!(pod["nodeSelector"]["kubernetes.io/os"], "linux");
    assert_eq!(pod["schedulerName"], "platform-scheduler");
    assert_eq!(pod["hostNetwork"], true);
    assert_eq!(pod["dnsPolicy"], "ClusterFirstWithHostNet");
    // Bound to every address of the node: the kubelet probes the pod IP, as by default.
    assert!(pod["containers"][0]["readinessProbe"]["httpGet"]["host"].is_null());
    assert_eq!(pod["tolerations"][0]["value"], "platform");
    assert_eq!(
        deployment["spec"]["template"]["metadata"]["annotations"]["example.com/team"],
        "platform"
    );
    // The default values leave the optional id out instead of setting it empty, and the
    // API server address to the kubelet (the kubernetes Service).
    let default_env = controller_env(&helm::template(Values::Default, NS));
    for unset in ["ATTUNE_ARGOCD_INSTALLATION_ID", "KUBERNETES_SERVICE_HOST"] {
        assert!(!default_env.iter().any(|(n, _)| n == unset), "{unset}");
    }
}

#[test]
fn in_the_nodes_network_the_listener_and_its_probes_stay_on_the_loopback_by_default() {
    let out = helm::template_output(
        Values::Default,
        NS,
        &["--set", "hostNetwork.enabled=true,metricsPort=18080"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objects = helm::objects(&String::from_utf8(out.stdout).unwrap());
    let env: std::collections::BTreeMap<String, Value> =
        controller_env(&objects).into_iter().collect();
    assert_eq!(env["ATTUNE_BIND_ADDRESS"]["value"], "127.0.0.1:18080");
    let pod = &find(&objects, "Deployment", "attune-controller")["spec"]["template"]["spec"];
    assert_eq!(pod["hostNetwork"], true);
    for probe in ["livenessProbe", "readinessProbe"] {
        let get = &pod["containers"][0][probe]["httpGet"];
        assert_eq!(get["host"], "127.0.0.1", "{probe}: {get}");
        assert_eq!(get["port"], "metrics", "{probe}: {get}");
    }
    // In the pod's own network (the default) the kubelet probes the pod IP.
    let default = helm::template(Values::Default, NS);
    let pod = &find(&default, "Deployment", "attune-controller")["spec"]["template"]["spec"];
    assert!(pod["hostNetwork"].is_null());
    assert!(pod["containers"][0]["livenessProbe"]["httpGet"]["host"].is_null());
}

#[test]
fn monitoring_objects_are_off_by_default_and_on_in_the_all_on_values() {
    let optional = ["ServiceMonitor", "PrometheusRule", "ConfigMap"];
    let default = kinds(&helm::template(Values::Default, NS));
    for kind in optional {
        assert!(!default.iter().any(|k| k == kind), "{kind} in {default:?}");
    }
    let all_on = kinds(&helm::template(Values::AllOn, NS));
    for kind in optional {
        assert!(all_on.iter().any(|k| k == kind), "{kind} not in {all_on:?}");
    }
}

#[test]
fn every_value_the_templates_use_is_defined() {
    let text = std::fs::read_to_string(chart_dir().join("values.yaml")).unwrap();
    let values: Value = serde_saphyr::from_str(&text).unwrap();
    let mut used = BTreeSet::new();
    for entry in std::fs::read_dir(chart_dir().join("templates")).unwrap() {
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

/// (group, resource, verb) triples of a rendered Role or ClusterRole.
fn grants(role: &Value) -> BTreeSet<(String, String, String)> {
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

fn writes(have: &BTreeSet<(String, String, String)>) -> BTreeSet<(String, String)> {
    have.iter()
        .filter(|(_, _, v)| {
            ["create", "update", "patch", "delete", "deletecollection"].contains(&v.as_str())
        })
        .map(|(g, r, _)| (g.clone(), r.clone()))
        .collect()
}

#[test]
fn the_cluster_role_grants_what_the_controller_calls_and_writes_nothing_else() {
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
    let allowed: BTreeSet<(String, String)> = [
        ("attune.io", "attunepolicies/status"),
        ("", "pods"),
        ("", "pods/resize"),
        ("events.k8s.io", "events"),
    ]
    .iter()
    .map(|(g, r)| ((*g).to_owned(), (*r).to_owned()))
    .collect();
    for values in Values::BOTH {
        let objects = helm::template(values, NS);
        let have = grants(find(&objects, "ClusterRole", "attune-controller"));
        for (g, r, v) in need {
            assert!(
                have.contains(&(g.to_owned(), r.to_owned(), v.to_owned())),
                "{values:?}: missing {v} on {g}/{r}"
            );
        }
        assert_eq!(
            writes(&have),
            allowed,
            "{values:?}: the controller writes nothing else"
        );
        assert!(
            !have.iter().any(|(_, r, _)| r == "secrets"),
            "secrets are granted separately (secretAccess)"
        );
        let binding = find(&objects, "ClusterRoleBinding", "attune-controller");
        assert_eq!(binding["subjects"][0]["name"], "attune-controller");
        assert_eq!(binding["subjects"][0]["namespace"], NS);
    }
}

#[test]
fn secrets_are_readable_only_where_secret_access_says() {
    let secret_grants = |o: &Value| grants(o).iter().any(|(_, r, _)| r == "secrets");
    let default = helm::template(Values::Default, NS);
    let cluster_role = find(&default, "ClusterRole", "attune-controller-secrets");
    assert_eq!(
        grants(cluster_role),
        BTreeSet::from([(String::new(), "secrets".into(), "get".into())])
    );
    assert!(
        !default
            .iter()
            .any(|o| o["kind"] == "Role" && secret_grants(o))
    );

    let all_on = helm::template(Values::AllOn, NS);
    assert!(
        !all_on
            .iter()
            .any(|o| o["kind"] == "ClusterRole" && secret_grants(o)),
        "scope: namespaces grants no cluster-wide secret read"
    );
    let namespaces: BTreeSet<&str> = all_on
        .iter()
        .filter(|o| o["kind"] == "Role" && secret_grants(o))
        .map(|o| o["metadata"]["namespace"].as_str().unwrap())
        .collect();
    assert_eq!(
        namespaces,
        BTreeSet::from(["attune-chart-team-a", "attune-chart-team-b"])
    );
}
