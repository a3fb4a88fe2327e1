//! The git cache against a real smart-HTTP server (lighttpd + git http-backend): many runs on one
//! fresh cache at once — threads in one process, and separate `attune` processes sharing a
//! `--cache-dir` — and credentials that answer only for the remote the workspace was opened for,
//! not for a server a redirect points at.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::git_http::{GitServer, TOKEN, USER};
use crate::support::github_fake::GitHubFake;
use crate::support::tiny_http::Tiny;
use attune::git::{Credentials, Workspace};

fn creds() -> Credentials {
    Credentials {
        username: USER.into(),
        token: TOKEN.into(),
    }
}

#[test]
fn many_threads_on_one_fresh_cache_all_succeed() {
    let server = GitServer::start();
    server.create_repo("gitops", Path::new("fixtures/demo/repo"), 2);
    let url = server.url("gitops");
    let main = server.tip("gitops", "main").unwrap();
    for round in 0..4 {
        let cache = tempfile::tempdir().unwrap();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (cache, url) = (cache.path().to_path_buf(), url.clone());
                std::thread::spawn(move || -> Result<String, String> {
                    let ws =
                        Workspace::open(&cache, &url, Some(creds())).map_err(|e| e.to_string())?;
                    let heads = ws.remote_heads().map_err(|e| e.to_string())?;
                    ws.fetch(&["main"], None).map_err(|e| e.to_string())?;
                    let tip = heads["main"];
                    if !ws.has_commit(tip) {
                        return Err(format!("{tip} missing after the fetch"));
                    }
                    Ok(tip.to_string())
                })
            })
            .collect();
        for t in threads {
            let tip = t
                .join()
                .unwrap()
                .unwrap_or_else(|e| panic!("round {round}: {e}"));
            assert_eq!(tip, main);
        }
    }
}

struct Cli {
    server: GitServer,
    fake: GitHubFake,
    policies: PathBuf,
    _tmp: tempfile::TempDir,
}

fn cli() -> Cli {
    let server = GitServer::start();
    server.create_repo("gitops", Path::new("fixtures/demo/repo"), 2);
    server.add_user("x-access-token", TOKEN);
    let fake = GitHubFake::start(TOKEN);
    fake.link_git("acme/gitops", &server.bare("gitops"));
    let tmp = tempfile::tempdir().unwrap();
    let policies = tmp.path().join("policies.yaml");
    std::fs::copy("fixtures/demo/policies.yaml", &policies).unwrap();
    Cli {
        server,
        fake,
        policies,
        _tmp: tmp,
    }
}

fn dry_run(w: &Cli, cache: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_attune"))
        .args(["propose", "--open-pr", "--dry-run", "--output", "json"])
        .arg("--policies")
        .arg(&w.policies)
        .args(["--repository", "acme/gitops"])
        .args(["--repo-url", &w.server.url("gitops")])
        .args(["--api-url", w.fake.base.as_str()])
        .arg("--cache-dir")
        .arg(cache)
        .env("ATTUNE_GIT_TOKEN", TOKEN)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn two_processes_sharing_a_fresh_cache_dir_both_succeed() {
    let w = cli();
    for round in 0..6 {
        let cache = tempfile::tempdir().unwrap();
        let runs = [dry_run(&w, cache.path()), dry_run(&w, cache.path())];
        for run in runs {
            let out = run.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "round {round}: {stderr}");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                stdout
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .contains("\"created\""),
                "round {round}: {stdout}"
            );
        }
    }
}

#[test]
fn credentials_are_not_given_to_a_server_a_redirect_points_at() {
    // The foreign server asks for a password, as a phishing git server would.
    let foreign = Tiny::start(
        "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
            .into(),
    );
    // The admitted remote redirects its first request there (libgit2 follows a redirect to
    // another port of the same host).
    let admitted = Tiny::start(format!(
        "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{}/acme/gitops.git/info/refs?service=git-upload-pack\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n",
        foreign.port
    ));
    let cache = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}/acme/gitops.git", admitted.port);
    let ws = Workspace::open(cache.path(), &url, Some(creds())).unwrap();

    let err = ws.remote_heads().unwrap_err().to_string();

    let asked = foreign.seen();
    assert!(!asked.is_empty(), "the redirect was followed");
    for head in asked {
        assert!(
            !head.to_ascii_lowercase().contains("authorization"),
            "the token reached the foreign server: {head}"
        );
    }
    assert!(err.contains("not the repository's remote"), "{err}");
    assert!(!err.contains(TOKEN), "{err}");
}
