//! An amount of CPU or memory as the chain computes it: whole millicores or whole bytes, with
//! the notation it prints in.

use std::fmt;

use serde::{Serialize, Serializer};

use super::error::RecommendError;
use crate::quantity::{self, Format, Quantity};

/// The two resources the recommender sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Resource {
    Cpu,
    Memory,
}

impl Resource {
    /// The policy's field name: `cpu` or `memory`.
    pub fn field(self) -> &'static str {
        match self {
            Resource::Cpu => "cpu",
            Resource::Memory => "memory",
        }
    }

    /// As the Go operator names it in `finalAdjustment`: `CPU` or `memory`.
    pub fn label(self) -> &'static str {
        match self {
            Resource::Cpu => "CPU",
            Resource::Memory => "memory",
        }
    }

    /// Power of ten of the base unit: millicores (10⁻³ cores) or bytes.
    fn unit_tens(self) -> i64 {
        match self {
            Resource::Cpu => -3,
            Resource::Memory => 0,
        }
    }

    /// Notation of a value the chain computes: the Go operator makes CPU values with
    /// `NewMilliQuantity(…, DecimalSI)` and memory values with `NewQuantity(…, BinarySI)`.
    pub(crate) fn computed_format(self) -> Format {
        match self {
            Resource::Cpu => Format::DecimalSI,
            Resource::Memory => Format::BinarySI,
        }
    }
}

/// A CPU amount in millicores or a memory amount in bytes, and the notation it prints in.
/// Every stage of the chain is one of these, so rounding happens once per stage (upwards).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Amount {
    resource: Resource,
    base: i64,
    format: Format,
}

impl Amount {
    /// `base` millicores (CPU) or bytes (memory) in `format`.
    pub fn new(resource: Resource, base: i64, format: Format) -> Amount {
        Amount {
            resource,
            base,
            format,
        }
    }

    /// Millicores, printed like a computed CPU value (`250m`, `2`).
    pub fn cpu_millis(millis: i64) -> Amount {
        Amount::new(Resource::Cpu, millis, Format::DecimalSI)
    }

    /// Bytes, printed like a computed memory value (`390Mi`, `348966093`).
    pub fn memory_bytes(bytes: i64) -> Amount {
        Amount::new(Resource::Memory, bytes, Format::BinarySI)
    }

    /// Zero, as a missing request reads.
    pub fn zero(resource: Resource) -> Amount {
        Amount::new(resource, 0, resource.computed_format())
    }

    /// Reads quantity text (`500m`, `0.5`, `512Mi`) for `resource`, rounding up to whole
    /// millicores or bytes as Kubernetes does and keeping the text's notation. `field` names the
    /// value in errors. Negative values and values beyond 2⁶³ base units are refused.
    pub fn parse(resource: Resource, text: &str, field: &str) -> Result<Amount, RecommendError> {
        let value = quantity::parse(text).map_err(|source| RecommendError::Quantity {
            field: field.to_owned(),
            source,
        })?;
        let refuse = |reason| RecommendError::Amount {
            field: field.to_owned(),
            value: text.to_owned(),
            reason,
        };
        if value.is_negative() {
            return Err(refuse("must not be negative"));
        }
        let base = match resource {
            Resource::Cpu => value.millis_ceil(),
            Resource::Memory => value.units_ceil(),
        };
        let base = base
            .and_then(|b| i64::try_from(b).ok())
            .ok_or_else(|| refuse("too large (at most 2^63 millicores or bytes)"))?;
        Ok(Amount::new(resource, base, Format::of(text)))
    }

    pub fn resource(&self) -> Resource {
        self.resource
    }

    /// Millicores for CPU, bytes for memory.
    pub fn base(&self) -> i64 {
        self.base
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Thousandths of the base unit, as the Go operator's change filter and limit scaling read
    /// values (`MilliValue`): millicores for CPU, millibytes for memory.
    pub(crate) fn millis(&self) -> i64 {
        match self.resource {
            Resource::Cpu => self.base,
            Resource::Memory => self.base.saturating_mul(1000),
        }
    }

    /// The exact quantity.
    pub fn to_quantity(&self) -> Quantity {
        Quantity::from_scaled(i128::from(self.base), self.resource.unit_tens())
    }

    /// Kubernetes' canonical text in this amount's notation: `1153m`, `2`, `390Mi`,
    /// `348966093`.
    pub fn canonical(&self) -> String {
        self.to_quantity()
            .canonical(self.format)
            // An i64 count of millis or bytes always fits; kept total rather than trusted.
            .unwrap_or_else(|| self.base.to_string())
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.canonical())
    }
}
