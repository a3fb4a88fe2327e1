//! One container: both resources through the chain, memory from CPU when configured, limits,
//! and the status entry.

use super::amount::{Amount, Resource};
use super::chain::{OomEvent, ResourceOutcome, append_note, recommend_resource};
use super::error::RecommendError;
use super::explanation::ContainerExplanation;
use super::limits::scaled_limit;
use super::profile::{PercentileSet, Profile};
use super::settings::{ResourceSettings, Settings};
use crate::crd::ControlledValues;
use crate::crd::{ContainerRecommendation, ResourceValues};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// What the recommender needs to know about one container.
#[derive(Clone, Copy, Debug)]
pub struct ContainerInput<'a> {
    /// Requests and limits from the workload's pod template.
    pub current: &'a ResourceValues,
    pub cpu: &'a Profile,
    pub memory: &'a Profile,
    /// Set when the container was OOM-killed since the last recommendation.
    pub oom: Option<OomEvent>,
}

/// The result for one container.
#[derive(Clone, Debug, PartialEq)]
pub enum ContainerOutcome {
    /// Neither resource has `minimumDataPoints` yet: nothing is recommended.
    InsufficientData {
        cpu_points: usize,
        memory_points: usize,
    },
    Recommended(Box<Recommendation>),
}

/// A container's recommendation. A resource without enough data of its own keeps its current
/// request (and has no explanation).
#[derive(Clone, Debug, PartialEq)]
pub struct Recommendation {
    pub current: ResourceValues,
    /// `current` with the computed requests (canonical text) and, with RequestsAndLimits, the
    /// scaled limits.
    pub recommended: ResourceValues,
    /// Mean of the CPU and memory profiles' confidence.
    pub confidence: f64,
    /// CPU plus memory data points.
    pub data_points: usize,
    pub cpu: Option<ResourceOutcome>,
    pub memory: Option<ResourceOutcome>,
}

impl Recommendation {
    /// The per-resource explanations.
    pub fn explanation(&self) -> ContainerExplanation {
        ContainerExplanation {
            cpu: self.cpu.as_ref().map(|o| o.explanation.clone()),
            memory: self.memory.as_ref().map(|o| o.explanation.clone()),
        }
    }

    /// The entry for `status.recommendations[].containers[]`. `last_updated` is RFC 3339;
    /// `include_explanation` follows `includeExplanationsInStatus`.
    pub fn to_status(
        &self,
        name: &str,
        last_updated: &str,
        include_explanation: bool,
    ) -> ContainerRecommendation {
        let explained = self.cpu.is_some() || self.memory.is_some();
        ContainerRecommendation {
            name: name.to_owned(),
            current: Some(self.current.clone()),
            recommended: self.recommended.clone(),
            confidence: Some(self.confidence),
            data_points: Some(i64::try_from(self.data_points).unwrap_or(i64::MAX)),
            last_updated: Some(last_updated.to_owned()),
            explanation: (include_explanation && explained)
                .then(|| self.explanation().to_json().into()),
        }
    }
}

/// Recommends requests (and, with RequestsAndLimits, limits) for one container. Each resource
/// is computed only with `minimumDataPoints` of its own; a container where neither has them
/// is [`ContainerOutcome::InsufficientData`]. Errors name a current value that is not a
/// usable quantity.
pub fn recommend_container(
    settings: &Settings,
    input: &ContainerInput<'_>,
) -> Result<ContainerOutcome, RecommendError> {
    let enough = |p: &Profile| p.data_points >= settings.minimum_data_points;
    if !enough(input.cpu) && !enough(input.memory) {
        return Ok(ContainerOutcome::InsufficientData {
            cpu_points: input.cpu.data_points,
            memory_points: input.memory.data_points,
        });
    }
    let current = Current::read(input.current)?;
    let cpu = enough(input.cpu)
        .then(|| recommend_resource(input.cpu, current.cpu_request, &settings.cpu, None));
    let memory = match (settings.memory_from_cpu_ratio, &cpu) {
        (Some(ratio), Some(cpu)) => Some(memory_from_cpu(
            cpu.value,
            ratio,
            current.memory_request,
            settings,
            input.oom,
        )),
        _ => enough(input.memory).then(|| {
            recommend_resource(
                input.memory,
                current.memory_request,
                &settings.memory,
                input.oom,
            )
        }),
    };
    let mut recommended = input.current.clone();
    if let Some(cpu) = &cpu {
        let slots = (&mut recommended.cpu_request, &mut recommended.cpu_limit);
        write_resource(
            slots,
            cpu.value,
            current.cpu_request,
            current.cpu_limit,
            &settings.cpu,
        );
    }
    if let Some(memory) = &memory {
        let slots = (
            &mut recommended.memory_request,
            &mut recommended.memory_limit,
        );
        let (request, limit) = (current.memory_request, current.memory_limit);
        write_resource(slots, memory.value, request, limit, &settings.memory);
    }
    Ok(ContainerOutcome::Recommended(Box::new(Recommendation {
        current: input.current.clone(),
        recommended,
        confidence: (input.cpu.confidence + input.memory.confidence) / 2.0,
        data_points: input.cpu.data_points + input.memory.data_points,
        cpu,
        memory,
    })))
}

/// Writes the recommended request and, when it follows, the limit into their status slots.
fn write_resource(
    (request_slot, limit_slot): (&mut Option<String>, &mut Option<String>),
    request: Amount,
    current_request: Amount,
    current_limit: Option<Amount>,
    settings: &ResourceSettings,
) {
    *request_slot = Some(request.canonical());
    let controlled: ControlledValues = settings.controlled_values;
    if let Some(limit) = scaled_limit(controlled, current_request, current_limit, request) {
        *limit_slot = Some(limit.canonical());
    }
}

/// Memory = final CPU cores × `ratio` GiB (truncated to bytes), through the memory chain with
/// full confidence and no burst, as the Go operator derives it.
fn memory_from_cpu(
    cpu: Amount,
    ratio: f64,
    current: Amount,
    settings: &Settings,
    oom: Option<OomEvent>,
) -> ResourceOutcome {
    let cores = cpu.base() as f64 / 1000.0;
    // `as` truncates (and saturates), like Go's int64 conversion within range.
    let bytes = (cores * ratio * GIB) as i64;
    let profile = Profile::flat(
        PercentileSet::flat(bytes as f64),
        1.0,
        settings.minimum_data_points,
    );
    let mut outcome = recommend_resource(&profile, current, &settings.memory, oom);
    append_note(
        &mut outcome.explanation.final_adjustment,
        format!("derived from CPU via memoryFromCpuRatio={ratio}"),
    );
    outcome
}

/// A container's current requests and limits as amounts; a missing request reads as zero.
struct Current {
    cpu_request: Amount,
    cpu_limit: Option<Amount>,
    memory_request: Amount,
    memory_limit: Option<Amount>,
}

impl Current {
    fn read(values: &ResourceValues) -> Result<Current, RecommendError> {
        let read = |resource, text: &Option<String>, field| {
            text.as_deref()
                .map(|t| Amount::parse(resource, t, field))
                .transpose()
        };
        Ok(Current {
            cpu_request: read(Resource::Cpu, &values.cpu_request, "current cpuRequest")?
                .unwrap_or(Amount::zero(Resource::Cpu)),
            cpu_limit: read(Resource::Cpu, &values.cpu_limit, "current cpuLimit")?,
            memory_request: read(
                Resource::Memory,
                &values.memory_request,
                "current memoryRequest",
            )?
            .unwrap_or(Amount::zero(Resource::Memory)),
            memory_limit: read(
                Resource::Memory,
                &values.memory_limit,
                "current memoryLimit",
            )?,
        })
    }
}
