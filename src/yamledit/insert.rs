//! Rendering new keys and items in the style of the surrounding text.

use super::scalar;
use super::style::Style;

/// A subtree that does not exist in the file yet.
#[derive(Debug, Clone, PartialEq)]
pub enum Fresh {
    Scalar(String),
    Map(Vec<(String, Fresh)>),
    Seq(Vec<Fresh>),
}

impl Fresh {
    /// Adds `value` at `path` below this subtree, creating what is missing. `Index` segments
    /// count from the first new item.
    pub fn add(&mut self, path: &[super::Seg], value: &str) -> Result<(), &'static str> {
        let Some((seg, rest)) = path.split_first() else {
            *self = Fresh::Scalar(value.to_owned());
            return Ok(());
        };
        let child = match (self, seg) {
            (Fresh::Map(entries), super::Seg::Key(key)) => {
                let at = match entries.iter().position(|(k, _)| k == key) {
                    Some(at) => at,
                    None => {
                        entries.push((key.clone(), empty_for(rest)));
                        entries.len() - 1
                    }
                };
                &mut entries[at].1
            }
            (Fresh::Seq(items), super::Seg::Index(i)) => {
                if *i == items.len() {
                    items.push(empty_for(rest));
                }
                items.get_mut(*i).ok_or("sequence index skips items")?
            }
            _ => return Err("two edits disagree about the shape of a new value"),
        };
        child.add(rest, value)
    }
}

/// The empty container a path continues into.
pub fn empty_for(rest: &[super::Seg]) -> Fresh {
    match rest.first() {
        Some(super::Seg::Key(_)) => Fresh::Map(Vec::new()),
        Some(super::Seg::Index(_)) => Fresh::Seq(Vec::new()),
        None => Fresh::Scalar(String::new()),
    }
}

/// Block-style `key: value` lines at `indent`, each ending with the style's line ending.
pub fn block_entries(entries: &[(String, Fresh)], indent: usize, style: &Style) -> String {
    let mut out = String::new();
    for (key, value) in entries {
        push_block_entry(&mut out, &" ".repeat(indent), key, value, indent, style);
    }
    out
}

fn push_block_entry(
    out: &mut String,
    lead: &str,
    key: &str,
    value: &Fresh,
    indent: usize,
    style: &Style,
) {
    out.push_str(lead);
    out.push_str(&scalar::key(key));
    out.push(':');
    match value {
        Fresh::Scalar(v) => {
            out.push(' ');
            out.push_str(&scalar::fresh(v).0);
            out.push_str(style.line_ending);
        }
        Fresh::Map(entries) => {
            out.push_str(style.line_ending);
            out.push_str(&block_entries(entries, indent + style.step, style));
        }
        Fresh::Seq(items) => {
            out.push_str(style.line_ending);
            out.push_str(&block_items(items, indent + style.seq_indent, style));
        }
    }
}

/// Block-style `- item` lines with the dash at column `dash`.
pub fn block_items(items: &[Fresh], dash: usize, style: &Style) -> String {
    let mut out = String::new();
    let lead = format!("{}- ", " ".repeat(dash));
    for item in items {
        match item {
            Fresh::Scalar(v) => {
                out.push_str(&lead);
                out.push_str(&scalar::fresh(v).0);
                out.push_str(style.line_ending);
            }
            Fresh::Map(entries) if !entries.is_empty() => {
                let inner = dash + 2;
                for (i, (key, value)) in entries.iter().enumerate() {
                    let first = if i == 0 {
                        lead.clone()
                    } else {
                        " ".repeat(inner)
                    };
                    push_block_entry(&mut out, &first, key, value, inner, style);
                }
            }
            other => {
                out.push_str(&lead);
                out.push_str(&flow(other));
                out.push_str(style.line_ending);
            }
        }
    }
    out
}

/// Flow-style rendering: `{a: b, c: [d]}`.
pub fn flow(value: &Fresh) -> String {
    match value {
        Fresh::Scalar(v) => scalar::fresh(v).0,
        Fresh::Map(entries) => format!("{{{}}}", flow_entries(entries)),
        Fresh::Seq(items) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
    }
}

pub fn flow_entries(entries: &[(String, Fresh)]) -> String {
    entries
        .iter()
        .map(|(k, v)| format!("{}: {}", scalar::key(k), flow(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yamledit::Seg;

    #[test]
    fn renders_nested_block_with_seq_style() {
        let mut f = Fresh::Map(Vec::new());
        let path = [
            Seg::Key("containers".into()),
            Seg::Index(0),
            Seg::Key("name".into()),
        ];
        f.add(&path, "app").unwrap();
        let path = [
            Seg::Key("containers".into()),
            Seg::Index(0),
            Seg::Key("cpu".into()),
        ];
        f.add(&path, "1").unwrap();
        let Fresh::Map(entries) = f else { panic!() };
        let style = Style {
            line_ending: "\n",
            step: 4,
            seq_indent: 2,
        };
        assert_eq!(
            block_entries(&entries, 2, &style),
            "  containers:\n    - name: app\n      cpu: \"1\"\n"
        );
        assert_eq!(
            flow_entries(&entries),
            "containers: [{name: app, cpu: \"1\"}]"
        );
    }
}
