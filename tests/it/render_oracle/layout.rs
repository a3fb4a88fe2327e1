//! Generated Kustomize layouts: one base with one or two multi-container Deployments, shared
//! by one to three overlays (each its own namespace, some with a name prefix), an optional
//! component (a strategic-merge patch, a `$patch: delete`), and existing patches in the
//! overlays — strategic-merge files and inline blocks that list containers in any order (which
//! reorders them), JSON 6902 files and inline blocks that set a request by index.

use std::fmt::Write as _;
use std::path::Path;

use proptest::prelude::*;

const CONTAINERS: [&str; 3] = ["app", "envoy", "log"];
const CPU: [&str; 6] = ["50m", "100m", "250m", "500m", "1", "1500m"];
const MEMORY: [&str; 5] = ["64Mi", "128Mi", "256Mi", "512Mi", "1Gi"];
const WORKLOADS: [&str; 2] = ["api", "worker"];

#[derive(Debug, Clone)]
pub struct Container {
    cpu: Option<&'static str>,
    memory: Option<&'static str>,
    cpu_limit: Option<&'static str>,
    memory_limit: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub struct Workload {
    /// `CONTAINERS[..n]`, each with its resources.
    containers: Vec<Container>,
    /// A native sidecar (`initContainers`) named `setup`.
    init: Option<Container>,
}

#[derive(Debug, Clone)]
pub enum Existing {
    /// Lists containers (indices into the workload's) in this order, some setting a cpu
    /// request.
    StrategicMerge {
        workload: usize,
        items: Vec<(usize, Option<&'static str>)>,
        inline: bool,
    },
    /// `add` of a cpu request at a container index.
    Json6902 {
        workload: usize,
        index: usize,
        cpu: &'static str,
        inline: bool,
    },
}

#[derive(Debug, Clone)]
pub struct Overlay {
    prefix: bool,
    component: bool,
    patches: Vec<Existing>,
}

#[derive(Debug, Clone)]
pub struct Component {
    /// (workload, container, cpu request) set by a strategic-merge patch.
    sets: Option<(usize, usize, &'static str)>,
    /// A workload it deletes (only the second one, so a root always renders something).
    deletes: bool,
}

/// Values a policy in one overlay's namespace recommends for one container.
#[derive(Debug, Clone)]
pub struct Want {
    overlay: usize,
    workload: usize,
    /// An index into the containers, or their count for the init container.
    container: usize,
    values: [Option<&'static str>; 4],
}

#[derive(Debug, Clone)]
pub struct Layout {
    workloads: Vec<Workload>,
    pub overlays: Vec<Overlay>,
    component: Option<Component>,
    wants: Vec<Want>,
    cpu_limits: bool,
    memory_limits: bool,
    /// `--path overlays/o<n>`: only that overlay deploys; wants in other namespaces are not
    /// located.
    pub path: Option<usize>,
}

fn container() -> impl Strategy<Value = Container> {
    (
        prop::option::of(prop::sample::select(&CPU[..])),
        prop::option::of(prop::sample::select(&MEMORY[..])),
        prop::option::of(prop::sample::select(&CPU[..])),
        prop::option::of(prop::sample::select(&MEMORY[..])),
    )
        .prop_map(|(cpu, memory, cpu_limit, memory_limit)| Container {
            // A `requests` map always exists, so a JSON 6902 `add` below it applies.
            memory: if cpu.is_none() && memory.is_none() {
                Some("128Mi")
            } else {
                memory
            },
            cpu,
            cpu_limit,
            memory_limit,
        })
}

fn workload() -> impl Strategy<Value = Workload> {
    (
        prop::collection::vec(container(), 1..=3),
        prop::option::weighted(0.3, container()),
    )
        .prop_map(|(containers, init)| Workload { containers, init })
}

fn existing() -> impl Strategy<Value = Existing> {
    prop_oneof![
        (
            0..2usize,
            prop::collection::vec(
                (0..3usize, prop::option::of(prop::sample::select(&CPU[..]))),
                1..=3
            ),
            any::<bool>()
        )
            .prop_map(|(workload, items, inline)| Existing::StrategicMerge {
                workload,
                items,
                inline
            }),
        (
            0..2usize,
            0..3usize,
            prop::sample::select(&CPU[..]),
            any::<bool>()
        )
            .prop_map(|(workload, index, cpu, inline)| Existing::Json6902 {
                workload,
                index,
                cpu,
                inline
            }),
    ]
}

fn overlay() -> impl Strategy<Value = Overlay> {
    (
        prop::bool::weighted(0.3),
        any::<bool>(),
        prop::collection::vec(existing(), 0..=2),
    )
        .prop_map(|(prefix, component, patches)| Overlay {
            prefix,
            component,
            patches,
        })
}

fn want() -> impl Strategy<Value = Want> {
    let value =
        |pool: &'static [&'static str]| prop::option::weighted(0.7, prop::sample::select(pool));
    (
        0..3usize,
        0..2usize,
        0..4usize,
        (value(&CPU), value(&MEMORY), value(&CPU), value(&MEMORY)),
    )
        .prop_map(|(overlay, workload, container, (a, b, c, d))| Want {
            overlay,
            workload,
            container,
            values: [a, b, c, d],
        })
}

pub fn layout() -> impl Strategy<Value = Layout> {
    (
        prop::collection::vec(workload(), 1..=2),
        prop::collection::vec(overlay(), 1..=3),
        prop::option::of(
            (
                prop::option::of((0..2usize, 0..3usize, prop::sample::select(&CPU[..]))),
                any::<bool>(),
            )
                .prop_map(|(sets, deletes)| Component { sets, deletes }),
        ),
        prop::collection::vec(want(), 1..=4),
        any::<bool>(),
        any::<bool>(),
        prop::option::weighted(0.3, 0..3usize),
    )
        .prop_map(
            |(workloads, overlays, component, wants, cpu_limits, memory_limits, path)| {
                Layout {
                    workloads,
                    overlays,
                    component,
                    wants,
                    cpu_limits,
                    memory_limits,
                    path,
                }
                .normalized()
            },
        )
}

impl Layout {
    /// Brings indices into range and drops what Kustomize would refuse (a patch of an object
    /// a component deleted).
    fn normalized(mut self) -> Layout {
        let n = self.workloads.len();
        let sizes: Vec<usize> = self.workloads.iter().map(|w| w.containers.len()).collect();
        if let Some(c) = &mut self.component {
            c.deletes &= n == 2;
            if let Some((w, i, _)) = &mut c.sets {
                *w %= n;
                *i %= sizes[*w];
                if c.deletes && *w == 1 {
                    c.sets = None;
                }
            }
        }
        let deleted = self.deleted();
        for overlay in &mut self.overlays {
            overlay.component &= self.component.is_some();
            for p in &mut overlay.patches {
                match p {
                    Existing::StrategicMerge {
                        workload, items, ..
                    } => {
                        *workload %= n;
                        for (i, _) in items.iter_mut() {
                            *i %= sizes[*workload];
                        }
                        let mut seen = Vec::new();
                        items.retain(|(i, _)| {
                            let new = !seen.contains(i);
                            seen.push(*i);
                            new
                        });
                    }
                    Existing::Json6902 {
                        workload, index, ..
                    } => {
                        *workload %= n;
                        *index %= sizes[*workload];
                    }
                }
            }
            let gone = |w: usize| deleted && overlay.component && w == 1;
            overlay.patches.retain(|p| match p {
                Existing::StrategicMerge { workload, .. } | Existing::Json6902 { workload, .. } => {
                    !gone(*workload)
                }
            });
        }
        let overlays = self.overlays.len();
        if let Some(p) = &mut self.path {
            *p %= overlays;
        }
        for w in &mut self.wants {
            w.overlay %= overlays;
            w.workload %= n;
            let wl = &self.workloads[w.workload];
            w.container %= wl.containers.len() + usize::from(wl.init.is_some());
        }
        self
    }

    fn deleted(&self) -> bool {
        self.component.as_ref().is_some_and(|c| c.deletes)
    }

    fn name(&self, overlay: usize, workload: usize) -> String {
        let prefix = if self.overlays[overlay].prefix {
            format!("p{overlay}-")
        } else {
            String::new()
        };
        format!("{prefix}{}", WORKLOADS[workload])
    }

    fn container_name(&self, workload: usize, index: usize) -> &'static str {
        if index < self.workloads[workload].containers.len() {
            CONTAINERS[index]
        } else {
            "setup"
        }
    }

    /// `namespace/workload` of every want for an object a component deletes or that `--path`
    /// does not deploy: the problems the run must report, and the only ones.
    pub fn unlocated_wants(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .wants
            .iter()
            .filter(|w| self.asks_for_something(w))
            .filter(|w| {
                (self.deleted() && self.overlays[w.overlay].component && w.workload == 1)
                    || self.path.is_some_and(|p| p != w.overlay)
            })
            .map(|w| format!("ns{}/{}", w.overlay, self.name(w.overlay, w.workload)))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Whether the policy file carries `w` (the first want of its container is written) with a
    /// value its `controlledValues` lets through: a limit under `RequestsOnly` asks for
    /// nothing, so there is nothing to locate and nothing to report.
    fn asks_for_something(&self, w: &Want) -> bool {
        let first = self.wants.iter().find(|o| {
            o.overlay == w.overlay && o.workload == w.workload && o.container == w.container
        });
        if !first.is_some_and(|f| std::ptr::eq(f, w)) {
            return false;
        }
        let v = &w.values;
        v.iter().all(Option::is_none)
            || v[0].is_some()
            || v[1].is_some()
            || (self.cpu_limits && v[2].is_some())
            || (self.memory_limits && v[3].is_some())
    }

    pub fn write(&self, dir: &Path) {
        let repo = dir.join("repo");
        let put = |rel: &str, text: String| {
            let path = repo.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        let mut base = String::from("resources:\n");
        for (i, w) in self.workloads.iter().enumerate() {
            writeln!(base, "- {}.yaml", WORKLOADS[i]).unwrap();
            put(
                &format!("base/{}.yaml", WORKLOADS[i]),
                deployment(WORKLOADS[i], w),
            );
        }
        put("base/kustomization.yaml", base);
        if let Some(c) = &self.component {
            let mut k = String::from(
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n",
            );
            if let Some((w, i, cpu)) = c.sets {
                k.push_str("- path: sizes.yaml\n");
                put(
                    "components/c/sizes.yaml",
                    smp(WORKLOADS[w], &[(CONTAINERS[i], Some(cpu))]),
                );
            }
            if c.deletes {
                k.push_str("- path: delete.yaml\n");
                put(
                    "components/c/delete.yaml",
                    "$patch: delete\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: worker\n"
                        .to_owned(),
                );
            }
            if c.sets.is_none() && !c.deletes {
                k = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n".to_owned();
            }
            put("components/c/kustomization.yaml", k);
        }
        for (o, overlay) in self.overlays.iter().enumerate() {
            let mut k = format!("namespace: ns{o}\nresources:\n- ../../base\n");
            if overlay.prefix {
                writeln!(k, "namePrefix: p{o}-").unwrap();
            }
            if overlay.component {
                k.push_str("components:\n- ../../components/c\n");
            }
            if !overlay.patches.is_empty() {
                k.push_str("patches:\n");
            }
            for (j, p) in overlay.patches.iter().enumerate() {
                let (text, target, inline) = self.patch_text(p);
                match (inline, target) {
                    (true, target) => {
                        k.push_str("- patch: |-\n");
                        for line in text.lines() {
                            writeln!(k, "    {line}").unwrap();
                        }
                        if let Some(t) = target {
                            writeln!(k, "  target:\n    kind: Deployment\n    name: {t}").unwrap();
                        }
                    }
                    (false, target) => {
                        writeln!(k, "- path: p{j}.yaml").unwrap();
                        if let Some(t) = target {
                            writeln!(k, "  target:\n    kind: Deployment\n    name: {t}").unwrap();
                        }
                        put(&format!("overlays/o{o}/p{j}.yaml"), text);
                    }
                }
            }
            put(&format!("overlays/o{o}/kustomization.yaml"), k);
        }
    }

    /// A patch's text, its JSON 6902 target, and whether it is written inline.
    fn patch_text(&self, p: &Existing) -> (String, Option<&'static str>, bool) {
        match p {
            Existing::StrategicMerge {
                workload,
                items,
                inline,
            } => {
                let items: Vec<(&str, Option<&str>)> = items
                    .iter()
                    .map(|(i, cpu)| (CONTAINERS[*i], *cpu))
                    .collect();
                (smp(WORKLOADS[*workload], &items), None, *inline)
            }
            Existing::Json6902 {
                workload,
                index,
                cpu,
                inline,
            } => (
                format!(
                    "- op: add\n  path: /spec/template/spec/containers/{index}/resources/requests/cpu\n  value: {cpu}\n"
                ),
                Some(WORKLOADS[*workload]),
                *inline,
            ),
        }
    }

    pub fn policies(&self) -> String {
        let mut out = String::new();
        for o in 0..self.overlays.len() {
            let mine: Vec<&Want> = self.wants.iter().filter(|w| w.overlay == o).collect();
            if mine.is_empty() {
                continue;
            }
            let limits = |b: bool| {
                if b {
                    "RequestsAndLimits"
                } else {
                    "RequestsOnly"
                }
            };
            write!(
                out,
                "---\napiVersion: attune.io/v1alpha1\nkind: AttunePolicy\nmetadata:\n  name: sizing\n  namespace: ns{o}\nspec:\n  targetRef:\n    kind: Deployment\n    name: any\n  metricsSource:\n    prometheus:\n      address: http://prometheus:9090\n  cpu:\n    controlledValues: {}\n  memory:\n    controlledValues: {}\nstatus:\n  recommendations:\n",
                limits(self.cpu_limits),
                limits(self.memory_limits)
            )
            .unwrap();
            for workload in 0..self.workloads.len() {
                let theirs: Vec<&&Want> = mine.iter().filter(|w| w.workload == workload).collect();
                if theirs.is_empty() {
                    continue;
                }
                write!(
                    out,
                    "  - workload: {}\n    kind: Deployment\n    containers:\n",
                    self.name(o, workload)
                )
                .unwrap();
                let mut done = Vec::new();
                for w in theirs {
                    if done.contains(&w.container) {
                        continue;
                    }
                    done.push(w.container);
                    writeln!(
                        out,
                        "    - name: {}\n      recommended:",
                        self.container_name(workload, w.container)
                    )
                    .unwrap();
                    let keys = ["cpuRequest", "memoryRequest", "cpuLimit", "memoryLimit"];
                    let mut any = false;
                    for (key, v) in keys.iter().zip(w.values) {
                        if let Some(v) = v {
                            writeln!(out, "        {key}: \"{v}\"").unwrap();
                            any = true;
                        }
                    }
                    if !any {
                        writeln!(out, "        cpuRequest: \"100m\"").unwrap();
                    }
                }
            }
        }
        out
    }
}

fn resources(c: &Container, indent: &str) -> String {
    let mut s = format!("{indent}resources:\n{indent}  requests:\n");
    for (k, v) in [("cpu", c.cpu), ("memory", c.memory)] {
        if let Some(v) = v {
            writeln!(s, "{indent}    {k}: {}", quoted(v)).unwrap();
        }
    }
    if c.cpu_limit.is_some() || c.memory_limit.is_some() {
        writeln!(s, "{indent}  limits:").unwrap();
        for (k, v) in [("cpu", c.cpu_limit), ("memory", c.memory_limit)] {
            if let Some(v) = v {
                writeln!(s, "{indent}    {k}: {}", quoted(v)).unwrap();
            }
        }
    }
    s
}

/// Quantities that YAML would read as numbers are quoted, as people write them.
fn quoted(v: &str) -> String {
    if v.parse::<f64>().is_ok() {
        format!("\"{v}\"")
    } else {
        v.to_owned()
    }
}

fn deployment(name: &str, w: &Workload) -> String {
    let mut s = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n"
    );
    if let Some(init) = &w.init {
        s.push_str("      initContainers:\n      - name: setup\n        image: busybox:1.36\n        restartPolicy: Always\n");
        s.push_str(&resources(init, "        "));
    }
    s.push_str("      containers:\n");
    for (i, c) in w.containers.iter().enumerate() {
        writeln!(
            s,
            "      - name: {}\n        image: example/{}:1",
            CONTAINERS[i], CONTAINERS[i]
        )
        .unwrap();
        s.push_str(&resources(c, "        "));
    }
    s
}

fn smp(name: &str, items: &[(&str, Option<&str>)]) -> String {
    let mut s = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      containers:\n"
    );
    for (c, cpu) in items {
        writeln!(s, "      - name: {c}").unwrap();
        if let Some(cpu) = cpu {
            writeln!(
                s,
                "        resources:\n          requests:\n            cpu: {}",
                quoted(cpu)
            )
            .unwrap();
        }
    }
    s
}
