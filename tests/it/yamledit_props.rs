//! Properties of the span editor over generated Kubernetes manifests: edits land, nothing
//! outside them moves, a second application changes nothing, and no input makes it panic.
//!
//! `model` is what gets generated and how it is written, `generate` the strategies, `checks`
//! the properties' checks; the properties themselves are here.

mod checks;
mod generate;
mod model;

use attune::yamledit::{Set, YamlError, parse, set_values};
use proptest::prelude::*;
use proptest::test_runner::Config;

use checks::{check_case, check_values};
use generate::{case, requests_path, wish};

/// Byte-level mutations of a text, from an alphabet of YAML-significant characters.
fn mutate(text: &str, edits: &[(usize, u8, usize)]) -> String {
    const ALPHABET: &[&str] = &[
        " ", "\n", "\r", "\t", ":", "-", "#", "{", "}", "[", "]", "\"", "'", "&a", "*a", "|", ">",
        "?", ",", "!", "%", "@", "é", "✓", "---", "...", "a", "0", "\u{feff}",
    ];
    let mut bytes = text.as_bytes().to_vec();
    for &(at, op, ch) in edits {
        let at = if bytes.is_empty() {
            0
        } else {
            at % (bytes.len() + 1)
        };
        let piece = ALPHABET[ch % ALPHABET.len()].as_bytes();
        match op % 4 {
            0 => {
                bytes.splice(at..at, piece.iter().copied());
            }
            1 if at < bytes.len() => {
                bytes.remove(at);
            }
            2 if at < bytes.len() => bytes[at] = piece[0],
            // Raw byte flip: may leave invalid UTF-8, replaced below.
            _ if at < bytes.len() => bytes[at] ^= 0x80,
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Properties.

/// 256 cases by default (a few seconds); `PROPTEST_CASES` asks for more.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(Config::with_cases(cases()))]

    /// Properties 1–3 over generated manifests.
    #[test]
    fn edits_land_keep_every_other_byte_and_are_idempotent(case in case()) {
        check_case(&case)?;
    }

    /// Property 4: arbitrary text never makes the editor panic.
    #[test]
    fn arbitrary_text_never_panics(text in ".*", wishes in prop::collection::vec(wish(), 0..4)) {
        let sets: Vec<Set> = wishes
            .iter()
            .map(|w| Set {
                doc: w.doc % 2,
                path: requests_path(w.container % 2, if w.memory { "memory" } else { "cpu" }),
                value: w.value.clone(),
            })
            .collect();
        let _ = set_values(&text, &sets, &[]);
        let _ = parse(&text);
    }

    /// Property 4 on near-manifests: mutated texts never make the editor panic, and whatever
    /// it accepts it writes back verifiably and idempotently.
    #[test]
    fn mutated_manifests_never_panic(
        case in case(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<usize>()), 1..6),
    ) {
        let text = mutate(&case.text, &edits);
        let _ = parse(&text);
        if let Ok(out) = set_values(&text, &case.sets, &[]) {
            check_values(&out, &case.sets)?;
            let again = set_values(&out, &case.sets, &[])
                .map_err(|e| TestCaseError::fail(format!("second application refused: {e}")))?;
            prop_assert_eq!(again, out, "second application changed the text");
        }
    }
}

/// Two assignments to one path used to be accepted when they inserted (the last won) and refused
/// when they replaced, so a batch applied twice was not idempotent (found by the generator).
/// A batch now names each path once, whether the path exists or not.
#[test]
fn duplicate_paths_are_treated_alike_when_inserting_and_replacing() {
    let text = "spec:\n  template:\n    spec:\n      containers:\n      - name: a\n";
    let sets = [
        Set {
            doc: 0,
            path: requests_path(0, "cpu"),
            value: "1m".to_owned(),
        },
        Set {
            doc: 0,
            path: requests_path(0, "cpu"),
            value: "2m".to_owned(),
        },
    ];
    let inserting = set_values(text, &sets, &[]);
    assert!(
        matches!(inserting, Err(YamlError::Duplicate { doc: 0, .. })),
        "{inserting:?}"
    );
    let existing = set_values(&set_values(text, &sets[..1], &[]).unwrap(), &sets, &[]);
    assert!(
        matches!(existing, Err(YamlError::Duplicate { doc: 0, .. })),
        "{existing:?}"
    );
}
