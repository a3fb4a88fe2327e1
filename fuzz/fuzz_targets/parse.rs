//! Fuzzes the span-tree parser alone: it must never panic, and every span it reports must lie
//! inside the text on character boundaries (the editor slices the text at those offsets).

#![no_main]

use attune::yamledit::{Kind, Node, parse};
use libfuzzer_sys::fuzz_target;

fn check_spans(text: &str, node: &Node) {
    assert!(
        node.start <= node.end && node.end <= text.len(),
        "span {}..{} outside a {}-byte text",
        node.start,
        node.end,
        text.len()
    );
    assert!(
        text.is_char_boundary(node.start) && text.is_char_boundary(node.end),
        "span {}..{} splits a character",
        node.start,
        node.end
    );
    match &node.kind {
        Kind::Map { entries, .. } => entries.iter().for_each(|(k, v)| {
            check_spans(text, k);
            check_spans(text, v);
        }),
        Kind::Seq { items, .. } => items.iter().for_each(|i| check_spans(text, i)),
        Kind::Scalar { .. } | Kind::Alias(_) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(stream) = parse(&text) {
        for doc in &stream.docs {
            check_spans(&text, &doc.root);
        }
    }
});
