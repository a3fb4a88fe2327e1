//! Limits follow requests only with `controlledValues: RequestsAndLimits`, keeping the current
//! limit/request ratio.

use super::amount::{Amount, Resource};
use crate::crd::ControlledValues;

/// The new limit for `new_request`, or `None` when the current limit stays exactly as it is:
/// RequestsOnly; no (or a zero) current request or limit, so a missing limit is never added;
/// an unchanged request; a ratio that would overflow.
///
/// With RequestsAndLimits the limit is ⌊new request × current limit / current request⌋ in the
/// current limit's notation, as the Go operator computes it (truncated, ratio in f64). CPU
/// truncates to whole millicores, memory to whole bytes (Go truncates memory to millibytes and
/// can print a fractional byte count such as `1073741824500m`).
pub fn scaled_limit(
    controlled: ControlledValues,
    current_request: Amount,
    current_limit: Option<Amount>,
    new_request: Amount,
) -> Option<Amount> {
    let current_limit = current_limit?;
    if controlled != ControlledValues::RequestsAndLimits
        || current_request.base() == 0
        || current_limit.base() == 0
        || new_request.base() == current_request.base()
    {
        return None;
    }
    let ratio = current_limit.millis() as f64 / current_request.millis() as f64;
    let resource = current_limit.resource();
    if !ratio.is_finite() || ratio <= 0.0 {
        return Some(Amount::new(
            resource,
            new_request.base(),
            current_limit.format(),
        ));
    }
    let product_millis = new_request.millis() as f64 * ratio;
    if !(0.0..i64::MAX as f64).contains(&product_millis) {
        return None;
    }
    // Within [0, 2^63): the truncating conversions are exact to the unit.
    let base = match resource {
        Resource::Cpu => product_millis as i64,
        Resource::Memory => (product_millis / 1000.0) as i64,
    };
    Some(Amount::new(resource, base, current_limit.format()))
}
