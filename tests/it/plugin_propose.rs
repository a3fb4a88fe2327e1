//! `kubectl attune diff` and `kubectl attune propose` against the real API server, with the
//! fixtures of plugin_format (one policy per state) stored through the status subresource.
//! diff must print the golden text of what was stored; propose must print exactly what
//! `attune propose` prints given the same policies exported with `kubectl get -o yaml`.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use attune::plugin::{PolicyView, diff};

use crate::plugin_cluster::{create_fixtures, plugin, stdout};
use crate::plugin_format::{DIFF, DIFF_YAML};
use crate::support::cluster::{self, TestNamespace};

/// Golden text written for namespaces production/staging/dev, for one namespace `ns`.
fn in_namespace(golden: &str, ns: &str) -> String {
    golden
        .replace("production/", &format!("{ns}/"))
        .replace("staging/", &format!("{ns}/"))
        .replace("namespace: production", &format!("namespace: {ns}"))
        .replace("namespace: staging", &format!("namespace: {ns}"))
}

#[tokio::test]
async fn diff_prints_the_golden_text_of_the_stored_policies() {
    let _no_controller = crate::support::controller_lock::exclusive().await;
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, "plugin-diff").await;
    let stored = create_fixtures(&ns).await;
    let views: Vec<PolicyView> = stored.iter().map(PolicyView::from_object).collect();
    let n = ns.name.as_str();

    let out = plugin(&["diff", "-n", n]);
    assert_eq!(stdout(&out), in_namespace(DIFF, n));
    assert_eq!(stdout(&out), diff::render(&views).0);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "{n}/batch: no recommendations yet (Collecting data: 12 of 48 data points)\n\
             {n}/fresh: no recommendations yet (-)\n\
             {n}/orphan: no recommendations yet (no Deployment matches app=gone)\n"
        )
    );
    let out = plugin(&["diff", "-o", "yaml", "-n", n]);
    assert_eq!(stdout(&out), in_namespace(DIFF_YAML, n));

    // The patches are what the API server takes: applied to the workload they name, they set
    // the recommended values and strategic merge keeps the rest of the container.
    let patched = patch_api_server(n, stdout(&out).split("---\n").next().unwrap());
    let container = &patched["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "app:1");
    assert_eq!(container["resources"]["requests"]["cpu"], "250m");
    assert_eq!(container["resources"]["requests"]["memory"], "512Mi");

    let out = plugin(&["diff", "-o", "json", "-n", n]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = plugin(&["diff", "-A"]);
    assert!(stdout(&out).contains(&format!("--- a/{n}/Deployment/api-server\n")));
}

fn kubectl(args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("kubectl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kubectl on PATH (tests/run puts the one it builds there)");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "kubectl {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Creates the api-server Deployment (no replicas) and returns it as the server would after
/// the strategic-merge `patch` (a server-side dry run).
fn patch_api_server(ns: &str, patch: &str) -> serde_json::Value {
    let deployment = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: api-server, namespace: {ns}}}\n\
         spec:\n  replicas: 0\n  selector: {{matchLabels: {{app: api}}}}\n  template:\n\
         \x20   metadata: {{labels: {{app: api}}}}\n    spec:\n      containers:\n\
         \x20     - name: app\n        image: app:1\n        resources: {{requests: {{cpu: 500m, memory: 512Mi}}}}\n"
    );
    kubectl(&["apply", "-f", "-"], Some(&deployment));
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), patch).unwrap();
    let path = file.path().to_str().unwrap();
    let out = kubectl(
        &[
            "patch",
            "deployment",
            "api-server",
            "-n",
            ns,
            "--type",
            "strategic",
            "--patch-file",
            path,
            "--dry-run=server",
            "-o",
            "json",
        ],
        None,
    );
    serde_json::from_str(&out).unwrap()
}

/// A checkout with the fixtures' api-server Deployment and worker StatefulSet (web is not in
/// it: a problem both commands report).
fn checkout(dir: &Path, ns: &str) {
    let deploy = dir.join("apps/shop");
    std::fs::create_dir_all(&deploy).unwrap();
    std::fs::write(
        deploy.join("api-server.yaml"),
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api-server\n  namespace: {ns}\n\
             spec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: app:1\n\
             \x20         resources:\n            requests:\n              cpu: 500m  # measured\n              memory: 512Mi\n"
        ),
    )
    .unwrap();
    std::fs::write(
        deploy.join("worker.yaml"),
        format!(
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: worker\n  namespace: {ns}\n\
             spec:\n  template:\n    spec:\n      containers:\n        - name: main\n          image: w:1\n\
             \x20         resources:\n            requests: {{cpu: \"1\", memory: 2Gi}}\n"
        ),
    )
    .unwrap();
}

fn attune(args: &[&str]) -> Output {
    Command::cargo_bin("attune")
        .unwrap()
        .args(args)
        .output()
        .unwrap()
}

/// The policies as `kubectl get attunepolicies -o yaml` exports them.
fn export(ns: &str, file: &Path) {
    let out = std::process::Command::new("kubectl")
        .args(["get", "attunepolicies.attune.io", "-n", ns, "-o", "yaml"])
        .output()
        .expect("kubectl on PATH (tests/run puts the one it builds there)");
    assert!(out.status.success(), "{out:?}");
    std::fs::write(file, out.stdout).unwrap();
}

#[tokio::test]
async fn propose_edits_a_checkout_as_attune_propose_does_with_the_exported_policies() {
    let _no_controller = crate::support::controller_lock::exclusive().await;
    let client = cluster::client().await;
    cluster::install_crds(&client).await;
    let ns = TestNamespace::new(&client, "plugin-propose").await;
    create_fixtures(&ns).await;
    let n = ns.name.as_str();
    let repo = tempfile::tempdir().unwrap();
    checkout(repo.path(), n);
    let r = repo.path().to_str().unwrap();
    let exported = tempfile::NamedTempFile::new().unwrap();
    export(n, exported.path());
    let policies = exported.path().to_str().unwrap();

    for extra in [&[][..], &["--path", "apps/shop"][..]] {
        let live = plugin(&[&["propose", "--repo", r, "-n", n][..], extra].concat());
        let file = attune(&[&["propose", "--policies", policies, "--repo", r][..], extra].concat());
        assert_eq!(
            live.status.code(),
            Some(1),
            "web is not in the checkout: {live:?}"
        );
        assert_eq!(live.status.code(), file.status.code());
        assert_eq!(
            String::from_utf8_lossy(&live.stdout),
            String::from_utf8_lossy(&file.stdout)
        );
        assert_eq!(
            String::from_utf8_lossy(&live.stderr),
            String::from_utf8_lossy(&file.stderr)
        );
        let diff = String::from_utf8(live.stdout).unwrap();
        assert!(
            diff.contains(
                "-              cpu: 500m  # measured\n+              cpu: 250m  # measured\n"
            ),
            "{diff}"
        );
        assert!(
            diff.contains("+            requests: {cpu: \"420m\", memory: 1Gi}\n"),
            "{diff}"
        );
        let stderr = String::from_utf8(live.stderr).unwrap();
        assert!(
            stderr.contains(&format!("problem: {n}/Deployment/web: ")),
            "{stderr}"
        );
    }

    let live = plugin(&["propose", "--repo", r, "-n", n, "--write"]);
    assert_eq!(live.status.code(), Some(1), "{live:?}");
    assert!(live.stdout.is_empty());
    let written = std::fs::read_to_string(repo.path().join("apps/shop/api-server.yaml")).unwrap();
    assert!(written.contains("cpu: 250m  # measured\n"), "{written}");
    // Written: nothing left to change.
    let again = plugin(&["propose", "--repo", r, "-n", n]);
    assert!(again.stdout.is_empty(), "{again:?}");

    let out = plugin(&["propose", "--repo", "/nonexistent/checkout", "-n", n]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: repository directory /nonexistent/checkout does not exist or is not a directory\n"
    );
    let out = plugin(&["propose", "--repo", r, "--path", "../elsewhere", "-n", n]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("error: --path ../elsewhere is not a directory inside the repository"),
        "{out:?}"
    );
}
