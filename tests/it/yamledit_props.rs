//! Properties of the span editor over generated Kubernetes manifests: edits land, nothing
//! outside them moves, a second application changes nothing, and no input makes it panic.

use attune::yamledit::{Kind, Node, Seg, Set, Stream, YamlError, parse, set_values};
use proptest::prelude::*;
use proptest::test_runner::Config;
use similar::{DiffTag, TextDiff};

// ---------------------------------------------------------------------------------------------
// A model of the manifests we generate.

#[derive(Debug, Clone, Copy, PartialEq)]
enum Quote {
    Plain,
    Single,
    Double,
}

#[derive(Debug, Clone)]
struct Quantity {
    text: String,
    quote: Quote,
}

impl Quantity {
    fn render(&self) -> String {
        match self.quote {
            Quote::Plain => self.text.clone(),
            Quote::Single => format!("'{}'", self.text),
            Quote::Double => format!("\"{}\"", self.text),
        }
    }
}

/// `requests:` or `limits:` with some of cpu/memory; `flow` renders `{cpu: 1}`.
#[derive(Debug, Clone)]
struct Group {
    flow: bool,
    pairs: Vec<(&'static str, Quantity)>,
}

#[derive(Debug, Clone)]
enum Resources {
    Absent,
    /// `resources:` (empty) or `resources: ~`.
    Null {
        tilde: bool,
    },
    /// A mapping, `{...}` on one line when `flow`.
    Map {
        flow: bool,
        requests: Option<Group>,
        limits: Option<Group>,
        limits_first: bool,
    },
}

#[derive(Debug, Clone)]
struct Container {
    name: String,
    image: String,
    resources: Resources,
    /// 0: `resources` is the first key (on the dash line), 1: before `ports`, else last.
    resources_at: u8,
    ports: Vec<u16>,
}

#[derive(Debug, Clone)]
enum Manifest {
    Deployment {
        name: String,
        replicas: u8,
        /// `containers: [{...}, {...}]` on one line.
        flow_containers: bool,
        containers: Vec<Container>,
    },
    ConfigMap {
        name: String,
        /// A literal block scalar that looks like a manifest.
        embedded: bool,
    },
    Service {
        name: String,
        port: u16,
    },
}

#[derive(Debug, Clone)]
struct Layout {
    step: usize,
    /// Block sequences indented under their key (else "indentless").
    indented_seqs: bool,
    crlf: bool,
    leading_separator: bool,
    final_newline: bool,
    /// Per-line decoration, cycled: comments before/after lines and blank lines.
    decorations: Vec<u8>,
}

const COMMENTS: &[&str] = &[
    "# note",
    "# größe ✓ — ünïcode",
    "# 日本語のコメント",
    "#",
    "# cpu: 1",
    "#- x: {y}",
    "#'\"",
];

// ---------------------------------------------------------------------------------------------
// Rendering the model as text.

struct Lines {
    /// Each line with whether comments may be attached to it (not inside block scalars).
    lines: Vec<(String, bool)>,
}

impl Lines {
    fn push(&mut self, indent: usize, text: impl AsRef<str>) {
        self.lines
            .push((format!("{}{}", " ".repeat(indent), text.as_ref()), true));
    }

    fn push_fixed(&mut self, text: String) {
        self.lines.push((text, false));
    }
}

fn flow_group(group: &Group) -> String {
    let pairs: Vec<String> = group
        .pairs
        .iter()
        .map(|(k, q)| format!("{k}: {}", q.render()))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

fn flow_resources(res: &Resources) -> Option<String> {
    match res {
        Resources::Absent => None,
        // The editor refuses a null inside a flow collection (documented), so none is made.
        Resources::Null { .. } => Some("{}".to_owned()),
        Resources::Map {
            requests,
            limits,
            limits_first,
            ..
        } => {
            let mut parts = Vec::new();
            let mut groups = vec![("requests", requests), ("limits", limits)];
            if *limits_first {
                groups.reverse();
            }
            for (key, group) in groups {
                if let Some(g) = group {
                    parts.push(format!("{key}: {}", flow_group(g)));
                }
            }
            Some(format!("{{{}}}", parts.join(", ")))
        }
    }
}

fn render_resources(out: &mut Lines, res: &Resources, col: usize, step: usize) {
    match res {
        Resources::Absent => {}
        Resources::Null { tilde: false } => out.push(col, "resources:"),
        Resources::Null { tilde: true } => out.push(col, "resources: ~"),
        Resources::Map { flow: true, .. } => {
            out.push(col, format!("resources: {}", flow_resources(res).unwrap()));
        }
        Resources::Map {
            flow: false,
            requests,
            limits,
            limits_first,
        } => {
            if requests.is_none() && limits.is_none() {
                out.push(col, "resources: {}");
                return;
            }
            out.push(col, "resources:");
            let mut groups = vec![("requests", requests), ("limits", limits)];
            if *limits_first {
                groups.reverse();
            }
            for (key, group) in groups {
                let Some(g) = group else { continue };
                if g.flow {
                    out.push(col + step, format!("{key}: {}", flow_group(g)));
                } else if g.pairs.is_empty() {
                    out.push(col + step, format!("{key}:"));
                } else {
                    out.push(col + step, format!("{key}:"));
                    for (k, q) in &g.pairs {
                        out.push(col + 2 * step, format!("{k}: {}", q.render()));
                    }
                }
            }
        }
    }
}

fn render_container(out: &mut Lines, c: &Container, dash: usize, step: usize) {
    let col = dash + 2;
    if c.resources_at == 0 && !matches!(c.resources, Resources::Absent) {
        // `- resources:` on the dash line, the rest of the item below it.
        let mut first = Lines { lines: Vec::new() };
        render_resources(&mut first, &c.resources, col, step);
        for (i, (line, free)) in first.lines.into_iter().enumerate() {
            let line = if i == 0 {
                format!("{}- {}", " ".repeat(dash), line.trim_start())
            } else {
                line
            };
            out.lines.push((line, free));
        }
        out.push(col, format!("name: {}", c.name));
    } else {
        out.push(dash, format!("- name: {}", c.name));
    }
    out.push(col, format!("image: {}", c.image));
    if c.resources_at == 1 {
        render_resources(out, &c.resources, col, step);
    }
    if !c.ports.is_empty() {
        out.push(col, "ports:");
        for p in &c.ports {
            out.push(
                col + if step > 2 { 2 } else { 0 },
                format!("- containerPort: {p}"),
            );
        }
    }
    if c.resources_at > 1 {
        render_resources(out, &c.resources, col, step);
    }
}

fn flow_container(c: &Container) -> String {
    let mut parts = vec![format!("name: {}", c.name), format!("image: {}", c.image)];
    if let Some(r) = flow_resources(&c.resources) {
        parts.push(format!("resources: {r}"));
    }
    format!("{{{}}}", parts.join(", "))
}

fn render_manifest(out: &mut Lines, m: &Manifest, layout: &Layout) {
    let s = layout.step;
    let seq = if layout.indented_seqs { s } else { 0 };
    match m {
        Manifest::Deployment {
            name,
            replicas,
            flow_containers,
            containers,
        } => {
            out.push(0, "apiVersion: apps/v1");
            out.push(0, "kind: Deployment");
            out.push(0, "metadata:");
            out.push(s, format!("name: {name}"));
            out.push(s, "labels:");
            out.push(2 * s, format!("app: {name}"));
            out.push(0, "spec:");
            out.push(s, format!("replicas: {replicas}"));
            out.push(s, "selector:");
            out.push(2 * s, "matchLabels:");
            out.push(3 * s, format!("app: {name}"));
            out.push(s, "template:");
            out.push(2 * s, "metadata:");
            out.push(3 * s, "labels:");
            out.push(4 * s, format!("app: {name}"));
            out.push(2 * s, "spec:");
            if *flow_containers {
                let items: Vec<String> = containers.iter().map(flow_container).collect();
                out.push(3 * s, format!("containers: [{}]", items.join(", ")));
            } else {
                out.push(3 * s, "containers:");
                for c in containers {
                    render_container(out, c, 3 * s + seq, s);
                }
            }
        }
        Manifest::ConfigMap { name, embedded } => {
            out.push(0, "apiVersion: v1");
            out.push(0, "kind: ConfigMap");
            out.push(0, "metadata:");
            out.push(s, format!("name: {name}"));
            out.push(0, "data:");
            if *embedded {
                out.push(s, "manifest.yaml: |");
                let pad = " ".repeat(2 * s);
                for line in [
                    "spec:",
                    "  template:",
                    "    spec:",
                    "      containers:",
                    "      - name: inner # not a comment",
                    "        resources: {requests: {cpu: 1}}",
                ] {
                    out.push_fixed(format!("{pad}{line}"));
                }
            }
            out.push(s, "level: \"debug\"");
        }
        Manifest::Service { name, port } => {
            out.push(0, "apiVersion: v1");
            out.push(0, "kind: Service");
            out.push(0, "metadata:");
            out.push(s, format!("name: {name}"));
            out.push(0, "spec:");
            out.push(s, "ports:");
            out.push(s + seq, format!("- port: {port}"));
            out.push(s + seq + 2, "targetPort: http");
        }
    }
}

fn render(docs: &[Manifest], layout: &Layout) -> String {
    let mut lines = Lines { lines: Vec::new() };
    if layout.leading_separator {
        lines.push(0, "---");
    }
    for (i, m) in docs.iter().enumerate() {
        if i > 0 {
            lines.push(0, "---");
        }
        render_manifest(&mut lines, m, layout);
    }
    let mut out: Vec<String> = Vec::new();
    for (i, (line, free)) in lines.lines.into_iter().enumerate() {
        let d = layout.decorations[i % layout.decorations.len()];
        let comment = COMMENTS[usize::from(d >> 4) % COMMENTS.len()];
        if free && d % 11 == 1 {
            let indent = line.len() - line.trim_start().len();
            out.push(format!("{}{comment}", " ".repeat(indent)));
        }
        if d % 13 == 2 {
            out.push(String::new());
        }
        if free && d % 7 == 3 {
            out.push(format!("{line} {comment}"));
        } else {
            out.push(line);
        }
    }
    let eol = if layout.crlf { "\r\n" } else { "\n" };
    let mut text = out.join(eol);
    if layout.final_newline {
        text.push_str(eol);
    }
    text
}

// ---------------------------------------------------------------------------------------------
// Strategies.

fn cpu() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..4000).prop_map(|n| format!("{n}m")),
        (1u32..16).prop_map(|n| n.to_string()),
        prop::sample::select(vec!["0.5", "0.25", "1.5", "0.1"]).prop_map(str::to_owned),
    ]
}

fn memory() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..8192).prop_map(|n| format!("{n}Mi")),
        (1u32..16).prop_map(|n| format!("{n}Gi")),
        (1u64..4_000_000_000).prop_map(|n| n.to_string()),
        (1u32..999).prop_map(|n| format!("{n}M")),
    ]
}

fn quote() -> impl Strategy<Value = Quote> {
    prop_oneof![Just(Quote::Plain), Just(Quote::Single), Just(Quote::Double)]
}

fn group() -> impl Strategy<Value = Group> {
    (
        any::<bool>(),
        prop::option::of((cpu(), quote())),
        prop::option::of((memory(), quote())),
        any::<bool>(),
    )
        .prop_map(|(flow, cpu, mem, mem_first)| {
            let mut pairs = Vec::new();
            if let Some((text, quote)) = cpu {
                pairs.push(("cpu", Quantity { text, quote }));
            }
            if let Some((text, quote)) = mem {
                pairs.push(("memory", Quantity { text, quote }));
            }
            if mem_first {
                pairs.reverse();
            }
            Group { flow, pairs }
        })
}

fn resources() -> impl Strategy<Value = Resources> {
    prop_oneof![
        2 => Just(Resources::Absent),
        1 => any::<bool>().prop_map(|tilde| Resources::Null { tilde }),
        5 => (any::<bool>(), prop::option::of(group()), prop::option::of(group()), any::<bool>())
            .prop_map(|(flow, requests, limits, limits_first)| {
                // Inside a flow mapping every group is flow too.
                let fix = |g: Option<Group>| g.map(|g| Group { flow: g.flow || flow, ..g });
                Resources::Map { flow, requests: fix(requests), limits: fix(limits), limits_first }
            }),
    ]
}

fn container() -> impl Strategy<Value = Container> {
    (
        "[a-z][a-z0-9]{0,7}",
        prop::sample::select(vec!["nginx:1.25", "ghcr.io/acme/app@sha256:abc", "busybox"]),
        resources(),
        0u8..4,
        prop::collection::vec(1u16..9000, 0..3),
    )
        .prop_map(|(name, image, resources, resources_at, ports)| Container {
            name,
            image: image.to_owned(),
            resources,
            resources_at,
            ports,
        })
}

fn manifest() -> impl Strategy<Value = Manifest> {
    prop_oneof![
        6 => ("[a-z]{1,10}", 1u8..5, prop::bool::weighted(0.15), prop::collection::vec(container(), 1..4))
            .prop_map(|(name, replicas, flow_containers, containers)| Manifest::Deployment {
                name, replicas, flow_containers, containers,
            }),
        1 => ("[a-z]{1,10}", any::<bool>()).prop_map(|(name, embedded)| Manifest::ConfigMap { name, embedded }),
        1 => ("[a-z]{1,10}", 1u16..9000).prop_map(|(name, port)| Manifest::Service { name, port }),
    ]
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        prop::sample::select(vec![2usize, 4]),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.85),
        prop::collection::vec(any::<u8>(), 1..40),
    )
        .prop_map(
            |(step, indented_seqs, crlf, leading_separator, final_newline, decorations)| Layout {
                step,
                indented_seqs,
                crlf,
                leading_separator,
                final_newline,
                decorations,
            },
        )
}

/// An assignment to `requests.{cpu,memory}` of some container, before it is fitted to the
/// manifests (indices are taken modulo what exists).
#[derive(Debug, Clone)]
struct Wish {
    doc: usize,
    container: usize,
    memory: bool,
    value: String,
}

fn wish() -> impl Strategy<Value = Wish> {
    (0usize..8, 0usize..8, any::<bool>()).prop_flat_map(|(doc, container, is_memory)| {
        let value = if is_memory {
            memory().boxed()
        } else {
            cpu().boxed()
        };
        value.prop_map(move |value| Wish {
            doc,
            container,
            memory: is_memory,
            value,
        })
    })
}

fn requests_path(container: usize, field: &str) -> Vec<Seg> {
    let key = |k: &str| Seg::Key(k.to_owned());
    vec![
        key("spec"),
        key("template"),
        key("spec"),
        key("containers"),
        Seg::Index(container),
        key("resources"),
        key("requests"),
        key(field),
    ]
}

/// Turns wishes into assignments on the Deployments that exist, one per path (last wins).
fn fit(docs: &[Manifest], wishes: &[Wish]) -> Vec<Set> {
    let deployments: Vec<(usize, usize)> = docs
        .iter()
        .enumerate()
        .filter_map(|(i, m)| match m {
            Manifest::Deployment { containers, .. } => Some((i, containers.len())),
            _ => None,
        })
        .collect();
    let mut sets: Vec<Set> = Vec::new();
    if deployments.is_empty() {
        return sets;
    }
    for w in wishes {
        let (doc, count) = deployments[w.doc % deployments.len()];
        let path = requests_path(w.container % count, if w.memory { "memory" } else { "cpu" });
        sets.retain(|s| !(s.doc == doc && s.path == path));
        sets.push(Set {
            doc,
            path,
            value: w.value.clone(),
        });
    }
    sets
}

#[derive(Debug, Clone)]
struct Case {
    text: String,
    crlf: bool,
    sets: Vec<Set>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(manifest(), 1..5),
        layout(),
        prop::collection::vec(wish(), 0..6),
    )
        .prop_map(|(docs, layout, wishes)| Case {
            text: render(&docs, &layout),
            crlf: layout.crlf,
            sets: fit(&docs, &wishes),
        })
}

// ---------------------------------------------------------------------------------------------
// Checks.

fn walk<'a>(root: &'a Node, path: &[Seg]) -> (&'a Node, bool) {
    let mut node = root;
    for seg in path {
        let next = match (&node.kind, seg) {
            (Kind::Map { entries, .. }, Seg::Key(key)) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            (Kind::Seq { items, .. }, Seg::Index(i)) => items.get(*i),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return (node, false),
        }
    }
    (node, true)
}

/// The scalar at `path`, if the whole path exists and ends in a (non-null) scalar.
fn existing_scalar<'a>(stream: &'a Stream, set: &Set) -> Option<&'a Node> {
    let (node, found) = walk(&stream.docs.get(set.doc)?.root, &set.path);
    (found && matches!(node.kind, Kind::Scalar { .. })).then_some(node)
}

fn style_of(node: &Node) -> String {
    match &node.kind {
        Kind::Scalar { style, .. } => format!("{style:?}"),
        _ => "not a scalar".to_owned(),
    }
}

/// 0-based line of byte `at`.
fn line_of(text: &str, at: usize) -> usize {
    text[..at].matches('\n').count()
}

fn line_at(text: &str, at: usize) -> (usize, usize) {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    (start, end)
}

/// Property 1: the output re-parses and holds the new values.
fn check_values(out: &str, sets: &[Set]) -> Result<Stream, TestCaseError> {
    let stream = parse(out).map_err(|e| TestCaseError::fail(format!("output: {e}")))?;
    for set in sets {
        let doc = stream
            .docs
            .get(set.doc)
            .ok_or_else(|| TestCaseError::fail(format!("document {} vanished", set.doc)))?;
        let (node, found) = walk(&doc.root, &set.path);
        prop_assert!(found, "{:?} missing from the output", set.path);
        prop_assert_eq!(node.as_str(), Some(set.value.as_str()), "at {:?}", set.path);
    }
    Ok(stream)
}

/// Whether serde-saphyr (an independent reader) reads `text`, written plain, as a string.
fn reads_as_string(text: &str) -> bool {
    serde_saphyr::from_str::<serde_json::Value>(text).is_ok_and(|v| v.is_string())
}

/// The style a replaced scalar must have: its old one, except that a plain string whose new
/// value would read as a number is double-quoted, so that it stays a string.
fn expected_style(old: &Node, new: &Node) -> String {
    let keeps_type = style_of(old) == "Plain"
        && old.as_str().is_some_and(reads_as_string)
        && new.as_str().is_some_and(|v| !reads_as_string(v));
    if keeps_type {
        "DoubleQuoted".to_owned()
    } else {
        style_of(old)
    }
}

/// Property 2, pure replacements: outside the replaced scalars the texts are identical, and
/// each replacement keeps its quoting style, except that a plain string whose new value would
/// read as a number is double-quoted, so that it stays a string.
fn check_replacements_only(
    text: &str,
    before: &Stream,
    out: &str,
    after: &Stream,
    sets: &[Set],
) -> Result<(), TestCaseError> {
    let mut pairs: Vec<(&Node, &Node)> = sets
        .iter()
        .map(|s| {
            (
                existing_scalar(before, s).unwrap(),
                existing_scalar(after, s).unwrap(),
            )
        })
        .collect();
    pairs.sort_by_key(|(b, _)| b.start);
    let (mut at_in, mut at_out) = (0, 0);
    for (b, a) in &pairs {
        prop_assert_eq!(
            &text[at_in..b.start],
            &out[at_out..a.start],
            "text before byte {} changed",
            b.start
        );
        prop_assert_eq!(
            expected_style(b, a),
            style_of(a),
            "quoting at line {} (from {:?} to {:?})",
            b.line,
            b.as_str(),
            a.as_str()
        );
        at_in = b.end;
        at_out = a.end;
    }
    prop_assert_eq!(
        &text[at_in..],
        &out[at_out..],
        "text after the last edit changed"
    );
    Ok(())
}

/// Property 2, with insertions: the line diff deletes only lines holding a replaced scalar or
/// a landing spot that must change (a flow collection, a null), replaced scalars differ only
/// inside their span, and every added line is a resources key.
fn check_insertions(
    text: &str,
    before: &Stream,
    out: &str,
    after: &Stream,
    sets: &[Set],
) -> Result<(), TestCaseError> {
    let mut allowed = std::collections::BTreeSet::new();
    // Lines where a flow collection receives new entries: anything else on them may shift.
    let mut flow_lines = std::collections::BTreeSet::new();
    let mut replaced = Vec::new();
    for set in sets {
        let Some(doc) = before.docs.get(set.doc) else {
            continue;
        };
        let (node, found) = walk(&doc.root, &set.path);
        let scalar = matches!(node.kind, Kind::Scalar { .. });
        let lines = line_of(text, node.start)..=line_of(text, node.end);
        if scalar || node.is_flow() {
            allowed.extend(lines.clone());
        }
        if node.is_flow() {
            flow_lines.extend(lines);
        }
        if found && scalar {
            replaced.push((set, node));
        }
    }
    // A line holding replaced scalars differs only inside their values.
    let mut by_line: std::collections::BTreeMap<usize, Vec<(&Node, &Node)>> = Default::default();
    for (set, node) in replaced {
        let new = existing_scalar(after, set).unwrap();
        prop_assert_eq!(expected_style(node, new), style_of(new));
        prop_assert_eq!(
            line_of(text, node.start),
            line_of(text, node.end),
            "multi-line scalar"
        );
        by_line
            .entry(line_of(text, node.start))
            .or_default()
            .push((node, new));
    }
    for (line, mut pairs) in by_line {
        if flow_lines.contains(&line) {
            continue;
        }
        pairs.sort_by_key(|(b, _)| b.start);
        let (mut at_in, le) = line_at(text, pairs[0].0.start);
        let (mut at_out, ne) = line_at(out, pairs[0].1.start);
        for (b, a) in &pairs {
            prop_assert_eq!(&text[at_in..b.start], &out[at_out..a.start]);
            at_in = b.end;
            at_out = a.end;
        }
        // (An unterminated last line may gain its CR when lines are appended after it.)
        prop_assert_eq!(
            text[at_in..le].trim_end_matches('\r'),
            out[at_out..ne].trim_end_matches('\r')
        );
    }
    if !text.ends_with('\n') {
        // The last line gains a line break when something is appended after it.
        allowed.insert(text.matches('\n').count());
    }
    let diff = TextDiff::from_lines(text, out);
    let new_lines: Vec<&str> = out.split_inclusive('\n').collect();
    for op in diff.ops() {
        let (tag, old, new) = op.as_tag_tuple();
        if tag == DiffTag::Equal {
            continue;
        }
        for line in old.clone() {
            prop_assert!(
                allowed.contains(&line),
                "line {} changed: {:?}",
                line + 1,
                text.split_inclusive('\n').nth(line)
            );
        }
        let foreign = new_lines[new]
            .iter()
            .filter(|l| {
                let t = l.trim_start().trim_start_matches("- ");
                !["resources:", "requests:", "cpu: ", "memory: "]
                    .iter()
                    .any(|k| t.starts_with(k))
            })
            .count();
        prop_assert!(
            foreign <= old.len(),
            "added lines other than resources keys"
        );
    }
    Ok(())
}

fn check_line_endings(out: &str, crlf: bool) -> Result<(), TestCaseError> {
    let bare = out
        .match_indices('\n')
        .filter(|(i, _)| !out[..*i].ends_with('\r'))
        .count();
    if crlf {
        prop_assert_eq!(bare, 0, "bare LF in a CRLF file");
    } else {
        prop_assert!(!out.contains('\r'), "CR in an LF file");
    }
    Ok(())
}

fn check_case(case: &Case) -> Result<(), TestCaseError> {
    let Case { text, crlf, sets } = case;
    let before = parse(text).map_err(|e| TestCaseError::fail(format!("generated: {e}")))?;
    let out = set_values(text, sets, &[])
        .map_err(|e| TestCaseError::fail(format!("set_values refused: {e}")))?;
    let after = check_values(&out, sets)?;
    if sets.is_empty() {
        prop_assert_eq!(&out, text);
    }
    if sets.iter().all(|s| existing_scalar(&before, s).is_some()) {
        check_replacements_only(text, &before, &out, &after, sets)?;
    } else {
        check_insertions(text, &before, &out, &after, sets)?;
    }
    check_line_endings(&out, *crlf)?;
    // Property 3: idempotent.
    let again = set_values(&out, sets, &[])
        .map_err(|e| TestCaseError::fail(format!("second application refused: {e}")))?;
    prop_assert_eq!(again, out, "second application changed the text");
    Ok(())
}

/// Byte-level mutations of a text, from an alphabet of YAML-significant characters.
fn mutate(text: &str, edits: &[(usize, u8, usize)]) -> String {
    const ALPHABET: &[&str] = &[
        " ", "\n", "\r", "\t", ":", "-", "#", "{", "}", "[", "]", "\"", "'", "&a", "*a", "|", ">",
        "?", ",", "!", "%", "@", "é", "✓", "---", "...", "a", "0", "\u{feff}",
    ];
    let mut bytes = text.as_bytes().to_vec();
    for &(at, op, ch) in edits {
        let at = if bytes.is_empty() {
            0
        } else {
            at % (bytes.len() + 1)
        };
        let piece = ALPHABET[ch % ALPHABET.len()].as_bytes();
        match op % 4 {
            0 => {
                bytes.splice(at..at, piece.iter().copied());
            }
            1 if at < bytes.len() => {
                bytes.remove(at);
            }
            2 if at < bytes.len() => bytes[at] = piece[0],
            // Raw byte flip: may leave invalid UTF-8, replaced below.
            _ if at < bytes.len() => bytes[at] ^= 0x80,
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Properties.

/// 256 cases by default (a few seconds); `PROPTEST_CASES` asks for more.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(Config::with_cases(cases()))]

    /// Properties 1–3 over generated manifests.
    #[test]
    fn edits_land_keep_every_other_byte_and_are_idempotent(case in case()) {
        check_case(&case)?;
    }

    /// Property 4: arbitrary text never makes the editor panic.
    #[test]
    fn arbitrary_text_never_panics(text in ".*", wishes in prop::collection::vec(wish(), 0..4)) {
        let sets: Vec<Set> = wishes
            .iter()
            .map(|w| Set {
                doc: w.doc % 2,
                path: requests_path(w.container % 2, if w.memory { "memory" } else { "cpu" }),
                value: w.value.clone(),
            })
            .collect();
        let _ = set_values(&text, &sets, &[]);
        let _ = parse(&text);
    }

    /// Property 4 on near-manifests: mutated texts never make the editor panic, and whatever
    /// it accepts it writes back verifiably and idempotently.
    #[test]
    fn mutated_manifests_never_panic(
        case in case(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<usize>()), 1..6),
    ) {
        let text = mutate(&case.text, &edits);
        let _ = parse(&text);
        if let Ok(out) = set_values(&text, &case.sets, &[]) {
            check_values(&out, &case.sets)?;
            let again = set_values(&out, &case.sets, &[])
                .map_err(|e| TestCaseError::fail(format!("second application refused: {e}")))?;
            prop_assert_eq!(again, out, "second application changed the text");
        }
    }
}

/// Two assignments to one path used to be accepted when they inserted (the last won) and refused
/// when they replaced, so a batch applied twice was not idempotent (found by the generator).
/// A batch now names each path once, whether the path exists or not.
#[test]
fn duplicate_paths_are_treated_alike_when_inserting_and_replacing() {
    let text = "spec:\n  template:\n    spec:\n      containers:\n      - name: a\n";
    let sets = [
        Set {
            doc: 0,
            path: requests_path(0, "cpu"),
            value: "1m".to_owned(),
        },
        Set {
            doc: 0,
            path: requests_path(0, "cpu"),
            value: "2m".to_owned(),
        },
    ];
    let inserting = set_values(text, &sets, &[]);
    assert!(
        matches!(inserting, Err(YamlError::Duplicate { doc: 0, .. })),
        "{inserting:?}"
    );
    let existing = set_values(&set_values(text, &sets[..1], &[]).unwrap(), &sets, &[]);
    assert!(
        matches!(existing, Err(YamlError::Duplicate { doc: 0, .. })),
        "{existing:?}"
    );
}
