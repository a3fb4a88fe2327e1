//! The in-memory views a reconcile reads instead of listing from the apiserver: pods (a
//! compact cache of their own, [`super::pods`]) and the three workload kinds, each a reflector
//! store fed by one watch. Workloads are trimmed before they are stored to what targeting and
//! locating read. This module knows what those readers need, not what they decide.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::runtime::reflector::{ObjectRef, Store};

use super::pods::{CachedPod, PodReader, pod_store};
use super::targets::Candidate;
use crate::crd::TargetKind;

/// Annotations on workloads that can be large and that nobody here reads.
const DROPPED_ANNOTATIONS: [&str; 1] = ["kubectl.kubernetes.io/last-applied-configuration"];

#[derive(Clone)]
pub struct Caches {
    pub pods: PodReader,
    pub deployments: Store<Deployment>,
    pub statefulsets: Store<StatefulSet>,
    pub daemonsets: Store<DaemonSet>,
}

impl Caches {
    /// Stores nothing will ever fill: for callers that do not resize (tools, tests).
    pub fn empty() -> Caches {
        Caches {
            pods: pod_store().0,
            deployments: kube::runtime::reflector::store::<Deployment>().0,
            statefulsets: kube::runtime::reflector::store::<StatefulSet>().0,
            daemonsets: kube::runtime::reflector::store::<DaemonSet>().0,
        }
    }

    /// Waits until every store holds its first full list (at most `limit`); false when one
    /// does not get there in time. A store whose watch was dropped counts as ready: nothing
    /// more will come.
    pub async fn ready(&self, limit: std::time::Duration) -> bool {
        let all = async {
            let _ = self.pods.wait_until_ready().await;
            let _ = self.deployments.wait_until_ready().await;
            let _ = self.statefulsets.wait_until_ready().await;
            let _ = self.daemonsets.wait_until_ready().await;
        };
        tokio::time::timeout(limit, all).await.is_ok()
    }

    /// Workloads of every supported kind in `namespace`.
    pub fn candidates(&self, namespace: &str) -> Vec<Candidate> {
        let mut out = Vec::new();
        let in_ns = |m: &ObjectMeta| m.namespace.as_deref() == Some(namespace);
        for d in self
            .deployments
            .state()
            .iter()
            .filter(|d| in_ns(&d.metadata))
        {
            let selector = d.spec.as_ref().map(|s| s.selector.clone());
            out.push(candidate(TargetKind::Deployment, &d.metadata, selector));
        }
        for s in self
            .statefulsets
            .state()
            .iter()
            .filter(|s| in_ns(&s.metadata))
        {
            let selector = s.spec.as_ref().map(|s| s.selector.clone());
            out.push(candidate(TargetKind::StatefulSet, &s.metadata, selector));
        }
        for d in self
            .daemonsets
            .state()
            .iter()
            .filter(|d| in_ns(&d.metadata))
        {
            let selector = d.spec.as_ref().map(|s| s.selector.clone());
            out.push(candidate(TargetKind::DaemonSet, &d.metadata, selector));
        }
        out
    }

    /// The labels of one cached workload (empty when it is not cached).
    pub fn labels_of(
        &self,
        kind: TargetKind,
        namespace: &str,
        name: &str,
    ) -> BTreeMap<String, String> {
        let meta = match kind {
            TargetKind::Deployment => self
                .deployments
                .get(&ObjectRef::new(name).within(namespace))
                .map(|o| o.metadata.clone()),
            TargetKind::StatefulSet => self
                .statefulsets
                .get(&ObjectRef::new(name).within(namespace))
                .map(|o| o.metadata.clone()),
            TargetKind::DaemonSet => self
                .daemonsets
                .get(&ObjectRef::new(name).within(namespace))
                .map(|o| o.metadata.clone()),
            _ => None,
        };
        meta.and_then(|m| m.labels).unwrap_or_default()
    }

    /// One cached workload as JSON (`Null` when it is not cached), for the GitOps step.
    pub fn object_json(&self, kind: TargetKind, namespace: &str, name: &str) -> serde_json::Value {
        let json = match kind {
            TargetKind::Deployment => self
                .deployments
                .get(&ObjectRef::new(name).within(namespace))
                .map(|o| serde_json::to_value(o.as_ref())),
            TargetKind::StatefulSet => self
                .statefulsets
                .get(&ObjectRef::new(name).within(namespace))
                .map(|o| serde_json::to_value(o.as_ref())),
            TargetKind::DaemonSet => self
                .daemonsets
                .get(&ObjectRef::new(name).within(namespace))
                .map(|o| serde_json::to_value(o.as_ref())),
            _ => None,
        };
        match json {
            Some(Ok(value)) => value,
            _ => serde_json::Value::Null,
        }
    }

    /// Pods in `namespace`.
    pub fn pods_in(&self, namespace: &str) -> Vec<Arc<CachedPod>> {
        self.pods.in_namespace(namespace)
    }
}

fn candidate(kind: TargetKind, meta: &ObjectMeta, selector: Option<LabelSelector>) -> Candidate {
    Candidate {
        kind,
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        labels: meta.labels.clone().unwrap_or_default(),
        annotations: meta.annotations.clone().unwrap_or_default(),
        selector,
        object: serde_json::Value::Null,
    }
}

fn trim_meta(meta: &mut ObjectMeta, keep_annotation: impl Fn(&str) -> bool) {
    meta.managed_fields = None;
    if let Some(annotations) = &mut meta.annotations {
        annotations.retain(|k, _| keep_annotation(k));
    }
}

fn keep_workload_annotation(key: &str) -> bool {
    !DROPPED_ANNOTATIONS.contains(&key)
}

/// Workloads keep metadata (owner markers live there), selector and replicas; the pod
/// template is what the pods already say.
pub fn trim_deployment(d: &mut Deployment) {
    trim_meta(&mut d.metadata, keep_workload_annotation);
    if let Some(spec) = &mut d.spec {
        spec.template = Default::default();
    }
    d.status = None;
}

pub fn trim_statefulset(s: &mut StatefulSet) {
    trim_meta(&mut s.metadata, keep_workload_annotation);
    if let Some(spec) = &mut s.spec {
        spec.template = Default::default();
        spec.volume_claim_templates = None;
    }
    s.status = None;
}

pub fn trim_daemonset(d: &mut DaemonSet) {
    trim_meta(&mut d.metadata, keep_workload_annotation);
    if let Some(spec) = &mut d.spec {
        spec.template = Default::default();
    }
    d.status = None;
}
