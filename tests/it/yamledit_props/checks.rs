//! The properties' checks: edits land, nothing outside them moves, styles are kept, line
//! endings are kept, a second application changes nothing.

use attune::yamledit::{Kind, Node, Seg, Set, Stream, parse, set_values};
use proptest::prelude::*;
use similar::{DiffTag, TextDiff};

use super::generate::Case;

pub(super) fn walk<'a>(root: &'a Node, path: &[Seg]) -> (&'a Node, bool) {
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

/// The scalar at `path`, if the whole path exists and ends in a (non-null) scalar.
pub(super) fn existing_scalar<'a>(stream: &'a Stream, set: &Set) -> Option<&'a Node> {
    let (node, found) = walk(&stream.docs.get(set.doc)?.root, &set.path);
    (found && matches!(node.kind, Kind::Scalar { .. })).then_some(node)
}

pub(super) fn style_of(node: &Node) -> String {
    match &node.kind {
        Kind::Scalar { style, .. } => format!("{style:?}"),
        _ => "not a scalar".to_owned(),
    }
}

/// 0-based line of byte `at`.
pub(super) fn line_of(text: &str, at: usize) -> usize {
    text[..at].matches('\n').count()
}

pub(super) fn line_at(text: &str, at: usize) -> (usize, usize) {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    (start, end)
}

/// Property 1: the output re-parses and holds the new values.
pub(super) fn check_values(out: &str, sets: &[Set]) -> Result<Stream, TestCaseError> {
    let stream = parse(out).map_err(|e| TestCaseError::fail(format!("output: {e}")))?;
    for set in sets {
        let doc = stream
            .docs
            .get(set.doc)
            .ok_or_else(|| TestCaseError::fail(format!("document {} vanished", set.doc)))?;
        let (node, found) = walk(&doc.root, &set.path);
        prop_assert!(found, "{:?} missing from the output", set.path);
        prop_assert_eq!(node.as_str(), Some(set.value.as_str()), "at {:?}", set.path);
    }
    Ok(stream)
}

/// Whether serde-saphyr (an independent reader) reads `text`, written plain, as a string.
pub(super) fn reads_as_string(text: &str) -> bool {
    serde_saphyr::from_str::<serde_json::Value>(text).is_ok_and(|v| v.is_string())
}

/// The style a replaced scalar must have: its old one, except that a plain string whose new
/// value would read as a number is double-quoted, so that it stays a string.
pub(super) fn expected_style(old: &Node, new: &Node) -> String {
    let keeps_type = style_of(old) == "Plain"
        && old.as_str().is_some_and(reads_as_string)
        && new.as_str().is_some_and(|v| !reads_as_string(v));
    if keeps_type {
        "DoubleQuoted".to_owned()
    } else {
        style_of(old)
    }
}

/// Property 2, pure replacements: outside the replaced scalars the texts are identical, and
/// each replacement keeps its quoting style, except that a plain string whose new value would
/// read as a number is double-quoted, so that it stays a string.
pub(super) fn check_replacements_only(
    text: &str,
    before: &Stream,
    out: &str,
    after: &Stream,
    sets: &[Set],
) -> Result<(), TestCaseError> {
    let mut pairs: Vec<(&Node, &Node)> = sets
        .iter()
        .map(|s| {
            (
                existing_scalar(before, s).unwrap(),
                existing_scalar(after, s).unwrap(),
            )
        })
        .collect();
    pairs.sort_by_key(|(b, _)| b.start);
    let (mut at_in, mut at_out) = (0, 0);
    for (b, a) in &pairs {
        prop_assert_eq!(
            &text[at_in..b.start],
            &out[at_out..a.start],
            "text before byte {} changed",
            b.start
        );
        prop_assert_eq!(
            expected_style(b, a),
            style_of(a),
            "quoting at line {} (from {:?} to {:?})",
            b.line,
            b.as_str(),
            a.as_str()
        );
        at_in = b.end;
        at_out = a.end;
    }
    prop_assert_eq!(
        &text[at_in..],
        &out[at_out..],
        "text after the last edit changed"
    );
    Ok(())
}

/// Property 2, with insertions: the line diff deletes only lines holding a replaced scalar or
/// a landing spot that must change (a flow collection, a null), replaced scalars differ only
/// inside their span, and every added line is a resources key.
pub(super) fn check_insertions(
    text: &str,
    before: &Stream,
    out: &str,
    after: &Stream,
    sets: &[Set],
) -> Result<(), TestCaseError> {
    let mut allowed = std::collections::BTreeSet::new();
    // Lines where a flow collection receives new entries: anything else on them may shift.
    let mut flow_lines = std::collections::BTreeSet::new();
    let mut replaced = Vec::new();
    for set in sets {
        let Some(doc) = before.docs.get(set.doc) else {
            continue;
        };
        let (node, found) = walk(&doc.root, &set.path);
        let scalar = matches!(node.kind, Kind::Scalar { .. });
        let lines = line_of(text, node.start)..=line_of(text, node.end);
        if scalar || node.is_flow() {
            allowed.extend(lines.clone());
        }
        if node.is_flow() {
            flow_lines.extend(lines);
        }
        if found && scalar {
            replaced.push((set, node));
        }
    }
    // A line holding replaced scalars differs only inside their values.
    let mut by_line: std::collections::BTreeMap<usize, Vec<(&Node, &Node)>> = Default::default();
    for (set, node) in replaced {
        let new = existing_scalar(after, set).unwrap();
        prop_assert_eq!(expected_style(node, new), style_of(new));
        prop_assert_eq!(
            line_of(text, node.start),
            line_of(text, node.end),
            "multi-line scalar"
        );
        by_line
            .entry(line_of(text, node.start))
            .or_default()
            .push((node, new));
    }
    for (line, mut pairs) in by_line {
        if flow_lines.contains(&line) {
            continue;
        }
        pairs.sort_by_key(|(b, _)| b.start);
        let (mut at_in, le) = line_at(text, pairs[0].0.start);
        let (mut at_out, ne) = line_at(out, pairs[0].1.start);
        for (b, a) in &pairs {
            prop_assert_eq!(&text[at_in..b.start], &out[at_out..a.start]);
            at_in = b.end;
            at_out = a.end;
        }
        // (An unterminated last line may gain its CR when lines are appended after it.)
        prop_assert_eq!(
            text[at_in..le].trim_end_matches('\r'),
            out[at_out..ne].trim_end_matches('\r')
        );
    }
    if !text.ends_with('\n') {
        // The last line gains a line break when something is appended after it.
        allowed.insert(text.matches('\n').count());
    }
    let diff = TextDiff::from_lines(text, out);
    let new_lines: Vec<&str> = out.split_inclusive('\n').collect();
    for op in diff.ops() {
        let (tag, old, new) = op.as_tag_tuple();
        if tag == DiffTag::Equal {
            continue;
        }
        for line in old.clone() {
            prop_assert!(
                allowed.contains(&line),
                "line {} changed: {:?}",
                line + 1,
                text.split_inclusive('\n').nth(line)
            );
        }
        let foreign = new_lines[new]
            .iter()
            .filter(|l| {
                let t = l.trim_start().trim_start_matches("- ");
                !["resources:", "requests:", "cpu: ", "memory: "]
                    .iter()
                    .any(|k| t.starts_with(k))
            })
            .count();
        prop_assert!(
            foreign <= old.len(),
            "added lines other than resources keys"
        );
    }
    Ok(())
}

pub(super) fn check_line_endings(out: &str, crlf: bool) -> Result<(), TestCaseError> {
    let bare = out
        .match_indices('\n')
        .filter(|(i, _)| !out[..*i].ends_with('\r'))
        .count();
    if crlf {
        prop_assert_eq!(bare, 0, "bare LF in a CRLF file");
    } else {
        prop_assert!(!out.contains('\r'), "CR in an LF file");
    }
    Ok(())
}

pub(super) fn check_case(case: &Case) -> Result<(), TestCaseError> {
    let Case { text, crlf, sets } = case;
    let before = parse(text).map_err(|e| TestCaseError::fail(format!("generated: {e}")))?;
    let out = set_values(text, sets, &[])
        .map_err(|e| TestCaseError::fail(format!("set_values refused: {e}")))?;
    let after = check_values(&out, sets)?;
    if sets.is_empty() {
        prop_assert_eq!(&out, text);
    }
    if sets.iter().all(|s| existing_scalar(&before, s).is_some()) {
        check_replacements_only(text, &before, &out, &after, sets)?;
    } else {
        check_insertions(text, &before, &out, &after, sets)?;
    }
    check_line_endings(&out, *crlf)?;
    // Property 3: idempotent.
    let again = set_values(&out, sets, &[])
        .map_err(|e| TestCaseError::fail(format!("second application refused: {e}")))?;
    prop_assert_eq!(again, out, "second application changed the text");
    Ok(())
}
