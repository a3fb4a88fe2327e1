//! Reading container resources out of pod templates and patches (strategic-merge and JSON6902).

use super::field::Field;
use crate::yamledit::{Node, Seg};

/// The lists a container may sit in; native sidecars are init containers.
pub const CONTAINER_LISTS: [&str; 2] = ["containers", "initContainers"];

pub fn key(k: &str) -> Seg {
    Seg::Key(k.to_owned())
}

pub fn node_at<'a>(root: &'a Node, path: &[Seg]) -> Option<&'a Node> {
    let mut node = root;
    for seg in path {
        node = match seg {
            Seg::Key(k) => node.get(k)?,
            Seg::Index(i) => node.items().get(*i)?,
        };
    }
    Some(node)
}

/// Where a container sits in an object (or strategic-merge patch): the list key, its index and
/// the path to it from `root`.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerAt {
    pub list: &'static str,
    pub index: usize,
    pub path: Vec<Seg>,
}

/// Finds container `name` below `spec.template.spec` of a workload (or patch) rooted at `root`.
pub fn find_container(root: &Node, name: &str) -> Option<ContainerAt> {
    let pod = node_at(root, &[key("spec"), key("template"), key("spec")])?;
    for list in CONTAINER_LISTS {
        let Some(items) = pod.get(list) else { continue };
        if let Some(index) = items
            .items()
            .iter()
            .position(|c| c.get("name").and_then(Node::as_str) == Some(name))
        {
            let path = vec![
                key("spec"),
                key("template"),
                key("spec"),
                key(list),
                Seg::Index(index),
            ];
            return Some(ContainerAt { list, index, path });
        }
    }
    None
}

/// Path of `field` below a container item.
pub fn field_path(container: &[Seg], field: Field) -> Vec<Seg> {
    let [kind, resource] = field.keys();
    let mut path = container.to_vec();
    path.extend([key("resources"), key(kind), key(resource)]);
    path
}

/// The scalar a JSON6902 patch writes for `field` of the container at `index` of `list` (in
/// the object as the patch meets it), as a path inside the patch document and the value.
pub fn json6902_sets(
    root: &Node,
    list: &str,
    index: usize,
    field: Field,
) -> Option<(Vec<Seg>, String)> {
    let [kind, resource] = field.keys();
    let target = [
        "spec",
        "template",
        "spec",
        list,
        &index.to_string(),
        "resources",
        kind,
        resource,
    ]
    .map(str::to_owned);
    let mut found = None;
    for (i, op) in root.items().iter().enumerate() {
        if !matches!(op.get("op").and_then(Node::as_str), Some("add" | "replace")) {
            continue;
        }
        let Some(pointer) = op.get("path").and_then(Node::as_str) else {
            continue;
        };
        let tokens: Vec<String> = pointer
            .trim_start_matches('/')
            .split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect();
        if tokens.len() > target.len() || tokens[..] != target[..tokens.len()] {
            continue;
        }
        let mut path = vec![Seg::Index(i), key("value")];
        path.extend(target[tokens.len()..].iter().map(|t| key(t)));
        if let Some(value) = node_at(root, &path).and_then(Node::as_str) {
            // Later operations win, as they are applied in order.
            found = Some((path, value.to_owned()));
        }
    }
    found
}
