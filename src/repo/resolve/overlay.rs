//! A value whose manifest (or patch) other roots share is written in our root instead: into a
//! strategic-merge patch of that root that already lists the container, or into a new
//! `attune-<kind>-<name>.yaml` that the root's `patches:` lists.
//!
//! Never into a Component: components are reusable by design, so a new patch goes to the root
//! that renders the identity. A new patch names every container that precedes the edited one
//! (see [`crate::repo::order`]), so Kustomize renders the containers in the order they had.

use std::collections::BTreeMap;

use super::container::{Ctx, Edit, patch_op};
use super::roots::Entry;
use super::{Change, FilePlan, NewFile, Op, Plan, Site};
use crate::repo::field::Field;
use crate::repo::order::Order;
use crate::repo::patch::{CONTAINER_LISTS, field_path, find_container, key};
use crate::yamledit::Seg;

/// One value to write in an overlay.
pub(super) struct Value<'v> {
    pub container: &'v str,
    pub list: &'static str,
    pub field: Field,
    pub value: &'v str,
    pub current: Option<String>,
}

/// The new patch files of one scope, collected over all wants so one file holds every
/// container of its object.
#[derive(Default)]
pub(super) struct Overlays {
    files: BTreeMap<String, OverlayPatch>,
}

struct OverlayPatch {
    kustomization: String,
    /// The manifest it patches, whose style it copies.
    style_of: String,
    api_version: String,
    kind: String,
    name: String,
    /// The container order the patch meets, which it must leave as it is.
    order: Order,
    containers: Vec<Patched>,
}

/// A container of a new patch and the fields written there, each with its change.
struct Patched {
    list: &'static str,
    name: String,
    fields: Vec<(Field, String, usize)>,
}

pub(super) fn overlay_change(ctx: &mut Ctx<'_, '_>, entry: &Entry, v: Value<'_>) {
    let index = ctx.index;
    let obj = &entry.obj;
    let Some((level, dir)) = obj
        .chain
        .iter()
        .enumerate()
        .find(|(_, d)| !index.is_component(d) && entry.exclusive(index.dir_usage.get(*d)))
    else {
        let reason = shared(ctx, entry);
        ctx.problem(Some(v.container), &[v.field], reason);
        return;
    };
    // Extend a strategic-merge patch of that root that already lists the container.
    for applied in obj
        .patches
        .iter()
        .filter(|p| &p.doc.root == dir && !p.doc.json6902)
    {
        if !entry.exclusive(index.file_usage.get(&applied.doc.file)) {
            continue;
        }
        let Some(root) = index.renderer.patch_root(&applied.doc) else {
            continue;
        };
        if let Some(c) = find_container(&root, v.container) {
            let op = patch_op(&applied.doc, field_path(&c.path, v.field), v.value);
            ctx.push(Edit {
                container: v.container,
                field: v.field,
                value: v.value,
                current: v.current,
                file: &applied.doc.file,
                site: Site::OverlayPatch,
                op,
            });
            return;
        }
    }
    new_patch(ctx, entry, level, dir, v);
}

/// Why no place renders only this identity, and what to do about it.
fn shared(ctx: &Ctx<'_, '_>, entry: &Entry) -> String {
    let index = ctx.index;
    let file = &entry.obj.source.file;
    let users: Vec<String> = index
        .file_usage
        .get(file)
        .map(|u| u.iter().cloned().collect())
        .unwrap_or_default();
    let users = if users.is_empty() {
        "several roots".to_owned()
    } else {
        users.join(", ")
    };
    let id = super::identity(ctx.want);
    match (&index.scope.reach, &entry.root) {
        (crate::repo::Reach::Source { .. }, Some(root)) => format!(
            "ambiguous: {file} is rendered by {users}, and every place that sets {id} is \
             shared with roots that build on {root}: an edit would change them too; give them \
             their own overlay (or mark the value with $attune if they should change too)"
        ),
        _ => format!(
            "ambiguous: {file} is rendered by {users} and no kustomization renders only {id}; \
             pass the directory your application deploys as --path"
        ),
    }
}

fn new_patch(ctx: &mut Ctx<'_, '_>, entry: &Entry, level: usize, dir: &str, v: Value<'_>) {
    let index = ctx.index;
    let obj = &entry.obj;
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
        let reason = format!(
            "{file} exists but is not a patch of {dir} that lists container \"{}\"; not \
             overwritten (list it in {dir}'s patches, or move it away)",
            v.container
        );
        ctx.problem(Some(v.container), &[v.field], reason);
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
    let order = obj
        .orders
        .get(level)
        .cloned()
        .unwrap_or_else(|| obj.order.clone());
    let id = record(ctx, &file, &v);
    let patch = ctx
        .overlays
        .files
        .entry(file)
        .or_insert_with(|| OverlayPatch {
            kustomization,
            style_of: obj.source.file.clone(),
            api_version: obj.source.api_version.clone(),
            kind: obj.source.kind.clone(),
            name: name_in,
            order,
            containers: Vec::new(),
        });
    let field = (v.field, v.value.to_owned(), id);
    match patch
        .containers
        .iter_mut()
        .find(|c| c.list == v.list && c.name == v.container)
    {
        Some(c) => c.fields.push(field),
        None => patch.containers.push(Patched {
            list: v.list,
            name: v.container.to_owned(),
            fields: vec![field],
        }),
    }
}

/// Records the change a new patch will carry; its operations are made once the whole file is
/// known ([`OverlayPatch::ops`]).
fn record(ctx: &mut Ctx<'_, '_>, file: &str, v: &Value<'_>) -> usize {
    let want = ctx.want;
    ctx.plan.changes.push(Change {
        policy: want.policy.clone(),
        namespace: want.namespace.clone(),
        kind: want.kind.clone(),
        workload: want.workload.clone(),
        container: v.container.to_owned(),
        field: v.field,
        file: file.to_owned(),
        from: v.current.clone(),
        to: v.value.to_owned(),
        site: Site::OverlayPatch,
        key: None,
    });
    ctx.plan.changes.len() - 1
}

impl Overlays {
    /// Turns the collected patches into new files, each listed in its root's `patches:`.
    pub fn finish(self, index: &super::roots::Index, plan: &mut Plan) {
        let mut appended: BTreeMap<String, usize> = BTreeMap::new();
        for (file, patch) in self.files {
            let ops = patch.ops();
            plan.files.insert(
                file.clone(),
                FilePlan {
                    create: Some(NewFile {
                        style_of: patch.style_of.clone(),
                    }),
                    ops,
                    lists: Vec::new(),
                },
            );
            let Some(k) = index.repo.files.get(&patch.kustomization) else {
                continue;
            };
            let existing = k
                .stream
                .docs
                .first()
                .and_then(|d| d.root.get("patches"))
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
                .lists
                .push((file, op));
        }
    }
}

fn set(path: Vec<Seg>, value: &str) -> Op {
    Op::scalar(0, path, value)
}

impl OverlayPatch {
    /// The patch's text as edit operations: the object's kind and name, then per list every
    /// container up to the last edited one, in the order the patch meets them — the ones not
    /// edited by name only — so the rendered order stays as it was.
    fn ops(&self) -> Vec<(Option<usize>, Op)> {
        let mut ops = vec![
            (None, set(vec![key("apiVersion")], &self.api_version)),
            (None, set(vec![key("kind")], &self.kind)),
            (None, set(vec![key("metadata"), key("name")], &self.name)),
        ];
        for list in CONTAINER_LISTS {
            let edited: Vec<&Patched> = self.containers.iter().filter(|c| c.list == list).collect();
            if edited.is_empty() {
                continue;
            }
            let last = edited
                .iter()
                .filter_map(|c| Some((self.order.position(list, &c.name)?, &c.name)))
                .max();
            let mut names = last.map_or_else(Vec::new, |(_, n)| self.order.through(list, n));
            for c in &edited {
                if !names.contains(&c.name) {
                    names.push(c.name.clone());
                }
            }
            for (i, name) in names.iter().enumerate() {
                let item = vec![
                    key("spec"),
                    key("template"),
                    key("spec"),
                    key(list),
                    Seg::Index(i),
                ];
                let mut name_path = item.clone();
                name_path.push(key("name"));
                ops.push((None, set(name_path, name)));
                let Some(c) = edited.iter().find(|c| &c.name == name) else {
                    continue;
                };
                let mut fields = c.fields.clone();
                fields.sort_by_key(|(f, _, _)| (f.is_limit(), *f));
                for (field, value, id) in fields {
                    ops.push((Some(id), set(field_path(&item, field), &value)));
                }
            }
        }
        ops
    }
}
