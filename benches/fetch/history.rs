//! The generated history of the fetch bench: 300 GitOps-like manifests edited commit by
//! commit (image bumps, replicas, resources, log level), as one `git fast-import` stream.

use std::io::Write as _;

use crate::APPS;

/// SplitMix64: deterministic across platforms and releases, which `rand` does not promise.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

const TEAMS: [&str; 8] = [
    "payments", "search", "identity", "catalog", "checkout", "platform", "data", "growth",
];
const PARTS: [&str; 16] = [
    "api",
    "worker",
    "gateway",
    "indexer",
    "scheduler",
    "cache",
    "web",
    "auth",
    "billing",
    "notifier",
    "ingest",
    "export",
    "render",
    "ledger",
    "router",
    "audit",
];
const CPU_M: [u32; 6] = [50, 100, 250, 500, 1000, 2000];
const MEM_MI: [u32; 6] = [64, 128, 256, 512, 1024, 2048];
const LOG_LEVELS: [&str; 3] = ["info", "debug", "warn"];

/// One workload's manifest, as state so that each commit edits the previous version (as
/// people and CI bots do) instead of rewriting it — which is what makes deltas realistic.
struct App {
    name: String,
    team: &'static str,
    replicas: u32,
    minor: u32,
    patch: u32,
    cpu_m: u32,
    mem_mi: u32,
    log_level: &'static str,
}

impl App {
    fn new(i: usize, rng: &mut SplitMix) -> App {
        let team = TEAMS[i % TEAMS.len()];
        // The index keeps the names unique; the words make them look like real ones.
        let name = format!("{team}-{}-{i:03}", rng.pick(&PARTS));
        App {
            name,
            team,
            replicas: 1 + rng.below(6) as u32,
            minor: rng.below(20) as u32,
            patch: rng.below(10) as u32,
            cpu_m: rng.pick(&CPU_M),
            mem_mi: rng.pick(&MEM_MI),
            log_level: "info",
        }
    }

    fn path(&self) -> String {
        format!("apps/{}/deployment.yaml", self.name)
    }

    fn yaml(&self) -> String {
        let App {
            name,
            team,
            replicas,
            minor,
            patch,
            cpu_m,
            mem_mi,
            log_level,
        } = self;
        format!(
            "apiVersion: apps/v1\n\
             kind: Deployment\n\
             metadata:\n  name: {name}\n  namespace: {team}\n  labels:\n    \
             app.kubernetes.io/name: {name}\n    app.kubernetes.io/part-of: {team}\n\
             spec:\n  replicas: {replicas}\n  revisionHistoryLimit: 5\n  selector:\n    \
             matchLabels:\n      app.kubernetes.io/name: {name}\n  template:\n    metadata:\n      \
             labels:\n        app.kubernetes.io/name: {name}\n        \
             app.kubernetes.io/part-of: {team}\n    spec:\n      serviceAccountName: {name}\n      \
             containers:\n      - name: app\n        \
             image: registry.example.com/{team}/{name}:1.{minor}.{patch}\n        \
             ports:\n        - name: http\n          containerPort: 8080\n        \
             env:\n        - name: LOG_LEVEL\n          value: {log_level}\n        \
             readinessProbe:\n          httpGet:\n            path: /healthz\n            port: http\n        \
             resources:\n          requests:\n            cpu: {cpu_m}m\n            memory: {mem_mi}Mi\n          \
             limits:\n            memory: {lim}Mi\n",
            lim = mem_mi * 2
        )
    }

    /// Changes the manifest the way a GitOps repository usually changes (mostly image bumps)
    /// and says how, for the commit message.
    fn change(&mut self, rng: &mut SplitMix) -> String {
        match rng.below(10) {
            0..=5 => {
                self.patch += 1;
                if rng.below(8) == 0 {
                    self.minor += 1;
                    self.patch = 0;
                }
                format!("deploy {} 1.{}.{}", self.name, self.minor, self.patch)
            }
            6 | 7 => {
                self.replicas = 1 + rng.below(8) as u32;
                format!("scale {} to {}", self.name, self.replicas)
            }
            8 => {
                self.cpu_m = rng.pick(&CPU_M);
                self.mem_mi = rng.pick(&MEM_MI);
                format!("resize {}", self.name)
            }
            _ => {
                self.log_level = rng.pick(&LOG_LEVELS);
                format!("{}: log level {}", self.name, self.log_level)
            }
        }
    }
}

/// The history of `main`, kept in memory so that later batches continue it.
pub struct History {
    rng: SplitMix,
    apps: Vec<App>,
    commits: usize,
    /// Commit date, seconds since the epoch; fixed start so commit ids are reproducible.
    clock: u64,
}

fn data(out: &mut Vec<u8>, bytes: &[u8]) {
    let _ = writeln!(out, "data {}", bytes.len());
    out.extend_from_slice(bytes);
    out.push(b'\n');
}

impl History {
    pub fn new(seed: u64) -> History {
        let mut rng = SplitMix(seed);
        let apps = (0..APPS).map(|i| App::new(i, &mut rng)).collect();
        History {
            rng,
            apps,
            commits: 0,
            clock: 1_700_000_000,
        }
    }

    /// A `git fast-import` stream of `n` more commits on `main`.
    pub fn stream(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for k in 0..n {
            self.clock += 60 + self.rng.below(3600) as u64;
            let mut files = Vec::new();
            let message = if self.commits == 0 {
                files.extend(0..self.apps.len());
                "initial manifests".to_owned()
            } else {
                let want = 1 + self.rng.below(3);
                while files.len() < want {
                    let i = self.rng.below(self.apps.len());
                    if !files.contains(&i) {
                        files.push(i);
                    }
                }
                let parts: Vec<String> = files
                    .iter()
                    .map(|&i| self.apps[i].change(&mut self.rng))
                    .collect();
                parts.join("; ")
            };
            let who = if self.rng.below(3) == 0 {
                "Release Bot <release-bot@example.com>"
            } else {
                "Dev Person <dev@example.com>"
            };
            let _ = writeln!(out, "commit refs/heads/main");
            let _ = writeln!(out, "author {who} {} +0000", self.clock);
            let _ = writeln!(out, "committer {who} {} +0000", self.clock);
            data(&mut out, message.as_bytes());
            // A new fast-import process knows nothing of the branch: continue it explicitly
            // (`^0` so the existing tip is read before fast-import starts updating the ref).
            if k == 0 && self.commits > 0 {
                let _ = writeln!(out, "from refs/heads/main^0");
            }
            for &i in &files {
                let _ = writeln!(out, "M 100644 inline {}", self.apps[i].path());
                data(&mut out, self.apps[i].yaml().as_bytes());
            }
            out.push(b'\n');
            self.commits += 1;
        }
        // With `--done`, a stream cut short is an error instead of a silently shorter history.
        out.extend_from_slice(b"done\n");
        out
    }
}
