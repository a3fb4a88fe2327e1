//! One row per fixture: what the walk must find, or why it must refuse.

use std::collections::BTreeSet;

use super::{fixture_dir, load, run};
use crate::locate::{LocateError, ObjectKind, RevisionKind, ShadowKind, Source, Tool};

const SHA1: &str = "3f786850e387550fdab836ed7e6dc881de23001b";
const SHA2: &str = "89e6c98d92887913cadf06b2adb97f26cde4849b";

struct Found {
    tool: Tool,
    repo: &'static str,
    revision: (RevisionKind, &'static str),
    resolved: Option<&'static str>,
    path: &'static str,
    owner: (ObjectKind, &'static str, &'static str),
    chain: usize,
    shadows: &'static [ShadowKind],
    checks: &'static [&'static str],
    /// One substring per hint, in order.
    hints: &'static [&'static str],
}

enum Want {
    Found(Found),
    Fails(fn(&LocateError) -> bool, &'static str),
}

use ObjectKind::{Application, HelmRelease, Kustomization};
use RevisionKind::{Branch, BranchOrTag, Commit, DefaultBranch, Semver, Tag};
use ShadowKind::*;
use Tool::{ArgoCd, Flux, FluxHelm};

const INSTANCE_SHOP: &str = "app.kubernetes.io/instance=shop is informational only";
const SHOP_CHECKS: &[&str] = &[
    "apps/shop/.argocd-source.yaml",
    "apps/shop/.argocd-source-shop.yaml",
];

fn cases() -> Vec<(&'static str, Want)> {
    vec![
        // ---- Argo CD ----
        (
            "argocd-basic",
            Want::Found(Found {
                tool: ArgoCd,
                repo: "https://github.com/acme/gitops.git",
                revision: (BranchOrTag, "main"),
                resolved: Some(SHA1),
                path: "apps/shop/overlays/prod",
                owner: (Application, "argocd", "shop"),
                chain: 1,
                shadows: &[],
                checks: &[
                    "apps/shop/overlays/prod/.argocd-source.yaml",
                    "apps/shop/overlays/prod/.argocd-source-shop.yaml",
                ],
                hints: &[INSTANCE_SHOP],
            }),
        ),
        (
            "argocd-any-namespace",
            Want::Found(Found {
                tool: ArgoCd,
                repo: "git@github.com:acme/team-a.git",
                revision: (DefaultBranch, "HEAD"),
                resolved: None,
                path: "shop",
                owner: (Application, "team-a", "shop"),
                chain: 1,
                shadows: &[],
                checks: &["shop/.argocd-source.yaml", "shop/.argocd-source-shop.yaml"],
                hints: &[],
            }),
        ),
        (
            "argocd-tracking-mismatch",
            Want::Fails(
                |e| matches!(e, LocateError::TrackingIdMismatch { .. }),
                r#"carries tracking id "shop:apps/Deployment:shop/web" but would carry "shop:apps/Deployment:shop/web-copy""#,
            ),
        ),
        (
            "argocd-group-mismatch",
            Want::Fails(
                |e| matches!(e, LocateError::TrackingIdMismatch { .. }),
                r#"would carry "shop:apps/Deployment:shop/web""#,
            ),
        ),
        (
            "argocd-malformed-tracking-id",
            Want::Fails(
                |e| matches!(e, LocateError::MalformedMarker { .. }),
                r#"malformed argocd.argoproj.io/tracking-id ("shop")"#,
            ),
        ),
        (
            "argocd-instance-label-only",
            Want::Fails(
                |e| matches!(e, LocateError::NoOwnerMarker { .. }),
                "Deployment shop/web carries no argo cd tracking id and no flux owner labels (label app.kubernetes.io/instance=shop is informational only",
            ),
        ),
        (
            "argocd-missing-application",
            Want::Fails(
                |e| {
                    matches!(
                        e,
                        LocateError::OwnerNotFound {
                            kind: Application,
                            ..
                        }
                    )
                },
                "argo cd application argocd/shop not found",
            ),
        ),
        (
            "argocd-multi-source",
            Want::Found(Found {
                tool: ArgoCd,
                repo: "https://github.com/acme/gitops.git",
                revision: (BranchOrTag, "release"),
                resolved: Some(SHA2),
                path: "deploy/web",
                owner: (Application, "argocd", "shop"),
                chain: 1,
                shadows: &[],
                checks: &[
                    "deploy/web/.argocd-source.yaml",
                    "deploy/web/.argocd-source-shop.yaml",
                ],
                hints: &[
                    INSTANCE_SHOP,
                    "#0 (helm chart redis from https://charts.example.com)",
                    "#1 (ref values of https://github.com/acme/values.git)",
                ],
            }),
        ),
        (
            "argocd-multi-source-ambiguous",
            Want::Fails(
                |e| matches!(e, LocateError::Ambiguous { candidates, .. } if candidates.len() == 2),
                "several spec.sources have a path: #0 https://github.com/acme/gitops.git path deploy/web; #1",
            ),
        ),
        (
            "argocd-chart-only",
            Want::Fails(
                |e| matches!(e, LocateError::NotGit { .. }),
                "takes its manifests from helm chart shop from https://charts.example.com, which is not a git repository",
            ),
        ),
        (
            "argocd-chart-values-from-git",
            Want::Fails(
                |e| matches!(e, LocateError::NotGit { .. }),
                "values files $values/envs/prod/shop.yaml live in another source",
            ),
        ),
        (
            "argocd-helm-shadows",
            Want::Found(Found {
                tool: ArgoCd,
                repo: "https://github.com/acme/gitops.git",
                revision: (Commit, SHA2),
                resolved: None,
                path: "charts/shop",
                owner: (Application, "argocd", "shop"),
                chain: 1,
                shadows: &[HelmParameters, HelmFileParameters, HelmInlineValues],
                checks: &[
                    "charts/shop/.argocd-source.yaml",
                    "charts/shop/.argocd-source-shop.yaml",
                ],
                hints: &[INSTANCE_SHOP, "generated by applicationset shops"],
            }),
        ),
        (
            "argocd-kustomize-shadows",
            Want::Found(Found {
                tool: ArgoCd,
                repo: "https://github.com/acme/gitops.git",
                revision: (Tag, "v2.0.0"),
                resolved: None,
                path: "apps/shop",
                owner: (Application, "argocd", "shop"),
                chain: 1,
                shadows: &[KustomizePatches, KustomizeImages],
                checks: SHOP_CHECKS,
                hints: &[INSTANCE_SHOP, "kustomize.namePrefix prod-"],
            }),
        ),
        (
            "argocd-two-instances",
            Want::Found(Found {
                tool: ArgoCd,
                repo: "https://github.com/acme/gitops.git",
                revision: (BranchOrTag, "main"),
                resolved: None,
                path: "apps/shop",
                owner: (Application, "gitops", "shop"),
                chain: 1,
                shadows: &[],
                checks: SHOP_CHECKS,
                hints: &[INSTANCE_SHOP],
            }),
        ),
        (
            "argocd-two-instances-ambiguous",
            Want::Fails(
                |e| matches!(e, LocateError::Ambiguous { .. }),
                "ambiguous argo cd application shop: the name exists in several argo cd namespaces: argo cd application argocd/shop; argo cd application gitops/shop",
            ),
        ),
        (
            "argocd-foreign-installation",
            Want::Fails(
                |e| matches!(e, LocateError::ForeignInstallation { .. }),
                r#"belongs to argo cd installation "staging", not "prod""#,
            ),
        ),
        (
            "argocd-source-hydrator",
            Want::Found(Found {
                tool: ArgoCd,
                repo: "https://github.com/acme/gitops.git",
                revision: (DefaultBranch, "HEAD"),
                resolved: None,
                path: "apps/shop",
                owner: (Application, "argocd", "shop"),
                chain: 1,
                shadows: &[],
                checks: SHOP_CHECKS,
                hints: &[
                    INSTANCE_SHOP,
                    "hydrates this source into branch environments/prod",
                ],
            }),
        ),
        (
            "argocd-oci-source",
            Want::Fails(
                |e| matches!(e, LocateError::NotGit { .. }),
                "takes its manifests from oci://ghcr.io/acme/manifests, which is not a git repository",
            ),
        ),
        // ---- Flux ----
        (
            "flux-basic",
            Want::Found(Found {
                tool: Flux,
                repo: "ssh://git@github.com/acme/fleet.git",
                revision: (Branch, "main"),
                resolved: Some(SHA1),
                path: "clusters/prod/apps",
                owner: (Kustomization, "flux-system", "apps"),
                chain: 2,
                shadows: &[],
                checks: &[],
                hints: &[],
            }),
        ),
        (
            "flux-source-in-other-namespace",
            Want::Found(Found {
                tool: Flux,
                repo: "https://github.com/acme/fleet",
                revision: (Tag, "v1.2.0"),
                resolved: None,
                path: "teams/a",
                owner: (Kustomization, "team-a", "web"),
                chain: 2,
                shadows: &[],
                checks: &[],
                hints: &[],
            }),
        ),
        (
            "flux-source-namespace-defaults",
            Want::Found(Found {
                tool: Flux,
                repo: "https://github.com/acme/team-a",
                revision: (Semver, ">=1.0.0"),
                resolved: None,
                path: "teams/a",
                owner: (Kustomization, "team-a", "web"),
                chain: 2,
                shadows: &[],
                checks: &[],
                hints: &[],
            }),
        ),
        (
            "flux-shadows",
            Want::Found(Found {
                tool: Flux,
                repo: "https://github.com/acme/fleet.git",
                revision: (Branch, "master"),
                resolved: None,
                path: "clusters/prod/apps",
                owner: (Kustomization, "flux-system", "apps"),
                chain: 2,
                shadows: &[FluxPatches, FluxImages, FluxSubstitute, FluxSubstituteFrom],
                checks: &[],
                hints: &[
                    "no spec.ref, so flux checks out branch master",
                    "targetNamespace shop",
                    "kustomization is suspended",
                ],
            }),
        ),
        (
            "flux-oci-source",
            Want::Fails(
                |e| matches!(e, LocateError::NotGit { .. }),
                "flux kustomization flux-system/apps takes its manifests from OCIRepository flux-system/manifests, which is not a git repository",
            ),
        ),
        (
            "flux-bucket-source",
            Want::Fails(
                |e| matches!(e, LocateError::NotGit { .. }),
                "from Bucket flux-system/manifests",
            ),
        ),
        (
            "flux-missing-kustomization",
            Want::Fails(
                |e| {
                    matches!(
                        e,
                        LocateError::OwnerNotFound {
                            kind: Kustomization,
                            ..
                        }
                    )
                },
                "flux kustomization flux-system/apps not found",
            ),
        ),
        (
            "flux-missing-gitrepository",
            Want::Fails(
                |e| {
                    matches!(
                        e,
                        LocateError::OwnerNotFound {
                            kind: ObjectKind::GitRepository,
                            ..
                        }
                    )
                },
                "flux gitrepository flux-system/fleet not found",
            ),
        ),
        (
            "flux-half-labels",
            Want::Fails(
                |e| matches!(e, LocateError::MalformedMarker { .. }),
                "malformed kustomize.toolkit.fluxcd.io/name",
            ),
        ),
        // ---- Flux Helm ----
        (
            "flux-helm",
            Want::Found(Found {
                tool: FluxHelm,
                repo: "ssh://git@github.com/acme/fleet.git",
                revision: (Branch, "main"),
                resolved: Some(SHA1),
                path: "clusters/prod/apps",
                owner: (HelmRelease, "podinfo", "podinfo"),
                chain: 3,
                shadows: &[FluxSubstitute, HelmValuesFrom, HelmPostRenderers],
                checks: &[],
                hints: &[
                    "app.kubernetes.io/instance=podinfo",
                    "rests on helm's release annotations",
                    "chart podinfo comes from HelmRepository/podinfo",
                ],
            }),
        ),
        (
            "flux-helm-unmanaged",
            Want::Fails(
                |e| matches!(e, LocateError::BadOwner { .. }),
                "flux helmrelease podinfo/podinfo: it carries no flux or argo cd owner marker",
            ),
        ),
        (
            "flux-helm-missing",
            Want::Fails(
                |e| {
                    matches!(
                        e,
                        LocateError::OwnerNotFound {
                            kind: HelmRelease,
                            ..
                        }
                    )
                },
                "flux helmrelease podinfo/podinfo not found",
            ),
        ),
        (
            "flux-helm-applied-by-argocd",
            Want::Found(Found {
                tool: FluxHelm,
                repo: "https://github.com/acme/platform.git",
                revision: (BranchOrTag, "main"),
                resolved: None,
                path: "podinfo",
                owner: (HelmRelease, "podinfo", "podinfo"),
                chain: 2,
                shadows: &[],
                checks: &[
                    "podinfo/.argocd-source.yaml",
                    "podinfo/.argocd-source-platform.yaml",
                ],
                hints: &[
                    "app.kubernetes.io/instance=podinfo",
                    "chart comes from OCIRepository/podinfo",
                ],
            }),
        ),
        // ---- forged owner markers: the owner's status does not vouch for the object ----
        (
            "argocd-forged-tracking-id",
            Want::Fails(
                is_unverified,
                "Deployment shop/web names argo cd application argocd/shop as its owner, but its status.resources does not list apps/Deployment shop/web",
            ),
        ),
        (
            "argocd-remote-destination",
            Want::Fails(
                is_unverified,
                "but it deploys to https://prod.example.com:6443, not to the cluster it runs in",
            ),
        ),
        (
            "flux-forged-labels",
            Want::Fails(
                is_unverified,
                "names flux kustomization flux-system/apps as its owner, but its status.inventory does not list shop_web_apps_Deployment",
            ),
        ),
        (
            "flux-remote-kubeconfig",
            Want::Fails(
                is_unverified,
                "it applies to the cluster of its spec.kubeConfig",
            ),
        ),
        (
            "flux-helm-forged",
            Want::Fails(
                is_unverified,
                "Deployment podinfo/podinfo names flux helmrelease podinfo/podinfo as its owner, but the object lacks the annotations meta.helm.sh/release-name=podinfo",
            ),
        ),
        (
            "flux-helm-forged-applier",
            Want::Fails(
                is_unverified,
                "HelmRelease podinfo/podinfo names flux kustomization flux-system/apps as its owner, but its status.inventory does not list podinfo_podinfo_helm.toolkit.fluxcd.io_HelmRelease",
            ),
        ),
        // ---- both tools ----
        (
            "both-tools-ambiguous",
            Want::Fails(
                |e| matches!(e, LocateError::Ambiguous { .. }),
                "ambiguous owner of Deployment shop/web: argo cd application shop; flux kustomization flux-system/apps",
            ),
        ),
        (
            "copied-tracking-id-under-flux",
            Want::Found(Found {
                tool: Flux,
                repo: "ssh://git@github.com/acme/fleet.git",
                revision: (Branch, "main"),
                resolved: Some(SHA1),
                path: "clusters/prod/apps",
                owner: (Kustomization, "flux-system", "apps"),
                chain: 2,
                shadows: &[],
                checks: &[],
                hints: &[
                    r#"ignored: Deployment shop/web carries tracking id "shop:apps/Deployment:shop/api""#,
                ],
            }),
        ),
    ]
}

fn is_unverified(e: &LocateError) -> bool {
    matches!(e, LocateError::OwnerNotVerified { .. })
}

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
