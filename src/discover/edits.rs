//! From the files read to the edits, the same for a checkout ([`super::run`]) and a commit
//! (`pr`'s pipeline): discover the applications, search each recommended workload where its
//! own application deploys it ([`placement`]), then trace what no manifest renders through the
//! one discovered Helm release that renders it, with the chart read by the caller
//! ([`Charts`]). Only how the files and charts are read differs between the two.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use super::{Application, Discovery, Input, discover};
use crate::crd::FilePolicy;
use crate::helmtrace::Helm;
use crate::locate::{Namespacing, Settings};
use crate::propose::{self, Charts, Outcome};
use crate::repo::{self, ManifestTree, Notice, Scope, Want};

/// What a discovering run needs besides the files.
#[derive(Debug, Clone)]
pub struct Request {
    /// This repository's URL, to tell its applications from other repositories'; `None` when
    /// unknown, and every application is then taken to deploy from these files.
    pub this_repo: Option<String>,
    /// `helm` (looked up on `PATH`) or a path, for the charts the applications render.
    pub helm: PathBuf,
    /// Longest one `helm template` may run.
    pub helm_timeout: Duration,
}

/// The repository's YAML files as read (path from the root, text), and a notice for each one
/// passed over.
pub struct Read {
    pub files: Vec<(String, String)>,
    pub notices: Vec<Notice>,
}

/// Discovery over `read` and the outcome of `policies`: each workload searched where its
/// application deploys it (one no application deploys: in `default_scope`), then what no
/// manifest renders traced through the release that renders it.
pub fn outcome(
    read: Read,
    default_scope: &Scope,
    policies: &[FilePolicy],
    request: &Request,
    charts: &mut Charts<'_>,
) -> (Discovery, Outcome) {
    let Read { files, notices } = read;
    let mut tree = ManifestTree::from_texts(files.iter().cloned());
    tree.notices.splice(0..0, notices);
    let this_repo = request.this_repo.as_deref();
    let settings = Settings::default();
    let discovery = discover(&Input {
        files: &files,
        tree: &tree,
        this_repo,
        settings: &settings,
    });
    let wants = propose::wants(policies);
    let placed = placement(&discovery, &wants);
    let mut outcome = propose::apply(
        &tree,
        repo::resolve_scoped(&tree, default_scope, &placed.scopes, &placed.wants),
    );
    outcome.problems.extend(placed.problems);
    outcome.notices.extend(placed.notices);
    let (releases, notices) = super::helm::releases(&discovery, &files, this_repo);
    outcome.notices.extend(notices);
    let helm = Helm::new(request.helm.clone(), request.helm_timeout);
    trace_charts(charts, &releases, &helm, &wants, &mut outcome);
    if this_repo.is_none() {
        outcome.notices.push(Notice::new(
            ".".to_owned(),
            "this repository's url is unknown (no --repo-url, no origin remote): every application is taken to deploy from this checkout".to_owned(),
        ));
    }
    (discovery, outcome)
}

/// Where each want is searched: in the scope of the one application that deploys it.
#[derive(Debug, Default)]
pub struct Placement {
    /// `namespace/Kind/name` → the deploying application's path, recursion, namespacing and
    /// names; for a chart's workload, its owner's path (searched for markers there).
    pub scopes: BTreeMap<String, Scope>,
    /// The wants to search: all but those two applications deploy.
    pub wants: Vec<Want>,
    /// A want two applications deploy: it edits nothing.
    pub problems: Vec<repo::Problem>,
    /// A want no application deploys: searched in the default scope.
    pub notices: Vec<Notice>,
}

/// Each want placed by the applications that deploy it (see [`Placement`]).
pub fn placement(discovery: &Discovery, wants: &[Want]) -> Placement {
    let mut deployers: BTreeMap<&str, Vec<&Application>> = BTreeMap::new();
    for app in &discovery.applications {
        for w in &app.workloads {
            deployers.entry(w.as_str()).or_default().push(app);
        }
    }
    let mut out = Placement::default();
    for want in wants {
        let id = format!("{}/{}/{}", want.namespace, want.kind, want.workload);
        match deployers.get(id.as_str()).map(Vec::as_slice) {
            Some([app]) => {
                let dir = super::map::scope_dir(&app.source.path);
                let names = &app.source.names;
                let scope = Scope::source(dir, app.source.recurse)
                    .in_namespace(Namespacing::overriding(app.source.namespace.as_ref()))
                    .renamed(&names.prefix, &names.suffix);
                out.scopes.insert(id, scope);
            }
            Some(many) => {
                let names: Vec<String> = many
                    .iter()
                    .map(|a| format!("{} (path {})", a.owner, a.source.path))
                    .collect();
                out.problems.push(repo::Problem::of(
                    want,
                    None,
                    &[],
                    format!(
                        "ambiguous: deployed by {}; nothing is edited until one of them stops deploying it",
                        names.join(" and ")
                    ),
                ));
                continue;
            }
            None => match charts_in(discovery, &want.namespace).as_slice() {
                // A chart's objects are Helm's to render: the want is searched for markers
                // where the chart's owner is, as the controller does.
                [app] => {
                    let dir = super::map::scope_dir(&app.source.path);
                    out.scopes.insert(id, Scope::source(dir, app.source.recurse));
                }
                _ => out.notices.push(Notice::new(
                    id,
                    "deployed by none of the applications discovered in the repository; searched as without --discover".to_owned(),
                )),
            },
        }
        out.wants.push(want.clone());
    }
    out
}

/// Each workload no manifest renders is traced through the one discovered release that renders
/// it; two releases rendering it is a problem. A release that cannot be rendered takes the
/// workloads of its namespace that no other release renders, and names why for them.
fn trace_charts(
    charts: &mut Charts<'_>,
    releases: &[propose::HelmRelease],
    helm: &Helm,
    wants: &[Want],
    outcome: &mut Outcome,
) {
    let left = propose::unlocated(outcome, wants);
    if left.is_empty() || releases.is_empty() {
        return;
    }
    let rendered: Vec<Result<BTreeSet<String>, String>> = releases
        .iter()
        .map(|r| propose::rendered_ids(charts, r, helm))
        .collect();
    let mut groups: Vec<Vec<Want>> = vec![Vec::new(); releases.len()];
    for want in left {
        let id = format!("{}/{}/{}", want.namespace, want.kind, want.workload);
        let renders: Vec<usize> = (0..releases.len())
            .filter(|i| rendered[*i].as_ref().is_ok_and(|ids| ids.contains(&id)))
            .collect();
        let failed: Vec<usize> = (0..releases.len())
            .filter(|i| rendered[*i].is_err() && releases[*i].namespace == want.namespace)
            .collect();
        match (renders.as_slice(), failed.as_slice()) {
            ([one], _) | ([], [one]) => groups[*one].push(want),
            ([], _) => {}
            (many, _) => {
                let names: Vec<String> = many
                    .iter()
                    .map(|i| format!("{} (chart {})", releases[*i].release, releases[*i].chart))
                    .collect();
                ambiguous_release(outcome, &want, &names);
            }
        }
    }
    for (release, wants) in releases.iter().zip(groups) {
        let mut release = release.clone();
        // A layer the marker pass (or an earlier release) edited is traced as edited.
        for layer in release.layers.iter_mut().filter(|l| l.editable()) {
            if let Some(f) = outcome.files.iter().find(|f| f.path == layer.path) {
                layer.text = f.after.clone();
            }
        }
        propose::trace_release(charts, &release, helm, &wants, outcome);
    }
}

/// `want`'s "no manifest renders" problems become one: several releases render it.
fn ambiguous_release(outcome: &mut Outcome, want: &Want, names: &[String]) {
    outcome.problems.retain(|p| {
        !(p.namespace == want.namespace
            && p.kind == want.kind
            && p.workload == want.workload
            && p.reason.contains("no manifest renders"))
    });
    outcome.problems.push(repo::Problem::of(
        want,
        None,
        &[],
        format!(
            "ambiguous: rendered by the Helm releases {}",
            names.join(" and ")
        ),
    ));
}

/// The applications that render a chart into `namespace`.
fn charts_in<'d>(discovery: &'d Discovery, namespace: &str) -> Vec<&'d Application> {
    discovery
        .applications
        .iter()
        .filter(|a| {
            a.source
                .helm
                .as_ref()
                .is_some_and(|c| c.namespace == namespace)
        })
        .collect()
}

/// One line per application and per discovery problem and notice, for stderr.
pub fn describe(discovery: &Discovery, err: &mut dyn std::io::Write) -> std::io::Result<()> {
    writeln!(
        err,
        "attune: discovered {} application(s), {} discovery problem(s)",
        discovery.applications.len(),
        discovery.problems.len()
    )?;
    for app in &discovery.applications {
        let what = match &app.source.helm {
            Some(chart) => format!(
                "chart {} release {}/{} values {}",
                chart.chart_path,
                chart.namespace,
                chart.release,
                chart.values_files.join(", ")
            ),
            None => format!("{} workload(s)", app.workloads.len()),
        };
        let recursive = if app.source.recurse {
            " (recursive)"
        } else {
            ""
        };
        writeln!(
            err,
            "  {} ({}): path {}{recursive}: {what}",
            app.owner, app.file, app.source.path
        )?;
    }
    for p in &discovery.problems {
        writeln!(err, "discovery problem: {p}")?;
    }
    for n in &discovery.notices {
        writeln!(err, "notice: {}: {}", n.file, n.message)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::Reach;

    const URL: &str = "https://g.example/t/r.git";

    fn app(name: &str, path: &str, extra: &str) -> String {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: {name}, namespace: argocd}}\nspec:\n  source:\n    repoURL: {URL}\n    path: {path}\n{extra}  destination: {{namespace: shop}}\n"
        )
    }

    fn want(id: &str) -> Want {
        let parts: Vec<&str> = id.split('/').collect();
        Want {
            policy: "p".into(),
            namespace: parts[0].into(),
            kind: parts[1].into(),
            workload: parts[2].into(),
            containers: Vec::new(),
        }
    }

    fn discovery(files: &[(&str, String)]) -> Discovery {
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(p, t)| ((*p).to_owned(), t.clone()))
            .collect();
        let tree = ManifestTree::from_texts(files.iter().cloned());
        discover(&Input {
            files: &files,
            tree: &tree,
            this_repo: Some(URL),
            settings: &Settings::default(),
        })
    }

    #[test]
    fn each_want_goes_to_its_one_deployer_two_deployers_are_a_problem_none_a_notice() {
        let deploy = |name: &str| {
            format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\n")
        };
        let renamed = "    kustomize: {namePrefix: eu-, namespace: prod}\n";
        let d = discovery(&[
            ("argocd/api.yaml", app("api", "apps/api", renamed)),
            ("argocd/web1.yaml", app("web1", "apps/web", "")),
            ("argocd/web2.yaml", app("web2", "apps/web", "")),
            (
                "argocd/chart.yaml",
                app(
                    "chart",
                    "charts/c",
                    "    helm: {valueFiles: [values.yaml]}\n",
                )
                .replace("namespace: shop}", "namespace: charted}"),
            ),
            ("apps/api/deploy.yaml", deploy("api")),
            ("apps/web/deploy.yaml", deploy("web")),
            (
                "charts/c/Chart.yaml",
                "apiVersion: v2\nname: c\nversion: 1.0.0\n".into(),
            ),
            ("charts/c/values.yaml", "a: 1\n".into()),
        ]);
        let wants = [
            want("prod/Deployment/eu-api"),
            want("shop/Deployment/web"),
            want("charted/Deployment/c"),
            want("elsewhere/Deployment/x"),
        ];
        let placed = placement(&d, &wants);

        let api = &placed.scopes["prod/Deployment/eu-api"];
        assert_eq!(
            (api.dir.as_str(), api.reach, api.namespace.as_deref()),
            ("apps/api", Reach::Source { recurse: false }, Some("prod"))
        );
        assert_eq!(api.names, ("eu-".to_owned(), String::new()));
        let chart = &placed.scopes["charted/Deployment/c"];
        assert_eq!(chart.dir, "charts/c");
        assert!(!placed.scopes.contains_key("shop/Deployment/web"));
        assert!(!placed.scopes.contains_key("elsewhere/Deployment/x"));

        let kept: Vec<&str> = placed.wants.iter().map(|w| w.workload.as_str()).collect();
        assert_eq!(
            kept,
            ["eu-api", "c", "x"],
            "the ambiguous want edits nothing"
        );
        assert_eq!(placed.problems.len(), 1, "{:?}", placed.problems);
        let reason = &placed.problems[0].reason;
        assert!(
            reason.starts_with("ambiguous: deployed by")
                && reason.contains("argocd/web1")
                && reason.contains("argocd/web2"),
            "{reason}"
        );
        assert_eq!(placed.notices.len(), 1, "{:?}", placed.notices);
        assert_eq!(placed.notices[0].file, "elsewhere/Deployment/x");
    }
}
