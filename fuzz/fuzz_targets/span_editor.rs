//! Fuzzes the byte-exact span editor.
//!
//! Input layout: a small "assignment program" (see `common/program.rs`) followed by the YAML
//! text (invalid UTF-8 is replaced, lossily).
//!
//! When `set_values` succeeds the output must re-parse, hold the new values at their paths,
//! be a fixed point of the same assignments, keep every input line that no edit touched (in
//! order), equal the input when there were no assignments, and read the same as the input
//! except at the assigned paths to an independent reader (serde-saphyr, `common/oracle.rs`).

#![no_main]

#[path = "common/oracle.rs"]
mod oracle;
#[path = "common/program.rs"]
mod program;

use attune::yamledit::{Kind, Node, Seg, parse, set_values};
use libfuzzer_sys::fuzz_target;
use program::{decode, independent};

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

    // An independent reader sees the same values, except where the assignments say.
    let assigned: Vec<oracle::Assigned> = sets
        .iter()
        .map(|s| oracle::Assigned {
            doc: s.doc,
            path: &s.path,
            value: &s.value,
        })
        .collect();
    oracle::check(&text, &out, &assigned);
});
