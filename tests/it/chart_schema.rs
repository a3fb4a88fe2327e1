//! values.schema.json as Helm enforces it (`helm lint` and `helm template` validate the merged
//! values against it): the default and the all-on values pass, and each kind of mistake a user
//! makes is refused before anything reaches the cluster, with a message naming the value.

use crate::support::helm::{self, Values, chart_dir};

/// Renders the chart with the default values plus `overrides` (a values file on stdin).
fn template_with(overrides: &str) -> (bool, String) {
    let chart = chart_dir().display().to_string();
    let out = helm::run(
        &["template", helm::RELEASE, &chart, "--values", "-"],
        Some(overrides),
    );
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_schema_is_json_and_closed_at_the_top() {
    let text = std::fs::read_to_string(chart_dir().join("values.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(schema["additionalProperties"], false);
    // Every top-level value is described: values.yaml and the schema list the same keys.
    let values: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(chart_dir().join("values.yaml")).unwrap())
            .unwrap();
    let mut in_values: Vec<&String> = values.as_object().unwrap().keys().collect();
    let mut in_schema: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
    in_values.sort();
    in_schema.sort();
    assert_eq!(
        in_values, in_schema,
        "values.yaml and values.schema.json differ"
    );
}

#[test]
fn both_values_files_pass_the_schema() {
    for values in Values::BOTH {
        let out = helm::template_output(values, "attune-system", &[]);
        assert!(
            out.status.success(),
            "{values:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn mistakes_are_refused_with_a_message_naming_the_value() {
    let cases = [
        ("replicaCont: 2\n", "replicaCont"),
        ("prPollInterval: 10 minutes\n", "prPollInterval"),
        ("leaderElection: {leaseDuration: 15}\n", "leaseDuration"),
        ("repoReadBudget: lots\n", "repoReadBudget"),
        ("logFormat: xml\n", "logFormat"),
        ("image: {pullPolicy: Sometimes}\n", "pullPolicy"),
        ("maxConcurrentReconciles: 0\n", "maxConcurrentReconciles"),
        ("secretAccess: {scope: namespaces}\n", "namespaces"),
        ("secretAccess: {scope: everywhere}\n", "scope"),
        (
            "allowedRepositories: [github.com/acme]\n",
            "allowedRepositories",
        ),
        ("serviceMonitor: {enabled: true, intervl: 30s}\n", "intervl"),
        ("prometheusRule: {for: 1.5h}\n", "for"),
        ("grafanaDashboard: {namespace: Monitoring}\n", "namespace"),
        ("apiServer: {host: \"https://10.0.0.1:6443\"}\n", "host"),
        ("hostNetwork: {bindAddress: localhost}\n", "bindAddress"),
    ];
    for (bad, names) in cases {
        let (ok, stderr) = template_with(bad);
        assert!(!ok, "{bad:?} was accepted");
        assert!(
            stderr.contains("values don't meet the specifications of the schema"),
            "{bad:?}: {stderr}"
        );
        assert!(
            stderr.contains(names),
            "{bad:?} does not name {names}: {stderr}"
        );
    }
}

#[test]
fn helm_lint_refuses_a_bad_values_file_too() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad-values.yaml");
    std::fs::write(&bad, "logLevel: 3\nreplicaCount: -1\n").unwrap();
    let chart = chart_dir().display().to_string();
    let out = helm::run(&["lint", &chart, "--values", bad.to_str().unwrap()], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("logLevel"), "{text}");
    assert!(text.contains("replicaCount"), "{text}");
}
