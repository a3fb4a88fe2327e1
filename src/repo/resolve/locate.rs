//! Finding one identity: its `$attune` markers and the one render the scope deploys, and when
//! that fails, a message that says why and what to do.

use std::collections::BTreeSet;

use super::container::{Ctx, marker_change, resolve_container};
use super::overlay::Overlays;
use super::roots::{Entry, Index};
use super::{Plan, Want, identity};
use crate::repo::field::Field;
use crate::repo::index::Marker;
use crate::repo::scope::{Reach, Tree};

/// Why no single render was found.
enum Miss {
    /// Nothing the scope deploys renders it; the text says what was found instead.
    NotRendered(String),
    Ambiguous(String),
}

pub(super) fn resolve_one(index: &Index, want: &Want, plan: &mut Plan, overlays: &mut Overlays) {
    let render = find(index, want);
    let mut ctx = Ctx {
        index,
        want,
        plan,
        overlays,
    };
    let marked = want.containers.iter().any(|c| {
        c.fields
            .iter()
            .any(|(f, _)| index.markers.contains_key(&marker_key(want, &c.name, *f)))
    });
    for container in &want.containers {
        let mut unmarked = Vec::new();
        for (field, value) in &container.fields {
            let key = marker_key(want, &container.name, *field);
            match index.markers.get(&key).map(Vec::as_slice) {
                Some([m]) => marker_change(&mut ctx, &container.name, *field, value, m),
                Some(many) if many.len() > 1 => {
                    let reason = format!(
                        "ambiguous: {} markers for {key} ({}); keep one",
                        many.len(),
                        places(many)
                    );
                    ctx.problem(Some(&container.name), &[*field], reason);
                }
                _ => unmarked.push((*field, value.as_str())),
            }
        }
        if unmarked.is_empty() {
            continue;
        }
        match &render {
            Ok(entry) => resolve_container(&mut ctx, entry, &container.name, &unmarked),
            Err(Miss::NotRendered(_)) if marked => {
                // Located through markers: a limit without a marker is a limit we do not know
                // of, and limits are only written where one exists.
                let fields: Vec<Field> = unmarked
                    .iter()
                    .map(|(f, _)| *f)
                    .filter(|f| !f.is_limit())
                    .collect();
                if !fields.is_empty() {
                    let reason = format!(
                        "no $attune marker for this container, and no manifest renders {}; \
                         mark the values, e.g. `cpu: 250m # {{\"$attune\": \"{}\"}}`",
                        identity(want),
                        marker_key(want, &container.name, fields[0])
                    );
                    ctx.problem(Some(&container.name), &fields, reason);
                }
            }
            Err(Miss::NotRendered(reason) | Miss::Ambiguous(reason)) => {
                ctx.problem(None, &[], reason.clone());
            }
        }
    }
}

fn marker_key(want: &Want, container: &str, field: Field) -> String {
    format!(
        "{}/{}:{container}:{}",
        want.namespace,
        want.workload,
        field.name()
    )
}

fn places(markers: &[Marker]) -> String {
    markers
        .iter()
        .map(|m| format!("{}:{}", m.file, m.line))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The one render of the identity: in its namespace (the scope's override, when it has one),
/// else a namespace-less one (the namespace comes from the application's destination).
fn find<'i>(index: &'i Index, want: &Want) -> Result<&'i Entry, Miss> {
    let candidates: Vec<&Entry> = index.named(&want.kind, &want.workload).collect();
    // An owner's override puts every object in its namespace, whatever the files say.
    let in_namespace = |e: &&&Entry| match &index.scope.namespace {
        Some(ns) => *ns == want.namespace,
        None => e.obj.namespace.as_deref() == Some(&want.namespace),
    };
    let mut found: Vec<&Entry> = candidates.iter().filter(in_namespace).copied().collect();
    if found.is_empty() && index.scope.namespace.is_none() {
        found = candidates
            .iter()
            .filter(|e| e.obj.namespace.is_none())
            .copied()
            .collect();
    }
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(Miss::NotRendered(not_rendered(index, want, &candidates))),
        many => Err(Miss::Ambiguous(ambiguous(index, want, many))),
    }
}

fn where_(e: &Entry) -> String {
    e.root.clone().unwrap_or_else(|| e.obj.source.file.clone())
}

fn ambiguous(index: &Index, want: &Want, many: &[&Entry]) -> String {
    let names: Vec<String> = many.iter().map(|e| where_(e)).collect();
    let dirs: BTreeSet<String> = many
        .iter()
        .map(|e| match &e.root {
            Some(root) => root.clone(),
            None => crate::repo::walk::parent(&e.obj.source.file).to_owned(),
        })
        .collect();
    let how = if dirs.len() == many.len() && index.scope.reach == (Reach::Below) {
        let first = dirs
            .iter()
            .next()
            .map_or(".", |d| if d.is_empty() { "." } else { d });
        format!(
            "; pass the directory your Argo CD Application or Flux Kustomization deploys as \
             --path (e.g. --path {first})"
        )
    } else {
        format!(
            "; {} deploys every one of them, so they conflict: keep one definition",
            index.scope
        )
    };
    format!(
        "ambiguous: {} is rendered by {}{how}",
        identity(want),
        and_list(&names)
    )
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn not_rendered(index: &Index, want: &Want, elsewhere: &[&Entry]) -> String {
    let id = identity(want);
    let removed: Vec<&Entry> = index
        .removed
        .iter()
        .filter(|e| e.obj.source.kind == want.kind && e.obj.name == want.workload)
        .filter(|e| {
            e.obj
                .namespace
                .as_deref()
                .is_none_or(|n| n == want.namespace)
        })
        .collect();
    if let Some(e) = removed.first()
        && let Some(by) = &e.obj.deleted_by
    {
        return format!(
            "not located: {} removes {id} with the `$patch: delete` in {}, so no root renders \
             it; nothing is written for an object that is not deployed",
            where_(e),
            by.file
        );
    }
    let scope = if index.scope.dir.is_empty() && index.scope.reach == Reach::Below {
        String::new()
    } else {
        format!(" ({})", index.scope)
    };
    let mut reason = format!("no manifest renders {id}{scope}");
    if !elsewhere.is_empty() {
        let others: Vec<String> = elsewhere
            .iter()
            .map(|e| {
                format!(
                    "{} in {}",
                    e.obj.namespace.as_deref().unwrap_or("no namespace"),
                    where_(e)
                )
            })
            .collect();
        reason.push_str(&format!(
            "; {} renders it only into {}",
            want.workload,
            others.join(", ")
        ));
    }
    reason.push_str(&below_hint(index, want));
    reason.push_str(&helm_hint(index, want));
    reason
}

/// A plain directory read without its subdirectories, and the object defined in one of them.
fn below_hint(index: &Index, want: &Want) -> String {
    let scope = index.scope;
    if scope.reach != (Reach::Source { recurse: false })
        || index.repo.layout.kustomization_dirs.contains(&scope.dir)
    {
        return String::new();
    }
    // What `--recurse` would read.
    let recursive = crate::repo::Scope::source(scope.dir.clone(), true).deployed(&Tree {
        files: &index.repo.files,
        layout: &index.repo.layout,
        kustomizations: &index.renderer.kustomizations,
        referenced: &index.renderer.referenced,
    });
    let below = recursive.plain.iter().find(|rel| {
        index.repo.files.get(*rel).is_some_and(|f| {
            crate::repo::index::objects(f)
                .iter()
                .any(|o| o.kind == want.kind && o.name == want.workload)
        })
    });
    match below {
        Some(rel) => format!(
            "; {rel} defines it, but a plain directory is read without its subdirectories (Argo \
             CD's default): add --recurse if the application reads them (Flux does; Argo CD \
             with directory.recurse)"
        ),
        None => String::new(),
    }
}

/// Charts and HelmReleases are not rendered here: say how to mark their values instead.
fn helm_hint(index: &Index, want: &Want) -> String {
    let layout = &index.repo.layout;
    let scope = index.scope;
    let charts: Vec<String> = layout
        .charts
        .iter()
        .filter(|d| scope.contains(d))
        .map(|d| format!("the Helm chart in {}", if d.is_empty() { "." } else { d }))
        .collect();
    let releases: Vec<String> = layout
        .helm_releases
        .iter()
        .filter(|f| scope.contains(f))
        .map(|f| format!("the HelmRelease in {f}"))
        .collect();
    let mut found: Vec<String> = charts.into_iter().chain(releases).collect();
    if found.is_empty() {
        return String::new();
    }
    if found.len() > 3 {
        let more = found.len() - 3;
        found.truncate(3);
        found.push(format!("{more} more"));
    }
    let container = want
        .containers
        .first()
        .map_or("CONTAINER", |c| c.name.as_str());
    format!(
        "; {} may deploy it, but templates are not rendered here: mark each value in the \
         values file (or the HelmRelease's spec.values) with a comment on its line, e.g. \
         `cpu: 250m # {{\"$attune\": \"{}/{}:{container}:cpu-request\"}}`, or let `attune propose \
         --helm-chart DIR --values FILE… --release NAME --namespace NS` trace the values by \
         rendering the chart",
        found.join(", "),
        want.namespace,
        want.workload
    )
}

#[cfg(test)]
mod tests {
    use crate::repo::{ContainerWant, Field, ManifestTree, Scope, Want, resolve};

    fn want() -> Want {
        Want {
            policy: "sizing".into(),
            namespace: "production".into(),
            kind: "Deployment".into(),
            workload: "podinfo".into(),
            containers: vec![ContainerWant {
                name: "podinfo".into(),
                fields: vec![(Field::CpuRequest, "100m".into())],
            }],
        }
    }

    #[test]
    fn a_helm_release_without_markers_gets_the_marker_to_add() {
        let release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  \
                       name: podinfo\nspec:\n  values:\n    resources:\n      requests:\n        \
                       cpu: 250m\n";
        let repo =
            ManifestTree::from_texts([("clusters/prod/podinfo.yaml".into(), release.into())]);
        let plan = resolve(&repo, &Scope::source("clusters/prod", true), &[want()]);
        assert_eq!(plan.problems.len(), 1, "{:#?}", plan.problems);
        let reason = &plan.problems[0].reason;
        for part in [
            "no manifest renders production/Deployment/podinfo",
            "the HelmRelease in clusters/prod/podinfo.yaml",
            r#"# {"$attune": "production/podinfo:podinfo:cpu-request"}"#,
        ] {
            assert!(reason.contains(part), "{reason:?} lacks {part:?}");
        }
    }

    #[test]
    fn a_root_that_others_build_on_is_shared_and_refused_not_edited() {
        // --path apps/api names a root that clusters/eu builds on: editing it would change
        // clusters/eu's workload too, so nothing is written and the problem names it.
        let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\n\
                          spec:\n  template:\n    spec:\n      containers:\n      - name: podinfo\n\
                          \x20       resources:\n          requests:\n            cpu: 250m\n";
        let repo = ManifestTree::from_texts(
            [
                (
                    "apps/api/kustomization.yaml",
                    "namespace: production\nresources: [d.yaml]\n",
                ),
                ("apps/api/d.yaml", deployment),
                (
                    "clusters/eu/kustomization.yaml",
                    "namePrefix: eu-\nresources: [../../apps/api]\n",
                ),
            ]
            .map(|(p, t)| (p.to_owned(), t.to_owned())),
        );
        let plan = resolve(&repo, &Scope::source("apps/api", false), &[want()]);
        assert!(plan.changes.is_empty(), "{:#?}", plan.changes);
        assert_eq!(plan.problems.len(), 1, "{:#?}", plan.problems);
        assert!(
            plan.problems[0].reason.contains("clusters/eu"),
            "{}",
            plan.problems[0].reason
        );
    }

    #[test]
    fn an_owner_namespace_override_wins_over_the_namespace_in_the_files() {
        // The file says namespace a; the owner (Flux targetNamespace b) deploys it to b.
        let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\n  \
                          namespace: a\nspec:\n  template:\n    spec:\n      containers:\n      \
                          - name: podinfo\n        resources:\n          requests:\n            \
                          cpu: 250m\n";
        let repo = ManifestTree::from_texts([("apps/api/d.yaml".into(), deployment.into())]);
        let in_b = Want {
            namespace: "b".into(),
            ..want()
        };
        let in_a = Want {
            namespace: "a".into(),
            ..want()
        };
        let scope = Scope::source("apps/api", false).in_namespace(Some("b".into()));
        let plan = resolve(&repo, &scope, &[in_b.clone(), in_a.clone()]);
        let located: Vec<(&str, &str)> = plan
            .changes
            .iter()
            .map(|c| (c.namespace.as_str(), c.file.as_str()))
            .collect();
        assert_eq!(located, [("b", "apps/api/d.yaml")], "{:#?}", plan.problems);
        assert_eq!(plan.problems.len(), 1, "{:#?}", plan.problems);
        assert_eq!(plan.problems[0].namespace, "a");
        // Without the override the file's namespace is the live one.
        let plain = resolve(&repo, &Scope::source("apps/api", false), &[in_b, in_a]);
        assert_eq!(plain.problems.len(), 1, "{:#?}", plain.problems);
        assert_eq!(plain.problems[0].namespace, "b");
    }

    #[test]
    fn an_owner_name_prefix_and_suffix_map_the_live_name_back_to_the_file() {
        let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\n\
                          spec:\n  template:\n    spec:\n      containers:\n      - name: podinfo\n\
                          \x20       resources:\n          requests:\n            cpu: 250m\n";
        let repo = ManifestTree::from_texts([("apps/api/d.yaml".into(), deployment.into())]);
        let live = Want {
            workload: "eu-podinfo-v2".into(),
            ..want()
        };
        let scope = Scope::source("apps/api", false).renamed("eu-", "-v2");
        let plan = resolve(&repo, &scope, &[live.clone(), want()]);
        let located: Vec<(&str, &str)> = plan
            .changes
            .iter()
            .map(|c| (c.workload.as_str(), c.file.as_str()))
            .collect();
        assert_eq!(located, [("eu-podinfo-v2", "apps/api/d.yaml")]);
        // The name in the files is not what the owner deploys.
        assert_eq!(plan.problems.len(), 1, "{:#?}", plan.problems);
        assert_eq!(plan.problems[0].workload, "podinfo");
        let plain = resolve(&repo, &Scope::source("apps/api", false), &[live]);
        assert_eq!(plain.problems.len(), 1, "{:#?}", plain.problems);
    }
}
