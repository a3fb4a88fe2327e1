//! The I/O layer: a chart directory read into memory, and `helm template` run on a copy of it
//! in a temporary directory, with a timeout, capped output, no network and no kubeconfig.
//! Renders are cached by (helm version, chart digest, release, namespace, values).

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wait_timeout::ChildExt;

use super::candidates::ValuesText;
use super::set::SetArg;
use super::{Render, RenderError};

/// Largest chart read (all files together) and most files in it.
pub const CHART_BYTES: u64 = 32 * 1024 * 1024;
pub const CHART_FILES: usize = 2_000;
/// The scratch chart's template for [`Helm::set_values`]: the values as one JSON string.
const SET_TEMPLATE: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: attune-set\ndata:\n  values: {{ toJson .Values | quote }}\n";
/// Largest `helm template` output kept; a release larger than this is refused.
const OUTPUT_BYTES: usize = 10 * 1024 * 1024;

/// A chart's files, by `/`-separated path relative to the chart directory.
#[derive(Debug, Clone)]
pub struct ChartFiles {
    pub dir: String,
    files: Vec<(String, Vec<u8>)>,
    digest: [u8; 32],
}

impl ChartFiles {
    /// Reads the regular files below `dir` (symlinks are not followed: a chart in a repository
    /// may not reach outside it). `shown` names the chart in messages.
    pub fn read(dir: &Path, shown: &str) -> Result<ChartFiles, RenderError> {
        let bad = |why: String| RenderError::Chart {
            dir: shown.to_owned(),
            why,
        };
        if !dir.join("Chart.yaml").is_file() {
            return Err(bad("it has no Chart.yaml".into()));
        }
        let mut files = Vec::new();
        let mut total = 0;
        collect(dir, "", &mut files, &mut total).map_err(bad)?;
        Ok(ChartFiles::from_files(shown, files))
    }

    /// A chart from files already in memory (read from a commit, say): `/`-separated paths
    /// relative to the chart directory.
    pub fn from_files(shown: &str, mut files: Vec<(String, Vec<u8>)>) -> ChartFiles {
        files.sort();
        let mut h = Sha256::new();
        for (p, bytes) in &files {
            h.update(p.as_bytes());
            h.update([0]);
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        }
        ChartFiles {
            dir: shown.to_owned(),
            files,
            digest: h.finalize().into(),
        }
    }

    /// The chart as Flux's source-controller packages it when a HelmRelease names
    /// `valuesFiles`: its own `values.yaml` replaced (here, by an empty one), the files given as
    /// values instead. Subcharts keep theirs.
    pub fn without_defaults(self) -> ChartFiles {
        let files = self
            .files
            .into_iter()
            .map(|(p, bytes)| {
                let bytes = if p == "values.yaml" {
                    Vec::new()
                } else {
                    bytes
                };
                (p, bytes)
            })
            .collect();
        ChartFiles::from_files(&self.dir, files)
    }

    fn text(&self, path: &str) -> Option<&str> {
        let (_, b) = self.files.iter().find(|(p, _)| p == path)?;
        std::str::from_utf8(b).ok()
    }

    /// The values `helm` reads without being told: the chart's `values.yaml` and each unpacked
    /// subchart's under its name (or alias, from `Chart.yaml`'s dependencies).
    pub fn defaults(&self) -> Vec<ValuesText<'_>> {
        let aliases = self.text("Chart.yaml").map(aliases).unwrap_or_default();
        let mut out = Vec::new();
        for (p, _) in &self.files {
            let Some(text) = self.text(p) else { continue };
            if p == "values.yaml" {
                out.push(ValuesText {
                    prefix: vec![],
                    text,
                });
            } else if let Some(sub) = p
                .strip_prefix("charts/")
                .and_then(|r| r.strip_suffix("/values.yaml"))
                && !sub.contains('/')
            {
                let name = aliases.get(sub).cloned().unwrap_or_else(|| sub.to_owned());
                out.push(ValuesText {
                    prefix: vec![name],
                    text,
                });
            }
        }
        out
    }

    fn write_to(&self, root: &Path) -> std::io::Result<()> {
        for (p, bytes) in &self.files {
            let at = root.join(p);
            if let Some(parent) = at.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(at, bytes)?;
        }
        Ok(())
    }
}

fn collect(
    dir: &Path,
    rel: &str,
    out: &mut Vec<(String, Vec<u8>)>,
    total: &mut u64,
) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let meta = std::fs::symlink_metadata(entry.path()).map_err(|e| format!("{path}: {e}"))?;
        if meta.is_dir() {
            if name != ".git" {
                collect(&entry.path(), &path, out, total)?;
            }
        } else if meta.is_file() {
            *total += meta.len();
            if *total > CHART_BYTES || out.len() >= CHART_FILES {
                return Err(format!("over {CHART_FILES} files or {CHART_BYTES} bytes"));
            }
            let bytes = std::fs::read(entry.path()).map_err(|e| format!("{path}: {e}"))?;
            out.push((path, bytes));
        }
    }
    Ok(())
}

/// Subchart name → alias, from `dependencies` in Chart.yaml.
fn aliases(chart_yaml: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let Ok(stream) = crate::yamledit::parse(chart_yaml) else {
        return out;
    };
    let Some(doc) = stream.docs.first() else {
        return out;
    };
    for dep in doc
        .root
        .get("dependencies")
        .map(|d| d.items())
        .unwrap_or_default()
    {
        let (Some(n), Some(a)) = (
            dep.get("name").and_then(|n| n.as_str()),
            dep.get("alias").and_then(|a| a.as_str()),
        ) else {
            continue;
        };
        out.insert(n.to_owned(), a.to_owned());
    }
    out
}

/// The `helm` binary, its version, and the renders made with it.
pub struct Helm {
    binary: PathBuf,
    timeout: Duration,
    version: Mutex<Option<String>>,
    cache: Mutex<HashMap<[u8; 32], Result<String, RenderError>>>,
    execs: AtomicUsize,
}

impl Helm {
    /// `binary`: a path, or a name looked up on `PATH` (`helm`).
    pub fn new(binary: PathBuf, timeout: Duration) -> Helm {
        Helm {
            binary,
            timeout,
            version: Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
            execs: AtomicUsize::new(0),
        }
    }

    /// How many times `helm` was run (cache hits do not count).
    pub fn execs(&self) -> usize {
        self.execs.load(Ordering::Relaxed)
    }

    /// `helm version --short`, asked once.
    pub fn version(&self) -> Result<String, RenderError> {
        if let Ok(v) = self.version.lock()
            && let Some(v) = v.as_ref()
        {
            return Ok(v.clone());
        }
        let dir = scratch()?;
        let mut cmd = self.command(dir.path());
        cmd.args(["version", "--short"]);
        let v = self.run(cmd)?.trim().to_owned();
        if let Ok(mut slot) = self.version.lock() {
            *slot = Some(v.clone());
        }
        Ok(v)
    }

    fn command(&self, dir: &Path) -> Command {
        let mut cmd = Command::new(&self.binary);
        // No user config, no repositories, no plugins, no cluster: only the chart and values given.
        cmd.current_dir(dir)
            .env_clear()
            .env("HOME", dir)
            .env("HELM_CACHE_HOME", dir.join("helm/cache"))
            .env("HELM_CONFIG_HOME", dir.join("helm/config"))
            .env("HELM_DATA_HOME", dir.join("helm/data"))
            .env("HELM_PLUGINS", dir.join("helm/plugins"))
            .env("KUBECONFIG", dir.join("no-kubeconfig"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn run(&self, mut cmd: Command) -> Result<String, RenderError> {
        self.execs.fetch_add(1, Ordering::Relaxed);
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                RenderError::Missing {
                    binary: self.binary.display().to_string(),
                }
            }
            _ => RenderError::Io(e.to_string()),
        })?;
        let out = child
            .stdout
            .take()
            .map(|s| std::thread::spawn(move || capped(s)));
        let err = child
            .stderr
            .take()
            .map(|s| std::thread::spawn(move || capped(s)));
        let status = match child.wait_timeout(self.timeout) {
            Ok(Some(status)) => status,
            Ok(None) => {
                // The readers are not joined: a process helm started could still hold the
                // pipes, and waiting for it is what the timeout is there to prevent.
                let _ = child.kill();
                let _ = child.wait();
                return Err(RenderError::Timeout {
                    secs: self.timeout.as_secs(),
                });
            }
            Err(e) => return Err(RenderError::Io(e.to_string())),
        };
        let join = |h: Option<std::thread::JoinHandle<(Vec<u8>, bool)>>| {
            h.and_then(|h| h.join().ok()).unwrap_or_default()
        };
        let (stdout, over) = join(out);
        let (stderr, _) = join(err);
        if !status.success() {
            let stderr = String::from_utf8_lossy(&stderr);
            let stderr = crate::text::ellipsize(stderr.trim(), 2_000);
            return Err(RenderError::Failed {
                status: status.to_string(),
                stderr,
            });
        }
        if over {
            return Err(RenderError::TooLarge {
                limit: OUTPUT_BYTES,
            });
        }
        String::from_utf8(stdout).map_err(|_| RenderError::Output("not UTF-8".into()))
    }

    /// What `--set`/`--set-string` assignments make of the values, parsed by Helm itself
    /// (never by attune): a scratch chart whose one template prints `.Values` is rendered with
    /// them. The JSON returned is a values layer the trace can read like any other.
    pub fn set_values(&self, set: &[SetArg]) -> Result<String, RenderError> {
        let chart = ChartFiles::from_files(
            "--set",
            vec![
                (
                    "Chart.yaml".into(),
                    b"apiVersion: v2\nname: attune-set\nversion: 0.1.0\n".to_vec(),
                ),
                (
                    "templates/values.yaml".into(),
                    SET_TEMPLATE.as_bytes().to_vec(),
                ),
            ],
        );
        let out = self.template(&chart, "attune-set", "default", &[], set)?;
        let doc: serde_json::Value =
            serde_saphyr::from_str(&out).map_err(|e| RenderError::Output(e.to_string()))?;
        doc.pointer("/data/values")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| RenderError::Output("the --set values were not printed".into()))
    }

    /// `helm template` of the chart with `values` files and then `set` assignments, as a user
    /// runs it, uncached: the reference a chain with [`Helm::set_values`] in place of `set` must
    /// render exactly as.
    pub fn template(
        &self,
        chart: &ChartFiles,
        release: &str,
        namespace: &str,
        values: &[&str],
        set: &[SetArg],
    ) -> Result<String, RenderError> {
        let dir = scratch()?;
        let io = |e: std::io::Error| RenderError::Io(e.to_string());
        let chart_dir = dir.path().join("chart");
        chart.write_to(&chart_dir).map_err(io)?;
        let mut cmd = self.command(dir.path());
        cmd.arg("template")
            .arg(format!("--namespace={namespace}"))
            .arg("--skip-tests");
        for (i, v) in values.iter().enumerate() {
            let file = dir.path().join(format!("values-{i}.yaml"));
            std::fs::write(&file, v).map_err(io)?;
            cmd.arg("--values").arg(file);
        }
        cmd.args(set.iter().map(SetArg::arg));
        cmd.arg("--").arg(release).arg(&chart_dir);
        self.run(cmd)
    }
}

fn scratch() -> Result<tempfile::TempDir, RenderError> {
    tempfile::Builder::new()
        .prefix("attune-helm-")
        .tempdir()
        .map_err(|e| RenderError::Io(format!("cannot create a temporary directory: {e}")))
}

/// Reads at most `OUTPUT_BYTES`; the flag says more was there (the rest is drained so the
/// child never blocks on a full pipe).
fn capped(mut from: impl Read) -> (Vec<u8>, bool) {
    let mut buf = Vec::new();
    let _ = (&mut from)
        .take(OUTPUT_BYTES as u64 + 1)
        .read_to_end(&mut buf);
    let over = buf.len() > OUTPUT_BYTES;
    if over {
        let _ = std::io::copy(&mut from, &mut std::io::sink());
        buf.truncate(OUTPUT_BYTES);
    }
    (buf, over)
}

/// One chart rendered as one release through a shared [`Helm`] (and its cache).
pub struct HelmRenderer<'h> {
    pub helm: &'h Helm,
    pub chart: &'h ChartFiles,
    pub release: &'h str,
    pub namespace: &'h str,
}

impl Render for HelmRenderer<'_> {
    fn render(&mut self, values: &[&str]) -> Result<String, RenderError> {
        let version = self.helm.version()?;
        let mut h = Sha256::new();
        for part in [version.as_str(), self.release, self.namespace] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.update(self.chart.digest);
        for v in values {
            h.update((v.len() as u64).to_le_bytes());
            h.update(v.as_bytes());
        }
        let key: [u8; 32] = h.finalize().into();
        if let Some(hit) = self
            .helm
            .cache
            .lock()
            .ok()
            .and_then(|c| c.get(&key).cloned())
        {
            return hit;
        }
        let out = self
            .helm
            .template(self.chart, self.release, self.namespace, values, &[]);
        if let Ok(mut cache) = self.helm.cache.lock() {
            cache.insert(key, out.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn fake_helm(dir: &Path, body: &str) -> PathBuf {
        let path = dir.join("helm");
        let script = format!(
            "#!/bin/sh\nif [ \"$1\" = version ]; then echo v3.0.0-fake; exit 0; fi\n{body}\n"
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn chart() -> ChartFiles {
        ChartFiles::from_files(
            "charts/x",
            vec![
                ("Chart.yaml".into(), b"name: x\n".to_vec()),
                ("values.yaml".into(), b"a: 1\n".to_vec()),
                ("charts/db/values.yaml".into(), b"b: 2\n".to_vec()),
            ],
        )
    }

    fn render(helm: &Helm, values: &[&str]) -> Result<String, RenderError> {
        let chart = chart();
        let mut r = HelmRenderer {
            helm,
            chart: &chart,
            release: "r",
            namespace: "ns",
        };
        r.render(values)
    }

    #[test]
    fn a_missing_binary_is_named_with_how_to_fix_it() {
        let helm = Helm::new("/nonexistent/attune/helm".into(), Duration::from_secs(5));
        let err = render(&helm, &[]).unwrap_err();
        assert_eq!(
            err,
            RenderError::Missing {
                binary: "/nonexistent/attune/helm".into()
            }
        );
        assert!(err.to_string().contains("--helm PATH"));
    }

    #[test]
    fn a_failing_render_carries_helms_message_and_a_slow_one_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let failing = fake_helm(
            dir.path(),
            "echo 'Error: parse error at deployment.yaml:3' >&2; exit 1",
        );
        let helm = Helm::new(failing, Duration::from_secs(5));
        match render(&helm, &[]).unwrap_err() {
            RenderError::Failed { stderr, .. } => {
                assert_eq!(stderr, "Error: parse error at deployment.yaml:3")
            }
            other => panic!("{other:?}"),
        }
        let slow_dir = tempfile::tempdir().unwrap();
        let slow = fake_helm(slow_dir.path(), "exec sleep 30");
        let helm = Helm::new(slow, Duration::from_secs(1));
        let start = std::time::Instant::now();
        assert_eq!(
            render(&helm, &[]).unwrap_err(),
            RenderError::Timeout { secs: 1 }
        );
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn renders_run_offline_in_a_scratch_dir_and_are_cached_by_values() {
        let dir = tempfile::tempdir().unwrap();
        // Prints its arguments, environment and the files it was given, one per line.
        let echo = fake_helm(
            dir.path(),
            "echo \"args: $*\"; echo \"home: $HOME\"; echo \"kube: $KUBECONFIG\"; echo \"pwd: $(pwd)\"; cat \"$5\"",
        );
        let helm = Helm::new(echo, Duration::from_secs(5));
        let out = render(&helm, &["c: 3\n"]).unwrap();
        assert!(
            out.contains("args: template --namespace=ns --skip-tests --values "),
            "{out}"
        );
        assert!(out.contains("-- r "), "{out}");
        assert!(out.contains("c: 3"), "{out}");
        let home = out.lines().find_map(|l| l.strip_prefix("home: ")).unwrap();
        assert!(out.contains(&format!("pwd: {home}")), "{out}");
        assert!(
            out.contains(&format!("kube: {home}/no-kubeconfig")),
            "{out}"
        );
        assert!(!Path::new(home).exists(), "the scratch dir is removed");
        assert_eq!(helm.execs(), 2, "version once, one render");
        render(&helm, &["c: 3\n"]).unwrap();
        assert_eq!(helm.execs(), 2, "the same values are a cache hit");
        render(&helm, &["c: 4\n"]).unwrap();
        assert_eq!(helm.execs(), 3);
    }

    #[test]
    fn defaults_are_the_charts_values_and_each_subcharts_under_its_name() {
        let c = chart();
        let d = c.defaults();
        assert_eq!(d.len(), 2);
        assert!(d.iter().any(|v| v.prefix.is_empty() && v.text == "a: 1\n"));
        assert!(d.iter().any(|v| v.prefix == ["db"] && v.text == "b: 2\n"));
        let aliased = ChartFiles::from_files(
            "c",
            vec![
                (
                    "Chart.yaml".into(),
                    b"dependencies:\n  - name: db\n    alias: primary\n".to_vec(),
                ),
                ("charts/db/values.yaml".into(), b"b: 2\n".to_vec()),
            ],
        );
        assert_eq!(aliased.defaults()[0].prefix, ["primary"]);
        let flux = chart().without_defaults();
        let d = flux.defaults();
        assert!(d.iter().any(|v| v.prefix.is_empty() && v.text.is_empty()));
        assert!(d.iter().any(|v| v.prefix == ["db"] && v.text == "b: 2\n"));
        assert_ne!(flux.digest, chart().digest, "renders are cached apart");
    }
}
