//! The CRD in the chart is generated from the Rust types and must not drift from them.

use std::path::Path;

use assert_cmd::Command;
use attune::crd::{AttunePolicy, crd_yaml};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};
use kube::CustomResourceExt;

const CHART_CRD: &str = "charts/attune/crds/attunepolicy.yaml";

#[test]
fn committed_crd_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(CHART_CRD);
    let committed = std::fs::read_to_string(&path).unwrap();
    let generated = crd_yaml().unwrap();
    assert!(
        committed == generated,
        "{CHART_CRD} is stale; regenerate it with \
         `cargo run -- crd > {CHART_CRD}` and commit the result"
    );
}

#[test]
fn crd_subcommand_prints_the_generated_yaml() {
    let output = Command::cargo_bin("attune")
        .unwrap()
        .arg("crd")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        crd_yaml().unwrap()
    );
}

#[test]
fn generated_yaml_reads_back_as_the_same_crd() {
    let docs: Vec<CustomResourceDefinition> =
        serde_saphyr::from_multiple(&crd_yaml().unwrap()).unwrap();
    assert_eq!(docs, vec![AttunePolicy::crd()]);
}

#[test]
fn crd_identity_matches_the_go_operator() {
    let crd = AttunePolicy::crd();
    assert_eq!(
        crd.metadata.name.as_deref(),
        Some("attunepolicies.attune.io")
    );
    assert_eq!(crd.spec.group, "attune.io");
    assert_eq!(crd.spec.scope, "Namespaced");
    assert_eq!(crd.spec.names.kind, "AttunePolicy");
    assert_eq!(crd.spec.names.short_names, Some(vec!["ap".to_owned()]));
    let version = &crd.spec.versions[0];
    assert_eq!(version.name, "v1alpha1");
    assert!(version.subresources.as_ref().unwrap().status.is_some());
    let spec = spec_schema(&crd);
    let mut required = spec.required.clone().unwrap();
    required.sort();
    assert_eq!(required, ["cpu", "memory", "metricsSource", "targetRef"]);
}

#[test]
fn every_spec_field_documents_its_default() {
    let crd = AttunePolicy::crd();
    let mut missing = Vec::new();
    let checked = walk(spec_schema(&crd), "spec", &mut missing);
    assert!(
        checked > 80,
        "only {checked} fields were checked; is the walk broken?"
    );
    assert!(
        missing.is_empty(),
        "fields without `Default:` or `Required.`: {missing:#?}"
    );
}

fn spec_schema(crd: &CustomResourceDefinition) -> &JSONSchemaProps {
    let root = crd.spec.versions[0].schema.as_ref().unwrap();
    let root = root.open_api_v3_schema.as_ref().unwrap();
    &root.properties.as_ref().unwrap()["spec"]
}

/// Checks every property below `schema` and returns how many it checked.
fn walk(schema: &JSONSchemaProps, path: &str, missing: &mut Vec<String>) -> usize {
    let mut checked = 0;
    for (name, field) in schema.properties.iter().flatten() {
        let here = format!("{path}.{name}");
        checked += 1;
        let text = field.description.as_deref().unwrap_or_default();
        if !text.contains("Default:") && !text.contains("Required.") {
            missing.push(here.clone());
        }
        // LabelSelector's own docs come from Kubernetes; only our fields are checked.
        if name == "selector" {
            continue;
        }
        checked += walk(field, &here, missing);
        if let Some(items) = &field.items {
            let items = serde_json::to_value(items).unwrap();
            let items: JSONSchemaProps = serde_json::from_value(items).unwrap();
            checked += walk(&items, &format!("{here}[]"), missing);
        }
    }
    checked
}
