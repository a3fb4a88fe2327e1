//! What each file holds: workload objects, a kustomization, patch documents, `$attune` markers.

use std::collections::{BTreeMap, BTreeSet};

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

/// Parses what resolution can use: kustomizations, files that could hold a workload or a
/// marker, and the patch files kustomizations name. Everything else (ConfigMaps, CRDs, RBAC —
/// most of a large repository) is only checked for syntax, so a broken file is still reported,
/// but no tree is built for it, which was most of the cost of a run. The test is textual: a
/// workload's `kind`, a List of them or a marker cannot be written without one of
/// [`INTERESTING`] appearing literally, or else an escape in a double-quoted scalar (see
/// [`wanted`]).
pub fn parse_files(raw: Vec<RawFile>, notices: &mut Vec<Notice>) -> Vec<ParsedFile> {
    let (kustomizations, rest): (Vec<RawFile>, Vec<RawFile>) =
        raw.into_iter().partition(|f| is_kustomization_name(&f.rel));
    let all = |files: Vec<RawFile>| files.into_iter().map(|f| (f, true)).collect();
    let mut out = parse_all(all(kustomizations), notices);
    let referenced = patch_files(&out);
    let marked = rest
        .into_iter()
        .map(|f| {
            let wanted = wanted(&f.rel, &f.text, &referenced);
            (f, wanted)
        })
        .collect();
    out.extend(parse_all(marked, notices));
    out
}

/// Builds a tree for every file, one after another: the reference the prefilter and the
/// threads of [`parse_files`] and the loader must not change the outcome of.
pub fn parse_every(raw: Vec<RawFile>, notices: &mut Vec<Notice>) -> Vec<ParsedFile> {
    let (kustomizations, rest): (Vec<RawFile>, Vec<RawFile>) =
        raw.into_iter().partition(|f| is_kustomization_name(&f.rel));
    let mut out = parse_chunk(
        kustomizations.into_iter().map(|f| (f, true)).collect(),
        notices,
    );
    out.extend(parse_chunk(
        rest.into_iter().map(|f| (f, true)).collect(),
        notices,
    ));
    out
}

/// What file names and kinds say about how Argo CD and Flux read the tree, before parsing.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// Directories holding a kustomization file, parsable or not: the tools build them with
    /// Kustomize, so only what it lists is deployed from there.
    pub kustomization_dirs: BTreeSet<String>,
    /// Directories holding a Helm chart (`Chart.yaml`).
    pub charts: Vec<String>,
    /// Files declaring a Flux `HelmRelease`.
    pub helm_releases: Vec<String>,
}

pub fn layout(raw: &[RawFile]) -> Layout {
    let mut out = Layout::default();
    for f in raw {
        let name = f.rel.rsplit('/').next().unwrap_or(&f.rel);
        let dir = super::walk::parent(&f.rel).to_owned();
        if is_kustomization_name(&f.rel) {
            out.kustomization_dirs.insert(dir);
        } else if name == "Chart.yaml" {
            out.charts.push(dir);
        } else if is_helm_release(&f.text) {
            out.helm_releases.push(f.rel.clone());
        }
    }
    out
}

/// Words one of which every file resolution reads contains (see [`parse_files`]).
const INTERESTING: [&str; 4] = ["Deployment", "StatefulSet", "DaemonSet", "$attune"];

pub(super) fn is_kustomization_name(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    matches!(
        name,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    )
}

/// Paths of the patch files the kustomizations name (strategic-merge or JSON 6902).
pub(super) fn patch_files<'a>(
    kustomizations: impl IntoIterator<Item = &'a ParsedFile>,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for file in kustomizations {
        let Some(root) = file.stream.docs.first().map(|d| &d.root) else {
            continue;
        };
        let dir = super::walk::parent(&file.rel);
        let mut add = |reference: &str| {
            if let Some(path) = super::walk::join(dir, reference) {
                out.insert(path);
            }
        };
        for item in root
            .get("patchesStrategicMerge")
            .map(Node::items)
            .unwrap_or_default()
        {
            item.as_str().into_iter().for_each(&mut add);
        }
        for key in ["patches", "patchesJson6902"] {
            for item in root.get(key).map(Node::items).unwrap_or_default() {
                item.get("path")
                    .and_then(Node::as_str)
                    .into_iter()
                    .for_each(&mut add);
            }
        }
    }
    out
}

/// Parses (or, for `false`, only checks) files on every core; the result and the notices keep
/// the input order.
fn parse_all(raw: Vec<(RawFile, bool)>, notices: &mut Vec<Notice>) -> Vec<ParsedFile> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(8);
    if threads < 2 || raw.len() < 64 {
        return parse_chunk(raw, notices);
    }
    let per = raw.len().div_ceil(threads);
    let mut chunks: Vec<Vec<(RawFile, bool)>> = Vec::with_capacity(threads);
    let mut iter = raw.into_iter().peekable();
    while iter.peek().is_some() {
        chunks.push(iter.by_ref().take(per).collect());
    }
    let results: Vec<(Vec<ParsedFile>, Vec<Notice>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(move || {
                    let mut local = Vec::new();
                    let parsed = parse_chunk(chunk, &mut local);
                    (parsed, local)
                })
            })
            .collect();
        handles
            .into_iter()
            // A panicking parser is a bug; surface it on this thread rather than lose files.
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut out = Vec::new();
    for (parsed, local) in results {
        out.extend(parsed);
        notices.extend(local);
    }
    out
}

fn parse_chunk(raw: Vec<(RawFile, bool)>, notices: &mut Vec<Notice>) -> Vec<ParsedFile> {
    let mut out = Vec::new();
    for (file, wanted) in raw {
        match parse_one(file, wanted) {
            Ok(Some(parsed)) => out.push(parsed),
            Ok(None) => {}
            Err(notice) => notices.push(notice),
        }
    }
    out
}

/// One file: parsed when `wanted`, else only checked for syntax (`None`); a template is
/// passed over; invalid YAML becomes the notice.
pub(super) fn parse_one(file: RawFile, wanted: bool) -> Result<Option<ParsedFile>, Notice> {
    let is_kustomization = is_kustomization_name(&file.rel);
    if !is_kustomization && file.text.contains("{{") {
        // A template, not YAML; its values file carries markers instead.
        return Ok(None);
    }
    let parsed = if wanted {
        yamledit::parse(&file.text).map(Some)
    } else {
        check_syntax(&file.text).map(|()| None)
    };
    match parsed {
        Ok(None) => Ok(None),
        Ok(Some(stream)) => Ok(Some(ParsedFile {
            rel: file.rel,
            text: file.text,
            stream,
            is_kustomization,
        })),
        Err(e @ yamledit::YamlError::Syntax { .. }) => Err(Notice::new(
            file.rel,
            format!("not valid YAML ({e}); skipped"),
        )),
        Err(e) => Err(Notice::new(file.rel, format!("{e}; skipped"))),
    }
}

/// The syntax check of a file no tree is built for.
fn check_syntax(text: &str) -> Result<(), yamledit::YamlError> {
    if text.len() <= yamledit::MAX_FILE_BYTES && super::quick_syntax::surely_valid(text) {
        return Ok(());
    }
    yamledit::check_syntax(text)
}

/// Whether a file that is not a kustomization needs a tree: it could hold a workload or a
/// marker (see [`parse_files`]), or a kustomization names it as a patch. A double-quoted
/// scalar with an escape (`"Deploy\u006dent"`, or a line joined by `\`) can spell a kind no
/// textual search finds, so a file with both a `"` and a `\` is parsed too.
pub(super) fn wanted(rel: &str, text: &str, referenced: &BTreeSet<String>) -> bool {
    referenced.contains(rel)
        || INTERESTING.iter().any(|w| text.contains(w))
        || (text.contains('\\') && text.contains('"'))
}

/// Whether a file declares a Flux `HelmRelease` (see [`Layout`]).
pub(super) fn is_helm_release(text: &str) -> bool {
    text.contains("kind: HelmRelease") && text.lines().any(|l| l.trim_end() == "kind: HelmRelease")
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
