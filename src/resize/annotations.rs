//! The pod annotations Attune keeps for cooldown and revert: when it last resized the pod, the
//! values each container had before Attune first touched it, and a short history of changes.
//! They are written by a plain metadata patch, since `pods/resize` accepts resources only.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use k8s_openapi::api::core::v1::Pod;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::containers::Resources;
use super::decision::{Change, Field, Resource};
use super::pod_state::annotation;

/// RFC 3339 time of the last resize; the cooldown counts from it.
pub const RESIZED_AT: &str = "attune.io/resized-at";
/// JSON list of the latest changes, newest last, at most [`HISTORY_LIMIT`] entries.
pub const HISTORY: &str = "attune.io/resize-history";
/// `"true"` keeps Attune from resizing the pod.
pub const SKIP: &str = "attune.io/skip";
/// Entries kept in [`HISTORY`]; older ones fall off so the annotation stays small.
pub const HISTORY_LIMIT: usize = 10;

const PREFIX: &str = "attune.io/";
/// Kubernetes limits the name part of an annotation key (after the `/`) to 63 characters.
const KEY_NAME_MAX: usize = 63;
const HASH_HEX_LEN: usize = 10;

/// One entry of [`HISTORY`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: String,
    pub container: String,
    pub resource: String,
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    pub to: String,
}

/// The key holding a container's value from before Attune's first resize, e.g.
/// `attune.io/original-cpu-request.app`. Container names long enough to push the key past
/// Kubernetes' 63-character limit are cut and made unique with a hash of the full name, so
/// the key stays valid and a revert can compute it again from the name.
pub fn original_key(resource: Resource, field: Field, container: &str) -> String {
    container_key(
        &format!("original-{resource}-{}.", field.as_str()),
        container,
    )
}

/// The key holding a container's restart count at Attune's last resize of the pod, e.g.
/// `attune.io/restarts-at-resize.app`: the auto-revert watch compares the count with it.
pub fn restarts_key(container: &str) -> String {
    container_key("restarts-at-resize.", container)
}

fn container_key(stem: &str, container: &str) -> String {
    if stem.len() + container.len() <= KEY_NAME_MAX {
        return format!("{PREFIX}{stem}{container}");
    }
    let digest = Sha256::digest(container.as_bytes());
    let hash: String = digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        .chars()
        .take(HASH_HEX_LEN)
        .collect();
    let keep = KEY_NAME_MAX - stem.len() - HASH_HEX_LEN - 1;
    let cut: String = container.chars().take(keep).collect();
    format!("{PREFIX}{stem}{cut}-{hash}")
}

/// The annotations to set after a resize made of `changes` at `now`: the new resize time,
/// originals for every value of every changed container that has none recorded yet, and the
/// history with the changes appended.
pub(crate) fn tracking_annotations(
    pod: &Pod,
    containers: &[Resources],
    changes: &[Change],
    now: DateTime<Utc>,
) -> BTreeMap<String, String> {
    let at = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut out = BTreeMap::new();
    out.insert(RESIZED_AT.to_owned(), at.clone());
    let touched = containers
        .iter()
        .filter(|c| c.resizable && changes.iter().any(|ch| ch.container == c.name));
    for container in touched {
        for resource in Resource::ALL {
            let pair = container.pair(resource);
            for (field, value) in [(Field::Request, &pair.request), (Field::Limit, &pair.limit)] {
                let key = original_key(resource, field, &container.name);
                if let Some(value) = value
                    && annotation(pod, &key).is_none()
                {
                    out.insert(key, value.text.clone());
                }
            }
        }
    }
    for status in pod
        .status
        .iter()
        .flat_map(|s| s.container_statuses.iter().flatten())
        .filter(|s| changes.iter().any(|ch| ch.container == s.name))
    {
        out.insert(restarts_key(&status.name), status.restart_count.to_string());
    }
    out.insert(HISTORY.to_owned(), history_with(pod, changes, &at));
    out
}

/// The existing history plus `changes`, cut to the newest [`HISTORY_LIMIT`]. An unreadable
/// history is replaced: it is informational, the originals are what a revert uses.
fn history_with(pod: &Pod, changes: &[Change], at: &str) -> String {
    let mut entries: Vec<HistoryEntry> = annotation(pod, HISTORY)
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default();
    entries.extend(changes.iter().map(|c| HistoryEntry {
        at: at.to_owned(),
        container: c.container.clone(),
        resource: c.resource.as_str().to_owned(),
        field: c.field.as_str().to_owned(),
        from: c.from.clone(),
        to: c.to.clone(),
    }));
    let excess = entries.len().saturating_sub(HISTORY_LIMIT);
    entries.drain(..excess);
    serde_json::to_string(&entries).unwrap_or_else(|_| "[]".to_owned())
}

/// Reads the history annotation; `None` when absent or unreadable.
pub fn read_history(pod: &Pod) -> Option<Vec<HistoryEntry>> {
    annotation(pod, HISTORY).and_then(|text| serde_json::from_str(text).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn original_keys_stay_valid_for_long_names() {
        assert_eq!(
            original_key(Resource::Cpu, Field::Request, "app"),
            "attune.io/original-cpu-request.app"
        );
        let long = "a".repeat(63);
        let key = original_key(Resource::Memory, Field::Request, &long);
        let name = key.strip_prefix(PREFIX).unwrap();
        assert_eq!(name.len(), KEY_NAME_MAX);
        assert!(name.starts_with("original-memory-request.aaa"));
        let other = original_key(Resource::Memory, Field::Request, &format!("{long}b"));
        assert_ne!(key, other, "cut names must stay distinct");
        // Deterministic, so a revert finds the key again.
        assert_eq!(key, original_key(Resource::Memory, Field::Request, &long));
    }
}
