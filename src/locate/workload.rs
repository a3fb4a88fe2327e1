//! The live object whose source is wanted: its identity and the metadata that carries owner
//! markers. Any object will do — the walk also reads a HelmRelease's own markers through it.

use std::collections::BTreeMap;

use kube::api::DynamicObject;
use serde_json::Value;

use super::LocateError;
use super::known::text;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Workload {
    /// `apps/v1`, or `v1` for the core group.
    pub api_version: String,
    pub kind: String,
    /// Empty for a cluster-scoped object.
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

impl Workload {
    /// The API group, empty for the core group (as in a tracking id).
    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map_or("", |(g, _)| g)
    }

    /// `Deployment shop/web`, for messages.
    pub fn describe(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace, self.name)
        }
    }

    /// Reads an object as `kubectl get -o json` prints it.
    pub fn from_value(object: &Value) -> Result<Workload, LocateError> {
        let bad = |reason: &str| LocateError::BadObject {
            object: text(object, "/metadata/name")
                .unwrap_or("an unnamed object")
                .to_owned(),
            reason: reason.to_owned(),
        };
        let field = |pointer: &str, what: &str| {
            text(object, pointer)
                .map(str::to_owned)
                .ok_or_else(|| bad(&format!("it has no {what}")))
        };
        let strings = |pointer: &str| -> Result<BTreeMap<String, String>, LocateError> {
            match object.pointer(pointer) {
                None | Some(Value::Null) => Ok(BTreeMap::new()),
                Some(Value::Object(map)) => map
                    .iter()
                    .map(|(k, v)| match v.as_str() {
                        Some(s) => Ok((k.clone(), s.to_owned())),
                        None => Err(bad(&format!("{pointer}/{k} is not a string"))),
                    })
                    .collect(),
                Some(_) => Err(bad(&format!("{pointer} is not a map"))),
            }
        };
        Ok(Workload {
            api_version: field("/apiVersion", "apiVersion")?,
            kind: field("/kind", "kind")?,
            namespace: text(object, "/metadata/namespace")
                .unwrap_or_default()
                .to_owned(),
            name: field("/metadata/name", "metadata.name")?,
            labels: strings("/metadata/labels")?,
            annotations: strings("/metadata/annotations")?,
        })
    }

    /// Reads an object as kube's dynamic API returns it.
    pub fn from_dynamic(object: &DynamicObject) -> Result<Workload, LocateError> {
        let name = object.metadata.name.clone().unwrap_or_default();
        let Some(types) = &object.types else {
            return Err(LocateError::BadObject {
                object: name,
                reason: "it has no apiVersion and kind".to_owned(),
            });
        };
        if name.is_empty() {
            return Err(LocateError::BadObject {
                object: types.kind.clone(),
                reason: "it has no metadata.name".to_owned(),
            });
        }
        Ok(Workload {
            api_version: types.api_version.clone(),
            kind: types.kind.clone(),
            namespace: object.metadata.namespace.clone().unwrap_or_default(),
            name,
            labels: object.metadata.labels.clone().unwrap_or_default(),
            annotations: object.metadata.annotations.clone().unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locate::{Known, ObjectKind, ObjectRef};
    use serde_json::json;

    #[test]
    fn value_and_dynamic_forms_agree() {
        let v = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop",
                         "labels": {"app": "web"}, "annotations": {"a": "b"}}
        });
        let from_value = Workload::from_value(&v).unwrap();
        let dynamic: DynamicObject = serde_json::from_value(v).unwrap();
        assert_eq!(Workload::from_dynamic(&dynamic).unwrap(), from_value);
        assert_eq!(from_value.group(), "apps");
        assert_eq!(from_value.describe(), "Deployment shop/web");
    }

    #[test]
    fn dynamic_objects_are_filed_by_kind_namespace_and_name() {
        let ks: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1beta2", "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": "flux-system"}
        }))
        .unwrap();
        let mut known = Known::new();
        let key = known.insert_dynamic(&ks).unwrap();
        assert_eq!(
            key,
            ObjectRef::new(ObjectKind::Kustomization, "flux-system", "apps")
        );
        assert!(known.get(&key).is_some());
        let pod: DynamicObject = serde_json::from_value(
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}),
        )
        .unwrap();
        assert_eq!(known.insert_dynamic(&pod), None);
    }

    #[test]
    fn core_group_is_empty_and_bad_objects_are_refused() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}});
        assert_eq!(Workload::from_value(&pod).unwrap().group(), "");
        for bad in [
            json!({"kind": "Pod", "metadata": {"name": "p"}}),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {}}),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"n": 1}}}),
        ] {
            assert!(matches!(
                Workload::from_value(&bad),
                Err(LocateError::BadObject { .. })
            ));
        }
    }
}
