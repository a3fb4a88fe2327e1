//! The check [`super::sync`] makes right before each write (push, create, update, comment,
//! close, branch deletion): may this process still write? The controller's gate follows its
//! leader lease, so a reconcile still running after the lease is lost abandons its writes
//! instead of racing the new leader; `propose --open-pr` has no lease and writes with a gate
//! that is always open.

use std::fmt;
use std::sync::Arc;

use tokio::sync::watch;

use super::PrError;

/// A write [`super::sync`] is about to make, for the message when it is abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Push,
    Create,
    Update,
    Comment,
    Close,
    DeleteBranch,
}

impl fmt::Display for Write {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Write::Push => "pushing the branch",
            Write::Create => "opening the pull request",
            Write::Update => "updating the pull request",
            Write::Comment => "commenting on the pull request",
            Write::Close => "closing the pull request",
            Write::DeleteBranch => "deleting the branch",
        })
    }
}

type Probe = Arc<dyn Fn() -> bool + Send + Sync>;

/// Whether writes may go ahead now. Cloning shares the source of truth.
#[derive(Clone, Default)]
pub struct WriteGate {
    /// `None`: always open.
    probe: Option<Probe>,
}

impl WriteGate {
    /// A gate that never closes, for a process that is the only writer (the CLI).
    pub fn always_open() -> WriteGate {
        WriteGate { probe: None }
    }

    /// A gate open while the watched value is `true`: the controller passes its "this replica
    /// holds the leader lease" channel. A channel whose sender is gone keeps its last value,
    /// which the lease loop sets to `false` before it lets go.
    pub fn following(leading: watch::Receiver<bool>) -> WriteGate {
        WriteGate::from_fn(move || *leading.borrow())
    }

    /// A gate that asks `probe` on every check.
    pub fn from_fn(probe: impl Fn() -> bool + Send + Sync + 'static) -> WriteGate {
        WriteGate {
            probe: Some(Arc::new(probe)),
        }
    }

    pub fn is_open(&self) -> bool {
        self.probe.as_ref().is_none_or(|probe| probe())
    }

    /// `Ok` when `write` may go ahead, else the error that abandons it.
    pub fn check(&self, write: Write, branch: &str) -> Result<(), PrError> {
        if self.is_open() {
            Ok(())
        } else {
            tracing::info!(%branch, write = %write, "not the leader any more: write abandoned");
            Err(PrError::NotLeader {
                write,
                branch: branch.to_owned(),
            })
        }
    }
}

impl fmt::Debug for WriteGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.probe.is_some() {
            "follows leadership"
        } else {
            "always open"
        };
        f.debug_struct("WriteGate")
            .field("kind", &kind)
            .field("open", &self.is_open())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_cli_gate_never_closes() {
        let gate = WriteGate::always_open();
        assert!(gate.is_open());
        assert!(gate.check(Write::Push, "attune/a/b").is_ok());
        assert!(WriteGate::default().is_open());
    }

    #[test]
    fn a_following_gate_closes_and_reopens_with_the_lease() {
        let (tx, rx) = watch::channel(true);
        let gate = WriteGate::following(rx);
        let copy = gate.clone();
        assert!(gate.check(Write::Create, "attune/a/b").is_ok());
        tx.send_replace(false);
        let err = copy.check(Write::Create, "attune/a/b").unwrap_err();
        assert!(matches!(
            err,
            PrError::NotLeader {
                write: Write::Create,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "abandoned opening the pull request for attune/a/b: this replica no longer holds the leader lease (the new leader makes the change)"
        );
        tx.send_replace(true);
        assert!(gate.is_open());
        // The lease loop lowers the flag before it ends; the last value stays.
        tx.send_replace(false);
        drop(tx);
        assert!(!gate.is_open());
        assert_eq!(
            format!("{gate:?}"),
            r#"WriteGate { kind: "follows leadership", open: false }"#
        );
    }
}
