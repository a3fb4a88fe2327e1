//! Planning edits for a set of scalar assignments, splicing them in and verifying the result.

use std::collections::{BTreeMap, HashSet};

use super::embedded::{self, EmbeddedSet};
use super::insert::{self, Fresh};
use super::scalar;
use super::style::{Style, dash_col};
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
    let stream = parse(text)?;
    let style = Style::detect(text, &stream, fallback);
    let mut planned = plan(text, &stream, &style, sets)?;
    embedded::plan_into(text, &stream, &style, embedded, &mut planned)?;
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

/// Where an assignment lands.
enum Landing<'a> {
    Replace(&'a Node),
    Insert(InsertAt<'a>),
}

/// The deepest existing node on an assignment's path: `path[..depth]` leads to it (`None` in an
/// empty text) and the rest is new.
#[derive(Clone, Copy)]
struct InsertAt<'a> {
    node: Option<&'a Node>,
    /// Column of the key whose value `node` is.
    key_col: Option<usize>,
    parent_flow: bool,
    depth: usize,
}

pub(super) fn plan(
    text: &str,
    stream: &Stream,
    style: &Style,
    sets: &[Set],
) -> Result<Planned, YamlError> {
    let mut expected = Value::of_stream(stream);
    let mut edits = Vec::new();
    let mut groups: BTreeMap<(usize, Vec<Seg>), Vec<&Set>> = BTreeMap::new();
    let mut shared: BTreeMap<usize, HashSet<usize>> = BTreeMap::new();
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
        let landing = land(stream, set, &mut shared)?;
        let plain = match landing {
            Landing::Replace(node) => {
                let Kind::Scalar {
                    value,
                    style: scalar_style,
                } = &node.kind
                else {
                    return Err(YamlError::Internal("replacement of a non-scalar"));
                };
                let (rendered, plain) = scalar::replacement(&set.value, value, *scalar_style)
                    .ok_or_else(|| YamlError::Unsupported {
                        at: describe(set, node.line),
                        why: "it is a block scalar",
                    })?;
                if value != &set.value {
                    edits.push(Edit {
                        start: node.start,
                        end: node.end,
                        text: rendered,
                        depth: set.path.len(),
                    });
                    plain
                } else {
                    *scalar_style == granit_parser::ScalarStyle::Plain
                }
            }
            Landing::Insert(InsertAt { depth, .. }) => {
                groups
                    .entry((set.doc, set.path[..depth].to_vec()))
                    .or_default()
                    .push(set);
                scalar::fresh(&set.value).1
            }
        };
        if set.doc == expected.len() && stream.docs.is_empty() {
            expected.push(Value::Scalar(String::new(), true));
        }
        expected
            .get_mut(set.doc)
            .ok_or(YamlError::NoDocument { doc: set.doc })?
            .set(&set.path, Value::Scalar(set.value.clone(), plain))?;
    }
    for ((_, prefix), members) in groups {
        let first = members[0];
        let Landing::Insert(at) = land(stream, first, &mut shared)? else {
            return Err(YamlError::Internal("insertion group without insertion"));
        };
        let (node, depth) = (at.node, at.depth);
        let existing = node.map_or(0, |n| n.items().len());
        let mut fresh = match node.map(|n| &n.kind) {
            Some(Kind::Seq { .. }) => Fresh::Seq(Vec::new()),
            Some(Kind::Map { .. }) => Fresh::Map(Vec::new()),
            _ => insert::empty_for(&first.path[depth..]),
        };
        for set in &members {
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
        edits.extend(render_insertion(
            text,
            style,
            at,
            &fresh,
            prefix.len(),
            first,
        )?);
    }
    Ok(Planned { edits, expected })
}

fn describe(set: &Set, line: usize) -> String {
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

fn land<'a>(
    stream: &'a Stream,
    set: &Set,
    shared: &mut BTreeMap<usize, HashSet<usize>>,
) -> Result<Landing<'a>, YamlError> {
    let Some(doc) = stream.docs.get(set.doc) else {
        if stream.docs.is_empty() && set.doc == 0 {
            return Ok(Landing::Insert(InsertAt {
                node: None,
                key_col: Some(0),
                parent_flow: false,
                depth: 0,
            }));
        }
        return Err(YamlError::NoDocument { doc: set.doc });
    };
    let aliased = shared.entry(set.doc).or_insert_with(|| {
        let mut ids = Vec::new();
        doc.root.collect_aliases(&mut ids);
        ids.into_iter().collect()
    });
    let mut node = &doc.root;
    let mut key_col = None;
    let mut parent_flow = false;
    for (depth, seg) in set.path.iter().enumerate() {
        if node.anchor != 0 && aliased.contains(&node.anchor) {
            return Err(YamlError::Shared {
                at: describe(set, node.line),
            });
        }
        let next = match (&node.kind, seg) {
            (Kind::Map { entries, .. }, Seg::Key(key)) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(k, v)| (k.col, v)),
            // Past the end: a new item. Several in one batch must be contiguous (`Fresh::add`).
            (Kind::Seq { items, .. }, Seg::Index(i)) => items.get(*i).map(|v| (node.col, v)),
            (Kind::Alias(_), _) => {
                return Err(YamlError::Shared {
                    at: describe(set, node.line),
                });
            }
            (Kind::Scalar { .. }, _) if node.is_null() => None,
            _ => {
                return Err(YamlError::Unsupported {
                    at: describe(set, node.line),
                    why: "the value there has another shape (not a mapping or list)",
                });
            }
        };
        match next {
            Some((col, child)) => {
                parent_flow = node.is_flow();
                key_col = Some(col);
                node = child;
            }
            None => {
                if node.is_null() && parent_flow {
                    return Err(YamlError::Unsupported {
                        at: describe(set, node.line),
                        why: "an empty value inside a flow collection",
                    });
                }
                return Ok(Landing::Insert(InsertAt {
                    node: Some(node),
                    key_col,
                    parent_flow,
                    depth,
                }));
            }
        }
    }
    match &node.kind {
        Kind::Scalar { .. } if node.anchor != 0 && aliased.contains(&node.anchor) => {
            Err(YamlError::Shared {
                at: describe(set, node.line),
            })
        }
        Kind::Scalar { .. } => Ok(Landing::Replace(node)),
        Kind::Alias(_) => Err(YamlError::Shared {
            at: describe(set, node.line),
        }),
        _ => Err(YamlError::Unsupported {
            at: describe(set, node.line),
            why: "the value there is not a scalar",
        }),
    }
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

fn render_insertion(
    text: &str,
    style: &Style,
    at: InsertAt,
    fresh: &Fresh,
    depth: usize,
    set: &Set,
) -> Result<Vec<Edit>, YamlError> {
    let InsertAt {
        node,
        key_col,
        parent_flow,
        ..
    } = at;
    let unsupported = |why| YamlError::Unsupported {
        at: describe(set, node.map_or(0, |n| n.line)),
        why,
    };
    let Some(node) = node else {
        // An empty file: a root mapping at column 0.
        let Fresh::Map(entries) = fresh else {
            return Err(unsupported("a new document must be a mapping"));
        };
        let body = insert::block_entries(entries, 0, style);
        return Ok(vec![block_edit(text, text.len(), body, style, depth)]);
    };
    match (&node.kind, fresh) {
        (
            Kind::Map {
                entries,
                flow: false,
            },
            Fresh::Map(new),
        ) => {
            let col = entries.first().map_or(node.col, |(k, _)| k.col);
            Ok(vec![block_edit(
                text,
                content_end(text, node),
                insert::block_entries(new, col, style),
                style,
                depth,
            )])
        }
        (Kind::Seq { items, flow: false }, Fresh::Seq(new)) => {
            let dash = items
                .first()
                .and_then(|i| dash_col(text, i))
                .ok_or_else(|| unsupported("no sequence dash"))?;
            Ok(vec![block_edit(
                text,
                content_end(text, node),
                insert::block_items(new, dash, style),
                style,
                depth,
            )])
        }
        (
            Kind::Map {
                entries,
                flow: true,
            },
            Fresh::Map(new),
        ) => {
            let rendered = insert::flow_entries(new);
            Ok(vec![match entries.last() {
                Some((_, last)) => Edit {
                    start: last.end,
                    end: last.end,
                    text: format!(", {rendered}"),
                    depth,
                },
                None => closing_edit(text, node, '}', rendered, depth)
                    .ok_or_else(|| unsupported("no closing brace"))?,
            }])
        }
        (Kind::Seq { items, flow: true }, Fresh::Seq(new)) => {
            let rendered = new.iter().map(insert::flow).collect::<Vec<_>>().join(", ");
            Ok(vec![match items.last() {
                Some(last) => Edit {
                    start: last.end,
                    end: last.end,
                    text: format!(", {rendered}"),
                    depth,
                },
                None => closing_edit(text, node, ']', rendered, depth)
                    .ok_or_else(|| unsupported("no closing bracket"))?,
            }])
        }
        (Kind::Scalar { .. }, _) if node.is_null() && !parent_flow => {
            let key_col = key_col.ok_or_else(|| unsupported("an empty value outside a mapping"))?;
            let body = match fresh {
                Fresh::Map(new) => insert::block_entries(new, key_col + style.step, style),
                Fresh::Seq(new) => insert::block_items(new, key_col + style.seq_indent, style),
                Fresh::Scalar(_) => return Err(unsupported("a scalar cannot hold new keys")),
            };
            let mut edits = Vec::new();
            if node.end > node.start {
                // Drop an explicit `~`/`null` and the spaces before it; the block follows the line.
                let spaces =
                    text[..node.start].len() - text[..node.start].trim_end_matches(' ').len();
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
        _ => Err(unsupported("the existing value has another shape")),
    }
}

fn closing_edit(
    text: &str,
    node: &Node,
    close: char,
    rendered: String,
    depth: usize,
) -> Option<Edit> {
    let at = node.end.checked_sub(1)?;
    (text[at..].starts_with(close)).then_some(Edit {
        start: at,
        end: at,
        text: rendered,
        depth,
    })
}
