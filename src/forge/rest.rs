//! JSON over HTTP for the forges spoken to without a client crate (Gitea, GitLab): one request
//! through the retry policy, the token in its header and scrubbed from anything echoed back, and
//! a refused answer turned into a retry decision. What each forge spells its own way (paths,
//! auth header, error bodies, which statuses may be retried) stays in its backend, handed in as
//! a [`Dialect`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use url::Url;

use super::ForgeError;
use super::retry::{Attempt, RetryPolicy};
use crate::secret::SecretToken;

/// What one forge's answers look like to [`Rest`].
pub(super) struct Dialect {
    /// The forge's name in messages: `gitea refused the token`.
    pub(super) name: &'static str,
    /// The reason inside an error body, bounded.
    pub(super) error_message: fn(&str) -> String,
    /// A refused answer (not 2xx, not 401) as a retry decision.
    pub(super) judge: fn(Refusal<'_>) -> Attempt,
}

/// A non-2xx answer other than 401, its message already scrubbed.
pub(super) struct Refusal<'a> {
    pub(super) step: &'static str,
    pub(super) status: u16,
    pub(super) headers: &'a HeaderMap,
    pub(super) body: &'a str,
    pub(super) message: String,
}

impl Refusal<'_> {
    /// The error this answer is, with its message replaced.
    pub(super) fn error(&self, message: String) -> ForgeError {
        ForgeError::Status {
            step: self.step,
            status: self.status,
            message,
        }
    }
}

/// One 2xx answer.
pub(super) struct Answer {
    pub(super) body: String,
    pub(super) headers: HeaderMap,
}

/// Everything a request needs besides its method, URL and body.
pub(super) struct Rest {
    http: reqwest::Client,
    /// The API root every path is appended to.
    api: Url,
    auth: (HeaderName, HeaderValue),
    /// The token text, kept only to scrub it from anything a server echoes.
    secret: SecretToken,
    pub(super) retry: RetryPolicy,
    calls: AtomicU64,
    dialect: Dialect,
}

impl Rest {
    /// `auth` is the header the token travels in (marked sensitive by the caller); `secret`
    /// is the token as a server could echo it.
    pub(super) fn new(
        http: reqwest::Client,
        api: Url,
        auth: (HeaderName, HeaderValue),
        secret: SecretToken,
        dialect: Dialect,
    ) -> Rest {
        Rest {
            http,
            api,
            auth,
            secret,
            retry: RetryPolicy::default(),
            calls: AtomicU64::new(0),
            dialect,
        }
    }

    pub(super) fn api(&self) -> &Url {
        &self.api
    }

    /// HTTP requests sent so far, retries included.
    pub(super) fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// `<api>/<segments…>?<query>`; each segment is percent-encoded, `/` included.
    pub(super) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.api.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// One request through the retry policy. `retry_transient` is off for writes that must not
    /// be repeated blindly after a 5xx.
    pub(super) async fn send(
        &self,
        step: &'static str,
        method: Method,
        url: &Url,
        body: Option<&serde_json::Value>,
        retry_transient: bool,
    ) -> Result<Answer, ForgeError> {
        self.retry
            .run(step, || {
                let mut request = self
                    .http
                    .request(method.clone(), url.clone())
                    .header(self.auth.0.clone(), self.auth.1.clone())
                    .header(header::ACCEPT, "application/json");
                if let Some(body) = body {
                    request = request.json(body);
                }
                self.calls.fetch_add(1, Ordering::Relaxed);
                async move {
                    match self.attempt(step, request).await {
                        Err(Attempt::Transient(error)) if !retry_transient => {
                            Err(Attempt::Fatal(error))
                        }
                        other => other,
                    }
                }
            })
            .await
    }

    async fn attempt(
        &self,
        step: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, Attempt> {
        let lost = |e: reqwest::Error| {
            Attempt::Transient(ForgeError::Transport {
                step,
                message: self.scrub(&e.without_url().to_string()),
            })
        };
        let response = request.send().await.map_err(lost)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.map_err(lost)?;
        if (200..300).contains(&status) {
            return Ok(Answer { body, headers });
        }
        let message = self.scrub(&(self.dialect.error_message)(&body));
        if status == 401 {
            return Err(Attempt::Fatal(ForgeError::Auth(format!(
                "{step}: {} refused the token ({message})",
                self.dialect.name
            ))));
        }
        Err((self.dialect.judge)(Refusal {
            step,
            status,
            headers: &headers,
            body: &body,
            message,
        }))
    }

    /// POSTs `{"body": text}` to `url`; after a lost answer, `read` (the comments as they are
    /// now) decides whether it is sent again.
    pub(super) async fn comment<R, RF>(
        &self,
        url: &Url,
        text: &str,
        read: R,
    ) -> Result<(), ForgeError>
    where
        R: Fn() -> RF,
        RF: Future<Output = Result<Vec<String>, ForgeError>>,
    {
        let request = serde_json::json!({ "body": text });
        let send = || async {
            self.send("comment", Method::POST, url, Some(&request), false)
                .await
                .map(drop)
        };
        self.retry.comment_once(text, send, read).await
    }

    /// Defence in depth: a proxy or a future server echoing the credential must not leak it.
    fn scrub(&self, text: &str) -> String {
        let secret = self.secret.expose().trim();
        if secret.len() >= 4 && text.contains(secret) {
            text.replace(secret, "[redacted]")
        } else {
            text.to_owned()
        }
    }
}

/// A refusal's error as a retry decision: waited out when rate limited, else retried when
/// `transient`.
pub(super) fn decide(error: ForgeError, wait: Option<Duration>, transient: bool) -> Attempt {
    match wait {
        Some(wait) => Attempt::Limited(wait, error),
        None if transient => Attempt::Transient(error),
        None => Attempt::Fatal(error),
    }
}

/// The HTTP client both forges use; `connect_timeout` where the forge wants one.
pub(super) fn client(
    step: &'static str,
    connect_timeout: Option<Duration>,
) -> Result<reqwest::Client, ForgeError> {
    let mut builder =
        reqwest::Client::builder().user_agent(concat!("attune/", env!("CARGO_PKG_VERSION")));
    if let Some(timeout) = connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    builder
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| ForgeError::Transport {
            step,
            message: e.without_url().to_string(),
        })
}

/// A 2xx body as `T`.
pub(super) fn decode<T: serde::de::DeserializeOwned>(
    step: &'static str,
    body: &str,
) -> Result<T, ForgeError> {
    serde_json::from_str(body).map_err(|e| ForgeError::Decode {
        step,
        message: e.to_string(),
    })
}

pub(super) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rest(token: &str) -> Rest {
        let dialect = Dialect {
            name: "forge",
            error_message: |body| body.to_owned(),
            judge: |refusal| Attempt::Fatal(refusal.error(refusal.message.clone())),
        };
        let auth = (header::AUTHORIZATION, HeaderValue::from_static("x"));
        let api = Url::parse("https://f.example.com/api/v1").unwrap();
        Rest::new(reqwest::Client::new(), api, auth, token.into(), dialect)
    }

    #[test]
    fn urls_encode_each_segment_and_keep_the_query() {
        let url = rest("t0ken").url(&["projects", "g/sub/p", "notes"], &[("a", "b c")]);
        assert_eq!(
            url.as_str(),
            "https://f.example.com/api/v1/projects/g%2Fsub%2Fp/notes?a=b+c"
        );
    }

    #[test]
    fn the_token_is_scrubbed_unless_too_short_to_tell() {
        assert_eq!(
            rest(" s3cret-token \n").scrub("echo s3cret-token!"),
            "echo [redacted]!"
        );
        assert_eq!(rest("abc").scrub("abc"), "abc");
    }

    #[test]
    fn a_wait_wins_then_transient_decides() {
        let error = || ForgeError::Auth("x".into());
        let wait = Some(Duration::from_secs(3));
        assert!(matches!(decide(error(), wait, false), Attempt::Limited(w, _) if w.as_secs() == 3));
        assert!(matches!(decide(error(), None, true), Attempt::Transient(_)));
        assert!(matches!(decide(error(), None, false), Attempt::Fatal(_)));
    }
}
