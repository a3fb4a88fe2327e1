//! Where a token may go. A [`Clearance`] names the two places a run sends its token — the forge
//! API's origin (scheme, host, port) and the git remote — and [`Clearance::check`] is the gate in
//! front of every use: [`super::sync`] passes it before its first forge call, and the controller
//! before it polls a pull request's state. The caller decides what to clear: the command line
//! clears what its flags name; the controller clears only endpoints its allowlist admits for the
//! repository the workload's owner deploys from (`controller::gitops::gate`). The git credential
//! callback then answers only for the cleared remote (`git::Workspace`). Pure.

use url::Url;

/// Why a token was not sent. Messages name the URLs without their user info.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    #[error("{what} {url} is not an {expected} url, so no token is sent there")]
    Scheme {
        what: &'static str,
        url: String,
        expected: &'static str,
    },
    #[error("the forge client talks to {actual}, but the token was cleared only for {cleared}")]
    Api { actual: String, cleared: String },
    #[error("the git remote is {actual}, but the token was cleared only for {cleared}")]
    Git { actual: String, cleared: String },
    /// The controller's allowlist or the owner's repository refused an endpoint.
    #[error("{0}")]
    Refused(String),
}

/// The forge API origin and the git remote a token may be sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clearance {
    api: Url,
    git: Url,
}

impl Clearance {
    /// Clears the API at `api` (its origin: every path below it) and the git remote `git`.
    /// The API must be http(s); git http(s) or `file://` (a local remote asks for no token).
    pub fn new(api: &Url, git: &str) -> Result<Clearance, GateError> {
        if !matches!(api.scheme(), "http" | "https") || api.host_str().is_none() {
            return Err(GateError::Scheme {
                what: "the forge api",
                url: shown(api.as_str()),
                expected: "http(s)",
            });
        }
        let git = Url::parse(git.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https" | "file"))
            .ok_or_else(|| GateError::Scheme {
                what: "the git remote",
                url: shown(git),
                expected: "http(s) or file",
            })?;
        Ok(Clearance {
            api: origin_of(api),
            git,
        })
    }

    /// The gate: passes only when the forge client talks to the cleared API origin and git to
    /// the cleared remote.
    pub fn check(&self, api: &Url, git: &str) -> Result<(), GateError> {
        if origin_of(api) != self.api {
            return Err(GateError::Api {
                actual: shown(origin_of(api).as_str()),
                cleared: shown(self.api.as_str()),
            });
        }
        let same_git = Url::parse(git.trim()).is_ok_and(|g| same_remote(&g, &self.git));
        if !same_git {
            return Err(GateError::Git {
                actual: shown(git),
                cleared: shown(self.git.as_str()),
            });
        }
        Ok(())
    }

    /// The cleared git remote.
    pub fn git(&self) -> &str {
        self.git.as_str()
    }
}

/// Whether the API at `api` belongs to the forge that serves `git`: the same origin (Gitea,
/// GitHub Enterprise Server under `/api/v3`), or github.com's API host for github.com.
pub fn api_serves(api: &Url, git: &Url) -> bool {
    let api = origin_of(api);
    let git = origin_of(git);
    if api == git {
        return true;
    }
    let is = |u: &Url, host: &str| {
        u.scheme() == "https"
            && u.host_str() == Some(host)
            && u.port_or_known_default() == Some(443)
    };
    is(&api, "api.github.com") && is(&git, "github.com")
}

/// `scheme://host:port/` with the default port left out and the host lowercased.
fn origin_of(url: &Url) -> Url {
    let mut origin = url.clone();
    origin.set_path("/");
    origin.set_query(None);
    origin.set_fragment(None);
    // Only fails for URLs that cannot have user info; those have none to drop.
    let _ = origin.set_username("");
    let _ = origin.set_password(None);
    origin
}

fn same_remote(a: &Url, b: &Url) -> bool {
    let path = |u: &Url| u.path().trim_end_matches('/').to_owned();
    origin_of(a) == origin_of(b) && path(a) == path(b)
}

fn shown(url: &str) -> String {
    crate::git::redact(url, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn only_the_cleared_api_origin_and_remote_pass() {
        let c = Clearance::new(
            &url("https://ghe.example.com/api/v3/"),
            "https://ghe.example.com/acme/app.git",
        )
        .unwrap();
        c.check(
            &url("https://GHE.example.com:443/api/v3"),
            "https://ghe.example.com/acme/app.git/",
        )
        .unwrap();
        for api in [
            "http://ghe.example.com/api/v3/",
            "https://ghe.example.com:8443/api/v3/",
            "https://evil.example.com/api/v3/",
        ] {
            let err = c
                .check(&url(api), "https://ghe.example.com/acme/app.git")
                .unwrap_err();
            assert!(matches!(err, GateError::Api { .. }), "{api}: {err}");
        }
        for git in [
            "http://ghe.example.com/acme/app.git",
            "https://ghe.example.com/acme/other.git",
            "https://ghe.example.com:444/acme/app.git",
            "not a url",
        ] {
            let err = c
                .check(&url("https://ghe.example.com/api/v3/"), git)
                .unwrap_err();
            assert!(matches!(err, GateError::Git { .. }), "{git}: {err}");
        }
    }

    #[test]
    fn schemes_other_than_http_are_refused_without_user_info() {
        let err = Clearance::new(&url("ftp://h/"), "https://h/o/r.git").unwrap_err();
        assert!(matches!(err, GateError::Scheme { .. }), "{err}");
        let err = Clearance::new(&url("https://h/"), "ssh://bot:s3cret@h/o/r.git").unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        Clearance::new(&url("http://127.0.0.1:3000/"), "file:///srv/git/r.git").unwrap();
    }

    #[test]
    fn the_api_belongs_to_the_forge_of_the_remote() {
        let git = url("https://github.com/acme/app.git");
        assert!(api_serves(&url("https://api.github.com/"), &git));
        assert!(api_serves(&url("https://github.com/api/v3/"), &git));
        assert!(!api_serves(&url("https://api.github.com.evil.io/"), &git));
        assert!(!api_serves(&url("http://api.github.com/"), &git));
        let gitea = url("http://127.0.0.1:3000/acme/app.git");
        assert!(api_serves(&url("http://127.0.0.1:3000/"), &gitea));
        assert!(!api_serves(&url("http://127.0.0.1:3001/"), &gitea));
        assert!(!api_serves(&url("https://127.0.0.1:3000/"), &gitea));
    }
}
