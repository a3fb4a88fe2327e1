//! The fingerprint of a group's inputs: everything that can change what its pull request should
//! say. Equal fingerprints mean the last result still holds, so the reconcile makes no git fetch
//! and no forge write. Covered: the recommended values (not their timestamps, which move on every
//! recommender pass), the export settings, the branch, repository, base and path, the commit the
//! owner reports as applied (a merge shows up there), and the shadowing settings. Pure.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::group::Group;
use crate::crd::{PullRequestExport, ResourceValues};

/// What the pull request should say: a change here is what the cooldown holds back.
#[derive(Serialize)]
struct Wanted<'a> {
    branch: &'a str,
    repo: String,
    url: &'a str,
    base: &'a str,
    path: &'a str,
    export: &'a PullRequestExport,
    workloads: Vec<Workload<'a>>,
}

/// The world around it: a change here (a merge, a new commit on the base) needs a look, not
/// necessarily an edit.
#[derive(Serialize)]
struct Around<'a> {
    wanted: &'a str,
    synced: &'a [String],
    shadows: &'a [String],
    checks: Vec<&'a str>,
}

#[derive(Serialize)]
struct Workload<'a> {
    kind: &'a str,
    name: &'a str,
    containers: Vec<(&'a str, &'a ResourceValues)>,
}

/// Hex digests of a group's inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprint {
    /// Everything: what the pull request should say, what the owner reports (the commit it
    /// applied) and the shadowing settings.
    pub all: String,
    /// Only what the pull request should say: a change here is what the cooldown holds back.
    pub wanted: String,
}

/// The fingerprint of `group`'s inputs under `export`.
pub fn of(group: &Group, export: &PullRequestExport) -> Fingerprint {
    let wanted = digest(&Wanted {
        branch: &group.branch,
        repo: group.repo.to_string(),
        url: &group.url,
        base: &group.base,
        path: &group.path,
        export,
        workloads: group
            .workloads
            .iter()
            .map(|w| Workload {
                kind: &w.kind,
                name: &w.name,
                containers: w
                    .recommendation
                    .containers
                    .iter()
                    .map(|c| (c.name.as_str(), &c.recommended))
                    .collect(),
            })
            .collect(),
    });
    let all = digest(&Around {
        wanted: &wanted,
        synced: &group.synced,
        shadows: &group.shadows,
        checks: group.checks.iter().map(|c| c.file.as_str()).collect(),
    });
    Fingerprint { all, wanted }
}

fn digest(value: &impl Serialize) -> String {
    // Serialising plain structs and strings cannot fail; an empty text would only cost a sync.
    let text = serde_json::to_string(value).unwrap_or_default();
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::controller::gitops::Located;
    use crate::controller::gitops::group::tests::plan;
    use crate::crd::{ContainerRecommendation, WorkloadRecommendation};
    use crate::locate::{ObjectKind, ObjectRef, Revision, RevisionKind, Source, Tool};

    fn group(cpu: &str, synced: &str, updated: &str) -> Group {
        let source = Source {
            tool: Tool::Flux,
            repo_url: "https://git.example.com/team/deploy".into(),
            recurse: true,
            revision: Revision {
                kind: RevisionKind::Branch,
                name: "main".into(),
                resolved: Some(synced.into()),
            },
            path: "apps".into(),
            owner: ObjectRef::new(ObjectKind::Kustomization, "flux-system", "apps"),
            chain: vec![],
            shadows: vec![],
            checks: vec![],
            hints: vec![],
            namespace: None,
            helm: None,
            helm_refusal: None,
            names: Default::default(),
        };
        let w = Located {
            kind: "Deployment".into(),
            name: "api".into(),
            recommendation: WorkloadRecommendation {
                workload: "api".into(),
                kind: "Deployment".into(),
                last_data_time: Some(updated.into()),
                containers: vec![ContainerRecommendation {
                    name: "app".into(),
                    recommended: ResourceValues {
                        cpu_request: Some(cpu.into()),
                        ..Default::default()
                    },
                    last_updated: Some(updated.into()),
                    ..Default::default()
                }],
                ..Default::default()
            },
            source: Ok(source),
        };
        let allowed = vec!["git.example.com/team/deploy".to_owned()];
        plan("n", "p", &PullRequestExport::default(), &allowed, &[w])
            .groups
            .remove(0)
    }

    #[test]
    fn values_revision_and_settings_change_it_timestamps_do_not() {
        let export = PullRequestExport::default();
        let Fingerprint { all, wanted } = of(&group("250m", "aaa", "t1"), &export);
        assert_eq!((all.len(), wanted.len()), (64, 64));
        assert_eq!(
            Fingerprint {
                all: all.clone(),
                wanted: wanted.clone()
            },
            of(&group("250m", "aaa", "t2"), &export)
        );
        let moved = of(&group("200m", "aaa", "t1"), &export);
        assert!(moved.all != all && moved.wanted != wanted);
        let synced = of(&group("250m", "bbb", "t1"), &export);
        assert!(
            synced.all != all && synced.wanted == wanted,
            "a sync is no new proposal"
        );
        let dry = PullRequestExport {
            dry_run: Some(true),
            ..Default::default()
        };
        assert_ne!(wanted, of(&group("250m", "aaa", "t1"), &dry).wanted);
    }
}
