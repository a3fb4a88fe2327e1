//! Backoff for rate limits and server errors (being written).

/// How long and how often a backend may wait before giving up.
#[derive(Debug, Clone)]
pub struct RetryPolicy;

/// One backoff sequence.
#[derive(Debug, Clone)]
pub struct Backoff;
