//! Planning edits for a set of scalar assignments, splicing them in and verifying the result.

use std::collections::{BTreeMap, HashSet};

use super::embedded::{self, EmbeddedSet};
use super::insert::{self, Fresh};
use super::landing::{Aliased, InsertAt, Landing, find_landing};
use super::render::Insertion;
use super::scalar;
use super::style::Style;
use super::tree::{Kind, Node, Stream, parse};
use super::verify::{self, Value};
use super::{MAX_FILE_BYTES, YamlError};

/// One step of a path from a document's root.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Seg {
    Key(String),
    /// A sequence index; the current length appends a new item (and, in one batch, the
    /// lengths after it append more).
    Index(usize),
}

/// Assign `value` to the scalar at `path` in document `doc` (0-based), creating what is missing.
#[derive(Debug, Clone, PartialEq)]
pub struct Set {
    pub doc: usize,
    pub path: Vec<Seg>,
    pub value: String,
}

/// A replacement of `start..end` by `text`. Insertions at the same offset are ordered deepest
/// first, so a nested addition stays inside its parent's block.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Edit {
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub depth: usize,
}

pub(super) struct Planned {
    pub edits: Vec<Edit>,
    pub expected: Vec<Value>,
}

/// Applies `sets` (and `embedded` sets inside literal block scalars) to `text` and returns the
/// new text, verified by re-parsing. Nothing is returned unless every assignment took effect
/// and nothing else changed.
pub fn set_values(text: &str, sets: &[Set], embedded: &[EmbeddedSet]) -> Result<String, YamlError> {
    set_values_styled(text, sets, embedded, &Style::default())
}

/// As [`set_values`], with the style to fall back on where `text` shows none (a new file).
pub fn set_values_styled(
    text: &str,
    sets: &[Set],
    embedded: &[EmbeddedSet],
    fallback: &Style,
) -> Result<String, YamlError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(YamlError::TooLarge { size: text.len() });
    }
    set_values_parsed(text, &parse(text)?, sets, embedded, fallback)
}

/// As [`set_values_styled`] for a text already parsed: `stream` must be `parse(text)`, as a
/// loaded repository holds it, so a file is not parsed twice before its edit. The result is
/// still parsed afresh and verified.
pub fn set_values_parsed(
    text: &str,
    stream: &Stream,
    sets: &[Set],
    embedded: &[EmbeddedSet],
    fallback: &Style,
) -> Result<String, YamlError> {
    let style = Style::detect(text, stream, fallback);
    let mut planned = plan(text, stream, &style, sets)?;
    embedded::plan_into(text, stream, &style, embedded, &mut planned)?;
    let out = splice(text, planned.edits)?;
    verify::check(&out, &planned.expected)?;
    Ok(out)
}

pub(super) fn splice(text: &str, mut edits: Vec<Edit>) -> Result<String, YamlError> {
    edits.sort_by_key(|e| (e.start, std::cmp::Reverse(e.depth)));
    let mut out =
        String::with_capacity(text.len() + edits.iter().map(|e| e.text.len()).sum::<usize>());
    let mut at = 0;
    for edit in &edits {
        if edit.start < at || edit.end < edit.start || edit.end > text.len() {
            return Err(YamlError::Overlap { at: edit.start });
        }
        out.push_str(
            text.get(at..edit.start)
                .ok_or(YamlError::Internal("edit inside a character"))?,
        );
        out.push_str(&edit.text);
        at = edit.end;
    }
    out.push_str(
        text.get(at..)
            .ok_or(YamlError::Internal("edit inside a character"))?,
    );
    Ok(out)
}

/// An assignment batch being planned: the edits so far, the values the result must hold, and
/// the insertions grouped by the existing node they go below.
struct Planner<'p> {
    text: &'p str,
    stream: &'p Stream,
    style: &'p Style,
    edits: Vec<Edit>,
    expected: Vec<Value>,
    groups: BTreeMap<(usize, Vec<Seg>), Vec<&'p Set>>,
    aliased: Aliased,
}

pub(super) fn plan(
    text: &str,
    stream: &Stream,
    style: &Style,
    sets: &[Set],
) -> Result<Planned, YamlError> {
    let mut planner = Planner {
        text,
        stream,
        style,
        edits: Vec::new(),
        expected: Value::of_stream(stream),
        groups: BTreeMap::new(),
        aliased: Aliased::new(),
    };
    // Two values for one path would make the result depend on their order (and a second run
    // would see the first's output as a conflict), so a batch names each path once.
    let mut seen = HashSet::new();
    for set in sets {
        if !seen.insert((set.doc, &set.path)) {
            return Err(YamlError::Duplicate {
                doc: set.doc,
                at: describe(set, 0),
            });
        }
        planner.assign(set)?;
    }
    for ((_, prefix), members) in std::mem::take(&mut planner.groups) {
        planner.insert(prefix.len(), &members)?;
    }
    Ok(Planned {
        edits: planner.edits,
        expected: planner.expected,
    })
}

impl<'p> Planner<'p> {
    /// Plans one assignment: a replacement now, an insertion into its group for later.
    fn assign(&mut self, set: &'p Set) -> Result<(), YamlError> {
        let plain = match find_landing(self.stream, set, &mut self.aliased)? {
            Landing::Replace(node) => self.replace(node, set)?,
            Landing::Insert(InsertAt { depth, .. }) => {
                self.groups
                    .entry((set.doc, set.path[..depth].to_vec()))
                    .or_default()
                    .push(set);
                scalar::fresh(&set.value).1
            }
        };
        if set.doc == self.expected.len() && self.stream.docs.is_empty() {
            self.expected.push(Value::Scalar(String::new(), true));
        }
        self.expected
            .get_mut(set.doc)
            .ok_or(YamlError::NoDocument { doc: set.doc })?
            .set(&set.path, Value::Scalar(set.value.clone(), plain))
    }

    /// Replaces the scalar `node` by `set`'s value in the scalar's own style; whether the
    /// result is plain.
    fn replace(&mut self, node: &Node, set: &Set) -> Result<bool, YamlError> {
        let Kind::Scalar { value, style } = &node.kind else {
            return Err(YamlError::Internal("replacement of a non-scalar"));
        };
        if value == &set.value {
            return Ok(*style == granit_parser::ScalarStyle::Plain);
        }
        let (rendered, plain) =
            scalar::replacement(&set.value, value, *style).ok_or_else(|| {
                YamlError::Unsupported {
                    at: describe(set, node.line),
                    why: "it is a block scalar",
                }
            })?;
        self.edits.push(Edit {
            start: node.start,
            end: node.end,
            text: rendered,
            depth: set.path.len(),
        });
        Ok(plain)
    }

    /// Inserts the assignments that share one existing node, as one new subtree below it.
    fn insert(&mut self, depth_of_prefix: usize, members: &[&Set]) -> Result<(), YamlError> {
        let first = members[0];
        let Landing::Insert(at) = find_landing(self.stream, first, &mut self.aliased)? else {
            return Err(YamlError::Internal("insertion group without insertion"));
        };
        let (node, depth) = (at.node, at.depth);
        let existing = node.map_or(0, |n| n.items().len());
        let mut fresh = match node.map(|n| &n.kind) {
            Some(Kind::Seq { .. }) => Fresh::Seq(Vec::new()),
            Some(Kind::Map { .. }) => Fresh::Map(Vec::new()),
            _ => insert::empty_for(&first.path[depth..]),
        };
        for set in members {
            let mut rest = set.path[depth..].to_vec();
            if let (Some(Seg::Index(i)), Some(Kind::Seq { .. })) =
                (rest.first_mut(), node.map(|n| &n.kind))
            {
                *i -= existing;
            }
            fresh
                .add(&rest, &set.value)
                .map_err(|why| YamlError::Unsupported {
                    at: describe(set, 0),
                    why,
                })?;
        }
        let insertion = Insertion {
            text: self.text,
            style: self.style,
            depth: depth_of_prefix,
            set: first,
        };
        self.edits.extend(insertion.render(at, &fresh)?);
        Ok(())
    }
}

pub(super) fn describe(set: &Set, line: usize) -> String {
    let path: Vec<String> = set
        .path
        .iter()
        .map(|s| match s {
            Seg::Key(k) => k.clone(),
            Seg::Index(i) => format!("[{i}]"),
        })
        .collect();
    if line > 0 {
        format!("{} (line {line})", path.join("."))
    } else {
        path.join(".")
    }
}
