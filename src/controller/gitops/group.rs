//! From located workloads to pull-request branches: admits each workload ([`super::admit`]),
//! then groups the admitted ones by (repository, base branch) and names each group's branch. One branch per
//! policy and repository (`attune/<ns>/<policy>`), also when its workloads come from several
//! paths of that repository (an Argo CD app and a Flux Kustomization, say): each workload is
//! then searched under its own owner's path ([`Group::scopes`]), so one pull request still edits
//! every file where its own owner renders it. Only when one policy's workloads follow several
//! bases of one repository does each get its own branch
//! (`attune/<ns>/<policy>_<kind>-<workload>`, as `propose --branch-per workload` names them).
//! Pure: no cluster, git or forge access.

use std::collections::BTreeMap;

use super::admit::{Admitted, admit};
pub use super::admit::{Cause, Refusal, Rules};
pub use super::located::Located;
use crate::crd::PullRequestExport;
use crate::forge::ForgeRepo;
use crate::locate::{RemoteUrl, RepoCheck, RevisionKind};

/// One branch's worth of work.
#[derive(Debug, Clone)]
pub struct Group {
    /// Identifies the group in memory and in messages: `repo#base[#kind/name]`.
    pub key: String,
    /// The repository as the owner states it, and in normal form.
    pub url: String,
    pub repo: RemoteUrl,
    pub forge_repo: ForgeRepo,
    pub base: String,
    /// Set when the base is a guess (the owner follows the default branch), to explain a
    /// missing base.
    pub base_guess: Option<String>,
    /// The deepest directory holding every workload's path; cleaned, `.` for the root.
    pub path: String,
    /// Each workload's own path (`namespace/Kind/name` → path), where it alone is searched.
    pub scopes: BTreeMap<String, String>,
    pub branch: String,
    /// The owners (Application, Kustomization, HelmRelease) as humans read them.
    pub owners: Vec<String>,
    pub workloads: Vec<Located>,
    /// Commits the owners last applied, when their status says.
    pub synced: Vec<String>,
    pub shadows: Vec<String>,
    pub checks: Vec<RepoCheck>,
}

/// The admitted groups and the refused workloads.
#[derive(Debug, Default)]
pub struct Plan {
    pub groups: Vec<Group>,
    pub refusals: Vec<Refusal>,
}

/// Groups `located` into branches for policy `ns/policy`.
pub fn plan(ns: &str, policy: &str, rules: &Rules<'_>, located: &[Located]) -> Plan {
    let mut refusals = Vec::new();
    let mut grouper = Grouper {
        ns,
        policy,
        export: rules.export,
        groups: BTreeMap::new(),
    };
    for w in located {
        match admit(w, rules) {
            Ok(admitted) => grouper.add(w, admitted),
            Err(refusal) => refusals.push(refusal),
        }
    }
    Plan {
        groups: grouper.finish(),
        refusals,
    }
}

/// Collects admitted workloads into groups by repository and base.
struct Grouper<'a> {
    ns: &'a str,
    policy: &'a str,
    export: &'a PullRequestExport,
    groups: BTreeMap<String, Group>,
}

impl Grouper<'_> {
    fn add(&mut self, w: &Located, a: Admitted<'_>) {
        let (ns, source) = (self.ns, a.source);
        let key = format!("{}#{}", a.repo, a.base);
        let base_guess = (source.revision.kind == RevisionKind::DefaultBranch
            && self.export.base_branch.is_none())
        .then(|| {
            format!(
                "{} follows the repository's default branch, taken to be {}; set \
                 export.pullRequest.baseBranch if it is another",
                source.owner, a.base
            )
        });
        let group = self.groups.entry(key.clone()).or_insert_with(|| Group {
            key,
            url: source.repo_url.clone(),
            repo: a.repo,
            forge_repo: a.forge_repo,
            base_guess,
            base: a.base,
            path: a.path.clone(),
            scopes: BTreeMap::new(),
            branch: format!("attune/{ns}/{}", self.policy),
            owners: Vec::new(),
            workloads: Vec::new(),
            synced: Vec::new(),
            shadows: Vec::new(),
            checks: Vec::new(),
        });
        group.path = common_dir(&group.path, &a.path);
        group
            .scopes
            .insert(format!("{ns}/{}/{}", w.kind, w.name), a.path);
        push_new(&mut group.owners, source.owner.to_string());
        if let Some(commit) = &source.revision.resolved {
            push_new(&mut group.synced, commit.clone());
        }
        for s in &source.shadows {
            push_new(&mut group.shadows, s.detail.clone());
        }
        for c in &source.checks {
            if !group.checks.contains(c) {
                group.checks.push(c.clone());
            }
        }
        group.workloads.push(w.clone());
    }

    /// The groups; a repository with several bases gets a branch per workload instead.
    fn finish(self) -> Vec<Group> {
        let mut per_repo: BTreeMap<String, usize> = BTreeMap::new();
        for g in self.groups.values() {
            *per_repo.entry(g.repo.to_string()).or_default() += 1;
        }
        let mut out = Vec::new();
        for g in self.groups.into_values() {
            if per_repo.get(&g.repo.to_string()).copied().unwrap_or(0) <= 1 {
                out.push(g);
                continue;
            }
            for w in &g.workloads {
                out.push(one_workload(&g, w, self.ns, self.policy));
            }
        }
        out
    }
}

/// `g` narrowed to `w`, on its own branch.
fn one_workload(g: &Group, w: &Located, ns: &str, policy: &str) -> Group {
    let mut one = g.clone();
    one.key = format!("{}#{}", g.key, w.label());
    one.branch = workload_branch(ns, policy, &w.kind, &w.name);
    one.workloads = vec![w.clone()];
    let id = format!("{ns}/{}/{}", w.kind, w.name);
    one.scopes.retain(|k, _| *k == id);
    if let Some(own) = one.scopes.get(&id) {
        one.path = own.clone();
    }
    one
}

/// `attune/<ns>/<policy>_<kind>-<workload>`: `_` cannot occur in a Kubernetes name, so it never
/// collides with a policy branch, and it is no sub-path of one (git cannot store both).
pub fn workload_branch(ns: &str, policy: &str, kind: &str, name: &str) -> String {
    format!(
        "attune/{ns}/{policy}_{}",
        format!("{kind}-{name}").to_ascii_lowercase()
    )
}

/// The deepest directory both cleaned paths are in (`.` for the root).
fn common_dir(a: &str, b: &str) -> String {
    let parts: Vec<&str> = a
        .split('/')
        .zip(b.split('/'))
        .take_while(|(x, y)| x == y && *x != ".")
        .map(|(x, _)| x)
        .collect();
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

fn push_new(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

#[cfg(test)]
pub(super) mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::controller::gitops::Unlocated;
    use crate::crd::WorkloadRecommendation;
    use crate::locate::{ObjectKind, ObjectRef, Revision, Source, Tool};

    /// [`super::plan`] with the rules spelled out.
    pub(crate) fn plan(
        ns: &str,
        policy: &str,
        export: &PullRequestExport,
        allowed: &[String],
        located: &[Located],
    ) -> Plan {
        super::plan(ns, policy, &Rules { export, allowed }, located)
    }

    pub(crate) fn source(url: &str, rev: (RevisionKind, &str), path: &str) -> Source {
        Source {
            tool: Tool::ArgoCd,
            repo_url: url.into(),
            revision: Revision {
                kind: rev.0,
                name: rev.1.into(),
                resolved: Some("abc123".into()),
            },
            path: path.into(),
            recurse: false,
            owner: ObjectRef::new(ObjectKind::Application, "argocd", "shop"),
            chain: vec![],
            shadows: vec![],
            checks: vec![],
            hints: vec![],
            namespace: None,
            helm: None,
            helm_refusal: None,
            names: Default::default(),
        }
    }

    pub(crate) fn located(name: &str, source: Result<Source, Unlocated>) -> Located {
        Located {
            kind: "Deployment".into(),
            name: name.into(),
            recommendation: WorkloadRecommendation {
                workload: name.into(),
                kind: "Deployment".into(),
                ..Default::default()
            },
            source,
        }
    }

    pub(crate) const URL: &str = "https://git.example.com/team/deploy.git";
    pub(crate) const BRANCH: (RevisionKind, &str) = (RevisionKind::Branch, "main");

    pub(crate) fn allowed() -> Vec<String> {
        vec!["git.example.com/team/*".into()]
    }

    #[test]
    fn one_source_makes_one_policy_branch() {
        let ws = [
            located("api", Ok(source(URL, BRANCH, "./apps/shop/"))),
            located("web", Ok(source(URL, BRANCH, "apps/shop"))),
        ];
        let plan = plan(
            "shop",
            "sizing",
            &PullRequestExport::default(),
            &allowed(),
            &ws,
        );
        assert!(plan.refusals.is_empty(), "{:?}", plan.refusals);
        assert_eq!(plan.groups.len(), 1);
        let g = &plan.groups[0];
        assert_eq!(g.branch, "attune/shop/sizing");
        assert_eq!(g.path, "apps/shop");
        assert_eq!(g.base, "main");
        assert_eq!(g.forge_repo.to_string(), "team/deploy");
        assert_eq!(g.workloads.len(), 2);
        assert_eq!(g.owners, vec!["argo cd application argocd/shop".to_owned()]);
    }

    #[test]
    fn several_paths_of_one_repository_share_a_branch_each_searched_in_its_own_path() {
        let ws = [
            located("api", Ok(source(URL, BRANCH, "apps/api"))),
            located("web", Ok(source(URL, BRANCH, "apps/web"))),
            located(
                "db",
                Ok(source("https://git.example.com/team/other", BRANCH, "x")),
            ),
        ];
        let plan = plan(
            "shop",
            "sizing",
            &PullRequestExport::default(),
            &allowed(),
            &ws,
        );
        assert_eq!(plan.groups.len(), 2, "one per repository");
        let g = &plan.groups[0];
        assert_eq!(g.branch, "attune/shop/sizing");
        assert_eq!(g.path, "apps", "the directory holding both");
        assert_eq!(
            g.scopes,
            BTreeMap::from([
                ("shop/Deployment/api".to_owned(), "apps/api".to_owned()),
                ("shop/Deployment/web".to_owned(), "apps/web".to_owned()),
            ])
        );
        assert_eq!(plan.groups[1].path, "x");
    }

    #[test]
    fn several_bases_of_one_repository_get_a_branch_per_workload() {
        let ws = [
            located("api", Ok(source(URL, BRANCH, "apps/api"))),
            located(
                "web",
                Ok(source(URL, (RevisionKind::Branch, "release"), "apps/web")),
            ),
        ];
        let plan = plan(
            "shop",
            "sizing",
            &PullRequestExport::default(),
            &allowed(),
            &ws,
        );
        let branches: Vec<(&str, &str, &str)> = plan
            .groups
            .iter()
            .map(|g| (g.branch.as_str(), g.base.as_str(), g.path.as_str()))
            .collect();
        assert_eq!(
            branches,
            [
                ("attune/shop/sizing_deployment-api", "main", "apps/api"),
                ("attune/shop/sizing_deployment-web", "release", "apps/web"),
            ]
        );
        let keys: std::collections::BTreeSet<&str> =
            plan.groups.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys.len(), 2, "keys are distinct: {keys:?}");
        assert_eq!(plan.groups[0].scopes.len(), 1);
    }

    #[test]
    fn common_dirs() {
        assert_eq!(super::common_dir("apps/web", "apps/api"), "apps");
        assert_eq!(super::common_dir("apps/web", "apps/web"), "apps/web");
        assert_eq!(super::common_dir("a", "b"), ".");
        assert_eq!(super::common_dir(".", "apps"), ".");
        assert_eq!(super::common_dir("apps/web", "apps/webshop"), "apps");
    }
}
