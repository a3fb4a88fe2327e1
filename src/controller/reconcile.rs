//! One reconcile of one AttunePolicy (placeholder signature; implemented in its own change).

use std::sync::Arc;

use kube::runtime::controller::Action;

use super::Context;
use crate::crd::AttunePolicy;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("policy has no namespace")]
    NoNamespace,
}

pub async fn reconcile(
    _policy: Arc<AttunePolicy>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    Ok(Action::requeue(ctx.config.requeue_interval))
}

pub fn error_policy(
    _policy: Arc<AttunePolicy>,
    _err: &ReconcileError,
    ctx: Arc<Context>,
) -> Action {
    Action::requeue(ctx.config.error_requeue)
}
