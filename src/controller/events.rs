//! Kubernetes events the controller publishes about a policy: one per resize, meaningful skip
//! and pull-request action. Steps return [`Note`]s (plain data, testable); [`publish`] sends
//! them through kube's recorder, which folds repeats into a series. A failed publish is logged
//! and dropped: an event is a courtesy, never a reason to fail a reconcile.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder};

use crate::crd::AttunePolicy;

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
    let mut end = NOTE_MAX - 3;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// Publishes every note on the policy, in order.
pub async fn publish(recorder: &Recorder, policy: &AttunePolicy, notes: &[Note]) {
    let reference = policy.object_ref(&());
    for n in notes {
        let event = Event {
            type_: if n.warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: n.reason.clone(),
            note: Some(cut(&n.note)),
            action: n.action.clone(),
            secondary: n.pod.as_ref().map(|name| ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                namespace: reference.namespace.clone(),
                name: Some(name.clone()),
                ..ObjectReference::default()
            }),
        };
        if let Err(error) = recorder.publish(&event, &reference).await {
            tracing::warn!(reason = %n.reason, %error, "cannot publish an event");
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
