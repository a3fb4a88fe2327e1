//! Rendering scalars so they read back as the same string, in the style the file already uses.

use granit_parser::ScalarStyle;

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

/// Whether a plain rendering of `value` would be read as a number rather than a string.
pub fn looks_numeric(value: &str) -> bool {
    let body = value.strip_prefix(['+', '-']).unwrap_or(value);
    !body.is_empty()
        && body.chars().any(|c| c.is_ascii_digit())
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-' | '_'))
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

/// Text replacing an existing scalar of `style`; `None` when that style cannot hold the value
/// on one line (block scalars). Returns the text and whether it is plain.
pub fn replacement(value: &str, style: ScalarStyle) -> Option<(String, bool)> {
    match style {
        ScalarStyle::Plain if plain_safe(value) => Some((value.to_owned(), true)),
        ScalarStyle::Plain | ScalarStyle::DoubleQuoted => Some((double_quoted(value), false)),
        ScalarStyle::SingleQuoted if !value.contains('\n') => {
            Some((format!("'{}'", value.replace('\'', "''")), false))
        }
        ScalarStyle::SingleQuoted => Some((double_quoted(value), false)),
        ScalarStyle::Literal | ScalarStyle::Folded => None,
    }
}

/// Text for a newly inserted value: plain when it reads back as the same string, else quoted.
/// Numbers are quoted so that a quantity stays a string (`"1"`, `"0.5"`), as kubectl prints them.
pub fn fresh(value: &str) -> (String, bool) {
    if plain_safe(value) && !looks_numeric(value) {
        (value.to_owned(), true)
    } else {
        (double_quoted(value), false)
    }
}

/// Text for a newly inserted mapping key.
pub fn key(name: &str) -> String {
    if plain_safe(name) && !looks_numeric(name) {
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
    fn replacement_keeps_style() {
        assert_eq!(
            replacement("1", ScalarStyle::Plain),
            Some(("1".to_owned(), true))
        );
        assert_eq!(
            replacement("it's", ScalarStyle::SingleQuoted),
            Some(("'it''s'".to_owned(), false))
        );
        assert_eq!(
            replacement("a\"b", ScalarStyle::DoubleQuoted),
            Some(("\"a\\\"b\"".to_owned(), false))
        );
        assert_eq!(replacement("1", ScalarStyle::Literal), None);
    }
}
