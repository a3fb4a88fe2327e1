//! Attune right-sizes Kubernetes pods and carries the result back to the GitOps repository.
//!
//! Data flows one way: AttunePolicy status (`crd`) → exact quantities (`quantity`) → the repository
//! index and the edit sites for a live identity (`repo`) → byte-exact span edits (`yamledit`) → a
//! change set (`propose`) that feeds the diff, the JSON report and, later, commits and pull requests.
//! On the cluster side, `resize` applies a recommendation to running pods in place.

pub mod controller;
pub mod crd;
pub mod forge;
pub mod git;
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
pub mod usage;
pub mod yamledit;

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
