//! For one container of a located render: the place that decides each value — the last patch
//! that sets it, the defining manifest, or (when those are shared) a patch in our root.

use super::ValueAt;
use super::overlay::{self, Overlays};
use super::roots::{Entry, Index};
use super::{Change, Op, Plan, Problem, Site, Want, identity};
use crate::quantity;
use crate::repo::field::Field;
use crate::repo::index::Marker;
use crate::repo::kustomize::{Applied, PatchDoc, Rendered};
use crate::repo::patch::{ContainerAt, field_path, find_container, json6902_sets, node_at};
use crate::yamledit::{Node, Seg};

/// What every step of resolving one want works with.
pub(super) struct Ctx<'c, 'a> {
    pub index: &'c Index<'a>,
    pub want: &'c Want,
    pub plan: &'c mut Plan,
    pub overlays: &'c mut Overlays,
}

/// A value to write: for which container and field, where, and how.
pub(super) struct Edit<'e> {
    pub container: &'e str,
    pub field: Field,
    pub value: &'e str,
    pub current: Option<String>,
    pub file: &'e str,
    pub site: Site,
    pub op: Op,
}

impl Ctx<'_, '_> {
    pub fn problem(&mut self, container: Option<&str>, fields: &[Field], reason: String) {
        self.plan
            .problems
            .push(Problem::of(self.want, container, fields, reason));
    }

    /// Records a change unless the current value already means the same quantity; returns
    /// the change's id when one was recorded.
    pub fn push(&mut self, edit: Edit<'_>) -> Option<usize> {
        let want = self.want;
        let change = Change {
            policy: want.policy.clone(),
            namespace: want.namespace.clone(),
            kind: want.kind.clone(),
            workload: want.workload.clone(),
            container: edit.container.to_owned(),
            field: edit.field,
            file: edit.file.to_owned(),
            from: edit.current,
            to: edit.value.to_owned(),
            site: edit.site,
            key: None,
        };
        if let Some(cur) = &change.from
            && quantity::semantically_equal(cur, edit.value).unwrap_or(false)
        {
            let at = edit.op.at;
            self.plan.settled.push((edit.file.to_owned(), at, change));
            return None;
        }
        self.plan.changes.push(change);
        let id = self.plan.changes.len() - 1;
        self.plan
            .files
            .entry(edit.file.to_owned())
            .or_default()
            .ops
            .push((Some(id), edit.op));
        Some(id)
    }
}

pub(super) fn marker_change(
    ctx: &mut Ctx<'_, '_>,
    container: &str,
    field: Field,
    value: &str,
    m: &Marker,
) {
    let Some(path) = &m.path else {
        let reason = format!(
            "the marker at {}:{} is not on a line with a value; put it after the value",
            m.file, m.line
        );
        ctx.problem(Some(container), &[field], reason);
        return;
    };
    let current = ctx
        .index
        .repo
        .files
        .get(&m.file)
        .and_then(|f| f.stream.docs.get(m.doc))
        .and_then(|d| node_at(&d.root, path))
        .and_then(Node::as_str)
        .map(str::to_owned);
    ctx.push(Edit {
        container,
        field,
        value,
        current,
        file: &m.file,
        site: Site::Marker,
        op: Op::scalar(m.doc, path.clone(), value),
    });
}

pub(super) fn resolve_container(
    ctx: &mut Ctx<'_, '_>,
    entry: &Entry,
    container: &str,
    fields: &[(Field, &str)],
) {
    let obj = &entry.obj;
    let Some(source_file) = ctx.index.repo.files.get(&obj.source.file) else {
        return;
    };
    let Some(source_root) = obj.source.node(source_file) else {
        return;
    };
    let Some(at) = find_container(source_root, container) else {
        let reason = missing_container(ctx.want, obj, container);
        ctx.problem(Some(container), &[], reason);
        return;
    };
    for &(field, value) in fields {
        let writer = last_writer(ctx.index, obj, &at, container, field);
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
            && entry.exclusive(ctx.index.file_usage.get(&w.patch.file))
        {
            ctx.push(Edit {
                container,
                field,
                value,
                current,
                file: &w.patch.file,
                site: Site::Patch,
                op: patch_op(w.patch, w.path.clone(), value),
            });
            continue;
        }
        if writer.is_none() && entry.exclusive(ctx.index.file_usage.get(&obj.source.file)) {
            let mut path = obj.source.prefix.clone();
            path.extend(in_source);
            let op = Op::scalar(obj.source.doc, path, value);
            ctx.push(Edit {
                container,
                field,
                value,
                current,
                file: &obj.source.file,
                site: Site::Manifest,
                op,
            });
            continue;
        }
        if current
            .as_deref()
            .is_some_and(|c| quantity::semantically_equal(c, value).unwrap_or(false))
        {
            continue;
        }
        let value = overlay::Value {
            container,
            list: at.list,
            field,
            value,
            current,
        };
        overlay::overlay_change(ctx, entry, value);
    }
}

/// "container not found", with the containers that do exist.
fn missing_container(want: &Want, obj: &Rendered, container: &str) -> String {
    let order = &obj.order;
    if order
        .containers
        .iter()
        .chain(&order.init)
        .any(|n| n == container)
    {
        return format!(
            "container \"{container}\" of {} is added by a patch, not defined in {}; only \
             containers a manifest defines are edited",
            identity(want),
            obj.source.file
        );
    }
    let mut has = if order.containers.is_empty() {
        "no containers".to_owned()
    } else {
        format!("containers {}", order.containers.join(", "))
    };
    if !order.init.is_empty() {
        has.push_str(&format!(" and init containers {}", order.init.join(", ")));
    }
    format!(
        "container \"{container}\" not found in {} ({}); it has {has}",
        identity(want),
        obj.source.file
    )
}

/// Where the last patch that writes `field` of the container keeps that value.
pub(super) struct Writer<'a> {
    pub patch: &'a PatchDoc,
    pub path: Vec<Seg>,
    pub value: String,
}

fn last_writer<'a>(
    index: &Index,
    obj: &'a Rendered,
    at: &ContainerAt,
    container: &str,
    field: Field,
) -> Option<Writer<'a>> {
    obj.patches.iter().rev().find_map(|applied| {
        let Applied { doc: patch, before } = applied;
        let root = index.renderer.patch_root(patch)?;
        if patch.json6902 {
            // A JSON 6902 path counts containers in the order the patch meets them.
            let position = before.position(at.list, container)?;
            let (path, value) = json6902_sets(&root, at.list, position, field)?;
            return Some(Writer { patch, path, value });
        }
        let c = find_container(&root, container)?;
        let path = field_path(&c.path, field);
        let value = node_at(&root, &path)?.as_str()?.to_owned();
        Some(Writer { patch, path, value })
    })
}

/// The value at `path` of a patch: in the patch file, or inside its inline text (which the
/// kustomization holds at `patch.inline`).
pub(super) fn patch_op(patch: &PatchDoc, path: Vec<Seg>, value: &str) -> Op {
    let at = match &patch.inline {
        None => ValueAt {
            doc: patch.doc,
            path,
            inline: None,
        },
        Some(string_at) => ValueAt {
            doc: 0,
            path: string_at.clone(),
            inline: Some(path),
        },
    };
    Op {
        at,
        value: value.to_owned(),
    }
}
