//! The render oracle for Helm: the real `helm template` judges what `propose --helm-chart
//! --write` did. For every golden case run with `--helm-chart`, the release is rendered before
//! and after the run with the case's values files; exactly the reported container fields may
//! change (to the reported values), nothing else in the release, every wanted value is in
//! effect unless a problem names its workload, and the values files the run did not report are
//! untouched.
//!
//! A case run with `--discover` names its releases in `case.yaml`'s `oracle` list (chart,
//! release, namespace, values files, the inline values as a file and a JSON pointer, which
//! this oracle reads with serde, not with attune's code, and the `--set`/`--set-string`
//! assignments an Application's `helm.parameters` make, written out as Argo CD passes them):
//! each is rendered the same way, its inline values given to `helm` as one more values file
//! after the files and the assignments after them, as Argo CD and Flux do.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn helm() -> String {
    std::env::var("ATTUNE_HELM").unwrap_or_else(|_| {
        panic!(
            "the Helm render oracle needs a real helm: run via tests/run (it builds one with \
             tests/tools/helm.sh), or export ATTUNE_HELM=<path to helm>"
        )
    })
}

/// `--flag value` pairs of a case's args (`--values` may repeat).
fn flag(args: &[String], name: &str) -> Vec<String> {
    args.windows(2)
        .filter(|w| w[0] == name)
        .map(|w| w[1].clone())
        .collect()
}

/// One release as `helm template` is told to render it.
#[derive(Debug, Clone, serde::Deserialize)]
struct Oracle {
    chart: String,
    release: String,
    namespace: String,
    #[serde(default)]
    values: Vec<String>,
    #[serde(default)]
    set: Vec<String>,
    #[serde(default)]
    set_string: Vec<String>,
    inline: Option<Inline>,
    /// The values files replace the chart's own values.yaml (Flux `valuesFiles`): the chart is
    /// rendered from a copy whose values.yaml is empty, as Flux's source-controller packages it.
    #[serde(default)]
    no_chart_defaults: bool,
}

#[derive(Debug, Clone, serde::Deserialize)]
struct Inline {
    file: String,
    pointer: String,
}

impl Oracle {
    fn of_args(args: &[String]) -> Oracle {
        Oracle {
            chart: flag(args, "--helm-chart")[0].clone(),
            release: flag(args, "--release")[0].clone(),
            namespace: flag(args, "--namespace")[0].clone(),
            values: flag(args, "--values"),
            set: flag(args, "--set"),
            set_string: flag(args, "--set-string"),
            inline: None,
            no_chart_defaults: false,
        }
    }
}

fn render(repo: &Path, oracle: &Oracle) -> Vec<Value> {
    let home = tempfile::tempdir().unwrap();
    let mut chart = repo.join(&oracle.chart);
    if oracle.no_chart_defaults {
        let copy = home.path().join("chart");
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(&chart)
            .arg(&copy)
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::write(copy.join("values.yaml"), "").unwrap();
        chart = copy;
    }
    let mut cmd = std::process::Command::new(helm());
    cmd.arg("template")
        .arg(&oracle.release)
        .arg(&chart)
        .arg("--namespace")
        .arg(&oracle.namespace)
        .env("HELM_CONFIG_HOME", home.path())
        .env("HELM_CACHE_HOME", home.path())
        .env("HELM_DATA_HOME", home.path());
    for v in &oracle.values {
        cmd.arg("--values").arg(repo.join(v));
    }
    if let Some(inline) = &oracle.inline {
        let text = std::fs::read_to_string(repo.join(&inline.file)).unwrap();
        let doc: Value = serde_saphyr::from_str(&text).unwrap();
        let values = &doc.pointer(&inline.pointer).unwrap();
        let file = home.path().join("inline-values.yaml");
        // A string is a YAML text (Argo CD's helm.values); a map is written as JSON.
        let body = values
            .as_str()
            .map_or_else(|| values.to_string(), str::to_owned);
        std::fs::write(&file, body).unwrap();
        cmd.arg("--values").arg(file);
    }
    for s in &oracle.set {
        cmd.arg("--set").arg(s);
    }
    for s in &oracle.set_string {
        cmd.arg("--set-string").arg(s);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "helm template failed in {}: {}",
        repo.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_saphyr::from_multiple::<Value>(&String::from_utf8_lossy(&out.stdout)).unwrap()
}

fn container_mut<'v>(obj: &'v mut Value, name: &str) -> Option<&'v mut Value> {
    let spec = obj.pointer_mut("/spec/template/spec")?;
    let mut found = None;
    for list in ["initContainers", "containers"] {
        if let Some(items) = spec.get(list).and_then(Value::as_array)
            && let Some(i) = items.iter().position(|c| c["name"] == name)
        {
            found = Some((list, i));
        }
    }
    let (list, i) = found?;
    spec.get_mut(list)?.get_mut(i)
}

fn field_pointer(field: &str) -> String {
    let (resource, kind) = field.split_once('-').unwrap();
    let group = if kind == "request" {
        "requests"
    } else {
        "limits"
    };
    format!("/resources/{group}/{resource}")
}

fn is_object(obj: &Value, ns: &str, kind: &str, name: &str, default_ns: &str) -> bool {
    obj["kind"] == kind
        && obj["metadata"]["name"] == name
        && obj["metadata"]["namespace"].as_str().unwrap_or(default_ns) == ns
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// The report's changes and problems of one namespace: what one release's renders judge.
fn of_namespace(report: &Value, ns: &str) -> Value {
    let pick = |key: &str| -> Vec<Value> {
        report[key]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["namespace"] == ns)
            .cloned()
            .collect()
    };
    serde_json::json!({"changes": pick("changes"), "problems": pick("problems")})
}

/// Everything the renders say against the report; empty when all is well.
fn judge(before: &[Value], after: &[Value], report: &Value, default_ns: &str) -> Vec<String> {
    let mut out = Vec::new();
    if before.len() != after.len() {
        return vec![format!(
            "{} objects before, {} after",
            before.len(),
            after.len()
        )];
    }
    let mut expected = before.to_vec();
    for c in report["changes"].as_array().unwrap() {
        let (ns, kind, name) = (
            c["namespace"].as_str().unwrap(),
            c["kind"].as_str().unwrap(),
            c["workload"].as_str().unwrap(),
        );
        let container = c["container"].as_str().unwrap();
        let pointer = field_pointer(c["field"].as_str().unwrap());
        let Some(i) = after
            .iter()
            .position(|o| is_object(o, ns, kind, name, default_ns))
        else {
            out.push(format!("{ns}/{kind}/{name} is not rendered after the run"));
            continue;
        };
        let mut now = after[i].clone();
        let got = container_mut(&mut now, container).and_then(|c| c.pointer(&pointer).cloned());
        let to = c["to"].as_str().unwrap();
        if !got
            .as_ref()
            .is_some_and(|g| attune::quantity::semantically_equal(&text(g), to).unwrap_or(false))
        {
            out.push(format!(
                "{name} {container}{pointer} renders {got:?}, the report says {to}"
            ));
            continue;
        }
        // The expected render: before, with exactly this field as it renders now.
        let slot = container_mut(&mut expected[i], container).unwrap();
        let (parent, leaf) = pointer.rsplit_once('/').unwrap();
        let mut at = slot;
        for key in parent.split('/').skip(1) {
            if at.get(key).is_none_or(Value::is_null) {
                at[key] = Value::Object(Default::default());
            }
            at = at.get_mut(key).unwrap();
        }
        at[leaf] = got.unwrap();
    }
    for (i, (e, a)) in expected.iter().zip(after).enumerate() {
        if e != a {
            out.push(format!("object {i} ({}/{}) changed beyond the reported fields:\nexpected {e}\nactual   {a}", a["kind"], a["metadata"]["name"]));
        }
    }
    out
}

fn wanted_in_effect(
    after: &[Value],
    policies: &Path,
    report: &Value,
    default_ns: &str,
) -> Vec<String> {
    let yaml = std::fs::read_to_string(policies).unwrap();
    let docs = serde_saphyr::from_multiple::<Value>(&yaml).unwrap();
    let problems = report["problems"].as_array().unwrap();
    let mut out = Vec::new();
    for p in &docs {
        let ns = p["metadata"]["namespace"].as_str().unwrap_or("default");
        // Each release is judged against the policies of its own namespace.
        if ns != default_ns {
            continue;
        }
        for rec in p["status"]["recommendations"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let (kind, name) = (
                rec["kind"].as_str().unwrap(),
                rec["workload"].as_str().unwrap(),
            );
            if problems
                .iter()
                .any(|x| x["workload"] == name && x["kind"] == kind)
            {
                continue;
            }
            let Some(obj) = after
                .iter()
                .find(|o| is_object(o, ns, kind, name, default_ns))
            else {
                out.push(format!(
                    "{ns}/{kind}/{name}: not rendered and no problem says so"
                ));
                continue;
            };
            for c in rec["containers"].as_array().unwrap() {
                let mut obj = obj.clone();
                let cname = c["name"].as_str().unwrap();
                for (key, field) in [
                    ("cpuRequest", "cpu-request"),
                    ("memoryRequest", "memory-request"),
                ] {
                    let Some(want) = c["recommended"][key].as_str() else {
                        continue;
                    };
                    let got = container_mut(&mut obj, cname)
                        .and_then(|c| c.pointer(&field_pointer(field)).cloned());
                    if !got.as_ref().is_some_and(|g| {
                        attune::quantity::semantically_equal(&text(g), want).unwrap_or(false)
                    }) {
                        out.push(format!(
                            "{name} {cname} {field}: wanted {want}, renders {got:?}"
                        ));
                    }
                }
            }
        }
    }
    out
}

/// Every Helm case: its directory, its args, and the releases to render.
fn helm_cases() -> Vec<(PathBuf, Vec<String>, Vec<Oracle>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/repos");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(text) = std::fs::read_to_string(dir.join("case.yaml")) else {
            continue;
        };
        let case: Value = serde_saphyr::from_str(&text).unwrap();
        let args: Vec<String> = case["args"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        if args.iter().any(|a| a == "--helm") {
            continue;
        }
        if args.iter().any(|a| a == "--helm-chart") {
            let oracle = Oracle::of_args(&args);
            out.push((dir, args, vec![oracle]));
        } else if let Some(list) = case.get("oracle") {
            let oracles: Vec<Oracle> = serde_json::from_value(list.clone()).unwrap();
            out.push((dir, args, oracles));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn helm_golden_fixtures_render_as_intended() {
    let cases = helm_cases();
    assert!(
        cases.len() >= 9,
        "expected the Helm golden cases, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for (dir, args, oracles) in &cases {
        let work = tempfile::tempdir().unwrap();
        let repo = work.path().join("repo");
        super::copy_tree(&dir.join("original"), &repo);
        let before: Vec<Vec<Value>> = oracles.iter().map(|o| render(&repo, o)).collect();
        let out = assert_cmd::Command::cargo_bin("attune")
            .unwrap()
            .args(["propose", "--output", "json", "--write", "--policies"])
            .arg(dir.join("policies.yaml"))
            .arg("--repo")
            .arg(&repo)
            .args(args)
            .env("ATTUNE_HELM", helm())
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut found = Vec::new();
        for (o, before) in oracles.iter().zip(&before) {
            let after = render(&repo, o);
            let mine = of_namespace(&report, &o.namespace);
            found.extend(judge(before, &after, &mine, &o.namespace));
            found.extend(wanted_in_effect(
                &after,
                &dir.join("policies.yaml"),
                &mine,
                &o.namespace,
            ));
        }
        let changed = report["changes"].as_array().unwrap().len();
        let judged: usize = oracles
            .iter()
            .map(|o| {
                of_namespace(&report, &o.namespace)["changes"]
                    .as_array()
                    .unwrap()
                    .len()
            })
            .sum();
        if changed != judged {
            found.push(format!(
                "{changed} changes reported, {judged} in the releases rendered"
            ));
        }
        for c in report["changes"].as_array().unwrap() {
            let key = c["key"].as_str().unwrap_or_default();
            if c["site"] == "helm-values" && key.is_empty() {
                found.push(format!("a helm-values change without its key: {c}"));
            }
        }
        if !found.is_empty() {
            failures.push(format!("{}:\n  {}", dir.display(), found.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_marker_wins_and_the_unmarked_value_is_traced_to_its_key() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/repos/helm-trace-marker-wins");
    let work = tempfile::tempdir().unwrap();
    super::copy_tree(&dir.join("original"), work.path());
    let out = assert_cmd::Command::cargo_bin("attune")
        .unwrap()
        .args(["propose", "--output", "json", "--policies"])
        .arg(dir.join("policies.yaml"))
        .arg("--repo")
        .arg(work.path())
        .args([
            "--helm-chart",
            "charts/shop",
            "--release",
            "shop",
            "--namespace",
            "shop",
        ])
        .env("ATTUNE_HELM", helm())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sites: Vec<(String, String, String)> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                text(&c["field"]),
                text(&c["site"]),
                c["key"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        sites,
        [
            ("cpu-request".into(), "marker".into(), "-".into()),
            (
                "memory-request".into(),
                "helm-values".into(),
                "resources.requests.memory".into()
            ),
        ]
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("(helm-values resources.requests.memory)"),
        "{stderr}"
    );
}
