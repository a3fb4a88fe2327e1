//! Edits inside a YAML document that is itself the text of a literal block scalar, such as a
//! Kustomize inline `patch: |`. The inner document is edited like any file, then each inner
//! edit is carried back to the outer text line by line, re-adding the block's indentation.

use std::collections::BTreeMap;

use granit_parser::ScalarStyle;

use super::YamlError;
use super::apply::{Edit, Planned, Seg, Set, plan, splice};
use super::style::Style;
use super::tree::{Kind, Node, Stream, parse};
use super::verify::{self, Value};

/// Assignments `sets` inside the document held by the literal block scalar at `path` of
/// document `doc`.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddedSet {
    pub doc: usize,
    pub path: Vec<Seg>,
    pub sets: Vec<Set>,
}

pub(super) fn plan_into(
    text: &str,
    stream: &Stream,
    style: &Style,
    embedded: &[EmbeddedSet],
    planned: &mut Planned,
) -> Result<(), YamlError> {
    let mut merged: BTreeMap<(usize, Vec<Seg>), Vec<Set>> = BTreeMap::new();
    for e in embedded {
        merged
            .entry((e.doc, e.path.clone()))
            .or_default()
            .extend(e.sets.iter().cloned());
    }
    for ((doc, path), sets) in merged {
        let at = path_text(&path);
        let node = find(stream, doc, &path).ok_or(YamlError::Unsupported {
            at: at.clone(),
            why: "no block scalar at that path",
        })?;
        let Kind::Scalar {
            value: inner,
            style: ScalarStyle::Literal,
        } = &node.kind
        else {
            return Err(YamlError::Unsupported {
                at,
                why: "an embedded document must be a literal block (`|`)",
            });
        };
        let inner_stream = parse(inner)?;
        let inner_style = Style::detect(
            inner,
            &inner_stream,
            &Style {
                line_ending: "\n",
                ..style.clone()
            },
        );
        let inner_plan = plan(inner, &inner_stream, &inner_style, &sets)?;
        let new_inner = splice(inner, inner_plan.edits.clone())?;
        verify::check(&new_inner, &inner_plan.expected)?;
        let lines = LineMap::new(text, node, inner).ok_or(YamlError::Unsupported {
            at: at.clone(),
            why: "the block's lines do not match its value (indentation indicator or tabs)",
        })?;
        for edit in inner_plan.edits {
            planned.edits.push(lines.carry(&edit, style.line_ending));
        }
        planned
            .expected
            .get_mut(doc)
            .ok_or(YamlError::NoDocument { doc })?
            .set(&path, Value::Scalar(new_inner, false))?;
    }
    Ok(())
}

fn path_text(path: &[Seg]) -> String {
    path.iter()
        .map(|s| match s {
            Seg::Key(k) => k.clone(),
            Seg::Index(i) => format!("[{i}]"),
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn find<'a>(stream: &'a Stream, doc: usize, path: &[Seg]) -> Option<&'a Node> {
    let mut node = &stream.docs.get(doc)?.root;
    for seg in path {
        node = match seg {
            Seg::Key(k) => node.get(k)?,
            Seg::Index(i) => node.items().get(*i)?,
        };
    }
    Some(node)
}

/// Where each line of a block scalar's value starts in the outer text.
struct LineMap {
    indent: usize,
    /// For each value line: (offset in the value, offset of the source line's start,
    /// offset where its content starts after the indentation).
    lines: Vec<(usize, usize, usize)>,
}

impl LineMap {
    fn new(text: &str, node: &Node, value: &str) -> Option<LineMap> {
        let indent = node.col;
        let mut src = text[..node.start].rfind('\n').map_or(0, |i| i + 1);
        let mut lines = Vec::new();
        let mut offset = 0;
        for line in value.split('\n') {
            let src_line_end = text[src..].find('\n').map_or(text.len(), |i| src + i);
            let src_line = text[src..src_line_end].trim_end_matches('\r');
            if line.is_empty() {
                let spaces = src_line.len() - src_line.trim_start_matches(' ').len();
                lines.push((offset, src, src + spaces.min(indent)));
            } else {
                let body = src_line.get(indent..)?;
                if !src_line[..indent].bytes().all(|b| b == b' ') || !body.starts_with(line) {
                    return None;
                }
                lines.push((offset, src, src + indent));
            }
            offset += line.len() + 1;
            src = (src_line_end + 1).min(text.len());
        }
        Some(LineMap { indent, lines })
    }

    fn locate(&self, offset: usize) -> (usize, &(usize, usize, usize)) {
        let i = self
            .lines
            .partition_point(|(start, _, _)| *start <= offset)
            .saturating_sub(1);
        (offset - self.lines[i].0, &self.lines[i])
    }

    /// The outer-text edit for an edit of the value. A whole-line insertion lands at the start of
    /// the source line with every line indented; anything else lands at its column.
    fn carry(&self, edit: &Edit, line_ending: &str) -> Edit {
        let pad = " ".repeat(self.indent);
        let (col, &(_, line_start, content)) = self.locate(edit.start);
        if edit.start == edit.end && col == 0 && edit.text.ends_with('\n') {
            let text = edit
                .text
                .split_inclusive('\n')
                .map(|l| {
                    let body = l.strip_suffix('\n').unwrap_or(l);
                    if body.is_empty() {
                        line_ending.to_owned()
                    } else {
                        format!("{pad}{body}{line_ending}")
                    }
                })
                .collect();
            return Edit {
                start: line_start,
                end: line_start,
                text,
                depth: edit.depth,
            };
        }
        let (end_col, &(_, _, end_content)) = self.locate(edit.end);
        let text = edit.text.replace('\n', &format!("{line_ending}{pad}"));
        Edit {
            start: content + col,
            end: end_content + end_col,
            text,
            depth: edit.depth,
        }
    }
}
