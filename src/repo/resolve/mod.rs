//! From a live identity and the values wanted for its containers to edit operations per file.
//!
//! [`roots`] decides which renders a scope deploys and who else uses each file; [`locate`]
//! finds the render (or the markers) of one identity; [`container`] picks the place that
//! decides each value; [`overlay`] writes new patches into the root that renders the identity;
//! [`settle`] reconciles identities that meet at one value.

mod container;
mod deployed;
mod locate;
mod overlay;
mod roots;
mod settle;

use std::collections::BTreeMap;

use serde::Serialize;

pub use deployed::{DeployedObject, deployed_objects, kustomization_files};

use super::field::Field;
use super::scope::Scope;
use super::{ManifestTree, Notice, Problem};
use crate::yamledit::Seg;

/// The values wanted for one live workload, already limited to the fields its policy controls.
#[derive(Debug, Clone, PartialEq)]
pub struct Want {
    pub policy: String,
    pub namespace: String,
    pub kind: String,
    pub workload: String,
    pub containers: Vec<ContainerWant>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerWant {
    pub name: String,
    /// Requests always; limits only when the policy controls them. Limits are written only
    /// where one already exists.
    pub fields: Vec<(Field, String)>,
}

/// Why a file was chosen, for the report and the PR body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Site {
    /// A `$attune` marker comment named the value.
    Marker,
    /// An overlay patch already set the value.
    Patch,
    /// The manifest defining the object, rendered by nothing else.
    Manifest,
    /// A strategic-merge patch in the overlay, because the base is shared.
    OverlayPatch,
    /// A Helm values key, found by rendering the chart with sentinels (`Change::key`).
    HelmValues,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub policy: String,
    pub namespace: String,
    pub kind: String,
    pub workload: String,
    pub container: String,
    pub field: Field,
    pub file: String,
    pub from: Option<String>,
    pub to: String,
    pub site: Site,
    /// For `helm-values`: the values key, dot-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// Where one value lives in a file: the scalar at `path` of document `doc` or, when that
/// scalar is an inline patch (YAML held in a string), the scalar at `inline` in the patch's
/// first document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueAt {
    pub doc: usize,
    pub path: Vec<Seg>,
    pub inline: Option<Vec<Seg>>,
}

/// One value to write in a file: where, and what. Resolution says where; how the bytes
/// change is the editor's business (`propose` hands these to `yamledit`).
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    pub at: ValueAt,
    pub value: String,
}

impl Op {
    /// The scalar at `path` of document `doc` becomes `value`.
    pub fn scalar(doc: usize, path: Vec<Seg>, value: &str) -> Op {
        Op {
            at: ValueAt {
                doc,
                path,
                inline: None,
            },
            value: value.to_owned(),
        }
    }
}

/// A file that does not exist yet, to be written in the style of an existing one.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFile {
    /// The file whose line ending and indentation the new one copies.
    pub style_of: String,
}

/// The edit operations of one file, each owned by a change or (`None`) supporting several.
#[derive(Debug, Clone, Default)]
pub struct FilePlan {
    /// For a file that does not exist yet: whose style to write it in.
    pub create: Option<NewFile>,
    pub ops: Vec<(Option<usize>, Op)>,
    /// Entries that list a new file (a kustomization's `patches:` item for a new patch), each
    /// with that file: an entry is written only with its file and the file only with its
    /// entry, so a patch is never left unlisted (rendering nothing) or listed but missing.
    pub lists: Vec<(String, Op)>,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub files: BTreeMap<String, FilePlan>,
    pub changes: Vec<Change>,
    pub problems: Vec<Problem>,
    pub notices: Vec<Notice>,
    /// Values found already right, by file and place: another identity that shares the place
    /// and wants something else is a conflict even though this one needs no edit.
    settled: Vec<(String, ValueAt, Change)>,
}

/// Resolves every want against `repo`, searching the renders `scope` deploys.
pub fn resolve(repo: &ManifestTree, scope: &Scope, wants: &[Want]) -> Plan {
    resolve_scoped(repo, scope, &BTreeMap::new(), wants)
}

/// Like [`resolve`], but a want whose identity (`namespace/Kind/name`) is in `scopes` is
/// searched in its own scope: one pull request can carry workloads that two GitOps owners
/// deploy from two directories, each still edited where its own owner renders it. Edits from
/// several scopes into one file land in one file plan, and conflicts are found across scopes.
pub fn resolve_scoped(
    repo: &ManifestTree,
    default_scope: &Scope,
    scopes: &BTreeMap<String, Scope>,
    wants: &[Want],
) -> Plan {
    let mut plan = Plan::default();
    let mut by_scope: BTreeMap<&Scope, Vec<&Want>> = BTreeMap::new();
    for want in distinct(wants, &mut plan.problems) {
        let scope = scopes.get(&identity(want)).unwrap_or(default_scope);
        by_scope.entry(scope).or_default().push(want);
    }
    for (scope, wants) in by_scope {
        let index = roots::Index::new(repo, scope, &mut plan.notices);
        let mut overlays = overlay::Overlays::default();
        for want in wants {
            locate::resolve_one(&index, want, &mut plan, &mut overlays);
        }
        overlays.finish(&index, &mut plan);
    }
    // The same notice (a file that does not parse) comes once per scope that indexed it.
    let mut seen = std::collections::BTreeSet::new();
    plan.notices.retain(|n| seen.insert(format!("{n:?}")));
    settle::settle_shared_places(&mut plan);
    plan.problems = super::merge_problems(std::mem::take(&mut plan.problems));
    plan
}

/// One want per live identity. Two policies recommending the same workload either agree (the
/// first is kept) or conflict; a conflict is reported for every policy involved and nothing is
/// written for that workload, since which policy should win is the user's call.
fn distinct<'w>(wants: &'w [Want], problems: &mut Vec<Problem>) -> Vec<&'w Want> {
    let mut by_identity: BTreeMap<String, Vec<&Want>> = BTreeMap::new();
    for want in wants {
        by_identity.entry(identity(want)).or_default().push(want);
    }
    let mut out = Vec::new();
    for want in wants {
        let group = &by_identity[&identity(want)];
        if !std::ptr::eq(group[0], want) {
            continue;
        }
        if group.iter().all(|w| w.containers == want.containers) {
            out.push(want);
            continue;
        }
        let names: Vec<&str> = group.iter().map(|w| w.policy.as_str()).collect();
        problems.push(Problem::of(
            want,
            None,
            &[],
            format!(
                "policies {} recommend different values for this workload; make only one \
                 of them target it",
                names.join(", ")
            ),
        ));
    }
    out
}

fn identity(want: &Want) -> String {
    format!("{}/{}/{}", want.namespace, want.kind, want.workload)
}
