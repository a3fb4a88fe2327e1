//! The change set a pull request carries, reduced to what identifies it: a digest, and the
//! values it writes by `namespace/Kind/workload/container/field`.

use std::collections::BTreeMap;

use crate::quantity;
use crate::repo::Change;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangeSet {
    /// Digest of every change (identity, field, file, from, to): a human editing a value on the
    /// base branch, or the recommendation moving, gives a new digest; an unrelated commit on the
    /// base does not.
    pub hash: String,
    pub values: BTreeMap<String, String>,
}

pub fn key(c: &Change) -> String {
    format!(
        "{}/{}/{}/{}/{}",
        c.namespace, c.kind, c.workload, c.container, c.field
    )
}

impl ChangeSet {
    pub fn of(changes: &[Change]) -> ChangeSet {
        use sha2::{Digest, Sha256};
        let mut rows: Vec<String> = changes
            .iter()
            .map(|c| {
                format!(
                    "{}\0{}\0{}\0{}",
                    key(c),
                    c.file,
                    c.from.as_deref().unwrap_or(""),
                    c.to
                )
            })
            .collect();
        rows.sort();
        let mut h = Sha256::new();
        for row in &rows {
            h.update(row.as_bytes());
            h.update([b'\n']);
        }
        let hash = h
            .finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        let values = changes.iter().map(|c| (key(c), c.to.clone())).collect();
        ChangeSet { hash, values }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Whether these values moved far enough from `old` (a closed pull request's) to be worth
    /// proposing again: some value is new, or differs by at least `min_percent` percent.
    pub fn moved_from(&self, old: &BTreeMap<String, String>, min_percent: f64) -> bool {
        self.values.iter().any(|(k, new)| match old.get(k) {
            None => true,
            Some(prev) => match (quantity::parse(new), quantity::parse(prev)) {
                (Ok(n), Ok(p)) => n
                    .percent_change_from(&p)
                    .is_none_or(|pct| pct.abs() >= min_percent),
                _ => new != prev,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&str, &str)]) -> ChangeSet {
        ChangeSet {
            hash: String::new(),
            values: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn small_moves_are_not_worth_a_new_pr() {
        let old: BTreeMap<String, String> = [("a".to_owned(), "100m".to_owned())].into();
        assert!(!set(&[("a", "105m")]).moved_from(&old, 10.0));
        assert!(set(&[("a", "110m")]).moved_from(&old, 10.0));
        assert!(set(&[("a", "0.08")]).moved_from(&old, 10.0));
        assert!(set(&[("b", "1m")]).moved_from(&old, 10.0));
    }
}
