//! Where a range query's points fall: on the step grid (so every run and every workload sees the
//! same instants, and `rate()` over scraped data lines up), inside the history window, and never
//! more than Prometheus's limit per series. Pure.
//!
//! Over the limit, the step is widened to a multiple of the configured one rather than the range
//! split into several queries: the profile keeps at most 10,000 samples per container anyway
//! (an even stride over what it gets), so split queries would cost more requests and memory for
//! points it then drops, and one query per workload and resource keeps the query budget
//! predictable.

use std::time::Duration;

use super::QuerySettings;
use super::promql::format_duration;

/// Prometheus refuses a range query with more points than this per series ("exceeded maximum
/// resolution of 11,000 points per timeseries").
pub const MAX_POINTS_PER_SERIES: i64 = 11_000;
/// The Go operator's floor for the rate window: shorter windows hold too few scrapes.
const MIN_RATE_WINDOW: Duration = Duration::from_secs(30);

/// The instants of one range query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangePlan {
    /// First point: the first step-aligned instant after `now − historyWindow` (Unix ms).
    pub start_ms: i64,
    /// `now` (Unix ms); the last point is the last aligned instant at or before it.
    pub end_ms: i64,
    /// The step in use (the configured one unless widened).
    pub step: Duration,
    /// The CPU rate window: `rateWindow` or the step in use, at least 30s, at most the window.
    pub rate_window: Duration,
    pub resolution: Resolution,
}

/// Whether the configured step could be used as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    AsConfigured,
    /// `queryStep` would have exceeded [`MAX_POINTS_PER_SERIES`]; `effective` is the smallest
    /// multiple of it that does not.
    Widened {
        configured: Duration,
        effective: Duration,
    },
}

impl std::fmt::Display for Resolution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resolution::AsConfigured => f.write_str("queryStep as configured"),
            Resolution::Widened {
                configured,
                effective,
            } => write!(
                f,
                "queryStep widened from {} to {} to stay within Prometheus's 11,000 points per series",
                format_duration(*configured),
                format_duration(*effective),
            ),
        }
    }
}

impl RangePlan {
    /// The plan for a query ending at `now_ms`.
    pub fn new(settings: &QuerySettings, now_ms: i64) -> RangePlan {
        let window = millis(settings.history_window);
        let configured = millis(settings.step).max(1);
        // ceil(window / step) points at most; widen by the smallest whole factor that fits.
        let per_query = configured * MAX_POINTS_PER_SERIES;
        let factor = ((window + per_query - 1) / per_query).max(1);
        let step = configured * factor;
        let start_ms = (now_ms - window).div_euclid(step) * step + step;
        let resolution = if factor == 1 {
            Resolution::AsConfigured
        } else {
            Resolution::Widened {
                configured: settings.step,
                effective: duration(step),
            }
        };
        let rate_window = settings
            .rate_window
            .unwrap_or(duration(step))
            .max(MIN_RATE_WINDOW)
            .min(settings.history_window);
        RangePlan {
            start_ms,
            end_ms: now_ms,
            step: duration(step),
            rate_window,
            resolution,
        }
    }

    /// How many points each series can have.
    pub fn points(&self) -> i64 {
        let step = millis(self.step).max(1);
        if self.end_ms < self.start_ms {
            return 0;
        }
        (self.end_ms - self.start_ms) / step + 1
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn duration(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3600;
    /// 2026-01-05T00:00:00Z, a multiple of every step used here.
    const NOW: i64 = 1_767_571_200_000;

    fn settings(window_h: u64, step_s: u64) -> QuerySettings {
        QuerySettings {
            history_window: Duration::from_secs(window_h * HOUR),
            step: Duration::from_secs(step_s),
            ..QuerySettings::default()
        }
    }

    #[test]
    fn the_default_week_at_five_minutes_is_2016_aligned_points() {
        let plan = RangePlan::new(&settings(168, 300), NOW);
        assert_eq!(plan.start_ms, NOW - 168 * 3_600_000 + 300_000);
        assert_eq!(plan.end_ms, NOW);
        assert_eq!(plan.points(), 2016);
        assert_eq!(plan.step, Duration::from_secs(300));
        assert_eq!(plan.rate_window, Duration::from_secs(300));
        assert_eq!(plan.resolution, Resolution::AsConfigured);
    }

    #[test]
    fn an_unaligned_now_keeps_the_start_on_the_grid() {
        let now = NOW + 37_000;
        let plan = RangePlan::new(&settings(168, 300), now);
        assert_eq!(plan.start_ms % 300_000, 0);
        assert!(plan.start_ms > now - 168 * 3_600_000);
        assert_eq!(plan.start_ms, NOW - 168 * 3_600_000 + 300_000);
        assert_eq!(plan.points(), 2016);
    }

    #[test]
    fn too_many_points_widen_the_step_to_a_multiple() {
        // 720h at 10s would be 259,200 points; ×24 = 4m gives 10,800.
        let plan = RangePlan::new(&settings(720, 10), NOW);
        assert_eq!(plan.step, Duration::from_secs(240));
        assert_eq!(plan.points(), 10_800);
        assert_eq!(plan.rate_window, Duration::from_secs(240));
        assert_eq!(
            plan.resolution,
            Resolution::Widened {
                configured: Duration::from_secs(10),
                effective: Duration::from_secs(240)
            }
        );
        assert_eq!(
            plan.resolution.to_string(),
            "queryStep widened from 10s to 4m to stay within Prometheus's 11,000 points per series"
        );
    }

    #[test]
    fn exactly_the_limit_is_kept_and_one_more_point_widens() {
        let at_limit = QuerySettings {
            history_window: Duration::from_secs(11_000 * 60),
            step: Duration::from_secs(60),
            ..QuerySettings::default()
        };
        let plan = RangePlan::new(&at_limit, NOW);
        assert_eq!(plan.points(), 11_000);
        assert_eq!(plan.resolution, Resolution::AsConfigured);
        let over = QuerySettings {
            history_window: Duration::from_secs(11_001 * 60),
            ..at_limit
        };
        let plan = RangePlan::new(&over, NOW);
        assert_eq!(plan.step, Duration::from_secs(120));
        assert_eq!(plan.points(), 5_501);
    }

    #[test]
    fn never_over_the_limit_and_always_aligned() {
        for window_h in [1, 2, 7, 24, 100, 168, 333, 500, 719, 720] {
            for step_s in [10, 11, 15, 30, 37, 60, 300, 420, 3600] {
                for offset in [0, 1, 29_999, 299_999] {
                    let now = NOW + offset;
                    let plan = RangePlan::new(&settings(window_h, step_s), now);
                    let step = plan.step.as_millis() as i64;
                    assert!(
                        plan.points() <= MAX_POINTS_PER_SERIES,
                        "{window_h}h {step_s}s"
                    );
                    assert!(plan.points() >= 1, "{window_h}h {step_s}s");
                    assert_eq!(plan.start_ms % step, 0, "{window_h}h {step_s}s");
                    assert!(plan.start_ms > now - window_h as i64 * 3_600_000);
                    assert!(plan.start_ms - step <= now - window_h as i64 * 3_600_000);
                }
            }
        }
    }

    #[test]
    fn the_rate_window_is_floored_and_capped() {
        let short = QuerySettings {
            rate_window: Some(Duration::from_secs(10)),
            ..settings(168, 10)
        };
        assert_eq!(
            RangePlan::new(&short, NOW).rate_window,
            Duration::from_secs(30)
        );
        let long = QuerySettings {
            rate_window: Some(Duration::from_secs(5 * HOUR)),
            ..settings(1, 60)
        };
        assert_eq!(
            RangePlan::new(&long, NOW).rate_window,
            Duration::from_secs(HOUR)
        );
        let explicit = QuerySettings {
            rate_window: Some(Duration::from_secs(120)),
            ..settings(720, 10)
        };
        // An explicit rate window is kept when the step is widened.
        assert_eq!(
            RangePlan::new(&explicit, NOW).rate_window,
            Duration::from_secs(120)
        );
    }
}
