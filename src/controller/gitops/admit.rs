//! Whether one located workload may get a pull request, and where it goes: its source checked
//! against the operator's allowlist and the policy's overrides (`repository`, `baseBranch`,
//! `path`, which may only narrow what the owner deploys). Pure.

use super::allow::{self, Verdict};
use super::located::Located;
use crate::crd::PullRequestExport;
use crate::forge::ForgeRepo;
use crate::locate::{RemoteUrl, RevisionKind, Source};

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

/// Where an admitted workload's pull request goes.
#[derive(Debug, Clone)]
pub(super) struct Admitted<'w> {
    pub source: &'w Source,
    pub repo: RemoteUrl,
    pub forge_repo: ForgeRepo,
    pub base: String,
    /// Cleaned; `.` for the root.
    pub path: String,
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

/// What admits a workload: the policy's overrides and the operator's allowlist.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub export: &'a PullRequestExport,
    pub allowed: &'a [String],
}

/// Where one workload's pull request goes, or why it gets none.
pub(super) fn admit<'w>(w: &'w Located, rules: &Rules<'_>) -> Result<Admitted<'w>, Refusal> {
    let source = match &w.source {
        Ok(s) => s,
        Err(why) => {
            return Err(Refusal {
                key: w.label(),
                cause: if why.owner_not_verified {
                    Cause::OwnerNotVerified
                } else {
                    Cause::Locate
                },
                message: why.message.clone(),
            });
        }
    };
    let judge = Judge {
        who: w.label(),
        owner: source.owner.to_string(),
    };
    let (repo, forge_repo) = judge.repository(source, rules)?;
    Ok(Admitted {
        source,
        base: judge.base(source, rules.export)?,
        path: judge.path(source, rules.export)?,
        repo,
        forge_repo,
    })
}

/// Refuses one workload, naming it and its owner.
struct Judge {
    /// The workload, `Kind/name`.
    who: String,
    owner: String,
}

impl Judge {
    fn refuse(&self, cause: Cause, message: String) -> Refusal {
        Refusal {
            key: self.who.clone(),
            cause,
            message,
        }
    }

    /// The repository, if the allowlist and `export.pullRequest.repository` agree.
    fn repository(
        &self,
        source: &Source,
        rules: &Rules<'_>,
    ) -> Result<(RemoteUrl, ForgeRepo), Refusal> {
        let (who, owner) = (&self.who, &self.owner);
        let repo = RemoteUrl::parse(&source.repo_url)
            .map_err(|e| self.refuse(Cause::Source, format!("{who}: {e}")))?;
        if let Verdict::Refused(why) = allow::check(rules.allowed, &repo) {
            let message = format!("{who} (deployed by {owner}): {why}");
            return Err(self.refuse(Cause::NotAllowed, message));
        }
        let forge_repo = ForgeRepo::parse(&repo.path).map_err(|_| {
            self.refuse(
                Cause::Source,
                format!("{who}: repository {repo} has no owner/name form that a forge accepts"),
            )
        })?;
        if let Some(wanted) = &rules.export.repository
            && !ForgeRepo::parse(wanted).is_ok_and(|r| r == forge_repo)
        {
            return Err(self.refuse(
                Cause::NotAllowed,
                format!(
                    "{who}: export.pullRequest.repository is {wanted:?} but {owner} deploys it from \
                     {repo}; attune writes only to the repository that deploys a workload \
                     (fix or remove export.pullRequest.repository)"
                ),
            ));
        }
        Ok((repo, forge_repo))
    }

    /// The base branch: the override, else the branch the owner follows.
    fn base(&self, source: &Source, export: &PullRequestExport) -> Result<String, Refusal> {
        match (&export.base_branch, source.revision.kind) {
            (Some(base), _) if !base.trim().is_empty() => Ok(base.trim().to_owned()),
            (_, RevisionKind::Branch | RevisionKind::BranchOrTag) => {
                Ok(source.revision.name.clone())
            }
            (_, RevisionKind::DefaultBranch) => Ok("main".to_owned()),
            (_, kind) => Err(self.refuse(
                Cause::Source,
                format!(
                    "{}: {} deploys {} {:?}, not a branch, so a merged pull request would \
                     not be deployed; point it at a branch or set export.pullRequest.baseBranch",
                    self.who,
                    self.owner,
                    kind_word(kind),
                    source.revision.name
                ),
            )),
        }
    }

    /// The path searched: the owner's, or the override when it narrows it.
    fn path(&self, source: &Source, export: &PullRequestExport) -> Result<String, Refusal> {
        let (who, owner) = (&self.who, &self.owner);
        let found = clean(&source.path);
        let Some(p) = &export.path else {
            return Ok(found);
        };
        let p = clean(p);
        if p.split('/').any(|s| s == "..") {
            let message = format!("{who}: export.pullRequest.path {p:?} may not contain `..`");
            return Err(self.refuse(Cause::NotAllowed, message));
        }
        if !within(&p, &found) {
            return Err(self.refuse(
                Cause::NotAllowed,
                format!(
                    "{who}: export.pullRequest.path {p:?} is outside {found:?}, the path {owner} \
                     deploys it from; the path may only narrow the search"
                ),
            ));
        }
        Ok(p)
    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::controller::gitops::Unlocated;
    use crate::controller::gitops::group::tests::{BRANCH, URL, allowed, located, plan, source};

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
