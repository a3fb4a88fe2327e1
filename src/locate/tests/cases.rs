//! One row per fixture (`rows`): what the walk must find, or why it must refuse.

use std::collections::BTreeSet;

use super::rows::{Found, Want, cases};
use super::{fixture_dir, load, run};
use crate::locate::ObjectKind::Application;
use crate::locate::{ShadowKind, Source};
use ShadowKind::*;

fn check(name: &str, got: &Source, want: &Found) {
    assert_eq!(got.tool, want.tool, "{name}: tool");
    assert_eq!(got.repo_url, want.repo, "{name}: repo");
    assert_eq!(
        (got.revision.kind, got.revision.name.as_str()),
        want.revision,
        "{name}: revision"
    );
    assert_eq!(
        got.revision.resolved.as_deref(),
        want.resolved,
        "{name}: resolved"
    );
    assert_eq!(got.path, want.path, "{name}: path");
    let owner = (
        got.owner.kind,
        got.owner.namespace.as_str(),
        got.owner.name.as_str(),
    );
    assert_eq!(owner, want.owner, "{name}: owner");
    assert_eq!(
        got.chain.first(),
        Some(&got.owner),
        "{name}: chain starts at the owner"
    );
    assert_eq!(got.chain.len(), want.chain, "{name}: chain {:?}", got.chain);
    let shadows: Vec<ShadowKind> = got.shadows.iter().map(|s| s.what).collect();
    assert_eq!(shadows, want.shadows, "{name}: shadows");
    let checks: Vec<&str> = got.checks.iter().map(|c| c.file.as_str()).collect();
    assert_eq!(checks, want.checks, "{name}: checks");
    assert_eq!(
        got.hints.len(),
        want.hints.len(),
        "{name}: hints {:#?}",
        got.hints
    );
    for (hint, part) in got.hints.iter().zip(want.hints) {
        assert!(hint.contains(part), "{name}: hint {hint:?} lacks {part:?}");
    }
}

#[test]
fn every_fixture_resolves_as_its_row_says() {
    for (name, want) in cases() {
        let got = run(&load(name));
        match (&got, &want) {
            (Ok(source), Want::Found(found)) => check(name, source, found),
            (Err(err), Want::Fails(is, message)) => {
                assert!(is(err), "{name}: wrong error {err:?}");
                let text = err.to_string();
                assert!(text.contains(message), "{name}: {text:?} lacks {message:?}");
            }
            (Ok(source), Want::Fails(..)) => panic!("{name}: expected an error, got {source:#?}"),
            (Err(err), Want::Found(_)) => panic!("{name}: expected a source, got {err}"),
        }
    }
}

#[test]
fn every_fixture_has_a_row() {
    let rows: BTreeSet<&str> = cases().into_iter().map(|(n, _)| n).collect();
    let files: BTreeSet<String> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".json")
                .to_owned()
        })
        .collect();
    let files: BTreeSet<&str> = files.iter().map(String::as_str).collect();
    assert_eq!(rows, files);
}

#[test]
fn shadows_name_what_they_touch() {
    let keys = |name: &str, kind: ShadowKind| -> Vec<String> {
        let source = run(&load(name)).unwrap();
        source
            .shadows
            .into_iter()
            .find(|s| s.what == kind)
            .unwrap()
            .keys
    };
    assert_eq!(
        keys("argocd-helm-shadows", HelmParameters),
        ["resources.limits.cpu", "image.tag"]
    );
    assert_eq!(
        keys("argocd-helm-shadows", HelmInlineValues),
        ["podAnnotations", "resources"]
    );
    assert_eq!(
        keys("argocd-kustomize-shadows", KustomizePatches),
        ["Deployment/web"]
    );
    assert_eq!(keys("flux-shadows", FluxPatches), ["Deployment/web", "*/*"]);
    assert_eq!(
        keys("flux-shadows", FluxSubstitute),
        ["WEB_CPU", "WEB_MEMORY"]
    );
    assert_eq!(
        keys("flux-shadows", FluxSubstituteFrom),
        ["ConfigMap/cluster-vars", "Secret/cluster-secrets"]
    );
    assert_eq!(
        keys("flux-helm", HelmValuesFrom),
        [
            "ConfigMap/podinfo-values key values.yaml",
            "Secret/podinfo-secret at auth.password"
        ]
    );
    assert_eq!(keys("flux-helm", HelmPostRenderers), ["Deployment/podinfo"]);
}

#[test]
fn the_source_serialises_for_the_json_report() {
    let source = run(&load("flux-helm")).unwrap();
    let json = serde_json::to_value(&source).unwrap();
    assert_eq!(json["tool"], "flux-helm");
    assert_eq!(json["owner"]["kind"], "HelmRelease");
    assert_eq!(json["revision"]["kind"], "branch");
    assert_eq!(json["shadows"][1]["what"], "helm-values-from");
}

#[test]
fn a_plain_directory_is_read_recursively_for_flux_and_for_argo_cd_with_directory_recurse() {
    use crate::locate::ObjectRef;
    for (name, recurse) in [("argocd-basic", false), ("flux-basic", true)] {
        let got = run(&load(name)).unwrap();
        assert_eq!(got.recurse, recurse, "{name}");
    }
    let app = serde_json::json!({
        "spec": {"source": {
            "repoURL": "https://github.com/acme/gitops.git",
            "path": "apps/shop",
            "directory": {"recurse": true}
        }}
    });
    let owner = ObjectRef::new(Application, "argocd", "shop");
    let got = crate::locate::argocd::from_application(owner, &app).unwrap();
    assert!(got.recurse);
}
