//! What could not be located, one entry per workload and container.

use serde::Serialize;

use super::Want;
use super::field::Field;

/// A workload or container that could not be located (or not unambiguously). `reason` says
/// why and what to do; `fields` are the values it concerns (empty when it is the whole
/// workload), and the reason names them too, so a line of text stands on its own.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub namespace: String,
    pub kind: String,
    pub workload: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
    pub reason: String,
}

impl Problem {
    /// A problem of `want`'s workload (of one container, when given).
    pub fn of(want: &Want, container: Option<&str>, fields: &[Field], reason: String) -> Problem {
        Problem {
            namespace: want.namespace.clone(),
            kind: want.kind.clone(),
            workload: want.workload.clone(),
            container: container.map(str::to_owned),
            fields: fields.to_vec(),
            reason,
        }
    }

    /// `reason` without the field names, as it was given when the problem was found.
    fn core(&self) -> &str {
        match self.reason.split_once(": ") {
            Some((head, rest)) if !self.fields.is_empty() && head == field_list(&self.fields) => {
                rest
            }
            _ => &self.reason,
        }
    }
}

fn field_list(fields: &[Field]) -> String {
    fields
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One problem per workload, container and reason, naming every field it concerns: the
/// fields of one container that fail for one reason are one line, not four.
pub fn merge_problems(problems: Vec<Problem>) -> Vec<Problem> {
    let mut out: Vec<Problem> = Vec::new();
    for p in problems {
        let core = p.core().to_owned();
        let same = out.iter_mut().find(|o| {
            o.namespace == p.namespace
                && o.kind == p.kind
                && o.workload == p.workload
                && o.container == p.container
                && o.core() == core
        });
        match same {
            Some(o) => {
                let mut fields = o.fields.clone();
                for f in &p.fields {
                    if !fields.contains(f) {
                        fields.push(*f);
                    }
                }
                fields.sort();
                let core = o.core().to_owned();
                o.fields = fields;
                o.reason = with_fields(&o.fields, &core);
            }
            None => {
                let mut p = p;
                p.fields.sort();
                p.fields.dedup();
                p.reason = with_fields(&p.fields, &core);
                out.push(p);
            }
        }
    }
    out
}

fn with_fields(fields: &[Field], core: &str) -> String {
    if fields.is_empty() {
        core.to_owned()
    } else {
        format!("{}: {core}", field_list(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(container: Option<&str>, fields: &[Field], reason: &str) -> Problem {
        Problem {
            namespace: "shop".into(),
            kind: "Deployment".into(),
            workload: "web".into(),
            container: container.map(str::to_owned),
            fields: fields.to_vec(),
            reason: reason.into(),
        }
    }

    #[test]
    fn the_fields_of_one_container_and_reason_become_one_line() {
        let merged = merge_problems(vec![
            p(Some("app"), &[Field::MemoryRequest], "ambiguous: x"),
            p(Some("app"), &[Field::CpuRequest], "ambiguous: x"),
            p(Some("envoy"), &[Field::CpuRequest], "ambiguous: x"),
            p(None, &[], "no manifest renders shop/Deployment/web"),
            p(None, &[], "no manifest renders shop/Deployment/web"),
        ]);
        assert_eq!(merged.len(), 3, "{merged:#?}");
        assert_eq!(
            merged[0].reason,
            "cpu-request, memory-request: ambiguous: x"
        );
        assert_eq!(merged[0].fields, [Field::CpuRequest, Field::MemoryRequest]);
        assert_eq!(merged[1].reason, "cpu-request: ambiguous: x");
        assert_eq!(merged[2].reason, "no manifest renders shop/Deployment/web");
        assert_eq!(
            merge_problems(merged.clone()),
            merged,
            "merging twice changes nothing"
        );
    }
}
