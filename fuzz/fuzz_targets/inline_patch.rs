//! Fuzzes edits inside an inline `patch: |` block of a kustomization.
//!
//! Input layout: one wrapper byte (block chomping `|`, `|-` or `|+`; indentation 2 or 4; an
//! entry before the patch or not; `target:` before or after `patch:`), then the assignment
//! program of `common/program.rs`, then the patch text that goes into the block.
//!
//! When `set_values` succeeds, the output must re-parse with the block still a string, keep
//! every byte before and after the block, read the same outside the block and, inside it,
//! read the same except the assigned values (serde-saphyr as an independent oracle), and be a
//! fixed point of the same edit.

#![no_main]

#[path = "common/oracle.rs"]
mod oracle;
#[path = "common/program.rs"]
mod program;

use attune::yamledit::{EmbeddedSet, Node, Seg, parse, set_values};
use libfuzzer_sys::fuzz_target;

/// The kustomization around `patch`, and the path of the block scalar in it.
fn wrap(style: u8, patch: &str) -> (String, Vec<Seg>) {
    let chomp = ["|", "|-", "|+"][usize::from(style % 3)];
    let indent = if style & 4 == 0 { "  " } else { "    " };
    let before = style & 8 != 0;
    let target_first = style & 16 != 0;
    let mut out = String::from(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../base\npatches:\n",
    );
    if before {
        out.push_str("- path: replicas.yaml\n");
    }
    let target = "  target:\n    kind: Deployment\n    name: api\n";
    out.push_str(if target_first {
        "- target:\n    kind: Deployment\n    name: api\n  patch: "
    } else {
        "- patch: "
    });
    out.push_str(chomp);
    out.push('\n');
    for line in patch.split_inclusive('\n') {
        if line.trim_end_matches(['\n', '\r']).is_empty() {
            out.push_str(line);
        } else {
            out.push_str("  ");
            out.push_str(indent);
            out.push_str(line);
        }
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    if !target_first {
        out.push_str(target);
    }
    out.push_str("- path: memory.yaml\n");
    let path = vec![
        Seg::Key("patches".into()),
        Seg::Index(usize::from(before)),
        Seg::Key("patch".into()),
    ];
    (out, path)
}

fn at<'a>(root: &'a Node, path: &[Seg]) -> Option<&'a Node> {
    let mut node = root;
    for seg in path {
        node = match seg {
            Seg::Key(k) => node.get(k)?,
            Seg::Index(i) => node.items().get(*i)?,
        };
    }
    Some(node)
}

fuzz_target!(|data: &[u8]| {
    let Some((&style, rest)) = data.split_first() else {
        return;
    };
    let Some((sets, text)) = program::decode(rest) else {
        return;
    };
    // An inline patch holds one document.
    let sets: Vec<_> = program::independent(sets)
        .into_iter()
        .filter(|s| s.doc == 0)
        .collect();
    let patch = String::from_utf8_lossy(text);
    let (outer, path) = wrap(style, &patch);
    let Ok(stream) = parse(&outer) else {
        return;
    };
    // Only inputs whose block really is the patch's text (the wrapper cannot hold every text).
    let Some(block) = stream.docs.first().and_then(|d| at(&d.root, &path)) else {
        return;
    };
    let Some(inner) = block.as_str().map(str::to_owned) else {
        return;
    };
    let (start, end) = (block.start, block.end);
    let embedded = [EmbeddedSet {
        doc: 0,
        path: path.clone(),
        sets: sets.clone(),
    }];
    let Ok(out) = set_values(&outer, &[], &embedded) else {
        return;
    };

    let after = parse(&out).unwrap_or_else(|e| panic!("output does not parse: {e}\n{out:?}"));
    let inner_after = after
        .docs
        .first()
        .and_then(|d| at(&d.root, &path))
        .and_then(Node::as_str)
        .unwrap_or_else(|| panic!("the inline patch is no longer a string\n{out:?}"))
        .to_owned();
    assert_eq!(
        &out[..start],
        &outer[..start],
        "bytes before the block changed"
    );
    assert!(
        out.ends_with(&outer[end..]),
        "bytes after the block changed\ninput {outer:?}\noutput {out:?}"
    );
    if sets.is_empty() {
        assert_eq!(out, outer, "no assignments, yet the text changed");
    }

    oracle::same_except(&outer, &out, 0, &path);
    let assigned: Vec<oracle::Assigned> = sets
        .iter()
        .map(|s| oracle::Assigned {
            doc: 0,
            path: &s.path,
            value: &s.value,
        })
        .collect();
    oracle::check(&inner, &inner_after, &assigned);

    match set_values(&out, &[], &embedded) {
        Ok(again) => assert_eq!(again, out, "second application changed the text"),
        Err(e) => panic!("second application failed: {e}\ninput {outer:?}\noutput {out:?}"),
    }
});
