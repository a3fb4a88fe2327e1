//! The query budget shared by every Prometheus client of a process: a token bucket bounding
//! queries per second, plus the per-query time and answer-size limits.
//!
//! Hand-written (forty lines) rather than `governor`: it runs on tokio's clock, so tests drive it
//! with paused time, and it needs no keyed state or extra dependencies.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::UsageError;

/// Limits for all queries of the process (controller flags).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueryLimits {
    /// Sustained queries per second (default 10).
    pub queries_per_second: f64,
    /// Queries that may go at once after a quiet spell (default 20).
    pub burst: u32,
    /// Time for one query, connect to last byte (default 30 s).
    pub timeout: Duration,
    /// Largest answer read, in bytes (default 32 MiB: a week at 5m for 100 pods × 10 containers
    /// unaggregated is about 20 MiB).
    pub max_answer_bytes: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            queries_per_second: 10.0,
            burst: 20,
            timeout: Duration::from_secs(30),
            max_answer_bytes: 32 << 20,
        }
    }
}

/// A token bucket plus the other limits. Share one (`Arc`) between all clients.
#[derive(Debug)]
pub struct QueryBudget {
    limits: QueryLimits,
    bucket: Mutex<Bucket>,
    issued: AtomicU64,
}

#[derive(Debug)]
struct Bucket {
    /// May go negative: each waiting query has reserved its token already.
    tokens: f64,
    refilled: Instant,
}

/// A full bucket with the default limits (which [`QueryBudget::new`] accepts).
impl Default for QueryBudget {
    fn default() -> Self {
        QueryBudget::full(QueryLimits::default())
    }
}

impl QueryBudget {
    /// A full bucket. Refuses a rate that is not a positive number, a zero burst, a zero
    /// timeout or a zero answer size.
    pub fn new(limits: QueryLimits) -> Result<QueryBudget, UsageError> {
        let bad = |reason: &str| UsageError::Limits(reason.to_owned());
        if !(limits.queries_per_second.is_finite() && limits.queries_per_second > 0.0) {
            return Err(bad("queries per second must be a positive number"));
        }
        if limits.burst == 0 {
            return Err(bad("the burst must be at least 1"));
        }
        if limits.timeout.is_zero() {
            return Err(bad("the query timeout must be longer than zero"));
        }
        if limits.max_answer_bytes == 0 {
            return Err(bad("the answer size limit must be at least 1 byte"));
        }
        Ok(QueryBudget::full(limits))
    }

    fn full(limits: QueryLimits) -> QueryBudget {
        QueryBudget {
            limits,
            bucket: Mutex::new(Bucket {
                tokens: f64::from(limits.burst),
                refilled: Instant::now(),
            }),
            issued: AtomicU64::new(0),
        }
    }

    pub fn limits(&self) -> &QueryLimits {
        &self.limits
    }

    /// Queries let through so far (for reporting query volume).
    pub fn issued(&self) -> u64 {
        self.issued.load(Ordering::Relaxed)
    }

    /// Waits for a token. Waiters are served in the order they arrived.
    pub async fn acquire(&self) {
        let wait = {
            // A poisoned lock only means another thread panicked mid-update of two numbers.
            let mut bucket = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let elapsed = now.duration_since(bucket.refilled).as_secs_f64();
            bucket.tokens = (bucket.tokens + elapsed * self.limits.queries_per_second)
                .min(f64::from(self.limits.burst));
            bucket.refilled = now;
            bucket.tokens -= 1.0;
            (bucket.tokens < 0.0)
                .then(|| Duration::from_secs_f64(-bucket.tokens / self.limits.queries_per_second))
        };
        if let Some(wait) = wait {
            tokio::time::sleep(wait).await;
        }
        self.issued.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(per_second: f64, burst: u32) -> QueryBudget {
        QueryBudget::new(QueryLimits {
            queries_per_second: per_second,
            burst,
            ..QueryLimits::default()
        })
        .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_goes_at_once_then_the_rate_holds() {
        let budget = budget(10.0, 20);
        let start = Instant::now();
        for _ in 0..20 {
            budget.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        for _ in 0..30 {
            budget.acquire().await;
        }
        // 30 more at 10/s: 3 s (within a millisecond of float rounding).
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(2_999) && elapsed <= Duration::from_millis(3_001),
            "{elapsed:?}"
        );
        assert_eq!(budget.issued(), 50);
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_spell_refills_up_to_the_burst_only() {
        let budget = budget(2.0, 3);
        for _ in 0..3 {
            budget.acquire().await;
        }
        tokio::time::sleep(Duration::from_secs(60)).await;
        let start = Instant::now();
        for _ in 0..4 {
            budget.acquire().await;
        }
        // Three from the refilled bucket, the fourth waits half a second.
        assert_eq!(start.elapsed(), Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_waiters_are_spaced_by_the_rate() {
        let budget = std::sync::Arc::new(budget(4.0, 1));
        let start = Instant::now();
        let tasks: Vec<_> = (0..5)
            .map(|_| {
                let budget = budget.clone();
                tokio::spawn(async move {
                    budget.acquire().await;
                    start.elapsed()
                })
            })
            .collect();
        let mut times = Vec::new();
        for task in tasks {
            times.push(task.await.unwrap());
        }
        times.sort();
        let expected: Vec<Duration> = (0..5).map(|i| Duration::from_millis(250 * i)).collect();
        assert_eq!(times, expected);
    }

    #[test]
    fn refuses_unusable_limits() {
        for limits in [
            QueryLimits {
                queries_per_second: 0.0,
                ..QueryLimits::default()
            },
            QueryLimits {
                queries_per_second: f64::NAN,
                ..QueryLimits::default()
            },
            QueryLimits {
                burst: 0,
                ..QueryLimits::default()
            },
            QueryLimits {
                timeout: Duration::ZERO,
                ..QueryLimits::default()
            },
            QueryLimits {
                max_answer_bytes: 0,
                ..QueryLimits::default()
            },
        ] {
            assert!(QueryBudget::new(limits).is_err(), "{limits:?}");
        }
    }
}
