//! `attune controller`: the in-cluster pipeline that turns AttunePolicy recommendations into
//! in-place pod resizes and, when a policy asks for it, into one pull request per workload
//! source in the Git repository that deploys it.
//!
//! The module is thin on purpose: [`reconcile`] reads the policy, its target workloads and
//! their pods, asks [`crate::resize`] what to do, executes it, hands the live workloads to
//! [`gitops`] (which asks [`crate::locate`] where they come from and runs [`crate::pr::sync`]),
//! and writes one server-side-apply status patch with the conditions, history and GitOps state,
//! plus a Kubernetes event for every resize, skip and pull-request action. [`run`] wires the
//! kube-rs `Controller`, leader election, the metrics/health server and shutdown. Decisions live
//! in the pure modules it calls; this module must not decide a resize, edit a file or know a
//! forge's API shapes.

pub mod cache;
pub mod config;
pub mod events;
pub mod fields;
pub mod gitops;
pub mod leader;
pub mod pods;
pub mod recommender;
pub mod reconcile;
pub mod record;
pub mod revert;
pub mod run;
pub mod serve;
pub mod status;
pub mod targets;
pub mod watch;

pub use config::Config;
pub use events::Note;
pub use targets::LiveWorkload;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use crate::metrics::Metrics;

/// The field manager of every server-side apply the controller makes.
pub const FIELD_MANAGER: &str = "attune-controller";

/// What every reconcile shares.
pub struct Context {
    pub client: kube::Client,
    pub config: Config,
    pub metrics: Arc<Metrics>,
    /// The apiserver's minor version, read once at start (resize rules depend on it).
    pub server_minor: u32,
    /// What the GitOps step remembers between reconciles (fingerprints, poll times).
    pub gitops: gitops::Memory,
    /// Pods, Deployments, StatefulSets and DaemonSets, as the watches last saw them.
    pub caches: cache::Caches,
    pub events: events::Publisher,
    /// Skip events already published, by policy, so a lasting skip is told once.
    pub skips: Mutex<HashMap<String, BTreeSet<record::SkipEvent>>>,
    /// Every policy, as the controller's watch last saw it: who else targets a workload.
    /// Empty (and complete) until the watch sets it.
    pub policies: kube::runtime::reflector::Store<crate::crd::AttunePolicy>,
    /// Prometheus clients by endpoint on the process's query budget: the recommender's usage
    /// queries and the auto-revert's throttle and SLO checks share them.
    pub prometheus: Arc<recommender::fetch::Clients>,
}

impl Context {
    /// A context with empty GitOps memory; events are reported as `attune-controller`, with
    /// `POD_NAME` as the instance when set.
    pub fn new(
        client: kube::Client,
        config: Config,
        metrics: Arc<Metrics>,
        server_minor: u32,
        caches: cache::Caches,
    ) -> Context {
        let prometheus = recommender::fetch::Clients::shared(config.recommender.limits);
        Context {
            events: events::Publisher::new(
                client.clone(),
                FIELD_MANAGER,
                std::env::var("POD_NAME").ok(),
            ),
            client,
            config,
            metrics,
            server_minor,
            gitops: gitops::Memory::default(),
            caches,
            skips: Mutex::default(),
            policies: kube::runtime::reflector::store().0,
            prometheus,
        }
    }
}

#[cfg(test)]
mod tests;
