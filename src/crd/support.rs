//! Which spec fields this controller acts on and which it refuses. A field a user sets must do
//! what its documentation says or stop the policy with `Ready=False InvalidConfig` naming the
//! field and why — never be ignored. [`refusal`] finds the refused fields a policy sets;
//! [`FIELDS`] lists every field of the spec with its standing, and a test walks the generated
//! CRD schema so that a new field cannot arrive without one.

use super::resources::ResourcePolicy;
use super::spec::AttunePolicySpec;
use super::strategy::ResizeMethod;

/// How the controller treats a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Acted on.
    Honoured,
    /// Set, it makes the policy `InvalidConfig` with [`refusal`]'s message.
    Refused,
    /// Acted on by the auto-revert work (see the README's Safety section).
    Revert,
    /// Read by the recommender (`recommend`, `usage`), which computes `status.recommendations`.
    Recommender,
}

/// Every field of `spec`, by the path the API server uses; an object listed here is not
/// walked further.
pub const FIELDS: &[(&str, Standing)] = {
    use Standing::{Honoured as H, Recommender as C, Refused as R, Revert as V};
    &[
        ("targetRef.kind", H),
        ("targetRef.name", H),
        ("targetRef.selector", H),
        ("metricsSource.prometheus", C),
        ("metricsSource.datadog", R),
        ("metricsSource.cloudwatch", R),
        ("metricsSource.vpa", R),
        ("metricsSource.historyWindow", C),
        ("metricsSource.minimumDataPoints", C),
        ("metricsSource.queryStep", C),
        ("metricsSource.rateWindow", C),
        ("metricsSource.podAggregation", C),
        ("metricsSource.cpuRecordingMetric", C),
        ("metricsSource.memoryRecordingMetric", C),
        ("cpu.percentile", C),
        ("cpu.overhead", C),
        ("cpu.minAllowed", H),
        ("cpu.maxAllowed", H),
        ("cpu.controlledValues", H),
        ("cpu.allowDecrease", C),
        ("cpu.burstSensitivity", C),
        ("cpu.maxChangePercent", C),
        ("cpu.maxIncreasePercent", C),
        ("cpu.maxDecreasePercent", C),
        ("cpu.memoryFromCpuRatio", R),
        ("cpu.decreaseUsageMarginPercent", R),
        ("cpu.startupBoost", R),
        ("memory.percentile", C),
        ("memory.overhead", C),
        ("memory.minAllowed", H),
        ("memory.maxAllowed", H),
        ("memory.controlledValues", H),
        ("memory.allowDecrease", C),
        ("memory.burstSensitivity", C),
        ("memory.maxChangePercent", C),
        ("memory.maxIncreasePercent", C),
        ("memory.maxDecreasePercent", C),
        ("memory.memoryFromCpuRatio", C),
        ("memory.decreaseUsageMarginPercent", R),
        ("memory.startupBoost", R),
        ("paused", H),
        ("excludedContainers", H),
        ("excludeKnownSidecars", H),
        ("weight", H),
        ("runtimeProfile", C),
        ("updateStrategy.type", H),
        ("updateStrategy.canary.percentage", H),
        ("updateStrategy.canary.observationPeriod", V),
        ("updateStrategy.canary.autoPromote", V),
        ("updateStrategy.cooldown", H),
        ("updateStrategy.autoRevert", V),
        ("updateStrategy.resizeMethod", H),
        ("updateStrategy.safetyObservationPeriod", V),
        ("updateStrategy.initialSizing", R),
        ("updateStrategy.schedule", H),
        ("updateStrategy.maxConcurrentResizes", H),
        ("updateStrategy.maxStatusRecommendations", C),
        ("updateStrategy.includeExplanationsInStatus", C),
        ("updateStrategy.maxTotalCpuIncrease", H),
        ("updateStrategy.maxTotalMemoryIncrease", H),
        ("updateStrategy.export.configMap", R),
        ("updateStrategy.export.pullRequest", H),
        ("updateStrategy.sloGuardrails", V),
        ("updateStrategy.templatePersistence", R),
    ]
};

/// Every refused field `spec` sets, as `path: why` joined by `; `; `None` when it sets none.
pub fn refusal(spec: &AttunePolicySpec) -> Option<String> {
    let all = refusals(spec);
    (!all.is_empty()).then(|| all.join("; "))
}

/// Every refused field `spec` sets, as `path: why`.
pub fn refusals(spec: &AttunePolicySpec) -> Vec<String> {
    let mut out = Vec::new();
    let mut refuse = |set: bool, path: &str, why: &str| {
        if set {
            out.push(format!("spec.{path}: {why}"));
        }
    };
    let m = &spec.metrics_source;
    let other_source = "only Prometheus is implemented as a metrics source; use \
                        metricsSource.prometheus (Datadog, CloudWatch and VPA inputs are not)";
    refuse(m.datadog.is_some(), "metricsSource.datadog", other_source);
    refuse(
        m.cloudwatch.is_some(),
        "metricsSource.cloudwatch",
        other_source,
    );
    refuse(m.vpa.is_some(), "metricsSource.vpa", other_source);
    for (name, r) in [("cpu", &spec.cpu), ("memory", &spec.memory)] {
        resource(&mut refuse, name, r);
    }
    let Some(s) = &spec.update_strategy else {
        return out;
    };
    refuse(
        s.initial_sizing == Some(true),
        "updateStrategy.initialSizing",
        "sizing pods at admission needs a mutating webhook, which this controller does not \
         run; remove it (running pods are resized in place)",
    );
    refuse(
        s.resize_method == Some(ResizeMethod::InPlaceOrRecreate),
        "updateStrategy.resizeMethod",
        "InPlaceOrRecreate (evicting pods that cannot resize in place) is not implemented; \
         use InPlaceOnly, the default",
    );
    let config_map = s.export.as_ref().and_then(|e| e.config_map.as_ref());
    refuse(
        config_map.is_some_and(|c| c.enabled == Some(true)),
        "updateStrategy.export.configMap.enabled",
        "the ConfigMap export is not implemented; status.recommendations and \
         export.pullRequest carry the values",
    );
    refuse(
        s.template_persistence
            .as_ref()
            .is_some_and(|t| t.enabled == Some(true)),
        "updateStrategy.templatePersistence.enabled",
        "patching the Deployment/StatefulSet template is not implemented: Argo CD or Flux \
         would undo it at the next sync; use export.pullRequest to change the manifests in Git",
    );
    out
}

fn resource(refuse: &mut impl FnMut(bool, &str, &str), name: &str, r: &ResourcePolicy) {
    refuse(
        r.startup_boost.is_some(),
        &format!("{name}.startupBoost"),
        "the startup boost is not implemented; remove it",
    );
    refuse(
        r.decrease_usage_margin_percent.is_some(),
        &format!("{name}.decreaseUsageMarginPercent"),
        "memory limit decreases are not checked against recent usage by this controller; \
         remove it",
    );
    if name == "cpu" {
        refuse(
            r.memory_from_cpu_ratio.is_some(),
            "cpu.memoryFromCpuRatio",
            "applies to memory only; set it under spec.memory",
        );
    }
}

#[cfg(test)]
#[path = "support_tests.rs"]
mod tests;
