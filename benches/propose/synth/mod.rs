//! The synthetic GitOps repository of the propose bench, generated deterministically
//! (fixed-seed xorshift): exactly `files` YAML files mixing every layout propose understands —
//! Kustomize apps (a base shared by staging and production overlays, namePrefix, replica
//! patches, existing resources patches, inline patches, components), plain multi-document
//! directories, `kind: List` files, Helm charts (templates with `{{` plus values files with
//! `$attune` markers) and filler (ConfigMaps, Services, CRDs, RBAC) — and a policies file with
//! exactly `workloads` recommended workloads, some equal to the current value in another
//! notation. With `odd`, it adds files the fast reader must treat like the reference reader
//! (anchors, flow style, multi-document, JSON 6902 patches, broken and non-UTF-8 files); the
//! expected counts then cover only the regular part. Shared with `tests/it/propose_fast_path.rs`.

mod layouts;
mod odd;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

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

pub struct Gen {
    root: PathBuf,
    rng: Rng,
    pub files: usize,
    pub bytes: usize,
    pub policies: String,
    pub workloads: usize,
    /// Values the run should change (recommended fields that differ and have a place).
    pub expected_changes: usize,
    /// Recommended fields deliberately equal to the current value in another notation.
    pub equal_other_notation: usize,
}

impl Gen {
    /// The policies as one `kind: List` document, as `kubectl get attunepolicies -A -o yaml`
    /// gives them: a file of more than 1,024 documents is refused by the policy reader.
    pub fn policies_list(&self) -> String {
        let mut out = String::from("apiVersion: v1\nkind: List\nitems:\n");
        for doc in self.policies.split("---\n").filter(|d| !d.is_empty()) {
            for (i, line) in doc.lines().enumerate() {
                out.push_str(if i == 0 { "- " } else { "  " });
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    pub(crate) fn write(&mut self, rel: &str, text: &str) -> Res<()> {
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
    /// A file that is not UTF-8 text (counted like any other YAML file).
    fn write_bytes(&mut self, rel: &str, bytes: &[u8]) -> Res<()> {
        let path = self.root.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, bytes)?;
        self.files += 1;
        self.bytes += bytes.len();
        Ok(())
    }

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
}

/// Generates the repository and the policies. Returns the generator (counts, policies text).
pub fn generate(root: &Path, files: usize, workloads: usize, seed: u64, odd: bool) -> Res<Gen> {
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
    if odd {
        for i in 0..scale(20) {
            g.oddities(i)?;
        }
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
    if g.files != files || g.workloads != workloads {
        return Err(format!(
            "generated {} files and {} workloads, not {files} and {workloads}",
            g.files, g.workloads
        )
        .into());
    }
    Ok(g)
}
