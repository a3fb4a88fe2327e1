//! The order of a pod template's containers as Kustomize renders it, patch by patch.
//!
//! `kubectl logs` and `kubectl exec` default to the first container, so a patch that reorders
//! them changes what users get. A strategic-merge patch puts the containers it lists first, in
//! its own order, and the others after them in theirs (checked with kustomize v5.5:
//! `[app, envoy, third]` patched with `[envoy]` renders `[envoy, app, third]`). Modelling that
//! lets a new patch name the containers that precede its own (which keeps the order), and lets
//! a JSON 6902 path like `/containers/1` be read against the order it actually meets.

use super::patch::{CONTAINER_LISTS, key, node_at};
use crate::yamledit::Node;

/// Container names per list, in rendered order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Order {
    pub containers: Vec<String>,
    pub init: Vec<String>,
}

fn pod_list<'a>(root: &'a Node, list: &str) -> Option<&'a Node> {
    node_at(
        root,
        &[key("spec"), key("template"), key("spec"), key(list)],
    )
}

fn name_of(item: &Node) -> Option<String> {
    item.get("name").and_then(Node::as_str).map(str::to_owned)
}

impl Order {
    /// The order written in a workload object.
    pub fn of(root: &Node) -> Order {
        let names = |list: &str| {
            pod_list(root, list)
                .map(|l| l.items().iter().filter_map(name_of).collect())
                .unwrap_or_default()
        };
        Order {
            containers: names("containers"),
            init: names("initContainers"),
        }
    }

    pub fn list(&self, list: &str) -> &[String] {
        if list == "initContainers" {
            &self.init
        } else {
            &self.containers
        }
    }

    fn list_mut(&mut self, list: &str) -> &mut Vec<String> {
        if list == "initContainers" {
            &mut self.init
        } else {
            &mut self.containers
        }
    }

    pub fn position(&self, list: &str, name: &str) -> Option<usize> {
        self.list(list).iter().position(|n| n == name)
    }

    /// The containers of `list` up to and including `name`: what a new strategic-merge patch
    /// must list, in this order, to leave the order as it is.
    pub fn through(&self, list: &str, name: &str) -> Vec<String> {
        let names = self.list(list);
        match names.iter().position(|n| n == name) {
            Some(i) => names[..=i].to_vec(),
            None => vec![name.to_owned()],
        }
    }

    /// The order after a strategic-merge patch: its items first (minus `$patch: delete` ones),
    /// then the rest; a `$patch: replace` item makes the patch's items the whole list.
    pub fn after_strategic_merge(&mut self, patch: &Node) {
        for list in CONTAINER_LISTS {
            let Some(items) = pod_list(patch, list) else {
                continue;
            };
            let directive = |i: &Node| i.get("$patch").and_then(Node::as_str).map(str::to_owned);
            let replace = items
                .items()
                .iter()
                .any(|i| directive(i).as_deref() == Some("replace"));
            let mut first = Vec::new();
            let mut deleted = Vec::new();
            for item in items.items() {
                let Some(name) = name_of(item) else { continue };
                match directive(item).as_deref() {
                    Some("delete") => deleted.push(name),
                    _ if !first.contains(&name) => first.push(name),
                    _ => {}
                }
            }
            let names = self.list_mut(list);
            if !replace {
                let rest: Vec<String> = names
                    .iter()
                    .filter(|n| !first.contains(n) && !deleted.contains(n))
                    .cloned()
                    .collect();
                first.extend(rest);
            }
            *names = first;
        }
    }

    /// The order after a JSON 6902 patch: whole containers added, removed or replaced by index.
    pub fn after_json6902(&mut self, ops: &Node) {
        for op in ops.items() {
            let Some(path) = op.get("path").and_then(Node::as_str) else {
                continue;
            };
            let tokens: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            let ["spec", "template", "spec", list, rest @ ..] = tokens.as_slice() else {
                continue;
            };
            let Some(list) = CONTAINER_LISTS.iter().find(|l| *l == list) else {
                continue;
            };
            let value = op.get("value");
            let names = self.list_mut(list);
            let kind = op.get("op").and_then(Node::as_str).unwrap_or_default();
            match (kind, rest) {
                ("add" | "replace", []) => {
                    if let Some(v) = value {
                        *names = v.items().iter().filter_map(name_of).collect();
                    }
                }
                ("add", [at]) => {
                    let Some(name) = value.and_then(name_of) else {
                        continue;
                    };
                    match at.parse::<usize>() {
                        Ok(i) if i <= names.len() => names.insert(i, name),
                        _ if *at == "-" => names.push(name),
                        _ => {}
                    }
                }
                ("remove", [at]) => {
                    if let Ok(i) = at.parse::<usize>()
                        && i < names.len()
                    {
                        names.remove(i);
                    }
                }
                ("replace", [at]) => {
                    if let (Ok(i), Some(name)) = (at.parse::<usize>(), value.and_then(name_of))
                        && i < names.len()
                    {
                        names[i] = name;
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(text: &str) -> Node {
        crate::yamledit::parse(text).unwrap().docs.remove(0).root
    }

    fn three() -> Order {
        Order {
            containers: ["app", "envoy", "third"].map(String::from).to_vec(),
            init: Vec::new(),
        }
    }

    fn patch(names: &[&str]) -> Node {
        let items: String = names.iter().map(|n| format!("      - {n}\n")).collect();
        node(&format!(
            "spec:\n  template:\n    spec:\n      containers:\n{items}"
        ))
    }

    #[test]
    fn a_strategic_merge_patch_puts_its_containers_first() {
        // As kustomize v5.5 renders it (see the module comment).
        for (listed, rendered) in [
            (vec!["name: envoy"], vec!["envoy", "app", "third"]),
            (vec!["name: third"], vec!["third", "app", "envoy"]),
            (
                vec!["name: app", "name: envoy"],
                vec!["app", "envoy", "third"],
            ),
            (
                vec!["name: new", "name: app"],
                vec!["new", "app", "envoy", "third"],
            ),
            (
                vec!["name: third", "{name: envoy, $patch: delete}"],
                vec!["third", "app"],
            ),
            (vec!["name: third", "$patch: replace"], vec!["third"]),
        ] {
            let mut order = three();
            order.after_strategic_merge(&patch(&listed));
            assert_eq!(order.containers, rendered, "{listed:?}");
        }
    }

    #[test]
    fn listing_the_containers_through_one_keeps_the_order() {
        let order = three();
        let mut after = order.clone();
        let names = order.through("containers", "envoy");
        assert_eq!(names, ["app", "envoy"]);
        let listed: Vec<String> = names.iter().map(|n| format!("name: {n}")).collect();
        let listed: Vec<&str> = listed.iter().map(String::as_str).collect();
        after.after_strategic_merge(&patch(&listed));
        assert_eq!(after, order);
    }

    #[test]
    fn json6902_adds_and_removes_containers_by_index() {
        let mut order = three();
        order.after_json6902(&node(
            "- {op: add, path: /spec/template/spec/containers/1, value: {name: new}}\n\
             - {op: remove, path: /spec/template/spec/containers/3}\n\
             - {op: add, path: /spec/template/spec/containers/-, value: {name: last}}\n\
             - {op: replace, path: /spec/template/spec/containers/0/image, value: x}\n",
        ));
        assert_eq!(order.containers, ["app", "new", "envoy", "last"]);
    }

    #[test]
    fn init_containers_are_their_own_list() {
        let mut order = Order::of(&node(
            "spec:\n  template:\n    spec:\n      initContainers: [{name: setup}, {name: proxy}]\n      containers: [{name: app}]\n",
        ));
        assert_eq!(order.init, ["setup", "proxy"]);
        order.after_strategic_merge(&node(
            "spec:\n  template:\n    spec:\n      initContainers: [{name: proxy}]\n",
        ));
        assert_eq!(order.init, ["proxy", "setup"]);
        assert_eq!(order.containers, ["app"]);
    }
}
