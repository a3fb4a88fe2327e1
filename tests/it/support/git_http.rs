//! A real git smart-HTTP server for tests: lighttpd + `git http-backend` on 127.0.0.1 with basic
//! auth, one per test, stopped on drop. Bare repositories are created and seeded with the git CLI.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "attune";
pub const TOKEN: &str = "tok-3f9a1c7e5b";

pub struct GitServer {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

fn lighttpd() -> PathBuf {
    for p in ["/usr/sbin/lighttpd", "/usr/bin/lighttpd"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("lighttpd is not installed: apt-get install -y lighttpd (.ci/run does this)");
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("HOME", dir)
        .env("GIT_AUTHOR_NAME", "Human Dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "Human Dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Every file below `root` as (path from `root`, text), to seed a repository with.
pub fn files_of(root: &Path) -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                out.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

pub fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

impl GitServer {
    pub fn start() -> GitServer {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("www")).unwrap();
        std::fs::create_dir_all(root.join("repos")).unwrap();
        std::fs::write(root.join("users"), format!("{USER}:{TOKEN}\n")).unwrap();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let conf = format!(
                r#"server.modules = ("mod_auth", "mod_authn_file", "mod_alias", "mod_setenv", "mod_cgi")
server.bind = "127.0.0.1"
server.port = {port}
server.document-root = "{d}/www"
server.errorlog = "{d}/lighttpd-error.log"
server.upload-dirs = ("{d}")
auth.backend = "plain"
auth.backend.plain.userfile = "{d}/users"
auth.require = ("" => ("method" => "basic", "realm" => "git", "require" => "valid-user"))
alias.url = ("" => "/usr/lib/git-core/git-http-backend")
cgi.assign = ("" => "")
setenv.set-environment = ("GIT_PROJECT_ROOT" => "{d}/repos", "GIT_HTTP_EXPORT_ALL" => "")
"#,
                d = root.display()
            );
            std::fs::write(root.join("lighttpd.conf"), conf).unwrap();
            let mut child = Command::new(lighttpd())
                .args(["-D", "-f"])
                .arg(root.join("lighttpd.conf"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // port taken: try another
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return GitServer { dir, port, child };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("lighttpd did not start; see its error log");
    }

    /// Lets another user in (lighttpd reads the user file on every request).
    pub fn add_user(&self, user: &str, password: &str) {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.path().join("users"))
            .unwrap();
        writeln!(f, "{user}:{password}").unwrap();
    }

    /// URL without credentials (the token goes through the credential callback).
    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}.git", self.port)
    }

    /// URL with credentials, for the git CLI in test setup only.
    pub fn auth_url(&self, name: &str) -> String {
        format!("http://{USER}:{TOKEN}@127.0.0.1:{}/{name}.git", self.port)
    }

    pub fn bare(&self, name: &str) -> PathBuf {
        self.dir.path().join("repos").join(format!("{name}.git"))
    }

    /// Creates `name` with `files` (a directory tree) as the first commit on `main`, plus
    /// `extra_commits` small commits after it (for history depth).
    pub fn create_repo(&self, name: &str, files: &Path, extra_commits: usize) -> PathBuf {
        let bare = self.bare(name);
        std::fs::create_dir_all(&bare).unwrap();
        git(&bare, &["init", "-q", "--bare", "-b", "main"]);
        let work = self.dir.path().join(format!("seed-{name}"));
        std::fs::create_dir_all(&work).unwrap();
        git(&work, &["init", "-q", "-b", "main"]);
        copy_tree(files, &work);
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", "initial manifests"]);
        for i in 0..extra_commits {
            std::fs::write(work.join("HISTORY.txt"), format!("{i}\n")).unwrap();
            git(&work, &["add", "-A"]);
            git(&work, &["commit", "-q", "-m", &format!("history {i}")]);
        }
        git(&work, &["push", "-q", &self.auth_url(name), "main"]);
        work
    }

    /// A human commit on top of `branch` (as a developer would push it).
    pub fn human_commit(&self, name: &str, branch: &str, file: &str, text: &str) {
        let work = self
            .dir
            .path()
            .join(format!("human-{name}-{}", branch.replace('/', "-")));
        let _ = std::fs::remove_dir_all(&work);
        git(
            self.dir.path(),
            &[
                "clone",
                "-q",
                "-b",
                branch,
                &self.auth_url(name),
                work.to_str().unwrap(),
            ],
        );
        std::fs::write(work.join(file), text).unwrap();
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", "tweak by hand"]);
        git(&work, &["push", "-q", "origin", branch]);
    }

    /// Tip of a branch in the bare repository, or `None`.
    pub fn tip(&self, name: &str, branch: &str) -> Option<String> {
        let out = Command::new("git")
            .args([
                "rev-parse",
                "--verify",
                "-q",
                &format!("refs/heads/{branch}"),
            ])
            .current_dir(self.bare(name))
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// `git show branch:path` in the bare repository.
    pub fn show(&self, name: &str, branch: &str, path: &str) -> String {
        git(&self.bare(name), &["show", &format!("{branch}:{path}")])
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        // SIGTERM: lighttpd stops at once; the tempdir goes after.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}
