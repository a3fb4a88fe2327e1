//! Argo CD `helm.parameters`, as Argo CD hands them to `helm template`: each `{name, value}`
//! becomes `--set name=value`, or `--set-string name=value` with `forceString: true`, after the
//! values files and the inline values. Argo CD keeps them in two maps keyed by name (the last
//! entry of a name wins, and every `--set` comes before every `--set-string`, which is also the
//! order Helm applies them in), and escapes each comma of a value that is not a `{…}` list so
//! Helm does not split it.
//!
//! What cannot be reproduced from the Application alone is a refusal: `helm.fileParameters`
//! read files at render time, and a value with a `$` has Argo CD's build environment variables
//! substituted into it.

use std::collections::BTreeMap;

use serde_json::Value;

use super::known::{ObjectRef, items, text};

/// One parameter as Argo CD passes it. The value can be a credential: `Debug` shows the name.
#[derive(Clone, PartialEq, Eq)]
pub struct HelmParameter {
    pub name: String,
    /// `name=value`, the value escaped as Argo CD escapes it.
    pub assignment: String,
    /// `forceString: true`: passed with `--set-string`.
    pub force_string: bool,
}

impl std::fmt::Debug for HelmParameter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let flag = if self.force_string {
            "--set-string"
        } else {
            "--set"
        };
        write!(f, "HelmParameter({flag} {})", self.name)
    }
}

/// The source's `helm.parameters` in the order Helm applies them: plain ones, then forced
/// strings, each by name.
pub(crate) fn argo_parameters(source: &Value) -> Vec<HelmParameter> {
    let mut plain = BTreeMap::new();
    let mut strings = BTreeMap::new();
    for p in items(source, "/helm/parameters") {
        let Some(name) = text(p, "/name") else {
            continue;
        };
        let value = text(p, "/value").unwrap_or_default();
        let forced = p.get("forceString").and_then(Value::as_bool) == Some(true);
        let map = if forced { &mut strings } else { &mut plain };
        map.insert(name.to_owned(), escaped(value));
    }
    let param = |force_string: bool| {
        move |(name, value): (String, String)| HelmParameter {
            assignment: format!("{name}={value}"),
            name,
            force_string,
        }
    };
    plain
        .into_iter()
        .map(param(false))
        .chain(strings.into_iter().map(param(true)))
        .collect()
}

/// A value as Argo CD writes it after `=`: a `{…}` list as given, otherwise each comma not
/// already after a backslash escaped.
fn escaped(value: &str) -> String {
    if value.starts_with('{') && value.ends_with('}') {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    let mut previous = None;
    for c in value.chars() {
        if c == ',' && previous != Some('\\') {
            out.push('\\');
        }
        out.push(c);
        previous = Some(c);
    }
    out
}

/// Why the chart of Application `owner` cannot be rendered as Argo CD renders it from the
/// Application alone, when it cannot.
pub(crate) fn argo_refusal(owner: &ObjectRef, source: &Value) -> Option<String> {
    let files: Vec<&str> = items(source, "/helm/fileParameters")
        .iter()
        .filter_map(|p| text(p, "/name"))
        .collect();
    if !files.is_empty() {
        return Some(format!(
            "{owner} sets {} from files read at render time (spec.source.helm.fileParameters), \
             which attune does not read, so the chart cannot be rendered as argo cd renders it: \
             move those values into a values file or helm.parameters",
            files.join(", ")
        ));
    }
    let substituted: Vec<&str> = items(source, "/helm/parameters")
        .iter()
        .filter(|p| text(p, "/value").is_some_and(|v| v.contains('$')))
        .filter_map(|p| text(p, "/name"))
        .collect();
    (!substituted.is_empty()).then(|| {
        format!(
            "the value of {owner}'s helm parameter(s) {} holds a $, where argo cd substitutes \
             its build environment variables, so the chart cannot be rendered as argo cd renders \
             it: write the value without $ or move it into a values file",
            substituted.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locate::ObjectKind;
    use serde_json::json;

    #[test]
    fn parameters_are_plain_then_forced_strings_the_last_of_a_name_winning() {
        let source = json!({"helm": {"parameters": [
            {"name": "tag", "value": "1.0", "forceString": true},
            {"name": "replicas", "value": "2"},
            {"name": "a.list", "value": "{x,y}"},
            {"name": "replicas", "value": "3"},
            {"name": "hosts", "value": "a,b\\,c"},
            {"name": "empty"},
            {"value": "no name"}
        ]}});
        let got: Vec<(String, bool)> = argo_parameters(&source)
            .into_iter()
            .map(|p| (p.assignment, p.force_string))
            .collect();
        assert_eq!(
            got,
            [
                ("a.list={x,y}".to_owned(), false),
                ("empty=".to_owned(), false),
                ("hosts=a\\,b\\,c".to_owned(), false),
                ("replicas=3".to_owned(), false),
                ("tag=1.0".to_owned(), true),
            ]
        );
        assert!(argo_parameters(&json!({"helm": {}})).is_empty());
    }

    #[test]
    fn debug_shows_the_name_never_the_value() {
        let source = json!({"helm": {"parameters": [{"name": "db.password", "value": "hunter2"}]}});
        let shown = format!("{:?}", argo_parameters(&source));
        assert_eq!(shown, "[HelmParameter(--set db.password)]");
    }

    #[test]
    fn file_parameters_and_substituted_values_are_refused_by_name() {
        let owner = ObjectRef::new(ObjectKind::Application, "argocd", "web");
        let files = json!({"helm": {"fileParameters": [{"name": "config", "path": "c.json"}]}});
        let why = argo_refusal(&owner, &files).unwrap();
        assert!(
            why.starts_with("argo cd application argocd/web sets config from files read at render time (spec.source.helm.fileParameters)"),
            "{why}"
        );
        let env = json!({"helm": {"parameters": [{"name": "app", "value": "$ARGOCD_APP_NAME"},
            {"name": "ok", "value": "1"}]}});
        let why = argo_refusal(&owner, &env).unwrap();
        assert!(why.contains("helm parameter(s) app holds a $"), "{why}");
        let fine = json!({"helm": {"parameters": [{"name": "ok", "value": "1,2"}]}});
        assert_eq!(argo_refusal(&owner, &fine), None);
    }
}
