//! The chart rendered by a real `helm` (tests/tools/helm.sh builds it; tests/run exports its
//! path as ATTUNE_HELM), for the chart subjects (tests/it/chart*.rs).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The release name the tests render with: objects are named `attune-controller…`.
pub const RELEASE: &str = "attune";

/// The two values files every chart check runs against.
#[derive(Clone, Copy, Debug)]
pub enum Values {
    /// values.yaml alone.
    Default,
    /// charts/attune/ci/all-on-values.yaml: every optional part on.
    AllOn,
}

impl Values {
    pub const BOTH: [Values; 2] = [Values::Default, Values::AllOn];

    fn args(self) -> Vec<String> {
        match self {
            Values::Default => Vec::new(),
            Values::AllOn => vec![
                "--values".into(),
                chart_dir()
                    .join("ci/all-on-values.yaml")
                    .display()
                    .to_string(),
            ],
        }
    }
}

pub fn chart_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("charts/attune")
}

fn helm_bin() -> String {
    std::env::var("ATTUNE_HELM").unwrap_or_else(|_| {
        panic!(
            "ATTUNE_HELM is not set: the chart tests need a real helm; run via tests/run (it \
             builds one with tests/tools/helm.sh), or export ATTUNE_HELM=<path to helm>"
        )
    })
}

/// Runs helm with `args`, `stdin` as its standard input; never panics on helm's exit status.
pub fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(helm_bin())
        .args(args)
        // No user config, cache or plugins: the same helm on every machine.
        .env("HELM_CONFIG_HOME", "/nonexistent/attune-helm-config")
        .env("HELM_CACHE_HOME", "/nonexistent/attune-helm-cache")
        .env("HELM_DATA_HOME", "/nonexistent/attune-helm-data")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {}: {e}", helm_bin()));
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

/// `helm template` of the chart (CRDs included) in `namespace`; the extra args come last.
pub fn template_output(values: Values, namespace: &str, extra: &[&str]) -> Output {
    let chart = chart_dir().display().to_string();
    let mut args: Vec<String> = vec![
        "template".into(),
        RELEASE.into(),
        chart,
        "--namespace".into(),
        namespace.into(),
        "--include-crds".into(),
    ];
    args.extend(values.args());
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&args, None)
}

/// The rendered manifest text; panics with helm's message when it fails.
pub fn template_text(values: Values, namespace: &str) -> String {
    let out = template_output(values, namespace, &[]);
    assert!(
        out.status.success(),
        "helm template with {values:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The rendered objects (empty documents dropped).
pub fn template(values: Values, namespace: &str) -> Vec<Value> {
    objects(&template_text(values, namespace))
}

pub fn objects(text: &str) -> Vec<Value> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).unwrap();
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// The one object of `kind` named `name`.
pub fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in the rendered chart"))
}

pub fn kinds(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap().to_owned())
        .collect()
}
