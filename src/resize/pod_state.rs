//! What a pod's metadata and status say about resizing it now: being deleted, its phase, the
//! kubelet's resize conditions, opt-out and the time Attune last resized it.

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;

use super::annotations::{RESIZED_AT, SKIP};

/// The kubelet's verdict on the last resize, from the `PodResize*` conditions (1.33+).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResizeStatus {
    Idle,
    InProgress,
    Deferred,
    Infeasible,
}

/// When Attune last resized the pod, per its annotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ResizedAt {
    Never,
    At(DateTime<Utc>),
    /// The annotation is there but is not RFC 3339; carries the text.
    Unreadable(String),
}

pub(crate) fn pod_name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or_default()
}

pub(crate) fn is_deleting(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

pub(crate) fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Unknown")
}

pub(crate) fn annotation<'p>(pod: &'p Pod, key: &str) -> Option<&'p str> {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

pub(crate) fn opted_out(pod: &Pod) -> bool {
    annotation(pod, SKIP) == Some("true")
}

pub(crate) fn resized_at(pod: &Pod) -> ResizedAt {
    match annotation(pod, RESIZED_AT) {
        None => ResizedAt::Never,
        Some(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(at) => ResizedAt::At(at.with_timezone(&Utc)),
            Err(_) => ResizedAt::Unreadable(text.to_owned()),
        },
    }
}

/// In progress wins over pending: the kubelet is acting on the newest spec. A pending reason
/// other than Infeasible is read as Deferred, the reason that means "wait".
pub(crate) fn resize_status(pod: &Pod) -> ResizeStatus {
    let conditions = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    let active = |type_: &str| {
        conditions
            .iter()
            .find(|c| c.type_ == type_ && c.status == "True")
    };
    if active("PodResizeInProgress").is_some() {
        return ResizeStatus::InProgress;
    }
    match active("PodResizePending").map(|c| c.reason.as_deref()) {
        Some(Some("Infeasible")) => ResizeStatus::Infeasible,
        Some(_) => ResizeStatus::Deferred,
        None => ResizeStatus::Idle,
    }
}

/// The message of the pending condition, which says what the node lacks.
pub(crate) fn pending_message(pod: &Pod) -> String {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default()
        .iter()
        .find(|c| c.type_ == "PodResizePending")
        .and_then(|c| c.message.clone())
        .unwrap_or_default()
}
