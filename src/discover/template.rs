//! ApplicationSet template substitution, in the two forms Argo CD knows: fasttemplate
//! (`{{path.basename}}`, the default) and Go templates (`goTemplate: true`) limited to field
//! references (`{{ .path.basename }}`). Anything else a Go template can do (functions, pipes,
//! conditionals) is refused by name rather than guessed: the result would be an Application
//! Argo CD might not generate.

use serde_json::{Map, Value};

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("parameter {name:?} in {text:?} is not set by the generator")]
    Unknown { name: String, text: String },
    #[error(
        "go template expression {expr:?} is not supported: only field references such as {{{{ .path.basename }}}} are"
    )]
    Unsupported { expr: String },
    #[error("{text:?} opens a template expression that is never closed")]
    Unclosed { text: String },
}

/// Which syntax, with the generator's parameters in that syntax's shape.
pub enum Params<'a> {
    /// Flat keys (`path.basename`, `path[0]`, `cluster`) to strings.
    Fast(&'a Map<String, Value>),
    /// A tree read through `.a.b` references.
    Go(&'a Value),
}

/// `template` with every string value rendered.
pub fn render(template: &Value, params: &Params<'_>) -> Result<Value, TemplateError> {
    Ok(match template {
        Value::String(s) => Value::String(render_text(s, params)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render(v, params))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render(v, params)?)))
                .collect::<Result<_, TemplateError>>()?,
        ),
        other => other.clone(),
    })
}

fn render_text(text: &str, params: &Params<'_>) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(TemplateError::Unclosed {
                text: text.to_owned(),
            });
        };
        out.push_str(&expand(after[..end].trim(), text, params)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn expand(expr: &str, text: &str, params: &Params<'_>) -> Result<String, TemplateError> {
    let unknown = || TemplateError::Unknown {
        name: expr.to_owned(),
        text: text.to_owned(),
    };
    match params {
        Params::Fast(map) => map.get(expr).map(scalar).ok_or_else(unknown)?,
        Params::Go(tree) => {
            let reference = expr.trim_start_matches('-').trim_end_matches('-').trim();
            let field = reference.strip_prefix('.').filter(|f| {
                !f.is_empty()
                    && f.split('.').all(|part| {
                        !part.is_empty()
                            && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    })
            });
            let Some(field) = field else {
                return Err(TemplateError::Unsupported {
                    expr: expr.to_owned(),
                });
            };
            let pointer = format!("/{}", field.replace('.', "/"));
            tree.pointer(&pointer).map(scalar).ok_or_else(unknown)?
        }
    }
    .ok_or_else(|| TemplateError::Unsupported {
        expr: expr.to_owned(),
    })
}

/// A parameter's text; maps and lists have none.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fasttemplate_and_go_field_references_render() {
        let flat = json!({"path": "apps/web", "path.basename": "web", "path[0]": "apps"});
        let fast = Params::Fast(flat.as_object().unwrap());
        let t = json!({"metadata": {"name": "{{path.basename}}-{{ path[0] }}"}, "spec": {"n": 3, "p": ["{{path}}"]}});
        assert_eq!(
            render(&t, &fast).unwrap(),
            json!({"metadata": {"name": "web-apps"}, "spec": {"n": 3, "p": ["apps/web"]}})
        );
        let tree = json!({"path": {"path": "apps/web", "basename": "web"}, "cluster": "prod"});
        let go = Params::Go(&tree);
        assert_eq!(
            render_text("{{ .path.basename }}-{{.cluster}}", &go).unwrap(),
            "web-prod"
        );
        assert_eq!(render_text("{{- .cluster -}}", &go).unwrap(), "prod");
    }

    #[test]
    fn unknown_parameters_and_go_functions_are_refused() {
        let flat = json!({"path": "apps/web"});
        let fast = Params::Fast(flat.as_object().unwrap());
        assert!(matches!(
            render_text("{{cluster}}", &fast),
            Err(TemplateError::Unknown { .. })
        ));
        assert!(matches!(
            render_text("{{path", &fast),
            Err(TemplateError::Unclosed { .. })
        ));
        let tree = json!({"path": {"basename": "web", "segments": ["apps", "web"]}});
        let go = Params::Go(&tree);
        for bad in [
            "{{ .path.basename | upper }}",
            "{{ index .path.segments 0 }}",
            "{{ if .x }}",
            "{{ .path.segments }}",
        ] {
            assert!(
                matches!(
                    render_text(bad, &go),
                    Err(TemplateError::Unsupported { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            render_text("{{ .nothing }}", &go),
            Err(TemplateError::Unknown { .. })
        ));
    }
}
