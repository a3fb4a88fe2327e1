//! An oracle outside the editor: serde-saphyr reads the text before and after an edit into
//! plain values (with its own typing: YAML 1.1 booleans, numbers, nulls), and everything
//! except the assigned paths must read the same. Each assigned value must read as that string,
//! or as the same non-string type the old value had (a number replaced by a number).

use attune::yamledit::Seg;
use serde_json::Value;

/// Every document of `text` as serde-saphyr reads it; `None` when it cannot (a mapping key
/// that is no string, a tag it rejects): such inputs are left to the editor's own checks.
pub fn read(text: &str) -> Option<Vec<Value>> {
    serde_saphyr::from_multiple::<Value>(text).ok()
}

/// Stands for an assigned value once it has been checked.
fn placeholder() -> Value {
    Value::String("\u{0}assigned\u{0}".into())
}

fn get<'a>(mut v: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    for seg in path {
        v = match (v, seg) {
            (Value::Object(m), Seg::Key(k)) => m.get(k)?,
            (Value::Array(a), Seg::Index(i)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// Sets `path` to `leaf` the way the editor inserts: nulls become mappings or sequences, a
/// missing key is added, an index one past the end appends. `false` when the shape forbids it.
fn put(v: &mut Value, path: &[Seg], leaf: Value) -> bool {
    let Some((seg, rest)) = path.split_first() else {
        *v = leaf;
        return true;
    };
    if v.is_null() {
        *v = match seg {
            Seg::Key(_) => Value::Object(Default::default()),
            Seg::Index(_) => Value::Array(Vec::new()),
        };
    }
    let child = match (v, seg) {
        (Value::Object(m), Seg::Key(k)) => m.entry(k.clone()).or_insert(Value::Null),
        (Value::Array(a), Seg::Index(i)) => {
            if *i == a.len() {
                a.push(Value::Null);
            }
            match a.get_mut(*i) {
                Some(c) => c,
                None => return false,
            }
        }
        _ => return false,
    };
    put(child, rest, leaf)
}

fn same_type(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// One assignment of `value` at `path` in document `doc`.
pub struct Assigned<'a> {
    pub doc: usize,
    pub path: &'a [Seg],
    pub value: &'a str,
}

/// Checks that `after` is `before` with exactly the assignments made; panics with the texts
/// otherwise. `before`/`after` are the texts, read here.
pub fn check(before_text: &str, after_text: &str, assigned: &[Assigned]) {
    let Some(mut before) = read(before_text) else {
        return;
    };
    let mut after = read(after_text).unwrap_or_else(|| {
        panic!("the oracle reads the input but not the output\ninput {before_text:?}\noutput {after_text:?}")
    });
    for a in assigned {
        // An assignment into an empty text creates its document.
        if a.doc == before.len() {
            before.push(Value::Null);
        }
        let old = before.get(a.doc).and_then(|d| get(d, a.path)).cloned();
        let new = after
            .get(a.doc)
            .and_then(|d| get(d, a.path))
            .cloned()
            .unwrap_or_else(|| {
                panic!(
                    "{:?} missing from the output\noutput {after_text:?}",
                    a.path
                )
            });
        let as_text = new.as_str() == Some(a.value);
        let kept_type = old
            .as_ref()
            .is_some_and(|o| !o.is_string() && same_type(o, &new))
            && read(a.value)
                .and_then(|mut v| v.pop())
                .is_some_and(|v| v == new);
        assert!(
            as_text || kept_type,
            "{:?} reads as {new:?}, not the string {:?} (it was {old:?})\ninput {before_text:?}\noutput {after_text:?}",
            a.path,
            a.value
        );
        let fits = before
            .get_mut(a.doc)
            .is_some_and(|d| put(d, a.path, placeholder()))
            && after
                .get_mut(a.doc)
                .is_some_and(|d| put(d, a.path, placeholder()));
        assert!(
            fits,
            "{:?} does not fit the document's shape, yet the edit succeeded\ninput {before_text:?}",
            a.path
        );
    }
    assert!(
        before == after,
        "a value no assignment names reads differently\ninput {before_text:?}\noutput {after_text:?}"
    );
}

/// Replaces the value at `path` of document `doc` with the placeholder in both readings and
/// compares the rest (for the text around an inline patch).
#[allow(dead_code)] // each target includes this module; only inline_patch needs this one
pub fn same_except(before_text: &str, after_text: &str, doc: usize, path: &[Seg]) {
    let (Some(mut before), Some(mut after)) = (read(before_text), read(after_text)) else {
        return;
    };
    for v in [&mut before, &mut after] {
        if let Some(d) = v.get_mut(doc) {
            put(d, path, placeholder());
        }
    }
    assert!(
        before == after,
        "a value outside the inline patch reads differently\ninput {before_text:?}\noutput {after_text:?}"
    );
}
