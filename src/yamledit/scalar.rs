//! Rendering scalars so they read back as the same string, in the style the file already uses.

use granit_parser::ScalarStyle;

use super::plain::plain_type;

/// Whether `value` can be written as a plain scalar and read back as the same string, in both
/// block and flow context. Deliberately conservative: quantities and identifiers pass, anything
/// with indicators or spaces is quoted.
pub fn plain_safe(value: &str) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    if matches!(
        value,
        "~" | "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
    ) {
        return false;
    }
    (first.is_ascii_alphanumeric() || first == '.' || first == '_' || first == '/')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+' | '/'))
}

pub fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text replacing the scalar `old` of `style`; `None` when that style cannot hold the value on
/// one line (block scalars). Returns the text and whether it is plain.
///
/// A plain scalar keeps its type: a string stays a string (`2000m` → `"1"`, never `1`, which
/// reads as a number), a number may stay a number (`2` → `1`). A value that is a string for
/// every reader can always be plain (`2` → `500m`: a quantity with a suffix has no number form).
pub fn replacement(value: &str, old: &str, style: ScalarStyle) -> Option<(String, bool)> {
    let keeps_type = || {
        let new = plain_type(value);
        new.is_str() || new == plain_type(old)
    };
    match style {
        ScalarStyle::Plain if plain_safe(value) && keeps_type() => Some((value.to_owned(), true)),
        ScalarStyle::Plain | ScalarStyle::DoubleQuoted => Some((double_quoted(value), false)),
        ScalarStyle::SingleQuoted if !value.contains('\n') => {
            Some((format!("'{}'", value.replace('\'', "''")), false))
        }
        ScalarStyle::SingleQuoted => Some((double_quoted(value), false)),
        ScalarStyle::Literal | ScalarStyle::Folded => None,
    }
}

/// Text for a newly inserted value: plain when every reader reads it back as the same string,
/// else quoted. Numbers are quoted so that a quantity stays a string (`"1"`, `"0.5"`), as
/// kubectl prints them; so are YAML 1.1 booleans (`yes`, `on`) and hexadecimal (`0x1F`).
pub fn fresh(value: &str) -> (String, bool) {
    if plain_safe(value) && plain_type(value).is_str() {
        (value.to_owned(), true)
    } else {
        (double_quoted(value), false)
    }
}

/// Text for a newly inserted mapping key.
pub fn key(name: &str) -> String {
    if plain_safe(name) && plain_type(name).is_str() {
        name.to_owned()
    } else {
        double_quoted(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_plain_safe() {
        for q in ["250m", "1Gi", "0.5", "1e3", "128974848", "1.5Gi"] {
            assert!(plain_safe(q), "{q}");
        }
        for q in ["", "a b", "#x", "x: y", "-1", "null", "{a}", "'q'"] {
            assert!(!plain_safe(q), "{q}");
        }
    }

    #[test]
    fn numbers_are_quoted_when_inserted() {
        assert_eq!(fresh("1"), ("\"1\"".to_owned(), false));
        assert_eq!(fresh("0.5"), ("\"0.5\"".to_owned(), false));
        assert_eq!(fresh("250m"), ("250m".to_owned(), true));
        assert_eq!(fresh("1e3"), ("\"1e3\"".to_owned(), false));
    }

    #[test]
    fn fresh_values_that_are_no_string_in_yaml_1_1_are_quoted() {
        for v in ["yes", "on", "y", "0x1F", "1_000", ".inf", "2001-12-14"] {
            assert_eq!(fresh(v), (double_quoted(v), false), "{v}");
        }
        assert_eq!(key("on"), "\"on\"");
        assert_eq!(key("cpu"), "cpu");
    }

    #[test]
    fn replacement_keeps_style() {
        assert_eq!(
            replacement("1", "2", ScalarStyle::Plain),
            Some(("1".to_owned(), true))
        );
        assert_eq!(
            replacement("it's", "x", ScalarStyle::SingleQuoted),
            Some(("'it''s'".to_owned(), false))
        );
        assert_eq!(
            replacement("a\"b", "x", ScalarStyle::DoubleQuoted),
            Some(("\"a\\\"b\"".to_owned(), false))
        );
        assert_eq!(replacement("1", "x", ScalarStyle::Literal), None);
    }

    #[test]
    fn replacement_keeps_the_plain_scalars_type() {
        let plain = |new: &str, old: &str| replacement(new, old, ScalarStyle::Plain);
        // A string stays a string.
        assert_eq!(plain("1", "2000m"), Some(("\"1\"".to_owned(), false)));
        assert_eq!(plain("0.5", "500m"), Some(("\"0.5\"".to_owned(), false)));
        assert_eq!(plain("1e3", "1Gi"), Some(("\"1e3\"".to_owned(), false)));
        assert_eq!(plain("250m", "2000m"), Some(("250m".to_owned(), true)));
        // A number stays a number, integer or not.
        assert_eq!(plain("1", "2"), Some(("1".to_owned(), true)));
        assert_eq!(plain("1.5", "2"), Some(("1.5".to_owned(), true)));
        // A number that must become a quantity with a suffix is a string anyway.
        assert_eq!(plain("500m", "2"), Some(("500m".to_owned(), true)));
        // A null filled with a number becomes a string, as an insertion would.
        assert_eq!(plain("1", "~"), Some(("\"1\"".to_owned(), false)));
    }
}
