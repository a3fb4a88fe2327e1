//! The recommender: usage samples → per-container profile → the Go operator's chain → a
//! recommendation with its explanation.
//!
//! Pure: no I/O. It must not know Prometheus, HTTP clients or the Kubernetes API; callers hand
//! it samples and the policy's settings and get values back.

pub mod sample;

pub use sample::Sample;
