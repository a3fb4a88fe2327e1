//! Span editor behaviour on small, hand-checked inputs.

use attune::yamledit::{EmbeddedSet, Seg, Set, YamlError, parse, set_values, set_values_parsed};

fn key(k: &str) -> Seg {
    Seg::Key(k.to_owned())
}

fn set(path: &[Seg], value: &str) -> Set {
    Set {
        doc: 0,
        path: path.to_vec(),
        value: value.to_owned(),
    }
}

fn res(container: usize, kind: &str, field: &str) -> Vec<Seg> {
    vec![
        key("spec"),
        key("containers"),
        Seg::Index(container),
        key("resources"),
        key(kind),
        key(field),
    ]
}

#[test]
fn replaces_plain_single_and_double_quoted_scalars_in_place() {
    let text = "spec:\n  containers:\n  - name: a # keep\n    resources:\n      requests:\n        cpu: '1'   # one\n        memory: \"1Gi\"\n      limits: {cpu: 2}\n";
    let out = set_values(
        text,
        &[
            set(&res(0, "requests", "cpu"), "250m"),
            set(&res(0, "requests", "memory"), "300Mi"),
            set(&res(0, "limits", "cpu"), "500m"),
        ],
        &[],
    )
    .unwrap();
    assert_eq!(
        out,
        "spec:\n  containers:\n  - name: a # keep\n    resources:\n      requests:\n        cpu: '250m'   # one\n        memory: \"300Mi\"\n      limits: {cpu: 500m}\n"
    );
}

#[test]
fn inserts_missing_resources_with_file_indentation_and_crlf() {
    let text = "spec:\r\n    containers:\r\n      - name: a\r\n        image: x\r\n      - name: b\r\n        image: y\r\n";
    let out = set_values(
        text,
        &[
            set(&res(0, "requests", "cpu"), "1"),
            set(&res(0, "requests", "memory"), "64Mi"),
        ],
        &[],
    )
    .unwrap();
    assert_eq!(
        out,
        "spec:\r\n    containers:\r\n      - name: a\r\n        image: x\r\n        resources:\r\n            requests:\r\n                cpu: \"1\"\r\n                memory: 64Mi\r\n      - name: b\r\n        image: y\r\n"
    );
}

#[test]
fn inserts_requests_next_to_existing_limits_and_into_flow_maps() {
    let text = "spec:\n  containers:\n  - name: a\n    resources:\n      limits:\n        cpu: 2\n  - {name: b, resources: {}}\n  - name: c\n    resources: {limits: {cpu: \"1\"}}";
    let out = set_values(
        text,
        &[
            set(&res(0, "requests", "cpu"), "1"),
            set(&res(1, "requests", "cpu"), "100m"),
            set(&res(2, "requests", "cpu"), "250m"),
        ],
        &[],
    )
    .unwrap();
    assert_eq!(
        out,
        "spec:\n  containers:\n  - name: a\n    resources:\n      limits:\n        cpu: 2\n      requests:\n        cpu: \"1\"\n  - {name: b, resources: {requests: {cpu: 100m}}}\n  - name: c\n    resources: {limits: {cpu: \"1\"}, requests: {cpu: 250m}}"
    );
}

#[test]
fn fills_an_empty_or_null_value() {
    let text = "spec:\n  containers:\n  - name: a\n    resources:   # tuned\n  - name: b\n    resources: ~\n";
    let out = set_values(
        text,
        &[
            set(&res(0, "requests", "cpu"), "1m"),
            set(&res(1, "requests", "cpu"), "2m"),
        ],
        &[],
    )
    .unwrap();
    assert_eq!(
        out,
        "spec:\n  containers:\n  - name: a\n    resources:   # tuned\n      requests:\n        cpu: 1m\n  - name: b\n    resources:\n      requests:\n        cpu: 2m\n"
    );
}

#[test]
fn refuses_values_shared_through_anchors() {
    let text = "a: &x 1\nb: *x\nc: *x\nd: &y 2\n";
    let err = set_values(text, &[set(&[key("a")], "3")], &[]).unwrap_err();
    assert!(matches!(err, YamlError::Shared { .. }), "{err}");
    let err = set_values(text, &[set(&[key("b")], "3")], &[]).unwrap_err();
    assert!(matches!(err, YamlError::Shared { .. }), "{err}");
    // An anchor nobody refers to is not shared.
    assert_eq!(
        set_values(text, &[set(&[key("d")], "3")], &[]).unwrap(),
        "a: &x 1\nb: *x\nc: *x\nd: &y 3\n"
    );
}

#[test]
fn creates_a_document_in_an_empty_text() {
    let out = set_values(
        "",
        &[
            set(&[key("kind")], "Deployment"),
            set(
                &[key("spec"), key("containers"), Seg::Index(0), key("name")],
                "app",
            ),
        ],
        &[],
    )
    .unwrap();
    assert_eq!(
        out,
        "kind: Deployment\nspec:\n  containers:\n  - name: app\n"
    );
}

#[test]
fn edits_and_inserts_inside_an_inline_patch() {
    let text = "patches:\n- target:\n    kind: Deployment\n  patch: |-\n    kind: Deployment\n    spec:\n      containers:\n      - name: a\n        resources:\n          requests:\n            cpu: 1\n- path: x.yaml\n";
    let embedded = EmbeddedSet {
        doc: 0,
        path: vec![key("patches"), Seg::Index(0), key("patch")],
        sets: vec![
            set(&res(0, "requests", "cpu"), "200m"),
            set(&res(0, "requests", "memory"), "1Gi"),
        ],
    };
    let out = set_values(text, &[], &[embedded]).unwrap();
    assert_eq!(
        out,
        "patches:\n- target:\n    kind: Deployment\n  patch: |-\n    kind: Deployment\n    spec:\n      containers:\n      - name: a\n        resources:\n          requests:\n            cpu: 200m\n            memory: 1Gi\n- path: x.yaml\n"
    );
}

#[test]
fn appends_to_block_and_flow_sequences() {
    let text = "resources:\n  - a.yaml\npatches: []\n";
    let out = set_values(
        text,
        &[
            set(&[key("resources"), Seg::Index(1)], "b.yaml"),
            set(&[key("patches"), Seg::Index(0), key("path")], "p.yaml"),
        ],
        &[],
    )
    .unwrap();
    assert_eq!(
        out,
        "resources:\n  - a.yaml\n  - b.yaml\npatches: [{path: p.yaml}]\n"
    );
}

#[test]
fn keeps_everything_around_a_non_ascii_block_scalar() {
    let text = "data:\n  note: |\n    grüße ✓\n    zweite\n\nspec:\n  cpu: 1 # ünïcode\n";
    let out = set_values(text, &[set(&[key("spec"), key("cpu")], "2")], &[]).unwrap();
    assert_eq!(
        out,
        "data:\n  note: |\n    grüße ✓\n    zweite\n\nspec:\n  cpu: 2 # ünïcode\n"
    );
}

#[test]
fn syntax_errors_carry_a_line() {
    let err = set_values("a: [\nb: 1\n", &[], &[]).unwrap_err();
    assert!(
        matches!(err, YamlError::Syntax { line, .. } if line >= 1),
        "{err}"
    );
}

#[test]
fn alias_bombs_are_refused() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let prev = format!("*a{}", i - 1);
        text.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            [prev.as_str(); 10].join(", ")
        ));
    }
    let err = set_values(&text, &[], &[]).unwrap_err();
    assert!(matches!(err, YamlError::AliasBomb { .. }), "{err}");
}

#[test]
fn a_string_replaced_by_a_number_stays_a_string() {
    let text = "spec:\n  containers:\n  - name: a\n    resources:\n      requests: {cpu: 2000m, memory: 1Gi}\n      limits:\n        cpu: 4000m # cap\n        memory: 2Gi\n";
    let out = set_values(
        text,
        &[
            set(&res(0, "requests", "cpu"), "1"),
            set(&res(0, "requests", "memory"), "1e9"),
            set(&res(0, "limits", "cpu"), "0.5"),
            set(&res(0, "limits", "memory"), "3Gi"),
        ],
        &[],
    )
    .unwrap();
    assert_eq!(
        out,
        "spec:\n  containers:\n  - name: a\n    resources:\n      requests: {cpu: \"1\", memory: \"1e9\"}\n      limits:\n        cpu: \"0.5\" # cap\n        memory: 3Gi\n"
    );
}

#[test]
fn a_number_replaced_by_a_number_stays_a_number() {
    // A Helm values file whose template does arithmetic on the value keeps a number.
    let text = "cpu: 2\nreplicas: 3\n";
    let out = set_values(text, &[set(&[key("cpu")], "1.5")], &[]).unwrap();
    assert_eq!(out, "cpu: 1.5\nreplicas: 3\n");
    // A quantity with a suffix has no number form: it becomes the string it must be.
    let out = set_values(text, &[set(&[key("cpu")], "500m")], &[]).unwrap();
    assert_eq!(out, "cpu: 500m\nreplicas: 3\n");
}

#[test]
fn a_string_inside_an_inline_patch_stays_a_string() {
    let text = "patches:\n- patch: |-\n    kind: Deployment\n    spec:\n      containers:\n      - name: a\n        resources:\n          requests:\n            cpu: 2000m\n";
    let embedded = EmbeddedSet {
        doc: 0,
        path: vec![key("patches"), Seg::Index(0), key("patch")],
        sets: vec![set(&res(0, "requests", "cpu"), "1")],
    };
    let out = set_values(text, &[], &[embedded]).unwrap();
    assert_eq!(
        out,
        "patches:\n- patch: |-\n    kind: Deployment\n    spec:\n      containers:\n      - name: a\n        resources:\n          requests:\n            cpu: \"1\"\n"
    );
}

#[test]
fn values_that_yaml_1_1_reads_as_no_string_are_quoted_when_inserted() {
    // Kubernetes reads YAML 1.1: `yes`, `on`, `0x1F` and `1_000` are not strings there.
    let text = "metadata:\n  name: x\n";
    let labels = |k: &str| vec![key("metadata"), key("labels"), key(k)];
    let out = set_values(
        text,
        &[
            set(&labels("a"), "yes"),
            set(&labels("b"), "on"),
            set(&labels("c"), "0x1F"),
            set(&labels("d"), "1_000"),
            set(&labels("e"), "plain"),
        ],
        &[],
    )
    .unwrap();
    assert_eq!(
        out,
        "metadata:\n  name: x\n  labels:\n    a: \"yes\"\n    b: \"on\"\n    c: \"0x1F\"\n    d: \"1_000\"\n    e: plain\n"
    );
}

/// `propose` edits a loaded file through the tree it already holds: the result, and the error
/// when the edit is refused, must be what editing the text afresh gives.
#[test]
fn editing_through_a_held_tree_gives_what_editing_the_text_gives() {
    let style = attune::yamledit::style::Style::default();
    let cases: [(&str, Vec<Set>); 3] = [
        (
            "spec:\n  containers:\n  - name: a\n    resources:\n      requests: {cpu: 1} # c\n",
            vec![set(&res(0, "requests", "cpu"), "250m")],
        ),
        (
            "spec:\n  containers:\n  - name: a\n    image: x\n",
            vec![set(&res(0, "requests", "memory"), "300Mi")],
        ),
        (
            "spec:\n  containers: &c\n  - name: a\n    resources: {requests: {cpu: 1}}\nother: *c\n",
            vec![set(&res(0, "requests", "cpu"), "2")],
        ),
    ];
    let mut refused = 0;
    for (text, sets) in cases {
        let tree = parse(text).unwrap();
        let held = set_values_parsed(text, &tree, &sets, &[], &style);
        let afresh = set_values(text, &sets, &[]);
        assert_eq!(
            format!("{held:?}"),
            format!("{afresh:?}"),
            "editing {text:?}"
        );
        refused += usize::from(held.is_err());
    }
    assert_eq!(refused, 1, "the value shared through an alias is refused");
}
