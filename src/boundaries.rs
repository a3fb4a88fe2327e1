//! The module boundaries of README's Design section, enforced: every `crate::…` path in
//! `src/<module>/**.rs` (use trees, inline paths, and `m::…` paths after `use crate::m`) must
//! be allowed by [`RULES`], and pure modules must not name an I/O crate or `std` I/O module
//! outside their tests. A change to the table belongs in the README's table too.
//!
//! Not seen: paths reached through `super::` (they stay inside their module unless a file
//! climbs to the crate root that way, which none does) and macros that build paths.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What one module may use besides itself and the crate root's items (`crate::error_chain`).
struct Rule {
    module: &'static str,
    /// Whole modules it may use.
    uses: &'static [&'static str],
    /// Parts of allowed modules it must not use, each with why.
    denies: &'static [(&'static str, &'static str)],
    /// No I/O outside tests; the files listed are its I/O layer.
    pure: Option<&'static [&'static str]>,
}

const REPO_EDITS: &[(&str, &str)] = &[
    (
        "yamledit::Set",
        "resolution says where; the editor says how",
    ),
    (
        "yamledit::EmbeddedSet",
        "resolution says where; the editor says how",
    ),
    (
        "yamledit::set_values",
        "resolution says where; the editor says how",
    ),
    (
        "yamledit::set_values_styled",
        "resolution says where; the editor says how",
    ),
    (
        "yamledit::set_values_parsed",
        "resolution says where; the editor says how",
    ),
    ("yamledit::style", "a file's style is the editor's business"),
    (
        "yamledit::verify",
        "verifying an edit is the editor's business",
    ),
];

const CONTROLLER_DENIES: &[(&str, &str)] = &[(
    "pr::command",
    "the CLI's orchestration; the controller calls the pipeline",
)];

const PR_DENIES: &[(&str, &str)] = &[(
    "discover::run",
    "the checkout's I/O layer; the pipeline reads the commit and calls discover::outcome",
)];

const PLUGIN_DENIES: &[(&str, &str)] = &[
    (
        "pr::sync",
        "the workstation runs the pipeline through pr::command, as attune propose --open-pr",
    ),
    (
        "propose::run",
        "the plugin edits nothing itself; the pipeline does",
    ),
];

/// Modules in the order data flows.
const RULES: &[Rule] = &[
    rule("quantity", &[]).pure(&[]),
    rule("secret", &[]),
    rule("metrics", &[]),
    rule("text", &[]).pure(&[]),
    rule("crd", &["quantity"]).pure(&[]),
    rule("recommend", &["crd", "quantity"]).pure(&[]),
    rule("usage", &["crd", "recommend", "secret"]),
    rule("resize", &["crd", "quantity"]),
    rule("locate", &[]),
    rule("repo", &["yamledit", "quantity"])
        .denies(REPO_EDITS)
        .pure(&["repo/walk.rs"]),
    rule("yamledit", &[]).pure(&[]),
    rule("helmtrace", &["repo", "yamledit", "quantity", "text"]).pure(&["helmtrace/runner.rs"]),
    rule(
        "propose",
        &["crd", "quantity", "repo", "yamledit", "helmtrace"],
    ),
    rule(
        "discover",
        &["crd", "quantity", "locate", "repo", "propose", "helmtrace"],
    )
    .pure(&["discover/run.rs"]),
    rule("git", &["secret"]),
    rule("forge", &["secret", "text"]),
    rule(
        "pr",
        &[
            "crd", "quantity", "repo", "yamledit", "propose", "discover", "git", "forge", "secret",
            "text",
        ],
    )
    .denies(PR_DENIES),
    rule(
        "controller",
        &[
            "crd",
            "quantity",
            "recommend",
            "usage",
            "resize",
            "locate",
            "repo",
            "yamledit",
            "propose",
            "git",
            "forge",
            "pr",
            "metrics",
            "secret",
            "text",
        ],
    )
    .denies(CONTROLLER_DENIES),
    rule("plugin", &["crd", "quantity", "pr", "propose"])
        .denies(PLUGIN_DENIES)
        .pure(&["plugin/client.rs", "plugin/cli.rs", "plugin/pr.rs"]),
];

const fn rule(module: &'static str, uses: &'static [&'static str]) -> Rule {
    Rule {
        module,
        uses,
        denies: &[],
        pure: None,
    }
}

impl Rule {
    const fn denies(mut self, items: &'static [(&'static str, &'static str)]) -> Rule {
        self.denies = items;
        self
    }
    const fn pure(mut self, io_files: &'static [&'static str]) -> Rule {
        self.pure = Some(io_files);
        self
    }
}

/// Paths a pure module's code must not name.
const IO: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "tokio",
    "reqwest",
    "git2",
    "kube::Client",
    "kube::Api",
    "cap_std",
    "rustix",
    "octocrab",
    "axum",
];

/// One use of another module: where, and the path after `crate::`.
#[derive(Debug)]
struct Reference {
    line: usize,
    path: Vec<String>,
}

/// Why a reference breaks its module's rule, or `None` when it does not.
fn verdict(rule: &Rule, modules: &BTreeSet<&str>, path: &[String]) -> Option<String> {
    let target = path.first().map(String::as_str)?;
    if target == rule.module || !modules.contains(target) {
        return None;
    }
    let joined = path.join("::");
    let under = |prefix: &str| joined == prefix || joined.starts_with(&format!("{prefix}::"));
    if let Some((item, why)) = rule.denies.iter().find(|(p, _)| under(p)) {
        return Some(format!("{} must not use {item}: {why}", rule.module));
    }
    if rule.uses.contains(&target) {
        return None;
    }
    Some(format!(
        "{} may use only {:?}, not {target}",
        rule.module, rule.uses
    ))
}

/// `text` with comments, strings and character literals blanked out (newlines kept, so lines
/// still count), leaving only code.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    while i < chars.len() {
        let skip = literal_len(&chars, i);
        if skip == 0 {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        for &c in &chars[i..(i + skip).min(chars.len())] {
            blank(&mut out, c);
        }
        i += skip;
    }
    out
}

/// The length of the comment, string or character literal starting at `i`, or 0.
fn literal_len(chars: &[char], i: usize) -> usize {
    let at = |k: usize| chars.get(k).copied().unwrap_or('\0');
    let word_before = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    match (at(i), at(i + 1)) {
        ('/', '/') => chars[i..]
            .iter()
            .position(|&c| c == '\n')
            .unwrap_or(chars.len() - i),
        ('/', '*') => block_comment_len(chars, i),
        ('"', _) => quoted_len(chars, i, '"'),
        ('b', '"') if !word_before => 1 + quoted_len(chars, i + 1, '"'),
        ('r', '"' | '#') if !word_before => raw_len(chars, i + 1).map_or(0, |n| n + 1),
        ('b', 'r') if !word_before => raw_len(chars, i + 2).map_or(0, |n| n + 2),
        ('\'', '\\') => quoted_len(chars, i, '\''),
        ('\'', _) if at(i + 2) == '\'' => 3,
        _ => 0,
    }
}

fn block_comment_len(chars: &[char], start: usize) -> usize {
    let (mut depth, mut i) = (0usize, start);
    while i + 1 < chars.len() {
        match (chars[i], chars[i + 1]) {
            ('/', '*') => {
                depth += 1;
                i += 2;
            }
            ('*', '/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i - start;
                }
            }
            _ => i += 1,
        }
    }
    chars.len() - start
}

fn quoted_len(chars: &[char], start: usize, quote: char) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            c if c == quote => return i + 1 - start,
            _ => i += 1,
        }
    }
    chars.len() - start
}

/// A raw string whose hashes (if any) start at `start`: `#*"…"#*`.
fn raw_len(chars: &[char], start: usize) -> Option<usize> {
    let hashes = chars[start..].iter().take_while(|&&c| c == '#').count();
    if chars.get(start + hashes) != Some(&'"') {
        return None;
    }
    let close: Vec<char> = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    let body = start + hashes + 1;
    let end = (body..=chars.len().saturating_sub(close.len()))
        .find(|&k| chars[k..k + close.len()] == close[..])
        .map_or(chars.len(), |k| k + close.len());
    Some(end - start)
}

/// Every path after `crate::` in `code`, use trees expanded, and every `m::…` path for a
/// module `m` the file imports by name.
fn references(code: &str) -> Vec<Reference> {
    let chars: Vec<char> = code.chars().collect();
    let mut found = Vec::new();
    let mut parsed = Vec::new();
    let mut i = 0;
    while let Some(k) = find(&chars, i, "crate::") {
        let mut p = Parser {
            chars: &chars,
            at: k + "crate::".len(),
        };
        let line = line_of(&chars, k);
        for path in p.tree(&[]) {
            found.push(Reference { line, path });
        }
        parsed.push(k..p.at);
        i = p.at.max(k + 1);
    }
    let named: BTreeSet<String> = found
        .iter()
        .filter(|r| r.path.len() == 1)
        .map(|r| r.path[0].clone())
        .collect();
    for module in named {
        let mut i = 0;
        while let Some(k) = find(&chars, i, &format!("{module}::")) {
            i = k + 1;
            let qualified = k >= 2 && chars[k - 2..k] == [':', ':'];
            if qualified || parsed.iter().any(|r| r.contains(&k)) {
                continue;
            }
            let mut p = Parser {
                chars: &chars,
                at: k,
            };
            let line = line_of(&chars, k);
            for path in p.tree(&[]) {
                found.push(Reference { line, path });
            }
        }
    }
    found
}

/// The first `needle` at or after `from` that starts a word.
fn find(chars: &[char], from: usize, needle: &str) -> Option<usize> {
    let needle: Vec<char> = needle.chars().collect();
    (from..chars.len().saturating_sub(needle.len() - 1)).find(|&k| {
        chars[k..k + needle.len()] == needle[..]
            && (k == 0 || !(chars[k - 1].is_alphanumeric() || chars[k - 1] == '_'))
    })
}

fn line_of(chars: &[char], at: usize) -> usize {
    1 + chars[..at].iter().filter(|&&c| c == '\n').count()
}

/// A use tree (or a plain path) read from `at`.
struct Parser<'c> {
    chars: &'c [char],
    at: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        let token: Vec<char> = token.chars().collect();
        let end = self.at + token.len();
        if end <= self.chars.len() && self.chars[self.at..end] == token[..] {
            self.at = end;
            return true;
        }
        false
    }

    fn ident(&mut self) -> Option<String> {
        self.skip_space();
        let start = self.at;
        while self
            .chars
            .get(self.at)
            .is_some_and(|c| c.is_alphanumeric() || *c == '_')
        {
            self.at += 1;
        }
        (self.at > start).then(|| self.chars[start..self.at].iter().collect())
    }

    /// The paths of the tree below `prefix`.
    fn tree(&mut self, prefix: &[String]) -> Vec<Vec<String>> {
        if self.eat("{") {
            let mut paths = Vec::new();
            while !self.eat("}") && self.at < self.chars.len() {
                paths.extend(self.tree(prefix));
                if !self.eat(",") {
                    self.eat("}");
                    break;
                }
            }
            return paths;
        }
        if self.eat("*") {
            return vec![prefix.to_vec()];
        }
        let Some(name) = self.ident() else {
            return vec![prefix.to_vec()];
        };
        if name == "self" {
            return vec![prefix.to_vec()];
        }
        let mut path = prefix.to_vec();
        path.push(name);
        if self.eat("::") {
            return self.tree(&path);
        }
        vec![path]
    }
}

/// The `#[cfg(test)] mod … { … }` blocks of `code`, as byte ranges of the char vector.
fn test_blocks(code: &[char]) -> Vec<std::ops::Range<usize>> {
    let mut blocks = Vec::new();
    let mut i = 0;
    while let Some(k) = find(code, i, "#[cfg(test)]") {
        i = k + 1;
        let mut p = Parser {
            chars: code,
            at: k + "#[cfg(test)]".len(),
        };
        if !(p.eat("mod") && p.ident().is_some() && p.eat("{")) {
            continue;
        }
        let mut depth = 1;
        while depth > 0 && p.at < code.len() {
            match code[p.at] {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            p.at += 1;
        }
        blocks.push(k..p.at);
    }
    blocks
}

fn is_test_file(rel: &str) -> bool {
    rel.split('/').any(|part| part == "tests") || rel.ends_with("tests.rs")
}

/// Names of I/O paths that non-test code in `code` uses, by line.
fn io_uses(code: &str) -> Vec<(usize, &'static str)> {
    let chars: Vec<char> = code.chars().collect();
    let tests = test_blocks(&chars);
    let mut found = Vec::new();
    for name in IO {
        let mut i = 0;
        while let Some(k) = find(&chars, i, name) {
            i = k + 1;
            let after = chars.get(k + name.len()).copied().unwrap_or(' ');
            let whole = !(after.is_alphanumeric() || after == '_');
            if whole && !tests.iter().any(|t| t.contains(&k)) {
                found.push((line_of(&chars, k), *name));
            }
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every rule broken under `src`, one line each: file, line, rule.
fn violations(src: &Path) -> Vec<String> {
    let modules: BTreeSet<&str> = RULES.iter().map(|r| r.module).collect();
    let mut out = Vec::new();
    for rule in RULES {
        let mut files = Vec::new();
        rust_files(&src.join(rule.module), &mut files);
        let single = src.join(format!("{}.rs", rule.module));
        if single.is_file() {
            files.push(single);
        }
        files.sort();
        for file in files {
            let rel = file
                .strip_prefix(src)
                .unwrap_or(&file)
                .display()
                .to_string();
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let code = code_only(&text);
            for r in references(&code) {
                if let Some(why) = verdict(rule, &modules, &r.path) {
                    let path = r.path.join("::");
                    out.push(format!("src/{rel}:{}: crate::{path}: {why}", r.line));
                }
            }
            let io_layer = rule.pure.is_some_and(|io| io.contains(&rel.as_str()));
            if rule.pure.is_none() || io_layer || is_test_file(&rel) {
                continue;
            }
            for (line, name) in io_uses(&code) {
                out.push(format!(
                    "src/{rel}:{line}: {name}: {} is pure (no I/O outside its tests)",
                    rule.module
                ));
            }
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_module_uses_only_what_the_design_table_allows() {
    let found = violations(&src());
    assert!(
        found.is_empty(),
        "{} boundary violations (README, Design: the module table):\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn every_module_of_the_crate_has_a_rule() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap_or_default();
    let declared: BTreeSet<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    let ruled: BTreeSet<&str> = RULES.iter().map(|r| r.module).collect();
    assert_eq!(declared, ruled, "lib.rs's modules and the rules differ");
}

#[test]
fn the_scanner_sees_use_trees_inline_paths_and_aliases_but_not_comments_or_strings() {
    let code = code_only(
        "use crate::{git::{self, Workspace}, repo::walk::*};\n\
         // crate::forge in a comment\n\
         let s = \"crate::forge\"; let c = '{';\n\
         fn f() { crate::pr::command::run(); git::read(); }\n\
         /* crate::usage */ let r = r#\"crate::metrics\"#;\n",
    );
    let got: Vec<(usize, String)> = references(&code)
        .into_iter()
        .map(|r| (r.line, r.path.join("::")))
        .collect();
    let want = [
        (1, "git"),
        (1, "git::Workspace"),
        (1, "repo::walk"),
        (4, "pr::command::run"),
        (4, "git::read"),
    ];
    let want: Vec<(usize, String)> = want.iter().map(|(l, p)| (*l, p.to_string())).collect();
    assert_eq!(got, want);
}

#[test]
fn a_forbidden_path_is_reported_with_the_rule_it_breaks() {
    let modules: BTreeSet<&str> = RULES.iter().map(|r| r.module).collect();
    let git = RULES.iter().find(|r| r.module == "git");
    let controller = RULES.iter().find(|r| r.module == "controller");
    let (Some(git), Some(controller)) = (git, controller) else {
        panic!("the table has rules for git and the controller");
    };
    let path = |p: &str| p.split("::").map(str::to_owned).collect::<Vec<_>>();
    let why = verdict(git, &modules, &path("yamledit::MAX_FILE_BYTES"));
    assert!(why.is_some_and(|w| w.contains("not yamledit")));
    assert_eq!(verdict(git, &modules, &path("secret::SecretToken")), None);
    assert_eq!(verdict(git, &modules, &path("error_chain")), None);
    let why = verdict(
        controller,
        &modules,
        &path("pr::command::default_cache_dir"),
    );
    assert!(why.is_some_and(|w| w.contains("must not use pr::command")));
    assert_eq!(verdict(controller, &modules, &path("pr::sync")), None);
    let io = io_uses(&code_only(
        "fn f() { std::fs::read(\"x\"); }\n#[cfg(test)]\nmod tests { fn g() { std::fs::read(\"y\"); } }\n",
    ));
    assert_eq!(io, [(1, "std::fs")]);
}
