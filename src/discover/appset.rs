//! Applications an ApplicationSet generates, from its list and git-directory generators. Other
//! generators (clusters, matrix, merge, SCM, pull requests, git files) and per-generator
//! templates or `templatePatch` are reported as unsupported: they depend on the cluster or a
//! forge, or on template features not reproduced here.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::template::{self, Params};

/// What one ApplicationSet yields: the Applications it generates (in generator order) and why
/// some part of it was not followed.
#[derive(Debug, Default)]
pub struct Expanded {
    pub apps: Vec<Value>,
    pub problems: Vec<String>,
}

/// Expands `set`. `dirs` are the repository's directories (`/`-separated, no root);
/// `this_repo` tells whether a git generator reads this repository.
pub fn expand(set: &Value, dirs: &BTreeSet<String>, this_repo: &dyn Fn(&str) -> bool) -> Expanded {
    let mut out = Expanded::default();
    if set.pointer("/spec/templatePatch").is_some() {
        out.problems.push(
            "spec.templatePatch is not supported; the applications are not generated".to_owned(),
        );
        return out;
    }
    let Some(template) = set.pointer("/spec/template").filter(|t| t.is_object()) else {
        out.problems.push("it has no spec.template".to_owned());
        return out;
    };
    let go = set.pointer("/spec/goTemplate").and_then(Value::as_bool) == Some(true);
    let generators = set.pointer("/spec/generators").and_then(Value::as_array);
    for (i, generator) in generators.map_or(&[][..], Vec::as_slice).iter().enumerate() {
        let params = match params_of(generator, dirs, this_repo, go) {
            Ok(params) => params,
            Err(why) => {
                out.problems.push(format!("generator #{i}: {why}"));
                continue;
            }
        };
        for p in params {
            let rendered = if go {
                template::render(template, &Params::Go(&p))
            } else {
                match p.as_object() {
                    Some(flat) => template::render(template, &Params::Fast(flat)),
                    None => continue,
                }
            };
            match rendered {
                Ok(t) => out.apps.push(application(set, t)),
                Err(err) => out.problems.push(format!("generator #{i}: {err}")),
            }
        }
    }
    out
}

/// An Application as the ApplicationSet controller writes it: in the set's namespace, owned by
/// the set.
fn application(set: &Value, rendered: Value) -> Value {
    let mut metadata = rendered
        .get("metadata")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if let Some(meta) = metadata.as_object_mut() {
        meta.insert("namespace".into(), set["metadata"]["namespace"].clone());
        meta.insert(
            "ownerReferences".into(),
            json!([{"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
                    "name": set["metadata"]["name"].clone()}]),
        );
    }
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": metadata,
        "spec": rendered.get("spec").cloned().unwrap_or(Value::Null),
    })
}

fn params_of(
    generator: &Value,
    dirs: &BTreeSet<String>,
    this_repo: &dyn Fn(&str) -> bool,
    go: bool,
) -> Result<Vec<Value>, String> {
    let Some((name, body)) = generator.as_object().and_then(|m| m.iter().next()) else {
        return Err("not a generator".to_owned());
    };
    if body.get("template").is_some() {
        return Err(format!(
            "a {name} generator's own template is not supported"
        ));
    }
    match name.as_str() {
        "list" => list(body, go),
        "git" => git_directories(body, dirs, this_repo, go),
        other => Err(format!(
            "the {other} generator is not supported (list and git directories are)"
        )),
    }
}

fn list(body: &Value, go: bool) -> Result<Vec<Value>, String> {
    if body.get("elementsYaml").is_some() {
        return Err("list generator elementsYaml is not supported".to_owned());
    }
    let elements = body
        .get("elements")
        .and_then(Value::as_array)
        .ok_or("list generator without elements")?;
    Ok(elements
        .iter()
        .map(|e| {
            if go {
                e.clone()
            } else {
                let mut flat = Map::new();
                flatten("", e, &mut flat);
                Value::Object(flat)
            }
        })
        .collect())
}

/// Nested maps as fasttemplate sees them: `values.size`.
fn flatten(prefix: &str, value: &Value, out: &mut Map<String, Value>) {
    match value.as_object() {
        Some(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        None => {
            out.insert(prefix.to_owned(), value.clone());
        }
    }
}

fn git_directories(
    body: &Value,
    dirs: &BTreeSet<String>,
    this_repo: &dyn Fn(&str) -> bool,
    go: bool,
) -> Result<Vec<Value>, String> {
    let url = body
        .get("repoURL")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !this_repo(url) {
        return Err(format!(
            "the git generator reads {url:?}, not this repository"
        ));
    }
    if body.get("files").is_some() {
        return Err("the git files generator is not supported (git directories are)".to_owned());
    }
    if body.get("pathParamPrefix").is_some() {
        return Err("git generator pathParamPrefix is not supported".to_owned());
    }
    let entries = body
        .get("directories")
        .and_then(Value::as_array)
        .ok_or("git generator without directories")?;
    let mut include = Vec::new();
    let mut exclude = Vec::new();
    for d in entries {
        let pattern = d
            .get("path")
            .and_then(Value::as_str)
            .ok_or("a directories entry without path")?;
        let pattern = pattern.trim_start_matches("./").trim_end_matches('/');
        if pattern.contains('[') || pattern.contains("**") || pattern.contains('\\') {
            return Err(format!(
                "directory pattern {pattern:?} uses a glob form that is not supported (`*` and `?` are)"
            ));
        }
        if d.get("exclude").and_then(Value::as_bool) == Some(true) {
            exclude.push(pattern.to_owned());
        } else {
            include.push(pattern.to_owned());
        }
    }
    let values = body.get("values").cloned().unwrap_or_else(|| json!({}));
    Ok(dirs
        .iter()
        .filter(|d| include.iter().any(|p| glob(p, d)) && !exclude.iter().any(|p| glob(p, d)))
        .map(|d| directory_params(d, &values, go))
        .collect())
}

fn directory_params(dir: &str, values: &Value, go: bool) -> Value {
    let segments: Vec<&str> = dir.split('/').collect();
    let basename = segments.last().copied().unwrap_or_default();
    let normalized: String = basename
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if go {
        return json!({"path": {"path": dir, "basename": basename,
            "basenameNormalized": normalized, "segments": segments}, "values": values});
    }
    let mut flat = Map::new();
    flat.insert("path".into(), json!(dir));
    flat.insert("path.basename".into(), json!(basename));
    flat.insert("path.basenameNormalized".into(), json!(normalized));
    for (i, s) in segments.iter().enumerate() {
        flat.insert(format!("path[{i}]"), json!(s));
    }
    flatten("values", values, &mut flat);
    Value::Object(flat)
}

/// Go's `path.Match` for `*` and `?`: neither crosses a `/`.
fn glob(pattern: &str, path: &str) -> bool {
    let (p, s): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == s.len()
        && p.iter()
            .zip(&s)
            .all(|(p, s)| segment(p.as_bytes(), s.as_bytes()))
}

fn segment(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => segment(&p[1..], s) || (!s.is_empty() && segment(p, &s[1..])),
        (Some(b'?'), Some(_)) => segment(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => segment(&p[1..], &s[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(generators: Value, go: bool, name: &str) -> Value {
        let path = if name.contains("path") {
            "{{path}}"
        } else {
            "apps"
        };
        json!({"metadata": {"name": "apps", "namespace": "argocd"},
               "spec": {"goTemplate": go, "generators": generators,
                        "template": {"metadata": {"name": name},
                                     "spec": {"source": {"repoURL": "https://g/r.git", "path": path}}}}})
    }

    #[test]
    fn globs_match_like_path_match() {
        assert!(glob("apps/*", "apps/web"));
        assert!(!glob("apps/*", "apps/web/base"));
        assert!(glob("apps/w?b", "apps/web"));
        assert!(glob("*/overlays/*", "shop/overlays/prod"));
        assert!(!glob("apps/*", "apps"));
    }

    #[test]
    fn git_directories_generate_one_app_per_directory_minus_exclusions() {
        let dirs: BTreeSet<String> = [
            "apps",
            "apps/web",
            "apps/api",
            "apps/legacy",
            "apps/web/base",
        ]
        .map(String::from)
        .into();
        let gens = json!([{"git": {"repoURL": "https://g/r.git", "directories": [{"path": "apps/*"}, {"path": "apps/legacy", "exclude": true}]}}]);
        let out = expand(&set(gens, false, "{{path.basename}}"), &dirs, &|_| true);
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        let names: Vec<&str> = out
            .apps
            .iter()
            .map(|a| a["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["api", "web"]);
        assert_eq!(out.apps[1]["spec"]["source"]["path"], "apps/web");
        assert_eq!(out.apps[1]["metadata"]["namespace"], "argocd");
        assert_eq!(
            out.apps[1]["metadata"]["ownerReferences"][0]["kind"],
            "ApplicationSet"
        );
        let foreign = expand(
            &set(
                json!([{"git": {"repoURL": "https://x/y.git", "directories": [{"path": "*"}]}}]),
                false,
                "a",
            ),
            &dirs,
            &|u| u == "https://g/r.git",
        );
        assert!(foreign.apps.is_empty());
        assert!(
            foreign.problems[0].contains("not this repository"),
            "{:?}",
            foreign.problems
        );
    }

    #[test]
    fn list_elements_in_both_syntaxes_and_unsupported_generators() {
        let gens = json!([{"list": {"elements": [{"env": "prod", "cfg": {"size": "l"}}]}}, {"clusters": {}}, {"matrix": {"generators": []}}]);
        let fast = expand(
            &set(gens.clone(), false, "web-{{env}}-{{cfg.size}}"),
            &BTreeSet::new(),
            &|_| true,
        );
        assert_eq!(fast.apps[0]["metadata"]["name"], "web-prod-l");
        assert_eq!(fast.problems.len(), 2, "{:?}", fast.problems);
        assert!(fast.problems[0].contains("clusters generator is not supported"));
        let go = expand(
            &set(gens, true, "web-{{ .env }}-{{ .cfg.size }}"),
            &BTreeSet::new(),
            &|_| true,
        );
        assert_eq!(go.apps[0]["metadata"]["name"], "web-prod-l");
        let bad = expand(
            &set(
                json!([{"list": {"elements": [{"env": "prod"}]}}]),
                true,
                "{{ .env | upper }}",
            ),
            &BTreeSet::new(),
            &|_| true,
        );
        assert!(
            bad.apps.is_empty() && bad.problems[0].contains("not supported"),
            "{:?}",
            bad.problems
        );
    }
}
