//! Kubernetes events the controller publishes about a policy: one per resize, skip and
//! pull-request action. Steps return [`Note`]s; the reconcile publishes them.

/// One event to publish on the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub warning: bool,
    /// CamelCase reason, e.g. `Resized`, `ResizeInfeasible`, `PullRequestOpened`.
    pub reason: String,
    /// CamelCase action, e.g. `Resize`, `OpenPullRequest`.
    pub action: String,
    /// Human text, at most 1 kB; never a credential.
    pub note: String,
}
