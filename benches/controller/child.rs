//! `attune controller` as a child process of the bench: started on the bench's cluster, its
//! memory read from /proc, stopped on drop.
//!
//! Which binary runs: `--controller-bin PATH`, else the one Cargo built with the bench
//! (`cargo bench` uses the bench profile, which inherits the release settings). With
//! `ATTUNE_BENCH_HEAPTRACK=DIR` the controller runs under `heaptrack -o DIR/…` (a profile,
//! not a figure: heaptrack's own memory is in that run's RSS); it is then stopped with SIGTERM
//! so that heaptrack writes its file.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::Res;

pub struct Controller {
    child: Child,
    /// The controller's own pid when a wrapper (heaptrack) runs it.
    wrapped: bool,
    pub port: u16,
}

/// The binary the bench runs and how it was chosen, for the report.
pub fn binary(chosen: Option<&Path>) -> PathBuf {
    chosen.map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_attune")),
        Path::to_path_buf,
    )
}

impl Controller {
    pub fn start(bin: &Path, kubeconfig: &Path, cache: &Path, builtin: bool) -> Res<Controller> {
        let port = super::free_port()?;
        let log = std::fs::File::create(cache.join("controller.log"))?;
        let heaptrack = std::env::var_os("ATTUNE_BENCH_HEAPTRACK").map(PathBuf::from);
        let mut command = match &heaptrack {
            Some(dir) => {
                let mut c = Command::new("heaptrack");
                let stamp = chrono::Utc::now().format("%H%M%S");
                c.arg("-o")
                    .arg(dir.join(format!("heaptrack.controller.{stamp}")))
                    .arg(bin);
                c
            }
            None => Command::new(bin),
        };
        command
            .args([
                "controller",
                "--leader-elect=false",
                "--resize-pending-pods",
            ])
            // external: the bench writes the recommendations itself, as another component
            // would; builtin: the controller reads the bench's Prometheus.
            .arg(if builtin {
                "--recommender=builtin"
            } else {
                "--recommender=external"
            })
            .args(["--bind-address", &format!("127.0.0.1:{port}")])
            .args(["--cache-dir", &cache.display().to_string()])
            .args(["--log-format", "json", "--log-level", "warn"])
            .env("KUBECONFIG", kubeconfig)
            .stdout(Stdio::null())
            .stderr(log);
        Ok(Controller {
            child: command.spawn()?,
            wrapped: heaptrack.is_some(),
            port,
        })
    }

    /// The controller's pid: the child, or under a wrapper its descendant named `attune`.
    fn pid(&self) -> Option<u32> {
        if !self.wrapped {
            return Some(self.child.id());
        }
        let mut queue = vec![self.child.id()];
        while let Some(pid) = queue.pop() {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if pid != self.child.id() && comm.trim() == "attune" {
                return Some(pid);
            }
            let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default();
            queue.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
        None
    }

    /// Peak resident set (VmHWM) and current resident set (VmRSS), in KiB.
    pub fn memory(&self) -> Res<(u64, u64)> {
        let pid = self.pid().ok_or("the controller process is gone")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or(format!("no {name} in /proc/PID/status"))
        };
        Ok((field("VmHWM:")?, field("VmRSS:")?))
    }

    pub fn exited(&mut self) -> Res<Option<std::process::ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    pub async fn get(&self, path: &str) -> Res<(u16, String)> {
        let resp = reqwest::get(format!("http://127.0.0.1:{}{path}", self.port)).await?;
        let code = resp.status().as_u16();
        Ok((code, resp.text().await?))
    }

    pub async fn wait_ready(&mut self) -> Res<()> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Some(status) = self.child.try_wait()? {
                return Err(format!("controller exited early: {status}").into());
            }
            if matches!(self.get("/readyz").await, Ok((200, _))) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err("controller not ready after 60 s".into())
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        if self.wrapped
            && let Some(pid) = self.pid()
        {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(120) {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
