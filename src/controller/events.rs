//! Kubernetes events the controller publishes about a policy: one per resize, meaningful skip
//! and pull-request action. Steps return [`Note`]s (plain data, testable); a [`Publisher`]
//! writes them as `events.k8s.io/v1` Events and folds a repeat (same policy, reason, action,
//! type and pod within six minutes) into the first event's `series`, as kubelet and the
//! controllers of Kubernetes do. A failed publish is logged and dropped: an event is a courtesy,
//! never a reason to fail a reconcile.
//!
//! kube's own recorder does the same but keeps a full copy of every event it published for the
//! six minutes and sweeps that map under a write lock on every publish: with 10,000 pods
//! resized that was tens of MiB and a queue of reconciles behind one lock. Here a repeat needs
//! only the event's name and count, and the sweep runs at most once a minute.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Resource;
use kube::api::{Api, Patch, PatchParams, PostParams};

use crate::crd::AttunePolicy;
use crate::text::floor_char_boundary;

/// How long a published event can absorb repeats (what Kubernetes' own recorders use).
const SERIES_WINDOW: Duration = Duration::from_secs(6 * 60);
/// How often expired series are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Object names are DNS subdomains of at most 253 characters; the suffix takes 17.
const NAME_PREFIX_MAX: usize = 253 - 17;

/// Kubernetes rejects an event note over 1 kB.
const NOTE_MAX: usize = 1024;

/// One event to publish on the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub warning: bool,
    /// CamelCase reason, e.g. `Resized`, `ResizeInfeasible`, `PullRequestOpened`.
    pub reason: String,
    /// CamelCase action, e.g. `Resize`, `OpenPullRequest`.
    pub action: String,
    /// Human text; cut to 1 kB when published. Never a credential.
    pub note: String,
    /// The pod it is about, if any (the event's `related` object). Events that share reason,
    /// action and object are folded into one series that keeps the first note, so a resize of
    /// each pod must name its pod here to be told at all.
    pub pod: Option<String>,
}

impl Note {
    pub fn normal(reason: &str, action: &str, note: impl Into<String>) -> Note {
        Note {
            warning: false,
            reason: reason.into(),
            action: action.into(),
            note: note.into(),
            pod: None,
        }
    }

    /// The same note, about one pod of the policy's namespace.
    pub fn about_pod(mut self, pod: &str) -> Note {
        self.pod = Some(pod.to_owned());
        self
    }

    pub fn warning(reason: &str, action: &str, note: impl Into<String>) -> Note {
        Note {
            warning: true,
            ..Note::normal(reason, action, note)
        }
    }
}

fn cut(text: &str) -> String {
    if text.len() <= NOTE_MAX {
        return text.to_owned();
    }
    format!("{}...", &text[..floor_char_boundary(text, NOTE_MAX - 3)])
}

/// What a repeat needs of the event it folds into.
struct Series {
    name: String,
    count: i32,
    last: Instant,
}

#[derive(Default)]
struct Published {
    by_key: HashMap<u64, Series>,
    swept: Option<Instant>,
}

/// Writes notes as events of one reporting controller and instance.
pub struct Publisher {
    client: kube::Client,
    controller: String,
    instance: String,
    hasher: RandomState,
    published: Mutex<Published>,
}

impl Publisher {
    /// Events reported by `controller`; `instance` defaults to the controller's name (the API
    /// requires one).
    pub fn new(client: kube::Client, controller: &str, instance: Option<String>) -> Publisher {
        Publisher {
            client,
            controller: controller.to_owned(),
            instance: instance.unwrap_or_else(|| controller.to_owned()),
            hasher: RandomState::new(),
            published: Mutex::default(),
        }
    }

    /// Publishes every note on the policy, in order.
    pub async fn publish(&self, policy: &AttunePolicy, notes: &[Note]) {
        let regarding = policy.object_ref(&());
        let namespace = regarding
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        for n in notes {
            if let Err(error) = self.publish_one(&api, &regarding, n).await {
                tracing::warn!(reason = %n.reason, %error, "cannot publish an event");
            }
        }
    }

    async fn publish_one(
        &self,
        api: &Api<Event>,
        regarding: &ObjectReference,
        n: &Note,
    ) -> Result<(), kube::Error> {
        let key = self.key(regarding, n);
        if let Some((name, count)) = self.repeat(key) {
            let patch = serde_json::json!({
                "series": EventSeries { count, last_observed_time: MicroTime(Timestamp::now()) }
            });
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => return Ok(()),
                // Expired or deleted on the server: start a new event.
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(error) => return Err(error),
            }
        }
        let event = self.event(regarding, n, key);
        let name = event.metadata.name.clone().unwrap_or_default();
        api.create(&PostParams::default(), &event).await?;
        self.remember(key, name);
        Ok(())
    }

    /// Two notes are one series when they agree on everything but the text.
    fn key(&self, regarding: &ObjectReference, n: &Note) -> u64 {
        self.hasher.hash_one((
            &regarding.namespace,
            &regarding.name,
            &regarding.uid,
            n.warning,
            &n.reason,
            &n.action,
            &n.pod,
        ))
    }

    /// The name and next count of a live series for `key`, counting this repeat.
    fn repeat(&self, key: u64) -> Option<(String, i32)> {
        let now = Instant::now();
        let mut published = self.published.lock().unwrap_or_else(|e| e.into_inner());
        if published
            .swept
            .is_none_or(|at| now.duration_since(at) >= SWEEP_EVERY)
        {
            published
                .by_key
                .retain(|_, s| now.duration_since(s.last) < SERIES_WINDOW);
            published.swept = Some(now);
        }
        let series = published.by_key.get_mut(&key)?;
        if now.duration_since(series.last) >= SERIES_WINDOW {
            return None;
        }
        // A series has at least two occurrences: the event itself and this one.
        series.count = series.count.saturating_add(1).max(2);
        series.last = now;
        Some((series.name.clone(), series.count))
    }

    fn remember(&self, key: u64, name: String) {
        let mut published = self.published.lock().unwrap_or_else(|e| e.into_inner());
        published.by_key.insert(
            key,
            Series {
                name,
                count: 1,
                last: Instant::now(),
            },
        );
    }

    fn event(&self, regarding: &ObjectReference, n: &Note, key: u64) -> Event {
        let now = Timestamp::now();
        let base = regarding.name.as_deref().unwrap_or(&self.controller);
        let prefix = &base[..floor_char_boundary(base, NAME_PREFIX_MAX)];
        // The time alone can repeat between two notes of one reconcile; the key cannot.
        let unique = self.hasher.hash_one((key, now.as_nanosecond()));
        Event {
            metadata: ObjectMeta {
                name: Some(format!("{prefix}.{unique:016x}")),
                namespace: regarding.namespace.clone(),
                ..ObjectMeta::default()
            },
            event_time: Some(MicroTime(now)),
            type_: Some(if n.warning { "Warning" } else { "Normal" }.into()),
            reason: Some(n.reason.clone()),
            action: Some(n.action.clone()),
            note: Some(cut(&n.note)),
            regarding: Some(regarding.clone()),
            related: n.pod.as_ref().map(|name| ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                namespace: regarding.namespace.clone(),
                name: Some(name.clone()),
                ..ObjectReference::default()
            }),
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            ..Event::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_notes_are_cut_on_a_character_boundary() {
        let text = "é".repeat(600);
        let out = cut(&text);
        assert!(out.len() <= NOTE_MAX, "{}", out.len());
        assert!(out.ends_with("..."));
        assert_eq!(cut("short"), "short");
    }
}
