//! The operator's allowlist of repositories the controller may write to (`Config.allowed_repositories`).
//!
//! A pattern is `[http://|https://]host[:port]/seg/seg/...`, without a user or `.git`:
//! - the host is compared case-insensitively (DNS is), every path segment case-sensitively
//!   (a plain git server is case-sensitive, and the allowlist must not admit what it was not given);
//! - `*` stands for exactly one whole, non-empty path segment (`git.example.com/team/*` admits
//!   `git.example.com/team/app`, not `git.example.com/team/sub/app`); it never matches the host;
//! - a port in the pattern must equal the URL's; a pattern without one admits only URLs on the
//!   transport's default port, so an SSH URL on port 2222 needs `host:2222/...`.
//!
//! A pattern serves two checks. [`matches`] admits the repository an owner deploys from, whatever
//! its transport (`https://host/o/r` and `git@host:o/r` both name `host/o/r`). [`admits_endpoint`]
//! admits a URL the forge token is sent to: there the pattern names the endpoint exactly —
//! scheme `https` unless the pattern starts with `http://` (the only way to allow a token over
//! plain http), host, and port (the scheme's default unless written).
//!
//! A pattern that breaks these rules admits nothing and is named in the refusal. This file knows
//! how a repository URL is matched; it does not know where the URL came from.

use crate::locate::{RemoteUrl, Transport};

/// The scheme a pattern names, and the rest.
fn split_scheme(pattern: &str) -> (Option<Transport>, &str) {
    if let Some(rest) = pattern.strip_prefix("http://") {
        (Some(Transport::Http), rest)
    } else if let Some(rest) = pattern.strip_prefix("https://") {
        (Some(Transport::Https), rest)
    } else {
        (None, pattern)
    }
}

/// Why a pattern admits nothing, or `None` for a well-formed one (for checking configuration at
/// start-up as well as for the refusal message).
pub fn malformed(pattern: &str) -> Option<&'static str> {
    let (_, pattern) = split_scheme(pattern);
    if pattern.contains("://") {
        return Some("a pattern names no scheme, or http:// or https://");
    }
    if pattern.contains('@') {
        return Some("a pattern has no user");
    }
    let mut parts = pattern.split('/');
    let host = parts.next().unwrap_or_default();
    if host.is_empty() || host.contains('*') {
        return Some("a pattern starts with a literal host");
    }
    let segments: Vec<&str> = parts.collect();
    if segments.len() < 2 || segments.iter().any(|s| s.is_empty()) {
        return Some("a pattern names host/owner/name, with no empty segment");
    }
    if segments
        .iter()
        .any(|s| s.contains('*') && *s != "*" || s.ends_with(".git"))
    {
        return Some("`*` stands for a whole segment, and `.git` is left out");
    }
    None
}

/// A well-formed pattern, taken apart.
struct Pattern<'a> {
    scheme: Option<Transport>,
    host: &'a str,
    port: Option<u16>,
    segments: Vec<&'a str>,
}

impl<'a> Pattern<'a> {
    fn parse(pattern: &'a str) -> Option<Pattern<'a>> {
        let pattern = pattern.trim();
        if malformed(pattern).is_some() {
            return None;
        }
        let (scheme, rest) = split_scheme(pattern);
        let mut parts = rest.split('/');
        let authority = parts.next().unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port.parse::<u16>().ok()?)),
            None => (authority, None),
        };
        Some(Pattern {
            scheme,
            host,
            port,
            segments: parts.collect(),
        })
    }

    /// Same host and path (the port and scheme are the callers' to compare).
    fn names(&self, url: &RemoteUrl) -> bool {
        let have: Vec<&str> = url.path.split('/').collect();
        self.host.eq_ignore_ascii_case(&url.host)
            && self.segments.len() == have.len()
            && self
                .segments
                .iter()
                .zip(&have)
                .all(|(w, h)| *w == "*" || w == h)
    }
}

/// Whether `pattern` admits `url` as the repository an owner deploys from (any transport).
pub fn matches(pattern: &str, url: &RemoteUrl) -> bool {
    Pattern::parse(pattern).is_some_and(|p| p.port == url.port && p.names(url))
}

/// Whether `pattern` admits `url` as a place the token may be sent: an HTTP(S) URL whose
/// scheme, host, port and path the pattern names (see the module notes).
pub fn admits_endpoint(pattern: &str, url: &RemoteUrl) -> bool {
    let Some(p) = Pattern::parse(pattern) else {
        return false;
    };
    let scheme = p.scheme.unwrap_or(Transport::Https);
    let default = |t: Transport| if t == Transport::Http { 80 } else { 443 };
    url.transport == scheme
        && p.port.unwrap_or(default(scheme)) == url.port.unwrap_or(default(url.transport))
        && p.names(url)
}

/// The verdict on one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// The human-readable reason, naming the repository and the patterns.
    Refused(String),
}

/// Checks `url` against every pattern; empty `patterns` refuses everything.
pub fn check(patterns: &[String], url: &RemoteUrl) -> Verdict {
    if patterns.iter().any(|p| matches(p, url)) {
        return Verdict::Allowed;
    }
    if patterns.is_empty() {
        return Verdict::Refused(format!(
            "repository {url} is not allowed: the operator allows no repository yet \
             (set the controller's allowed repositories, e.g. {url})"
        ));
    }
    let bad: Vec<String> = patterns
        .iter()
        .filter_map(|p| malformed(p.trim()).map(|why| format!("{p:?} ({why})")))
        .collect();
    let mut text = format!(
        "repository {url} is not in the operator's allowed repositories ({})",
        patterns.join(", ")
    );
    if !bad.is_empty() {
        text.push_str(&format!("; ignored malformed patterns: {}", bad.join(", ")));
    }
    Verdict::Refused(text)
}

/// Checks `url`, an HTTP(S) URL the token would be sent to, against every pattern.
pub fn check_endpoint(patterns: &[String], url: &RemoteUrl) -> Verdict {
    if patterns.iter().any(|p| admits_endpoint(p, url)) {
        return Verdict::Allowed;
    }
    let scheme = if url.transport == Transport::Http {
        "http"
    } else {
        "https"
    };
    let hint = if url.transport == Transport::Http {
        format!(
            "; plain http needs an entry that says so, like http://{}/{}/*",
            authority(url),
            url.owner()
        )
    } else {
        String::new()
    };
    Verdict::Refused(format!(
        "the token would be sent to {scheme}://{url}, which no allowed-repositories entry \
         names with this scheme and port{hint}"
    ))
}

fn authority(url: &RemoteUrl) -> String {
    match url.port {
        Some(port) => format!("{}:{port}", url.host),
        None => url.host.clone(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn url(text: &str) -> RemoteUrl {
        RemoteUrl::parse(text).unwrap()
    }

    #[test]
    fn a_star_is_one_whole_segment() {
        let p = "gitea.example.com/team/*";
        assert!(matches(p, &url("https://gitea.example.com/team/app.git")));
        assert!(matches(p, &url("git@gitea.example.com:team/app.git")));
        assert!(!matches(p, &url("https://gitea.example.com/team/sub/app")));
        assert!(!matches(p, &url("https://gitea.example.com/other/app")));
        assert!(!matches(
            p,
            &url("https://gitea.example.com.evil.io/team/app")
        ));
        assert!(!matches(
            p,
            &url("https://evil.io/gitea.example.com/team/app")
        ));
        assert!(matches("h.io/*/*", &url("https://h.io/a/b")));
        assert!(!matches("h.io/*/*", &url("https://h.io/a/b/c")));
    }

    #[test]
    fn host_ignores_case_and_path_does_not() {
        assert!(matches(
            "GitHub.com/acme/deploy",
            &url("https://github.com/acme/deploy")
        ));
        assert!(matches(
            "github.com/acme/deploy",
            &url("https://GITHUB.COM/acme/deploy")
        ));
        assert!(!matches(
            "github.com/Acme/deploy",
            &url("https://github.com/acme/deploy")
        ));
    }

    #[test]
    fn ports_must_agree() {
        let ssh = url("ssh://git@git.io:2222/team/app.git");
        assert!(!matches("git.io/team/app", &ssh));
        assert!(matches("git.io:2222/team/app", &ssh));
        assert!(matches(
            "git.io/team/app",
            &url("ssh://git@git.io:22/team/app")
        ));
        assert!(!matches(
            "git.io:3000/team/app",
            &url("https://git.io/team/app")
        ));
        assert!(matches(
            "127.0.0.1:3000/a/b",
            &url("http://127.0.0.1:3000/a/b.git")
        ));
    }

    #[test]
    fn endpoints_need_their_scheme_and_port_named() {
        let https = url("https://git.io/team/app.git");
        let http = url("http://git.io/team/app.git");
        let http3000 = url("http://git.io:3000/team/app.git");
        assert!(admits_endpoint("git.io/team/*", &https));
        assert!(admits_endpoint("https://git.io/team/*", &https));
        assert!(admits_endpoint("git.io:443/team/*", &https));
        assert!(
            !admits_endpoint("git.io/team/*", &http),
            "http needs http://"
        );
        assert!(
            !admits_endpoint("http://git.io/team/*", &https),
            "port 80 is not 443"
        );
        assert!(admits_endpoint("http://git.io/team/*", &http));
        assert!(admits_endpoint("http://git.io:3000/team/*", &http3000));
        assert!(!admits_endpoint("git.io:3000/team/*", &http3000));
        assert!(!admits_endpoint("http://git.io/team/*", &http3000));
        assert!(!admits_endpoint(
            "git.io/team/*",
            &url("https://git.io:8443/team/app")
        ));
        assert!(!admits_endpoint("git.io/other/*", &https));
        // Identity ignores the scheme a pattern names.
        assert!(matches(
            "http://git.io:3000/team/*",
            &url("ssh://git@git.io:3000/team/app")
        ));
        let Verdict::Refused(why) = check_endpoint(&["git.io:3000/team/*".into()], &http3000)
        else {
            panic!("admitted");
        };
        assert!(why.contains("http://git.io:3000/team/*"), "{why}");
    }

    #[test]
    fn malformed_patterns_admit_nothing_and_are_named() {
        let u = url("https://github.com/acme/deploy");
        for p in [
            "ssh://github.com/acme/deploy",
            "git@github.com/acme/deploy",
            "*/acme/deploy",
            "github.com/acme/dep*",
            "github.com/acme/deploy.git",
            "github.com/acme",
            "github.com//deploy",
            "github.com:x/acme/deploy",
            "",
        ] {
            assert!(!matches(p, &u), "{p:?} admitted {u}");
        }
        let Verdict::Refused(why) = check(&["ssh://github.com/acme/deploy".into()], &u) else {
            panic!("admitted");
        };
        assert!(why.contains("github.com/acme/deploy is not in"), "{why}");
        assert!(why.contains("a pattern names no scheme"), "{why}");
    }

    #[test]
    fn an_empty_allowlist_refuses_everything() {
        let Verdict::Refused(why) = check(&[], &url("https://github.com/a/b")) else {
            panic!("admitted");
        };
        assert!(why.contains("allows no repository yet"), "{why}");
        assert_eq!(
            check(
                &["x.io/a/b".into(), "github.com/a/*".into()],
                &url("https://github.com/a/b")
            ),
            Verdict::Allowed
        );
    }
}
