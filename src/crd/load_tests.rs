//! The quick reader (quick.rs) against serde-saphyr: the same policies or the same error for
//! every generated file, and the quick path really taken for the files kubectl writes.

use proptest::prelude::*;

use super::{Body, Reader, policies, policy_files};
use crate::crd::file::FileSpec;
use crate::crd::quick;

/// Scalars as written, each chosen to sit on one side of a typing rule: null words, YAML 1.1
/// booleans, radices, exponents, leading zeros, dates, quantities, quoted look-alikes.
const ATOMS: &[&str] = &[
    "0",
    "1",
    "-3",
    "-0",
    "1.50",
    "0.93",
    "-2.5",
    "100m",
    "256Mi",
    "1Gi",
    "true",
    "false",
    "True",
    "yes",
    "No",
    "on",
    "off",
    "y",
    "n",
    "~",
    "null",
    "NULL",
    "0x1F",
    "0o17",
    "0b11",
    "1e3",
    "3.0e2",
    ".5",
    "1.",
    ".inf",
    "-.inf",
    ".nan",
    "inf",
    "Infinity",
    "1_000",
    "007",
    "+5",
    "2026-08-14",
    "2026-08-14T09:10:00Z",
    "12:30",
    "Auto",
    "Off",
    "RequestsAndLimits",
    "RequestsOnly",
    "Deployment",
    "hello world",
    "é",
    "a-b",
    "18446744073709551616",
    "-9223372036854775809",
    "99999999999999999999.5",
    "'5'",
    "'true'",
    "''",
    "\"\"",
    "\"null\"",
    "\"1.50\"",
    "\"RequestsAndLimits\"",
    "'it''s'",
    "\"a\\tb\"",
    "[]",
    "{}",
    "[1, 2]",
    "{a: 1}",
    "!!str 5",
    "!!int \"7\"",
    "&x 5",
    "\"${HOME}\"",
    "${HOME}",
    "<<",
];

/// Values that fit each slot of [`policy`], by the slot's type, so that most files are good and
/// take the quick path; any slot may instead get any atom.
const FITTING: [&[&str]; 21] = {
    const TEXT: &[&str] = &[
        "api",
        "a-b",
        "é",
        "'5'",
        "\"true\"",
        "0",
        "100m",
        "hello world",
    ];
    const INT: &[&str] = &["0", "1", "-3", "95", "2147483647"];
    const QUANTITY: &[&str] = &["100m", "256Mi", "\"20\"", "1.50", "0", "1"];
    const FLOAT: &[&str] = &["0.5", "1", "0.93", "-2.5", "0"];
    const BOOL: &[&str] = &["true", "false"];
    const ANY: &[&str] = &[
        "1", "x", "1.50", "true", "~", "'q'", "[1, 2]", "{a: 1}", "-7",
    ];
    [
        TEXT,
        &["Deployment", "StatefulSet"],
        TEXT,
        TEXT,
        TEXT,
        INT,
        QUANTITY,
        &["RequestsAndLimits", "RequestsOnly"],
        FLOAT,
        BOOL,
        INT,
        TEXT,
        BOOL,
        TEXT,
        QUANTITY,
        QUANTITY,
        FLOAT,
        INT,
        ANY,
        ANY,
        ANY,
    ]
};

/// The 21 values of one policy: mostly fitting, one in fifty any atom.
fn values() -> impl Strategy<Value = Vec<&'static str>> {
    let slots: Vec<_> = FITTING
        .iter()
        .map(|fitting| {
            prop_oneof![49 => prop::sample::select(*fitting), 1 => prop::sample::select(ATOMS)]
        })
        .collect();
    slots
}

/// The shape around the values: one List or several documents, and the odd extras.
#[derive(Debug, Clone)]
struct Shape {
    list: bool,
    leading_marker: bool,
    trailing_marker: bool,
    comments: bool,
    flow_target: bool,
    duplicate_key: bool,
    alias: bool,
    quoted_keys: bool,
    wrong_kind: bool,
}

fn shape() -> impl Strategy<Value = Shape> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.1),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(list, lead, trail, comments, flow, dup, alias, quoted, wrong)| Shape {
                list,
                leading_marker: lead,
                trailing_marker: trail,
                comments,
                flow_target: flow,
                duplicate_key: dup,
                alias,
                quoted_keys: quoted,
                wrong_kind: wrong,
            },
        )
}

/// One policy document; `v` are the scalars put in its typed and untyped slots.
fn policy(shape: &Shape, i: usize, v: &[&str]) -> String {
    let key = |k: &str| {
        if shape.quoted_keys {
            format!("\"{k}\"")
        } else {
            k.to_owned()
        }
    };
    let kind = if shape.wrong_kind && i == 1 {
        "Deployment"
    } else {
        "AttunePolicy"
    };
    let target = if shape.flow_target {
        format!("  targetRef: {{kind: Deployment, name: {}}}\n", v[0])
    } else {
        format!("  targetRef:\n    kind: {}\n    name: {}\n", v[1], v[0])
    };
    let mut p = format!(
        "apiVersion: attune.io/v1alpha1\nkind: {kind}\nmetadata:\n  name: {}\n  namespace: {}\n  \
         labels:\n    {}: {}\nspec:\n{target}  cpu:\n    {}: {}\n    overhead: {}\n    \
         controlledValues: {}\n  memory:\n    burstSensitivity: {}\n  paused: {}\n  weight: {}\n",
        v[0],
        v[2],
        v[3],
        v[4],
        key("percentile"),
        v[5],
        v[6],
        v[7],
        v[8],
        v[9],
        v[10],
    );
    if shape.comments {
        p.push_str("  # a comment between fields\n");
    }
    if shape.duplicate_key {
        p.push_str("  weight: 3\n");
    }
    p.push_str(&format!(
        "status:\n  conditions:\n  - type: Ready\n    status: {}\n  recommendations:\n  - workload: {}\n    \
         kind: {}\n    stale: {}\n    containers:\n    - name: {}\n      recommended:\n        \
         cpuRequest: {}\n        memoryRequest: {}\n      confidence: {}\n      dataPoints: {}\n      \
         explanation: {{a: {}, b: [{}, {}]}}\n",
        v[11], v[0], v[1], v[12], v[13], v[14], v[15], v[16], v[17], v[18], v[19], v[20],
    ));
    if shape.alias {
        p = p.replacen("  name: ", "  name: &n ", 1) + "  extra: *n\n";
    }
    p
}

fn file(shape: &Shape, docs: &[Vec<&str>]) -> String {
    let texts: Vec<String> = docs
        .iter()
        .enumerate()
        .map(|(i, v)| policy(shape, i, v))
        .collect();
    let mut out = String::new();
    if shape.list {
        out.push_str("apiVersion: v1\nkind: List\nitems:\n");
        for text in &texts {
            for (n, line) in text.lines().enumerate() {
                out.push_str(if n == 0 { "- " } else { "  " });
                out.push_str(line);
                out.push('\n');
            }
        }
    } else {
        for (n, text) in texts.iter().enumerate() {
            if n > 0 || shape.leading_marker {
                out.push_str("---\n");
            }
            out.push_str(text);
        }
    }
    if shape.trailing_marker {
        out.push_str("---\n");
    }
    out
}

fn files() -> impl Strategy<Value = String> {
    (shape(), prop::collection::vec(values(), 1..4)).prop_map(|(shape, docs)| file(&shape, &docs))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn the_quick_reader_agrees_with_serde_saphyr(text in files()) {
        // Compared as printed: `.nan` reads as NaN both ways, which `==` would call different,
        // and the cluster's type has no `PartialEq`.
        prop_assert_eq!(
            format!("{:?}", policy_files(&text, Reader::Quick)),
            format!("{:?}", policy_files(&text, Reader::Reference)),
            "{}", text
        );
        prop_assert_eq!(
            format!("{:?}", policies(&text, Reader::Quick)),
            format!("{:?}", policies(&text, Reader::Reference)),
            "{}", text
        );
    }
}

/// The property above is only worth something if the quick reader answers for many files.
#[test]
fn most_generated_files_take_the_quick_path() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = files();
    let quick = (0..500)
        .filter(|_| {
            let text = strategy.new_tree(&mut runner).unwrap().current();
            quick::read::<Body<FileSpec>>(&text).is_some()
        })
        .count();
    assert!(
        quick >= 100,
        "only {quick} of 500 files took the quick path"
    );
}

/// A file as kubectl and the bench write it: the quick path is taken, and its values are the
/// reference's.
#[test]
fn a_plain_list_takes_the_quick_path() {
    let values = [
        "api",
        "Deployment",
        "shop",
        "team",
        "payments",
        "95",
        "\"20\"",
        "RequestsAndLimits",
        "0.5",
        "false",
        "3",
        "\"True\"",
        "false",
        "app",
        "250m",
        "0",
        "0.93",
        "2016",
        "1.50",
        "x",
        "7",
    ];
    let shape = Shape {
        list: true,
        leading_marker: false,
        trailing_marker: false,
        comments: true,
        flow_target: false,
        duplicate_key: false,
        alias: false,
        quoted_keys: false,
        wrong_kind: false,
    };
    let text = file(&shape, &[values.to_vec(), values.to_vec()]);
    let quick = quick::read::<Body<FileSpec>>(&text);
    assert_eq!(quick.as_ref().map(Vec::len), Some(1), "{text}");
    let read = policy_files(&text, Reader::Quick).unwrap();
    assert_eq!(read, policy_files(&text, Reader::Reference).unwrap());
    let rec = &read[1].status.as_ref().unwrap().recommendations[0].containers[0];
    // Text fields keep plain numbers as written, as serde-saphyr does.
    assert_eq!(rec.recommended.memory_request.as_deref(), Some("0"));
    assert_eq!(rec.confidence, Some(0.93));
    let explanation = rec.explanation.as_ref().unwrap().value();
    assert_eq!(explanation, serde_json::json!({"a": 1.5, "b": ["x", 7]}));
}

/// Files with no policy in them read the same both ways.
#[test]
fn empty_files_read_the_same() {
    for text in [
        "",
        "\n",
        "# only a comment\n",
        "---\n",
        "---\n...\n",
        "--- ~\n",
    ] {
        assert_eq!(
            policy_files(text, Reader::Quick),
            policy_files(text, Reader::Reference),
            "{text:?}"
        );
    }
}

/// What the quick reader leaves to serde-saphyr, by construction.
#[test]
fn the_quick_reader_gives_up_outside_the_subset() {
    let base = "apiVersion: attune.io/v1alpha1\nkind: AttunePolicy\nmetadata:\n  name: a\n";
    assert!(quick::read::<Body<FileSpec>>(base).is_some());
    for extra in [
        "  namespace: !!str x\n",
        "  namespace: &a x\n  generateName: *a\n",
        "  name: b\n",
        "  <<: {namespace: x}\n",
        "  labels: {~: x}\n",
        "  namespace: ${NS}\n",
    ] {
        let text = format!("{base}{extra}");
        assert!(quick::read::<Body<FileSpec>>(&text).is_none(), "{text}");
    }
    let deep = format!("{base}spec: {}{}\n", "[".repeat(60), "]".repeat(60));
    assert!(quick::read::<Body<FileSpec>>(&deep).is_none());
    assert!(quick::read::<Body<FileSpec>>(&format!("{base}---\n")).is_none());
}
