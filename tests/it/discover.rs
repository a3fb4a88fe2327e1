//! `propose --discover` on app-of-apps repositories (`fixtures/discover/<case>/`):
//! - the printed diff and JSON report match `expected.diff` and `expected.json` byte for byte,
//!   and the diff applies with `git apply` (set `ATTUNE_BLESS=1` to rewrite the goldens);
//! - every application whose path holds a kustomization deploys, by the real Kustomize
//!   (`kubectl kustomize`, on PATH under tests/run), exactly the identities discovery lists, and
//!   after `--write` each changed value is what that render shows;
//! - the controller's walk, fed the same objects as live ones (with the status that vouches for
//!   each workload), finds the same source for every workload, and the edits made from its
//!   sources are the edits discovery made.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use attune::discover::run::{Options, compute};
use attune::locate::{self, Known, Namespacing, Settings, Source, Tool, Workload};
use attune::propose::{self, Format, Place};
use attune::repo::{ManifestTree, Scope};
use serde_json::{Value, json};

const URL: &str = "https://git.example.com/team/gitops.git";
const CASES: [&str; 4] = [
    "argocd-app-of-apps",
    "appset-git-directories",
    "flux-kustomization",
    "flux-helmrelease-git-chart",
];

fn case_dir(case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/discover")
        .join(case)
}

fn copy_repo(case: &str) -> tempfile::TempDir {
    let work = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(case_dir(case).join("repo/."))
        .arg(work.path())
        .status()
        .unwrap();
    assert!(status.success());
    work
}

fn attune(case: &str, repo: &Path, extra: &[&str]) -> std::process::Output {
    let out = assert_cmd::Command::cargo_bin("attune")
        .unwrap()
        .args(["propose", "--discover", "--repo-url", URL, "--policies"])
        .arg(case_dir(case).join("policies.yaml"))
        .arg("--repo")
        .arg(repo)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c < 2),
        "{case}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn golden(case: &str, name: &str, got: &[u8]) {
    let path = case_dir(case).join(name);
    if std::env::var_os("ATTUNE_BLESS").is_some() {
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read(&path).unwrap_or_default();
    assert_eq!(
        String::from_utf8_lossy(got),
        String::from_utf8_lossy(&want),
        "{case}: {name}"
    );
}

#[test]
fn diff_and_json_match_the_goldens_and_the_diff_applies() {
    for case in CASES {
        let work = copy_repo(case);
        let diff = attune(case, work.path(), &[]);
        golden(case, "expected.diff", &diff.stdout);
        let json = attune(case, work.path(), &["--output", "json"]);
        golden(case, "expected.json", &json.stdout);
        let report: Value = serde_json::from_slice(&json.stdout).unwrap();
        assert_eq!(
            diff.status.code() == Some(0),
            report["problems"].as_array().unwrap().is_empty(),
            "{case}: exit code and problems agree"
        );
        let apply = Command::new("git")
            .args(["apply", "--unsafe-paths", "--directory"])
            .arg(work.path())
            .arg("-")
            .current_dir(work.path())
            .stdin(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(&diff.stdout)?;
                child.wait()
            })
            .unwrap();
        assert!(apply.success(), "{case}: git apply");
        let again = attune(case, work.path(), &[]);
        assert!(
            again.stdout.is_empty(),
            "{case}: a second run changes nothing"
        );
    }
}

fn kubectl_kustomize(dir: &Path) -> Vec<Value> {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl on PATH (tests/run puts it there)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_saphyr::from_multiple(&String::from_utf8_lossy(&out.stdout)).unwrap()
}

/// The render of `source`'s path as its owner makes it: Argo CD applies `kustomize.namePrefix`
/// and `nameSuffix` by setting them in the path's kustomization (`kustomize edit set
/// nameprefix`), which is what a kustomization over the path with those fields renders.
fn render_as_argo(work: &Path, source: &Source) -> Vec<Value> {
    let path = work.join(&source.path);
    if source.names.is_none() {
        return kubectl_kustomize(&path);
    }
    let wrapper = tempfile::tempdir_in(work).unwrap();
    std::fs::write(
        wrapper.path().join("kustomization.yaml"),
        format!(
            "namePrefix: \"{}\"\nnameSuffix: \"{}\"\nresources: [\"../{}\"]\n",
            source.names.prefix, source.names.suffix, source.path
        ),
    )
    .unwrap();
    kubectl_kustomize(wrapper.path())
}

/// `ns/Kind/name` of each workload a real render holds, placed by the owner's namespacing.
fn identities(render: &[Value], namespacing: Option<&Namespacing>) -> BTreeSet<String> {
    render
        .iter()
        .filter(|o| {
            ["Deployment", "StatefulSet", "DaemonSet"].contains(&o["kind"].as_str().unwrap_or(""))
        })
        .map(|o| {
            let ns = Namespacing::apply(namespacing, o["metadata"]["namespace"].as_str());
            format!(
                "{}/{}/{}",
                ns.unwrap_or_default(),
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

fn options(case: &str, repo: &Path, write: bool) -> Options {
    Options {
        propose: propose::Options {
            policies: case_dir(case).join("policies.yaml"),
            repo: repo.to_path_buf(),
            place: Place::Everywhere,
            write,
            output: Format::Json,
        },
        repo_url: Some(URL.to_owned()),
        helm: std::env::var_os("ATTUNE_HELM")
            .map_or_else(|| "helm".into(), std::path::PathBuf::from),
        helm_timeout: std::time::Duration::from_secs(60),
    }
}

#[test]
fn real_kustomize_renders_what_discovery_lists_and_the_written_values() {
    let mut rendered_apps = 0;
    for case in CASES {
        let work = copy_repo(case);
        let (discovery, _) = compute(&options(case, work.path(), false)).unwrap();
        let kustomized: Vec<_> = discovery
            .applications
            .iter()
            .filter(|a| a.source.helm.is_none())
            .filter(|a| {
                work.path()
                    .join(&a.source.path)
                    .join("kustomization.yaml")
                    .is_file()
            })
            .collect();
        for app in &kustomized {
            let render = render_as_argo(work.path(), &app.source);
            let listed: BTreeSet<String> = app.workloads.iter().cloned().collect();
            assert_eq!(
                identities(&render, app.source.namespace.as_ref()),
                listed,
                "{case}: {}",
                app.owner
            );
            rendered_apps += 1;
        }
        let mut written = options(case, work.path(), true);
        written.propose.write = true;
        let (_, outcome) = compute(&written).unwrap();
        propose::write::write_all(work.path(), &outcome.files).unwrap();
        for change in &outcome.changes {
            let id = format!("{}/{}/{}", change.namespace, change.kind, change.workload);
            let Some(app) = kustomized.iter().find(|a| a.workloads.contains(&id)) else {
                continue;
            };
            let render = render_as_argo(work.path(), &app.source);
            let object = render
                .iter()
                .find(|o| o["kind"] == change.kind && o["metadata"]["name"] == change.workload)
                .unwrap();
            let container = object["spec"]["template"]["spec"]["containers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == change.container)
                .unwrap();
            let field = serde_json::to_value(change.field).unwrap();
            let (section, resource) = match field.as_str().unwrap() {
                "cpu-request" => ("requests", "cpu"),
                "memory-request" => ("requests", "memory"),
                "cpu-limit" => ("limits", "cpu"),
                _ => ("limits", "memory"),
            };
            assert_eq!(
                container["resources"][section][resource].as_str(),
                Some(change.to.as_str()),
                "{case}: {id} {field}"
            );
        }
    }
    assert!(
        rendered_apps >= 4,
        "only {rendered_apps} kustomize roots were checked"
    );
}

/// The objects as the cluster would hold them: each owner's status vouches for `workload`,
/// and the workload carries its owner's marker.
fn live(objects: &[Value], source: &Source, id: &str) -> (Workload, Known) {
    let parts: Vec<&str> = id.split('/').collect();
    let (ns, kind, name) = (parts[0], parts[1], parts[2]);
    let mut workload = json!({"apiVersion": "apps/v1", "kind": kind,
        "metadata": {"name": name, "namespace": ns, "labels": {}, "annotations": {}}});
    let mut objects = objects.to_vec();
    let owner = &source.owner;
    let vouch = |objects: &mut Vec<Value>, who: &str, wns: &str, entry: Value, inventory: bool| {
        let o = objects
            .iter_mut()
            .find(|o| {
                o["metadata"]["name"] == who
                    && o["metadata"]["namespace"] == wns
                    && o["kind"] != "GitRepository"
            })
            .unwrap();
        if inventory {
            o["status"]["inventory"]["entries"] = json!([entry]);
        } else {
            o["status"]["resources"] = json!([entry]);
        }
    };
    match source.tool {
        Tool::ArgoCd => {
            workload["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] =
                json!(format!("{}:apps/{kind}:{ns}/{name}", owner.name));
            let entry = json!({"group": "apps", "kind": kind, "namespace": ns, "name": name});
            vouch(&mut objects, &owner.name, &owner.namespace, entry, false);
        }
        Tool::Flux => {
            workload["metadata"]["labels"] = json!({"kustomize.toolkit.fluxcd.io/name": owner.name,
                "kustomize.toolkit.fluxcd.io/namespace": owner.namespace});
            let entry = json!({"id": format!("{ns}_{name}_apps_{kind}"), "v": "v1"});
            vouch(&mut objects, &owner.name, &owner.namespace, entry, true);
        }
        Tool::FluxHelm => {
            workload["metadata"]["labels"] = json!({"helm.toolkit.fluxcd.io/name": owner.name,
                "helm.toolkit.fluxcd.io/namespace": owner.namespace});
            let entry = json!({"id": format!("{ns}_{name}_apps_{kind}"), "v": "v1"});
            vouch(&mut objects, &owner.name, &owner.namespace, entry, true);
            let applier = &source.chain[1];
            let hr = objects
                .iter_mut()
                .find(|o| o["kind"] == "HelmRelease" && o["metadata"]["name"] == owner.name)
                .unwrap();
            hr["metadata"]["labels"] = json!({"kustomize.toolkit.fluxcd.io/name": applier.name,
                "kustomize.toolkit.fluxcd.io/namespace": applier.namespace});
            let entry = json!({"id": format!("{}_{}_helm.toolkit.fluxcd.io_HelmRelease", owner.namespace, owner.name), "v": "v2"});
            vouch(&mut objects, &applier.name, &applier.namespace, entry, true);
        }
    }
    (
        Workload::from_value(&workload).unwrap(),
        Known::from_objects(objects),
    )
}

#[test]
fn the_controller_walk_and_discovery_agree_on_sources_and_edits() {
    let mut compared = 0;
    for case in CASES {
        let repo = case_dir(case).join("repo");
        let (discovery, outcome) = compute(&options(case, &repo, false)).unwrap();
        let tree = ManifestTree::load(&repo).unwrap();
        let policies = propose::read_policies(&case_dir(case).join("policies.yaml")).unwrap();
        let mut scopes = BTreeMap::new();
        let mut ambiguous = BTreeSet::new();
        for app in &discovery.applications {
            let ids: Vec<String> = match &app.source.helm {
                Some(chart) => vec![format!("{}/Deployment/{}", chart.namespace, chart.release)],
                None => app.workloads.clone(),
            };
            for id in ids {
                let (workload, known) = live(&discovery.objects, &app.source, &id);
                let from_live = locate::locate(&workload, &known, &Settings::default())
                    .unwrap_or_else(|e| panic!("{case}: {id}: {e}"));
                assert_eq!(from_live, app.source, "{case}: {id}");
                let dir = if from_live.path == "." {
                    String::new()
                } else {
                    from_live.path.clone()
                };
                if scopes
                    .insert(
                        id.clone(),
                        // As the controller's pipeline: the owner's override goes with the scope.
                        Scope::source(dir, from_live.recurse)
                            .in_namespace(Namespacing::overriding(from_live.namespace.as_ref()))
                            .renamed(&from_live.names.prefix, &from_live.names.suffix),
                    )
                    .is_some()
                {
                    ambiguous.insert(id);
                }
                compared += 1;
            }
        }
        scopes.retain(|id, _| !ambiguous.contains(id));
        // A workload two applications deploy is edited by neither; leave it out of both.
        let wants: Vec<_> = propose::wants(&policies)
            .into_iter()
            .filter(|w| !ambiguous.contains(&format!("{}/{}/{}", w.namespace, w.kind, w.workload)))
            .collect();
        let plan = attune::repo::resolve_scoped(&tree, &Scope::whole(), &scopes, &wants);
        let controller = propose::apply(&tree, plan);
        let located = |changes: &[attune::repo::Change]| -> Vec<String> {
            changes
                .iter()
                .filter(|c| {
                    !ambiguous.contains(&format!("{}/{}/{}", c.namespace, c.kind, c.workload))
                })
                .map(|c| format!("{c:?}"))
                .collect()
        };
        assert_eq!(
            located(&controller.changes),
            located(&outcome.changes),
            "{case}"
        );
        assert_eq!(controller.files, outcome.files, "{case}");
    }
    assert!(compared >= 7, "only {compared} workloads compared");
}
