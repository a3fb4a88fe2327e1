//! The value a tree stands for, independent of layout, and the check that an edited text
//! stands for exactly the values we meant to write.

use super::YamlError;
use super::apply::Seg;
use super::tree::{Kind, Node, Stream, parse};

/// A YAML value without presentation. Scalars keep whether they were plain, because `1` and
/// `"1"` differ in meaning; quoting style beyond that is presentation.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(String, bool),
    Map(Vec<(Value, Value)>),
    Seq(Vec<Value>),
    Alias(usize),
}

impl Value {
    pub fn of(node: &Node) -> Value {
        match &node.kind {
            Kind::Scalar { value, style } => {
                Value::Scalar(value.clone(), *style == granit_parser::ScalarStyle::Plain)
            }
            Kind::Map { entries, .. } => Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| (Value::of(k), Value::of(v)))
                    .collect(),
            ),
            Kind::Seq { items, .. } => Value::Seq(items.iter().map(Value::of).collect()),
            Kind::Alias(id) => Value::Alias(*id),
        }
    }

    pub fn of_stream(stream: &Stream) -> Vec<Value> {
        stream.docs.iter().map(|d| Value::of(&d.root)).collect()
    }

    fn is_null(&self) -> bool {
        matches!(self, Value::Scalar(s, true) if s.is_empty() || s == "~" || s.eq_ignore_ascii_case("null"))
    }

    /// Sets the scalar at `path`, creating mappings and appending sequence items on the way,
    /// the way the editor's insertions do.
    pub fn set(&mut self, path: &[Seg], leaf: Value) -> Result<(), YamlError> {
        let Some((seg, rest)) = path.split_first() else {
            *self = leaf;
            return Ok(());
        };
        if self.is_null() {
            *self = match seg {
                Seg::Key(_) => Value::Map(Vec::new()),
                Seg::Index(_) => Value::Seq(Vec::new()),
            };
        }
        let child = match (self, seg) {
            (Value::Map(entries), Seg::Key(key)) => {
                let at = entries
                    .iter()
                    .position(|(k, _)| matches!(k, Value::Scalar(s, _) if s == key));
                let at = match at {
                    Some(at) => at,
                    None => {
                        entries.push((
                            Value::Scalar(key.clone(), true),
                            Value::Scalar(String::new(), true),
                        ));
                        entries.len() - 1
                    }
                };
                &mut entries[at].1
            }
            (Value::Seq(items), Seg::Index(i)) => {
                if *i == items.len() {
                    items.push(Value::Scalar(String::new(), true));
                }
                items
                    .get_mut(*i)
                    .ok_or(YamlError::Verify(format!("index {i} out of range")))?
            }
            _ => {
                return Err(YamlError::Verify(
                    "path does not match the document's shape".into(),
                ));
            }
        };
        child.set(rest, leaf)
    }
}

/// Re-parses `text` and compares it with `expected`, naming the first document that differs.
pub fn check(text: &str, expected: &[Value]) -> Result<(), YamlError> {
    let stream = parse(text).map_err(|e| YamlError::Reparse(Box::new(e)))?;
    let actual = Value::of_stream(&stream);
    if actual.len() != expected.len() {
        return Err(YamlError::Verify(format!(
            "the edited text has {} documents, expected {}",
            actual.len(),
            expected.len()
        )));
    }
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        if a != e {
            return Err(YamlError::Verify(format!(
                "document {} does not hold the intended values",
                i + 1
            )));
        }
    }
    Ok(())
}
