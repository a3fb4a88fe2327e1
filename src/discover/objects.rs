//! The GitOps objects a repository holds: Argo CD Applications and ApplicationSets, Flux
//! Kustomizations, HelmReleases and GitRepositories, read from any YAML file. Every file is
//! untrusted: the reader's limits (size, aliases) are the repository reader's, a file that does
//! not parse is a notice, and a chart's templates are never read (they are Go templates).

use serde_json::Value;

use crate::locate::ObjectKind;
use crate::repo::Notice;

/// One object found in a file.
#[derive(Debug, Clone)]
pub struct Found {
    pub file: String,
    pub kind: FoundKind,
    pub object: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoundKind {
    /// One of the kinds the locate walk reads.
    Owner(ObjectKind),
    ApplicationSet,
}

/// Words without which a file cannot declare one of the objects: the rest are never parsed.
const GROUPS: [&str; 2] = ["argoproj.io", "toolkit.fluxcd.io"];

/// The objects of `files` (`(path, text)`), each filed under a namespace: its own, else
/// `default_namespace` for its tool (what applying it would give it). Files below a chart's
/// `templates/` (`charts` are the chart directories) are skipped.
pub fn read(
    files: &[(String, String)],
    charts: &[String],
    default_namespace: &dyn Fn(FoundKind) -> String,
    notices: &mut Vec<Notice>,
) -> Vec<Found> {
    let mut out = Vec::new();
    for (rel, text) in files {
        if !GROUPS.iter().any(|g| text.contains(g)) || in_chart_templates(rel, charts) {
            continue;
        }
        let docs: Vec<Value> = match serde_saphyr::from_multiple_with_options(text, options()) {
            Ok(docs) => docs,
            Err(err) => {
                notices.push(Notice::new(
                    rel.clone(),
                    format!(
                        "not read for applications: {}",
                        first_line(&err.to_string())
                    ),
                ));
                continue;
            }
        };
        for mut object in docs {
            let Some(kind) = kind_of(&object) else {
                continue;
            };
            let unset = !object
                .pointer("/metadata/namespace")
                .is_some_and(Value::is_string);
            if unset && let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert("namespace".into(), Value::String(default_namespace(kind)));
            }
            out.push(Found {
                file: rel.clone(),
                kind,
                object,
            });
        }
    }
    out
}

fn kind_of(object: &Value) -> Option<FoundKind> {
    let api_version = object.get("apiVersion")?.as_str()?;
    let kind = object.get("kind")?.as_str()?;
    object.pointer("/metadata/name")?.as_str()?;
    if kind == "ApplicationSet" && api_version.starts_with("argoproj.io/") {
        return Some(FoundKind::ApplicationSet);
    }
    ObjectKind::from_type(api_version, kind).map(FoundKind::Owner)
}

fn in_chart_templates(rel: &str, charts: &[String]) -> bool {
    charts.iter().any(|chart| {
        let prefix = if chart.is_empty() {
            "templates/".to_owned()
        } else {
            format!("{chart}/templates/")
        };
        rel.starts_with(&prefix)
    })
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// The repository reader's alias limits; the node cap leaves room for large app-of-apps files.
fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_nodes: 1_000_000,
            max_events: 2_000_000,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(kind: FoundKind) -> String {
        match kind {
            FoundKind::Owner(ObjectKind::Application) | FoundKind::ApplicationSet => {
                "argocd".into()
            }
            _ => "flux-system".into(),
        }
    }

    #[test]
    fn owners_are_found_in_any_file_and_bad_files_are_notices() {
        let files = vec![
            ("clusters/prod/apps.yaml".to_owned(), "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: web}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux}\n".to_owned()),
            ("broken.yaml".to_owned(), "apiVersion: argoproj.io/v1alpha1\nkind: [\n".to_owned()),
            ("charts/web/templates/app.yaml".to_owned(), "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: {{ .Values.x }}}\n".to_owned()),
            ("bomb.yaml".to_owned(), format!("apiVersion: argoproj.io/v1alpha1\na: &a [{}]\n{}", "x,".repeat(50), (0..12).map(|i| format!("l{i}: &l{} [{}]\n", i + 1, if i == 0 { "*a,*a,*a,*a,*a,*a,*a,*a,*a,*a".to_owned() } else { format!("*l{i},").repeat(10) })).collect::<String>())),
        ];
        let mut notices = Vec::new();
        let found = read(&files, &["charts/web".to_owned()], &ns, &mut notices);
        let names: Vec<(String, String)> = found
            .iter()
            .map(|f| {
                (
                    f.object["metadata"]["name"].as_str().unwrap().to_owned(),
                    f.object["metadata"]["namespace"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("web".to_owned(), "argocd".to_owned()),
                ("apps".to_owned(), "flux".to_owned())
            ]
        );
        let files_noticed: Vec<&str> = notices.iter().map(|n| n.file.as_str()).collect();
        assert_eq!(files_noticed, ["broken.yaml", "bomb.yaml"], "{notices:?}");
        assert!(
            notices[1].message.contains("alias") || notices[1].message.contains("budget"),
            "{notices:?}"
        );
    }
}
