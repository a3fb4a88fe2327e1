//! Rendering an insertion into edits of the text: a new block of entries or items after the
//! existing ones, a new flow entry before the closing bracket, or a block below an empty value.

use super::YamlError;
use super::apply::{Edit, Set, describe};
use super::insert::{self, Fresh};
use super::landing::InsertAt;
use super::style::{Style, dash_col};
use super::tree::{Kind, Node};

/// What one insertion is rendered with.
pub(super) struct Insertion<'a> {
    pub text: &'a str,
    pub style: &'a Style,
    /// Nesting depth of the inserted subtree, which orders edits at one offset.
    pub depth: usize,
    /// The first assignment of the group, named in errors.
    pub set: &'a Set,
}

/// End of the node's meaningful text: block scalars carry trailing blank lines in their span.
fn content_end(text: &str, node: &Node) -> usize {
    match &node.kind {
        Kind::Map {
            entries,
            flow: false,
        } => entries
            .last()
            .map_or(node.end, |(_, v)| content_end(text, v)),
        Kind::Seq { items, flow: false } => items.last().map_or(node.end, |i| content_end(text, i)),
        Kind::Scalar {
            style: granit_parser::ScalarStyle::Literal | granit_parser::ScalarStyle::Folded,
            ..
        } => node.start + text[node.start..node.end].trim_end().len(),
        _ => node.end,
    }
}

/// The offset where a new line may start after `at`, and whether the text lacks a line break
/// there (the insertion must then bring its own, and no trailing one).
fn next_line(text: &str, at: usize) -> (usize, bool) {
    match text[at..].find('\n') {
        Some(i) => (at + i + 1, false),
        None => (text.len(), true),
    }
}

fn block_edit(text: &str, at: usize, body: String, style: &Style, depth: usize) -> Edit {
    let (pos, unterminated) = next_line(text, at);
    let text_out = if text.is_empty() {
        body
    } else if unterminated {
        let body = body.strip_suffix(style.line_ending).unwrap_or(&body);
        format!("{}{body}", style.line_ending)
    } else {
        body
    };
    Edit {
        start: pos,
        end: pos,
        text: text_out,
        depth,
    }
}

impl Insertion<'_> {
    fn unsupported(&self, node: Option<&Node>, why: &'static str) -> YamlError {
        YamlError::Unsupported {
            at: describe(self.set, node.map_or(0, |n| n.line)),
            why,
        }
    }

    /// The edits that insert `fresh` at `at`.
    pub fn render(&self, at: InsertAt, fresh: &Fresh) -> Result<Vec<Edit>, YamlError> {
        let (text, style, depth) = (self.text, self.style, self.depth);
        let Some(node) = at.node else {
            // An empty file: a root mapping at column 0.
            let Fresh::Map(entries) = fresh else {
                return Err(self.unsupported(None, "a new document must be a mapping"));
            };
            let body = insert::block_entries(entries, 0, style);
            return Ok(vec![block_edit(text, text.len(), body, style, depth)]);
        };
        match (&node.kind, fresh) {
            (Kind::Map { flow: false, .. }, Fresh::Map(_))
            | (Kind::Seq { flow: false, .. }, Fresh::Seq(_)) => {
                Ok(vec![self.after_block(node, fresh)?])
            }
            (Kind::Map { flow: true, .. }, Fresh::Map(_))
            | (Kind::Seq { flow: true, .. }, Fresh::Seq(_)) => {
                Ok(vec![self.at_flow_end(node, fresh)?])
            }
            (Kind::Scalar { .. }, _) if node.is_null() && !at.parent_flow => {
                self.below_empty(node, at.key_col, fresh)
            }
            _ => Err(self.unsupported(Some(node), "the existing value has another shape")),
        }
    }

    /// New entries or items after the last ones of a block collection, at their indentation.
    fn after_block(&self, node: &Node, fresh: &Fresh) -> Result<Edit, YamlError> {
        let (text, style) = (self.text, self.style);
        let body = match (&node.kind, fresh) {
            (Kind::Map { entries, .. }, Fresh::Map(new)) => {
                let col = entries.first().map_or(node.col, |(k, _)| k.col);
                insert::block_entries(new, col, style)
            }
            (Kind::Seq { items, .. }, Fresh::Seq(new)) => {
                let dash = items
                    .first()
                    .and_then(|i| dash_col(text, i))
                    .ok_or_else(|| self.unsupported(Some(node), "no sequence dash"))?;
                insert::block_items(new, dash, style)
            }
            _ => return Err(self.unsupported(Some(node), "the existing value has another shape")),
        };
        Ok(block_edit(
            text,
            content_end(text, node),
            body,
            style,
            self.depth,
        ))
    }

    /// New entries or items at the end of a flow collection.
    fn at_flow_end(&self, node: &Node, fresh: &Fresh) -> Result<Edit, YamlError> {
        let (rendered, last_end, close, missing) = match (&node.kind, fresh) {
            (Kind::Map { entries, .. }, Fresh::Map(new)) => (
                insert::flow_entries(new),
                entries.last().map(|(_, last)| last.end),
                '}',
                "no closing brace",
            ),
            (Kind::Seq { items, .. }, Fresh::Seq(new)) => (
                new.iter().map(insert::flow).collect::<Vec<_>>().join(", "),
                items.last().map(|last| last.end),
                ']',
                "no closing bracket",
            ),
            _ => return Err(self.unsupported(Some(node), "the existing value has another shape")),
        };
        match last_end {
            Some(end) => Ok(Edit {
                start: end,
                end,
                text: format!(", {rendered}"),
                depth: self.depth,
            }),
            None => self
                .closing_edit(node, close, rendered)
                .ok_or_else(|| self.unsupported(Some(node), missing)),
        }
    }

    /// A block below an empty value (nothing, `~` or `null`, which is dropped).
    fn below_empty(
        &self,
        node: &Node,
        key_col: Option<usize>,
        fresh: &Fresh,
    ) -> Result<Vec<Edit>, YamlError> {
        let (text, style, depth) = (self.text, self.style, self.depth);
        let key_col = key_col
            .ok_or_else(|| self.unsupported(Some(node), "an empty value outside a mapping"))?;
        let body = match fresh {
            Fresh::Map(new) => insert::block_entries(new, key_col + style.step, style),
            Fresh::Seq(new) => insert::block_items(new, key_col + style.seq_indent, style),
            Fresh::Scalar(_) => {
                return Err(self.unsupported(Some(node), "a scalar cannot hold new keys"));
            }
        };
        let mut edits = Vec::new();
        if node.end > node.start {
            // Drop an explicit `~`/`null` and the spaces before it; the block follows the line.
            let spaces = text[..node.start].len() - text[..node.start].trim_end_matches(' ').len();
            edits.push(Edit {
                start: node.start - spaces,
                end: node.end,
                text: String::new(),
                depth,
            });
        }
        edits.push(block_edit(text, node.end, body, style, depth));
        Ok(edits)
    }

    /// `rendered` just before the closing bracket of an empty flow collection.
    fn closing_edit(&self, node: &Node, close: char, rendered: String) -> Option<Edit> {
        let at = node.end.checked_sub(1)?;
        (self.text[at..].starts_with(close)).then_some(Edit {
            start: at,
            end: at,
            text: rendered,
            depth: self.depth,
        })
    }
}
