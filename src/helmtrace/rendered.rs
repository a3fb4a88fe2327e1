//! A release as `helm template` printed it: its documents as values, and where each workload's
//! containers sit. The text is untrusted input; anything unexpected is skipped or an error.

use crate::repo::{Field, WORKLOAD_KINDS};
use crate::yamledit::verify::Value;
use crate::yamledit::{Seg, parse};

/// One workload of the release and the path of each container in its document.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub doc: usize,
    pub containers: Vec<(String, Vec<Seg>)>,
}

impl Workload {
    pub fn id(&self) -> String {
        format!("{}/{}/{}", self.namespace, self.kind, self.name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub text: String,
    pub docs: Vec<Value>,
    pub workloads: Vec<Workload>,
}

impl Rendered {
    /// Parses `text`; objects without `metadata.namespace` are in `namespace`, as `helm
    /// install --namespace` would put them.
    pub fn parse(text: &str, namespace: &str) -> Result<Rendered, String> {
        let stream = parse(text).map_err(|e| e.to_string())?;
        let docs = Value::of_stream(&stream);
        let workloads = docs
            .iter()
            .enumerate()
            .filter_map(|(i, d)| workload(i, d, namespace))
            .collect();
        Ok(Rendered {
            text: text.to_owned(),
            docs,
            workloads,
        })
    }

    pub fn workload(&self, namespace: &str, kind: &str, name: &str) -> Option<&Workload> {
        self.workloads
            .iter()
            .find(|w| w.namespace == namespace && w.kind == kind && w.name == name)
    }

    /// The path of `field` of `container` in the workload's document.
    pub fn field_path(w: &Workload, container: &str, field: Field) -> Option<Vec<Seg>> {
        let (_, at) = w.containers.iter().find(|(n, _)| n == container)?;
        let mut path = at.clone();
        path.push(Seg::Key("resources".into()));
        path.extend(field.keys().iter().map(|k| Seg::Key((*k).into())));
        Some(path)
    }

    /// The scalar text of `field`, when the container sets it.
    pub fn field(&self, w: &Workload, container: &str, field: Field) -> Option<&str> {
        let path = Self::field_path(w, container, field)?;
        match get(self.docs.get(w.doc)?, &path)? {
            Value::Scalar(s, plain) if !(*plain && is_null(s)) => Some(s),
            _ => None,
        }
    }

    /// How often `needle` occurs anywhere in the output.
    pub fn occurrences(&self, needle: &str) -> usize {
        self.text.matches(needle).count()
    }

    /// `namespace/Kind/name` of document `doc`, or its position when it is not an object.
    pub fn describe(&self, doc: usize) -> String {
        let d = self.docs.get(doc);
        let s = |k: &[&str]| d.and_then(|d| scalar_at(d, k)).unwrap_or_default();
        let (kind, name) = (s(&["kind"]), s(&["metadata", "name"]));
        if kind.is_empty() && name.is_empty() {
            return format!("document {}", doc + 1);
        }
        format!("{kind}/{name}")
    }
}

fn is_null(s: &str) -> bool {
    s.is_empty() || s == "~" || s.eq_ignore_ascii_case("null")
}

pub fn get<'v>(v: &'v Value, path: &[Seg]) -> Option<&'v Value> {
    let Some((seg, rest)) = path.split_first() else {
        return Some(v);
    };
    let child = match (v, seg) {
        (Value::Map(entries), Seg::Key(k)) => entries
            .iter()
            .find(|(key, _)| matches!(key, Value::Scalar(s, _) if s == k))
            .map(|(_, v)| v)?,
        (Value::Seq(items), Seg::Index(i)) => items.get(*i)?,
        _ => return None,
    };
    get(child, rest)
}

fn scalar_at(v: &Value, keys: &[&str]) -> Option<String> {
    let path: Vec<Seg> = keys.iter().map(|k| Seg::Key((*k).into())).collect();
    match get(v, &path)? {
        Value::Scalar(s, _) => Some(s.clone()),
        _ => None,
    }
}

fn workload(doc: usize, v: &Value, default_ns: &str) -> Option<Workload> {
    let kind = scalar_at(v, &["kind"])?;
    if !WORKLOAD_KINDS.contains(&kind.as_str()) {
        return None;
    }
    let name = scalar_at(v, &["metadata", "name"])?;
    let namespace = scalar_at(v, &["metadata", "namespace"])
        .filter(|n| !is_null(n))
        .unwrap_or_else(|| default_ns.to_owned());
    let mut containers = Vec::new();
    for list in ["initContainers", "containers"] {
        let base: Vec<Seg> = ["spec", "template", "spec", list]
            .iter()
            .map(|k| Seg::Key((*k).into()))
            .collect();
        let Some(Value::Seq(items)) = get(v, &base) else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            if let Some(n) = scalar_at(item, &["name"]) {
                let mut at = base.clone();
                at.push(Seg::Index(i));
                containers.push((n, at));
            }
        }
    }
    Some(Workload {
        kind,
        namespace,
        name,
        doc,
        containers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUT: &str = "---\n# Source: c/templates/svc.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n---\n# Source: c/templates/deploy.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      initContainers:\n        - name: init\n      containers:\n        - name: app\n          resources:\n            requests:\n              cpu: 100m\n            limits: {}\n";

    #[test]
    fn workloads_containers_and_fields_are_found_in_helm_output() {
        let r = Rendered::parse(OUT, "prod").unwrap();
        assert_eq!(r.workloads.len(), 1);
        let w = r.workload("prod", "Deployment", "web").unwrap();
        assert_eq!(w.id(), "prod/Deployment/web");
        let names: Vec<&str> = w.containers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["init", "app"]);
        assert_eq!(r.field(w, "app", Field::CpuRequest), Some("100m"));
        assert_eq!(r.field(w, "app", Field::CpuLimit), None);
        assert_eq!(r.field(w, "init", Field::CpuRequest), None);
        assert_eq!(r.describe(0), "Service/web");
        assert_eq!(w.doc, 1);
        assert_eq!(r.occurrences("100m"), 1);
    }

    #[test]
    fn output_that_is_not_yaml_is_an_error() {
        assert!(Rendered::parse("a: [\n", "ns").is_err());
    }
}
