//! A resource amount as written (the text that goes on the wire) with its exact value (what
//! every comparison uses), and the one piece of arithmetic resizing needs: scaling a limit so
//! that its ratio to the request is kept.

use std::cmp::Ordering;

use crate::quantity::{self, Quantity, QuantityError};

use super::decision::Resource;

/// Quantity text kept verbatim next to its exact value, so a value that is not changed is
/// written back exactly as the user spelled it.
#[derive(Clone, Debug)]
pub(crate) struct Amount {
    pub text: String,
    pub value: Quantity,
}

impl Amount {
    pub fn parse(text: &str) -> Result<Amount, QuantityError> {
        Ok(Amount {
            text: text.to_owned(),
            value: quantity::parse(text)?,
        })
    }

    /// Exact numeric ordering. Quantities too far apart in scale to compare exactly (never
    /// real CPU or memory) are treated as unordered, which callers read as "not less".
    pub fn cmp_value(&self, other: &Amount) -> Option<Ordering> {
        self.value.partial_cmp(&other.value)
    }

    pub fn lt(&self, other: &Amount) -> bool {
        self.cmp_value(other) == Some(Ordering::Less)
    }

    pub fn same(&self, other: &Amount) -> bool {
        self.value == other.value
    }

    /// Kubernetes ignores zero amounts when it decides a pod's QoS class.
    pub fn is_positive(&self) -> bool {
        !self.value.is_zero() && !self.value.is_negative()
    }

    /// The value clamped to `[min, max]`, keeping the text of whichever value wins.
    pub fn clamp(&self, min: &Amount, max: &Amount) -> Amount {
        if self.lt(min) {
            min.clone()
        } else if max.lt(self) {
            max.clone()
        } else {
            self.clone()
        }
    }
}

/// `limit × new_request / old_request`, rounded up to the unit the kubelet works in (a
/// millicore, a byte), so the limit never ends up below the new request. `None` when the ratio
/// is undefined (no or zero old request) or the numbers do not fit; callers then keep the limit.
pub(crate) fn scale_limit(
    resource: Resource,
    new_request: &Amount,
    old_request: &Amount,
    old_limit: &Amount,
) -> Option<Amount> {
    if old_request.same(old_limit) {
        // Equal request and limit (every Guaranteed container) stay equal, spelled alike.
        return Some(new_request.clone());
    }
    let units = |a: &Amount| match resource {
        Resource::Cpu => a.value.millis_ceil(),
        Resource::Memory => a.value.units_ceil(),
    };
    let (new_request, old_request, old_limit) =
        (units(new_request)?, units(old_request)?, units(old_limit)?);
    if old_request <= 0 || new_request < 0 || old_limit < 0 {
        return None;
    }
    let product = new_request.checked_mul(old_limit)?;
    let scaled = product.div_euclid(old_request) + i128::from(product % old_request != 0);
    let text = match resource {
        Resource::Cpu => format_millicores(scaled),
        Resource::Memory => format_bytes(scaled),
    };
    Amount::parse(&text).ok()
}

fn format_millicores(millis: i128) -> String {
    if millis % 1000 == 0 {
        format!("{}", millis / 1000)
    } else {
        format!("{millis}m")
    }
}

/// The largest binary suffix that divides the value exactly, as people write memory.
fn format_bytes(bytes: i128) -> String {
    const SUFFIXES: [(&str, i128); 4] = [
        ("Ti", 1 << 40),
        ("Gi", 1 << 30),
        ("Mi", 1 << 20),
        ("Ki", 1 << 10),
    ];
    for (suffix, size) in SUFFIXES {
        if bytes != 0 && bytes % size == 0 {
            return format!("{}{suffix}", bytes / size);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(text: &str) -> Amount {
        Amount::parse(text).unwrap()
    }

    #[test]
    fn scaling_keeps_the_ratio_and_rounds_up() {
        let cases = [
            (Resource::Cpu, "150m", "100m", "200m", "300m"),
            (Resource::Cpu, "1", "500m", "1500m", "3"),
            (Resource::Cpu, "100m", "300m", "400m", "134m"),
            (Resource::Memory, "100Mi", "128Mi", "192Mi", "150Mi"),
            (Resource::Memory, "1Gi", "512Mi", "1Gi", "2Gi"),
            (Resource::Memory, "1000", "3", "4", "1334"),
            (Resource::Memory, "0.5Gi", "256Mi", "256Mi", "0.5Gi"),
        ];
        for (resource, new, old_req, old_lim, want) in cases {
            let got =
                scale_limit(resource, &amount(new), &amount(old_req), &amount(old_lim)).unwrap();
            assert_eq!(got.text, want, "{new} × {old_lim}/{old_req}");
        }
    }

    #[test]
    fn scaling_without_a_ratio_gives_up() {
        let zero = amount("0");
        assert!(scale_limit(Resource::Cpu, &amount("1"), &zero, &amount("2")).is_none());
    }

    #[test]
    fn clamp_keeps_the_winning_text() {
        let (min, max) = (amount("10m"), amount("2"));
        assert_eq!(amount("0.001").clamp(&min, &max).text, "10m");
        assert_eq!(amount("2500m").clamp(&min, &max).text, "2");
        assert_eq!(amount("0.5").clamp(&min, &max).text, "0.5");
    }
}
