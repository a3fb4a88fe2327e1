//! The house style of a file: line ending, indentation step, and whether block sequences are
//! indented under their key. Inserted text copies it so a diff shows only new lines that look
//! as if the file's author had written them.

use std::collections::HashMap;

use super::tree::{Kind, Node, Stream};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Style {
    /// `"\n"` or `"\r\n"`.
    pub line_ending: &'static str,
    /// Columns between a key and the keys of its nested mapping.
    pub step: usize,
    /// Columns between a key and the `-` of its block sequence items (0 = "indentless").
    pub seq_indent: usize,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            line_ending: "\n",
            step: 2,
            seq_indent: 0,
        }
    }
}

impl Style {
    /// Reads the style off `text`; where the file has no evidence (no nesting), the defaults of
    /// `fallback` are kept.
    pub fn detect(text: &str, stream: &Stream, fallback: &Style) -> Style {
        let line_ending = match text.find('\n') {
            Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
            Some(_) => "\n",
            None => fallback.line_ending,
        };
        let mut steps = HashMap::new();
        let mut seqs = HashMap::new();
        for doc in &stream.docs {
            survey(text, &doc.root, &mut steps, &mut seqs);
        }
        Style {
            line_ending,
            step: most_common(&steps).unwrap_or(fallback.step),
            seq_indent: most_common(&seqs).unwrap_or(fallback.seq_indent),
        }
    }
}

fn most_common(counts: &HashMap<usize, usize>) -> Option<usize> {
    // Ties go to the smaller value so the choice is deterministic.
    counts
        .iter()
        .max_by_key(|(value, count)| (**count, std::cmp::Reverse(**value)))
        .map(|(v, _)| *v)
}

fn survey(
    text: &str,
    node: &Node,
    steps: &mut HashMap<usize, usize>,
    seqs: &mut HashMap<usize, usize>,
) {
    match &node.kind {
        Kind::Map {
            entries,
            flow: false,
        } => {
            for (key, value) in entries {
                match &value.kind {
                    Kind::Map { flow: false, .. }
                        if value.line > key.line && value.col > key.col =>
                    {
                        *steps.entry(value.col - key.col).or_default() += 1;
                    }
                    Kind::Seq { flow: false, items } if value.line > key.line => {
                        if let Some(dash) = items.first().and_then(|item| dash_col(text, item))
                            && dash >= key.col
                        {
                            *seqs.entry(dash - key.col).or_default() += 1;
                        }
                    }
                    _ => {}
                }
                survey(text, value, steps, seqs);
            }
        }
        Kind::Map {
            entries,
            flow: true,
        } => {
            entries
                .iter()
                .for_each(|(_, v)| survey(text, v, steps, seqs));
        }
        Kind::Seq { items, .. } => items.iter().for_each(|i| survey(text, i, steps, seqs)),
        Kind::Scalar { .. } | Kind::Alias(_) => {}
    }
}

/// Column of the `-` that introduces a block sequence item, found by looking left of the item
/// on its own line.
pub fn dash_col(text: &str, item: &Node) -> Option<usize> {
    let line_start = text[..item.start].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..item.start];
    let dash = before.rfind('-')?;
    // Only whitespace (or an anchor/tag) may stand between the dash and the item.
    before[..dash]
        .chars()
        .all(|c| c == ' ' || c == '-')
        .then(|| before[..dash].chars().count())
}
