//! In-place pod resizing through the `pods/resize` subresource (Kubernetes 1.33 and newer).
//!
//! [`Context::plan`] is the pure decision: from a policy's [`Settings`], the workload's
//! recommendation, its pods, the server's minor version and the time, it answers for every
//! pod either a [`Resize`] — a strategic merge patch for `/resize` carrying only changed
//! requests and limits, plus the tracking annotations for cooldown and revert — or a [`Skip`]
//! with a reason from the closed set [`SkipReason`]. It keeps every Kubernetes rule a resize
//! must obey (no QoS class change, no request above its limit, no limit added or removed, no
//! in-place memory limit decrease before 1.35) and the policy's (mode, bounds, cooldown, canary
//! share, concurrency). [`execute`] is the thin part that sends the patches through
//! `Api<Pod>` and maps the answers. The decision must not know about clients, clocks, metrics
//! backends or how recommendations are computed; the executor must not decide anything beyond
//! looking at one pod again after a conflict.

mod amount;
pub mod annotations;
mod assess;
pub mod budget;
mod containers;
mod context;
mod decision;
mod execute;
pub mod ownership;
mod patch;
mod pod_state;
mod qos;
pub mod schedule;
mod select;
mod settings;
pub mod sidecars;
mod target;
pub mod values;

#[cfg(test)]
mod tests;

pub use budget::Budget;
pub use context::{Context, MEMORY_LIMIT_DECREASE_MINOR, MIN_SERVER_MINOR, server_minor};
pub use decision::{
    Change, Decision, Field, Held, Plan, PodDecision, Resize, Resource, Skip, SkipReason,
};
pub use execute::{Outcome, Report, execute};
pub use qos::QosClass;
pub use settings::{Eligibility, ResourceRule, Settings};

use crate::quantity::QuantityError;

/// Why a decision could not be made, or why a call to the API server failed.
#[derive(Debug, thiserror::Error)]
pub enum ResizeError {
    #[error("{field} {value:?} is not a duration: {reason}")]
    BadDuration {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("{field}: {source}")]
    BadQuantity {
        field: String,
        value: String,
        #[source]
        source: QuantityError,
    },
    #[error("{field}: {value:?} is not a non-negative quantity such as 500m or 1Gi")]
    BadBudget { field: String, value: String },
    #[error(transparent)]
    Schedule(#[from] schedule::ScheduleError),
    #[error("{resource} minAllowed {min} and maxAllowed {max} do not make a range")]
    BadBounds {
        resource: Resource,
        min: String,
        max: String,
    },
    #[error(
        "kubernetes 1.{minor} cannot resize pods in place; 1.{MIN_SERVER_MINOR} or newer is needed"
    )]
    ServerTooOld { minor: u32 },
    #[error("server version {value:?} is not a kubernetes 1.x version")]
    BadServerVersion { value: String },
    #[error(
        "resizing pod {pod} is forbidden: {message}; grant the controller the `patch` verb on \
         the `pods/resize` subresource"
    )]
    ResizeForbidden { pod: String, message: String },
    #[error(
        "pod {pod} was resized, but writing its attune.io annotations is forbidden: {message}; \
         grant the controller the `patch` verb on `pods`"
    )]
    AnnotateForbidden { pod: String, message: String },
    #[error("reading pod {pod} again after a conflict failed: {message}")]
    Reread { pod: String, message: String },
    #[error("resizing pod {pod} conflicted twice: {message}")]
    Conflict { pod: String, message: String },
    #[error("pod {pod}: {action} failed: {source}")]
    Api {
        pod: String,
        action: &'static str,
        #[source]
        source: kube::Error,
    },
}
