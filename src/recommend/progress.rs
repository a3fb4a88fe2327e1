//! How far data collection is, and when data is too old to act on.

use std::fmt;
use std::time::Duration;

/// Data older than 2 × step plus this is stale.
const STALE_GRACE: Duration = Duration::from_secs(10 * 60);

/// Progress towards `minimumDataPoints`, for the `InsufficientData` condition:
/// "Collecting data: 10/48 data points (20%), about 3h10m left".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataProgress {
    /// The most points any container has for either resource.
    pub collected: usize,
    pub required: usize,
    /// collected/required in whole percent, at most 99 while collecting (as the Go operator).
    pub percent: usize,
    /// Missing points × query step, truncated to the minute.
    pub remaining: Duration,
}

impl DataProgress {
    /// Progress after `collected` of `required` points at one point per `step`.
    pub fn new(collected: usize, required: usize, step: Duration) -> DataProgress {
        let percent = collected
            .saturating_mul(100)
            .checked_div(required)
            .map_or(0, |p| p.min(99));
        let missing = u32::try_from(required.saturating_sub(collected)).unwrap_or(u32::MAX);
        let remaining = step.saturating_mul(missing);
        let remaining = Duration::from_secs(remaining.as_secs() / 60 * 60);
        DataProgress {
            collected,
            required,
            percent,
            remaining,
        }
    }
}

impl fmt::Display for DataProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Collecting data: {}/{} data points ({}%), about {} left",
            self.collected,
            self.required,
            self.percent,
            Eta(self.remaining)
        )
    }
}

/// `2d3h`, `3h10m`, `45m`, or `less than a minute`.
struct Eta(Duration);

impl fmt::Display for Eta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let minutes = self.0.as_secs() / 60;
        let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
        match (days, hours, minutes) {
            (0, 0, 0) => f.write_str("less than a minute"),
            (0, 0, m) => write!(f, "{m}m"),
            (0, h, m) => write!(f, "{h}h{m}m"),
            (d, h, _) => write!(f, "{d}d{h}h"),
        }
    }
}

/// How old the newest sample may be before a recommendation is stale: 2 × step + 10 min.
pub fn stale_after(step: Duration) -> Duration {
    step.saturating_mul(2).saturating_add(STALE_GRACE)
}

/// Whether data whose newest sample is at `newest_ms` is too old at `now_ms` to act on (see
/// [`stale_after`]). No sample at all is stale.
pub fn is_stale(newest_ms: Option<i64>, now_ms: i64, step: Duration) -> bool {
    let Some(newest_ms) = newest_ms else {
        return true;
    };
    let age_ms = i128::from(now_ms) - i128::from(newest_ms);
    age_ms > stale_after(step).as_millis() as i128
}
