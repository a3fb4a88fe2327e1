//! A chart kept as a directory in Git, as the owner that renders it states it: which chart,
//! which values files in which order, which inline values win over them, and the release name
//! and namespace Helm renders with. Values tracing (which key feeds which container field) reads
//! this; the walk only reports it.

use serde::Serialize;
use serde_json::Value;

use super::known::{Lookup, ObjectKind, ObjectRef, Stop, items, text};
use super::source::clean_path;

/// A chart rendered from a directory of a Git repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HelmChart {
    /// The repository holding the chart, as its owner states it (for a HelmRelease, the
    /// chart's GitRepository, which need not be the one holding the HelmRelease).
    pub repo_url: String,
    /// The chart directory from the repository root, cleaned (`.` is the root).
    pub chart_path: String,
    /// Values files from the repository root, in the order Helm merges them: the last one wins.
    pub values_files: Vec<String>,
    /// The values files replace the chart's own `values.yaml` instead of following it (a Flux
    /// HelmRelease's `valuesFiles`, which its source-controller packages as the chart's values):
    /// the chart's defaults are not rendered unless a values file is that file.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_chart_defaults: bool,
    /// Inline values in the owner, which win over every file: the field that holds them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inline_values: Option<String>,
    /// Those inline values themselves, for rendering the chart as the tool does.
    #[serde(skip)]
    pub inline: Option<InlineValues>,
    /// Argo CD `helm.parameters`, as Argo CD passes them after the inline values (values can be
    /// credentials: never serialized).
    #[serde(skip)]
    pub parameters: Vec<super::helm_params::HelmParameter>,
    pub release: String,
    pub namespace: String,
}

/// An owner's inline Helm values as YAML text (JSON for an object, which YAML reads). Values
/// can carry credentials, so they are never serialized, and `Debug` shows only their size.
#[derive(Clone, PartialEq, Eq)]
pub struct InlineValues(String);

impl InlineValues {
    /// The values of `value`: a YAML string as written (Argo CD `helm.values`), an object as
    /// JSON; `None` for null or an empty string.
    pub(crate) fn of(value: &Value) -> Option<InlineValues> {
        match value {
            Value::Null => None,
            Value::String(s) if s.trim().is_empty() => None,
            Value::String(s) => Some(InlineValues(s.clone())),
            other => Some(InlineValues(other.to_string())),
        }
    }

    pub fn yaml(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for InlineValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InlineValues({} bytes)", self.0.len())
    }
}

/// The chart an Argo CD source renders, when the source is Helm's (`helm:` set, or the caller
/// knows the path holds a `Chart.yaml`). `path` is the source's cleaned path.
pub(crate) fn argo_chart(
    app: &Value,
    source: &Value,
    path: &str,
    hints: &mut Vec<String>,
) -> HelmChart {
    let mut values_files = vec![join_relative(path, "values.yaml").unwrap_or_default()];
    for file in items(source, "/helm/valueFiles")
        .iter()
        .filter_map(Value::as_str)
    {
        if file.starts_with('$') || file.contains("://") {
            hints.push(format!(
                "values file {file} comes from another source or a url; it is not followed"
            ));
            continue;
        }
        match join_relative(path, file) {
            Some(f) if !values_files.contains(&f) => values_files.push(f),
            Some(_) => {}
            None => hints.push(format!(
                "values file {file} leaves the repository; it is not followed"
            )),
        }
    }
    // Argo CD reads valuesObject instead of values when both are set.
    let (inline_values, inline) = match source.pointer("/helm/valuesObject") {
        Some(object) => (
            Some("spec.source.helm.valuesObject".to_owned()),
            InlineValues::of(object),
        ),
        None => (
            text(source, "/helm/values").map(|_| "spec.source.helm.values".to_owned()),
            source.pointer("/helm/values").and_then(InlineValues::of),
        ),
    };
    HelmChart {
        repo_url: text(source, "/repoURL").unwrap_or_default().to_owned(),
        chart_path: path.to_owned(),
        values_files,
        no_chart_defaults: false,
        inline_values,
        inline,
        parameters: super::helm_params::argo_parameters(source),
        release: text(source, "/helm/releaseName")
            .or_else(|| text(app, "/metadata/name"))
            .unwrap_or_default()
            .to_owned(),
        namespace: text(app, "/spec/destination/namespace")
            .unwrap_or("default")
            .to_owned(),
    }
}

/// The chart of a HelmRelease whose `spec.chart.spec.chart` is a path in a GitRepository;
/// `None` for a chart from elsewhere (the HelmRelease's chart hint already says where). The
/// GitRepository is asked for (so the controller fetches it); its absence is a hint, not a
/// failure: the HelmRelease's own values are still located.
pub(crate) fn flux_chart(
    key: &ObjectRef,
    hr: &Value,
    lookup: &Lookup<'_>,
    hints: &mut Vec<String>,
) -> Result<Option<HelmChart>, Stop> {
    let Some(chart) = text(hr, "/spec/chart/spec/chart") else {
        return Ok(None);
    };
    let kind = text(hr, "/spec/chart/spec/sourceRef/kind").unwrap_or_default();
    let Some(name) =
        text(hr, "/spec/chart/spec/sourceRef/name").filter(|_| kind == "GitRepository")
    else {
        return Ok(None);
    };
    let namespace = text(hr, "/spec/chart/spec/sourceRef/namespace").unwrap_or(&key.namespace);
    let repo_key = ObjectRef::new(ObjectKind::GitRepository, namespace, name);
    let Some(repo) = lookup.get(&repo_key)? else {
        hints.push(format!(
            "the chart's source {repo_key} was not found, so the chart's repository is unknown"
        ));
        return Ok(None);
    };
    let chart_path = clean_path(chart);
    let mut values_files: Vec<String> = items(hr, "/spec/chart/spec/valuesFiles")
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|f| join_relative(".", f))
        .collect();
    // Flux replaces the chart's values.yaml by the merge of valuesFiles when they are given.
    let no_chart_defaults = !values_files.is_empty();
    if values_files.is_empty() {
        values_files.push(join_relative(&chart_path, "values.yaml").unwrap_or_default());
    }
    let target = text(hr, "/spec/targetNamespace");
    Ok(Some(HelmChart {
        repo_url: text(repo, "/spec/url").unwrap_or_default().to_owned(),
        chart_path,
        values_files,
        no_chart_defaults,
        inline_values: hr
            .pointer("/spec/values")
            .filter(|v| !v.is_null())
            .map(|_| "spec.values".to_owned()),
        inline: hr.pointer("/spec/values").and_then(InlineValues::of),
        parameters: Vec::new(),
        release: text(hr, "/spec/releaseName").map_or_else(
            || match target {
                Some(t) => format!("{t}-{}", key.name),
                None => key.name.clone(),
            },
            str::to_owned,
        ),
        namespace: target.unwrap_or(&key.namespace).to_owned(),
    }))
}

/// Why the chart of HelmRelease `key` is not traced through its values, when it is not: a chart
/// that is no directory of a GitRepository has no files here to render; post-renderers patch
/// the render after the values (`propose --discover` refuses them too); and values merged from
/// `valuesFrom` objects (which attune does not read) win over every values file, so an edit
/// there could have no effect. Markers still work: the walk only reports this instead of
/// "no manifest renders".
pub(crate) fn flux_refusal(key: &ObjectRef, hr: &Value) -> Option<String> {
    let markers = "mark each value in the HelmRelease's spec.values or in a values file with a \
                   `$attune` comment to have it edited";
    let reference = |r: &Value| {
        let kind = text(r, "/kind").unwrap_or("?");
        let namespace = text(r, "/namespace").unwrap_or(&key.namespace);
        format!("{kind} {namespace}/{}", text(r, "/name").unwrap_or("?"))
    };
    if let Some(chart) = text(hr, "/spec/chart/spec/chart") {
        let from = hr.pointer("/spec/chart/spec/sourceRef");
        if from.and_then(|r| text(r, "/kind")) != Some("GitRepository") {
            let from = from
                .map(reference)
                .unwrap_or_else(|| "no sourceRef".to_owned());
            return Some(format!(
                "{key} renders chart {chart} from {from}, not from a directory of a \
                 GitRepository: attune traces only charts kept in the repository; {markers}"
            ));
        }
        let mut leaving = std::iter::once(chart).chain(
            items(hr, "/spec/chart/spec/valuesFiles")
                .iter()
                .filter_map(Value::as_str),
        );
        if let Some(path) = leaving.find(|p| join_relative(".", p).is_none()) {
            return Some(format!(
                "{key} names {path} in spec.chart.spec, which leaves its GitRepository's root, so \
                 the chart or values Flux renders are unknown"
            ));
        }
    } else if let Some(from) = hr.pointer("/spec/chartRef") {
        return Some(format!(
            "{key} renders the chart of {} (spec.chartRef), not a directory of a \
             GitRepository: attune traces only charts kept in the repository; {markers}",
            reference(from)
        ));
    }
    let renderers = items(hr, "/spec/postRenderers").len();
    if renderers > 0 {
        return Some(format!(
            "{key} patches what the chart renders with {renderers} post-renderer(s) \
             (spec.postRenderers), which a trace by rendering does not apply, so it cannot tell \
             which values key ends up in a container; {markers}"
        ));
    }
    let from: Vec<String> = items(hr, "/spec/valuesFrom")
        .iter()
        .map(|v| {
            format!(
                "{}/{}",
                text(v, "/kind").unwrap_or("?"),
                text(v, "/name").unwrap_or("?")
            )
        })
        .collect();
    (!from.is_empty()).then(|| {
        format!(
            "{key} merges values from {} (spec.valuesFrom) over its values files, and attune \
             does not read those objects, so an edited values file might not take effect: move \
             those values into a values file or spec.values, or {markers}",
            from.join(", ")
        )
    })
}

/// `dir/file` resolved the way a tool joins a relative path, `None` when `..` leaves the root.
pub(crate) fn join_relative(dir: &str, file: &str) -> Option<String> {
    let mut parts: Vec<&str> = if dir == "." {
        Vec::new()
    } else {
        dir.split('/').collect()
    };
    for part in file.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locate::Known;
    use serde_json::json;

    #[test]
    fn relative_values_files_join_like_the_tools() {
        assert_eq!(
            join_relative("charts/web", "values-prod.yaml").as_deref(),
            Some("charts/web/values-prod.yaml")
        );
        assert_eq!(
            join_relative("charts/web", "../../env/prod.yaml").as_deref(),
            Some("env/prod.yaml")
        );
        assert_eq!(join_relative(".", "./a.yaml").as_deref(), Some("a.yaml"));
        assert_eq!(join_relative("a", "../../x.yaml"), None);
    }

    #[test]
    fn argo_chart_lists_defaults_then_value_files() {
        let app =
            json!({"metadata": {"name": "web"}, "spec": {"destination": {"namespace": "prod"}}});
        let source = json!({"repoURL": "https://g/x.git", "path": "charts/web",
            "helm": {"valueFiles": ["values.yaml", "values-prod.yaml", "$vals/x.yaml", "../../../up.yaml"],
                     "releaseName": "web-prod", "valuesObject": {"a": 1}}});
        let mut hints = Vec::new();
        let chart = argo_chart(&app, &source, "charts/web", &mut hints);
        assert_eq!(
            chart.values_files,
            ["charts/web/values.yaml", "charts/web/values-prod.yaml"]
        );
        assert!(
            !chart.no_chart_defaults,
            "argo cd renders the chart's defaults"
        );
        assert_eq!(
            (chart.release.as_str(), chart.namespace.as_str()),
            ("web-prod", "prod")
        );
        assert_eq!(
            chart.inline_values.as_deref(),
            Some("spec.source.helm.valuesObject")
        );
        assert_eq!(
            chart.inline.as_ref().map(InlineValues::yaml),
            Some(r#"{"a":1}"#)
        );
        assert_eq!(format!("{:?}", chart.inline), "Some(InlineValues(7 bytes))");
        let text_values = json!({"path": "c", "helm": {"values": "a: 2\n"}});
        let chart = argo_chart(&app, &text_values, "c", &mut hints);
        assert_eq!(
            chart.inline.as_ref().map(InlineValues::yaml),
            Some("a: 2\n")
        );
        assert_eq!(hints.len(), 2, "{hints:?}");
    }

    #[test]
    fn flux_chart_from_a_git_repository_names_release_and_values() {
        let hr = json!({"metadata": {"name": "web", "namespace": "flux-system"},
            "spec": {"targetNamespace": "prod", "values": {"replicas": 1},
                     "chart": {"spec": {"chart": "./charts/web", "valuesFiles": ["charts/web/values.yaml", "env/prod.yaml"],
                                        "sourceRef": {"kind": "GitRepository", "name": "repo"}}}}});
        let key = ObjectRef::new(ObjectKind::HelmRelease, "flux-system", "web");
        let known = Known::from_objects([
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "repo", "namespace": "flux-system"}, "spec": {"url": "https://g/x.git"}}),
        ]);
        let lookup = Lookup {
            known: &known,
            open: false,
        };
        let mut hints = Vec::new();
        let chart = flux_chart(&key, &hr, &lookup, &mut hints)
            .ok()
            .unwrap()
            .unwrap();
        assert_eq!(chart.chart_path, "charts/web");
        assert_eq!(
            chart.values_files,
            ["charts/web/values.yaml", "env/prod.yaml"]
        );
        assert!(
            chart.no_chart_defaults,
            "valuesFiles replace the chart's values"
        );
        let mut plain = hr.clone();
        plain["spec"]["chart"]["spec"]
            .as_object_mut()
            .unwrap()
            .remove("valuesFiles");
        let plain = flux_chart(&key, &plain, &lookup, &mut hints)
            .ok()
            .unwrap()
            .unwrap();
        assert_eq!(plain.values_files, ["charts/web/values.yaml"]);
        assert!(!plain.no_chart_defaults);
        assert_eq!(
            (chart.release.as_str(), chart.namespace.as_str()),
            ("prod-web", "prod")
        );
        assert_eq!(chart.inline_values.as_deref(), Some("spec.values"));
        assert_eq!(
            chart.inline.as_ref().map(InlineValues::yaml),
            Some(r#"{"replicas":1}"#)
        );
        let empty = Known::new();
        assert!(hints.is_empty());
        let missing = flux_chart(
            &key,
            &hr,
            &Lookup {
                known: &empty,
                open: false,
            },
            &mut hints,
        )
        .ok()
        .unwrap();
        assert!(
            missing.is_none() && hints[0].contains("was not found"),
            "{hints:?}"
        );
        let helm_repo = json!({"spec": {"chart": {"spec": {"chart": "web", "sourceRef": {"kind": "HelmRepository", "name": "r"}}}}});
        assert!(
            flux_chart(&key, &helm_repo, &lookup, &mut hints)
                .ok()
                .unwrap()
                .is_none()
        );
        assert_eq!(hints.len(), 1);
    }

    #[test]
    fn flux_refusal_names_charts_not_in_git_and_values_from_objects() {
        let key = ObjectRef::new(ObjectKind::HelmRelease, "prod", "web");
        let git = json!({"spec": {"chart": {"spec": {"chart": "./charts/web",
            "sourceRef": {"kind": "GitRepository", "name": "repo"}}}}});
        assert_eq!(flux_refusal(&key, &git), None);
        let helm_repo = json!({"spec": {"chart": {"spec": {"chart": "web",
            "sourceRef": {"kind": "HelmRepository", "name": "charts", "namespace": "flux-system"}}},
            "valuesFrom": [{"kind": "Secret", "name": "s"}]}});
        let why = flux_refusal(&key, &helm_repo).unwrap();
        assert!(
            why.starts_with("flux helmrelease prod/web renders chart web from HelmRepository flux-system/charts, not from a directory of a GitRepository"),
            "{why}"
        );
        let chart_ref = json!({"spec": {"chartRef": {"kind": "OCIRepository", "name": "web"}}});
        let why = flux_refusal(&key, &chart_ref).unwrap();
        assert!(
            why.contains("renders the chart of OCIRepository prod/web (spec.chartRef)"),
            "{why}"
        );
        let mut outside = git.clone();
        outside["spec"]["chart"]["spec"]["valuesFiles"] =
            json!(["charts/web/values.yaml", "../prod.yaml"]);
        let why = flux_refusal(&key, &outside).unwrap();
        assert!(
            why.contains(
                "names ../prod.yaml in spec.chart.spec, which leaves its GitRepository's root"
            ),
            "{why}"
        );
        let mut patched = git.clone();
        patched["spec"]["postRenderers"] = json!([{"kustomize": {"patches": []}}]);
        let why = flux_refusal(&key, &patched).unwrap();
        assert!(
            why.contains("with 1 post-renderer(s) (spec.postRenderers)"),
            "{why}"
        );
        let mut from = git.clone();
        from["spec"]["valuesFrom"] =
            json!([{"kind": "ConfigMap", "name": "a"}, {"kind": "Secret", "name": "b"}]);
        let why = flux_refusal(&key, &from).unwrap();
        assert!(
            why.contains(
                "merges values from ConfigMap/a, Secret/b (spec.valuesFrom) over its values files"
            ),
            "{why}"
        );
    }
}
