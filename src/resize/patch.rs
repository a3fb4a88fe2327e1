//! The body sent to `pods/resize`: a strategic merge patch naming each changed container and
//! only the values that change. Strategic merge matters: `containers` merges by `name`, where a
//! JSON merge patch would replace the whole list and the API server would refuse the
//! resources it drops.

use serde_json::{Map, Value, json};

use super::decision::{Change, Field};

pub(crate) fn resize_patch(changes: &[Change]) -> Value {
    // (container name, its `resources` object), in the order the changes name containers.
    let mut containers: Vec<(String, Map<String, Value>)> = Vec::new();
    for change in changes {
        let index = match containers.iter().position(|(n, _)| *n == change.container) {
            Some(i) => i,
            None => {
                containers.push((change.container.clone(), Map::new()));
                containers.len() - 1
            }
        };
        let section = match change.field {
            Field::Request => "requests",
            Field::Limit => "limits",
        };
        let values = containers[index]
            .1
            .entry(section)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(values) = values {
            values.insert(change.resource.as_str().to_owned(), json!(change.to));
        }
    }
    let containers: Vec<Value> = containers
        .into_iter()
        .map(|(name, resources)| json!({ "name": name, "resources": resources }))
        .collect();
    json!({ "spec": { "containers": containers } })
}
