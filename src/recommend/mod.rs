//! The recommender: usage samples → per-container profile → the Go operator's chain → a
//! recommendation with its explanation.
//!
//! Pure: no I/O. It must not know Prometheus, HTTP clients or the Kubernetes API; callers hand
//! it samples and the policy's settings and get values back.
//!
//! The flow, per container:
//! 1. [`Profile::from_samples`] for CPU and for memory (drop NaN/±Inf, at most 10,000 samples,
//!    24 UTC hour buckets plus overall, burst, confidence). A profile is small; callers keep
//!    profiles, not samples.
//! 2. [`Settings::from_spec`] reads `spec.cpu`, `spec.memory` and
//!    `spec.metricsSource.minimumDataPoints` with the Go operator's defaults.
//! 3. [`recommend_container`] runs the chain for each resource that has enough data
//!    ([`recommend_resource`]: percentile → overhead → burst → confidence → bounds → change
//!    filter → OOM floor → allowDecrease), derives memory from CPU when configured, and scales
//!    limits. [`Recommendation::to_status`] gives the status entry.
//!
//! Around it: [`DataProgress`] for the `InsufficientData` message, [`is_stale`], and
//! [`keep_largest_changes`] for `maxStatusRecommendations`.

mod amount;
mod budget;
mod chain;
mod container;
mod error;
mod explanation;
mod limits;
mod profile;
mod progress;
pub mod sample;
mod settings;

#[cfg(test)]
mod tests;

pub use amount::{Amount, Resource};
pub use budget::{change_score, keep_largest_changes, strip_explanations};
pub use chain::{OomEvent, ResourceOutcome, oom_floor_bytes, recommend_resource};
pub use container::{ContainerInput, ContainerOutcome, Recommendation, recommend_container};
pub use error::RecommendError;
pub use explanation::{
    BoundApplied, Bounds, ChangeFilterApplied, ContainerExplanation, Explanation, HourlyProfile,
    OomFloor,
};
pub use limits::scaled_limit;
pub use profile::{
    MAX_PROFILE_SAMPLES, PercentileSet, Profile, confidence_of, downsample, percentile,
};
pub use progress::{DataProgress, is_stale, stale_after};
pub use sample::Sample;
pub use settings::{
    DEFAULT_MINIMUM_DATA_POINTS, MIN_CHANGE_PERCENT, Percentile, ResourceSettings, Settings,
};
