//! Just enough reading of PromQL and of the OpenMetrics text to compare what the chart's alerts
//! and dashboard query with what the controller exports.

use std::collections::BTreeSet;

/// Words that are PromQL syntax, not metric names.
const KEYWORDS: [&str; 11] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
];
/// Keywords followed by a parenthesised list of label names.
const LABEL_LISTS: [&str; 6] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// `text` without string literals and without what `{}` and `[]` enclose (label matchers,
/// range durations, subqueries' steps): what is left names metrics, functions and keywords.
fn strip_selectors(text: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '{' | '[' => depth += 1,
            '}' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The metric names an expression selects, in order of appearance.
pub fn metric_names(expr: &str) -> Vec<String> {
    let text = strip_selectors(expr);
    let chars: Vec<char> = text.chars().collect();
    let mut names = Vec::new();
    let mut i = 0;
    let mut skip_list = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '(' && skip_list {
            // A label list: skip to its closing parenthesis.
            while i < chars.len() && chars[i] != ')' {
                i += 1;
            }
            skip_list = false;
            i += 1;
            continue;
        }
        let starts_word = c.is_ascii_alphabetic() || c == '_' || c == ':';
        let after_digit = i > 0 && (chars[i - 1].is_ascii_digit() || chars[i - 1] == '.');
        if !starts_word || after_digit {
            if !c.is_whitespace() {
                skip_list = false;
            }
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len()
            && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
        {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        let rest: String = chars[i..].iter().collect();
        let rest = rest.trim_start();
        // A function or an aggregation (`sum(`, `sum by (le) (`) rather than a metric.
        let called = rest.starts_with('(')
            || ["by", "without"].iter().any(|k| {
                rest.strip_prefix(k)
                    .is_some_and(|r| r.trim_start().starts_with('('))
            });
        if LABEL_LISTS.contains(&word.as_str()) {
            skip_list = true;
        } else if KEYWORDS.contains(&word.as_str()) || called {
            skip_list = false;
        } else {
            names.push(word);
        }
    }
    names
}

/// The series names of an OpenMetrics exposition: each family's samples (`_total` of a counter,
/// `_bucket`/`_sum`/`_count` of a histogram, the name of a gauge) whether or not it has one yet.
pub fn series_names(exposition: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in exposition.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            let (Some(name), Some(kind)) = (parts.next(), parts.next()) else {
                continue;
            };
            let suffixes: &[&str] = match kind {
                "counter" => &["_total"],
                "histogram" => &["_bucket", "_sum", "_count"],
                "summary" => &["", "_sum", "_count"],
                _ => &[""],
            };
            out.extend(suffixes.iter().map(|s| format!("{name}{s}")));
        } else if !line.starts_with('#') && !line.is_empty() {
            let name: String = line
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.insert(name);
        }
    }
    out
}
