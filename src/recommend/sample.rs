//! One usage sample as the recommender reads it: a point in time and a value in the resource's
//! base unit (cores for CPU, bytes for memory).

/// A usage sample. `timestamp_ms` is milliseconds since the Unix epoch (UTC); `value` is cores
/// for CPU and bytes for memory. NaN and infinities are allowed here and dropped by the profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub timestamp_ms: i64,
    pub value: f64,
}
