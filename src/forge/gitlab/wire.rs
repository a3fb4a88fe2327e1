//! What GitLab's REST API v4 answers, as the backend reads it: merge requests, notes, users,
//! error bodies and rate-limit headers. Only the fields the lifecycle needs; unknown ones are
//! ignored.

use std::time::Duration;

use http::HeaderMap;
use serde::Deserialize;

use crate::forge::{ForgeError, PrState, PullRequest};
use crate::text::floor_char_boundary;

/// What GitLab prefixes a draft merge request's title with.
pub(super) const DRAFT_PREFIX: &str = "Draft: ";

#[derive(Deserialize)]
pub(super) struct ApiMergeRequest {
    /// The project-scoped number (`!7`), which every per-MR endpoint takes.
    pub(super) iid: u64,
    pub(super) web_url: String,
    /// `opened`, `closed`, `merged` or `locked` (a merge in progress).
    pub(super) state: String,
    pub(super) title: String,
    #[serde(default)]
    pub(super) description: Option<String>,
    pub(super) source_branch: String,
    pub(super) target_branch: String,
    #[serde(default)]
    pub(super) source_project_id: i64,
    #[serde(default)]
    pub(super) target_project_id: i64,
    #[serde(default)]
    pub(super) labels: Vec<String>,
    pub(super) created_at: String,
    #[serde(default)]
    pub(super) draft: bool,
}

#[derive(Deserialize)]
pub(super) struct ApiNote {
    #[serde(default)]
    pub(super) body: Option<String>,
    /// Notes GitLab writes itself ("added ~attune label", "mentioned in …").
    #[serde(default)]
    pub(super) system: bool,
}

#[derive(Deserialize)]
pub(super) struct ApiUser {
    pub(super) id: u64,
    pub(super) username: String,
}

impl ApiMergeRequest {
    /// Merge requests from a fork can share a branch name with ours; they are not ours.
    pub(super) fn is_same_project(&self) -> bool {
        self.source_project_id == self.target_project_id
    }

    pub(super) fn into_pull_request(self, step: &'static str) -> Result<PullRequest, ForgeError> {
        let created_at = chrono::DateTime::parse_from_rfc3339(&self.created_at)
            .map(|t| t.timestamp())
            .map_err(|e| ForgeError::Decode {
                step,
                message: format!("created_at `{}`: {e}", self.created_at),
            })?;
        let state = match self.state.as_str() {
            // `locked` lasts the seconds a merge takes; the merge may still fail and reopen it.
            "opened" | "locked" => PrState::Open,
            "closed" => PrState::Closed,
            "merged" => PrState::Merged,
            other => {
                return Err(ForgeError::Decode {
                    step,
                    message: format!("unknown merge request state {other:?}"),
                });
            }
        };
        let draft = self.draft || is_draft_title(&self.title);
        Ok(PullRequest {
            number: self.iid,
            url: self.web_url,
            state,
            title: self.title,
            body: self.description.unwrap_or_default(),
            head_branch: self.source_branch,
            base_branch: self.target_branch,
            labels: self.labels,
            created_at,
            draft,
        })
    }
}

pub(super) fn is_draft_title(title: &str) -> bool {
    let lower = title.trim_start().to_ascii_lowercase();
    ["draft:", "[draft]", "(draft)"]
        .iter()
        .any(|p| lower.starts_with(p))
}

/// GitLab's reason, from `message` (a string, a list, or a map of field → list) or `error`;
/// a body that is neither (a proxy's page) is not echoed.
pub(super) fn error_message(body: &str) -> String {
    const LIMIT: usize = 300;
    let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
        return "no error message".into();
    };
    let mut text = value
        .get("message")
        .or_else(|| value.get("error"))
        .map(flatten)
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "no error message".into());
    if text.len() > LIMIT {
        text.truncate(floor_char_boundary(&text, LIMIT));
        text.push('…');
    }
    text
}

fn flatten(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(flatten).collect::<Vec<_>>().join("; "),
        Value::Object(fields) => fields
            .iter()
            .map(|(field, v)| format!("{field} {}", flatten(v)))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// How long a 429 asks to wait: `Retry-After` (seconds), else until `RateLimit-Reset` (Unix
/// seconds), else a minute. GitLab sends no rate limit as 403.
pub(super) fn rate_limit_wait(status: u16, headers: &HeaderMap, now_unix: i64) -> Option<Duration> {
    if status != 429 {
        return None;
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(secs) = header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs));
    }
    let reset = header("ratelimit-reset").and_then(|v| v.parse::<i64>().ok());
    let wait = match reset {
        // One second of slack: the reset is whole seconds and clocks drift.
        Some(reset) => (reset - now_unix).max(0) + 1,
        None => 60,
    };
    Some(Duration::from_secs(u64::try_from(wait).unwrap_or(60)))
}

/// The page after this one, from `X-Next-Page` (empty on the last page) or a `Link` header's
/// `rel="next"` (GitLab sends only that for keyset pagination).
pub(super) fn next_page(headers: &HeaderMap) -> Option<u32> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(next) = header("x-next-page") {
        return next.trim().parse().ok();
    }
    let link = header("link")?;
    let next = link.split(',').find(|l| l.contains("rel=\"next\""))?;
    let target = next.split(['<', '>']).nth(1)?;
    let url = url::Url::parse(target).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn error_bodies_in_every_shape_gitlab_uses() {
        assert_eq!(
            error_message(r#"{"message":"404 Project Not Found"}"#),
            "404 Project Not Found"
        );
        assert_eq!(
            error_message(
                r#"{"message":["Another open merge request already exists for this source branch: !1"]}"#
            ),
            "Another open merge request already exists for this source branch: !1"
        );
        assert_eq!(
            error_message(r#"{"message":{"title":["is too long"],"description":["is too long"]}}"#),
            "description is too long; title is too long"
        );
        assert_eq!(
            error_message(r#"{"error":"title is missing"}"#),
            "title is missing"
        );
        assert_eq!(error_message("<html>502</html>"), "no error message");
        let long = format!(r#"{{"message":"{}"}}"#, "é".repeat(400));
        assert!(error_message(&long).ends_with('…'));
    }

    #[test]
    fn rate_limits_read_retry_after_then_the_reset() {
        let both = headers(&[("retry-after", "7"), ("ratelimit-reset", "2000")]);
        assert_eq!(
            rate_limit_wait(429, &both, 1000),
            Some(Duration::from_secs(7))
        );
        let reset = headers(&[("ratelimit-remaining", "0"), ("ratelimit-reset", "1010")]);
        assert_eq!(
            rate_limit_wait(429, &reset, 1000),
            Some(Duration::from_secs(11))
        );
        assert_eq!(
            rate_limit_wait(429, &HeaderMap::new(), 0),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            rate_limit_wait(403, &both, 0),
            None,
            "a 403 is a permission"
        );
    }

    #[test]
    fn the_next_page_comes_from_either_header() {
        assert_eq!(next_page(&headers(&[("x-next-page", "3")])), Some(3));
        assert_eq!(next_page(&headers(&[("x-next-page", "")])), None);
        let link = r#"<https://gl.example.com/api/v4/projects/1/merge_requests?page=1&per_page=2>; rel="prev", <https://gl.example.com/api/v4/projects/1/merge_requests?page=3&per_page=2>; rel="next""#;
        assert_eq!(next_page(&headers(&[("link", link)])), Some(3));
        assert_eq!(next_page(&HeaderMap::new()), None);
    }

    #[test]
    fn states_map_to_the_lifecycle_and_unknown_ones_are_refused() {
        let mr = |state: &str, title: &str| ApiMergeRequest {
            iid: 4,
            web_url: "https://gl/a/b/-/merge_requests/4".into(),
            state: state.into(),
            title: title.into(),
            description: None,
            source_branch: "attune/x".into(),
            target_branch: "main".into(),
            source_project_id: 1,
            target_project_id: 1,
            labels: vec!["attune".into()],
            created_at: "2026-01-02T03:04:05.123Z".into(),
            draft: false,
        };
        let cases = [
            ("opened", PrState::Open),
            ("locked", PrState::Open),
            ("closed", PrState::Closed),
            ("merged", PrState::Merged),
        ];
        for (state, want) in cases {
            assert_eq!(mr(state, "t").into_pull_request("s").unwrap().state, want);
        }
        assert!(mr("reopened?", "t").into_pull_request("s").is_err());
        let draft = mr("opened", "Draft: t").into_pull_request("s").unwrap();
        assert!(draft.draft);
        assert_eq!(draft.created_at, 1_767_323_045);
    }
}
