//! What each file holds: workload objects, a kustomization, patch documents, `$attune` markers.

use std::collections::BTreeMap;

use super::Notice;
use super::walk::RawFile;
use crate::yamledit::{self, Node, Seg, Stream};

/// Workload kinds whose pod template the editor knows how to reach.
pub const WORKLOAD_KINDS: [&str; 3] = ["Deployment", "StatefulSet", "DaemonSet"];

pub struct ParsedFile {
    pub rel: String,
    pub text: String,
    pub stream: Stream,
    /// Whether the file is a kustomization (by its name).
    pub is_kustomization: bool,
}

/// A workload object as written in a file: where it is and what it is called there.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub file: String,
    pub doc: usize,
    /// Path from the document root to the object (empty, or `items[i]` inside a `kind: List`).
    pub prefix: Vec<Seg>,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub labels: BTreeMap<String, String>,
}

impl Object {
    pub fn node<'a>(&self, file: &'a ParsedFile) -> Option<&'a Node> {
        let mut node = &file.stream.docs.get(self.doc)?.root;
        for seg in &self.prefix {
            node = match seg {
                Seg::Key(k) => node.get(k)?,
                Seg::Index(i) => node.items().get(*i)?,
            };
        }
        Some(node)
    }
}

pub fn parse_files(raw: Vec<RawFile>, notices: &mut Vec<Notice>) -> Vec<ParsedFile> {
    let mut out = Vec::with_capacity(raw.len());
    for file in raw {
        let name = file.rel.rsplit('/').next().unwrap_or(&file.rel);
        let is_kustomization = matches!(
            name,
            "kustomization.yaml" | "kustomization.yml" | "Kustomization"
        );
        if !is_kustomization && file.text.contains("{{") {
            // A template, not YAML; its values file carries markers instead.
            continue;
        }
        match yamledit::parse(&file.text) {
            Ok(stream) => out.push(ParsedFile {
                rel: file.rel,
                text: file.text,
                stream,
                is_kustomization,
            }),
            Err(e @ yamledit::YamlError::Syntax { .. }) => {
                notices.push(Notice::new(
                    file.rel,
                    format!("not valid YAML ({e}); skipped"),
                ));
            }
            Err(e) => notices.push(Notice::new(file.rel, format!("{e}; skipped"))),
        }
    }
    out
}

/// Workload objects of one file, including the items of `kind: List` documents.
pub fn objects(file: &ParsedFile) -> Vec<Object> {
    let mut out = Vec::new();
    for (doc, d) in file.stream.docs.iter().enumerate() {
        let root = &d.root;
        if root
            .get("kind")
            .and_then(Node::as_str)
            .is_some_and(|k| k == "List" || k.ends_with("List"))
        {
            for (i, item) in root
                .get("items")
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let prefix = vec![Seg::Key("items".into()), Seg::Index(i)];
                out.extend(object(file, doc, prefix, item));
            }
        } else {
            out.extend(object(file, doc, Vec::new(), root));
        }
    }
    out
}

fn object(file: &ParsedFile, doc: usize, prefix: Vec<Seg>, node: &Node) -> Option<Object> {
    let kind = node.get("kind")?.as_str()?;
    if !WORKLOAD_KINDS.contains(&kind) {
        return None;
    }
    let meta = node.get("metadata")?;
    let labels = meta
        .get("labels")
        .map(|l| {
            l.entries()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    Some(Object {
        file: file.rel.clone(),
        doc,
        prefix,
        api_version: node
            .get("apiVersion")
            .and_then(Node::as_str)
            .unwrap_or("apps/v1")
            .to_owned(),
        kind: kind.to_owned(),
        name: meta.get("name")?.as_str()?.to_owned(),
        namespace: meta
            .get("namespace")
            .and_then(Node::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        labels,
    })
}

/// A `# {"$attune": "<namespace>/<workload>:<container>:<field>"}` comment and the scalar it
/// marks (the last scalar that starts on the comment's line).
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub file: String,
    pub line: usize,
    pub key: String,
    pub doc: usize,
    pub path: Option<Vec<Seg>>,
}

pub fn markers(file: &ParsedFile, notices: &mut Vec<Notice>) -> Vec<Marker> {
    let mut out = Vec::new();
    for comment in &file.stream.markers {
        let body = comment.text.trim();
        let key = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("$attune").and_then(|k| k.as_str()).map(str::to_owned));
        let Some(key) = key else {
            notices.push(Notice::new(
                format!("{}:{}", file.rel, comment.line),
                "comment mentions $attune but is not a marker like {\"$attune\": \"ns/workload:container:cpu-request\"}".into(),
            ));
            continue;
        };
        let found = file.stream.docs.iter().enumerate().find_map(|(doc, d)| {
            let mut path = Vec::new();
            scalar_on_line(&d.root, comment.line, &mut path).then_some((doc, path))
        });
        out.push(Marker {
            file: file.rel.clone(),
            line: comment.line,
            key,
            doc: found.as_ref().map_or(0, |(d, _)| *d),
            path: found.map(|(_, p)| p),
        });
    }
    out
}

/// Finds the mapping value scalar on `line`, the innermost (last) one when there are several.
fn scalar_on_line(node: &Node, line: usize, path: &mut Vec<Seg>) -> bool {
    match &node.kind {
        yamledit::Kind::Map { entries, .. } => {
            for (k, v) in entries.iter().rev() {
                let Some(key) = k.as_str() else { continue };
                if v.line > line && k.line > line {
                    continue;
                }
                path.push(Seg::Key(key.to_owned()));
                if matches!(v.kind, yamledit::Kind::Scalar { .. }) && v.line == line && !v.is_null()
                {
                    return true;
                }
                if scalar_on_line(v, line, path) {
                    return true;
                }
                path.pop();
            }
            false
        }
        yamledit::Kind::Seq { items, .. } => {
            for (i, item) in items.iter().enumerate().rev() {
                if item.line > line {
                    continue;
                }
                path.push(Seg::Index(i));
                if scalar_on_line(item, line, path) {
                    return true;
                }
                path.pop();
            }
            false
        }
        _ => false,
    }
}
