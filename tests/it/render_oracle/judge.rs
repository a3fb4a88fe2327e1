//! Comparing the renders before and after a run: exactly the intended container fields may
//! change, in every object of every root, with list order and object order kept; every wanted
//! value must be in effect where exactly one root deploys it, unless a problem names it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// What `kubectl kustomize` printed for each root, or why it failed.
pub type Renders = BTreeMap<String, Result<Vec<Value>, String>>;

/// A value of one container, as the report or the policies name it.
#[derive(Debug, Clone)]
pub struct FieldValue {
    pub namespace: String,
    pub kind: String,
    pub workload: String,
    pub container: String,
    /// `cpu-request`, `memory-limit`, …
    pub field: String,
    pub value: String,
}

/// What the run reported.
pub struct Report {
    pub changes: Vec<FieldValue>,
    /// Changes through `$attune` markers, as (from, to): a marked value may sit in any object
    /// (a HelmRelease's `spec.values`), so the oracle only knows the scalar that changes.
    pub marked: Vec<(Option<String>, String)>,
    /// (namespace, kind, workload, container): who could not be located.
    pub problems: Vec<(String, String, String, Option<String>)>,
}

impl Report {
    pub fn from_json(json: &Value) -> Report {
        let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
        let changes = json["changes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| FieldValue {
                namespace: text(c, "namespace"),
                kind: text(c, "kind"),
                workload: text(c, "workload"),
                container: text(c, "container"),
                field: text(c, "field"),
                value: text(c, "to"),
            })
            .collect();
        let marked = json["changes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["site"] == "marker")
            .map(|c| (c["from"].as_str().map(str::to_owned), text(c, "to")))
            .collect();
        let problems = json["problems"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    text(p, "namespace"),
                    text(p, "kind"),
                    text(p, "workload"),
                    p["container"].as_str().map(str::to_owned),
                )
            })
            .collect();
        Report {
            changes,
            marked,
            problems,
        }
    }

    fn names(&self, w: &FieldValue) -> bool {
        self.problems.iter().any(|(ns, kind, name, container)| {
            *ns == w.namespace
                && *kind == w.kind
                && *name == w.workload
                && container.as_ref().is_none_or(|c| *c == w.container)
        })
    }
}

fn identity(obj: &Value) -> (String, String, String) {
    let s = |p: &str| {
        obj.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    (s("/metadata/namespace"), s("/kind"), s("/metadata/name"))
}

fn keys(field: &str) -> [&'static str; 2] {
    match field {
        "cpu-request" => ["requests", "cpu"],
        "memory-request" => ["requests", "memory"],
        "cpu-limit" => ["limits", "cpu"],
        _ => ["limits", "memory"],
    }
}

fn container_mut<'v>(obj: &'v mut Value, name: &str) -> Option<&'v mut Value> {
    let pod = obj.pointer_mut("/spec/template/spec")?;
    let in_list = |list: &Value| {
        list.as_array()
            .is_some_and(|l| l.iter().any(|c| c["name"] == name))
    };
    let list = ["containers", "initContainers"]
        .into_iter()
        .find(|l| in_list(&pod[*l]))?;
    pod[list]
        .as_array_mut()?
        .iter_mut()
        .find(|c| c["name"] == name)
}

fn field_of(obj: &Value, container: &str, field: &str) -> Option<Value> {
    let mut obj = obj.clone();
    let [kind, resource] = keys(field);
    let c = container_mut(&mut obj, container)?;
    c.get("resources")?.get(kind)?.get(resource).cloned()
}

/// Sets (or, for `None`, removes) a field, dropping the maps the removal leaves empty when
/// `like` had none there.
fn put_field(obj: &mut Value, like: &Value, container: &str, field: &str, v: Option<Value>) {
    let [kind, resource] = keys(field);
    let had = |path: &[&str]| {
        let mut like = like.clone();
        let Some(c) = container_mut(&mut like, container) else {
            return false;
        };
        let mut at = &*c;
        for p in path {
            match at.get(*p) {
                Some(next) => at = next,
                None => return false,
            }
        }
        true
    };
    let (had_resources, had_kind) = (had(&["resources"]), had(&["resources", kind]));
    let Some(c) = container_mut(obj, container) else {
        return;
    };
    match v {
        Some(v) => c["resources"][kind][resource] = v,
        None => {
            let Some(map) = c.pointer_mut(&format!("/resources/{kind}")) else {
                return;
            };
            if let Some(m) = map.as_object_mut() {
                m.remove(resource);
            }
            if !had_kind
                && map.as_object().is_some_and(|m| m.is_empty())
                && let Some(r) = c["resources"].as_object_mut()
            {
                r.remove(kind);
            }
            if !had_resources
                && c["resources"].as_object().is_some_and(|m| m.is_empty())
                && let Some(o) = c.as_object_mut()
            {
                o.remove("resources");
            }
        }
    }
}

/// Whether `a` differs from `b` only in scalars that a marker change took from its `from` to
/// its `to`.
fn marked_only(b: &Value, a: &Value, marked: &[(Option<String>, String)]) -> bool {
    match (b, a) {
        (Value::Object(bm), Value::Object(am)) => {
            bm.len() == am.len()
                && bm
                    .iter()
                    .all(|(k, bv)| am.get(k).is_some_and(|av| marked_only(bv, av, marked)))
        }
        (Value::Array(bl), Value::Array(al)) => {
            bl.len() == al.len()
                && bl
                    .iter()
                    .zip(al)
                    .all(|(bv, av)| marked_only(bv, av, marked))
        }
        _ if b == a => true,
        _ => marked.iter().any(|(from, to)| {
            from.as_deref().is_some_and(|f| same_quantity(Some(b), f)) && same_quantity(Some(a), to)
        }),
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn same_quantity(a: Option<&Value>, b: &str) -> bool {
    a.is_some_and(|a| {
        let a = text_of(a);
        a == b || attune::quantity::semantically_equal(&a, b).unwrap_or(false)
    })
}

/// The run as the oracle sees it.
pub struct Scene<'s> {
    pub before: &'s Renders,
    pub after: &'s Renders,
    /// For each root, the kustomization directories it builds on, itself included.
    pub includes: &'s BTreeMap<String, BTreeSet<String>>,
    /// The root `--path` names, if any.
    pub target: Option<&'s str>,
}

type Id = (String, String, String);

impl Scene<'_> {
    /// The root that deploys an identity: the `--path` root if it renders it, else the only
    /// root that does; `None` when several do (the run must call that ambiguous).
    fn deployer(&self, id: &Id) -> Option<String> {
        let deploying: Vec<&String> = self
            .before
            .iter()
            .filter(|(_, r)| {
                r.as_ref()
                    .is_ok_and(|objs| objs.iter().any(|o| identity(o) == *id))
            })
            .map(|(root, _)| root)
            .collect();
        match (self.target, deploying.as_slice()) {
            (Some(t), _) if deploying.iter().any(|r| *r == t) => Some(t.to_owned()),
            (_, [one]) => Some((*one).clone()),
            _ => None,
        }
    }

    /// Whether an edit for `id` may show in `root`: it is the deploying root or builds on it.
    fn may_change(&self, root: &str, id: &Id) -> bool {
        self.deployer(id)
            .is_some_and(|d| self.includes.get(root).is_some_and(|i| i.contains(&d)))
    }
}

/// Every way the renders disagree with the report and the wants; empty when all is well.
pub fn judge(scene: &Scene<'_>, report: &Report, wants: &[FieldValue]) -> Vec<String> {
    let (before, after) = (scene.before, scene.after);
    let mut out = Vec::new();
    for (root, was) in before {
        let Ok(was) = was else { continue };
        match after.get(root) {
            Some(Ok(now)) => compare(scene, root, was, now, report, &mut out),
            Some(Err(e)) => out.push(format!("{root} built before the run and fails after: {e}")),
            None => out.push(format!("{root} was not rendered after the run")),
        }
    }
    for w in wants {
        if report.names(w) {
            continue;
        }
        let id = (w.namespace.clone(), w.kind.clone(), w.workload.clone());
        let Some(root) = scene.deployer(&id) else {
            continue;
        };
        let find = |renders: &Renders| {
            renders
                .get(&root)
                .and_then(|r| r.as_ref().ok())
                .and_then(|objs| objs.iter().find(|o| identity(o) == id).cloned())
        };
        let (Some(b), Some(a)) = (find(before), find(after)) else {
            continue;
        };
        let was = field_of(&b, &w.container, &w.field);
        let now = field_of(&a, &w.container, &w.field);
        let limit = w.field.ends_with("-limit");
        let ok = if limit && was.is_none() {
            now.is_none()
        } else {
            same_quantity(now.as_ref(), &w.value)
        };
        if !ok {
            out.push(format!(
                "{root}: {}/{}/{} container {} {} is {:?} after the run (was {:?}), but {} was \
                 wanted and no problem names it",
                w.namespace, w.kind, w.workload, w.container, w.field, now, was, w.value
            ));
        }
    }
    out
}

fn compare(
    scene: &Scene<'_>,
    root: &str,
    was: &[Value],
    now: &[Value],
    report: &Report,
    out: &mut Vec<String>,
) {
    let ids = |objs: &[Value]| objs.iter().map(identity).collect::<Vec<_>>();
    if ids(was) != ids(now) {
        out.push(format!(
            "{root}: the objects or their order changed: {:?} became {:?}",
            ids(was),
            ids(now)
        ));
        return;
    }
    for (b, a) in was.iter().zip(now) {
        let id = identity(b);
        let (ns, kind, name) = id.clone();
        let mut rest = a.clone();
        if !scene.may_change(root, &id) {
            if a != b {
                out.push(format!(
                    "{root}: {ns}/{kind}/{name} changed, but {root} does not deploy it through \
                     the root the run chose:\n--- before\n{}\n--- after\n{}",
                    serde_json::to_string_pretty(b).unwrap_or_default(),
                    serde_json::to_string_pretty(a).unwrap_or_default()
                ));
            }
            continue;
        }
        for c in report
            .changes
            .iter()
            .filter(|c| c.namespace == ns && c.kind == kind && c.workload == name)
        {
            let before = field_of(b, &c.container, &c.field);
            let after = field_of(a, &c.container, &c.field);
            if before != after && !same_quantity(after.as_ref(), &c.value) {
                out.push(format!(
                    "{root}: {ns}/{kind}/{name} container {} {} renders as {after:?}, the \
                     report says {}",
                    c.container, c.field, c.value
                ));
            }
            put_field(&mut rest, b, &c.container, &c.field, before);
        }
        if rest != *b && !marked_only(b, &rest, &report.marked) {
            out.push(format!(
                "{root}: {ns}/{kind}/{name} changed beyond the reported fields (or its lists \
                 were reordered):\n--- before\n{}\n--- after\n{}",
                serde_json::to_string_pretty(b).unwrap_or_default(),
                serde_json::to_string_pretty(a).unwrap_or_default()
            ));
        }
    }
}
