//! Repository URLs as the GitOps tools write them, reduced to the forge repository they name:
//! `https://github.com/o/r(.git)`, `git@github.com:o/r.git`, `ssh://git@host:2222/o/r.git` and
//! `http(s)://gitea-host/o/r.git` all name host + `o/r`. [`same_repo`] compares two of them and
//! errs towards "different" (see there).

use serde::Serialize;

use super::LocateError;

/// How git reaches the repository. `http` and `https` are different transports: a token may
/// travel over one and not the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Http,
    Https,
    Ssh,
    Git,
}

impl Transport {
    /// Whether git speaks HTTP on it (the only transports a token is ever sent over).
    pub fn is_http(self) -> bool {
        matches!(self, Transport::Http | Transport::Https)
    }
}

/// A git remote's URL in normal form: how to reach the repository, not a checkout of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUrl {
    pub transport: Transport,
    /// Lowercase; DNS names are case-insensitive.
    pub host: String,
    /// `None` for the transport's default port.
    pub port: Option<u16>,
    /// `owner/name` (or `group/subgroup/name`), without `.git` or slashes at either end.
    pub path: String,
}

impl RemoteUrl {
    pub fn parse(url: &str) -> Result<RemoteUrl, LocateError> {
        let trimmed = url.trim();
        let bad = |reason: &'static str| LocateError::BadRepoUrl {
            url: redacted(trimmed),
            reason,
        };
        let (transport, host, port, path) = if trimmed.contains("://") {
            let parsed = url::Url::parse(trimmed).map_err(|_| bad("it does not parse as a url"))?;
            let (transport, default_port) = match parsed.scheme() {
                "https" => (Transport::Https, None),
                "http" => (Transport::Http, None),
                "ssh" | "git+ssh" | "ssh+git" => (Transport::Ssh, Some(22)),
                "git" => (Transport::Git, Some(9418)),
                _ => {
                    return Err(bad(
                        "only http(s), ssh and git urls name a forge repository",
                    ));
                }
            };
            let host = parsed.host_str().ok_or_else(|| bad("it has no host"))?;
            // The url crate drops 80/443 for http(s) itself; the others are dropped here.
            let port = parsed.port().filter(|p| Some(*p) != default_port);
            (transport, host.to_owned(), port, parsed.path().to_owned())
        } else {
            // scp-like `[user@]host:path`: the colon must come before any slash, or it is a
            // local path.
            let (authority, path) = trimmed
                .split_once(':')
                .filter(|(a, _)| !a.contains('/'))
                .ok_or_else(|| bad("it is neither a url nor user@host:path"))?;
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            if host.is_empty() {
                return Err(bad("it has no host"));
            }
            (Transport::Ssh, host.to_owned(), None, path.to_owned())
        };
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut path = segments.join("/");
        if let Some(stripped) = path.strip_suffix(".git") {
            path = stripped.trim_end_matches('/').to_owned();
        }
        if !path.contains('/') || path.ends_with('/') {
            return Err(bad("its path does not name owner/repository"));
        }
        Ok(RemoteUrl {
            transport,
            host: host.to_ascii_lowercase(),
            port,
            path,
        })
    }

    /// Everything before the repository name: the owner, or a GitLab group path.
    pub fn owner(&self) -> &str {
        self.path.rsplit_once('/').map_or("", |(o, _)| o)
    }

    pub fn name(&self) -> &str {
        self.path.rsplit_once('/').map_or(&self.path, |(_, n)| n)
    }

    /// Same host and path, reached the same way. Within one transport the ports must agree.
    /// `http` and `https` are never the same (one of them carries a token in the clear). Across
    /// SSH/git and HTTP(S) the ports belong to different services and cannot be compared, so
    /// such a pair is the same only when both use their transport's default port; a forge with
    /// SSH on 2222 and HTTP on 3000 is related to its SSH URL through the allowlist, which names
    /// each port (see the controller's gate). The path is compared case-sensitively: GitHub and
    /// Gitea ignore case there, but a plain git server does not, and an allowlist must not admit
    /// a repository it was not given; a URL written in another case fails closed and is fixed
    /// in configuration.
    pub fn same_repo(&self, other: &RemoteUrl) -> bool {
        let ports = if self.transport == other.transport {
            self.port == other.port
        } else if self.transport.is_http() && other.transport.is_http() {
            false
        } else {
            self.port.is_none() && other.port.is_none()
        };
        self.host == other.host && self.path == other.path && ports
    }
}

impl std::fmt::Display for RemoteUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}/{}", self.host, self.path),
            None => write!(f, "{}/{}", self.host, self.path),
        }
    }
}

/// The forge repository `owner/name` a repository URL names.
pub fn forge_repo(url: &str) -> Result<String, LocateError> {
    RemoteUrl::parse(url).map(|u| u.path)
}

/// Whether two repository URLs name the same repository; false when either does not parse.
pub fn same_repo(a: &str, b: &str) -> bool {
    match (RemoteUrl::parse(a), RemoteUrl::parse(b)) {
        (Ok(a), Ok(b)) => a.same_repo(&b),
        _ => false,
    }
}

/// The URL with any user info replaced, so a token embedded in it never reaches a message.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_reduce_to_host_and_path() {
        for (url, transport, host, port, path) in [
            (
                "https://github.com/o/r",
                Transport::Https,
                "github.com",
                None,
                "o/r",
            ),
            (
                "https://github.com/o/r.git",
                Transport::Https,
                "github.com",
                None,
                "o/r",
            ),
            (
                "https://GitHub.com/o/r.git/",
                Transport::Https,
                "github.com",
                None,
                "o/r",
            ),
            (
                "https://github.com/o/r/",
                Transport::Https,
                "github.com",
                None,
                "o/r",
            ),
            (
                "https://github.com:443/o/r",
                Transport::Https,
                "github.com",
                None,
                "o/r",
            ),
            (
                "https://x:tok@github.com/o/r",
                Transport::Https,
                "github.com",
                None,
                "o/r",
            ),
            (
                "git@github.com:o/r.git",
                Transport::Ssh,
                "github.com",
                None,
                "o/r",
            ),
            (
                "git@github.com:/o/r.git",
                Transport::Ssh,
                "github.com",
                None,
                "o/r",
            ),
            ("github.com:o/r", Transport::Ssh, "github.com", None, "o/r"),
            (
                "ssh://git@github.com/o/r.git",
                Transport::Ssh,
                "github.com",
                None,
                "o/r",
            ),
            (
                "ssh://git@Gitea.Local:22/o/r.git",
                Transport::Ssh,
                "gitea.local",
                None,
                "o/r",
            ),
            (
                "ssh://git@gitea.local:2222/o/r.git",
                Transport::Ssh,
                "gitea.local",
                Some(2222),
                "o/r",
            ),
            (
                "http://gitea.local:3000/o/r.git",
                Transport::Http,
                "gitea.local",
                Some(3000),
                "o/r",
            ),
            (
                "git://example.org/o/r.git",
                Transport::Git,
                "example.org",
                None,
                "o/r",
            ),
            (
                "https://gitlab.com/group/sub/r.git",
                Transport::Https,
                "gitlab.com",
                None,
                "group/sub/r",
            ),
        ] {
            let u = RemoteUrl::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(
                (u.transport, u.host.as_str(), u.port, u.path.as_str()),
                (transport, host, port, path),
                "{url}"
            );
        }
        let gitlab = RemoteUrl::parse("https://gitlab.com/group/sub/r.git").unwrap();
        assert_eq!((gitlab.owner(), gitlab.name()), ("group/sub", "r"));
        assert_eq!(
            forge_repo("git@github.com:acme/shop.git").unwrap(),
            "acme/shop"
        );
    }

    #[test]
    fn urls_that_name_no_forge_repository_are_refused_without_leaking_tokens() {
        for url in [
            "",
            "file:///srv/git/r.git",
            "oci://ghcr.io/o/r",
            "https://github.com/o",
            "https://github.com/o.git",
            "https://github.com/",
            "github.com/o/r",
            "/srv/git/r.git",
            "@:o/r",
        ] {
            assert!(
                matches!(RemoteUrl::parse(url), Err(LocateError::BadRepoUrl { .. })),
                "{url:?}"
            );
        }
        let err = RemoteUrl::parse("https://bot:s3cret@github.com/o")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("s3cret"), "{err}");
        assert!(err.contains("***@github.com/o"), "{err}");
    }

    #[test]
    fn equality_after_normalisation() {
        for (a, b, same) in [
            ("https://github.com/o/r", "git@github.com:o/r.git", true),
            (
                "https://github.com/o/r.git",
                "ssh://git@github.com/o/r",
                true,
            ),
            ("https://GITHUB.com/o/r/", "https://github.com/o/r", true),
            (
                "http://gitea:3000/o/r.git",
                "ssh://git@gitea:2222/o/r.git",
                false,
            ),
            (
                "https://gitea/o/r.git",
                "ssh://git@gitea:2222/o/r.git",
                false,
            ),
            ("https://h:8443/o/r", "git@h:o/r", false),
            ("http://h/o/r", "https://h/o/r", false),
            ("http://h:443/o/r", "https://h/o/r", false),
            ("http://h:3000/o/r", "http://h:3000/o/r.git", true),
            ("https://h:8443/o/r", "https://h:8443/o/r/", true),
            ("https://h:8443/o/r", "https://h:8444/o/r", false),
            ("git://h/o/r", "https://h/o/r", true),
            ("ssh://git@h:22/o/r", "git@h:o/r", true),
            ("https://github.com/O/r", "https://github.com/o/r", false),
            ("https://github.com/o/r", "https://github.com/o/r2", false),
            ("https://github.com/o/r", "https://gitlab.com/o/r", false),
            ("https://h:3000/o/r", "https://h/o/r", false),
            ("ssh://git@h:2222/o/r", "git@h:o/r", false),
            ("https://github.com/o/r", "not a url", false),
        ] {
            assert_eq!(same_repo(a, b), same, "{a} vs {b}");
            assert_eq!(same_repo(b, a), same, "{b} vs {a}");
        }
    }
}
