//! Placeholder until the exact quantity module lands (crd-work branch).

#[derive(Debug, thiserror::Error)]
#[error("invalid quantity")]
pub struct QuantityError;

pub fn semantically_equal(a: &str, b: &str) -> Result<bool, QuantityError> {
    Ok(a.trim() == b.trim())
}
