//! Runs the kube-rs `Controller` on AttunePolicy until shutdown (placeholder signature;
//! implemented in its own change).

use std::future::Future;
use std::sync::Arc;

use super::Config;
use crate::metrics::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("cannot read the apiserver version")]
    Version(#[source] kube::Error),
}

/// Reconciles every AttunePolicy until `shutdown` completes, then returns once the
/// reconciles in flight have finished.
pub async fn run(
    _client: kube::Client,
    _config: Config,
    _metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WatchError> {
    shutdown.await;
    Ok(())
}
