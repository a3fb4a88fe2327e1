//! Policy files in the plain subset of YAML, read without serde-saphyr's general machinery.
//!
//! `kubectl get -o yaml` and the pipelines that export recommendations write block mappings,
//! sequences and scalars: no tags, anchors, aliases or merge keys. Reading that subset straight
//! from granit-parser's events into a small tree and deserializing from it takes about two thirds
//! of the time serde-saphyr's reader does on a large List (README, Benchmark). This reader answers only
//! where it is sure to agree with serde-saphyr under the options of [`super::load`]: anything
//! outside the subset, any scalar whose typing it is not sure of, any limit approached and any
//! error makes it give up, and the caller reads the text with serde-saphyr, whose values and
//! errors stay the reference. A property test (load_tests.rs) checks that the two agree.
//!
//! Must not know: what a policy is (it reads any `Deserialize` type).

use std::borrow::Cow;

use granit_parser::{Event, Parser, ScalarStyle};
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, Visitor};

/// Limits well inside serde-saphyr's (its 1,024 documents and depth 64, and the node budget of
/// `load::options`), so that nothing it would refuse is accepted here.
const MAX_DOCUMENTS: usize = 1_000;
const MAX_NODES: usize = 1_000_000;
const MAX_DEPTH: usize = 48;

/// Why this reader gave up; never shown to a user (the reference reader runs instead).
#[derive(Debug, thiserror::Error)]
#[error("outside the subset of YAML the quick policy reader is sure of")]
pub(super) struct Unsure;

impl de::Error for Unsure {
    fn custom<T: std::fmt::Display>(_msg: T) -> Self {
        Unsure
    }
}

/// One node of a document in the subset; scalars borrow from the text where the parser did.
#[derive(Debug)]
pub(super) enum Node<'a> {
    Scalar { text: Cow<'a, str>, plain: bool },
    Map(Vec<(Node<'a>, Node<'a>)>),
    Seq(Vec<Node<'a>>),
}

/// Every document of `text` as a `T`, with the line its root starts on; `None` when the text
/// leaves the subset or a document does not deserialize (the reference reader then explains).
pub(super) fn read<T: DeserializeOwned>(text: &str) -> Option<Vec<(u64, T)>> {
    documents(text)?
        .iter()
        .map(|(line, root)| T::deserialize(root).ok().map(|value| (*line, value)))
        .collect()
}

/// A collection being built (a mapping holds its key until the value arrives).
enum Open<'a> {
    Map(Vec<(Node<'a>, Node<'a>)>, Option<Node<'a>>),
    Seq(Vec<Node<'a>>),
}

/// The documents of `text`, each with the line of its root; `None` outside the subset.
fn documents(text: &str) -> Option<Vec<(u64, Node<'_>)>> {
    let mut docs = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut root_line = 0;
    let (mut documents, mut nodes) = (0usize, 0usize);
    for event in Parser::new_from_str(text) {
        let (event, span) = event.ok()?;
        let node = match event {
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > MAX_DOCUMENTS {
                    return None;
                }
                continue;
            }
            Event::Scalar(value, style, anchor, tag) => {
                if anchor != 0 || tag.is_some() || value.contains("${") {
                    return None;
                }
                let plain = style == ScalarStyle::Plain;
                Node::Scalar { text: value, plain }
            }
            Event::MappingStart(_, anchor, ref tag) | Event::SequenceStart(_, anchor, ref tag) => {
                if anchor != 0 || tag.is_some() || stack.len() >= MAX_DEPTH {
                    return None;
                }
                if stack.is_empty() {
                    root_line = u64::try_from(span.start.line()).ok()?;
                }
                stack.push(if matches!(event, Event::MappingStart(..)) {
                    Open::Map(Vec::new(), None)
                } else {
                    Open::Seq(Vec::new())
                });
                continue;
            }
            Event::MappingEnd => match stack.pop()? {
                Open::Map(entries, None) if plain_keys(&entries) => Node::Map(entries),
                _ => return None,
            },
            Event::SequenceEnd => match stack.pop()? {
                Open::Seq(items) => Node::Seq(items),
                Open::Map(..) => return None,
            },
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Comment(..) => {
                continue;
            }
            // Aliases, unresolved aliases and whatever later parser versions add.
            _ => return None,
        };
        nodes += 1;
        if nodes > MAX_NODES {
            return None;
        }
        match stack.last_mut() {
            None => match node {
                // A document with a scalar at its root (an empty one among them): serde-saphyr
                // decides whether it is skipped.
                Node::Scalar { .. } => return None,
                root => docs.push((root_line, root)),
            },
            Some(Open::Seq(items)) => items.push(node),
            Some(Open::Map(entries, pending)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => entries.push((key, node)),
            },
        }
    }
    stack.is_empty().then_some(docs)
}

/// Keys are non-null scalars, none is a merge key and none appears twice: how serde-saphyr
/// treats the others is its business.
fn plain_keys(entries: &[(Node<'_>, Node<'_>)]) -> bool {
    let mut keys = Vec::with_capacity(entries.len());
    for (key, _) in entries {
        match key {
            Node::Scalar { text, plain } if !(*plain && (nullish(text) || text == "<<")) => {
                keys.push(text.as_ref());
            }
            _ => return false,
        }
    }
    keys.sort_unstable();
    keys.windows(2).all(|w| w[0] != w[1])
}

/// Plain text that YAML reads as null.
fn nullish(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// What an untyped plain scalar is, where this reader is sure.
enum Plain<'a> {
    Null,
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Text(&'a str),
}

/// Canonical decimals, `true`/`false`, null and text that starts with a letter and is none of
/// YAML 1.1's boolean words: everything else (other radices, exponents, `.inf`, `yes`, leading
/// zeros, underscores, dates) is left to serde-saphyr.
fn classify(text: &str) -> Option<Plain<'_>> {
    if nullish(text) {
        return Some(Plain::Null);
    }
    match text {
        "true" => return Some(Plain::Bool(true)),
        "false" => return Some(Plain::Bool(false)),
        _ => {}
    }
    let first = text.chars().next()?;
    if first.is_alphabetic() {
        const WORDS: [&str; 11] = [
            "y", "yes", "n", "no", "on", "off", "true", "false", "inf", "infinity", "nan",
        ];
        let special = WORDS.iter().any(|w| text.eq_ignore_ascii_case(w));
        return (!special).then_some(Plain::Text(text));
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    let decimal = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !decimal(whole) || (whole.len() > 1 && whole.starts_with('0')) {
        return None;
    }
    match fraction {
        Some(f) if decimal(f) => text.parse().ok().map(Plain::Float),
        Some(_) => None,
        // `-0` is 0 as an integer but -0.0 as a float: which one depends on the field.
        None if negative && whole == "0" => None,
        None if negative => text.parse().ok().map(Plain::Signed),
        None => text.parse().ok().map(Plain::Unsigned),
    }
}

impl Node<'_> {
    /// The text of a scalar that a string field takes as written.
    fn text(&self) -> Result<&str, Unsure> {
        match self {
            Node::Scalar { text, plain } if !(*plain && nullish(text)) => Ok(text),
            _ => Err(Unsure),
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, Node::Scalar { text, plain: true } if nullish(text))
    }
}

impl<'de> Deserializer<'de> for &'de Node<'_> {
    type Error = Unsure;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        match self {
            Node::Scalar { text, plain: false } => visitor.visit_borrowed_str(text),
            Node::Scalar { text, plain: true } => match classify(text).ok_or(Unsure)? {
                Plain::Null => visitor.visit_unit(),
                Plain::Bool(b) => visitor.visit_bool(b),
                Plain::Unsigned(n) => visitor.visit_u64(n),
                Plain::Signed(n) => visitor.visit_i64(n),
                Plain::Float(f) => visitor.visit_f64(f),
                Plain::Text(t) => visitor.visit_borrowed_str(t),
            },
            Node::Map(entries) => visitor.visit_map(Entries {
                entries: entries.iter(),
                value: None,
            }),
            Node::Seq(items) => visitor.visit_seq(Items(items.iter())),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        visitor.visit_borrowed_str(self.text()?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        if self.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Unsure> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        match self {
            Node::Seq(_) => self.deserialize_any(visitor),
            _ => Err(Unsure),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        match self {
            Node::Map(_) => self.deserialize_any(visitor),
            _ => Err(Unsure),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unsure> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unsure> {
        // Unit variants written as plain text; a tagged or mapping form is left to serde-saphyr.
        match self {
            Node::Scalar { text, plain: true } if !nullish(text) => {
                visitor.visit_enum(de::value::BorrowedStrDeserializer::new(text))
            }
            _ => Err(Unsure),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsure> {
        visitor.visit_unit()
    }

    fn deserialize_f32<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Unsure> {
        // serde-saphyr parses the text as f32; through f64 a value could round twice.
        Err(Unsure)
    }

    fn deserialize_char<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Unsure> {
        Err(Unsure)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Unsure> {
        Err(Unsure)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Unsure> {
        Err(Unsure)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _visitor: V,
    ) -> Result<V::Value, Unsure> {
        Err(Unsure)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        _visitor: V,
    ) -> Result<V::Value, Unsure> {
        Err(Unsure)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        _visitor: V,
    ) -> Result<V::Value, Unsure> {
        Err(Unsure)
    }

    // A typed number or boolean read through the untyped path: serde's visitors take any
    // integer in range, and what `classify` accepts parses to the same value either way.
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f64 unit
    }
}

struct Items<'de, 'a>(std::slice::Iter<'de, Node<'a>>);

impl<'de> de::SeqAccess<'de> for Items<'de, '_> {
    type Error = Unsure;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Unsure> {
        self.0.next().map(|item| seed.deserialize(item)).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Entries<'de, 'a> {
    entries: std::slice::Iter<'de, (Node<'a>, Node<'a>)>,
    value: Option<&'de Node<'a>>,
}

impl<'de> de::MapAccess<'de> for Entries<'de, '_> {
    type Error = Unsure;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Unsure> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Unsure> {
        seed.deserialize(self.value.take().ok_or(Unsure)?)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}
