//! `attune controller` flag handling: every flag is listed with its environment variable, and
//! bad input stops the process with a message naming the flag, before any cluster is touched
//! (KUBECONFIG points at a file that does not exist, so reaching a client would fail differently).

use assert_cmd::Command;

fn controller() -> Command {
    let mut cmd = Command::cargo_bin("attune").unwrap();
    cmd.arg("controller")
        .env("KUBECONFIG", "/nonexistent/attune-test-kubeconfig")
        .env_remove("RUST_LOG")
        .timeout(std::time::Duration::from_secs(20));
    for (key, _) in std::env::vars() {
        if key.starts_with("ATTUNE_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

fn stderr_of(cmd: &mut Command) -> (Option<i32>, String) {
    let out = cmd.output().unwrap();
    (out.status.code(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn help_lists_every_flag_with_its_environment_variable() {
    let out = controller().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for (flag, env) in [
        ("--allowed-repositories", "ATTUNE_ALLOWED_REPOSITORIES"),
        ("--pr-poll-interval", "ATTUNE_PR_POLL_INTERVAL"),
        ("--requeue-interval", "ATTUNE_REQUEUE_INTERVAL"),
        ("--error-requeue-interval", "ATTUNE_ERROR_REQUEUE_INTERVAL"),
        ("--cache-dir", "ATTUNE_CACHE_DIR"),
        ("--git-author-name", "ATTUNE_GIT_AUTHOR_NAME"),
        ("--git-author-email", "ATTUNE_GIT_AUTHOR_EMAIL"),
        ("--templates", "ATTUNE_TEMPLATES_DIR"),
        ("--argocd-namespaces", "ATTUNE_ARGOCD_NAMESPACES"),
        ("--argocd-installation-id", "ATTUNE_ARGOCD_INSTALLATION_ID"),
        ("--pr-hourly-limit", "ATTUNE_PR_HOURLY_LIMIT"),
        ("--pr-concurrent-limit", "ATTUNE_PR_CONCURRENT_LIMIT"),
        ("--leader-elect", "ATTUNE_LEADER_ELECT"),
        ("--lease-name", "ATTUNE_LEASE_NAME"),
        ("--lease-namespace", "ATTUNE_LEASE_NAMESPACE"),
        ("--lease-duration", "ATTUNE_LEASE_DURATION"),
        ("--bind-address", "ATTUNE_BIND_ADDRESS"),
        ("--log-format", "ATTUNE_LOG_FORMAT"),
        ("--log-level", "ATTUNE_LOG_LEVEL"),
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
        assert!(
            help.contains(&format!("[env: {env}")),
            "{env} missing from:\n{help}"
        );
    }
}

#[test]
fn a_bad_duration_names_the_flag_and_the_expected_form() {
    let (code, err) = stderr_of(controller().args(["--requeue-interval", "5 minutes"]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--requeue-interval"), "{err}");
    assert!(err.contains("30s, 10m or 1h"), "{err}");
    assert!(!err.contains("kubeconfig"), "{err}");

    let (code, err) = stderr_of(controller().args(["--pr-poll-interval", "0s"]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--pr-poll-interval"), "{err}");
    assert!(err.contains("longer than zero"), "{err}");
}

#[test]
fn a_bad_duration_from_the_environment_is_refused_too() {
    let (code, err) = stderr_of(controller().env("ATTUNE_LEASE_DURATION", "1s"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--lease-duration"), "{err}");
    assert!(err.contains("too short"), "{err}");
}

#[test]
fn a_bad_bind_address_names_the_flag_and_an_example() {
    let (code, err) = stderr_of(controller().args(["--bind-address", "localhost:8080"]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--bind-address"), "{err}");
    assert!(err.contains("0.0.0.0:8080"), "{err}");

    let (code, err) = stderr_of(controller().env("ATTUNE_BIND_ADDRESS", "8080"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("IP:PORT"), "{err}");
}

#[test]
fn a_bad_log_filter_and_an_empty_argocd_list_are_refused_before_any_client() {
    let (code, err) = stderr_of(controller().args(["--log-level", "info,=[bad"]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--log-level"), "{err}");
    assert!(err.contains("not a log filter"), "{err}");

    let (code, err) = stderr_of(controller().env("ATTUNE_ARGOCD_NAMESPACES", ","));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--argocd-namespaces"), "{err}");
}

#[test]
fn leader_elect_takes_an_explicit_false() {
    // Parsing succeeds (the failure comes later, from the missing kubeconfig, exit 1).
    let (code, err) =
        stderr_of(controller().args(["--leader-elect=false", "--log-format", "text"]));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("Kubernetes client"), "{err}");

    let (code, err) = stderr_of(controller().args(["--leader-elect=maybe"]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--leader-elect"), "{err}");
}
