//! Hand-written schema fragments for fields whose Rust type does not say enough.

use schemars::{Schema, SchemaGenerator, json_schema};

/// A Kubernetes quantity such as `500m` or `1Gi`; an integer is accepted as well, as the
/// API server does for `resource.Quantity`.
pub(crate) fn quantity(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "x-kubernetes-int-or-string": true,
    })
}

/// A free-form object whose fields the API server must keep as they are.
pub(crate) fn free_form_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// A schemars transform that makes `fields` required in the CRD even though Rust reads them
/// leniently (with defaults), e.g. the key fields of a list-map.
pub(crate) fn require(fields: &'static [&'static str]) -> impl FnMut(&mut Schema) {
    move |schema: &mut Schema| {
        let required = fields.iter().map(|f| serde_json::Value::from(*f)).collect();
        schema.insert("required".into(), serde_json::Value::Array(required));
    }
}
