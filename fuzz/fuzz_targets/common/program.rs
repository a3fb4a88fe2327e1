//! The "assignment program" both editor targets decode from the front of their input.
//!
//! * byte 0: number of assignments (`% 5`);
//! * per assignment, a header byte `m`: document `m % 3`; bit 2 picks a canonical Kubernetes
//!   resources path (one more byte: container, requests/limits, cpu/memory, pod or template)
//!   or a free path of `1 + (m >> 3) % 8` segments (one byte each, from a fixed alphabet);
//!   then one byte choosing the value from a list of quantities and tricky strings.

use attune::yamledit::{Seg, Set};

pub const KEYS: &[&str] = &[
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

pub const VALUES: &[&str] = &[
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

pub fn decode(data: &[u8]) -> Option<(Vec<Set>, &[u8])> {
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
pub fn independent(sets: Vec<Set>) -> Vec<Set> {
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
