//! The git CLI as the fetch bench runs it: isolated from the machine's configuration, with
//! `fast-import` for the history and the size of a directory on disk.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::{Context, Res};

/// A git CLI command isolated from the machine's configuration: no system or user config (so no
/// credential helper stores the password), never prompting, never through a proxy.
pub fn git(home: &Path) -> Command {
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

pub fn run(cmd: &mut Command, what: &str) -> Res<String> {
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

pub fn fast_import(home: &Path, bare: &Path, stream: &[u8]) -> Res<()> {
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

pub fn dir_bytes(dir: &Path) -> Res<u64> {
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
