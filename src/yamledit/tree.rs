//! A span-carrying YAML tree built from granit-parser events.
//!
//! Aliases stay aliases: nothing is expanded, so an alias bomb costs nothing to hold. We still
//! compute what an expansion would cost and refuse files that other tools (kubectl, Argo CD)
//! would choke on, because editing them would only produce a PR nobody can apply.

use granit_parser::{Event, Parser, ScalarStyle, Span};

use super::{MAX_FILE_BYTES, YamlError};

/// How many nodes an alias expansion may reach, relative to the nodes written in the file.
const EXPANSION_FACTOR: usize = 100;
const EXPANSION_FLOOR: usize = 10_000;

/// One YAML node with the exact byte range of its source text.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: Kind,
    /// First byte of the node's text (for block collections: the first key or item).
    pub start: usize,
    /// One past the last byte of the node's own text (for block collections: of its last child).
    pub end: usize,
    /// 1-based line of `start`.
    pub line: usize,
    /// 0-based column of `start`, in characters.
    pub col: usize,
    /// Anchor id defined on this node, 0 when none.
    pub anchor: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Scalar {
        value: String,
        style: ScalarStyle,
    },
    Map {
        entries: Vec<(Node, Node)>,
        flow: bool,
    },
    Seq {
        items: Vec<Node>,
        flow: bool,
    },
    Alias(usize),
}

/// One document of a stream. `root` is an empty plain scalar for an empty document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub root: Node,
}

/// A comment whose text mentions `$attune`, kept so markers can be found without a second scan.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkerComment {
    pub line: usize,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stream {
    pub docs: Vec<Document>,
    pub markers: Vec<MarkerComment>,
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { value, style: ScalarStyle::Plain }
            if value.is_empty() || value == "~" || value == "null" || value == "Null" || value == "NULL")
    }

    pub fn is_flow(&self) -> bool {
        matches!(
            &self.kind,
            Kind::Map { flow: true, .. } | Kind::Seq { flow: true, .. }
        )
    }

    /// The value for `key` in a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    pub fn entry(&self, key: &str) -> Option<&(Node, Node)> {
        match &self.kind {
            Kind::Map { entries, .. } => entries.iter().find(|(k, _)| k.as_str() == Some(key)),
            _ => None,
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.kind {
            Kind::Seq { items, .. } => items,
            _ => &[],
        }
    }

    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.kind {
            Kind::Map { entries, .. } => entries,
            _ => &[],
        }
    }

    /// Every anchor id this subtree refers to through an alias.
    pub fn collect_aliases(&self, out: &mut Vec<usize>) {
        match &self.kind {
            Kind::Alias(id) => out.push(*id),
            Kind::Scalar { .. } => {}
            Kind::Map { entries, .. } => entries.iter().for_each(|(k, v)| {
                k.collect_aliases(out);
                v.collect_aliases(out);
            }),
            Kind::Seq { items, .. } => items.iter().for_each(|i| i.collect_aliases(out)),
        }
    }
}

enum Frame {
    Map {
        node: Node,
        pending_key: Option<Node>,
    },
    Seq {
        node: Node,
    },
}

/// Parses every document of `text`. Errors carry the line and column of the offending token.
/// Checks that `text` is well-formed YAML without building anything: the cheap way to report a
/// broken file whose content is never needed. Aliases are not expanded, so no bomb goes off.
pub fn check_syntax(text: &str) -> Result<(), YamlError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(YamlError::TooLarge { size: text.len() });
    }
    for event in Parser::new_from_str(text) {
        event.map_err(|e| YamlError::Syntax {
            line: e.marker().line(),
            col: e.marker().col() + 1,
            message: e.info(),
        })?;
    }
    Ok(())
}

pub fn parse(text: &str) -> Result<Stream, YamlError> {
    let mut tree = TreeBuilder::default();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| YamlError::Syntax {
            line: e.marker().line(),
            col: e.marker().col() + 1,
            message: e.info(),
        })?;
        tree.event(event, span)?;
    }
    Ok(tree.stream)
}

/// The tree being built from the parser's events: the documents so far, the collections
/// still open, and what an alias expansion would cost.
#[derive(Default)]
struct TreeBuilder {
    stream: Stream,
    stack: Vec<Frame>,
    expansion: Expansion,
}

impl TreeBuilder {
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        let range = span
            .byte_range()
            .ok_or(YamlError::Internal("span without byte offsets"))?;
        let at = |kind, anchor| Node {
            kind,
            start: range.start,
            end: range.end,
            line: span.start.line(),
            col: span.start.col(),
            anchor,
        };
        match event {
            Event::Comment(body, _) if body.contains("$attune") => {
                self.stream.markers.push(MarkerComment {
                    line: span.start.line(),
                    text: body.into_owned(),
                });
            }
            Event::Scalar(value, style, anchor, _) => {
                let value = value.into_owned();
                self.expansion.leaf(anchor)?;
                self.push(at(Kind::Scalar { value, style }, anchor))?;
            }
            Event::Alias(id) => {
                self.expansion.alias(id)?;
                self.push(at(Kind::Alias(id), 0))?;
            }
            Event::MappingStart(style, anchor, _) => {
                let flow = style == granit_parser::StructureStyle::Flow;
                let entries = Vec::new();
                self.expansion.open(anchor);
                let node = at(Kind::Map { entries, flow }, anchor);
                self.stack.push(Frame::Map {
                    node,
                    pending_key: None,
                });
            }
            Event::SequenceStart(style, anchor, _) => {
                let flow = style == granit_parser::StructureStyle::Flow;
                let items = Vec::new();
                self.expansion.open(anchor);
                let node = at(Kind::Seq { items, flow }, anchor);
                self.stack.push(Frame::Seq { node });
            }
            Event::MappingEnd | Event::SequenceEnd => self.close(range.end)?,
            // Stream and document bounds, plain comments, and events added by later parser
            // versions carry no data we edit.
            _ => {}
        }
        Ok(())
    }

    fn push(&mut self, node: Node) -> Result<(), YamlError> {
        push_node(&mut self.stack, &mut self.stream, node)
    }

    /// Closes the innermost collection, whose closing token ends at `end`.
    fn close(&mut self, end: usize) -> Result<(), YamlError> {
        let mut node = match self.stack.pop() {
            Some(Frame::Map { node, .. } | Frame::Seq { node }) => node,
            None => return Err(YamlError::Internal("collection end without start")),
        };
        close_collection(&mut node, end);
        self.expansion.close(node.anchor)?;
        self.push(node)
    }
}

/// Fixes up where a collection ends: flow collections end at their closing bracket, block
/// collections at the end of their last child (the parser reports the next token instead).
fn close_collection(node: &mut Node, closing_end: usize) {
    // A closed collection never grows again: give back what doubling reserved (parsed trees
    // are most of a large run's heap).
    match &mut node.kind {
        Kind::Map { entries, .. } => entries.shrink_to_fit(),
        Kind::Seq { items, .. } => items.shrink_to_fit(),
        _ => {}
    }
    let flow = node.is_flow();
    let last_end = match &node.kind {
        Kind::Map { entries, .. } => entries.last().map(|(_, v)| v.end),
        Kind::Seq { items, .. } => items.last().map(|i| i.end),
        _ => None,
    };
    node.end = if flow {
        closing_end
    } else {
        last_end.unwrap_or(node.start)
    };
    if !flow {
        // A block collection starts at its first child; an indicator (`- `) is not part of it.
        let first_start = match &node.kind {
            Kind::Map { entries, .. } => entries.first().map(|(k, _)| (k.start, k.line, k.col)),
            Kind::Seq { .. } => None,
            _ => None,
        };
        if let Some((start, line, col)) = first_start {
            node.start = start;
            node.line = line;
            node.col = col;
        }
    }
}

fn push_node(stack: &mut [Frame], stream: &mut Stream, node: Node) -> Result<(), YamlError> {
    match stack.last_mut() {
        None => stream.docs.push(Document { root: node }),
        Some(Frame::Seq { node: seq }) => {
            if let Kind::Seq { items, .. } = &mut seq.kind {
                items.push(node);
            }
        }
        Some(Frame::Map {
            node: map,
            pending_key,
        }) => match pending_key.take() {
            None => *pending_key = Some(node),
            Some(key) => {
                if let Kind::Map { entries, .. } = &mut map.kind {
                    entries.push((key, node));
                }
            }
        },
    }
    Ok(())
}

/// Tracks how large the document would become if every alias were expanded.
#[derive(Default)]
struct Expansion {
    written: usize,
    expanded: usize,
    /// Expanded size of each anchored node, by anchor id.
    anchored: std::collections::HashMap<usize, usize>,
    /// `expanded` at the start of each open collection, with its anchor.
    open: Vec<(usize, usize)>,
}

impl Expansion {
    fn leaf(&mut self, anchor: usize) -> Result<(), YamlError> {
        self.written += 1;
        self.expanded += 1;
        if anchor != 0 {
            self.anchored.insert(anchor, 1);
        }
        self.check()
    }

    fn alias(&mut self, id: usize) -> Result<(), YamlError> {
        self.written += 1;
        self.expanded = self
            .expanded
            .saturating_add(self.anchored.get(&id).copied().unwrap_or(1));
        self.check()
    }

    fn open(&mut self, anchor: usize) {
        self.written += 1;
        self.expanded += 1;
        self.open.push((self.expanded - 1, anchor));
    }

    fn close(&mut self, _anchor: usize) -> Result<(), YamlError> {
        if let Some((before, anchor)) = self.open.pop()
            && anchor != 0
        {
            self.anchored.insert(anchor, self.expanded - before);
        }
        self.check()
    }

    fn check(&self) -> Result<(), YamlError> {
        let limit = self
            .written
            .saturating_mul(EXPANSION_FACTOR)
            .saturating_add(EXPANSION_FLOOR);
        if self.expanded > limit {
            return Err(YamlError::AliasBomb {
                expanded: self.expanded,
                written: self.written,
            });
        }
        Ok(())
    }
}
