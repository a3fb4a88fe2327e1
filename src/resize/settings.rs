//! The parts of an AttunePolicy spec that decide resizes, read once with their defaults
//! applied and their text checked, so the per-pod rules never parse or guess.

use std::time::Duration;

use crate::crd::{AttunePolicySpec, ResourcePolicy, UpdateMode};

use super::ResizeError;
use super::amount::Amount;
use super::budget::Budget;
use super::decision::Resource;
use super::schedule::Gate;
use super::sidecars::Exclusions;
use crate::crd::duration::parse_go_duration;

/// Defaults from the CRD documentation (`updateStrategy`, `cpu`, `memory`).
const DEFAULT_COOLDOWN: Duration = Duration::from_secs(3600);
/// The operator never honours a cooldown shorter than this.
const COOLDOWN_FLOOR: Duration = Duration::from_secs(60);
const DEFAULT_MAX_CONCURRENT: i32 = 1;
const MAX_CONCURRENT_CAP: i32 = 50;
const DEFAULT_CANARY_PERCENTAGE: i32 = 10;

/// Which pods may be resized at all, apart from the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eligibility {
    /// Only pods in phase Running are resized. True in production; a test control plane
    /// without a kubelet keeps every pod Pending, so its harness turns this off.
    pub require_running: bool,
}

impl Default for Eligibility {
    fn default() -> Self {
        Eligibility {
            require_running: true,
        }
    }
}

/// Bounds and limit handling for one resource.
#[derive(Clone, Debug)]
pub struct ResourceRule {
    pub(crate) min: Amount,
    pub(crate) max: Amount,
    /// `controlledValues: RequestsAndLimits`: existing limits move with the request.
    pub controls_limits: bool,
}

impl ResourceRule {
    /// `minAllowed` as written (or the default).
    pub fn min_allowed(&self) -> &str {
        &self.min.text
    }

    /// `maxAllowed` as written (or the default).
    pub fn max_allowed(&self) -> &str {
        &self.max.text
    }
}

/// Everything about the policy that the resize decision reads.
#[derive(Clone, Debug)]
pub struct Settings {
    pub mode: UpdateMode,
    /// Least time between two resizes of one pod.
    pub cooldown: Duration,
    /// Pods that may be resizing at once, 1 to 50.
    pub max_concurrent_resizes: usize,
    /// Canary share of the pods in percent, 0 to 100 (at least one pod is always chosen).
    pub canary_percentage: u32,
    pub cpu: ResourceRule,
    pub memory: ResourceRule,
    pub eligibility: Eligibility,
    /// `updateStrategy.schedule`; `None` resizes at any time.
    pub schedule: Option<Gate>,
    /// `excludedContainers` and `excludeKnownSidecars`.
    pub exclusions: Exclusions,
    /// `maxTotalCpuIncrease` / `maxTotalMemoryIncrease`, full: each cycle starts from a clone.
    pub budget: Budget,
}

impl Settings {
    /// Reads a policy spec; every default is the CRD's. Fails on text that cannot be read
    /// (a quantity, the cooldown) or bounds that contradict each other.
    pub fn from_spec(spec: &AttunePolicySpec) -> Result<Settings, ResizeError> {
        let strategy = spec.update_strategy.clone().unwrap_or_default();
        let cooldown = match strategy.cooldown.as_deref() {
            None => DEFAULT_COOLDOWN,
            Some(text) => parse_go_duration(text)
                .map_err(|reason| ResizeError::BadDuration {
                    field: "updateStrategy.cooldown",
                    value: text.to_owned(),
                    reason,
                })?
                .max(COOLDOWN_FLOOR),
        };
        let max_concurrent = strategy
            .max_concurrent_resizes
            .unwrap_or(DEFAULT_MAX_CONCURRENT)
            .clamp(1, MAX_CONCURRENT_CAP);
        let canary_percentage = strategy
            .canary
            .as_ref()
            .and_then(|c| c.percentage)
            .unwrap_or(DEFAULT_CANARY_PERCENTAGE)
            .clamp(0, 100);
        Ok(Settings {
            mode: strategy.mode(),
            cooldown,
            max_concurrent_resizes: usize::try_from(max_concurrent).unwrap_or(1),
            canary_percentage: u32::try_from(canary_percentage).unwrap_or(0),
            cpu: resource_rule(Resource::Cpu, &spec.cpu)?,
            memory: resource_rule(Resource::Memory, &spec.memory)?,
            eligibility: Eligibility::default(),
            schedule: Gate::from_spec(strategy.schedule.as_ref())?,
            exclusions: Exclusions::from_spec(spec),
            budget: Budget::from_strategy(Some(&strategy))?,
        })
    }

    pub(crate) fn rule(&self, resource: Resource) -> &ResourceRule {
        match resource {
            Resource::Cpu => &self.cpu,
            Resource::Memory => &self.memory,
        }
    }

    /// True for the modes that resize pods at all.
    pub fn resizes(&self) -> bool {
        matches!(
            self.mode,
            UpdateMode::OneShot | UpdateMode::Canary | UpdateMode::Auto
        )
    }
}

fn resource_rule(resource: Resource, policy: &ResourcePolicy) -> Result<ResourceRule, ResizeError> {
    let (default_min, default_max) = match resource {
        Resource::Cpu => ("1m", "4000m"),
        Resource::Memory => ("4Mi", "8Gi"),
    };
    let read = |field: &str, text: Option<&str>, default: &str| {
        let text = text.unwrap_or(default);
        Amount::parse(text).map_err(|source| ResizeError::BadQuantity {
            field: format!("{resource}.{field}"),
            value: text.to_owned(),
            source,
        })
    };
    let min = read("minAllowed", policy.min_allowed.as_deref(), default_min)?;
    let max = read("maxAllowed", policy.max_allowed.as_deref(), default_max)?;
    if max.lt(&min) || min.value.is_negative() {
        return Err(ResizeError::BadBounds {
            resource,
            min: min.text,
            max: max.text,
        });
    }
    Ok(ResourceRule {
        min,
        max,
        controls_limits: policy.controls_limits(),
    })
}
