//! Untrusted input: broken files are reported and skipped, bad arguments stop the run before
//! anything is touched, and nothing outside the repository is ever read through a symlink or
//! written.

use std::path::Path;

use assert_cmd::Command;

const POLICY: &str = "apiVersion: attune.io/v1alpha1
kind: AttunePolicy
metadata: {name: api, namespace: production}
spec:
  targetRef: {kind: Deployment, name: api}
  metricsSource: {prometheus: {address: http://prometheus:9090}}
  cpu: {percentile: 95}
  memory: {percentile: 99}
status:
  recommendations:
  - workload: api
    kind: Deployment
    containers:
    - name: app
      recommended: {cpuRequest: 250m, memoryRequest: 300Mi}
";

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: production
spec:
  template:
    spec:
      containers:
      - name: app
        resources:
          requests:
            cpu: 500m
            memory: 512Mi
";

fn setup(files: &[(&str, &str)]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policies.yaml"), POLICY).unwrap();
    let repo = dir.path().join("repo");
    for (rel, text) in files {
        let path = repo.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    std::fs::create_dir_all(&repo).unwrap();
    (dir, repo)
}

fn propose(dir: &Path, repo: &Path, extra: &[&str]) -> std::process::Output {
    Command::cargo_bin("attune")
        .unwrap()
        .args(["propose", "--policies"])
        .arg(dir.join("policies.yaml"))
        .arg("--repo")
        .arg(repo)
        .args(extra)
        .output()
        .unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_unparsable_file_is_reported_with_its_line_and_skipped() {
    let broken = "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: [1, 2\n  b: c\n";
    let (dir, repo) = setup(&[("apps/api.yaml", DEPLOYMENT), ("apps/broken.yaml", broken)]);
    let out = propose(dir.path(), &repo, &["--write"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("notice: apps/broken.yaml: not valid YAML (line "),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("apps/broken.yaml")).unwrap(),
        broken
    );
    let edited = std::fs::read_to_string(repo.join("apps/api.yaml")).unwrap();
    assert!(
        edited.contains("cpu: 250m") && edited.contains("memory: 300Mi"),
        "{edited}"
    );
}

#[test]
fn a_symlink_out_of_the_repository_is_not_followed_nor_written() {
    let (dir, repo) = setup(&[]);
    let outside = dir.path().join("outside.yaml");
    std::fs::write(&outside, DEPLOYMENT).unwrap();
    std::os::unix::fs::symlink(&outside, repo.join("api.yaml")).unwrap();
    let out = propose(dir.path(), &repo, &["--write"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("notice: api.yaml: symlink leads outside the repository"),
        "{err}"
    );
    assert!(
        err.contains("no manifest renders production/Deployment/api"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), DEPLOYMENT);
}

#[test]
fn a_symlink_inside_the_repository_is_edited_at_its_target() {
    // The target's name is not a YAML name, so only the link is indexed.
    let (dir, repo) = setup(&[("data/api.txt", DEPLOYMENT)]);
    std::os::unix::fs::symlink(repo.join("data/api.txt"), repo.join("api.yaml")).unwrap();
    let out = propose(dir.path(), &repo, &["--write"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        repo.join("api.yaml").is_symlink(),
        "the link must stay a link"
    );
    assert!(
        std::fs::read_to_string(repo.join("data/api.txt"))
            .unwrap()
            .contains("cpu: 250m")
    );
}

#[test]
fn oversized_files_and_alias_bombs_are_refused_with_a_reason() {
    // Only files that could hold a workload are expanded (the rest are only syntax-checked,
    // which never replays an alias), so the bomb poses as one.
    let mut bomb = String::from("kind: Deployment\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let prev = format!("*a{}", i - 1);
        bomb.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            [prev.as_str(); 10].join(", ")
        ));
    }
    let big = format!("# {}\n", "x".repeat(10 * 1024 * 1024 + 1));
    let (dir, repo) = setup(&[
        ("api.yaml", DEPLOYMENT),
        ("bomb.yaml", &bomb),
        ("big.yaml", &big),
    ]);
    let out = propose(dir.path(), &repo, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("notice: bomb.yaml: aliases would expand to"),
        "{err}"
    );
    assert!(
        err.contains("notice: big.yaml: file is ")
            && err.contains("bytes, over the 10485760-byte limit; skipped"),
        "{err}"
    );
}

#[test]
fn bad_input_exits_2_with_one_line_and_touches_nothing() {
    let (dir, repo) = setup(&[("api.yaml", DEPLOYMENT)]);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--path".into(), "../elsewhere".into()],
            "--path ../elsewhere is not a directory inside the repository",
        ),
        (
            vec!["--path".into(), "missing".into()],
            "--path missing is not a directory inside the repository",
        ),
    ];
    for (args, message) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = propose(dir.path(), &repo, &[&args[..], &["--write"]].concat());
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        assert!(stderr(&out).contains(message), "{}", stderr(&out));
    }
    let out = propose(dir.path(), &dir.path().join("nope"), &["--write"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("does not exist or is not a directory"),
        "{}",
        stderr(&out)
    );

    std::fs::write(
        dir.path().join("policies.yaml"),
        "apiVersion: attune.io/v1alpha1\nkind: AttunePolicy\nspec: [\n",
    )
    .unwrap();
    let out = propose(dir.path(), &repo, &["--write"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("policies.yaml") && err.contains("line"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("api.yaml")).unwrap(),
        DEPLOYMENT
    );
}

#[test]
fn json_output_lists_changes_and_problems() {
    let (dir, repo) = setup(&[("api.yaml", DEPLOYMENT)]);
    let out = propose(dir.path(), &repo, &["--output", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let change = &report["changes"][0];
    assert_eq!(change["field"], "cpu-request");
    assert_eq!(change["from"], "500m");
    assert_eq!(change["to"], "250m");
    assert_eq!(change["file"], "api.yaml");
    assert_eq!(change["site"], "manifest");
    assert_eq!(report["changes"].as_array().unwrap().len(), 2);
    assert_eq!(report["problems"].as_array().unwrap().len(), 0);
}
