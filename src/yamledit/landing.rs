//! Where an assignment lands: the scalar it replaces, or the deepest existing node on its
//! path, below which the rest is inserted. Values shared through anchors are refused.

use std::collections::{BTreeMap, HashSet};

use super::YamlError;
use super::apply::{Seg, Set, describe};
use super::tree::{Kind, Node, Stream};

/// Where an assignment lands.
pub(super) enum Landing<'a> {
    Replace(&'a Node),
    Insert(InsertAt<'a>),
}

/// The deepest existing node on an assignment's path: `path[..depth]` leads to it (`None` in an
/// empty text) and the rest is new.
#[derive(Clone, Copy)]
pub(super) struct InsertAt<'a> {
    pub node: Option<&'a Node>,
    /// Column of the key whose value `node` is.
    pub key_col: Option<usize>,
    pub parent_flow: bool,
    pub depth: usize,
}

/// Anchor ids that an alias refers to, per document: a value under one of them is shared.
pub(super) type Aliased = BTreeMap<usize, HashSet<usize>>;

/// Where `set` lands in `stream`.
pub(super) fn find_landing<'a>(
    stream: &'a Stream,
    set: &Set,
    shared: &mut Aliased,
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
        match child(node, seg, set)? {
            Some((col, next)) => {
                parent_flow = node.is_flow();
                key_col = Some(col);
                node = next;
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
    at_end(node, aliased, set)
}

/// The child of `node` at `seg` with the column of its key (`None` when it is missing).
fn child<'a>(node: &'a Node, seg: &Seg, set: &Set) -> Result<Option<(usize, &'a Node)>, YamlError> {
    match (&node.kind, seg) {
        (Kind::Map { entries, .. }, Seg::Key(key)) => Ok(entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, v)| (k.col, v))),
        // Past the end: a new item. Several in one batch must be contiguous (`Fresh::add`).
        (Kind::Seq { items, .. }, Seg::Index(i)) => Ok(items.get(*i).map(|v| (node.col, v))),
        (Kind::Alias(_), _) => Err(YamlError::Shared {
            at: describe(set, node.line),
        }),
        (Kind::Scalar { .. }, _) if node.is_null() => Ok(None),
        _ => Err(YamlError::Unsupported {
            at: describe(set, node.line),
            why: "the value there has another shape (not a mapping or list)",
        }),
    }
}

/// The node the whole path leads to: a scalar to replace, unless it is shared.
fn at_end<'a>(
    node: &'a Node,
    aliased: &HashSet<usize>,
    set: &Set,
) -> Result<Landing<'a>, YamlError> {
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
