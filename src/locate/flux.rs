//! From a Flux Kustomization or HelmRelease to its Git source: the Kustomization's source
//! reference and path, the GitRepository's URL and ref, and the Kustomization and HelmRelease
//! settings that override or supply values outside the files.

use serde_json::Value;

use super::argocd::{self, patch_target, sorted_keys};
use super::known::{Lookup, ObjectKind, ObjectRef, Stop, items, text};
use super::marker::{self, Owner};
use super::revision::{Revision, flux_commit};
use super::source::{
    Namespacing, Renaming, Shadow, ShadowKind, Source, Tool, clean_path, identity_hint,
};
use super::{LocateError, Settings, Workload, verify};

/// Kustomization → GitRepository, once the Kustomization's inventory lists `subject`.
pub(crate) fn from_kustomization(
    key: &ObjectRef,
    lookup: &Lookup<'_>,
    subject: &Workload,
) -> Result<Source, Stop> {
    let ks = lookup.require(key)?;
    verify::kustomization(ks, key, subject)?;
    kustomization_source(key, ks, lookup)
}

/// What a Kustomization in hand deploys, without asking whether it deploys any particular
/// object: the controller calls it once the Kustomization's inventory vouched for the workload,
/// `propose --discover` on a Kustomization found in the repository.
pub(crate) fn kustomization_source(
    key: &ObjectRef,
    ks: &Value,
    lookup: &Lookup<'_>,
) -> Result<Source, Stop> {
    let bad = |reason: &str| LocateError::BadOwner {
        object: key.to_string(),
        reason: reason.to_owned(),
    };
    let source_kind =
        text(ks, "/spec/sourceRef/kind").ok_or_else(|| bad("it has no spec.sourceRef.kind"))?;
    let source_name =
        text(ks, "/spec/sourceRef/name").ok_or_else(|| bad("it has no spec.sourceRef.name"))?;
    // A source reference without a namespace means the Kustomization's own namespace.
    let source_ns = text(ks, "/spec/sourceRef/namespace").unwrap_or(&key.namespace);
    let kind = match source_kind {
        "GitRepository" => ObjectKind::GitRepository,
        "OCIRepository" | "Bucket" => {
            return Err(Stop::Fail(LocateError::NotGit {
                owner: key.to_string(),
                from: format!("{source_kind} {source_ns}/{source_name}"),
                reason: "its artifact carries no git url to open a pull request against".to_owned(),
            }));
        }
        other => {
            return Err(Stop::Fail(bad(&format!(
                "its sourceRef kind {other} is not a flux source kind"
            ))));
        }
    };
    let repo_key = ObjectRef::new(kind, source_ns, source_name);
    let repo = lookup.require(&repo_key)?;
    let url = text(repo, "/spec/url").ok_or_else(|| LocateError::BadOwner {
        object: repo_key.to_string(),
        reason: "it has no spec.url".to_owned(),
    })?;
    let (revision, ref_hint) = Revision::flux(repo.pointer("/spec/ref"));
    let resolved = text(ks, "/status/lastAppliedRevision").and_then(flux_commit);
    let mut hints: Vec<String> = ref_hint.into_iter().collect();
    hints.extend(kustomization_hints(ks));
    Ok(Source {
        tool: Tool::Flux,
        repo_url: url.to_owned(),
        revision: revision.with_resolved(resolved),
        path: clean_path(text(ks, "/spec/path").unwrap_or_default()),
        // A path without a kustomization gets one generated over every manifest below it.
        recurse: true,
        owner: key.clone(),
        chain: vec![key.clone(), repo_key],
        shadows: kustomization_shadows(ks),
        checks: Vec::new(),
        hints,
        namespace: text(ks, "/spec/targetNamespace").map(|ns| Namespacing::Override(ns.to_owned())),
        helm: None,
        helm_refusal: None,
        names: Renaming {
            prefix: text(ks, "/spec/namePrefix").unwrap_or_default().to_owned(),
            suffix: text(ks, "/spec/nameSuffix").unwrap_or_default().to_owned(),
        },
    })
}

/// HelmRelease → whoever applied it (found by the HelmRelease's own markers) → Git. The source
/// is the applier's; the owner becomes the HelmRelease, whose file holds the values to edit.
/// Each link is confirmed by the owner's status: the HelmRelease's for `subject`, the
/// applier's for the HelmRelease.
pub(crate) fn from_helm_release(
    key: &ObjectRef,
    lookup: &Lookup<'_>,
    settings: &Settings,
    subject: &Workload,
) -> Result<Source, Stop> {
    let hr = lookup.require(key)?;
    let trust_hint = verify::helm_release(hr, key, subject)?;
    let object = Workload::from_value(hr)?;
    let applier = marker::find(&object, settings).map_err(|err| match err {
        LocateError::NoOwnerMarker { .. } => LocateError::BadOwner {
            object: key.to_string(),
            reason: "it carries no flux or argo cd owner marker, so no file in git defines it (applied by hand?)".to_owned(),
        },
        other => other,
    })?;
    let mut source = match &applier.owner {
        Owner::Kustomization(ks) => from_kustomization(ks, lookup, &object)?,
        Owner::Argo(app) => argocd::locate(app, lookup, settings, &object)?,
        Owner::HelmRelease(parent) => {
            return Err(Stop::Fail(LocateError::BadOwner {
                object: key.to_string(),
                reason: format!(
                    "it is rendered by {parent}; a helm release inside a helm chart is not followed"
                ),
            }));
        }
    };
    source.hints.extend(trust_hint);
    helm_release_source(key, hr, lookup, source)
}

/// A HelmRelease's own source, given the source of whoever applied it: the owner becomes the
/// HelmRelease, its settings are added as shadows and hints, and a chart kept as a path in a
/// GitRepository becomes [`HelmChart`] data. Shared by the controller and `propose --discover`.
pub(crate) fn helm_release_source(
    key: &ObjectRef,
    hr: &Value,
    lookup: &Lookup<'_>,
    applier: Source,
) -> Result<Source, Stop> {
    let mut source = applier;
    source.tool = Tool::FluxHelm;
    source.owner = key.clone();
    source.chain.insert(0, key.clone());
    source.shadows.extend(helm_release_shadows(hr));
    if let Some(chart) = chart_hint(hr) {
        source.hints.push(chart);
    }
    if hr.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        source.hints.push(format!(
            "{key} is suspended: a merged change is not released until it is resumed"
        ));
    }
    let release_namespace = text(hr, "/spec/targetNamespace").unwrap_or(&key.namespace);
    source.namespace = Some(Namespacing::Default(release_namespace.to_owned()));
    // The applier's renaming applies to the HelmRelease object, not to what Helm renders.
    source.names = Renaming::default();
    source.helm = super::helm::flux_chart(key, hr, lookup, &mut source.hints)?;
    source.helm_refusal = super::helm::flux_refusal(key, hr);
    Ok(source)
}

fn kustomization_shadows(ks: &Value) -> Vec<Shadow> {
    let mut out = Vec::new();
    let patches = items(ks, "/spec/patches");
    // The older patch fields (v1beta2) still reach clusters that were never migrated.
    let legacy =
        items(ks, "/spec/patchesStrategicMerge").len() + items(ks, "/spec/patchesJson6902").len();
    if !patches.is_empty() || legacy > 0 {
        out.push(Shadow {
            what: ShadowKind::FluxPatches,
            detail: format!(
                "{} patch(es) in the kustomization's spec apply after the path is built",
                patches.len() + legacy
            ),
            keys: patches.iter().map(patch_target).collect(),
        });
    }
    let images = items(ks, "/spec/images");
    if !images.is_empty() {
        out.push(Shadow {
            what: ShadowKind::FluxImages,
            detail: "the kustomization's spec.images override image references".to_owned(),
            keys: images
                .iter()
                .filter_map(|i| text(i, "/name").map(str::to_owned))
                .collect(),
        });
    }
    if let Some(vars) = ks
        .pointer("/spec/postBuild/substitute")
        .and_then(Value::as_object)
        && !vars.is_empty()
    {
        out.push(Shadow {
            what: ShadowKind::FluxSubstitute,
            detail: "the kustomization's postBuild.substitute replaces ${var} references in the files; a value written as a variable lives there".to_owned(),
            keys: sorted_keys(vars),
        });
    }
    let from = items(ks, "/spec/postBuild/substituteFrom");
    if !from.is_empty() {
        out.push(Shadow {
            what: ShadowKind::FluxSubstituteFrom,
            detail: "the kustomization's postBuild.substituteFrom replaces ${var} references from these objects".to_owned(),
            keys: from.iter().map(kind_name).collect(),
        });
    }
    out
}

fn kustomization_hints(ks: &Value) -> Vec<String> {
    let mut out: Vec<String> = [
        ("/spec/targetNamespace", "targetNamespace"),
        ("/spec/namePrefix", "namePrefix"),
        ("/spec/nameSuffix", "nameSuffix"),
    ]
    .into_iter()
    .filter_map(|(pointer, field)| {
        text(ks, pointer).map(|v| identity_hint("the kustomization", field, v))
    })
    .collect();
    let components = items(ks, "/spec/components");
    if !components.is_empty() {
        out.push(format!(
            "the kustomization adds {} component(s) from outside the path",
            components.len()
        ));
    }
    if ks.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true) {
        out.push(
            "the kustomization is suspended: a merged change is not applied until it is resumed"
                .to_owned(),
        );
    }
    out
}

/// Helm merges `valuesFrom` in order and `spec.values` last, so inline values win where both set
/// a key; the rest comes from these objects, and post-renderers patch whatever Helm rendered.
fn helm_release_shadows(hr: &Value) -> Vec<Shadow> {
    let mut out = Vec::new();
    let from = items(hr, "/spec/valuesFrom");
    if !from.is_empty() {
        out.push(Shadow {
            what: ShadowKind::HelmValuesFrom,
            detail:
                "the helmrelease's valuesFrom supplies values for keys spec.values does not set"
                    .to_owned(),
            keys: from
                .iter()
                .map(|v| {
                    let mut key = kind_name(v);
                    if let Some(k) = text(v, "/valuesKey") {
                        key.push_str(&format!(" key {k}"));
                    }
                    if let Some(t) = text(v, "/targetPath") {
                        key.push_str(&format!(" at {t}"));
                    }
                    key
                })
                .collect(),
        });
    }
    let renderers = items(hr, "/spec/postRenderers");
    if !renderers.is_empty() {
        out.push(Shadow {
            what: ShadowKind::HelmPostRenderers,
            detail: format!(
                "{} post-renderer(s) patch the rendered manifests after values are applied",
                renderers.len()
            ),
            keys: renderers
                .iter()
                .flat_map(|r| items(r, "/kustomize/patches"))
                .map(patch_target)
                .collect(),
        });
    }
    out
}

fn chart_hint(hr: &Value) -> Option<String> {
    if let Some(chart) = text(hr, "/spec/chart/spec/chart") {
        let from = hr
            .pointer("/spec/chart/spec/sourceRef")
            .map(kind_name)
            .unwrap_or_default();
        return Some(format!("chart {chart} comes from {from}"));
    }
    hr.pointer("/spec/chartRef")
        .map(|r| format!("chart comes from {}", kind_name(r)))
}

/// `Kind/name` of a reference.
fn kind_name(reference: &Value) -> String {
    format!(
        "{}/{}",
        text(reference, "/kind").unwrap_or("?"),
        text(reference, "/name").unwrap_or("?")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locate::Known;
    use serde_json::json;

    #[test]
    fn identity_settings_are_mapped_and_their_hints_say_how() {
        let key = ObjectRef::new(ObjectKind::Kustomization, "flux-system", "apps");
        let ks = json!({"spec": {"path": "./apps", "targetNamespace": "shop", "namePrefix": "eu-",
            "nameSuffix": "-v2", "sourceRef": {"kind": "GitRepository", "name": "fleet"}}});
        let known = Known::from_objects([json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "fleet", "namespace": "flux-system"},
            "spec": {"url": "https://g/fleet.git", "ref": {"branch": "main"}}})]);
        let lookup = Lookup {
            known: &known,
            open: false,
        };
        let source = kustomization_source(&key, &ks, &lookup).ok().unwrap();
        assert_eq!(source.names.apply("web"), "eu-web-v2");
        assert_eq!(
            source.namespace,
            Some(Namespacing::Override("shop".to_owned()))
        );
        assert_eq!(
            source.hints,
            [
                "the kustomization sets targetNamespace shop: live objects are in namespace shop \
                 whatever namespace the files give, and the files are searched accordingly",
                "the kustomization sets namePrefix eu-: live names are eu-<name in the files>, and \
                 the files are searched accordingly",
                "the kustomization sets nameSuffix -v2: live names are <name in the files>-v2, and \
                 the files are searched accordingly",
            ]
        );
        // What a HelmRelease it applies renders keeps the chart's names.
        let hr_key = ObjectRef::new(ObjectKind::HelmRelease, "shop", "web");
        let hr = json!({"spec": {"chart": {"spec": {"chart": "web",
            "sourceRef": {"kind": "HelmRepository", "name": "charts"}}}}});
        let release = helm_release_source(&hr_key, &hr, &lookup, source)
            .ok()
            .unwrap();
        assert!(release.names.is_none(), "{:?}", release.names);
    }
}
