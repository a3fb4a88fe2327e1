//! The lifecycle decision, pure: given the change set, the newest pull request for the branch
//! and the state of the branch, what to do. Every rule users rely on lives here, where it can
//! be tested without a forge or a remote.

use super::changeset::ChangeSet;
use super::marker::Marker;
use crate::forge::{PrState, PullRequest};

/// The bot branch on the remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Branch {
    Absent,
    /// Tip is a bot commit (one commit on a base, with the trailer); its change hash.
    Bot {
        hash: String,
    },
    /// Someone else committed there: never push to it again.
    Human,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Open a pull request (after pushing the bot commit, unless the branch already has it).
    Create { merged_before: Option<u64> },
    /// Push the new bot commit and rewrite the body of the open pull request.
    Update { number: u64 },
    /// Nothing to write: the open pull request already carries this change set.
    Unchanged { number: u64 },
    /// Nothing to change and no pull request open.
    NoDrift { merged: Option<u64> },
    /// The open pull request is obsolete: the repository already has the values.
    Close { number: u64 },
    /// A human pushed to the bot branch: leave it alone (and say so once).
    HumanCommit { number: Option<u64> },
    /// A human closed the last pull request and the values have not moved enough since.
    HumanClosed { number: u64 },
}

pub fn decide(
    changes: &ChangeSet,
    pr: Option<&PullRequest>,
    branch: &Branch,
    min_change_percent: f64,
) -> Decision {
    let open = pr.filter(|p| p.state == PrState::Open);
    if *branch == Branch::Human {
        return Decision::HumanCommit {
            number: open.map(|p| p.number),
        };
    }
    if let Some(open) = open {
        if changes.is_empty() {
            return Decision::Close {
                number: open.number,
            };
        }
        let carried = Marker::find(&open.body).map(|m| m.hash);
        return if carried.as_deref() == Some(changes.hash.as_str()) {
            Decision::Unchanged {
                number: open.number,
            }
        } else {
            Decision::Update {
                number: open.number,
            }
        };
    }
    let merged = pr.filter(|p| p.state == PrState::Merged).map(|p| p.number);
    if changes.is_empty() {
        return Decision::NoDrift { merged };
    }
    if let Some(closed) = pr.filter(|p| p.state == PrState::Closed) {
        // Without a marker (body edited by hand) the closed values are unknown; respecting the
        // close until something new appears is the safe reading.
        let old = Marker::find(&closed.body)
            .map(|m| m.values)
            .unwrap_or_default();
        let old = if old.is_empty() {
            changes.values.clone()
        } else {
            old
        };
        if !changes.moved_from(&old, min_change_percent) {
            return Decision::HumanClosed {
                number: closed.number,
            };
        }
    }
    Decision::Create {
        merged_before: merged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pr(state: PrState, marker: &Marker) -> PullRequest {
        PullRequest {
            number: 7,
            url: "u".into(),
            state,
            title: "t".into(),
            body: format!("body\n{}", marker.render()),
            head_branch: "attune/ns/p".into(),
            base_branch: "main".into(),
            labels: vec![],
            created_at: 0,
            draft: false,
        }
    }

    fn changes(v: &str) -> ChangeSet {
        let values = [("k".to_owned(), v.to_owned())].into();
        ChangeSet {
            hash: format!("h{v}"),
            values,
        }
    }

    fn marker(c: &ChangeSet) -> Marker {
        Marker {
            hash: c.hash.clone(),
            values: c.values.clone(),
        }
    }

    #[test]
    fn open_pr_is_updated_only_when_the_hash_moves() {
        let c = changes("100m");
        let open = pr(PrState::Open, &marker(&c));
        let bot = Branch::Bot {
            hash: c.hash.clone(),
        };
        assert_eq!(
            decide(&c, Some(&open), &bot, 10.0),
            Decision::Unchanged { number: 7 }
        );
        assert_eq!(
            decide(&changes("90m"), Some(&open), &bot, 10.0),
            Decision::Update { number: 7 }
        );
        assert_eq!(
            decide(&ChangeSet::default(), Some(&open), &bot, 10.0),
            Decision::Close { number: 7 }
        );
    }

    #[test]
    fn human_close_is_respected_until_values_move() {
        let c = changes("100m");
        let closed = pr(PrState::Closed, &marker(&c));
        let bot = Branch::Bot {
            hash: c.hash.clone(),
        };
        assert_eq!(
            decide(&changes("105m"), Some(&closed), &bot, 10.0),
            Decision::HumanClosed { number: 7 }
        );
        assert_eq!(
            decide(&changes("150m"), Some(&closed), &bot, 10.0),
            Decision::Create {
                merged_before: None
            }
        );
    }

    #[test]
    fn merged_pr_leads_to_a_fresh_one_and_human_commits_stop_everything() {
        let c = changes("100m");
        let merged = pr(PrState::Merged, &marker(&c));
        assert_eq!(
            decide(&changes("80m"), Some(&merged), &Branch::Absent, 10.0),
            Decision::Create {
                merged_before: Some(7)
            }
        );
        assert_eq!(
            decide(&ChangeSet::default(), Some(&merged), &Branch::Absent, 10.0),
            Decision::NoDrift { merged: Some(7) }
        );
        let open = pr(PrState::Open, &marker(&c));
        assert_eq!(
            decide(&changes("80m"), Some(&open), &Branch::Human, 10.0),
            Decision::HumanCommit { number: Some(7) }
        );
        assert_eq!(
            decide(&c, None, &Branch::Absent, 10.0),
            Decision::Create {
                merged_before: None
            }
        );
    }
}
