//! Values the pull request must not propose yet: a container's CPU or memory that Attune
//! resized and then reverted for an OOM kill or restarts, until that revert's backoff ends
//! ([`crate::controller::revert::backoff::held_back`]). The resource is left out of the
//! recommendation (request and limit, so Git keeps what it has), and the container gets a
//! sentence under `explanation.heldBack`, which the pull-request body lists as left out. Pure.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::controller::revert::backoff::{HeldValue, held_back};
use crate::crd::{AttunePolicy, ExplanationJson, WorkloadRecommendation};

/// Key under a container's `explanation` that carries the held-back sentences to the PR body.
pub const HELD_BACK: &str = "heldBack";
/// The cooldown `held_back` backs off from when the policy's cannot be read (such a policy is
/// refused before the GitOps step; this only keeps the function total).
const FALLBACK_COOLDOWN: Duration = Duration::from_secs(3600);

/// The values of `policy`'s history held back at `now`.
pub fn held(policy: &AttunePolicy, now: DateTime<Utc>) -> BTreeSet<HeldValue> {
    let Some(status) = &policy.status else {
        return BTreeSet::new();
    };
    let cooldown = crate::resize::Settings::from_spec(&policy.spec)
        .map(|s| s.cooldown)
        .unwrap_or(FALLBACK_COOLDOWN);
    held_back(status, cooldown, now)
}

/// `recommendation` without the held values of its workload; each container that lost one says
/// so under `explanation.heldBack`.
pub fn hold_back(
    mut recommendation: WorkloadRecommendation,
    held: &BTreeSet<HeldValue>,
) -> WorkloadRecommendation {
    for c in &mut recommendation.containers {
        let mine = held
            .iter()
            .filter(|h| h.workload == recommendation.workload && h.container == c.name);
        let mut sentences = Vec::new();
        for h in mine {
            let r = &mut c.recommended;
            let (request, limit) = match h.resource.as_str() {
                "cpu" => (&mut r.cpu_request, &mut r.cpu_limit),
                "memory" => (&mut r.memory_request, &mut r.memory_limit),
                _ => continue,
            };
            if request.is_none() && limit.is_none() {
                continue;
            }
            *request = None;
            *limit = None;
            let why = match h.reason.as_str() {
                "oomkill" => "an OOM kill",
                _ => "repeated restarts",
            };
            sentences.push(format!(
                "{} left out: the resize to {} was reverted after {why}; it is not proposed \
                 again until the revert backoff ends",
                h.resource, h.value
            ));
        }
        if sentences.is_empty() {
            continue;
        }
        sentences.dedup();
        let mut explanation = c.explanation.as_ref().map_or_else(
            || serde_json::Value::Object(Default::default()),
            ExplanationJson::value,
        );
        if let Some(map) = explanation.as_object_mut() {
            map.insert(HELD_BACK.into(), sentences.into());
        }
        c.explanation = Some(explanation.into());
    }
    recommendation
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{AttunePolicyStatus, ResizeHistoryEntry};
    use serde_json::json;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn reverted(container: &str, resource: &str, from: &str, reason: &str) -> ResizeHistoryEntry {
        ResizeHistoryEntry {
            timestamp: Some("2026-12-01T10:00:00Z".into()),
            workload: Some("api".into()),
            container: Some(container.into()),
            resource: Some(resource.into()),
            from: Some(from.into()),
            to: Some("512Mi".into()),
            method: Some("InPlace".into()),
            result: Some("Reverted".into()),
            reason: Some(reason.into()),
        }
    }

    fn policy(history: Vec<ResizeHistoryEntry>) -> AttunePolicy {
        let mut p: AttunePolicy = serde_json::from_value(json!({
            "apiVersion": "attune.io/v1alpha1", "kind": "AttunePolicy",
            "metadata": {"name": "p", "namespace": "shop"},
            "spec": {"targetRef": {"kind": "Deployment", "name": "api"},
                     "metricsSource": {"prometheus": {"address": "http://prometheus:9090"}},
                     "cpu": {}, "memory": {},
                     "updateStrategy": {"type": "Auto", "cooldown": "1h"}},
        }))
        .unwrap();
        p.status = Some(AttunePolicyStatus {
            resize_history: history,
            ..Default::default()
        });
        p
    }

    fn recommendation() -> WorkloadRecommendation {
        serde_json::from_value(json!({
            "workload": "api", "kind": "Deployment",
            "containers": [
                {"name": "app", "recommended": {"cpuRequest": "250m", "memoryRequest": "320Mi",
                                                 "memoryLimit": "1Gi"}},
                {"name": "sidecar", "recommended": {"memoryRequest": "64Mi"}},
            ],
        }))
        .unwrap()
    }

    #[test]
    fn a_value_reverted_for_an_oom_kill_is_left_out_until_the_backoff_ends() {
        let p = policy(vec![
            reverted("app", "memory", "320Mi", "oomkill"),
            // Throttling says nothing about the value itself: still proposed.
            reverted("sidecar", "memory", "64Mi", "throttle"),
        ]);
        // One revert: the 1h cooldown doubles, so the value is held for two hours.
        let during = held(&p, t("2026-12-01T11:59:00Z"));
        let out = hold_back(recommendation(), &during);
        let app = &out.containers[0];
        assert_eq!(app.recommended.cpu_request.as_deref(), Some("250m"));
        assert_eq!(app.recommended.memory_request, None);
        assert_eq!(app.recommended.memory_limit, None);
        assert_eq!(
            app.explanation.as_ref().unwrap().value()[HELD_BACK],
            json!([
                "memory left out: the resize to 320Mi was reverted after an OOM kill; it is not \
                 proposed again until the revert backoff ends"
            ])
        );
        let sidecar = &out.containers[1];
        assert_eq!(sidecar.recommended.memory_request.as_deref(), Some("64Mi"));
        assert!(sidecar.explanation.is_none());

        let after = held(&p, t("2026-12-01T12:01:00Z"));
        assert!(after.is_empty());
        assert_eq!(hold_back(recommendation(), &after), recommendation());
    }

    #[test]
    fn restarts_hold_a_value_back_and_other_workloads_are_untouched() {
        let p = policy(vec![reverted("app", "cpu", "100m", "restart")]);
        let now = t("2026-12-01T10:30:00Z");
        let out = hold_back(recommendation(), &held(&p, now));
        assert_eq!(out.containers[0].recommended.cpu_request, None);
        let sentence =
            out.containers[0].explanation.as_ref().unwrap().value()[HELD_BACK][0].clone();
        assert!(
            sentence
                .as_str()
                .unwrap()
                .contains("after repeated restarts"),
            "{sentence}"
        );
        let mut other = recommendation();
        other.workload = "web".into();
        assert_eq!(hold_back(other.clone(), &held(&p, now)), other);
        assert!(held(&policy(Vec::new()), now).is_empty());
    }
}
