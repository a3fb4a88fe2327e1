//! Attune right-sizes Kubernetes pods and carries the result back to the GitOps repository.
//!
//! Data flows one way, in this order: the policy (`crd`) → usage history (`usage`) → a
//! recommendation (`recommend`) → pods resized in place (`resize`) → the workload's Git source
//! (`locate`) → the places in the repository that decide each value (`repo`) → bytes edited in
//! the file's style (`yamledit`) → the change set (`propose`) → a commit and a pull request
//! (`git`, `forge`) under the lifecycle rules (`pr`); `controller` is the loop that calls these
//! steps and the binary the CLI that calls them once. `quantity`, `secret` and `metrics` serve
//! several steps. README's Design section has what each module may use and must not know;
//! `boundaries` (a test) enforces it.

pub mod controller;
pub mod crd;
pub mod discover;
pub mod forge;
pub mod git;
pub mod helmtrace;
pub mod locate;
pub mod metrics;
pub mod plugin;
pub mod pr;
pub mod propose;
pub mod quantity;
pub mod recommend;
pub mod repo;
pub mod resize;
pub mod secret;
pub mod text;
pub mod usage;
pub mod yamledit;

#[cfg(test)]
mod boundaries;

/// An error and its sources joined with ": ". Messages here do not repeat their source, so
/// this is how a whole failure reads in a log line, an event or a condition.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
