//! One AttunePolicy as the plugin shows it, read from the object the API server returns.
//!
//! The object comes from a cluster whose operator may be older or newer than this code, so
//! reading never fails: an unreadable status is kept as a note and shown as `-` cells.

use serde_json::Value;

use crate::crd::{AttunePolicyStatus, Condition};

/// What the plugin reads of one policy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyView {
    pub namespace: String,
    pub name: String,
    /// `metadata.creationTimestamp` as Unix seconds.
    pub created: Option<i64>,
    /// `spec.updateStrategy.type`, `Recommend` when unset.
    pub mode: String,
    /// `spec.updateStrategy.export.configMap.enabled`.
    pub export_config_map: bool,
    /// `status.canary` as "phase (N pods)".
    pub canary: Option<String>,
    pub status: AttunePolicyStatus,
    /// Why `status` could not be read, when it could not.
    pub status_error: Option<String>,
}

impl PolicyView {
    /// Reads a policy object (as JSON) without failing on odd or missing fields.
    pub fn from_object(object: &Value) -> PolicyView {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let strategy = &object["spec"]["updateStrategy"];
        let (status, status_error) = match object.get("status") {
            None | Some(Value::Null) => (AttunePolicyStatus::default(), None),
            Some(raw) => match serde_json::from_value(raw.clone()) {
                Ok(status) => (status, None),
                Err(e) => (AttunePolicyStatus::default(), Some(e.to_string())),
            },
        };
        PolicyView {
            namespace: text(&object["metadata"]["namespace"]),
            name: text(&object["metadata"]["name"]),
            created: object["metadata"]["creationTimestamp"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp()),
            mode: strategy["type"].as_str().unwrap_or("Recommend").to_owned(),
            export_config_map: strategy["export"]["configMap"]["enabled"] == Value::Bool(true),
            canary: canary(&object["status"]["canary"]),
            status,
            status_error,
        }
    }

    /// The condition of this type, if the status has one.
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.status.conditions.iter().find(|c| c.type_ == type_)
    }

    /// The READY cell: the message while Ready is False (what to fix), else the reason.
    pub fn ready_cell(&self) -> String {
        match self.condition("Ready") {
            None => "-".to_owned(),
            Some(c) if c.status == "False" => first_text(&[&c.message, &c.reason], &c.status),
            Some(c) => first_text(&[&c.reason], &c.status),
        }
    }

    /// A condition's reason (its status when it has none), `-` when absent.
    pub fn condition_cell(&self, type_: &str) -> String {
        match self.condition(type_) {
            None => "-".to_owned(),
            Some(c) => first_text(&[&c.reason], &c.status),
        }
    }

    /// The Ready condition's reason, if any.
    pub fn ready_reason(&self) -> Option<&str> {
        self.condition("Ready").and_then(|c| c.reason.as_deref())
    }
}

fn first_text(candidates: &[&Option<String>], fallback: &str) -> String {
    candidates
        .iter()
        .filter_map(|c| c.as_deref())
        .find(|t| !t.is_empty())
        .unwrap_or(if fallback.is_empty() { "-" } else { fallback })
        .to_owned()
}

fn canary(raw: &Value) -> Option<String> {
    let phase = raw["phase"].as_str().filter(|p| !p.is_empty())?;
    Some(match raw["pods"].as_array() {
        Some(pods) if pods.len() == 1 => format!("{phase} (1 pod)"),
        Some(pods) => format!("{phase} ({} pods)", pods.len()),
        None => phase.to_owned(),
    })
}

/// Age as kubectl-like Ns, Nm, Nh or Nd; `-` when the creation time is unknown.
pub fn age(created: Option<i64>, now: i64) -> String {
    let Some(created) = created else {
        return "-".to_owned();
    };
    let seconds = (now - created).max(0);
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Bytes as the Go plugin prints memory: `%.1fGi`, `%.0fMi` or `%.0fKi`.
pub fn memory(bytes: i128) -> String {
    const KI: f64 = 1024.0;
    let b = bytes as f64;
    if b.abs() >= KI * KI * KI {
        format!("{:.1}Gi", b / (KI * KI * KI))
    } else if b.abs() >= KI * KI {
        format!("{:.0}Mi", b / (KI * KI))
    } else {
        format!("{:.0}Ki", b / KI)
    }
}

/// Millicores as a Kubernetes quantity prints them: whole cores without a suffix.
pub fn millicores(millis: i128) -> String {
    if millis % 1000 == 0 {
        format!("{}", millis / 1000)
    } else {
        format!("{millis}m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_object_without_status_reads_as_empty() {
        let view = PolicyView::from_object(&json!({
            "metadata": {"namespace": "ns", "name": "p", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {},
        }));
        assert_eq!(view.mode, "Recommend");
        assert_eq!(view.created, Some(1_767_225_600));
        assert_eq!(view.ready_cell(), "-");
        assert!(view.status_error.is_none());
    }

    #[test]
    fn an_unreadable_status_is_noted_not_fatal() {
        let view = PolicyView::from_object(&json!({
            "metadata": {"namespace": "ns", "name": "p"},
            "status": {"conditions": "not a list"},
        }));
        assert!(view.status_error.is_some());
        assert_eq!(view.condition_cell("Ready"), "-");
    }

    #[test]
    fn ages_and_sizes_read_like_the_go_plugin() {
        assert_eq!(age(Some(0), 59), "59s");
        assert_eq!(age(Some(0), 3599), "59m");
        assert_eq!(age(Some(0), 86_399), "23h");
        assert_eq!(age(Some(0), 200_000), "2d");
        assert_eq!(age(None, 5), "-");
        assert_eq!(memory(1_073_741_824 + 536_870_912), "1.5Gi");
        assert_eq!(memory(1_061_158_912), "1012Mi");
        assert_eq!(memory(2048), "2Ki");
        assert_eq!(millicores(2000), "2");
        assert_eq!(millicores(830), "830m");
    }
}
