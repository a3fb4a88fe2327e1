//! The manifests the properties generate, as a model, and their rendering as text in many
//! layouts (indentation, sequence style, flow collections, comments, CRLF).

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Quote {
    Plain,
    Single,
    Double,
}

#[derive(Debug, Clone)]
pub(super) struct Quantity {
    pub(super) text: String,
    pub(super) quote: Quote,
}

impl Quantity {
    pub(super) fn render(&self) -> String {
        match self.quote {
            Quote::Plain => self.text.clone(),
            Quote::Single => format!("'{}'", self.text),
            Quote::Double => format!("\"{}\"", self.text),
        }
    }
}

/// `requests:` or `limits:` with some of cpu/memory; `flow` renders `{cpu: 1}`.
#[derive(Debug, Clone)]
pub(super) struct Group {
    pub(super) flow: bool,
    pub(super) pairs: Vec<(&'static str, Quantity)>,
}

#[derive(Debug, Clone)]
pub(super) enum Resources {
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
pub(super) struct Container {
    pub(super) name: String,
    pub(super) image: String,
    pub(super) resources: Resources,
    /// 0: `resources` is the first key (on the dash line), 1: before `ports`, else last.
    pub(super) resources_at: u8,
    pub(super) ports: Vec<u16>,
}

#[derive(Debug, Clone)]
pub(super) enum Manifest {
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
pub(super) struct Layout {
    pub(super) step: usize,
    /// Block sequences indented under their key (else "indentless").
    pub(super) indented_seqs: bool,
    pub(super) crlf: bool,
    pub(super) leading_separator: bool,
    pub(super) final_newline: bool,
    /// Per-line decoration, cycled: comments before/after lines and blank lines.
    pub(super) decorations: Vec<u8>,
}

pub(super) const COMMENTS: &[&str] = &[
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

pub(super) struct Lines {
    /// Each line with whether comments may be attached to it (not inside block scalars).
    pub(super) lines: Vec<(String, bool)>,
}

impl Lines {
    pub(super) fn push(&mut self, indent: usize, text: impl AsRef<str>) {
        self.lines
            .push((format!("{}{}", " ".repeat(indent), text.as_ref()), true));
    }

    pub(super) fn push_fixed(&mut self, text: String) {
        self.lines.push((text, false));
    }
}

pub(super) fn flow_group(group: &Group) -> String {
    let pairs: Vec<String> = group
        .pairs
        .iter()
        .map(|(k, q)| format!("{k}: {}", q.render()))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

pub(super) fn flow_resources(res: &Resources) -> Option<String> {
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

pub(super) fn render_resources(out: &mut Lines, res: &Resources, col: usize, step: usize) {
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

pub(super) fn render_container(out: &mut Lines, c: &Container, dash: usize, step: usize) {
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

pub(super) fn flow_container(c: &Container) -> String {
    let mut parts = vec![format!("name: {}", c.name), format!("image: {}", c.image)];
    if let Some(r) = flow_resources(&c.resources) {
        parts.push(format!("resources: {r}"));
    }
    format!("{{{}}}", parts.join(", "))
}

pub(super) fn render_manifest(out: &mut Lines, m: &Manifest, layout: &Layout) {
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

pub(super) fn render(docs: &[Manifest], layout: &Layout) -> String {
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
