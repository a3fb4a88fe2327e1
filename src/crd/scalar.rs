//! Reading text fields that YAML or JSON may have typed as numbers.
//!
//! Quantities (`cpuRequest: 1`), percentages (`overhead: 20`) and thresholds are text in the CRD,
//! but hand-written YAML often leaves them unquoted. Reading them must keep the text exactly as
//! written: `1.50` must stay "1.50", not become the float 1.5, because the text is what later
//! lands in a manifest.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

/// Deserializes an optional text field that may also be written as a number.
pub(crate) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_option(OptTextVisitor)
}

/// Deserializes a required text field that may also be written as a number.
pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    read_text(d)
}

fn read_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    // serde-saphyr (and the quick reader, which must agree with it) hands a plain scalar to `deserialize_str` as the text as written, while
    // `deserialize_any` would turn `1.50` into a float first. JSON deserializers refuse numbers
    // in `deserialize_str`, so everything else goes through `deserialize_any`; JSON numbers from
    // the API server are integers (int-or-string), whose text survives the round trip.
    let name = std::any::type_name::<D>();
    if name.starts_with("serde_saphyr::") || name == std::any::type_name::<&super::quick::Node>() {
        d.deserialize_str(TextVisitor)
    } else {
        d.deserialize_any(TextVisitor)
    }
}

struct OptTextVisitor;

impl<'de> Visitor<'de> for OptTextVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a number")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        read_text(d).map(Some)
    }
}

struct TextVisitor;

impl Visitor<'_> for TextVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a number")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
}
