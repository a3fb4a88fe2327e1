//! The table the fixture tests check: one row per fixture, what the walk must find or why it
//! must refuse.

use crate::locate::{LocateError, ObjectKind, RevisionKind, ShadowKind, Tool};

const SHA1: &str = "3f786850e387550fdab836ed7e6dc881de23001b";
const SHA2: &str = "89e6c98d92887913cadf06b2adb97f26cde4849b";

pub(super) struct Found {
    pub tool: Tool,
    pub repo: &'static str,
    pub revision: (RevisionKind, &'static str),
    pub resolved: Option<&'static str>,
    pub path: &'static str,
    pub owner: (ObjectKind, &'static str, &'static str),
    pub chain: usize,
    pub shadows: &'static [ShadowKind],
    pub checks: &'static [&'static str],
    /// One substring per hint, in order.
    pub hints: &'static [&'static str],
}

pub(super) enum Want {
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

pub(super) fn cases() -> Vec<(&'static str, Want)> {
    let mut rows = argo_cd();
    rows.extend(flux_and_both());
    rows
}

fn argo_cd() -> Vec<(&'static str, Want)> {
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
    ]
}

/// Flux, Flux Helm, forged owner markers and workloads both tools claim.
fn flux_and_both() -> Vec<(&'static str, Want)> {
    vec![
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
