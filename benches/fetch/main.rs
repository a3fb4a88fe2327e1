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

mod git_cli;
mod history;
mod measure;
mod report;
mod server;

use std::path::{Path, PathBuf};
use std::time::Instant;

use git_cli::{dir_bytes, fast_import, git, run};
use history::History;
use measure::{Measured, measure, ms};
use report::Row;
use server::Server;

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

/// The bare repository under `base/server/repos`, its history and the scratch HOME of the git CLI.
struct Served {
    home: PathBuf,
    bare: PathBuf,
    history: History,
}

impl Served {
    fn tip(&self) -> Res<String> {
        run(
            git(&self.home)
                .arg("--git-dir")
                .arg(&self.bare)
                .args(["rev-parse", "refs/heads/main"]),
            "reading the tip",
        )
    }
}

/// Generates `commits` commits into a new bare repository, packed as a forge would hold it.
fn generate(base: &Path, commits: usize) -> Res<(Served, u64)> {
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
    let t = Instant::now();
    let mut history = History::new(SEED);
    let stream = history.stream(commits);
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
    let served = Served {
        home,
        bare,
        history,
    };
    eprintln!(
        "generated {commits} commits over {APPS} files ({:.1} MiB stream, repository objects {:.2} MiB) in {:.0} ms; main at {}",
        stream.len() as f64 / 1048576.0,
        repo_bytes as f64 / 1048576.0,
        ms(t.elapsed()),
        served.tip()?
    );
    Ok((served, repo_bytes))
}

/// `git clone --mirror` by the git CLI: bytes are the size of the pack it keeps.
fn mirror_baseline(base: &Path, home: &Path, server: &Server, commits: usize) -> Res<Row> {
    let mirror = base.join("mirror.git");
    let t = Instant::now();
    run(
        git(home)
            .args(["clone", "--mirror", "--quiet", &server.auth_url()])
            .arg(&mirror),
        "git clone --mirror",
    )?;
    let wall = t.elapsed();
    let mut bytes = 0;
    for entry in std::fs::read_dir(mirror.join("objects/pack")).ctx("reading the mirror's packs")? {
        let path = entry.ctx("reading the mirror's packs")?.path();
        if path.extension().is_some_and(|e| e == "pack") {
            bytes += path.metadata().ctx(format!("{}", path.display()))?.len();
        }
    }
    let counts = run(
        git(home)
            .arg("--git-dir")
            .arg(&mirror)
            .args(["count-objects", "-v"]),
        "git count-objects",
    )?;
    let objects = counts
        .lines()
        .find_map(|l| l.strip_prefix("in-pack: "))
        .ctx("git count-objects printed no in-pack line")?
        .parse()
        .ctx("git count-objects in-pack")?;
    Ok(Row {
        step: "baseline: git clone --mirror (git CLI, pack size)".to_owned(),
        new_commits: Some(commits),
        bytes,
        objects,
        wall,
    })
}

/// A row for a run that fetched.
fn fetched(step: String, new_commits: usize, m: Measured, what: &str) -> Res<Row> {
    let (stats, took) = m.fetch.ctx(format!("the {what} run did not fetch"))?;
    Ok(Row {
        step,
        new_commits: Some(new_commits),
        bytes: stats.received_bytes as u64,
        objects: stats.received_objects as u64,
        wall: m.heads + took,
    })
}

fn bench(base: &Path, opts: &Options) -> Res<()> {
    let (mut served, repo_bytes) = generate(base, opts.commits)?;
    let tip0 = served.tip()?;
    let server = Server::start(&base.join("server"))?;
    let url = server.url();
    eprintln!("serving {url} (lighttpd + git http-backend, basic auth)");
    let cache = base.join("cache");
    let mut rows = Vec::new();

    // 1. Cold: an empty cache pays for the whole history once.
    let cold = measure(&cache, &url, None, false, &tip0)?;
    let step = "1. cold fetch, full depth (empty cache)".to_owned();
    rows.push(fetched(step, opts.commits, cold, "cold")?);

    // Baselines against the same repository state as the cold fetch.
    let baseline_mirror = mirror_baseline(base, &served.home, &server, opts.commits)?;
    let shallow = measure(&base.join("cache-depth1"), &url, Some(1), false, &tip0)?;
    let step = "baseline: cold fetch, depth 1 (empty cache)".to_owned();
    let baseline_shallow = fetched(step, 1, shallow, "depth-1")?;

    // 2. Nothing new: what the lifecycle does (list, see the tip is known, stop), then a
    // fetch anyway to show that it would transfer nothing either.
    let noop = measure(&cache, &url, None, true, &tip0)?;
    if !noop.tip_known {
        return Err("after the cold fetch the cache does not know the tip".into());
    }
    rows.push(Row {
        step: "2a. no-op run: tip known → lifecycle skips fetch".to_owned(),
        new_commits: Some(0),
        bytes: 0,
        objects: 0,
        wall: noop.heads,
    });
    let step = "2b. no-op run: fetch anyway".to_owned();
    rows.push(fetched(step, 0, noop, "no-op")?);

    // 3./4. Someone pushes, the next run fetches what is new.
    for (step, n) in INCREMENTS.into_iter().enumerate() {
        fast_import(&served.home, &served.bare, &served.history.stream(n))?;
        let now = served.tip()?;
        let m = measure(&cache, &url, None, false, &now)?;
        if m.tip_known {
            return Err(format!("the cache already knows the tip after {n} new commits").into());
        }
        let step = format!("{}. incremental fetch after {n} new commits", step + 3);
        rows.push(fetched(step, n, m, "incremental")?);
    }
    rows.push(baseline_mirror);
    rows.push(baseline_shallow);
    drop(server);
    report::print(&rows, opts.commits, repo_bytes);
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
