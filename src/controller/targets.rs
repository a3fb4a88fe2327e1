//! Finding the workloads a policy targets and their pods.

use k8s_openapi::api::core::v1::Pod;

use crate::crd::WorkloadRecommendation;

/// A targeted workload as read from the apiserver.
#[derive(Debug, Clone)]
pub struct LiveWorkload {
    /// Identity and owner markers, as `locate` reads them.
    pub identity: crate::locate::Workload,
    /// The object as `kubectl get -o json` prints it.
    pub object: serde_json::Value,
    pub pods: Vec<Pod>,
    /// The policy's recommendation for it, if any.
    pub recommendation: Option<WorkloadRecommendation>,
}
