//! Fuzzes the byte-exact span editor.
//!
//! Input layout: a small "assignment program" followed by the YAML text.
//!
//! * byte 0: number of assignments (`% 5`);
//! * per assignment, a header byte `m`: document `m % 3`; bit 2 picks a canonical Kubernetes
//!   resources path (one more byte: container, requests/limits, cpu/memory, pod or template)
//!   or a free path of `1 + (m >> 3) % 8` segments (one byte each, from a fixed alphabet);
//!   then one byte choosing the value from a list of quantities and tricky strings;
//! * the rest is the YAML text (invalid UTF-8 is replaced, lossily).
//!
//! When `set_values` succeeds the output must re-parse, hold the new values at their paths,
//! be a fixed point of the same assignments, keep every input line that no edit touched (in
//! order), and equal the input when there were no assignments.

#![no_main]

use attune::yamledit::{Kind, Node, Seg, Set, parse, set_values};
use libfuzzer_sys::fuzz_target;

const KEYS: &[&str] = &[
    "spec",
    "template",
    "containers",
    "resources",
    "requests",
    "limits",
    "cpu",
    "memory",
    "name",
    "image",
    "metadata",
    "initContainers",
    "a",
    "",
    "a b",
    "#",
    "-",
    "x: y",
    "1",
    "null",
];

const VALUES: &[&str] = &[
    "100m",
    "250m",
    "1",
    "0.5",
    "64Mi",
    "1Gi",
    "128974848",
    "1e3",
    "",
    "a: b",
    "#x",
    "'",
    "\"",
    "a b",
    "- x",
    "null",
    "~",
    "true",
    "{a}",
    "[x]",
    "grüße ✓",
    "line\nbreak",
    "tab\tx",
    "back\\slash",
    "*x",
    "&y",
    "!tag",
    "%x",
    "@x",
    "`x",
    "0x1F",
    "-1",
    ".5",
    "+1",
    " lead",
    "trail ",
    ":",
    "a #b",
    "\r",
    "\u{0}",
    "\u{feff}",
    "? x",
    "|",
    ">",
    "---",
    "...",
];

struct Program<'a> {
    bytes: &'a [u8],
}

impl Program<'_> {
    fn next(&mut self) -> Option<u8> {
        let (first, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(*first)
    }
}

fn decode(data: &[u8]) -> Option<(Vec<Set>, &[u8])> {
    let mut p = Program { bytes: data };
    let count = p.next()? % 5;
    let mut sets = Vec::new();
    for _ in 0..count {
        let m = p.next()?;
        let doc = usize::from(m % 3);
        let path = if m & 4 != 0 {
            let c = p.next()?;
            let mut path = Vec::new();
            if c & 16 == 0 {
                path.extend([Seg::Key("spec".into()), Seg::Key("template".into())]);
            }
            path.extend([
                Seg::Key("spec".into()),
                Seg::Key("containers".into()),
                Seg::Index(usize::from(c % 3)),
                Seg::Key("resources".into()),
                Seg::Key(if c & 4 == 0 { "requests" } else { "limits" }.into()),
                Seg::Key(if c & 8 == 0 { "cpu" } else { "memory" }.into()),
            ]);
            path
        } else {
            let depth = 1 + usize::from(m >> 3) % 8;
            let mut path = Vec::with_capacity(depth);
            for _ in 0..depth {
                let s = p.next()?;
                path.push(if s % 4 == 0 {
                    Seg::Index(usize::from(s >> 2) % 3)
                } else {
                    Seg::Key(KEYS[usize::from(s >> 2) % KEYS.len()].into())
                });
            }
            path
        };
        let value = VALUES[usize::from(p.next()?) % VALUES.len()].to_owned();
        sets.push(Set { doc, path, value });
    }
    Some((sets, p.bytes))
}

/// Drops assignments that repeat a path or sit on another's path (their outcome depends on
/// order and is not what this target checks).
fn independent(sets: Vec<Set>) -> Vec<Set> {
    let mut kept: Vec<Set> = Vec::new();
    for set in sets {
        let clash = kept.iter().any(|k| {
            k.doc == set.doc && (k.path.starts_with(&set.path) || set.path.starts_with(&k.path))
        });
        if !clash {
            kept.push(set);
        }
    }
    kept
}

/// The node at `path`, or the deepest existing node on it.
fn deepest<'a>(root: &'a Node, path: &[Seg]) -> (&'a Node, bool) {
    let mut node = root;
    for seg in path {
        let next = match (&node.kind, seg) {
            (Kind::Map { entries, .. }, Seg::Key(key)) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            (Kind::Seq { items, .. }, Seg::Index(i)) => items.get(*i),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return (node, false),
        }
    }
    (node, true)
}

fn content(line: &str) -> &str {
    line.trim_end_matches(['\n', '\r'])
}

fuzz_target!(|data: &[u8]| {
    let Some((sets, text)) = decode(data) else {
        return;
    };
    let sets = independent(sets);
    let text = String::from_utf8_lossy(text);
    let Ok(out) = set_values(&text, &sets, &[]) else {
        return;
    };
    if sets.is_empty() {
        assert_eq!(out, text, "no assignments, yet the text changed");
    }

    // The output parses and holds every new value.
    let after = parse(&out).unwrap_or_else(|e| panic!("output does not parse: {e}\n{out:?}"));
    for set in &sets {
        let doc = after
            .docs
            .get(set.doc)
            .unwrap_or_else(|| panic!("document {} vanished", set.doc));
        let (node, found) = deepest(&doc.root, &set.path);
        assert!(found, "{:?} missing from the output\n{out:?}", set.path);
        assert_eq!(node.as_str(), Some(set.value.as_str()), "at {:?}", set.path);
    }

    // Idempotent: the output is a fixed point of the same assignments.
    match set_values(&out, &sets, &[]) {
        Ok(again) => assert_eq!(again, out, "second application changed the text"),
        Err(e) => panic!("second application failed: {e}\ninput {text:?}\noutput {out:?}"),
    }

    // Every input line that no edit touched survives, in order.
    let before = parse(&text).unwrap_or_else(|e| panic!("input accepted but unparseable: {e}"));
    let mut touched: Vec<(usize, usize)> = Vec::new();
    for set in &sets {
        let Some(doc) = before.docs.get(set.doc) else {
            continue; // a new document in an empty text
        };
        let (node, _) = deepest(&doc.root, &set.path);
        if matches!(node.kind, Kind::Scalar { .. }) || node.is_flow() {
            touched.push((node.start, node.end));
        }
    }
    let mut offset = 0;
    let mut kept = Vec::new();
    for line in text.split_inclusive('\n') {
        let end = offset + line.len();
        let hit = touched.iter().any(|&(s, e)| s <= end && e >= offset);
        if !hit {
            kept.push(content(line));
        }
        offset = end;
    }
    let mut out_lines = out.split_inclusive('\n').map(content);
    for line in kept {
        assert!(
            out_lines.any(|o| o == line),
            "untouched line {line:?} lost or reordered\ninput {text:?}\noutput {out:?}"
        );
    }
});
