//! The `AttunePolicy` custom resource (`attune.io/v1alpha1`), field-compatible with the Go operator.
//!
//! This module holds the Rust shape of the CRD: the spec a user writes, the status the operator
//! reports, the field docs that `kubectl explain` shows, the generated CRD YAML
//! ([`crd_yaml`]) and a tolerant reader for policy files and `kubectl get -o yaml` output
//! ([`load_policies`]). Defaults are documented on each field but not filled in here, except the
//! few effective-value helpers that callers need to branch on (for example
//! [`UpdateStrategy::mode`]). It must not know about Kubernetes clients, git, forges or the
//! recommendation logic: it is data plus reading and printing that data.

pub(crate) mod duration;
mod explanation;
mod export;
mod file;
mod generate;
pub mod hourly;
mod load;
mod metrics;
mod quick;
mod resources;
pub mod rules;
mod scalar;
mod schema;
mod spec;
mod status;
mod strategy;
pub mod support;
mod validate;

pub use explanation::ExplanationJson;
pub use export::{ConfigMapExport, Export, GitProvider, PullRequestExport};
pub use file::{FilePolicy, FileSpec};
pub use generate::{CrdYamlError, crd_yaml};
pub use load::{LoadError, load_policies, load_policy_files};
pub use metrics::{
    CloudWatchSource, DatadogSource, MetricsSource, PodAggregation, PrometheusSource,
    PrometheusTls, VpaSource,
};
pub use resources::{ControlledValues, ResourcePolicy, StartupBoost};
pub use spec::{
    AttunePolicy, AttunePolicySpec, RuntimeProfile, SecretKeyRef, TargetKind, TargetRef,
};
pub use status::{
    AttunePolicyStatus, Condition, ContainerRecommendation, CooldownStatus, GitOpsPullRequest,
    GitOpsStatus, ResizeHistoryEntry, ResourceValues, Savings, WorkloadCounts,
    WorkloadRecommendation,
};
pub use strategy::{
    Canary, PersistWhen, ResizeMethod, Schedule, ScheduleWindow, SloComparison, SloGuardrail,
    TemplatePersistence, UpdateMode, UpdateStrategy,
};
pub use validate::{InvalidPolicy, Violation, ViolationKind, validate};
