//! What a plain (unquoted) scalar means to the YAML readers that consume our files.
//!
//! Kubernetes and Helm read YAML through `sigs.k8s.io/yaml` (YAML 1.1 rules: `yes`, `on`, `0x1F`,
//! `1_000` are not strings), Kustomize's kyaml and most other tools follow the YAML 1.2 core
//! schema. A plain scalar keeps its meaning only when both agree, so a type is the pair of both
//! resolutions.

use std::sync::LazyLock;

use regex::Regex;

/// The type a resolver gives a plain scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    Str,
    Null,
    Bool,
    /// Integers and floats: both are numbers to the tools that read quantities.
    Number,
    /// YAML 1.1 timestamps (`2001-12-14`).
    Timestamp,
}

/// The type of a plain scalar under YAML 1.1 and under the YAML 1.2 core schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlainType {
    pub yaml11: Resolved,
    pub core: Resolved,
}

impl PlainType {
    /// A string for every reader.
    pub fn is_str(self) -> bool {
        self.yaml11 == Resolved::Str && self.core == Resolved::Str
    }
}

type Pattern = LazyLock<Option<Regex>>;

/// The patterns are constants that the tests below exercise; one that did not compile would
/// match nothing and fail them.
fn anchored(pattern: &str) -> Option<Regex> {
    Regex::new(&format!("^(?:{pattern})$")).ok()
}

fn matches(pattern: &Pattern, text: &str) -> bool {
    pattern.as_ref().is_some_and(|r| r.is_match(text))
}

// The regular expressions of the YAML 1.1 type repository (yaml.org/type) and of the YAML 1.2
// core schema (spec 10.3.2), as written there.
static INT_11: Pattern = LazyLock::new(|| {
    anchored(
        r"[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+",
    )
});
static FLOAT_11: Pattern = LazyLock::new(|| {
    anchored(
        r"[-+]?(?:[0-9][0-9_]*)?\.[0-9.]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
    )
});
static TIMESTAMP_11: Pattern = LazyLock::new(|| {
    anchored(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?",
    )
});
static INT_CORE: Pattern = LazyLock::new(|| anchored(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"));
static FLOAT_CORE: Pattern = LazyLock::new(|| {
    anchored(
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
    )
});

fn yaml11(text: &str) -> Resolved {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Resolved::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "n" | "N" | "no" | "No" | "NO" | "true" | "True"
        | "TRUE" | "false" | "False" | "FALSE" | "on" | "On" | "ON" | "off" | "Off" | "OFF" => {
            Resolved::Bool
        }
        t if matches(&INT_11, t) => Resolved::Number,
        t if matches(&FLOAT_11, t) => Resolved::Number,
        t if matches(&TIMESTAMP_11, t) => Resolved::Timestamp,
        _ => Resolved::Str,
    }
}

fn core(text: &str) -> Resolved {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Resolved::Null,
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => Resolved::Bool,
        t if matches(&INT_CORE, t) => Resolved::Number,
        t if matches(&FLOAT_CORE, t) => Resolved::Number,
        _ => Resolved::Str,
    }
}

/// How `text`, written as a plain scalar, is read.
pub fn plain_type(text: &str) -> PlainType {
    PlainType {
        yaml11: yaml11(text),
        core: core(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(text: &str) -> (Resolved, Resolved) {
        let t = plain_type(text);
        (t.yaml11, t.core)
    }

    #[test]
    fn quantities_with_a_suffix_are_strings_everywhere() {
        for q in [
            "250m",
            "1Gi",
            "1.5Gi",
            "128974848k",
            "2000m",
            "100Mi",
            "1e3m",
        ] {
            assert!(plain_type(q).is_str(), "{q}");
        }
    }

    #[test]
    fn numbers_bools_and_nulls_are_typed() {
        use Resolved::*;
        assert_eq!(both("1"), (Number, Number));
        assert_eq!(both("0.5"), (Number, Number));
        assert_eq!(both(".5"), (Number, Number));
        assert_eq!(both("1e3"), (Str, Number));
        assert_eq!(both("1.0e+3"), (Number, Number));
        assert_eq!(both("0x1F"), (Number, Number));
        assert_eq!(both("0o17"), (Str, Number));
        assert_eq!(both("017"), (Number, Number));
        assert_eq!(both("1_000"), (Number, Str));
        assert_eq!(both("0b101"), (Number, Str));
        assert_eq!(both("1:30"), (Number, Str));
        assert_eq!(both(".inf"), (Number, Number));
        assert_eq!(both("-.Inf"), (Number, Number));
        assert_eq!(both(".NaN"), (Number, Number));
        assert_eq!(both("yes"), (Bool, Str));
        assert_eq!(both("on"), (Bool, Str));
        assert_eq!(both("y"), (Bool, Str));
        assert_eq!(both("True"), (Bool, Bool));
        assert_eq!(both("~"), (Null, Null));
        assert_eq!(both("2001-12-14"), (Timestamp, Str));
        assert_eq!(both("yesterday"), (Str, Str));
    }
}
