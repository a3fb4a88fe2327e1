//! From located workloads to pull-request branches: checks each workload's source against the
//! allowlist and the policy's overrides (`repository`, `baseBranch`, `path`), then groups the
//! admitted ones by (repository, base branch) and names each group's branch. One branch per
//! policy and repository (`attune/<ns>/<policy>`), also when its workloads come from several
//! paths of that repository (an Argo CD app and a Flux Kustomization, say): each workload is
//! then searched under its own owner's path ([`Group::scopes`]), so one pull request still edits
//! every file where its own owner renders it. Only when one policy's workloads follow several
//! bases of one repository does each get its own branch
//! (`attune/<ns>/<policy>_<kind>-<workload>`, as `propose --branch-per workload` names them).
//! Pure: no cluster, git or forge access.

use std::collections::BTreeMap;

use super::allow::{self, Verdict};
use crate::crd::{PullRequestExport, WorkloadRecommendation};
use crate::forge::ForgeRepo;
use crate::locate::{RemoteUrl, RepoCheck, RevisionKind, Source};

/// A target workload with a recommendation, and where it was traced to.
#[derive(Debug, Clone)]
pub struct Located {
    pub kind: String,
    pub name: String,
    pub recommendation: WorkloadRecommendation,
    /// The source, or why it could not be found (the message names the object).
    pub source: Result<Source, Unlocated>,
}

/// Why a workload has no source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unlocated {
    pub message: String,
    /// The owner its marker names does not list it in its status: the marker may be forged.
    pub owner_not_verified: bool,
}

impl From<String> for Unlocated {
    fn from(message: String) -> Unlocated {
        Unlocated {
            message,
            owner_not_verified: false,
        }
    }
}

impl Located {
    pub fn label(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

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

/// Why a workload gets no pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The workload (`Kind/name`) or group it concerns.
    pub key: String,
    pub cause: Cause,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The allowlist or a policy override refused the repository.
    NotAllowed,
    /// Tracing the workload to its source failed.
    Locate,
    /// The owner the workload's marker names does not list it: nothing is written for it.
    OwnerNotVerified,
    /// The source cannot take a pull request (a tag, a URL without owner/name).
    Source,
}

/// The admitted groups and the refused workloads.
#[derive(Debug, Default)]
pub struct Plan {
    pub groups: Vec<Group>,
    pub refusals: Vec<Refusal>,
}

/// A path as the tools read it: `./a/b/` is `a/b`, and the root is `.`.
pub(super) fn clean(path: &str) -> String {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

fn within(inner: &str, outer: &str) -> bool {
    outer == "." || inner == outer || inner.starts_with(&format!("{outer}/"))
}

/// Where one workload's pull request goes, or why it gets none.
fn admit(
    w: &Located,
    source: &Source,
    export: &PullRequestExport,
    allowed: &[String],
) -> Result<(RemoteUrl, ForgeRepo, String, String), Refusal> {
    let who = w.label();
    let owner = source.owner.to_string();
    let refuse = |not_allowed: bool, message: String| Refusal {
        key: who.clone(),
        cause: if not_allowed {
            Cause::NotAllowed
        } else {
            Cause::Source
        },
        message,
    };
    let repo =
        RemoteUrl::parse(&source.repo_url).map_err(|e| refuse(false, format!("{who}: {e}")))?;
    if let Verdict::Refused(why) = allow::check(allowed, &repo) {
        return Err(refuse(true, format!("{who} (deployed by {owner}): {why}")));
    }
    let forge_repo = ForgeRepo::parse(&repo.path).map_err(|_| {
        refuse(
            false,
            format!("{who}: repository {repo} has no owner/name form that github or gitea accepts"),
        )
    })?;
    if let Some(wanted) = &export.repository {
        let agrees = ForgeRepo::parse(wanted).is_ok_and(|r| r == forge_repo);
        if !agrees {
            return Err(refuse(
                true,
                format!(
                    "{who}: export.pullRequest.repository is {wanted:?} but {owner} deploys it from \
                     {repo}; attune writes only to the repository that deploys a workload \
                     (fix or remove export.pullRequest.repository)"
                ),
            ));
        }
    }
    let base = match (&export.base_branch, source.revision.kind) {
        (Some(base), _) if !base.trim().is_empty() => base.trim().to_owned(),
        (_, RevisionKind::Branch | RevisionKind::BranchOrTag) => source.revision.name.clone(),
        (_, RevisionKind::DefaultBranch) => "main".to_owned(),
        (_, kind) => {
            return Err(refuse(
                false,
                format!(
                    "{who}: {owner} deploys {} {:?}, not a branch, so a merged pull request would \
                     not be deployed; point it at a branch or set export.pullRequest.baseBranch",
                    kind_word(kind),
                    source.revision.name
                ),
            ));
        }
    };
    let found = clean(&source.path);
    let path = match &export.path {
        None => found,
        Some(p) => {
            let p = clean(p);
            if p.split('/').any(|s| s == "..") {
                return Err(refuse(
                    true,
                    format!("{who}: export.pullRequest.path {p:?} may not contain `..`"),
                ));
            }
            if !within(&p, &found) {
                return Err(refuse(
                    true,
                    format!(
                        "{who}: export.pullRequest.path {p:?} is outside {found:?}, the path {owner} \
                         deploys it from; the path may only narrow the search"
                    ),
                ));
            }
            p
        }
    };
    Ok((repo, forge_repo, base, path))
}

fn kind_word(kind: RevisionKind) -> &'static str {
    match kind {
        RevisionKind::Tag => "tag",
        RevisionKind::Semver => "semver range",
        RevisionKind::Commit => "commit",
        RevisionKind::Reference => "git reference",
        _ => "revision",
    }
}

/// Groups `located` into branches for policy `ns/policy`.
pub fn plan(
    ns: &str,
    policy: &str,
    export: &PullRequestExport,
    allowed: &[String],
    located: &[Located],
) -> Plan {
    let mut out = Plan::default();
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for w in located {
        let source = match &w.source {
            Ok(s) => s,
            Err(why) => {
                out.refusals.push(Refusal {
                    key: w.label(),
                    cause: if why.owner_not_verified {
                        Cause::OwnerNotVerified
                    } else {
                        Cause::Locate
                    },
                    message: why.message.clone(),
                });
                continue;
            }
        };
        let (repo, forge_repo, base, path) = match admit(w, source, export, allowed) {
            Ok(found) => found,
            Err(refusal) => {
                out.refusals.push(refusal);
                continue;
            }
        };
        let key = format!("{repo}#{base}");
        let group = groups.entry(key.clone()).or_insert_with(|| Group {
            key,
            url: source.repo_url.clone(),
            repo,
            forge_repo,
            base_guess: (source.revision.kind == RevisionKind::DefaultBranch
                && export.base_branch.is_none())
            .then(|| {
                format!(
                    "{} follows the repository's default branch, taken to be {base}; set \
                     export.pullRequest.baseBranch if it is another",
                    source.owner
                )
            }),
            base,
            path: path.clone(),
            scopes: BTreeMap::new(),
            branch: format!("attune/{ns}/{policy}"),
            owners: Vec::new(),
            workloads: Vec::new(),
            synced: Vec::new(),
            shadows: Vec::new(),
            checks: Vec::new(),
        });
        group.path = common_dir(&group.path, &path);
        group
            .scopes
            .insert(format!("{ns}/{}/{}", w.kind, w.name), path);
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
    let mut per_repo: BTreeMap<String, usize> = BTreeMap::new();
    for g in groups.values() {
        *per_repo.entry(g.repo.to_string()).or_default() += 1;
    }
    for g in groups.into_values() {
        if per_repo.get(&g.repo.to_string()).copied().unwrap_or(0) <= 1 {
            out.groups.push(g);
            continue;
        }
        for w in &g.workloads {
            let mut one = g.clone();
            one.key = format!("{}#{}", g.key, w.label());
            one.branch = workload_branch(ns, policy, &w.kind, &w.name);
            one.workloads = vec![w.clone()];
            let id = format!("{ns}/{}/{}", w.kind, w.name);
            one.scopes.retain(|k, _| *k == id);
            if let Some(own) = one.scopes.get(&id) {
                one.path = own.clone();
            }
            out.groups.push(one);
        }
    }
    out
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
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::locate::{ObjectKind, ObjectRef, Revision, Tool};

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
        }
    }

    fn located(name: &str, source: Result<Source, Unlocated>) -> Located {
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

    const URL: &str = "https://git.example.com/team/deploy.git";
    const BRANCH: (RevisionKind, &str) = (RevisionKind::Branch, "main");

    fn allowed() -> Vec<String> {
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

    #[test]
    fn repository_outside_the_allowlist_or_the_override_is_refused() {
        let ws = [located(
            "api",
            Ok(source("https://git.example.com/ops/deploy", BRANCH, ".")),
        )];
        let plan1 = plan("shop", "p", &PullRequestExport::default(), &allowed(), &ws);
        assert!(plan1.groups.is_empty());
        assert_eq!(plan1.refusals[0].cause, Cause::NotAllowed);
        assert!(
            plan1.refusals[0]
                .message
                .contains("git.example.com/ops/deploy is not in"),
            "{}",
            plan1.refusals[0].message
        );

        let export = PullRequestExport {
            repository: Some("team/elsewhere".into()),
            ..Default::default()
        };
        let ws = [located("api", Ok(source(URL, BRANCH, ".")))];
        let plan2 = plan("shop", "p", &export, &allowed(), &ws);
        assert!(plan2.groups.is_empty());
        assert_eq!(plan2.refusals[0].cause, Cause::NotAllowed);
        assert!(
            plan2.refusals[0].message.contains("\"team/elsewhere\""),
            "{}",
            plan2.refusals[0].message
        );

        let agreeing = PullRequestExport {
            repository: Some("team/deploy".into()),
            ..Default::default()
        };
        assert_eq!(
            plan("shop", "p", &agreeing, &allowed(), &ws).groups.len(),
            1
        );
    }

    #[test]
    fn overrides_may_narrow_but_not_escape() {
        let ws = [located("api", Ok(source(URL, BRANCH, "apps")))];
        let narrow = PullRequestExport {
            path: Some("apps/api/".into()),
            base_branch: Some("release".into()),
            ..Default::default()
        };
        let p = plan("n", "p", &narrow, &allowed(), &ws);
        assert_eq!(
            (p.groups[0].path.as_str(), p.groups[0].base.as_str()),
            ("apps/api", "release")
        );
        let escape = PullRequestExport {
            path: Some("appsx".into()),
            ..Default::default()
        };
        let p = plan("n", "p", &escape, &allowed(), &ws);
        assert!(p.groups.is_empty());
        assert!(
            p.refusals[0].message.contains("outside \"apps\""),
            "{:?}",
            p.refusals
        );
        let root = [located("api", Ok(source(URL, BRANCH, ".")))];
        let up = PullRequestExport {
            path: Some("apps/../../etc".into()),
            ..Default::default()
        };
        let p = plan("n", "p", &up, &allowed(), &root);
        assert!(p.groups.is_empty());
        assert!(
            p.refusals[0].message.contains("may not contain `..`"),
            "{:?}",
            p.refusals
        );
    }

    #[test]
    fn tags_and_locate_failures_are_refused_with_a_reason() {
        let ws = [
            located("api", Ok(source(URL, (RevisionKind::Tag, "v1.2"), "."))),
            located(
                "web",
                Err("Deployment shop/web carries no argo cd tracking id"
                    .to_owned()
                    .into()),
            ),
            located(
                "db",
                Ok(source(URL, (RevisionKind::DefaultBranch, "HEAD"), ".")),
            ),
            located(
                "forged",
                Err(Unlocated {
                    message: "names argo cd application argocd/shop as its owner, but".into(),
                    owner_not_verified: true,
                }),
            ),
        ];
        let p = plan("n", "p", &PullRequestExport::default(), &allowed(), &ws);
        assert_eq!(p.groups.len(), 1);
        assert_eq!(p.groups[0].workloads.len(), 1, "only db rides in a branch");
        assert_eq!(p.refusals.len(), 3);
        assert_eq!(p.refusals[2].cause, Cause::OwnerNotVerified);
        assert_eq!(p.refusals[2].key, "Deployment/forged");
        assert_eq!(p.groups[0].base, "main");
        assert!(p.refusals[0].message.contains("tag \"v1.2\", not a branch"));
        assert_eq!(p.refusals[0].cause, Cause::Source);
        assert_eq!(p.refusals[1].cause, Cause::Locate);
    }
}
