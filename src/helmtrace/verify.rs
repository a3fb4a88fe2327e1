//! The check after an edit: the release renders exactly as before except the intended
//! container fields, which render as the values written.

use super::rendered::{Rendered, get};
use crate::quantity;
use crate::yamledit::Seg;
use crate::yamledit::verify::Value;

/// One field meant to change: document, path in it, and the quantity it must render as.
pub struct Intended<'a> {
    pub doc: usize,
    pub path: Vec<Seg>,
    pub value: &'a str,
    pub name: String,
}

/// `Err` says what else changed, or which intended field did not render as written.
pub fn only_intended(
    before: &Rendered,
    after: &Rendered,
    intended: &[Intended<'_>],
) -> Result<(), String> {
    if before.docs.len() != after.docs.len() {
        return Err(format!(
            "the release renders {} documents instead of {}",
            after.docs.len(),
            before.docs.len()
        ));
    }
    let mut b = before.docs.clone();
    let mut a = after.docs.clone();
    let mark = Value::Scalar("\u{0}attune-intended".into(), false);
    for i in intended {
        let got = a.get(i.doc).and_then(|d| get(d, &i.path));
        let ok = match got {
            Some(Value::Scalar(s, _)) => quantity::semantically_equal(s, i.value).unwrap_or(false),
            _ => false,
        };
        if !ok {
            let got = match got {
                Some(Value::Scalar(s, _)) => s.clone(),
                Some(_) => "a non-scalar".into(),
                None => "nothing".into(),
            };
            return Err(format!(
                "{} renders as {got} instead of {}",
                i.name, i.value
            ));
        }
        for docs in [&mut a, &mut b] {
            if let Some(d) = docs.get_mut(i.doc) {
                d.set(&i.path, mark.clone()).map_err(|e| e.to_string())?;
            }
        }
    }
    match a.iter().zip(&b).position(|(x, y)| x != y) {
        None => Ok(()),
        Some(doc) => {
            let at = difference(&b[doc], &a[doc])
                .map(|p| format!(" at {p}"))
                .unwrap_or_default();
            Err(format!("the edit also changes {}{at}", after.describe(doc)))
        }
    }
}

/// The dotted path of the first place where two values differ (`None`: at the root).
fn difference(before: &Value, after: &Value) -> Option<String> {
    let inner = match (before, after) {
        (Value::Map(b), Value::Map(a)) => a.iter().find_map(|(k, v)| {
            let key = match k {
                Value::Scalar(s, _) => s.clone(),
                _ => return None,
            };
            let old = b.iter().find(|(bk, _)| bk == k).map(|(_, bv)| bv);
            match old {
                Some(old) if old == v => None,
                Some(old) => Some(join(&key, difference(old, v))),
                None => Some(key),
            }
        }),
        (Value::Seq(b), Value::Seq(a)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find(|(_, (x, y))| x != y)
            .map(|(i, (x, y))| join(&i.to_string(), difference(y, x))),
        _ => None,
    };
    inner.or_else(|| match (before, after) {
        (Value::Map(b), Value::Map(a)) => b
            .iter()
            .find(|(k, _)| !a.iter().any(|(ak, _)| ak == k))
            .and_then(|(k, _)| match k {
                Value::Scalar(s, _) => Some(s.clone()),
                _ => None,
            }),
        _ => None,
    })
}

fn join(head: &str, rest: Option<String>) -> String {
    match rest {
        Some(rest) => format!("{head}.{rest}"),
        None => head.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::Field;

    fn r(text: &str) -> Rendered {
        Rendered::parse(text, "ns").unwrap()
    }

    const BASE: &str = "kind: Deployment\nmetadata:\n  name: a\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          resources:\n            requests:\n              cpu: 100m\n---\nkind: Deployment\nmetadata:\n  name: b\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          resources:\n            requests:\n              cpu: 100m\n";

    fn intended(before: &Rendered, value: &str) -> Vec<Intended<'static>> {
        let w = before.workload("ns", "Deployment", "a").unwrap();
        let path = Rendered::field_path(w, "app", Field::CpuRequest).unwrap();
        vec![Intended {
            doc: w.doc,
            path,
            value: if value == "1" { "1" } else { "250m" },
            name: "app cpu-request".into(),
        }]
    }

    #[test]
    fn only_the_intended_field_changing_passes() {
        let before = r(BASE);
        let after = r(&BASE.replacen("100m", "0.25", 1));
        assert_eq!(
            only_intended(&before, &after, &intended(&before, "250m")),
            Ok(())
        );
    }

    #[test]
    fn another_workload_changing_too_is_named() {
        let before = r(BASE);
        let after = r(&BASE.replace("100m", "250m"));
        let err = only_intended(&before, &after, &intended(&before, "250m")).unwrap_err();
        assert_eq!(
            err,
            "the edit also changes Deployment/b at spec.template.spec.containers.0.resources.requests.cpu"
        );
    }

    #[test]
    fn a_field_rendering_another_value_is_named() {
        let before = r(BASE);
        let after = r(&BASE.replacen("100m", "300m", 1));
        let err = only_intended(&before, &after, &intended(&before, "250m")).unwrap_err();
        assert_eq!(err, "app cpu-request renders as 300m instead of 250m");
        let fewer = r(BASE.split("---").next().unwrap());
        assert!(
            only_intended(&before, &fewer, &[])
                .unwrap_err()
                .contains("1 documents instead of 2")
        );
    }
}
