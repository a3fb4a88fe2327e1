//! Which revision of the repository a tool deploys, read from Argo CD's `targetRevision` or a
//! Flux GitRepository's `spec.ref`, and the commit it last applied.

use serde::Serialize;
use serde_json::Value;

use super::known::text;

/// What kind of revision the owner follows. A write-back can only propose changes to a branch;
/// the other kinds tell the caller why it cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevisionKind {
    Branch,
    Tag,
    /// A semver range over tags.
    Semver,
    Commit,
    /// A full git reference that is neither `refs/heads/` nor `refs/tags/` (e.g. a pull request).
    Reference,
    /// Argo CD `HEAD` or an empty `targetRevision`: the remote's default branch.
    DefaultBranch,
    /// Argo CD names branches and tags the same way; only the repository can tell which.
    BranchOrTag,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revision {
    pub kind: RevisionKind,
    /// As the owner names it (`HEAD` for the default branch).
    pub name: String,
    /// The commit the tool last applied, when its status says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved: Option<String>,
}

impl Revision {
    fn new(kind: RevisionKind, name: &str) -> Revision {
        Revision {
            kind,
            name: name.to_owned(),
            resolved: None,
        }
    }

    /// Reads an Argo CD `targetRevision`.
    pub(crate) fn argo(target: Option<&str>) -> Revision {
        let target = target.map(str::trim).unwrap_or_default();
        if target.is_empty() || target == "HEAD" {
            return Revision::new(RevisionKind::DefaultBranch, "HEAD");
        }
        if let Some(branch) = target.strip_prefix("refs/heads/") {
            return Revision::new(RevisionKind::Branch, branch);
        }
        if let Some(tag) = target.strip_prefix("refs/tags/") {
            return Revision::new(RevisionKind::Tag, tag);
        }
        let kind = if target.starts_with("refs/") {
            RevisionKind::Reference
        } else if is_sha(target) {
            RevisionKind::Commit
        } else if is_semver_range(target) {
            RevisionKind::Semver
        } else {
            RevisionKind::BranchOrTag
        };
        Revision::new(kind, target)
    }

    /// Reads a Flux GitRepository `spec.ref`, in Flux's precedence: commit, name, semver, tag,
    /// branch. Returns a hint when the choice hides something the user may not expect.
    pub(crate) fn flux(git_ref: Option<&Value>) -> (Revision, Option<String>) {
        let field = |name: &str| git_ref.and_then(|r| text(r, &format!("/{name}")));
        let branch = field("branch");
        if let Some(commit) = field("commit") {
            let hint = branch.map(|b| {
                format!("the gitrepository pins commit {commit} on branch {b}: a change merged to {b} is not deployed until the pin moves")
            });
            return (Revision::new(RevisionKind::Commit, commit), hint);
        }
        let chosen = [
            ("name", RevisionKind::Reference),
            ("semver", RevisionKind::Semver),
            ("tag", RevisionKind::Tag),
            ("branch", RevisionKind::Branch),
        ]
        .into_iter()
        .find_map(|(f, kind)| field(f).map(|v| Revision::new(kind, v)));
        match chosen {
            Some(revision) => (revision, None),
            // Flux's documented default is the literal branch `master`, not the remote's
            // default branch, so a repository whose default is `main` silently fails there.
            None => (
                Revision::new(RevisionKind::Branch, "master"),
                Some(
                    "the gitrepository sets no spec.ref, so flux checks out branch master"
                        .to_owned(),
                ),
            ),
        }
    }

    pub(crate) fn with_resolved(mut self, resolved: Option<String>) -> Revision {
        self.resolved = resolved;
        self
    }
}

/// The commit in a Flux revision string: `main@sha1:<hex>`, `sha1:<hex>` or a bare hex.
pub(crate) fn flux_commit(revision: &str) -> Option<String> {
    let digest = revision.rsplit_once('@').map_or(revision, |(_, d)| d);
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    is_sha(hex).then(|| hex.to_owned())
}

/// A full SHA-1 or SHA-256 object name. Short names are not resolvable by the tools, so a
/// short hex string is taken as a branch or tag name.
pub(crate) fn is_sha(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Git forbids `*`, `^`, `~` and spaces in ref names, so any of them (or a leading comparison)
/// means a semver constraint rather than a branch or tag. `1.x` is a legal and common branch
/// name, so it stays a branch-or-tag.
fn is_semver_range(s: &str) -> bool {
    s.contains(['*', '^', '~', ' ']) || s.starts_with(['>', '<', '='])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn argo_target_revisions() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        for (given, kind, name) in [
            (None, RevisionKind::DefaultBranch, "HEAD"),
            (Some(""), RevisionKind::DefaultBranch, "HEAD"),
            (Some("HEAD"), RevisionKind::DefaultBranch, "HEAD"),
            (Some("main"), RevisionKind::BranchOrTag, "main"),
            (Some("v1.2.3"), RevisionKind::BranchOrTag, "v1.2.3"),
            (
                Some("refs/heads/release/1"),
                RevisionKind::Branch,
                "release/1",
            ),
            (Some("refs/tags/v1"), RevisionKind::Tag, "v1"),
            (
                Some("refs/pull/7/head"),
                RevisionKind::Reference,
                "refs/pull/7/head",
            ),
            (Some(sha), RevisionKind::Commit, sha),
            (Some("0123456"), RevisionKind::BranchOrTag, "0123456"),
            (Some(">=1.0.0 <2"), RevisionKind::Semver, ">=1.0.0 <2"),
            (Some("1.2.*"), RevisionKind::Semver, "1.2.*"),
            (Some("~1.2"), RevisionKind::Semver, "~1.2"),
            (Some("1.x"), RevisionKind::BranchOrTag, "1.x"),
        ] {
            let r = Revision::argo(given);
            assert_eq!((r.kind, r.name.as_str()), (kind, name), "{given:?}");
        }
    }

    #[test]
    fn flux_refs_follow_flux_precedence() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        for (git_ref, kind, name, hinted) in [
            (
                json!({"branch": "main"}),
                RevisionKind::Branch,
                "main",
                false,
            ),
            (
                json!({"branch": "main", "tag": "v1"}),
                RevisionKind::Tag,
                "v1",
                false,
            ),
            (
                json!({"tag": "v1", "semver": ">=1"}),
                RevisionKind::Semver,
                ">=1",
                false,
            ),
            (
                json!({"semver": ">=1", "name": "refs/pull/1/head"}),
                RevisionKind::Reference,
                "refs/pull/1/head",
                false,
            ),
            (
                json!({"name": "refs/heads/x", "commit": sha}),
                RevisionKind::Commit,
                sha,
                false,
            ),
            (
                json!({"branch": "main", "commit": sha}),
                RevisionKind::Commit,
                sha,
                true,
            ),
            (json!({}), RevisionKind::Branch, "master", true),
        ] {
            let (r, hint) = Revision::flux(Some(&git_ref));
            assert_eq!(
                (r.kind, r.name.as_str(), hint.is_some()),
                (kind, name, hinted),
                "{git_ref}"
            );
        }
        let (r, hint) = Revision::flux(None);
        assert_eq!((r.name.as_str(), hint.is_some()), ("master", true));
    }

    #[test]
    fn flux_revision_strings_yield_the_commit() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            flux_commit(&format!("main@sha1:{sha}")),
            Some(sha.to_owned())
        );
        assert_eq!(flux_commit(&format!("sha1:{sha}")), Some(sha.to_owned()));
        assert_eq!(
            flux_commit(&format!("v1.0@sha1:{sha}")),
            Some(sha.to_owned())
        );
        assert_eq!(flux_commit(sha), Some(sha.to_owned()));
        assert_eq!(flux_commit("latest@sha256:abc"), None);
    }
}
