//! Waiting out rate limits and transient server errors, boundedly. Backends classify each
//! response with [`classify`] and run their request through [`RetryPolicy::run`]; a wait the
//! forge asks for that is longer than the policy allows becomes [`ForgeError::RateLimited`]
//! instead of a sleep, so a CLI run fails fast and the controller requeues.

use std::future::Future;
use std::time::Duration;

use http::HeaderMap;

use super::ForgeError;

/// How often and how long a backend may retry one call.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// First backoff for a 5xx or transport error; doubles each time.
    pub base: Duration,
    /// The longest single wait; a forge asking for more gets an error instead.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base: Duration::from_millis(500),
            max_wait: Duration::from_secs(60),
        }
    }
}

/// One failed attempt: whether it may be retried, and after how long the forge asked for.
#[derive(Debug)]
pub enum Attempt {
    /// Rate limited: wait exactly this long (from `Retry-After` / `X-RateLimit-Reset`).
    Limited(Duration, ForgeError),
    /// A 5xx or a transport error: back off exponentially.
    Transient(ForgeError),
    /// Anything else: give up now.
    Fatal(ForgeError),
}

/// Exponential backoff state, kept for tests and for callers that loop themselves.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    pub fn new(policy: &RetryPolicy) -> Backoff {
        Backoff { next: policy.base }
    }

    /// The next wait, doubling up to `cap`.
    pub fn step(&mut self, cap: Duration) -> Duration {
        let now = self.next.min(cap);
        self.next = self.next.saturating_mul(2);
        now
    }
}

impl RetryPolicy {
    /// Runs `op` until it succeeds, fails fatally, or the attempts are spent.
    pub async fn run<T, F, Fut>(&self, step: &'static str, mut op: F) -> Result<T, ForgeError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Attempt>>,
    {
        let mut backoff = Backoff::new(self);
        let mut attempt = 1;
        loop {
            let failure = match op().await {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            let (wait, error) = match failure {
                Attempt::Fatal(error) => return Err(error),
                Attempt::Limited(wait, error) => {
                    if wait > self.max_wait {
                        return Err(ForgeError::RateLimited {
                            step,
                            retry_after: wait,
                        });
                    }
                    (wait, error)
                }
                Attempt::Transient(error) => (backoff.step(self.max_wait), error),
            };
            if attempt >= self.attempts {
                return Err(error);
            }
            tracing::debug!(step, attempt, wait_ms = wait.as_millis() as u64, %error, "retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// Posts the comment `text` with `send`, at most once: after a failure that may have
    /// acted, the comments (`read`) are looked at and `text` is sent again only if it is not
    /// among them (trailing whitespace aside).
    pub async fn comment_once<S, SF, R, RF>(
        &self,
        text: &str,
        send: S,
        read: R,
    ) -> Result<(), ForgeError>
    where
        S: FnMut() -> SF,
        SF: Future<Output = Result<(), ForgeError>>,
        R: Fn() -> RF,
        RF: Future<Output = Result<Vec<String>, ForgeError>>,
    {
        let landed = || async {
            let said = read().await?;
            Ok(said
                .iter()
                .any(|c| c.trim_end() == text.trim_end())
                .then_some(()))
        };
        self.write_once("comment", send, landed).await
    }
}

impl RetryPolicy {
    /// Runs a write that must not happen twice (open a pull request, post a comment). `send`
    /// makes one attempt and does not retry a 5xx or a lost connection itself: such a failure
    /// may come *after* the forge acted. So `landed` looks for the write's result first, and
    /// only when it is not there is the write sent again, within this policy's attempts. When
    /// the look fails too, nobody knows whether the write landed, and the first failure is
    /// returned rather than risking a second copy.
    pub async fn write_once<T, S, SF, L, LF>(
        &self,
        step: &'static str,
        mut send: S,
        mut landed: L,
    ) -> Result<T, ForgeError>
    where
        S: FnMut() -> SF,
        SF: Future<Output = Result<T, ForgeError>>,
        L: FnMut() -> LF,
        LF: Future<Output = Result<Option<T>, ForgeError>>,
    {
        let mut backoff = Backoff::new(self);
        let mut attempt = 1;
        loop {
            let failure = match send().await {
                Ok(value) => return Ok(value),
                Err(error) if may_have_acted(&error) => error,
                Err(error) => return Err(error),
            };
            match landed().await {
                Ok(Some(value)) => {
                    tracing::debug!(step, attempt, %failure, "the write landed despite the failure");
                    return Ok(value);
                }
                Ok(None) if attempt < self.attempts => {}
                _ => return Err(failure),
            }
            let wait = backoff.step(self.max_wait);
            tracing::debug!(step, attempt, wait_ms = wait.as_millis() as u64, %failure, "retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// Failures after which the request may have reached the forge and done its work: a 5xx or a
/// connection lost before the whole answer arrived.
pub fn may_have_acted(error: &ForgeError) -> bool {
    match error {
        ForgeError::Status { status, .. } => is_transient(*status),
        ForgeError::Transport { .. } => true,
        _ => false,
    }
}

/// How long a rate-limited response asks to wait, or `None` when the response is no rate
/// limit. GitHub signals primary limits with 403/429 and `X-RateLimit-Remaining: 0` plus
/// `X-RateLimit-Reset` (Unix seconds), secondary limits with 403/429 and `Retry-After` (or a
/// message saying "secondary rate limit" and no header: wait a minute, as GitHub documents).
/// Gitea and proxies use 429 with `Retry-After`.
pub fn rate_limit_wait(
    status: u16,
    headers: &HeaderMap,
    body: &str,
    now_unix: i64,
) -> Option<Duration> {
    if status != 403 && status != 429 {
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
    if header("x-ratelimit-remaining") == Some("0") {
        let reset = header("x-ratelimit-reset").and_then(|v| v.parse::<i64>().ok());
        // One second of slack: the reset time is whole seconds and clocks drift.
        let wait = reset.map_or(60, |r| (r - now_unix).max(0) + 1);
        return Some(Duration::from_secs(u64::try_from(wait).unwrap_or(60)));
    }
    if status == 429 || body.to_ascii_lowercase().contains("secondary rate limit") {
        return Some(Duration::from_secs(60));
    }
    None
}

/// Whether a status is worth retrying after a backoff.
pub fn is_transient(status: u16) -> bool {
    matches!(status, 500 | 502 | 503 | 504)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn primary_limit_waits_until_reset() {
        let h = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1000"),
        ]);
        assert_eq!(
            rate_limit_wait(403, &h, "", 990),
            Some(Duration::from_secs(11))
        );
    }

    #[test]
    fn retry_after_wins_and_plain_403_is_no_limit() {
        let h = headers(&[("retry-after", "7")]);
        assert_eq!(
            rate_limit_wait(429, &h, "", 0),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            rate_limit_wait(403, &HeaderMap::new(), "Resource not accessible", 0),
            None
        );
        assert_eq!(
            rate_limit_wait(
                403,
                &HeaderMap::new(),
                "You have exceeded a secondary rate limit",
                0
            ),
            Some(Duration::from_secs(60))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn transient_errors_back_off_and_give_up() {
        let policy = RetryPolicy::default();
        let mut calls = 0;
        let result: Result<(), _> = policy
            .run("test", || {
                calls += 1;
                async {
                    Err(Attempt::Transient(ForgeError::Transport {
                        step: "test",
                        message: "502".into(),
                    }))
                }
            })
            .await;
        assert!(result.is_err());
        assert_eq!(calls, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_that_landed_is_not_sent_again() {
        let policy = RetryPolicy::default();
        let sends = std::cell::Cell::new(0);
        let lost = || ForgeError::Transport {
            step: "create",
            message: "connection closed before message completed".into(),
        };
        // The first send acted and then lost its answer; the look finds the result.
        let result = policy
            .write_once(
                "create",
                || {
                    sends.set(sends.get() + 1);
                    async { Err::<u64, _>(lost()) }
                },
                || async { Ok(Some(7)) },
            )
            .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(sends.get(), 1);

        // Nothing landed: sent again, up to the attempts.
        sends.set(0);
        let result = policy
            .write_once(
                "create",
                || {
                    sends.set(sends.get() + 1);
                    async { Err::<u64, _>(lost()) }
                },
                || async { Ok(None) },
            )
            .await;
        assert!(result.is_err());
        assert_eq!(sends.get(), policy.attempts);

        // The look fails: unknown, so no second send.
        sends.set(0);
        let result = policy
            .write_once(
                "create",
                || {
                    sends.set(sends.get() + 1);
                    async { Err::<u64, _>(lost()) }
                },
                || async { Err(lost()) },
            )
            .await;
        assert!(result.is_err());
        assert_eq!(sends.get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_limit_is_an_error_not_a_sleep() {
        let policy = RetryPolicy::default();
        let result: Result<(), _> = policy
            .run("find", || async {
                Err(Attempt::Limited(
                    Duration::from_secs(3600),
                    ForgeError::Status {
                        step: "find",
                        status: 403,
                        message: "limit".into(),
                    },
                ))
            })
            .await;
        assert!(
            matches!(result, Err(ForgeError::RateLimited { retry_after, .. }) if retry_after.as_secs() == 3600)
        );
    }
}
