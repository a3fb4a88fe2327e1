//! Our model of the Kustomize subset GitOps repositories use for workloads: `resources`,
//! `components`, `namespace`, `namePrefix`, `nameSuffix`, `patches` (file or inline, with an
//! optional `target`), `patchesStrategicMerge` and `patchesJson6902`. Rendering keeps, for
//! every object, where it came from and which patches touched it, so an edit can go to the
//! place that decides the live value: the container order each patch leaves ([`Order`]) and
//! the `$patch: delete` that removes an object are part of that history.

use std::collections::{BTreeMap, BTreeSet};

use super::Notice;
use super::index::{Object, ParsedFile, objects};
use super::order::Order;
use super::walk::{join, parent};
use crate::yamledit::{Node, Seg};

/// Where a patch document lives: a file's document, or a literal block inside a kustomization.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchDoc {
    pub file: String,
    pub doc: usize,
    /// Path to the block scalar holding the patch text, for inline patches.
    pub inline: Option<Vec<Seg>>,
    /// The kustomization directory that applies it.
    pub root: String,
    pub json6902: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Target {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub label_selector: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PatchEntry {
    pub doc: PatchDoc,
    pub target: Option<Target>,
}

#[derive(Debug, Clone, Default)]
pub struct Kustomization {
    pub dir: String,
    pub file: String,
    pub resources: Vec<String>,
    pub components: Vec<String>,
    pub namespace: Option<String>,
    pub name_prefix: String,
    pub name_suffix: String,
    pub patches: Vec<PatchEntry>,
    /// `kind: Component`: reusable by design, never a root and never where a new patch goes.
    pub is_component: bool,
}

/// A patch that matched an object, with the container order it met.
#[derive(Debug, Clone)]
pub struct Applied {
    pub doc: PatchDoc,
    pub before: Order,
}

/// An object as a kustomization emits it, with its history.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub source: Object,
    pub name: String,
    pub namespace: Option<String>,
    /// Patches that matched it, in the order they were applied.
    pub patches: Vec<Applied>,
    /// Kustomization directories it passed through, innermost first.
    pub chain: Vec<String>,
    /// The name each kustomization in `chain` received it under (before its own prefix/suffix).
    pub names_in: Vec<String>,
    /// The container order after each kustomization in `chain` applied its patches.
    pub orders: Vec<Order>,
    /// The container order now.
    pub order: Order,
    /// The `$patch: delete` that removed it: it is carried on (renamed like the rest) only so
    /// that a search for it can say why no root renders it.
    pub deleted_by: Option<PatchDoc>,
}

impl Rendered {
    pub fn new(source: Object, order: Order) -> Rendered {
        Rendered {
            name: source.name.clone(),
            namespace: source.namespace.clone(),
            source,
            patches: Vec::new(),
            chain: Vec::new(),
            names_in: Vec::new(),
            orders: Vec::new(),
            order,
            deleted_by: None,
        }
    }
}

fn strings(node: Option<&Node>) -> Vec<String> {
    node.map(|n| {
        n.items()
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect()
    })
    .unwrap_or_default()
}

/// Reads a kustomization file; patch files are resolved relative to its directory.
pub fn read(
    file: &ParsedFile,
    files: &BTreeMap<String, ParsedFile>,
    notices: &mut Vec<Notice>,
) -> Option<Kustomization> {
    let root = &file.stream.docs.first()?.root;
    let dir = parent(&file.rel).to_owned();
    let text = |key: &str| root.get(key).and_then(Node::as_str).map(str::to_owned);
    let mut patches = Patches {
        file,
        files,
        dir: &dir,
        notices,
        entries: Vec::new(),
    };
    patches.strategic_merge(root);
    patches.listed(root);
    let patches = patches.entries;
    Some(Kustomization {
        dir: dir.clone(),
        file: file.rel.clone(),
        resources: strings(root.get("resources"))
            .into_iter()
            .chain(strings(root.get("bases")))
            .collect(),
        components: strings(root.get("components")),
        namespace: text("namespace").filter(|s| !s.is_empty()),
        name_prefix: text("namePrefix").unwrap_or_default(),
        name_suffix: text("nameSuffix").unwrap_or_default(),
        patches,
        is_component: text("kind").as_deref() == Some("Component"),
    })
}

/// The patches of one kustomization, in the order Kustomize applies them.
struct Patches<'a> {
    file: &'a ParsedFile,
    files: &'a BTreeMap<String, ParsedFile>,
    dir: &'a str,
    notices: &'a mut Vec<Notice>,
    entries: Vec<PatchEntry>,
}

impl Patches<'_> {
    /// `patchesStrategicMerge`: file names, or inline patches (multi-line or flow text).
    fn strategic_merge(&mut self, root: &Node) {
        let items = root
            .get("patchesStrategicMerge")
            .map(Node::items)
            .unwrap_or_default();
        for (i, item) in items.iter().enumerate() {
            let Some(s) = item.as_str() else { continue };
            if s.contains('\n') || s.trim_start().starts_with('{') {
                let inline = vec![Seg::Key("patchesStrategicMerge".into()), Seg::Index(i)];
                self.inline(inline, None, false);
            } else {
                self.patch_file(s, None, false);
            }
        }
    }

    /// `patches` and `patchesJson6902`: each a `path` or an inline `patch`, with a target.
    fn listed(&mut self, root: &Node) {
        for (key, json) in [("patches", false), ("patchesJson6902", true)] {
            let items = root.get(key).map(Node::items).unwrap_or_default();
            for (i, item) in items.iter().enumerate() {
                let target = item.get("target").map(read_target);
                if let Some(path) = item.get("path").and_then(Node::as_str) {
                    self.patch_file(path, target, json);
                } else if item.get("patch").is_some() {
                    let inline = vec![
                        Seg::Key(key.into()),
                        Seg::Index(i),
                        Seg::Key("patch".into()),
                    ];
                    self.inline(inline, target, json);
                }
            }
        }
    }

    /// Every document of the patch file `reference` names; a reference that leaves the
    /// repository or names no file is a notice.
    fn patch_file(&mut self, reference: &str, target: Option<Target>, json_hint: bool) {
        let rel = &self.file.rel;
        let Some(path) = join(self.dir, reference) else {
            let why = format!("patch {reference} leaves the repository; ignored");
            self.notices.push(Notice::new(rel.clone(), why));
            return;
        };
        let Some(patch_file) = self.files.get(&path) else {
            let why = format!("patch {reference} not found; ignored");
            self.notices.push(Notice::new(rel.clone(), why));
            return;
        };
        for (doc, d) in patch_file.stream.docs.iter().enumerate() {
            let json6902 = json_hint || matches!(d.root.kind, crate::yamledit::Kind::Seq { .. });
            let doc = PatchDoc {
                file: path.clone(),
                doc,
                inline: None,
                root: self.dir.to_owned(),
                json6902,
            };
            self.entries.push(PatchEntry {
                doc,
                target: target.clone(),
            });
        }
    }

    /// A patch written inline, as the string at `inline` of the kustomization.
    fn inline(&mut self, inline: Vec<Seg>, target: Option<Target>, json_hint: bool) {
        let json6902 = json_hint
            || inline_text(self.file, &inline).is_some_and(|t| t.trim_start().starts_with('-'));
        let doc = PatchDoc {
            file: self.file.rel.clone(),
            doc: 0,
            inline: Some(inline),
            root: self.dir.to_owned(),
            json6902,
        };
        self.entries.push(PatchEntry { doc, target });
    }
}

pub fn inline_text<'a>(file: &'a ParsedFile, path: &[Seg]) -> Option<&'a str> {
    let mut node = &file.stream.docs.first()?.root;
    for seg in path {
        node = match seg {
            Seg::Key(k) => node.get(k)?,
            Seg::Index(i) => node.items().get(*i)?,
        };
    }
    node.as_str()
}

fn read_target(node: &Node) -> Target {
    let text = |key: &str| node.get(key).and_then(Node::as_str).map(str::to_owned);
    Target {
        kind: text("kind"),
        name: text("name"),
        namespace: text("namespace"),
        label_selector: text("labelSelector"),
    }
}

/// All kustomizations, rendered. `rendered[dir]` lists what `dir` emits.
pub struct Renderer<'a> {
    pub files: &'a BTreeMap<String, ParsedFile>,
    pub kustomizations: BTreeMap<String, Kustomization>,
    pub rendered: BTreeMap<String, Vec<Rendered>>,
    /// Files and directories some kustomization refers to.
    pub referenced: BTreeSet<String>,
}

impl<'a> Renderer<'a> {
    pub fn new(files: &'a BTreeMap<String, ParsedFile>, notices: &mut Vec<Notice>) -> Renderer<'a> {
        let mut kustomizations = BTreeMap::new();
        for file in files.values().filter(|f| f.is_kustomization) {
            if let Some(k) = read(file, files, notices) {
                kustomizations.insert(k.dir.clone(), k);
            }
        }
        let mut referenced = BTreeSet::new();
        for k in kustomizations.values() {
            for r in k.resources.iter().chain(&k.components) {
                if let Some(p) = join(&k.dir, r) {
                    referenced.insert(p);
                }
            }
            for p in &k.patches {
                referenced.insert(p.doc.file.clone());
            }
        }
        let mut renderer = Renderer {
            files,
            kustomizations,
            rendered: BTreeMap::new(),
            referenced,
        };
        let dirs: Vec<String> = renderer.kustomizations.keys().cloned().collect();
        for dir in dirs {
            renderer.render(&dir, &mut Vec::new(), notices);
        }
        renderer
    }

    fn render(
        &mut self,
        dir: &str,
        visiting: &mut Vec<String>,
        notices: &mut Vec<Notice>,
    ) -> Vec<Rendered> {
        if let Some(done) = self.rendered.get(dir) {
            return done.clone();
        }
        let Some(k) = self.kustomizations.get(dir).cloned() else {
            return Vec::new();
        };
        if visiting.iter().any(|d| d == dir) {
            notices.push(Notice::new(
                k.file.clone(),
                "kustomization refers to itself through its resources".into(),
            ));
            return Vec::new();
        }
        visiting.push(dir.to_owned());
        let mut objs = Vec::new();
        for r in &k.resources {
            objs.extend(self.resource(&k, r, visiting, notices));
        }
        for c in &k.components {
            let Some(path) = join(&k.dir, c) else {
                continue;
            };
            // A component adds its own resources, then patches everything accumulated so far.
            let Some(comp) = self.kustomizations.get(&path).cloned() else {
                notices.push(Notice::new(
                    k.file.clone(),
                    format!("component {c} has no kustomization; ignored"),
                ));
                continue;
            };
            for r in &comp.resources {
                objs.extend(self.resource(&comp, r, visiting, notices));
            }
            self.apply(&comp, &mut objs);
        }
        self.apply(&k, &mut objs);
        visiting.pop();
        self.rendered.insert(dir.to_owned(), objs.clone());
        objs
    }

    fn resource(
        &mut self,
        k: &Kustomization,
        r: &str,
        visiting: &mut Vec<String>,
        notices: &mut Vec<Notice>,
    ) -> Vec<Rendered> {
        if r.contains("://") || r.starts_with("github.com/") || r.contains("?ref=") {
            return Vec::new();
        }
        let Some(path) = join(&k.dir, r) else {
            notices.push(Notice::new(
                k.file.clone(),
                format!("resource {r} leaves the repository; ignored"),
            ));
            return Vec::new();
        };
        if self.kustomizations.contains_key(&path) {
            return self.render(&path, visiting, notices);
        }
        match self.files.get(&path) {
            Some(file) => objects(file)
                .into_iter()
                .map(|o| {
                    let order = o.node(file).map(Order::of).unwrap_or_default();
                    Rendered::new(o, order)
                })
                .collect(),
            None => Vec::new(),
        }
    }

    /// Applies a kustomization's own patches and transformers, in Kustomize's order.
    fn apply(&self, k: &Kustomization, objs: &mut [Rendered]) {
        for obj in objs.iter_mut() {
            obj.names_in.push(obj.name.clone());
            obj.chain.push(k.dir.clone());
        }
        for entry in &k.patches {
            let root = self.patch_root(&entry.doc);
            for obj in objs.iter_mut() {
                if obj.deleted_by.is_some() || !self.patch_applies(entry, obj) {
                    continue;
                }
                let before = obj.order.clone();
                match &root {
                    Some(r) if entry.doc.json6902 => obj.order.after_json6902(r),
                    Some(r) if is_delete(r) => {
                        obj.deleted_by = Some(entry.doc.clone());
                        continue;
                    }
                    Some(r) => obj.order.after_strategic_merge(r),
                    None => {}
                }
                obj.patches.push(Applied {
                    doc: entry.doc.clone(),
                    before,
                });
            }
        }
        for obj in objs.iter_mut() {
            obj.orders.push(obj.order.clone());
            if let Some(ns) = &k.namespace {
                obj.namespace = Some(ns.clone());
            }
            obj.name = format!("{}{}{}", k.name_prefix, obj.name, k.name_suffix);
        }
    }

    fn patch_applies(&self, entry: &PatchEntry, obj: &Rendered) -> bool {
        if let Some(t) = &entry.target {
            return target_matches(t, obj);
        }
        if entry.doc.json6902 {
            return false;
        }
        // A strategic-merge patch names its target itself.
        let Some(root) = self.patch_root(&entry.doc) else {
            return false;
        };
        let kind = root.get("kind").and_then(Node::as_str);
        let meta = root.get("metadata");
        let name = meta.and_then(|m| m.get("name")).and_then(Node::as_str);
        let ns = meta.and_then(|m| m.get("namespace")).and_then(Node::as_str);
        kind == Some(obj.source.kind.as_str())
            && name.is_some_and(|n| n == obj.name || n == obj.source.name)
            && ns.is_none_or(|n| obj.namespace.as_deref().is_none_or(|o| o == n))
    }

    /// Every file a kustomization builds from: its own, its resources and patches, and those
    /// of the kustomizations it uses, transitively.
    pub fn closure(&self, dir: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut stack = vec![dir.to_owned()];
        while let Some(d) = stack.pop() {
            let Some(k) = self.kustomizations.get(&d) else {
                continue;
            };
            if !seen.insert(d) {
                continue;
            }
            out.insert(k.file.clone());
            out.extend(k.patches.iter().map(|p| p.doc.file.clone()));
            for r in k.resources.iter().chain(&k.components) {
                match join(&k.dir, r) {
                    Some(path) if self.kustomizations.contains_key(&path) => stack.push(path),
                    Some(path) => {
                        out.insert(path);
                    }
                    None => {}
                }
            }
        }
        out
    }

    /// The root node of a patch document, parsing inline patch text on demand.
    pub fn patch_root(&self, doc: &PatchDoc) -> Option<Node> {
        let file = self.files.get(&doc.file)?;
        match &doc.inline {
            None => file.stream.docs.get(doc.doc).map(|d| d.root.clone()),
            Some(path) => {
                let text = inline_text(file, path)?;
                crate::yamledit::parse(text)
                    .ok()?
                    .docs
                    .into_iter()
                    .next()
                    .map(|d| d.root)
            }
        }
    }
}

/// A strategic-merge patch that removes the object it names.
fn is_delete(root: &Node) -> bool {
    root.get("$patch").and_then(Node::as_str) == Some("delete")
}

fn target_matches(t: &Target, obj: &Rendered) -> bool {
    let kind_ok = t.kind.as_deref().is_none_or(|k| k == obj.source.kind);
    let name_ok = t
        .name
        .as_deref()
        .is_none_or(|n| name_matches(n, &obj.name) || name_matches(n, &obj.source.name));
    let ns_ok = t
        .namespace
        .as_deref()
        .is_none_or(|n| obj.namespace.as_deref() == Some(n));
    let labels_ok = t.label_selector.as_deref().is_none_or(|sel| {
        sel.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .all(|req| match req.split_once('=') {
                Some((k, v)) => {
                    obj.source.labels.get(k.trim().trim_end_matches('='))
                        == Some(&v.trim().to_owned())
                }
                None => obj.source.labels.contains_key(req),
            })
    });
    kind_ok && name_ok && ns_ok && labels_ok
}

/// Kustomize treats target names as anchored regular expressions; we support the literal case
/// and the common `.*` wildcard.
fn name_matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains(".*") {
        return pattern == name;
    }
    let parts: Vec<&str> = pattern.split(".*").collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || !name.ends_with(last) || name.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}
