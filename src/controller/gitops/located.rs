//! A target workload with a recommendation and where `locate` traced it to: the input of the
//! GitOps step after its first step. Data only.

use crate::crd::WorkloadRecommendation;
use crate::locate::Source;

/// A target workload with a recommendation, and where it was traced to.
#[derive(Debug, Clone)]
pub struct Located {
    pub kind: String,
    pub name: String,
    pub recommendation: WorkloadRecommendation,
    /// The source, or why it could not be found (the message names the object).
    pub source: Result<Source, Unlocated>,
}

/// Why a workload has no source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unlocated {
    pub message: String,
    /// The owner its marker names does not list it in its status: the marker may be forged.
    pub owner_not_verified: bool,
}

impl From<String> for Unlocated {
    fn from(message: String) -> Unlocated {
        Unlocated {
            message,
            owner_not_verified: false,
        }
    }
}

impl Located {
    pub fn label(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}
