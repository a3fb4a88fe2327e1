//! The target for one resource of one container: the recommended request clamped to the
//! policy's bounds, the limit moved only when the policy controls limits (keeping its ratio to
//! the request) and never added, the request kept at or below the limit, and no memory limit
//! lowered on a server that cannot do that in place.

use super::amount::{Amount, scale_limit};
use super::containers::Pair;
use super::decision::Resource;
use super::settings::ResourceRule;

/// New values for one resource of one container; a field is `None` when it stays as it is.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub request: Option<Amount>,
    pub limit: Option<Amount>,
    /// The policy wanted a lower limit, which the server cannot apply; the limit stays.
    pub limit_held: bool,
    /// The recommendation was outside `[minAllowed, maxAllowed]`: the bound it was moved to.
    pub bound: Option<Bound>,
    /// The request was lowered to the container's limit (a request above it is invalid).
    pub capped_by_limit: Option<Amount>,
}

/// Which bound of the policy a recommendation was clamped to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bound {
    Min,
    Max,
}

impl Target {
    pub fn is_noop(&self) -> bool {
        self.request.is_none() && self.limit.is_none()
    }

    /// The pair after applying this target.
    pub fn apply(&self, pair: &Pair) -> Pair {
        Pair {
            request: self.request.clone().or_else(|| pair.request.clone()),
            limit: self.limit.clone().or_else(|| pair.limit.clone()),
        }
    }
}

/// What `recommended` means for `pair` under `rule`. `limit_decrease_allowed` is false for
/// memory on servers before 1.35.
pub(crate) fn target(
    resource: Resource,
    pair: &Pair,
    recommended: &Amount,
    rule: &ResourceRule,
    limit_decrease_allowed: bool,
) -> Target {
    let wanted = recommended.clamp(&rule.min, &rule.max);
    let bound = if recommended.lt(&rule.min) {
        Some(Bound::Min)
    } else if rule.max.lt(recommended) {
        Some(Bound::Max)
    } else {
        None
    };
    let current_request = pair.effective_request();
    let mut limit_held = false;
    let mut capped_by_limit = None;
    let (request, limit) = match &pair.limit {
        // No limit: only the request moves, and no limit is ever added.
        None => (wanted, None),
        Some(limit) => {
            let mut new_limit = if rule.controls_limits {
                current_request
                    .filter(|r| !limit.lt(r))
                    .and_then(|r| scale_limit(resource, &wanted, r, limit))
                    .unwrap_or_else(|| limit.clone())
            } else {
                limit.clone()
            };
            if new_limit.lt(limit) && !limit_decrease_allowed {
                new_limit = limit.clone();
                limit_held = true;
            }
            // A request above the limit is invalid; the limit only rises through the ratio.
            let request = if new_limit.lt(&wanted) {
                capped_by_limit = Some(new_limit.clone());
                new_limit.clone()
            } else {
                wanted
            };
            (request, Some(new_limit))
        }
    };
    Target {
        request: match current_request {
            Some(current) if current.same(&request) => None,
            _ => Some(request),
        },
        limit: match (limit, &pair.limit) {
            (Some(new), Some(old)) if !new.same(old) => Some(new),
            _ => None,
        },
        limit_held,
        bound,
        capped_by_limit,
    }
}
