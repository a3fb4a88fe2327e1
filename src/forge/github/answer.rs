//! Turning GitHub's answers into results: what the retry policy should do with a failure, and
//! error messages that carry GitHub's reason but never a credential or a proxy's HTML page.

use http::HeaderMap;
use serde::Deserialize;

use crate::forge::ForgeError;
use crate::forge::retry::{Attempt, is_transient, rate_limit_wait};
use crate::text::floor_char_boundary;

/// GitHub answers a second pull request for the same head with a 422 whose detail is buried in
/// `errors`; name the case so the lifecycle knows to look the existing one up.
pub(super) fn already_exists(error: ForgeError, owner: &str, head: &str) -> ForgeError {
    match error {
        ForgeError::Status {
            step,
            status: 422,
            message,
        } if message.to_ascii_lowercase().contains("already exists") => ForgeError::Status {
            step,
            status: 422,
            message: format!("a pull request already exists for {owner}:{head}"),
        },
        other => other,
    }
}

/// Sorts a failed answer into what the retry policy should do with it.
pub(super) fn classify(
    step: &'static str,
    status: u16,
    headers: &HeaderMap,
    body: &str,
    now_unix: i64,
) -> Attempt {
    let message = forge_message(body);
    if let Some(wait) = rate_limit_wait(status, headers, body, now_unix) {
        return Attempt::Limited(
            wait,
            ForgeError::Status {
                step,
                status,
                message,
            },
        );
    }
    if is_transient(status) {
        return Attempt::Transient(ForgeError::Status {
            step,
            status,
            message,
        });
    }
    let error = match status {
        401 => ForgeError::Auth(format!(
            "{step}: github rejected the credentials (401): {message}"
        )),
        403 => ForgeError::Status {
            step,
            status,
            message: format!("{message} (the token or app lacks a permission this needs)"),
        },
        _ => ForgeError::Status {
            step,
            status,
            message,
        },
    };
    Attempt::Fatal(error)
}

/// The `message` of a GitHub error body with the detail of any `errors`, shortened. Bodies that
/// are not GitHub's JSON (a proxy's HTML page) are not echoed.
pub(super) fn forge_message(body: &str) -> String {
    #[derive(Deserialize)]
    struct ErrorBody {
        message: Option<String>,
        #[serde(default)]
        errors: Vec<serde_json::Value>,
    }
    const LIMIT: usize = 300;
    let Ok(parsed) = serde_json::from_str::<ErrorBody>(body) else {
        return "no error message".to_owned();
    };
    let mut text = parsed.message.unwrap_or_else(|| "no error message".into());
    let details: Vec<&str> = parsed
        .errors
        .iter()
        .filter_map(|e| e.get("message").and_then(|m| m.as_str()))
        .collect();
    if !details.is_empty() {
        text = format!("{text}: {}", details.join("; "));
    }
    if text.len() > LIMIT {
        text.truncate(floor_char_boundary(&text, LIMIT));
        text.push('…');
    }
    text
}

pub(super) fn decode<T: for<'de> Deserialize<'de>>(
    step: &'static str,
    text: &str,
) -> Result<T, ForgeError> {
    serde_json::from_str(text).map_err(|e| ForgeError::Decode {
        step,
        message: e.to_string(),
    })
}

/// A GitHub timestamp (RFC 3339) as Unix seconds.
pub(super) fn unix_seconds(step: &'static str, field: &str, text: &str) -> Result<i64, ForgeError> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp())
        .map_err(|e| ForgeError::Decode {
            step,
            message: format!("{field} `{text}`: {e}"),
        })
}

pub(super) fn transport(step: &'static str, error: &octocrab::Error) -> ForgeError {
    ForgeError::Transport {
        step,
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn error_messages_come_from_json_and_are_short() {
        let body = r#"{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"A pull request already exists for acme:b."}]}"#;
        assert_eq!(
            forge_message(body),
            "Validation Failed: A pull request already exists for acme:b."
        );
        assert_eq!(
            forge_message("<html>bad gateway</html>"),
            "no error message"
        );
        let long = format!(r#"{{"message":"{}"}}"#, "é".repeat(400));
        let message = forge_message(&long);
        assert!(message.len() <= 300 + '…'.len_utf8());
        assert!(message.ends_with('…'));
    }

    #[test]
    fn statuses_are_sorted_for_the_retry_policy() {
        let none = HeaderMap::new();
        assert!(matches!(
            classify("s", 502, &none, "", 0),
            Attempt::Transient(_)
        ));
        assert!(matches!(
            classify("s", 401, &none, r#"{"message":"Bad credentials"}"#, 0),
            Attempt::Fatal(ForgeError::Auth(m)) if m.contains("Bad credentials")
        ));
        assert!(matches!(
            classify(
                "s",
                403,
                &none,
                r#"{"message":"Resource not accessible by integration"}"#,
                0
            ),
            Attempt::Fatal(ForgeError::Status { status: 403, .. })
        ));
        let mut limited = HeaderMap::new();
        limited.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        limited.insert("x-ratelimit-reset", HeaderValue::from_static("100"));
        assert!(matches!(
            classify("s", 403, &limited, "", 90),
            Attempt::Limited(wait, _) if wait.as_secs() == 11
        ));
    }

    #[test]
    fn the_existing_pull_request_is_named() {
        let error = ForgeError::Status {
            step: "create pull request",
            status: 422,
            message: "Validation Failed: A pull request already exists for acme:b.".into(),
        };
        let mapped = already_exists(error, "acme", "attune/x");
        assert_eq!(
            mapped.to_string(),
            "create pull request: the forge answered 422: a pull request already exists for acme:attune/x"
        );
    }
}
