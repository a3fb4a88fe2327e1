//! The GitOps step of a reconcile (placeholder signature; implemented in its own change).

use std::time::Duration;

use super::{Context, LiveWorkload, Note};
use crate::crd::{AttunePolicy, Condition};

/// Remembered between reconciles.
#[derive(Debug, Default)]
pub struct Memory {}

/// What the step reports back to the reconcile.
#[derive(Debug, Clone)]
pub struct Report {
    /// `status.gitops`, or `None` to leave it out of the status patch.
    pub status: Option<serde_json::Value>,
    /// The `GitOpsPullRequest` condition.
    pub condition: Condition,
    pub notes: Vec<Note>,
    pub requeue_after: Option<Duration>,
}

pub async fn reconcile(
    _ctx: &Context,
    _policy: &AttunePolicy,
    _workloads: &[LiveWorkload],
) -> Report {
    Report {
        status: None,
        condition: Condition {
            type_: "GitOpsPullRequest".into(),
            status: "False".into(),
            reason: Some("PullRequestDisabled".into()),
            message: None,
            last_transition_time: None,
            observed_generation: None,
        },
        notes: Vec::new(),
        requeue_after: None,
    }
}
