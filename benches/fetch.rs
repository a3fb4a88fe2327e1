//! The fetch bench: shows that the git cache ([`attune::git::Workspace`]) fetches
//! incrementally — what a later run transfers follows the number of new commits, not the size
//! of the repository. Not a test; run it by hand.
//!
//! It generates, deterministically (fixed seed, fixed commit dates, so the same commit ids on
//! every run), a bare repository of `--commits` commits (default 5,000) on `main` over a
//! GitOps-like tree of 300 `apps/<name>/deployment.yaml` files: the first commit writes them
//! all, every later one changes 1–3 of them (image bumps, replicas, resources, log level). The
//! history goes in through one `git fast-import` stream, not one git process per commit.
//!
//! The repository is served over real git smart HTTP — lighttpd + `git http-backend` on
//! 127.0.0.1 with basic auth (the configuration of `tests/servers/git-http.md`) — and measured
//! the way the pull-request lifecycle uses the cache (`Workspace::open`, `remote_heads`, then
//! `fetch(&["main"], None)` when the tip is unknown):
//!
//! 1. a cold fetch into an empty cache;
//! 2. a run with nothing new (the tip is known, so the lifecycle skips the fetch), plus a fetch
//!    anyway to show what it transfers;
//! 3. a run after 10 new commits, then 4. after 100 more;
//!
//! with, in the same run for comparison, `git clone --mirror` by the git CLI (bytes = size of
//! the pack it keeps) and a cold `fetch` with depth 1.
//!
//! Run: `cargo bench --bench fetch` (options after `--`)
//! Options: `--commits N` (default 5000), `--keep` (keep the scratch directory).
//! Needs `git` and `lighttpd` (`apt-get install -y lighttpd`).

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use attune::git::{Credentials, FetchStats, Workspace};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const USER: &str = "bench";
const TOKEN: &str = "bench-tok-5c2e91";
const REPO: &str = "gitops";
const APPS: usize = 300;
const SEED: u64 = 0xA77E_F37C;
/// The commits a user pushes between two runs in steps 3 and 4.
const INCREMENTS: [usize; 2] = [10, 100];

/// Turns any error into one that says which step failed.
trait Context<T> {
    fn ctx(self, what: impl std::fmt::Display) -> Res<T>;
}

impl<T, E: std::fmt::Display> Context<T> for Result<T, E> {
    fn ctx(self, what: impl std::fmt::Display) -> Res<T> {
        self.map_err(|e| format!("{what}: {e}").into())
    }
}

impl<T> Context<T> for Option<T> {
    fn ctx(self, what: impl std::fmt::Display) -> Res<T> {
        self.ok_or_else(|| what.to_string().into())
    }
}

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
struct History {
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
    fn new(seed: u64) -> History {
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
    fn stream(&mut self, n: usize) -> Vec<u8> {
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

/// A git CLI command isolated from the machine's configuration: no system or user config (so no
/// credential helper stores the password), never prompting, never through a proxy.
fn git(home: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", home)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("NO_PROXY", "127.0.0.1")
        .env("no_proxy", "127.0.0.1");
    for var in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn run(cmd: &mut Command, what: &str) -> Res<String> {
    let out = cmd.output().ctx(format!("{what}: cannot run"))?;
    if !out.status.success() {
        return Err(format!(
            "{what}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn fast_import(home: &Path, bare: &Path, stream: &[u8]) -> Res<()> {
    let mut child = git(home)
        .arg("--git-dir")
        .arg(bare)
        .args(["fast-import", "--quiet", "--done"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .ctx("starting git fast-import")?;
    let written = child
        .stdin
        .take()
        .ctx("git fast-import has no stdin")?
        .write_all(stream);
    // Wait before reporting a write error: fast-import's stderr says why it stopped reading.
    let out = child
        .wait_with_output()
        .ctx("waiting for git fast-import")?;
    if !out.status.success() {
        return Err(format!(
            "git fast-import: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    written.ctx("writing the git fast-import stream")
}

fn dir_bytes(dir: &Path) -> Res<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).ctx(format!("reading {}", dir.display()))? {
        let entry = entry.ctx(format!("reading {}", dir.display()))?;
        let meta = entry
            .metadata()
            .ctx(format!("{}", entry.path().display()))?;
        total += if meta.is_dir() {
            dir_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// lighttpd + `git http-backend` on 127.0.0.1 with basic auth; stopped when dropped, so also
/// when the benchmark fails half-way. (A Ctrl-C reaches it too: it is in the same foreground
/// process group.)
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(dir: &Path) -> Res<Server> {
        let lighttpd = ["/usr/sbin/lighttpd", "/usr/bin/lighttpd"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.is_file())
            .ctx("lighttpd is not installed (apt-get install -y lighttpd)")?;
        std::fs::create_dir_all(dir.join("www")).ctx("creating the document root")?;
        std::fs::write(dir.join("users"), format!("{USER}:{TOKEN}\n")).ctx("writing users")?;
        // A port from the kernel can be taken again before lighttpd binds it; then lighttpd
        // exits at once and another port is tried.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .ctx("finding a free port")?
                .port();
            // All five modules are needed: lighttpd ignores alias/setenv keys of modules it did
            // not load and every request then fails with "repository not found".
            let conf = format!(
                "server.modules = (\"mod_auth\", \"mod_authn_file\", \"mod_alias\", \"mod_setenv\", \"mod_cgi\")\n\
                 server.bind = \"127.0.0.1\"\n\
                 server.port = {port}\n\
                 server.document-root = \"{d}/www\"\n\
                 server.errorlog = \"{d}/lighttpd-error.log\"\n\
                 server.upload-dirs = (\"{d}\")\n\
                 auth.backend = \"plain\"\n\
                 auth.backend.plain.userfile = \"{d}/users\"\n\
                 auth.require = (\"\" => (\"method\" => \"basic\", \"realm\" => \"git\", \"require\" => \"valid-user\"))\n\
                 alias.url = (\"\" => \"/usr/lib/git-core/git-http-backend\")\n\
                 cgi.assign = (\"\" => \"\")\n\
                 setenv.set-environment = (\"GIT_PROJECT_ROOT\" => \"{d}/repos\", \"GIT_HTTP_EXPORT_ALL\" => \"\")\n",
                d = dir.display()
            );
            let conf_path = dir.join("lighttpd.conf");
            std::fs::write(&conf_path, conf).ctx("writing lighttpd.conf")?;
            let child = Command::new(lighttpd)
                .arg("-D")
                .arg("-f")
                .arg(&conf_path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ctx("starting lighttpd")?;
            // Owned from here on, so an early return below still stops it.
            let mut server = Server { child, port };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if server.child.try_wait().ctx("watching lighttpd")?.is_some() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Ok(server);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Err(format!(
            "lighttpd did not start; see {}",
            dir.join("lighttpd-error.log").display()
        )
        .into())
    }

    /// Without credentials: the workspace hands them to libgit2 through its callback.
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/{REPO}.git", self.port)
    }

    /// With credentials, for the git CLI baseline only.
    fn auth_url(&self) -> String {
        format!("http://{USER}:{TOKEN}@127.0.0.1:{}/{REPO}.git", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM stops lighttpd at once (SIGINT would wait for open connections); SIGKILL
        // only if it is still there after a few seconds.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One lifecycle-style run against the cache in `cache`.
struct Measured {
    /// `Workspace::open` + `remote_heads`: what every run pays.
    heads: Duration,
    /// The remote tip was already in the cache, so the lifecycle would not fetch.
    tip_known: bool,
    fetch: Option<(FetchStats, Duration)>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn measure(
    cache: &Path,
    url: &str,
    depth: Option<i32>,
    fetch_anyway: bool,
    expect: &str,
) -> Res<Measured> {
    let creds = Credentials {
        username: USER.to_owned(),
        token: TOKEN.into(),
    };
    let t = Instant::now();
    let ws = Workspace::open(cache, url, Some(creds)).ctx("opening the cache")?;
    let heads = ws.remote_heads().ctx("listing the remote")?;
    let heads_time = t.elapsed();
    let tip = *heads.get("main").ctx("the remote has no main branch")?;
    if tip.to_string() != expect {
        return Err(format!("the remote lists main at {tip}, the repository has {expect}").into());
    }
    // The lifecycle's test (src/pr/sync.rs): fetch only a tip the cache does not have.
    let tip_known = ws.has_commit(tip);
    let fetch = if tip_known && !fetch_anyway {
        None
    } else {
        let t = Instant::now();
        let stats = ws.fetch(&["main"], depth).ctx("fetching main")?;
        let took = t.elapsed();
        if ws.fetched("main") != Some(tip) || !ws.has_commit(tip) {
            return Err(format!("after the fetch the cache does not have main at {tip}").into());
        }
        Some((stats, took))
    };
    Ok(Measured {
        heads: heads_time,
        tip_known,
        fetch,
    })
}

struct Row {
    step: String,
    new_commits: Option<usize>,
    bytes: u64,
    objects: u64,
    wall: Duration,
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ratio(part: f64, whole: f64) -> String {
    if whole > 0.0 {
        format!("{:.2}%", 100.0 * part / whole)
    } else {
        "n/a".to_owned()
    }
}

struct Options {
    commits: usize,
    keep: bool,
}

fn parse_args() -> Res<Options> {
    let mut opts = Options {
        commits: 5000,
        keep: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--commits" => {
                let v = args.next().ctx("--commits needs a value")?;
                opts.commits = v.parse().ctx(format!("--commits {v}"))?;
                if opts.commits == 0 {
                    return Err("--commits must be at least 1".into());
                }
            }
            "--keep" => opts.keep = true,
            // `cargo bench` passes this to every bench binary.
            "--bench" => {}
            other => {
                return Err(
                    format!("unknown argument {other} (options: --commits N, --keep)").into(),
                );
            }
        }
    }
    Ok(opts)
}

fn bench(base: &Path, opts: &Options) -> Res<()> {
    let home = base.join("home");
    std::fs::create_dir_all(&home).ctx("creating the scratch HOME")?;
    let bare = base.join("server/repos").join(format!("{REPO}.git"));
    std::fs::create_dir_all(&bare).ctx("creating the bare repository")?;
    run(
        git(&home)
            .arg("init")
            .arg("-q")
            .arg("--bare")
            .arg("-b")
            .arg("main")
            .arg(&bare),
        "git init --bare",
    )?;
    let tip = |what: &str| -> Res<String> {
        run(
            git(&home)
                .arg("--git-dir")
                .arg(&bare)
                .args(["rev-parse", "refs/heads/main"]),
            what,
        )
    };

    let t = Instant::now();
    let mut history = History::new(SEED);
    let stream = history.stream(opts.commits);
    fast_import(&home, &bare, &stream)?;
    // A forge's repository is packed; fast-import's pack is not what a server would hold.
    run(
        git(&home)
            .arg("--git-dir")
            .arg(&bare)
            .args(["repack", "-a", "-d", "-q"]),
        "git repack",
    )?;
    let repo_bytes = dir_bytes(&bare.join("objects"))?;
    let tip0 = tip("reading the tip")?;
    eprintln!(
        "generated {} commits over {APPS} files ({:.1} MiB stream, repository objects {:.2} MiB) in {:.0} ms; main at {tip0}",
        opts.commits,
        stream.len() as f64 / 1048576.0,
        repo_bytes as f64 / 1048576.0,
        ms(t.elapsed())
    );

    let server = Server::start(&base.join("server"))?;
    let url = server.url();
    eprintln!("serving {url} (lighttpd + git http-backend, basic auth)");
    let cache = base.join("cache");
    let mut rows = Vec::new();

    // 1. Cold: an empty cache pays for the whole history once.
    let cold = measure(&cache, &url, None, false, &tip0)?;
    let (cold_stats, cold_fetch) = cold.fetch.ctx("the cold run did not fetch")?;
    rows.push(Row {
        step: "1. cold fetch, full depth (empty cache)".to_owned(),
        new_commits: Some(opts.commits),
        bytes: cold_stats.received_bytes as u64,
        objects: cold_stats.received_objects as u64,
        wall: cold.heads + cold_fetch,
    });

    // Baselines against the same repository state as the cold fetch.
    let mirror = base.join("mirror.git");
    let t = Instant::now();
    run(
        git(&home)
            .args(["clone", "--mirror", "--quiet", &server.auth_url()])
            .arg(&mirror),
        "git clone --mirror",
    )?;
    let mirror_wall = t.elapsed();
    let mut mirror_pack = 0;
    for entry in std::fs::read_dir(mirror.join("objects/pack")).ctx("reading the mirror's packs")? {
        let path = entry.ctx("reading the mirror's packs")?.path();
        if path.extension().is_some_and(|e| e == "pack") {
            mirror_pack += path.metadata().ctx(format!("{}", path.display()))?.len();
        }
    }
    let counts = run(
        git(&home)
            .arg("--git-dir")
            .arg(&mirror)
            .args(["count-objects", "-v"]),
        "git count-objects",
    )?;
    let mirror_objects = counts
        .lines()
        .find_map(|l| l.strip_prefix("in-pack: "))
        .ctx("git count-objects printed no in-pack line")?
        .parse()
        .ctx("git count-objects in-pack")?;
    let baseline_mirror = Row {
        step: "baseline: git clone --mirror (git CLI, pack size)".to_owned(),
        new_commits: Some(opts.commits),
        bytes: mirror_pack,
        objects: mirror_objects,
        wall: mirror_wall,
    };
    let shallow = measure(&base.join("cache-depth1"), &url, Some(1), false, &tip0)?;
    let (shallow_stats, shallow_fetch) = shallow.fetch.ctx("the depth-1 run did not fetch")?;
    let baseline_shallow = Row {
        step: "baseline: cold fetch, depth 1 (empty cache)".to_owned(),
        new_commits: Some(1),
        bytes: shallow_stats.received_bytes as u64,
        objects: shallow_stats.received_objects as u64,
        wall: shallow.heads + shallow_fetch,
    };

    // 2. Nothing new: what the lifecycle does (list, see the tip is known, stop), then a
    // fetch anyway to show that it would transfer nothing either.
    let noop = measure(&cache, &url, None, true, &tip0)?;
    if !noop.tip_known {
        return Err("after the cold fetch the cache does not know the tip".into());
    }
    let (noop_stats, noop_fetch) = noop.fetch.ctx("the no-op run did not fetch")?;
    rows.push(Row {
        step: "2a. no-op run: tip known → lifecycle skips fetch".to_owned(),
        new_commits: Some(0),
        bytes: 0,
        objects: 0,
        wall: noop.heads,
    });
    rows.push(Row {
        step: "2b. no-op run: fetch anyway".to_owned(),
        new_commits: Some(0),
        bytes: noop_stats.received_bytes as u64,
        objects: noop_stats.received_objects as u64,
        wall: noop.heads + noop_fetch,
    });

    // 3./4. Someone pushes, the next run fetches what is new.
    for (step, n) in INCREMENTS.into_iter().enumerate() {
        fast_import(&home, &bare, &history.stream(n))?;
        let now = tip("reading the tip")?;
        let m = measure(&cache, &url, None, false, &now)?;
        if m.tip_known {
            return Err(format!("the cache already knows the tip after {n} new commits").into());
        }
        let (stats, took) = m.fetch.ctx("the incremental run did not fetch")?;
        rows.push(Row {
            step: format!("{}. incremental fetch after {n} new commits", step + 3),
            new_commits: Some(n),
            bytes: stats.received_bytes as u64,
            objects: stats.received_objects as u64,
            wall: m.heads + took,
        });
    }
    rows.push(baseline_mirror);
    rows.push(baseline_shallow);
    drop(server);

    let cold_bytes = cold_stats.received_bytes as f64;
    let cold_wall = ms(rows[0].wall);
    let mut table = String::new();
    let _ = writeln!(
        table,
        "| step | new commits | received bytes | objects | bytes / new commit | wall ms | bytes vs cold | wall vs cold |"
    );
    let _ = writeln!(table, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let per_commit = match r.new_commits {
            Some(n) if n > 0 && r.bytes > 0 => thousands(r.bytes / n as u64),
            _ => "–".to_owned(),
        };
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {per_commit} | {:.0} | {} | {} |",
            r.step,
            r.new_commits
                .map_or("–".to_owned(), |n| thousands(n as u64)),
            thousands(r.bytes),
            thousands(r.objects),
            ms(r.wall),
            ratio(r.bytes as f64, cold_bytes),
            ratio(ms(r.wall), cold_wall),
        );
    }
    println!();
    println!(
        "repository: {} commits on main, {APPS} apps/<name>/deployment.yaml, objects on the server {}",
        opts.commits,
        thousands(repo_bytes)
    );
    println!();
    print!("{table}");
    println!();
    println!(
        "wall ms = Workspace::open + remote_heads (+ fetch); 2a is what every run with nothing new costs."
    );
    println!(
        "received bytes = what libgit2 read off the wire for the pack (FetchStats; pkt-line and \
         side-band framing and the server's progress messages included); the git CLI row is the \
         size of the pack it kept."
    );
    println!(
        "Small fetches cost more per commit: the server sends the first new version of each \
         changed directory tree whole, not as a delta (apps/ lists {APPS} entries)."
    );
    println!(
        "The lifecycle fetches full depth on purpose: libgit2 1.9's push fails from a shallow clone \
         (its revwalk walks past the shallow boundary, \"object not found\"; see src/pr/sync.rs). \
         Depth 1 is shown for comparison only; full depth is paid once, later runs fetch what is new."
    );
    Ok(())
}

fn main() -> Res<()> {
    let opts = parse_args()?;
    let base = std::env::temp_dir().join(format!(
        "attune-bench-fetch-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos()
    ));
    std::fs::create_dir_all(&base).ctx(format!("creating {}", base.display()))?;
    // The server is owned by `bench` and stopped when it returns, also on an error.
    let result = bench(&base, &opts);
    if opts.keep || result.is_err() {
        // On an error the directory holds lighttpd's error log and the repositories.
        eprintln!("kept {}", base.display());
    } else {
        std::fs::remove_dir_all(&base).ctx(format!("removing {}", base.display()))?;
    }
    result
}
