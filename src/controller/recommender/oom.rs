//! OOM kills the recommender feeds into the memory chain's OOM floor
//! (`recommend::OomEvent`): a container whose `lastState.terminated.reason` is `OOMKilled`,
//! on any pod of the workload, within the window the usage history covers. Pure.
//!
//! Why the history window and not "since the last recommendation" only: the working-set
//! series never shows what a killed container would have used beyond its limit, so the kill
//! stands for usage the percentiles cannot see, for as long as that usage would be in the
//! profile. Counted only until the next recommendation, the floor would vanish on the next
//! recompute (5 minutes later) and the too-small value come back — the flapping the floor is
//! there to stop. The pod keeps only its last termination, so a later clean restart or a new
//! pod ends the floor earlier.
//!
//! The peak is the container's memory limit at the time of the kill (the kernel kills at the
//! limit): the limit now, walked back through Attune's `attune.io/resize-history` entries made
//! after the kill, so that a floor Attune already applied does not raise itself again. A kill
//! without a limit (the node ran out of memory) has no known limit; the caller then takes the
//! highest working set seen.

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Container, Pod};

use crate::recommend::{Amount, OomEvent, Resource};
use crate::resize::annotations::read_history;
use crate::resize::sidecars::Exclusions;

const OOM_KILLED: &str = "OOMKilled";

/// The OOM kill that sets a container's floor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OomKill {
    pub container: String,
    /// When the killed container finished.
    pub at: DateTime<Utc>,
    /// The memory limit it was killed at, in bytes; `None` without a (readable) limit.
    pub limit_bytes: Option<i64>,
}

impl OomKill {
    /// The event for the chain: the limit at the kill, else `highest_seen` (the memory
    /// profile's max, bytes); `None` when neither is known.
    pub fn event(&self, highest_seen: f64) -> Option<OomEvent> {
        let peak = match self.limit_bytes {
            Some(limit) => limit,
            None if highest_seen.is_finite() && highest_seen > 0.0 => highest_seen.ceil() as i64,
            None => return None,
        };
        Some(OomEvent { peak_bytes: peak })
    }
}

/// One kill per container (the highest limit among its pods' kills) at or after `since`,
/// for containers `exclusions` does not drop, sorted by container name.
pub fn oom_kills(pods: &[Pod], exclusions: &Exclusions, since: DateTime<Utc>) -> Vec<OomKill> {
    let mut kills: Vec<OomKill> = Vec::new();
    for pod in pods {
        for kill in pod_kills(pod).filter(|k| k.at >= since) {
            if exclusions.excludes(&kill.container) {
                continue;
            }
            match kills.iter_mut().find(|k| k.container == kill.container) {
                Some(known) if kill.limit_bytes > known.limit_bytes => *known = kill,
                Some(_) => {}
                None => kills.push(kill),
            }
        }
    }
    kills.sort_by(|a, b| a.container.cmp(&b.container));
    kills
}

/// The pod's containers whose last termination was an OOM kill with a readable time.
fn pod_kills(pod: &Pod) -> impl Iterator<Item = OomKill> + '_ {
    let statuses = pod
        .status
        .iter()
        .flat_map(|s| s.container_statuses.iter().flatten());
    statuses.filter_map(move |s| {
        let terminated = s.last_state.as_ref()?.terminated.as_ref()?;
        if terminated.reason.as_deref() != Some(OOM_KILLED) {
            return None;
        }
        let finished = terminated.finished_at.as_ref()?;
        let at = DateTime::<Utc>::from_timestamp(finished.0.as_second(), 0)?;
        Some(OomKill {
            container: s.name.clone(),
            at,
            limit_bytes: limit_at(pod, &s.name, at),
        })
    })
}

/// The container's memory limit at `at`: the value before the first memory-limit change
/// Attune recorded after `at`, else the limit now.
fn limit_at(pod: &Pod, container: &str, at: DateTime<Utc>) -> Option<i64> {
    let changed_after = read_history(pod)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.container == container && e.resource == "memory" && e.field == "limit")
        .filter_map(|e| {
            let when = DateTime::parse_from_rfc3339(&e.at)
                .ok()?
                .with_timezone(&Utc);
            (when > at).then_some((when, e.from))
        })
        .min_by_key(|(when, _)| *when);
    let text = match changed_after {
        Some((_, before)) => before,
        None => live_limit(pod, container),
    }?;
    Amount::parse(Resource::Memory, &text, "memory limit")
        .ok()
        .map(|a| a.base())
        .filter(|b| *b > 0)
}

fn live_limit(pod: &Pod, container: &str) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    let c: &Container = spec.containers.iter().find(|c| c.name == container)?;
    let limits = c.resources.as_ref()?.limits.as_ref()?;
    limits.get("memory").map(|q| q.0.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::{Value, json};

    const MI: i64 = 1 << 20;

    fn t(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    /// A pod whose `app` (limit `limit`) and `istio-proxy` last terminated with `reason` at
    /// `finished`; `history` is its `attune.io/resize-history`.
    fn pod(reason: &str, finished: &str, limit: Option<&str>, history: Value) -> Pod {
        let resources = match limit {
            Some(l) => json!({"requests": {"memory": "128Mi"}, "limits": {"memory": l}}),
            None => json!({"requests": {"memory": "128Mi"}}),
        };
        let terminated = json!({"terminated": {
            "reason": reason, "exitCode": 137, "finishedAt": finished}});
        serde_json::from_value(json!({
            "metadata": {"name": "web-1", "annotations": {
                "attune.io/resize-history": history.to_string()}},
            "spec": {"containers": [
                {"name": "app", "resources": resources},
                {"name": "istio-proxy"},
            ]},
            "status": {"containerStatuses": [
                {"name": "app", "ready": true, "restartCount": 1, "image": "i", "imageID": "",
                 "lastState": terminated},
                {"name": "istio-proxy", "ready": true, "restartCount": 1, "image": "i",
                 "imageID": "", "lastState": terminated},
            ]},
        }))
        .unwrap()
    }

    /// A policy's defaults: known sidecars excluded.
    fn policy_exclusions() -> Exclusions {
        let spec: crate::crd::AttunePolicySpec = serde_json::from_value(json!({
            "targetRef": {"kind": "Deployment", "name": "web"},
            "metricsSource": {}, "cpu": {}, "memory": {},
        }))
        .unwrap();
        Exclusions::from_spec(&spec)
    }

    fn since() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn an_oom_kill_in_the_window_is_read_with_the_limit_it_was_killed_at() {
        let kills = oom_kills(
            &[pod(
                "OOMKilled",
                "2026-01-04T10:00:00Z",
                Some("256Mi"),
                json!([]),
            )],
            &policy_exclusions(),
            since(),
        );
        // istio-proxy is a known sidecar: dropped as the resize step drops it.
        assert_eq!(
            kills,
            [OomKill {
                container: "app".into(),
                at: t("2026-01-04T10:00:00Z"),
                limit_bytes: Some(256 * MI),
            }]
        );
        assert_eq!(
            kills[0].event(1e9),
            Some(OomEvent {
                peak_bytes: 256 * MI
            })
        );
    }

    #[test]
    fn other_terminations_old_kills_and_kills_without_a_time_do_not_count() {
        let none = |p: Pod| oom_kills(&[p], &policy_exclusions(), since()).is_empty();
        assert!(none(pod(
            "Error",
            "2026-01-04T10:00:00Z",
            Some("256Mi"),
            json!([])
        )));
        assert!(none(pod(
            "Completed",
            "2026-01-04T10:00:00Z",
            None,
            json!([])
        )));
        // Before the history window: the usage it stood for is out of the profile too.
        assert!(none(pod(
            "OOMKilled",
            "2025-12-31T23:59:59Z",
            Some("256Mi"),
            json!([])
        )));
        let mut no_time = pod("OOMKilled", "2026-01-04T10:00:00Z", None, json!([]));
        let statuses = no_time.status.as_mut().unwrap().container_statuses.as_mut();
        for s in statuses.unwrap() {
            s.last_state
                .as_mut()
                .unwrap()
                .terminated
                .as_mut()
                .unwrap()
                .finished_at = None;
        }
        assert!(none(no_time));
    }

    #[test]
    fn a_limit_attune_raised_after_the_kill_reads_as_it_was_at_the_kill() {
        // Killed at 256Mi; Attune then raised the limit twice. The first change after the
        // kill says what it was; changes before the kill and of other fields do not count.
        let history = json!([
            {"at": "2026-01-03T00:00:00Z", "container": "app", "resource": "memory",
             "field": "limit", "from": "128Mi", "to": "256Mi"},
            {"at": "2026-01-04T11:00:00Z", "container": "app", "resource": "memory",
             "field": "request", "from": "128Mi", "to": "300Mi"},
            {"at": "2026-01-04T11:00:00Z", "container": "app", "resource": "memory",
             "field": "limit", "from": "256Mi", "to": "700Mi"},
            {"at": "2026-01-04T12:00:00Z", "container": "app", "resource": "memory",
             "field": "limit", "from": "700Mi", "to": "1Gi"},
        ]);
        let p = pod("OOMKilled", "2026-01-04T10:00:00Z", Some("1Gi"), history);
        let kills = oom_kills(&[p], &policy_exclusions(), since());
        assert_eq!(kills[0].limit_bytes, Some(256 * MI));
    }

    #[test]
    fn without_a_limit_the_highest_working_set_is_the_peak_and_the_biggest_kill_wins() {
        let unlimited = pod("OOMKilled", "2026-01-04T10:00:00Z", None, json!([]));
        let limited = pod(
            "OOMKilled",
            "2026-01-04T09:00:00Z",
            Some("384Mi"),
            json!([]),
        );
        let kills = oom_kills(
            std::slice::from_ref(&unlimited),
            &policy_exclusions(),
            since(),
        );
        assert_eq!(kills[0].limit_bytes, None);
        assert_eq!(
            kills[0].event(300.5 * MI as f64),
            Some(OomEvent {
                peak_bytes: 300 * MI + MI / 2
            })
        );
        assert_eq!(kills[0].event(f64::NAN), None);
        assert_eq!(kills[0].event(0.0), None);
        let kills = oom_kills(&[unlimited, limited], &policy_exclusions(), since());
        assert_eq!(kills.len(), 1);
        assert_eq!(kills[0].limit_bytes, Some(384 * MI));
    }
}
