//! `attune-bench`: a wall-time and peak-RSS benchmark of `attune propose --write` on a
//! synthetic GitOps repository (not a test; run it by hand on a quiet machine).
//!
//! It generates, deterministically (fixed-seed xorshift), a repository of exactly `--files`
//! YAML files (default 10,000) mixing every layout propose understands — Kustomize apps (base
//! shared by staging and production overlays, namePrefix, replica patches, existing resources
//! patches, inline patches, components), plain multi-document directories, `kind: List`
//! files, Helm charts (templates with `{{` plus values files with `$attune` markers) and
//! filler (ConfigMaps, Services, CRDs, RBAC) — and a policies file with exactly `--workloads`
//! recommended workloads (default 1,000), some equal to the current value in another notation.
//!
//! Then it measures, in the same run so the figures can be read as ratios on a noisy machine:
//! a baseline (walk + read_to_string of every file; copying the tree), and `--runs` (default
//! 5) runs of the release binary `attune propose --write` on a fresh copy each, through
//! `/usr/bin/time` for the child's peak RSS. It checks the exit code, the number of values
//! changed against the number the generator expects, that a second run on the written copy
//! changes nothing, and prints the problems a JSON dry run reports.
//!
//! Build and run: `cargo build --release --bins && target/release/attune-bench`
//! Options: `--files N --workloads N --runs N --seed N --keep` (keep the generated repo).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// xorshift64* — deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// True with probability `pct` percent.
    fn pct(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const CPU_NOW: [&str; 5] = ["100m", "250m", "500m", "1", "2"];
const MEM_NOW: [&str; 5] = ["128Mi", "256Mi", "512Mi", "1Gi", "2Gi"];
const LIM_NOW: [&str; 3] = ["512Mi", "1Gi", "2Gi"];
// Recommended values never equal (in any notation) a current value, except when the
// generator deliberately writes the same quantity in another notation.
const CPU_REC: [&str; 8] = [
    "50m", "75m", "150m", "300m", "350m", "600m", "750m", "1200m",
];
const MEM_REC: [&str; 8] = [
    "64Mi", "96Mi", "192Mi", "320Mi", "384Mi", "640Mi", "768Mi", "1536Mi",
];
const LIM_REC: [&str; 4] = ["768Mi", "1280Mi", "1536Mi", "2560Mi"];

/// The same quantity in another notation.
fn other_notation(v: &str) -> &'static str {
    match v {
        "100m" => "0.1",
        "250m" => "0.25",
        "500m" => "0.5",
        "1" => "1000m",
        "2" => "2000m",
        "128Mi" => "134217728",
        "256Mi" => "262144Ki",
        "512Mi" => "524288Ki",
        "1Gi" => "1024Mi",
        "2Gi" => "2048Mi",
        "4Gi" => "4096Mi",
        _ => "1",
    }
}

/// A container as written in a manifest, and its effective (rendered) current values.
#[derive(Clone)]
struct Ctr {
    name: &'static str,
    image: &'static str,
    cpu: Option<&'static str>,
    mem: Option<&'static str>,
    mem_limit: Option<&'static str>,
}

impl Ctr {
    fn random(rng: &mut Rng, name: &'static str, image: &'static str) -> Ctr {
        let bare = rng.pct(6);
        Ctr {
            name,
            image,
            cpu: (!bare).then(|| rng.pick(&CPU_NOW)),
            mem: (!bare).then(|| rng.pick(&MEM_NOW)),
            mem_limit: (!bare && rng.pct(40)).then(|| rng.pick(&LIM_NOW)),
        }
    }

    /// The container as a block-sequence item, `- name:` at `indent` spaces.
    fn yaml(&self, indent: usize) -> String {
        let p = " ".repeat(indent);
        let mut s = format!("{p}- name: {}\n{p}  image: {}\n", self.name, self.image);
        let _ = writeln!(s, "{p}  ports:\n{p}  - containerPort: 8080");
        if self.cpu.is_some() || self.mem.is_some() {
            let _ = writeln!(s, "{p}  resources:\n{p}    requests:");
            if let Some(c) = self.cpu {
                let _ = writeln!(s, "{p}      cpu: {c}");
            }
            if let Some(m) = self.mem {
                let _ = writeln!(s, "{p}      memory: {m}");
            }
            if let Some(l) = self.mem_limit {
                let _ = writeln!(s, "{p}    limits:\n{p}      memory: {l}");
            }
        }
        s
    }
}

const SIDECARS: [(&str, &str); 2] = [
    ("envoy", "envoyproxy/envoy:v1.31.2"),
    ("log-shipper", "fluent/fluent-bit:3.1.9"),
];

fn containers(rng: &mut Rng, image: &'static str) -> Vec<Ctr> {
    let n = 1 + rng.below(3);
    let mut out = vec![Ctr::random(rng, "app", image)];
    for &(name, img) in SIDECARS.iter().take(n - 1) {
        out.push(Ctr::random(rng, name, img));
    }
    out
}

struct Gen {
    root: PathBuf,
    rng: Rng,
    files: usize,
    bytes: usize,
    policies: String,
    workloads: usize,
    /// Values the run should change (recommended fields that differ and have a place).
    expected_changes: usize,
    /// Recommended fields deliberately equal to the current value in another notation.
    equal_other_notation: usize,
}

impl Gen {
    fn write(&mut self, rel: &str, text: &str) -> Res<()> {
        let path = self.root.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, text)?;
        if rel.ends_with(".yaml") || rel.ends_with(".yml") {
            self.files += 1;
            self.bytes += text.len();
        }
        Ok(())
    }

    /// Appends one AttunePolicy with one recommendation; `eff` are the effective current
    /// values of the containers. Counts the changes the run should make.
    fn policy(&mut self, ns: &str, kind: &str, name: &str, eff: &[Ctr], markers_only: bool) {
        let mem_limits = self.rng.pct(30);
        let mut p = format!(
            "---\napiVersion: attune.io/v1alpha1\nkind: AttunePolicy\nmetadata:\n  name: {name}\n  \
             namespace: {ns}\nspec:\n  targetRef:\n    kind: {kind}\n    name: {name}\n  \
             metricsSource:\n    prometheus:\n      address: http://prometheus-server.monitoring:80\n    \
             historyWindow: 168h\n  cpu:\n    percentile: 95\n    overhead: \"20\"\n  memory:\n    \
             percentile: 99\n    overhead: \"30\"\n"
        );
        if mem_limits {
            p.push_str("    controlledValues: RequestsAndLimits\n");
        }
        let _ = write!(
            p,
            "status:\n  conditions:\n  - type: Ready\n    status: \"True\"\n    reason: Monitoring\n  \
             workloads:\n    discovered: 1\n    withRecommendations: 1\n  recommendations:\n  \
             - workload: {name}\n    kind: {kind}\n    lastDataTime: \"2026-08-14T09:10:00Z\"\n    \
             stale: false\n    containers:\n"
        );
        for c in eff {
            let _ = writeln!(p, "    - name: {}\n      current:", c.name);
            for (k, v) in [("cpuRequest", c.cpu), ("memoryRequest", c.mem)] {
                let _ = writeln!(p, "        {k}: {}", v.unwrap_or("0"));
            }
            p.push_str("      recommended:\n");
            let mut rec = |rng: &mut Rng, key: &str, cur: Option<&str>, pool: &[&'static str]| {
                let (v, change) = match cur {
                    Some(cur) if rng.pct(8) => (other_notation(cur), false),
                    _ => (rng.pick(pool), true),
                };
                let _ = writeln!(p, "        {key}: {v}");
                (change, !change)
            };
            let mut n = 0;
            let mut eq = 0;
            if !markers_only || c.cpu.is_some() {
                let (ch, e) = rec(&mut self.rng, "cpuRequest", c.cpu, &CPU_REC);
                n += usize::from(ch);
                eq += usize::from(e);
            }
            if !markers_only || c.mem.is_some() {
                let (ch, e) = rec(&mut self.rng, "memoryRequest", c.mem, &MEM_REC);
                n += usize::from(ch);
                eq += usize::from(e);
            }
            if mem_limits && (!markers_only || c.mem_limit.is_some()) {
                let (ch, e) = rec(&mut self.rng, "memoryLimit", c.mem_limit, &LIM_REC);
                // A limit is written only where one already exists.
                n += usize::from(ch && c.mem_limit.is_some());
                eq += usize::from(e);
            }
            let _ = write!(p, "      confidence: 0.93\n      dataPoints: 2016\n");
            self.expected_changes += n;
            self.equal_other_notation += eq;
        }
        self.policies.push_str(&p);
        self.workloads += 1;
    }

    /// A Kustomize app: base + staging (usually) + production overlays. Returns the number of
    /// workloads recommended.
    fn kustomize_app(&mut self, i: usize, staging_rec: bool) -> Res<usize> {
        let name = format!("app-{i:03}");
        let dir = format!("apps/{name}");
        let ctrs = containers(&mut self.rng, "ghcr.io/acme/app:2.14.0");
        let mut deploy = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  labels:\n    \
             app.kubernetes.io/name: {name}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      \
             app.kubernetes.io/name: {name}\n  template:\n    metadata:\n      labels:\n        \
             app.kubernetes.io/name: {name}\n    spec:\n      containers:\n"
        );
        for c in &ctrs {
            deploy.push_str(&c.yaml(6));
        }
        self.write(&format!("{dir}/base/deployment.yaml"), &deploy)?;
        self.write(
            &format!("{dir}/base/service.yaml"),
            &format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  selector:\n    \
                 app.kubernetes.io/name: {name}\n  ports:\n  - name: http\n    port: 80\n    \
                 targetPort: 8080\n"
            ),
        )?;
        let mut props = String::new();
        for k in 0..(5 + self.rng.below(20)) {
            let _ = writeln!(props, "    {name}.setting{k}=value-{k}: {{not: yaml}}");
        }
        self.write(
            &format!("{dir}/base/configmap.yaml"),
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-config\ndata:\n  \
                 app.properties: |\n{props}  LOG_LEVEL: info\n"
            ),
        )?;
        self.write(
            &format!("{dir}/base/kustomization.yaml"),
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n\
             - deployment.yaml\n- service.yaml\n- configmap.yaml\n",
        )?;

        let replicas = |n: usize| {
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  \
                 replicas: {n}\n"
            )
        };
        let has_staging = !self.rng.pct(10);
        let mut recommended = 0;
        if has_staging {
            self.write(
                &format!("{dir}/overlays/staging/replicas.yaml"),
                &replicas(1),
            )?;
            self.write(
                &format!("{dir}/overlays/staging/kustomization.yaml"),
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
                 namespace: staging\nresources:\n- ../../base\npatches:\n- path: replicas.yaml\n",
            )?;
            if staging_rec {
                self.policy("staging", "Deployment", &name, &ctrs, false);
                recommended += 1;
            }
        }

        // Production: a namePrefix sometimes, and one way of already setting resources.
        let prefix = if self.rng.pct(25) { "prod-" } else { "" };
        let mut eff = ctrs.clone();
        let mut kust = format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
             namespace: production\n{}resources:\n- ../../base\n",
            if prefix.is_empty() {
                String::new()
            } else {
                format!("namePrefix: {prefix}\n")
            }
        );
        let mut patches = vec!["- path: replicas.yaml\n".to_owned()];
        self.write(
            &format!("{dir}/overlays/production/replicas.yaml"),
            &replicas(4),
        )?;
        let app_patch = |cpu: &str, mem: Option<&str>, lim: Option<&str>, indent: usize| {
            let p = " ".repeat(indent);
            let mut s = format!(
                "{p}apiVersion: apps/v1\n{p}kind: Deployment\n{p}metadata:\n{p}  name: {name}\n\
                 {p}spec:\n{p}  template:\n{p}    spec:\n{p}      containers:\n{p}      \
                 - name: app\n{p}        resources:\n{p}          requests:\n{p}            \
                 cpu: \"{cpu}\"\n"
            );
            if let Some(m) = mem {
                let _ = writeln!(s, "{p}            memory: {m}");
            }
            if let Some(l) = lim {
                let _ = writeln!(s, "{p}          limits:\n{p}            memory: {l}");
            }
            s
        };
        match self.rng.below(10) {
            0..=2 => {
                // An existing resources patch file setting the app's cpu.
                self.write(
                    &format!("{dir}/overlays/production/resources.yaml"),
                    &format!(
                        "# Production runs hotter than staging.\n{}",
                        app_patch("1", None, None, 0)
                    ),
                )?;
                patches.push("- path: resources.yaml\n".to_owned());
                eff[0].cpu = Some("1");
            }
            3..=4 => {
                // An inline patch with a target.
                patches.push(format!(
                    "- target:\n    kind: Deployment\n    name: {name}\n  patch: |\n{}",
                    app_patch("2", Some("1Gi"), None, 4)
                ));
                eff[0].cpu = Some("2");
                eff[0].mem = Some("1Gi");
            }
            5 => {
                // A component (production only) whose patch sets the app's resources.
                let comp = format!("{dir}/components/large");
                self.write(
                    &format!("{comp}/resources.yaml"),
                    &app_patch("2", Some("4Gi"), Some("4Gi"), 0),
                )?;
                self.write(
                    &format!("{comp}/kustomization.yaml"),
                    "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n\
                     - path: resources.yaml\n",
                )?;
                kust.push_str("components:\n- ../../components/large\n");
                eff[0].cpu = Some("2");
                eff[0].mem = Some("4Gi");
                eff[0].mem_limit = Some("4Gi");
            }
            _ => {}
        }
        kust.push_str("patches:\n");
        for p in &patches {
            kust.push_str(p);
        }
        self.write(
            &format!("{dir}/overlays/production/kustomization.yaml"),
            &kust,
        )?;
        self.policy(
            "production",
            "Deployment",
            &format!("{prefix}{name}"),
            &eff,
            false,
        );
        Ok(recommended + 1)
    }

    fn workload_doc(
        &mut self,
        kind: &str,
        name: &str,
        ns: &str,
        indent: usize,
    ) -> (String, Vec<Ctr>) {
        let ctrs = containers(&mut self.rng, "ghcr.io/acme/svc:1.0.0");
        let p = " ".repeat(indent);
        let mut s = format!(
            "apiVersion: apps/v1\n{p}kind: {kind}\n{p}metadata:\n{p}  name: {name}\n{p}  \
             namespace: {ns}\n{p}spec:\n"
        );
        if kind != "DaemonSet" {
            let _ = writeln!(s, "{p}  replicas: 2");
        }
        if kind == "StatefulSet" {
            let _ = writeln!(s, "{p}  serviceName: {name}");
        }
        let _ = write!(
            s,
            "{p}  selector:\n{p}    matchLabels:\n{p}      app: {name}\n{p}  template:\n{p}    \
             metadata:\n{p}      labels:\n{p}        app: {name}\n{p}    spec:\n{p}      containers:\n"
        );
        for c in &ctrs {
            s.push_str(&c.yaml(indent + 6));
        }
        (s, ctrs)
    }

    fn service_doc(name: &str, ns: &str, indent: usize) -> String {
        let p = " ".repeat(indent);
        format!(
            "apiVersion: v1\n{p}kind: Service\n{p}metadata:\n{p}  name: {name}\n{p}  namespace: {ns}\n\
             {p}spec:\n{p}  selector:\n{p}    app: {name}\n{p}  ports:\n{p}  - port: 80\n{p}    \
             targetPort: 8080\n"
        )
    }

    /// A plain multi-document file: workload + Service (+ ConfigMap sometimes).
    fn plain(&mut self, i: usize, recommend: bool) -> Res<()> {
        let kind = match self.rng.below(20) {
            0..=1 => "StatefulSet",
            2 => "DaemonSet",
            _ => "Deployment",
        };
        let name = format!("svc-{i:04}");
        let (w, ctrs) = self.workload_doc(kind, &name, "plain", 0);
        let mut text = format!("# {name}: owned by team-{}\n---\n{w}---\n", i % 25);
        text.push_str(&Self::service_doc(&name, "plain", 0));
        if self.rng.pct(40) {
            let _ = write!(
                text,
                "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-env\n  namespace: plain\n\
                 data:\n  MODE: production\n"
            );
        }
        self.write(&format!("plain/team-{:02}/{name}.yaml", i % 25), &text)?;
        if recommend {
            self.policy("plain", kind, &name, &ctrs, false);
        }
        Ok(())
    }

    /// A `kind: List` file with a Service and a Deployment.
    fn list(&mut self, i: usize) -> Res<()> {
        let name = format!("list-svc-{i:03}");
        let (w, ctrs) = self.workload_doc("Deployment", &name, "plain", 2);
        let text = format!(
            "apiVersion: v1\nkind: List\nitems:\n- {}- {}",
            Self::service_doc(&name, "plain", 2),
            w
        );
        self.write(&format!("lists/{name}.yaml"), &text)?;
        self.policy("plain", "Deployment", &name, &ctrs, false);
        Ok(())
    }

    /// A Helm chart (templates with `{{`) and production/staging values files; production
    /// carries `$attune` markers.
    fn helm(&mut self, i: usize) -> Res<()> {
        let name = format!("helm-{i:03}");
        let chart = format!("charts/{name}");
        self.write(
            &format!("{chart}/Chart.yaml"),
            &format!(
                "apiVersion: v2\nname: {name}\ndescription: chart {i}\ntype: application\n\
                 version: 0.7.{i}\nappVersion: \"5.2.0\"\n"
            ),
        )?;
        self.write(
            &format!("{chart}/values.yaml"),
            "replicaCount: 1\nimage:\n  repository: ghcr.io/acme/web\n  tag: \"\"\nresources: {}\n",
        )?;
        self.write(
            &format!("{chart}/templates/deployment.yaml"),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"web.fullname\" . }}\n\
             spec:\n  replicas: {{ .Values.replicaCount }}\n  template:\n    spec:\n      containers:\n\
             \x20       - name: web\n          image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n\
             \x20         resources:\n            {{- toYaml .Values.resources | nindent 12 }}\n",
        )?;
        self.write(
            &format!("{chart}/templates/service.yaml"),
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ include \"web.fullname\" . }}\n\
             spec:\n  ports:\n  - port: {{ .Values.service.port }}\n",
        )?;
        self.write(
            &format!("{chart}/templates/_helpers.tpl"),
            "{{- define \"web.fullname\" -}}\n{{- .Release.Name | trunc 63 }}\n{{- end }}\n",
        )?;
        let c = Ctr::random(&mut self.rng, "web", "ghcr.io/acme/web");
        let c = Ctr {
            cpu: c.cpu.or(Some("500m")),
            mem: c.mem.or(Some("512Mi")),
            ..c
        };
        let marker = |field: &str| format!("# {{\"$attune\": \"production/{name}:web:{field}\"}}");
        let mut values = format!(
            "# Production values for {name} (Argo CD: helm.valueFiles).\nreplicaCount: 4\nimage:\n  \
             repository: ghcr.io/acme/web\n  tag: \"5.2.0\"\nresources:\n  requests:\n    \
             cpu: {} {}\n    memory: {} {}\n",
            c.cpu.unwrap_or("1"),
            marker("cpu-request"),
            c.mem.unwrap_or("1Gi"),
            marker("memory-request")
        );
        if let Some(l) = c.mem_limit {
            let _ = write!(
                values,
                "  limits:\n    memory: {l} {}\n",
                marker("memory-limit")
            );
        }
        self.write(
            &format!("environments/production/{name}-values.yaml"),
            &values,
        )?;
        self.write(
            &format!("environments/staging/{name}-values.yaml"),
            "replicaCount: 1\nresources:\n  requests:\n    cpu: 100m\n    memory: 128Mi\n",
        )?;
        self.policy("production", "Deployment", &name, &[c], true);
        Ok(())
    }

    /// Filler without recommended workloads: ConfigMaps, Services, CRDs, RBAC, and a few
    /// unrecommended Deployments.
    fn filler(&mut self, i: usize) -> Res<()> {
        let area = i % 40;
        let name = format!("filler-{i:05}");
        let text = match self.rng.below(100) {
            0..=49 => {
                let mut s = format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: infra\n  \
                     labels:\n    app.kubernetes.io/part-of: platform\ndata:\n"
                );
                for k in 0..(3 + self.rng.below(30)) {
                    let _ = writeln!(s, "  key-{k}: \"value {k} for {name}\"");
                }
                if self.rng.pct(30) {
                    s.push_str(
                        "  config.yaml: |\n    server:\n      port: 8080\n      tls: true\n",
                    );
                }
                s
            }
            50..=74 => Self::service_doc(&name, "infra", 0),
            75..=79 => {
                let mut s = format!(
                    "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  \
                     name: widgets{i}.example.com\nspec:\n  group: example.com\n  names:\n    \
                     kind: Widget{i}\n    plural: widgets{i}\n  scope: Namespaced\n  versions:\n  \
                     - name: v1\n    served: true\n    storage: true\n    schema:\n      \
                     openAPIV3Schema:\n        type: object\n        properties:\n"
                );
                for k in 0..(20 + self.rng.below(200)) {
                    let _ = write!(
                        s,
                        "          field{k}:\n            type: string\n            \
                         description: \"Field {k} of the widget; free text, 'quoted' and: colons\"\n"
                    );
                }
                s
            }
            80..=89 => format!(
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: {name}\n  \
                 namespace: infra\nrules:\n- apiGroups: [\"\"]\n  resources: [\"configmaps\", \"secrets\"]\n  \
                 verbs: [\"get\", \"list\", \"watch\"]\n---\napiVersion: rbac.authorization.k8s.io/v1\n\
                 kind: RoleBinding\nmetadata:\n  name: {name}\n  namespace: infra\nroleRef:\n  \
                 apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: {name}\nsubjects:\n\
                 - kind: ServiceAccount\n  name: {name}\n  namespace: infra\n"
            ),
            _ => self.workload_doc("Deployment", &name, "infra", 0).0,
        };
        self.write(&format!("platform/area-{area:02}/{name}.yaml"), &text)
    }
}

/// Generates the repository and the policies. Returns the generator (counts, policies text).
fn generate(root: &Path, files: usize, workloads: usize, seed: u64) -> Res<Gen> {
    let mut g = Gen {
        root: root.to_owned(),
        rng: Rng(seed | 1),
        files: 0,
        bytes: 0,
        policies: String::new(),
        workloads: 0,
        expected_changes: 0,
        equal_other_notation: 0,
    };
    let scale = |n: usize| (n * files).div_ceil(10_000).max(1);
    let (apps, lists, charts) = (scale(300), scale(150), scale(100));
    for i in 0..apps {
        g.kustomize_app(i, i % 3 != 0)?;
    }
    for i in 0..lists {
        g.list(i)?;
    }
    for i in 0..charts {
        g.helm(i)?;
    }
    let plain = workloads
        .checked_sub(g.workloads)
        .ok_or("too few workloads for this many files")?;
    // Plain files: the recommended ones and a third as many unrecommended.
    for i in 0..plain + plain / 3 {
        g.plain(i, i < plain)?;
    }
    let filler = files
        .checked_sub(g.files)
        .ok_or("too few files for this many workloads")?;
    for i in 0..filler {
        g.filler(i)?;
    }
    assert_eq!(g.files, files);
    assert_eq!(g.workloads, workloads);
    Ok(g)
}

fn yaml_files(root: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            yaml_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Baseline: walk the tree and read every file as a string. Returns total bytes.
fn read_all(root: &Path) -> Res<usize> {
    let mut paths = Vec::new();
    yaml_files(root, &mut paths)?;
    let mut total = 0;
    for p in &paths {
        total += std::fs::read_to_string(p)?.len();
    }
    Ok(total)
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn min_median(v: &[f64]) -> (f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    (s[0], s[s.len() / 2])
}

/// One propose run.
struct RunResult {
    wall: Duration,
    exit: i32,
    /// From /usr/bin/time: user+sys seconds and max RSS in KiB.
    cpu_s: Option<f64>,
    rss_kib: Option<u64>,
    summary: String,
    problem_lines: Vec<String>,
}

fn propose(
    attune: &Path,
    policies: &Path,
    repo: &Path,
    scratch: &Path,
    time: bool,
) -> Res<RunResult> {
    let stderr_path = scratch.join("stderr.txt");
    let time_path = scratch.join("time.txt");
    let mut cmd = if time {
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f")
            .arg("%e %U %S %M")
            .arg("-o")
            .arg(&time_path)
            .arg(attune);
        c
    } else {
        Command::new(attune)
    };
    cmd.arg("propose")
        .arg("--policies")
        .arg(policies)
        .arg("--repo")
        .arg(repo)
        .arg("--write")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path)?);
    let start = Instant::now();
    let status = cmd.status()?;
    let wall = start.elapsed();
    let stderr = std::fs::read_to_string(&stderr_path)?;
    let (mut cpu_s, mut rss_kib) = (None, None);
    if time {
        let t = std::fs::read_to_string(&time_path)?;
        // The last line holds the format (a non-zero exit adds a "Command exited" line first).
        let f: Vec<&str> = t.lines().last().unwrap_or("").split_whitespace().collect();
        if let [_, user, sys, rss] = f.as_slice() {
            cpu_s = Some(user.parse::<f64>()? + sys.parse::<f64>()?);
            rss_kib = Some(rss.parse()?);
        }
    }
    Ok(RunResult {
        wall,
        exit: status.code().unwrap_or(-1),
        cpu_s,
        rss_kib,
        summary: stderr
            .lines()
            .find(|l| l.starts_with("attune: "))
            .unwrap_or("(no summary)")
            .to_owned(),
        problem_lines: stderr
            .lines()
            .filter(|l| l.starts_with("problem:"))
            .map(str::to_owned)
            .collect(),
    })
}

/// `attune: 1234 value(s) in 567 file(s) (89 new) written, 0 problem(s)` → (1234, 567, 89, 0).
fn parse_summary(s: &str) -> Option<(usize, usize, usize, usize)> {
    let num_before = |marker: &str| -> Option<usize> {
        let end = s.find(marker)?;
        let start = s[..end].rfind([' ', '('])? + 1;
        s[start..end].parse().ok()
    };
    Some((
        num_before(" value(s)")?,
        num_before(" file(s)")?,
        num_before(" new)").unwrap_or(0),
        num_before(" problem(s)")?,
    ))
}

/// In-process timing of each phase of `propose --write` through the library API, on `repo`
/// (which is written to). Returns (phase, ms) pairs.
fn phases(policies: &Path, repo: &Path) -> Res<Vec<(&'static str, f64)>> {
    let mut out = Vec::new();
    let t = Instant::now();
    let text = std::fs::read_to_string(policies)?;
    let loaded = attune::crd::load_policy_files(&text)?;
    let wants = attune::propose::wants(&loaded);
    out.push((
        "policies: read + load_policy_files + wants",
        ms(t.elapsed()),
    ));
    let t = Instant::now();
    let (raw, _) = attune::repo::walk::read_tree(repo)?;
    out.push(("walk::read_tree (walk + read)", ms(t.elapsed())));
    drop(raw);
    let t = Instant::now();
    let loaded_repo = attune::repo::ManifestTree::load(repo)?;
    out.push(("Repo::load (read_tree + parse all)", ms(t.elapsed())));
    let t = Instant::now();
    let plan = attune::repo::resolve(&loaded_repo, &attune::repo::Scope::whole(), &wants);
    out.push(("repo::resolve (index + render + plan)", ms(t.elapsed())));
    let t = Instant::now();
    let outcome = attune::propose::apply(&loaded_repo, plan);
    out.push(("propose::apply (edit + verify)", ms(t.elapsed())));
    let t = Instant::now();
    attune::propose::write::write_all(repo, &outcome.files)?;
    out.push(("write::write_all (tmp + rename)", ms(t.elapsed())));
    let t = Instant::now();
    drop(outcome);
    drop(loaded_repo);
    out.push(("drop", ms(t.elapsed())));
    Ok(out)
}

fn main() -> Res<()> {
    let mut files = 10_000usize;
    let mut workloads = 1_000usize;
    let mut runs = 5usize;
    let mut seed = 0x5EED_A77E_u64;
    let mut keep = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || -> Res<u64> { Ok(args.next().ok_or("missing value")?.parse()?) };
        match a.as_str() {
            "--files" => files = usize::try_from(val()?)?,
            "--workloads" => workloads = usize::try_from(val()?)?,
            "--runs" => runs = usize::try_from(val()?)?.max(1),
            "--seed" => seed = val()?,
            "--keep" => keep = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let attune = std::env::current_exe()?.with_file_name("attune");
    if !attune.is_file() {
        return Err(format!(
            "{} not found; run cargo build --release --bins",
            attune.display()
        )
        .into());
    }
    let have_time = Path::new("/usr/bin/time").is_file();
    if !have_time {
        eprintln!("note: /usr/bin/time missing (apt-get install time); peak RSS not measured");
    }

    let base = std::env::temp_dir().join(format!(
        "attune-bench-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos()
    ));
    let repo = base.join("repo");
    let t = Instant::now();
    let g = generate(&repo, files, workloads, seed)?;
    let policies = base.join("policies.yaml");
    std::fs::write(&policies, &g.policies)?;
    eprintln!(
        "generated {} YAML files ({:.1} MiB), {} workloads, policies {:.1} MiB in {:.0} ms under {}",
        g.files,
        g.bytes as f64 / 1048576.0,
        g.workloads,
        g.policies.len() as f64 / 1048576.0,
        ms(t.elapsed()),
        base.display()
    );

    // Baseline: read (first pass warms the page cache and is not counted) and copy.
    read_all(&repo)?;
    let mut read_ms = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        read_all(&repo)?;
        read_ms.push(ms(t.elapsed()));
    }

    let mut copy_ms = Vec::new();
    let mut wall_ms = Vec::new();
    let mut cpu_ms = Vec::new();
    let mut rss = Vec::new();
    let mut last = None;
    for r in 0..runs {
        let copy = base.join(format!("run-{r}"));
        let t = Instant::now();
        copy_tree(&repo, &copy)?;
        copy_ms.push(ms(t.elapsed()));
        let res = propose(&attune, &policies, &copy, &base, have_time)?;
        wall_ms.push(ms(res.wall));
        if let Some(c) = res.cpu_s {
            cpu_ms.push(c * 1000.0);
        }
        rss.extend(res.rss_kib);
        eprintln!(
            "run {}: {:.0} ms, exit {}, {}",
            r + 1,
            ms(res.wall),
            res.exit,
            res.summary
        );
        if r + 1 < runs {
            std::fs::remove_dir_all(&copy)?;
        }
        last = Some((copy, res));
    }
    let Some((written, res)) = last else {
        return Err("no run".into());
    };

    // Where the time goes: the same work in-process, phase by phase, on a fresh copy.
    let phase_copy = base.join("phases");
    copy_tree(&repo, &phase_copy)?;
    let phase_ms = phases(&policies, &phase_copy)?;

    // Idempotence: a second run on the written copy must change nothing.
    let again = propose(&attune, &policies, &written, &base, false)?;

    let (changes, changed_files, new_files, problems) =
        parse_summary(&res.summary).ok_or("cannot parse the summary line")?;
    let (read_min, read_med) = min_median(&read_ms);
    let (copy_min, copy_med) = min_median(&copy_ms);
    let (wall_min, wall_med) = min_median(&wall_ms);
    let peak_mib = rss.iter().max().map(|k| *k as f64 / 1024.0);

    println!();
    println!("| metric                                | value |");
    println!("|---------------------------------------|-------|");
    println!(
        "| YAML files                            | {} ({:.1} MiB) |",
        g.files,
        g.bytes as f64 / 1048576.0
    );
    println!(
        "| recommended workloads                 | {} |",
        g.workloads
    );
    println!("| baseline read (walk+read) min/median  | {read_min:.1} / {read_med:.1} ms |");
    println!("| baseline copy tree min/median         | {copy_min:.1} / {copy_med:.1} ms |");
    println!("| propose --write wall min/median (N={runs}) | {wall_min:.0} / {wall_med:.0} ms |");
    if !cpu_ms.is_empty() {
        let (c_min, c_med) = min_median(&cpu_ms);
        println!("| propose user+sys CPU min/median       | {c_min:.0} / {c_med:.0} ms |");
    }
    println!(
        "| ratio propose(min) / read(min)        | {:.1}x |",
        wall_min / read_min
    );
    println!(
        "| ratio propose(min) / copy(min)        | {:.1}x |",
        wall_min / copy_min
    );
    match peak_mib {
        Some(m) => println!("| peak RSS (max over runs)              | {m:.1} MiB |"),
        None => println!("| peak RSS                              | n/a |"),
    }
    println!("| exit code                             | {} |", res.exit);
    println!(
        "| values changed / expected             | {changes} / {} ({} equal in other notation skipped) |",
        g.expected_changes, g.equal_other_notation
    );
    println!("| files changed (new)                   | {changed_files} ({new_files}) |");
    println!("| problems                              | {problems} |");
    println!(
        "| second run on written copy            | exit {}, {} |",
        again.exit, again.summary
    );
    println!();

    println!("in-process phases (one run, library API):");
    for (name, t) in &phase_ms {
        println!("  {name:<42} {t:>7.1} ms");
    }
    println!();
    let within = wall_min <= 1000.0 && peak_mib.is_none_or(|m| m <= 200.0);
    println!(
        "budget (<= 1000 ms wall, <= 200 MiB): {}",
        if within { "met" } else { "NOT met" }
    );
    for p in res.problem_lines.iter().take(10) {
        println!("{p}");
    }
    let mut ok = true;
    if !matches!(res.exit, 0 | 1) {
        println!("FAIL: exit code {}", res.exit);
        ok = false;
    }
    if changes == 0 || changes > g.expected_changes {
        println!(
            "FAIL: {changes} values changed, expected 1..={}",
            g.expected_changes
        );
        ok = false;
    } else if changes != g.expected_changes {
        println!(
            "note: {changes} values changed, the generator expected {}",
            g.expected_changes
        );
    }
    if parse_summary(&again.summary).is_none_or(|s| s.0 != 0) {
        println!(
            "FAIL: the second run still changes values: {}",
            again.summary
        );
        ok = false;
    }

    if keep {
        eprintln!("kept {}", base.display());
    } else {
        std::fs::remove_dir_all(&base)?;
    }
    if ok {
        Ok(())
    } else {
        Err("benchmark checks failed".into())
    }
}
