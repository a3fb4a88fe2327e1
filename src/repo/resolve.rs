//! From a live identity and the values wanted for its containers to edit operations per file.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::field::Field;
use super::index::{Marker, markers, objects};
use super::kustomize::{PatchDoc, Rendered, Renderer};
use super::patch::{ContainerAt, field_path, find_container, json6902_sets, key, node_at};
use super::{Notice, Problem, Repo};
use crate::quantity;
use crate::yamledit::style::Style;
use crate::yamledit::{EmbeddedSet, Node, Seg, Set};

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
}

/// One edit operation in a file, owned by a change or (`None`) supporting several.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Set(Set),
    Embedded(EmbeddedSet),
}

#[derive(Debug, Clone, Default)]
pub struct FilePlan {
    /// For a file that does not exist yet: the style to write it in.
    pub create: Option<Style>,
    pub ops: Vec<(Option<usize>, Op)>,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub files: BTreeMap<String, FilePlan>,
    pub changes: Vec<Change>,
    pub problems: Vec<Problem>,
    pub notices: Vec<Notice>,
    /// Values found already right, by file and spot: another identity that shares the spot and
    /// wants something else is a conflict even though this one needs no edit.
    settled: Vec<(String, Spot, Change)>,
}

struct Index<'a> {
    repo: &'a Repo,
    renderer: Renderer<'a>,
    /// Candidate renders under the scope: the entry root (None for plain files) and object.
    entries: Vec<(Option<String>, Rendered)>,
    /// For each file and kustomization directory, the top-level roots that use it.
    file_usage: BTreeMap<String, BTreeSet<String>>,
    dir_usage: BTreeMap<String, BTreeSet<String>>,
    leaves: BTreeSet<String>,
    markers: BTreeMap<String, Vec<Marker>>,
}

fn in_scope(scope: &str, path: &str) -> bool {
    scope.is_empty() || path == scope || path.starts_with(&format!("{scope}/"))
}

impl<'a> Index<'a> {
    fn new(repo: &'a Repo, scope: &str, notices: &mut Vec<Notice>) -> Index<'a> {
        let renderer = Renderer::new(&repo.files, notices);
        let leaves: BTreeSet<String> = renderer
            .kustomizations
            .keys()
            .filter(|d| !renderer.referenced.contains(*d))
            .cloned()
            .collect();
        let mut file_usage: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut dir_usage: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for leaf in &leaves {
            for obj in renderer.rendered.get(leaf).into_iter().flatten() {
                file_usage
                    .entry(obj.source.file.clone())
                    .or_default()
                    .insert(leaf.clone());
                for p in &obj.patches {
                    file_usage
                        .entry(p.file.clone())
                        .or_default()
                        .insert(leaf.clone());
                }
                for d in &obj.chain {
                    dir_usage.entry(d.clone()).or_default().insert(leaf.clone());
                }
            }
        }
        // Entry roots: kustomizations in scope that no other kustomization in scope refers to.
        let referenced_in_scope: BTreeSet<String> = renderer
            .kustomizations
            .values()
            .filter(|k| in_scope(scope, &k.dir))
            .flat_map(|k| {
                k.resources
                    .iter()
                    .chain(&k.components)
                    .filter_map(|r| super::walk::join(&k.dir, r))
            })
            .collect();
        let mut entries = Vec::new();
        for (dir, objs) in &renderer.rendered {
            if in_scope(scope, dir) && !referenced_in_scope.contains(dir) {
                entries.extend(objs.iter().map(|o| (Some(dir.clone()), o.clone())));
            }
        }
        let mut markers_by_key: BTreeMap<String, Vec<Marker>> = BTreeMap::new();
        for file in repo.files.values() {
            if !in_scope(scope, &file.rel) {
                continue;
            }
            for m in markers(file, notices) {
                markers_by_key.entry(m.key.clone()).or_default().push(m);
            }
            if file.is_kustomization || renderer.referenced.contains(&file.rel) {
                continue;
            }
            for o in objects(file) {
                file_usage
                    .entry(o.file.clone())
                    .or_default()
                    .insert(o.file.clone());
                let name = o.name.clone();
                let namespace = o.namespace.clone();
                let r = Rendered {
                    source: o,
                    name,
                    namespace,
                    patches: Vec::new(),
                    chain: Vec::new(),
                    names_in: Vec::new(),
                };
                entries.push((None, r));
            }
        }
        Index {
            repo,
            renderer,
            entries,
            file_usage,
            dir_usage,
            leaves,
            markers: markers_by_key,
        }
    }

    /// The top-level roots a render through `entry` belongs to.
    fn ours(&self, entry: Option<&String>, obj: &Rendered) -> BTreeSet<String> {
        match entry {
            None => BTreeSet::from([obj.source.file.clone()]),
            Some(e) if self.leaves.contains(e) => BTreeSet::from([e.clone()]),
            Some(e) => self.dir_usage.get(e).cloned().unwrap_or_default(),
        }
    }

    fn exclusive(usage: Option<&BTreeSet<String>>, ours: &BTreeSet<String>) -> bool {
        ours.len() == 1 && usage.is_none_or(|u| u.is_subset(ours))
    }
}

/// Resolves every want against `repo`, searching entry points under `scope` (`""` for all).
pub fn resolve(repo: &Repo, scope: &str, wants: &[Want]) -> Plan {
    resolve_scoped(repo, scope, &BTreeMap::new(), wants)
}

/// Like [`resolve`], but a want whose identity (`namespace/Kind/name`) is in `scopes` is
/// searched under its own path: one pull request can carry workloads that two GitOps owners
/// deploy from two directories, each still edited where its own owner renders it. Edits from
/// several scopes into one file land in one file plan, and conflicts are found across scopes.
pub fn resolve_scoped(
    repo: &Repo,
    default_scope: &str,
    scopes: &BTreeMap<String, String>,
    wants: &[Want],
) -> Plan {
    let mut plan = Plan::default();
    let mut by_scope: BTreeMap<&str, Vec<&Want>> = BTreeMap::new();
    for want in distinct(wants, &mut plan.problems) {
        let scope = scopes
            .get(&identity(want))
            .map_or(default_scope, String::as_str);
        by_scope.entry(scope).or_default().push(want);
    }
    for (scope, wants) in by_scope {
        let index = Index::new(repo, scope, &mut plan.notices);
        let mut overlay_files: BTreeMap<String, OverlayPatch> = BTreeMap::new();
        for want in wants {
            resolve_one(&index, want, &mut plan, &mut overlay_files);
        }
        finish_overlays(&index, overlay_files, &mut plan);
    }
    // The same notice (a file that does not parse) comes once per scope that indexed it.
    let mut seen = std::collections::BTreeSet::new();
    plan.notices.retain(|n| seen.insert(format!("{n:?}")));
    settle_shared_spots(&mut plan);
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
        problems.push(problem(
            want,
            None,
            format!(
                "policies {} recommend different values for this workload; make only one \
                 of them target it",
                names.join(", ")
            ),
        ));
    }
    out
}

fn problem(want: &Want, container: Option<&str>, reason: String) -> Problem {
    Problem {
        namespace: want.namespace.clone(),
        kind: want.kind.clone(),
        workload: want.workload.clone(),
        container: container.map(str::to_owned),
        reason,
    }
}

fn identity(want: &Want) -> String {
    format!("{}/{}/{}", want.namespace, want.kind, want.workload)
}

fn resolve_one(
    index: &Index,
    want: &Want,
    plan: &mut Plan,
    overlays: &mut BTreeMap<String, OverlayPatch>,
) {
    let candidates: Vec<&(Option<String>, Rendered)> = index
        .entries
        .iter()
        .filter(|(_, r)| r.source.kind == want.kind && r.name == want.workload)
        .collect();
    let exact: Vec<_> = candidates
        .iter()
        .copied()
        .filter(|(_, r)| r.namespace.as_deref() == Some(&want.namespace))
        .collect();
    let found: Vec<_> = if exact.is_empty() {
        candidates
            .into_iter()
            .filter(|(_, r)| r.namespace.is_none())
            .collect()
    } else {
        exact
    };
    let render = match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(format!("no manifest renders {}", identity(want))),
        many => Err(format!(
            "ambiguous: {} is rendered by {} (use --path to choose one)",
            identity(want),
            many.iter()
                .map(|(e, r)| e.clone().unwrap_or_else(|| r.source.file.clone()))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    for container in &want.containers {
        let mut unmarked = Vec::new();
        for (field, value) in &container.fields {
            let marker_key = format!(
                "{}/{}:{}:{}",
                want.namespace,
                want.workload,
                container.name,
                field.name()
            );
            match index.markers.get(&marker_key).map(Vec::as_slice) {
                Some([m]) => marker_change(index, want, &container.name, *field, value, m, plan),
                Some(many) if many.len() > 1 => plan.problems.push(problem(
                    want,
                    Some(&container.name),
                    format!(
                        "ambiguous: {} markers for {marker_key} ({})",
                        many.len(),
                        many.iter()
                            .map(|m| format!("{}:{}", m.file, m.line))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
                _ => unmarked.push((*field, value.as_str())),
            }
        }
        if unmarked.is_empty() {
            continue;
        }
        match &render {
            Ok((entry, obj)) => {
                resolve_container(
                    index,
                    want,
                    entry.as_ref(),
                    obj,
                    &container.name,
                    &unmarked,
                    plan,
                    overlays,
                );
            }
            Err(reason) => {
                if !plan.problems.iter().any(|p| {
                    p.reason == *reason && p.container.is_none() && p.workload == want.workload
                }) {
                    plan.problems.push(problem(want, None, reason.clone()));
                }
            }
        }
    }
}

fn marker_change(
    index: &Index,
    want: &Want,
    container: &str,
    field: Field,
    value: &str,
    m: &Marker,
    plan: &mut Plan,
) {
    let Some(path) = &m.path else {
        plan.problems.push(problem(
            want,
            Some(container),
            format!(
                "marker at {}:{} is not on a line with a value",
                m.file, m.line
            ),
        ));
        return;
    };
    let current = index
        .repo
        .files
        .get(&m.file)
        .and_then(|f| f.stream.docs.get(m.doc))
        .and_then(|d| node_at(&d.root, path))
        .and_then(Node::as_str)
        .map(str::to_owned);
    push_change(
        plan,
        want,
        container,
        field,
        value,
        current,
        &m.file,
        Site::Marker,
        Op::Set(Set {
            doc: m.doc,
            path: path.clone(),
            value: value.to_owned(),
        }),
    );
}

/// Records a change unless the current value already means the same quantity.
#[allow(clippy::too_many_arguments)]
fn push_change(
    plan: &mut Plan,
    want: &Want,
    container: &str,
    field: Field,
    value: &str,
    current: Option<String>,
    file: &str,
    site: Site,
    op: Op,
) {
    let change = Change {
        policy: want.policy.clone(),
        namespace: want.namespace.clone(),
        kind: want.kind.clone(),
        workload: want.workload.clone(),
        container: container.to_owned(),
        field,
        file: file.to_owned(),
        from: current,
        to: value.to_owned(),
        site,
    };
    if let Some(cur) = &change.from
        && quantity::semantically_equal(cur, value).unwrap_or(false)
    {
        plan.settled.push((file.to_owned(), spot(&op), change));
        return;
    }
    plan.changes.push(change);
    let id = plan.changes.len() - 1;
    plan.files
        .entry(file.to_owned())
        .or_default()
        .ops
        .push((Some(id), op));
}

/// The value an op writes: document and path, and inside an inline patch, the path there.
type Spot = (usize, Vec<Seg>, Option<(usize, Vec<Seg>)>);

/// One spot of a file: the changes that write it and the identities already content with it.
type SpotGroup<'a> = (Spot, Vec<usize>, Vec<&'a Change>);

fn spot(op: &Op) -> Spot {
    match op {
        Op::Set(set) => (set.doc, set.path.clone(), None),
        Op::Embedded(e) => (
            e.doc,
            e.path.clone(),
            e.sets.first().map(|s| (s.doc, s.path.clone())),
        ),
    }
}

/// A manifest without a namespace can be deployed into several, so two identities can meet at
/// one value. When they agree, the value is written once; when they disagree, none of them is
/// written and each is reported — which namespace should win is not ours to guess, and letting
/// the last one win would make the result depend on the order of the policies.
fn settle_shared_spots(plan: &mut Plan) {
    let mut withdrawn = BTreeSet::new();
    let mut problems = Vec::new();
    // Per file and spot: the changes that write it, and the identities already content with it.
    let mut groups: BTreeMap<&str, Vec<SpotGroup>> = BTreeMap::new();
    for (file, file_plan) in &plan.files {
        for (id, op) in &file_plan.ops {
            let Some(id) = *id else { continue };
            let at = spot(op);
            let list = groups.entry(file.as_str()).or_default();
            match list.iter_mut().find(|(s, _, _)| *s == at) {
                Some((_, ids, _)) => ids.push(id),
                None => list.push((at, vec![id], Vec::new())),
            }
        }
    }
    for (file, at, change) in &plan.settled {
        if let Some(list) = groups.get_mut(file.as_str())
            && let Some((_, _, content)) = list.iter_mut().find(|(s, _, _)| s == at)
        {
            content.push(change);
        }
    }
    for (file, list) in groups {
        for (_, ids, content) in list {
            let involved: Vec<&Change> = ids
                .iter()
                .map(|&i| &plan.changes[i])
                .chain(content.iter().copied())
                .collect();
            if involved.len() < 2 {
                continue;
            }
            let first = involved[0];
            let agree = involved.iter().all(|c| {
                c.to == first.to || quantity::semantically_equal(&c.to, &first.to).unwrap_or(false)
            });
            if agree {
                withdrawn.extend(ids[1..].iter().copied());
                continue;
            }
            for (i, c) in involved.iter().enumerate() {
                let others: Vec<String> = involved
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(_, o)| {
                        format!("{}/{}/{} (wants {})", o.namespace, o.kind, o.workload, o.to)
                    })
                    .collect();
                problems.push(Problem {
                    namespace: c.namespace.clone(),
                    kind: c.kind.clone(),
                    workload: c.workload.clone(),
                    container: Some(c.container.clone()),
                    reason: format!(
                        "{} in {file} also decides {}; give each namespace its own overlay or \
                         marker",
                        c.field,
                        others.join(", ")
                    ),
                });
            }
            withdrawn.extend(ids);
        }
    }
    if withdrawn.is_empty() {
        return;
    }
    let mut renumber = Vec::with_capacity(plan.changes.len());
    let mut kept = Vec::new();
    for (i, change) in std::mem::take(&mut plan.changes).into_iter().enumerate() {
        if withdrawn.contains(&i) {
            renumber.push(None);
        } else {
            renumber.push(Some(kept.len()));
            kept.push(change);
        }
    }
    plan.changes = kept;
    for file_plan in plan.files.values_mut() {
        file_plan.ops.retain_mut(|(id, _)| match id {
            None => true,
            Some(i) => match renumber[*i] {
                Some(n) => {
                    *id = Some(n);
                    true
                }
                None => false,
            },
        });
    }
    // Supporting ops stay: they belong to overlay patches, which are per namespace and so
    // never shared between identities.
    plan.problems.extend(problems);
}

/// Where the last patch that writes `field` of the container keeps that value.
struct Writer<'a> {
    patch: &'a PatchDoc,
    path: Vec<Seg>,
    value: String,
}

fn last_writer<'a>(
    index: &Index,
    obj: &'a Rendered,
    at: &ContainerAt,
    container: &str,
    field: Field,
) -> Option<Writer<'a>> {
    obj.patches.iter().rev().find_map(|patch| {
        let root = index.renderer.patch_root(patch)?;
        if patch.json6902 {
            let (path, value) = json6902_sets(&root, at, field)?;
            return Some(Writer { patch, path, value });
        }
        let c = find_container(&root, container)?;
        let path = field_path(&c.path, field);
        let value = node_at(&root, &path)?.as_str()?.to_owned();
        Some(Writer { patch, path, value })
    })
}

fn patch_op(patch: &PatchDoc, path: Vec<Seg>, value: &str) -> Op {
    let set = Set {
        doc: if patch.inline.is_some() { 0 } else { patch.doc },
        path,
        value: value.to_owned(),
    };
    match &patch.inline {
        None => Op::Set(set),
        Some(inline) => Op::Embedded(EmbeddedSet {
            doc: 0,
            path: inline.clone(),
            sets: vec![set],
        }),
    }
}

#[allow(clippy::too_many_arguments)]
fn resolve_container(
    index: &Index,
    want: &Want,
    entry: Option<&String>,
    obj: &Rendered,
    container: &str,
    fields: &[(Field, &str)],
    plan: &mut Plan,
    overlays: &mut BTreeMap<String, OverlayPatch>,
) {
    let Some(source_file) = index.repo.files.get(&obj.source.file) else {
        return;
    };
    let Some(source_root) = obj.source.node(source_file) else {
        return;
    };
    let Some(at) = find_container(source_root, container) else {
        plan.problems.push(problem(
            want,
            Some(container),
            format!(
                "container \"{container}\" not found in {} ({})",
                identity(want),
                obj.source.file
            ),
        ));
        return;
    };
    let ours = index.ours(entry, obj);
    for &(field, value) in fields {
        let writer = last_writer(index, obj, &at, container, field);
        let in_source = field_path(&at.path, field);
        let current = match &writer {
            Some(w) => Some(w.value.clone()),
            None => node_at(source_root, &in_source)
                .and_then(Node::as_str)
                .map(str::to_owned),
        };
        if field.is_limit() && current.is_none() {
            continue;
        }
        if let Some(w) = &writer
            && Index::exclusive(index.file_usage.get(&w.patch.file), &ours)
        {
            push_change(
                plan,
                want,
                container,
                field,
                value,
                current,
                &w.patch.file,
                Site::Patch,
                patch_op(w.patch, w.path.clone(), value),
            );
            continue;
        }
        if writer.is_none() && Index::exclusive(index.file_usage.get(&obj.source.file), &ours) {
            let mut path = obj.source.prefix.clone();
            path.extend(in_source);
            let op = Op::Set(Set {
                doc: obj.source.doc,
                path,
                value: value.to_owned(),
            });
            push_change(
                plan,
                want,
                container,
                field,
                value,
                current,
                &obj.source.file,
                Site::Manifest,
                op,
            );
            continue;
        }
        if current
            .as_deref()
            .is_some_and(|c| quantity::semantically_equal(c, value).unwrap_or(false))
        {
            continue;
        }
        overlay_change(
            index, want, obj, &ours, &at, container, field, value, current, plan, overlays,
        );
    }
}

/// A container of a new overlay patch: its list and index in the base, its name, and the
/// fields written with the change each belongs to.
type PatchedContainer = (&'static str, usize, String, Vec<(Field, String, usize)>);

/// A strategic-merge patch file Attune creates in an overlay, collected over all wants so one
/// file holds every container of its object.
struct OverlayPatch {
    kustomization: String,
    style: Style,
    api_version: String,
    kind: String,
    name: String,
    containers: Vec<PatchedContainer>,
}

#[allow(clippy::too_many_arguments)]
fn overlay_change(
    index: &Index,
    want: &Want,
    obj: &Rendered,
    ours: &BTreeSet<String>,
    at: &ContainerAt,
    container: &str,
    field: Field,
    value: &str,
    current: Option<String>,
    plan: &mut Plan,
    overlays: &mut BTreeMap<String, OverlayPatch>,
) {
    let Some((level, dir)) = obj
        .chain
        .iter()
        .enumerate()
        .find(|(_, d)| Index::exclusive(index.dir_usage.get(*d), ours))
    else {
        plan.problems.push(problem(
            want,
            Some(container),
            format!(
                "ambiguous: {} is shared with other roots and no kustomization renders only {} (use --path to choose the overlay)",
                obj.source.file,
                identity(want)
            ),
        ));
        return;
    };
    // Extend a strategic-merge patch of that overlay that already lists the container.
    for patch in obj.patches.iter().filter(|p| &p.root == dir && !p.json6902) {
        if !Index::exclusive(index.file_usage.get(&patch.file), ours) {
            continue;
        }
        let Some(root) = index.renderer.patch_root(patch) else {
            continue;
        };
        if let Some(c) = find_container(&root, container) {
            let op = patch_op(patch, field_path(&c.path, field), value);
            push_change(
                plan,
                want,
                container,
                field,
                value,
                current,
                &patch.file,
                Site::OverlayPatch,
                op,
            );
            return;
        }
    }
    let name_in = obj
        .names_in
        .get(level)
        .cloned()
        .unwrap_or_else(|| obj.source.name.clone());
    let file = format!(
        "{}{}attune-{}-{}.yaml",
        dir,
        if dir.is_empty() { "" } else { "/" },
        obj.source.kind.to_lowercase(),
        name_in
    );
    if index.repo.files.contains_key(&file) {
        plan.problems.push(problem(
            want,
            Some(container),
            format!("{file} exists but is not a patch of this overlay for container \"{container}\"; not overwritten"),
        ));
        return;
    }
    let Some(kustomization) = index
        .renderer
        .kustomizations
        .get(dir)
        .map(|k| k.file.clone())
    else {
        return;
    };
    let style = index
        .repo
        .files
        .get(&obj.source.file)
        .map(|f| Style::detect(&f.text, &f.stream, &Style::default()))
        .unwrap_or_default();
    let entry = overlays
        .entry(file.clone())
        .or_insert_with(|| OverlayPatch {
            kustomization,
            style,
            api_version: obj.source.api_version.clone(),
            kind: obj.source.kind.clone(),
            name: name_in,
            containers: Vec::new(),
        });
    push_change(
        plan,
        want,
        container,
        field,
        value,
        current,
        &file,
        Site::OverlayPatch,
        Op::Set(Set {
            doc: 0,
            path: Vec::new(),
            value: String::new(),
        }),
    );
    let id = plan.changes.len() - 1;
    // The placeholder op is replaced once the whole file is known.
    if let Some(fp) = plan.files.get_mut(&file) {
        fp.ops.pop();
    }
    match entry
        .containers
        .iter_mut()
        .find(|(l, _, n, _)| *l == at.list && n == container)
    {
        Some((_, _, _, fields)) => fields.push((field, value.to_owned(), id)),
        None => entry.containers.push((
            at.list,
            at.index,
            container.to_owned(),
            vec![(field, value.to_owned(), id)],
        )),
    }
}

/// Turns the collected overlay patches into new files and `patches:` entries.
fn finish_overlays(index: &Index, overlays: BTreeMap<String, OverlayPatch>, plan: &mut Plan) {
    let mut appended: BTreeMap<String, usize> = BTreeMap::new();
    for (file, patch) in overlays {
        let set = |path: Vec<Seg>, value: &str| {
            Op::Set(Set {
                doc: 0,
                path,
                value: value.to_owned(),
            })
        };
        let mut ops = vec![
            (None, set(vec![key("apiVersion")], &patch.api_version)),
            (None, set(vec![key("kind")], &patch.kind)),
            (None, set(vec![key("metadata"), key("name")], &patch.name)),
        ];
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let mut ordered = patch.containers;
        // The base's order: containers first, then init containers, each by position.
        ordered.sort_by_key(|(list, index, _, _)| (*list != "containers", *index));
        for (list, _, name, mut fields) in ordered {
            let i = counts.entry(list).or_default();
            let item = vec![
                key("spec"),
                key("template"),
                key("spec"),
                key(list),
                Seg::Index(*i),
            ];
            *i += 1;
            let mut name_path = item.clone();
            name_path.push(key("name"));
            ops.push((None, set(name_path, &name)));
            fields.sort_by_key(|(f, _, _)| (f.is_limit(), *f));
            for (field, value, id) in fields {
                ops.push((Some(id), set(field_path(&item, field), &value)));
            }
        }
        plan.files.insert(
            file.clone(),
            FilePlan {
                create: Some(patch.style),
                ops,
            },
        );
        // Reference it from the overlay's kustomization.
        let Some(k) = index.repo.files.get(&patch.kustomization) else {
            continue;
        };
        let root = k.stream.docs.first().map(|d| &d.root);
        let existing = root
            .and_then(|r| r.get("patches"))
            .map_or(0, |p| p.items().len());
        let n = appended
            .entry(patch.kustomization.clone())
            .or_insert(existing);
        let rel = file.rsplit('/').next().unwrap_or(&file).to_owned();
        let op = set(vec![key("patches"), Seg::Index(*n), key("path")], &rel);
        *n += 1;
        plan.files
            .entry(patch.kustomization.clone())
            .or_default()
            .ops
            .push((None, op));
    }
}
