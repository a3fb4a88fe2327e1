//! `status.recommendations[].containers[].explanation`, kept as compact JSON text.
//!
//! The controller caches every policy with its status, and each container's explanation is a
//! free-form object of some 50 values (every stage of the chain for CPU and memory, the hourly
//! profile, held-back sentences). As a `serde_json::Value` tree that was about 9 KiB per
//! container — most of the policy cache with 1,000 policies (heaptrack); as text it is the
//! ~2 KiB the API server sends. Readers parse it when they need it ([`ExplanationJson::value`]),
//! which is once per pull request or `kubectl attune explain`, not per cached policy.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A JSON value held as its compact text. Equal values have equal text: `serde_json`'s maps
/// keep their keys sorted, so the same value always prints the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExplanationJson(Box<str>);

impl ExplanationJson {
    /// The value, parsed from the text it was made from (so always well formed).
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }

    /// The compact JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&Value> for ExplanationJson {
    fn from(value: &Value) -> ExplanationJson {
        // Printing a `Value` cannot fail: its keys are strings and its numbers finite.
        ExplanationJson(value.to_string().into_boxed_str())
    }
}

impl From<Value> for ExplanationJson {
    fn from(value: Value) -> ExplanationJson {
        ExplanationJson::from(&value)
    }
}

impl Serialize for ExplanationJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ExplanationJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ExplanationJson, D::Error> {
        Value::deserialize(deserializer).map(ExplanationJson::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_any_value_through_its_text() {
        let value = json!({"cpu": {"final": "120m", "confidence": 0.95, "hourlyProfile":
            {"percentile": "p95", "values": ["100m", "101m"]}}, "heldBack": ["why"]});
        let compact = ExplanationJson::from(&value);
        assert_eq!(compact.value(), value);
        assert!(!compact.as_str().contains(' '), "{}", compact.as_str());
        let read: ExplanationJson = serde_json::from_str(&value.to_string()).unwrap();
        assert_eq!(read, compact);
        assert_eq!(serde_json::to_value(&read).unwrap(), value);
        let from_value: ExplanationJson = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(from_value.value(), value);
    }

    #[test]
    fn the_same_value_in_another_key_order_is_equal() {
        let a: ExplanationJson =
            serde_json::from_str(r#"{"b": 1, "a": [2, {"d": 3, "c": 4}]}"#).unwrap();
        let b: ExplanationJson = serde_json::from_str(r#"{"a":[2,{"c":4,"d":3}],"b":1}"#).unwrap();
        assert_eq!(a, b);
    }
}
