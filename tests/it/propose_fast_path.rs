//! The fast reader (every core, prefilter, quick syntax pass, texts dropped early) against the
//! straightforward one (one file after another, a tree for every file) on generated
//! repositories: the same JSON report, the same diff bytes, the same notices, the same files
//! written by `--write`.

use std::path::Path;

use attune::propose::{self, Format, Options, Place, diff};
use attune::repo::{ManifestTree, Scope};

#[allow(dead_code)]
#[path = "../../benches/propose/synth/mod.rs"]
pub(crate) mod synth;

fn options(root: &Path, policies: &Path, write: bool) -> Options {
    Options {
        policies: policies.to_owned(),
        repo: root.to_owned(),
        place: Place::Everywhere,
        write,
        output: Format::Json,
    }
}

fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                let rel = entry
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .display()
                    .to_string();
                out.push((rel, std::fs::read(entry.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn copy(from: &Path, to: &Path) {
    for (rel, bytes) in tree(from) {
        let path = to.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

#[test]
fn fast_reader_gives_the_reference_outcome_on_generated_repositories() {
    for seed in [1, 7, 42, 0x5EED] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        let g = synth::generate(&root, 500, 60, seed, true).unwrap();
        let policies = dir.path().join("policies.yaml");
        std::fs::write(&policies, &g.policies).unwrap();

        let fast = propose::compute(&options(&root, &policies, false)).unwrap();
        let reference = ManifestTree::load_reference(&root).unwrap();
        let loaded = propose::read_policies(&policies).unwrap();
        let expected = propose::outcome_of(&reference, &Scope::whole(), &loaded);

        // Not vacuous: edits, problems (the shared anchor) and notices (the broken files).
        assert!(
            expected.changes.len() > 50,
            "seed {seed}: {}",
            expected.changes.len()
        );
        assert!(!expected.problems.is_empty(), "seed {seed}");
        // Kinds spelt with escapes are found although no textual search sees them.
        for w in ["escaped-", "joined-"] {
            assert!(
                expected.changes.iter().any(|c| c.workload.starts_with(w)),
                "seed {seed}: no change to {w}*"
            );
        }
        // The bench's form of the policies (one `kind: List`) wants the same.
        let listed = dir.path().join("listed.yaml");
        std::fs::write(&listed, g.policies_list()).unwrap();
        assert_eq!(
            propose::wants(&propose::read_policies(&listed).unwrap()),
            propose::wants(&loaded),
            "seed {seed}: policies as a List"
        );
        let noticed = |file: &str| expected.notices.iter().any(|n| n.file.ends_with(file));
        for file in [
            "broken.yaml",
            "broken-workload.yaml",
            "tabbed.yaml",
            "latin1.yaml",
        ] {
            assert!(noticed(file), "seed {seed}: no notice for {file}");
        }
        assert_eq!(
            serde_json::to_string_pretty(&fast).unwrap(),
            serde_json::to_string_pretty(&expected).unwrap(),
            "seed {seed}: JSON"
        );
        assert_eq!(
            diff::unified(&fast.files),
            diff::unified(&expected.files),
            "seed {seed}: diff"
        );
        assert_eq!(fast.files, expected.files, "seed {seed}: files");

        // `--write` through the command writes what the reference outcome says.
        let written = dir.path().join("written");
        copy(&root, &written);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = propose::run(&options(&written, &policies, true), &mut out, &mut err).unwrap();
        assert_eq!(
            code,
            i32::from(!expected.problems.is_empty()),
            "seed {seed}: exit code"
        );
        let want_dir = dir.path().join("want");
        copy(&root, &want_dir);
        for f in &expected.files {
            std::fs::write(want_dir.join(&f.path), &f.after).unwrap();
        }
        assert!(
            tree(&written) == tree(&want_dir),
            "seed {seed}: written tree"
        );
        let json = String::from_utf8(out).unwrap();
        assert_eq!(
            json,
            serde_json::to_string_pretty(&expected).unwrap() + "\n",
            "seed {seed}: --output json"
        );
    }
}
