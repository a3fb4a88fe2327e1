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
