//! What can be wrong with the recommender's input: a policy setting or a container's current
//! resources.

use crate::quantity::QuantityError;

/// A setting or a current value the recommender cannot use. Each names the field, the value
/// and what would be accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RecommendError {
    #[error("{field} {value}: unsupported percentile (use 50, 90, 95 or 99)")]
    Percentile { field: &'static str, value: i32 },
    #[error("{field} {value:?}: {reason}")]
    Setting {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("{field}")]
    Quantity {
        field: String,
        #[source]
        source: QuantityError,
    },
    #[error("{field} {value:?}: {reason}")]
    Amount {
        field: String,
        value: String,
        reason: &'static str,
    },
    #[error(
        "{resource}.minAllowed {min} is above {resource}.maxAllowed {max} (make minAllowed at \
         most maxAllowed)"
    )]
    BoundsInverted {
        resource: &'static str,
        min: String,
        max: String,
    },
}
