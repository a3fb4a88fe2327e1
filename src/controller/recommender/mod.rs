//! The recommender role of the controller (`--recommender=builtin`): for every AttunePolicy,
//! the usage of its target workloads from the policy's Prometheus ([`crate::usage`]) → the Go
//! operator's chain ([`crate::recommend`]) → `status.recommendations`, `status.savings`,
//! `status.workloads.dataPoints*` and the `Ready` condition, applied with server-side apply
//! under its own field manager [`FIELD_MANAGER`], only when they changed.
//!
//! - [`owned`] builds that status from what was fetched (pure).
//! - [`current`] reads a workload's current requests and limits from its pods, minus the
//!   containers the policy excludes (pure); [`oom`] its containers' OOM kills (pure);
//!   [`savings`] sums the reductions proposed and in effect (pure).
//! - [`fetch`] reads the bearer-token Secret, keeps one Prometheus client per endpoint and
//!   caches profiles per workload, so a recompute within the interval makes no query.
//! - [`role`] runs it: every policy on a jittered schedule and on a spec change, within the
//!   query budget shared by the process.
//!
//! The resize and GitOps steps never query Prometheus: they read the recommendations this role
//! wrote. The resize step skips a stale one itself (`SkipReason::StaleRecommendation`, with its
//! `ResizeSkipped` event); the GitOps step drops it with [`fresh`]. With
//! `--recommender=external` this role does not run and the controller owns `Ready` as before.
//!
//! It must not decide a resize, know a forge, or compute the chain itself.

pub mod current;
pub mod fetch;
pub mod oom;
pub mod owned;
pub mod role;
pub mod savings;

#[cfg(test)]
mod tests;

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::crd::WorkloadRecommendation;
use crate::usage::QueryLimits;

pub use role::{Recommender, Report, spawn};

/// The field manager of the recommender's status applies.
pub const FIELD_MANAGER: &str = "attune-recommender";

/// Who writes `status.recommendations`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// This process computes them from Prometheus (the `attune controller` default).
    Builtin,
    /// Another component writes them; the controller only reads them. The library default,
    /// so that tests which play the recommender keep doing so.
    #[default]
    External,
}

impl Mode {
    /// Parses `--recommender`.
    pub fn parse(text: &str) -> Result<Mode, String> {
        match text.trim() {
            "builtin" => Ok(Mode::Builtin),
            "external" => Ok(Mode::External),
            other => Err(format!(
                "{other:?} is not a recommender: use builtin (compute recommendations from \
                 Prometheus) or external (another component writes status.recommendations)"
            )),
        }
    }
}

/// Where "now" comes from: the system clock, or a fixed instant (tests, so that every run asks
/// Prometheus for the same window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    #[default]
    System,
    Fixed(DateTime<Utc>),
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(at) => *at,
        }
    }
}

/// The recommender's operator settings (flags).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub mode: Mode,
    /// How often each policy's usage is read again (`--recommend-interval`); each policy gets
    /// up to a tenth more, spread by its name, so policies do not all query at once.
    pub interval: Duration,
    /// Queries per second, burst and time per query, shared by every policy.
    pub limits: QueryLimits,
    pub clock: Clock,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            mode: Mode::default(),
            interval: Duration::from_secs(300),
            limits: QueryLimits::default(),
            clock: Clock::System,
        }
    }
}

/// Whether the GitOps step may propose a recommendation: not when it is marked stale (its
/// newest usage sample is older than 2 × queryStep + 10 min, or Prometheus stopped answering).
/// Logged, since the workload then looks as if it had no recommendation. (The resize step
/// reads the same flag and skips with its own reason.)
pub fn fresh(recommendation: &WorkloadRecommendation) -> bool {
    if recommendation.stale == Some(true) {
        tracing::info!(
            workload = %format!("{}/{}", recommendation.kind, recommendation.workload),
            last_data_time = recommendation.last_data_time.as_deref().unwrap_or("unknown"),
            "recommendation is stale (no recent usage data): neither resized nor proposed"
        );
        return false;
    }
    true
}

/// In builtin mode the recommender owns the `Ready` condition: the controller's own status
/// apply leaves it out (and compares only the conditions it sends), so the two field managers
/// never take it from each other.
pub fn hand_over_ready(mode: Mode, mut owned: serde_json::Value) -> serde_json::Value {
    if mode == Mode::Builtin
        && let Some(conditions) = owned
            .get_mut("conditions")
            .and_then(serde_json::Value::as_array_mut)
    {
        conditions.retain(|c| c.get("type").and_then(serde_json::Value::as_str) != Some("Ready"));
    }
    owned
}
