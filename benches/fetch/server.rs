//! The git smart-HTTP server of the fetch bench: lighttpd + `git http-backend` on 127.0.0.1.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Context, REPO, Res, TOKEN, USER};

/// lighttpd + `git http-backend` on 127.0.0.1 with basic auth; stopped when dropped, so also
/// when the benchmark fails half-way. (A Ctrl-C reaches it too: it is in the same foreground
/// process group.)
pub struct Server {
    child: Child,
    port: u16,
}

impl Server {
    pub fn start(dir: &Path) -> Res<Server> {
        let lighttpd = ["/usr/sbin/lighttpd", "/usr/bin/lighttpd"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.is_file())
            .ctx("lighttpd is not installed (apt-get install -y lighttpd)")?;
        std::fs::create_dir_all(dir.join("www")).ctx("creating the document root")?;
        std::fs::write(dir.join("users"), format!("{USER}:{TOKEN}\n")).ctx("writing users")?;
        // A port from the kernel can be taken again before lighttpd binds it; then lighttpd
        // exits at once and another port is tried.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .ctx("finding a free port")?
                .port();
            // All five modules are needed: lighttpd ignores alias/setenv keys of modules it did
            // not load and every request then fails with "repository not found".
            let conf = format!(
                "server.modules = (\"mod_auth\", \"mod_authn_file\", \"mod_alias\", \"mod_setenv\", \"mod_cgi\")\n\
                 server.bind = \"127.0.0.1\"\n\
                 server.port = {port}\n\
                 server.document-root = \"{d}/www\"\n\
                 server.errorlog = \"{d}/lighttpd-error.log\"\n\
                 server.upload-dirs = (\"{d}\")\n\
                 auth.backend = \"plain\"\n\
                 auth.backend.plain.userfile = \"{d}/users\"\n\
                 auth.require = (\"\" => (\"method\" => \"basic\", \"realm\" => \"git\", \"require\" => \"valid-user\"))\n\
                 alias.url = (\"\" => \"/usr/lib/git-core/git-http-backend\")\n\
                 cgi.assign = (\"\" => \"\")\n\
                 setenv.set-environment = (\"GIT_PROJECT_ROOT\" => \"{d}/repos\", \"GIT_HTTP_EXPORT_ALL\" => \"\")\n",
                d = dir.display()
            );
            let conf_path = dir.join("lighttpd.conf");
            std::fs::write(&conf_path, conf).ctx("writing lighttpd.conf")?;
            let child = Command::new(lighttpd)
                .arg("-D")
                .arg("-f")
                .arg(&conf_path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ctx("starting lighttpd")?;
            // Owned from here on, so an early return below still stops it.
            let mut server = Server { child, port };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if server.child.try_wait().ctx("watching lighttpd")?.is_some() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Ok(server);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Err(format!(
            "lighttpd did not start; see {}",
            dir.join("lighttpd-error.log").display()
        )
        .into())
    }

    /// Without credentials: the workspace hands them to libgit2 through its callback.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/{REPO}.git", self.port)
    }

    /// With credentials, for the git CLI baseline only.
    pub fn auth_url(&self) -> String {
        format!("http://{USER}:{TOKEN}@127.0.0.1:{}/{REPO}.git", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM stops lighttpd at once (SIGINT would wait for open connections); SIGKILL
        // only if it is still there after a few seconds.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
