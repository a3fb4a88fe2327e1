//! Which values keys might feed a container's resources, and the sentinel values file that
//! tries them all in one render.

use std::collections::BTreeSet;

use crate::repo::Field;
use crate::yamledit::{Kind, Node, parse};

/// A values key (a path of mapping keys from the root of the values) and one field below it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Candidate {
    /// The `resources` map's path; the leaf is `resources.<requests|limits>.<cpu|memory>`.
    pub resources: Vec<String>,
    pub field: Field,
    /// A quantity no chart prints by itself, distinct per candidate.
    pub sentinel: String,
}

impl Candidate {
    pub fn key(&self) -> Vec<String> {
        let mut key = self.resources.clone();
        key.extend(self.field.keys().iter().map(|k| (*k).to_owned()));
        key
    }
}

/// Values of known origin: a values file's text, and where in the chart's values it lands
/// (empty for the release's own values; the subchart's name for a subchart's defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct ValuesText<'t> {
    pub prefix: Vec<String>,
    pub text: &'t str,
}

/// Fixed width, so that no sentinel is a substring of another.
fn sentinel(n: usize, field: Field) -> String {
    let n = 4_242_000_000u64 + n as u64 % 1_000_000;
    match field {
        Field::CpuRequest | Field::CpuLimit => format!("{n}m"),
        Field::MemoryRequest | Field::MemoryLimit => format!("{n}Ki"),
    }
}

/// One candidate per field for each `resources` path, numbered from `first`.
pub fn for_paths(paths: &[Vec<String>], first: usize) -> Vec<Candidate> {
    let mut out = Vec::new();
    for path in paths {
        for field in Field::ALL {
            let n = first + out.len();
            out.push(Candidate {
                resources: path.clone(),
                field,
                sentinel: sentinel(n, field),
            });
        }
    }
    out
}

/// Every `resources` map (or empty `resources:`) in the values: the first round's paths.
pub fn resources_maps(values: &[ValuesText<'_>]) -> Result<Vec<Vec<String>>, String> {
    let mut out = BTreeSet::new();
    for v in values {
        let Some(root) = root(v.text)? else { continue };
        walk(&root, &mut v.prefix.clone(), &mut out);
    }
    Ok(out.into_iter().collect())
}

/// Well-known shapes not already tried: `resources` and `<component>.resources` for every
/// top-level mapping of the values (a component, or a subchart's values).
pub fn well_known(
    values: &[ValuesText<'_>],
    tried: &[Vec<String>],
) -> Result<Vec<Vec<String>>, String> {
    let mut out = BTreeSet::new();
    out.insert(vec!["resources".to_owned()]);
    for v in values {
        if !v.prefix.is_empty() {
            out.insert(
                v.prefix
                    .iter()
                    .cloned()
                    .chain(["resources".into()])
                    .collect(),
            );
        }
        let Some(root) = root(v.text)? else { continue };
        for (k, val) in root.entries() {
            if let (Some(k), Kind::Map { .. }) = (k.as_str(), &val.kind) {
                let mut path = v.prefix.clone();
                path.extend([k.to_owned(), "resources".to_owned()]);
                out.insert(path);
            }
        }
    }
    Ok(out.into_iter().filter(|p| !tried.contains(p)).collect())
}

fn root(text: &str) -> Result<Option<Node>, String> {
    let stream = parse(text).map_err(|e| e.to_string())?;
    Ok(stream.docs.into_iter().next().map(|d| d.root))
}

fn walk(node: &Node, path: &mut Vec<String>, out: &mut BTreeSet<Vec<String>>) {
    for (k, v) in node.entries() {
        let Some(k) = k.as_str() else { continue };
        path.push(k.to_owned());
        if k == "resources" && (v.is_null() || matches!(v.kind, Kind::Map { .. })) {
            out.insert(path.clone());
        } else {
            walk(v, path, out);
        }
        path.pop();
    }
}

/// A values file (JSON, which Helm reads as YAML) that sets every candidate's sentinel.
pub fn overlay(candidates: &[&Candidate]) -> String {
    let mut root = serde_json::Map::new();
    for c in candidates {
        let key = c.key();
        let mut map = &mut root;
        for (i, seg) in key.iter().enumerate() {
            if i + 1 == key.len() {
                map.insert(seg.clone(), serde_json::Value::String(c.sentinel.clone()));
                break;
            }
            let entry = map
                .entry(seg.clone())
                .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
            if !entry.is_object() {
                *entry = serde_json::Value::Object(serde_json::Map::new());
            }
            let serde_json::Value::Object(next) = entry else {
                break;
            };
            map = next;
        }
    }
    serde_json::Value::Object(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> ValuesText<'_> {
        ValuesText {
            prefix: vec![],
            text,
        }
    }

    #[test]
    fn resources_maps_are_found_at_any_depth_including_empty_ones() {
        let a = "resources: {}\nweb:\n  image: x\n  resources:\n    requests:\n      cpu: 100m\nlist:\n  - resources: {}\n";
        let b = "worker:\n  resources:\n";
        let sub = ValuesText {
            prefix: vec!["redis".into()],
            text: "master:\n  resources: {}\n",
        };
        let got = resources_maps(&[v(a), v(b), sub]).unwrap();
        let s = |p: &[&str]| p.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![
                s(&["redis", "master", "resources"]),
                s(&["resources"]),
                s(&["web", "resources"]),
                s(&["worker", "resources"]),
            ]
        );
    }

    #[test]
    fn well_known_shapes_skip_what_was_tried() {
        let tried = vec![vec!["resources".to_owned()]];
        let got = well_known(&[v("api:\n  port: 80\nname: x\n")], &tried).unwrap();
        assert_eq!(got, vec![vec!["api".to_owned(), "resources".to_owned()]]);
    }

    #[test]
    fn sentinels_are_distinct_quantities_and_the_overlay_sets_each() {
        let cands = for_paths(&[vec!["a".into(), "resources".into()]], 0);
        assert_eq!(cands.len(), 4);
        let all: BTreeSet<&str> = cands.iter().map(|c| c.sentinel.as_str()).collect();
        assert_eq!(all.len(), 4);
        for c in &cands {
            assert!(crate::quantity::parse(&c.sentinel).is_ok());
            for d in &cands {
                assert!(c == d || !d.sentinel.contains(&c.sentinel));
            }
        }
        let refs: Vec<&Candidate> = cands.iter().collect();
        let json: serde_json::Value = serde_json::from_str(&overlay(&refs)).unwrap();
        assert_eq!(
            json["a"]["resources"]["limits"]["memory"],
            cands[3].sentinel
        );
        assert_eq!(json["a"]["resources"]["requests"]["cpu"], cands[0].sentinel);
    }
}
