//! One values layer of a release's chain and where it comes from: a values file, a map inside a
//! document of a repository file (a HelmRelease's `spec.values`, an Application's
//! `helm.valuesObject`), YAML text in a literal block of such a file (`helm.values: |`), or
//! values attune cannot edit (`--set`, inline values of a live object). A layer's values are
//! what `helm template -f` reads; an edit of an editable layer is an edit of its file, keeping
//! every other byte.

use crate::yamledit::{EmbeddedSet, Kind, Node, Seg, Set, YamlError, parse, set_values};

/// Where a layer's values are kept, and so how an edit reaches them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The whole file is the values.
    File,
    /// The mapping at `at` in document `doc` of the file.
    Inline { doc: usize, at: Vec<String> },
    /// The YAML text of the literal block scalar at `at` in document `doc` of the file.
    Embedded { doc: usize, at: Vec<String> },
    /// Values attune cannot edit: `text` holds the values themselves, `what` says where they
    /// are set (`--set web.cpu=1`, "spec.values of the live HelmRelease ...") and `fix` how a
    /// person changes them; both appear in the problem when the traced key is set here.
    Fixed { what: String, fix: String },
}

/// A layer of the release's chain. For editable origins `path` is the repository file and
/// `text` its whole text; for [`Origin::Fixed`], `path` names the layer and `text` is its values.
#[derive(Debug, Clone, PartialEq)]
pub struct ValuesFile {
    pub path: String,
    pub text: String,
    pub origin: Origin,
}

impl ValuesFile {
    /// A values file of the repository, read whole.
    pub fn file(path: impl Into<String>, text: impl Into<String>) -> ValuesFile {
        ValuesFile {
            path: path.into(),
            text: text.into(),
            origin: Origin::File,
        }
    }

    pub fn editable(&self) -> bool {
        !matches!(self.origin, Origin::Fixed { .. })
    }

    /// The layer's values as a text `helm -f` reads (YAML; empty when the layer is empty).
    pub fn values(&self) -> Result<String, String> {
        let (doc, at) = match &self.origin {
            Origin::File | Origin::Fixed { .. } => return Ok(self.text.clone()),
            Origin::Inline { doc, at } | Origin::Embedded { doc, at } => (*doc, at),
        };
        let stream = parse(&self.text).map_err(|e| format!("{}: {e}", self.path))?;
        let Some(node) = stream.docs.get(doc).and_then(|d| find(&d.root, at)) else {
            return Ok(String::new());
        };
        match (&self.origin, &node.kind) {
            (Origin::Embedded { .. }, Kind::Scalar { value, .. }) => Ok(value.clone()),
            (Origin::Embedded { .. }, _) => Err(format!(
                "{}: {} is not a YAML text",
                self.path,
                at.join(".")
            )),
            (_, Kind::Map { .. }) => {
                // The mapping's own bytes, indented as in the file so the block stays valid.
                let text = self.text.get(node.start..node.end).unwrap_or_default();
                Ok(format!("{}{text}\n", " ".repeat(node.col)))
            }
            (_, _) if node.is_null() => Ok(String::new()),
            _ => Err(format!("{}: {} is not a mapping", self.path, at.join("."))),
        }
    }

    /// Whether the layer's values set `key` (to anything but null).
    pub fn sets(&self, key: &[String]) -> bool {
        let Ok(values) = self.values() else {
            return false;
        };
        let Ok(stream) = parse(&values) else {
            return false;
        };
        stream
            .docs
            .first()
            .and_then(|d| find(&d.root, key))
            .is_some_and(|n| !n.is_null())
    }

    /// The file's text with each `(key, value)` written into this layer, in place where the
    /// key is set and inserted in the file's style where not. `None` for a fixed layer.
    pub fn edited(&self, sets: &[(&[String], &str)]) -> Option<Result<String, YamlError>> {
        let keys = |prefix: &[String], key: &[String]| -> Vec<Seg> {
            prefix
                .iter()
                .chain(key)
                .map(|k| Seg::Key(k.clone()))
                .collect()
        };
        let set = |doc: usize, prefix: &[String]| -> Vec<Set> {
            sets.iter()
                .map(|(key, value)| Set {
                    doc,
                    path: keys(prefix, key),
                    value: (*value).to_owned(),
                })
                .collect()
        };
        Some(match &self.origin {
            Origin::File => set_values(&self.text, &set(0, &[]), &[]),
            Origin::Inline { doc, at } => set_values(&self.text, &set(*doc, at), &[]),
            Origin::Embedded { doc, at } => set_values(
                &self.text,
                &[],
                &[EmbeddedSet {
                    doc: *doc,
                    path: keys(at, &[]),
                    sets: set(0, &[]),
                }],
            ),
            Origin::Fixed { .. } => return None,
        })
    }

    /// `where` for messages: the file, and the path in it for an inline layer.
    pub fn describe(&self) -> String {
        match &self.origin {
            Origin::File => self.path.clone(),
            Origin::Inline { at, .. } | Origin::Embedded { at, .. } => {
                format!("{} of {}", at.join("."), self.path)
            }
            Origin::Fixed { what, .. } => what.clone(),
        }
    }
}

fn find<'n>(root: &'n Node, path: &[String]) -> Option<&'n Node> {
    path.iter().try_fold(root, |node, key| node.get(key))
}

/// The index of the document of `text` whose `kind` and `metadata.name` are these (and whose
/// `metadata.namespace`, when written, is `namespace`): where an owner's inline values are.
pub fn document_of(text: &str, kind: &str, name: &str, namespace: &str) -> Option<usize> {
    let stream = parse(text).ok()?;
    let is = |n: Option<&Node>, want: &str| n.and_then(Node::as_str) == Some(want);
    let mut found = stream.docs.iter().enumerate().filter(|(_, d)| {
        let meta = d.root.get("metadata");
        is(d.root.get("kind"), kind)
            && is(meta.and_then(|m| m.get("name")), name)
            && meta
                .and_then(|m| m.get("namespace"))
                .and_then(Node::as_str)
                .is_none_or(|ns| ns == namespace)
    });
    let (i, _) = found.next()?;
    found.next().is_none().then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HR: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n---\nkind: HelmRelease\nmetadata:\n  name: web\nspec:\n  values:\n    # the web tier\n    web:\n      resources:\n        limits:\n          cpu: 500m # peak\n  chart: {}\n";

    fn key(k: &str) -> Vec<String> {
        k.split('.').map(str::to_owned).collect()
    }

    fn inline() -> ValuesFile {
        ValuesFile {
            path: "releases/web.yaml".into(),
            text: HR.into(),
            origin: Origin::Inline {
                doc: 1,
                at: key("spec.values"),
            },
        }
    }

    #[test]
    fn inline_values_are_the_mapping_and_edits_keep_every_other_byte() {
        let layer = inline();
        let values = layer.values().unwrap();
        assert_eq!(
            values, "    web:\n      resources:\n        limits:\n          cpu: 500m\n",
            "the mapping's own bytes, indented as in the file"
        );
        assert!(layer.sets(&key("web.resources.limits.cpu")));
        assert!(!layer.sets(&key("web.resources.requests.cpu")));
        let k = key("web.resources.limits.cpu");
        let text = layer.edited(&[(&k, "750m")]).unwrap().unwrap();
        assert_eq!(text, HR.replace("cpu: 500m # peak", "cpu: 750m # peak"));
        let k = key("web.resources.requests.memory");
        let text = layer.edited(&[(&k, "64Mi")]).unwrap().unwrap();
        assert!(
            text.contains("        limits:\n          cpu: 500m # peak\n        requests:\n          memory: 64Mi\n  chart: {}\n"),
            "{text}"
        );
        assert_eq!(
            document_of(HR, "HelmRelease", "web", "flux-system"),
            Some(1)
        );
        assert_eq!(document_of(HR, "HelmRelease", "api", "flux-system"), None);
    }

    #[test]
    fn embedded_values_are_the_block_text_and_edited_inside_it() {
        let app = "kind: Application\nspec:\n  source:\n    helm:\n      values: |\n        web:\n          resources:\n            requests:\n              cpu: 100m\n";
        let layer = ValuesFile {
            path: "apps/web.yaml".into(),
            text: app.into(),
            origin: Origin::Embedded {
                doc: 0,
                at: key("spec.source.helm.values"),
            },
        };
        assert_eq!(
            layer.values().unwrap(),
            "web:\n  resources:\n    requests:\n      cpu: 100m\n"
        );
        let k = key("web.resources.requests.cpu");
        let text = layer.edited(&[(&k, "250m")]).unwrap().unwrap();
        assert_eq!(text, app.replace("100m", "250m"));
        assert_eq!(layer.describe(), "spec.source.helm.values of apps/web.yaml");
    }

    #[test]
    fn a_fixed_layer_is_read_but_never_edited() {
        let layer = ValuesFile {
            path: "--set".into(),
            text: "{\"web\":{\"resources\":{\"limits\":{\"cpu\":\"2\"}}}}".into(),
            origin: Origin::Fixed {
                what: "--set web.resources.limits.cpu=2".into(),
                fix: "remove it".into(),
            },
        };
        assert!(layer.sets(&key("web.resources.limits.cpu")));
        assert!(!layer.editable());
        let k = key("web.resources.limits.cpu");
        assert!(layer.edited(&[(&k, "1")]).is_none());
        let missing = ValuesFile {
            origin: Origin::Inline {
                doc: 1,
                at: key("spec.nothing"),
            },
            ..inline()
        };
        assert_eq!(missing.values().unwrap(), "");
    }
}
