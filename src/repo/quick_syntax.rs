//! A quick pass that vouches for the plainest YAML without running the parser.
//!
//! Most files of a large repository (ConfigMaps, Services, RBAC, CRDs) need no tree: the only
//! question is whether they are valid YAML, so a broken one is reported. [`surely_valid`]
//! answers "yes" for a conservative subset — block mappings and sequences indented with spaces,
//! keys of plain characters, plain scalars without `: `, simple quoted scalars, `{}`/`[]`,
//! one-line flow sequences of simple items, literal and folded block scalars, comments and `---`
//! — and "don't know" for everything else (tabs, CR, non-ASCII, anchors, aliases, tags, escapes,
//! multi-line plain scalars, flow mappings, directives, unusual indentation). "Don't know" means
//! the real parser decides, so the notice for a broken file is the parser's own. Soundness is
//! what matters (never "yes" for text the parser rejects); the property test in `tests` checks
//! it against the parser on generated and mutated text.

/// Whether `text` is in the subset, and so certainly valid YAML.
pub fn surely_valid(text: &str) -> bool {
    if !text
        .bytes()
        .all(|b| b == b'\n' || (0x20..0x7f).contains(&b))
    {
        return false;
    }
    let mut state = State::default();
    text.split('\n').all(|line| state.line(line))
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Coll {
    Map,
    Seq,
}

/// A line that may open a nested block: the entry's column and what may follow.
#[derive(Clone, Copy, Debug)]
struct Open {
    /// A nested mapping must be indented more than this.
    map_above: usize,
    /// A nested sequence must be indented at least this much (`key:` then `- x` at the key's
    /// column is the indentless sequence).
    seq_from: usize,
}

#[derive(Default, Debug)]
struct State {
    /// Open collections, innermost last, with their indentation.
    stack: Vec<(usize, Coll)>,
    open: Option<Open>,
    /// Inside a block scalar whose parent is indented this much; the content's indentation
    /// once its first line is seen.
    block: Option<(usize, Option<usize>)>,
}

const MAX_DEPTH: usize = 64;
const MAX_KEY: usize = 256;

impl State {
    fn line(&mut self, line: &str) -> bool {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let rest = &line[indent..];
        if let Some((parent, content)) = self.block {
            if rest.is_empty() {
                // A blank line with spaces before the first content line could set its
                // indentation wrongly; leave that to the parser.
                return content.is_some() || indent == 0;
            }
            match content {
                None if indent > parent => {
                    self.block = Some((parent, Some(indent)));
                    return true;
                }
                Some(m) if indent >= m => return true,
                Some(_) if indent > parent => return false,
                _ => self.block = None,
            }
        }
        if rest.is_empty() || rest.starts_with('#') {
            return true;
        }
        if line.trim_end() == "---" {
            *self = State::default();
            return true;
        }
        if indent == 0 && (rest.starts_with("...") || rest.starts_with('%')) {
            return false;
        }
        if let Some(item) = rest.strip_prefix('-') {
            if !(item.is_empty() || item.starts_with(' ')) {
                return false;
            }
            return self.seq_entry(indent, item.strip_prefix(' ').unwrap_or(item));
        }
        match split_key(rest) {
            Some((_, value)) => self.place(indent, Coll::Map) && self.value(indent, value),
            None => false,
        }
    }

    /// `- ...` at `indent`; `item` is what follows the dash and its space.
    fn seq_entry(&mut self, indent: usize, item: &str) -> bool {
        if !self.place(indent, Coll::Seq) {
            return false;
        }
        if item.starts_with(' ') || item.starts_with('-') {
            return false;
        }
        match split_key(item) {
            // `- key: value` opens a mapping at the key's column.
            Some((_, value)) => {
                let col = indent + 2;
                self.push(col, Coll::Map) && self.value(col, value)
            }
            None => self.value(indent, item),
        }
    }

    /// Makes `(indent, coll)` the innermost open collection, closing deeper ones or opening a
    /// new one where the previous line allows it.
    fn place(&mut self, indent: usize, coll: Coll) -> bool {
        if let Some(open) = self.open.take() {
            let fits = match coll {
                Coll::Map => indent > open.map_above,
                Coll::Seq => indent >= open.seq_from,
            };
            if fits
                && self
                    .stack
                    .last()
                    .is_none_or(|&(i, c)| i < indent || c != coll)
            {
                return self.push(indent, coll);
            }
        }
        while self.stack.last().is_some_and(|&(i, _)| i > indent) {
            self.stack.pop();
        }
        // A mapping key at the column of an indentless sequence (a `key:`'s items at the key's
        // column) ends the sequence; a sequence that is not a mapping's value cannot be ended so.
        let n = self.stack.len();
        if coll == Coll::Map
            && n >= 2
            && self.stack[n - 1] == (indent, Coll::Seq)
            && self.stack[n - 2] == (indent, Coll::Map)
        {
            self.stack.pop();
        }
        match self.stack.last() {
            Some(&top) => top == (indent, coll),
            None => indent == 0 && self.push(indent, coll),
        }
    }

    fn push(&mut self, indent: usize, coll: Coll) -> bool {
        self.stack.push((indent, coll));
        self.stack.len() <= MAX_DEPTH
    }

    /// The value after `key:` or `- ` of an entry whose collection is at `col`.
    fn value(&mut self, col: usize, value: &str) -> bool {
        let value = value.trim_end_matches(' ');
        if value.is_empty() || value.starts_with('#') {
            self.open = Some(Open {
                map_above: col,
                seq_from: col,
            });
            return true;
        }
        if matches!(value, "|" | "|-" | "|+" | ">" | ">-" | ">+") {
            self.block = Some((col, None));
            return true;
        }
        let rest = match value.as_bytes()[0] {
            b'"' => quoted(&value[1..], b'"'),
            b'\'' => quoted(&value[1..], b'\''),
            b'[' => flow_seq(&value[1..]),
            b'{' => value[1..].strip_prefix('}'),
            _ => plain(value),
        };
        rest.is_some_and(after_value)
    }
}

/// `key: rest` or `key:` with a plain key; `None` for anything else.
fn split_key(s: &str) -> Option<(&str, &str)> {
    let end = s.find(':')?;
    let (key, after) = (&s[..end], &s[end + 1..]);
    let first = key.bytes().next()?;
    let ok = key.len() <= MAX_KEY
        && (first.is_ascii_alphanumeric() || first == b'_')
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'));
    (ok && (after.is_empty() || after.starts_with(' ')))
        .then(|| (key, after.trim_start_matches(' ')))
}

/// A plain scalar in block context, up to a comment; what follows it (`""` or the comment).
fn plain(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let first_ok = b[0].is_ascii_alphanumeric()
        || matches!(
            b[0],
            b'/' | b'.' | b'_' | b'$' | b'(' | b'+' | b'~' | b'^' | b'=' | b';'
        )
        || (b[0] == b'-' && b.get(1).is_some_and(u8::is_ascii_alphanumeric));
    if !first_ok {
        return None;
    }
    for (i, &c) in b.iter().enumerate() {
        if c == b':' && b.get(i + 1).is_none_or(|&n| n == b' ') {
            return None;
        }
        if c == b'#' && b[i - 1] == b' ' {
            return Some(&s[i - 1..]);
        }
    }
    Some("")
}

/// A one-line quoted scalar without escapes (a doubled `''` inside single quotes is fine);
/// what follows the closing quote.
fn quoted(s: &str, quote: u8) -> Option<&str> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if quote == b'"' => return None,
            c if c == quote => {
                if quote == b'\'' && b.get(i + 1) == Some(&b'\'') {
                    i += 2;
                    continue;
                }
                return Some(&s[i + 1..]);
            }
            _ => i += 1,
        }
    }
    None
}

/// `[a, "b", c]` on one line with simple items (or `[]`); what follows the `]`.
fn flow_seq(s: &str) -> Option<&str> {
    let close = s.find(']')?;
    let (inner, rest) = (s[..close].trim_matches(' '), &s[close + 1..]);
    if inner.is_empty() {
        return Some(rest);
    }
    let simple = |item: &str| {
        let item = item.trim_matches(' ');
        match item.strip_prefix('"') {
            Some(q) => q
                .strip_suffix('"')
                .is_some_and(|q| !q.bytes().any(|b| matches!(b, b'"' | b'\\'))),
            None => {
                item.bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphanumeric())
                    && item.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/')
                    })
            }
        }
    };
    inner.split(',').all(simple).then_some(rest)
}

/// After a complete value only spaces and a comment may follow.
fn after_value(rest: &str) -> bool {
    let trimmed = rest.trim_start_matches(' ');
    trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < rest.len())
}

#[cfg(test)]
mod tests {
    use super::surely_valid;
    use crate::yamledit::check_syntax;
    use proptest::prelude::*;

    #[test]
    fn plain_manifests_are_vouched_for() {
        for text in [
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n    app.kubernetes.io/part-of: x\ndata:\n  key-0: \"value 0\"\n  config.yaml: |\n    server:\n      port: 8080\n",
            "kind: Role\nrules:\n- apiGroups: [\"\"]\n  resources: [\"configmaps\", \"secrets\"]\n  verbs: [get, list]\n---\nkind: RoleBinding\nsubjects:\n- kind: ServiceAccount\n  name: x # why\n",
            "# header\n---\nspec:\n  ports:\n  - port: 80\n    targetPort: 8080\n  x: {}\nlist:\n- a\n- b: 1\n  c:\n  - d\n  e: 'it''s'\n",
        ] {
            assert!(surely_valid(text), "{text}");
            assert!(check_syntax(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn what_it_cannot_vouch_for_goes_to_the_parser() {
        for text in [
            "a: 1\n  b: 2\n",             // a deeper key after a value
            "a:\n\tb: 1\n",               // a tab
            "a: &x 1\nb: *x\n",           // anchors
            "a: \"open\n",                // an unterminated quote
            "a: b: c\n",                  // a mapping value in a plain scalar
            "a:\n  - x\n - y\n",          // a misaligned item
            "key: |\n  text\n   \n x\n",  // less indented than the block's content
            "a: 1\n- b\n",                // a sequence after a mapping
            "- a\nkey: b\n",              // a mapping after a top-level sequence
            "- |\n key: value\nkey: |\n", // the same, after a block scalar
            "a: \"x\" y\n",               // text after a quoted scalar
        ] {
            assert!(!surely_valid(text), "{text:?}");
        }
    }

    const FRAGMENTS: [&str; 40] = [
        "key: value",
        "key:",
        "- item",
        "- key: v",
        "-",
        "key: |",
        "key: >-",
        "text here",
        "---",
        "# c",
        "key: \"q\"",
        "key: 'q'",
        "key: [a, \"b\"]",
        "key: {}",
        "key: []",
        "key: a: b",
        "key: v # c",
        "key: v#c",
        "- - x",
        "key: 'it''s'",
        "key: \"a",
        "...",
        ": x",
        "? x",
        "key: &a x",
        "key: *a",
        "x",
        "k.e/y-1: v",
        "key: -1",
        "key: :x",
        "key: x:",
        "- \"q\": 1",
        "key: [a, b",
        "key: \"a\" # c",
        "key: \"a\"b",
        "- |",
        "%YAML 1.2",
        "key: ~",
        "- key:",
        "key: http://x:80/y",
    ];

    fn line() -> impl Strategy<Value = String> {
        (
            0usize..7,
            0..FRAGMENTS.len(),
            proptest::option::of(("[ -~]", 0usize..12)),
        )
            .prop_map(|(indent, f, noise)| {
                let mut s = format!("{}{}", " ".repeat(indent), FRAGMENTS[f]);
                if let Some((c, at)) = noise {
                    let at = at.min(s.len());
                    s.insert_str(at, &c);
                }
                s
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        /// Never "valid" for what the parser rejects.
        #[test]
        fn vouching_is_sound(lines in proptest::collection::vec(line(), 1..12)) {
            let text = lines.join("\n") + "\n";
            if surely_valid(&text) {
                prop_assert!(check_syntax(&text).is_ok(), "vouched for {text:?}");
            }
        }
    }
}
