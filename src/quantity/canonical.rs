//! Kubernetes' canonical text for a quantity, as the API server writes it back.
//!
//! apimachinery keeps a notation with every quantity (the "format", chosen by the suffix it was
//! written with) and prints it in the shortest exact form of that notation: `1000m` → `1`,
//! `1024Mi` → `1Gi`, `0.5` → `500m`, `348966093` stays as it is. Binary notation falls back to
//! decimal below 1024 or for a value that is not a whole number.

use super::{Quantity, mul_pow};

/// The notation of a quantity, as apimachinery records it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// Decimal suffixes (`m`, `k`, `M`, …) or none: `250m`, `2`, `1500k`.
    #[default]
    DecimalSI,
    /// Binary suffixes: `512Mi`, `1Gi`.
    BinarySI,
    /// A power of ten written out: `1e3`.
    DecimalExponent,
}

impl Format {
    /// The notation quantity text is written in: a binary suffix gives [`Format::BinarySI`], an
    /// exponent (`e3`, `E-2`) gives [`Format::DecimalExponent`], anything else
    /// [`Format::DecimalSI`]. Meant for text [`super::parse`] accepted.
    pub fn of(text: &str) -> Format {
        let unsigned = text.trim_start_matches(['+', '-']);
        let suffix = unsigned.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
        if suffix.ends_with('i') {
            Format::BinarySI
        } else if suffix.len() > 1 && suffix.starts_with(['e', 'E']) {
            Format::DecimalExponent
        } else {
            Format::DecimalSI
        }
    }
}

const DECIMAL_SUFFIXES: [(i64, &str); 10] = [
    (-9, "n"),
    (-6, "u"),
    (-3, "m"),
    (0, ""),
    (3, "k"),
    (6, "M"),
    (9, "G"),
    (12, "T"),
    (15, "P"),
    (18, "E"),
];

const BINARY_SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

impl Quantity {
    /// `value × 10^tens`, exactly: `from_scaled(1153, -3)` is `1153m`.
    pub fn from_scaled(value: i128, tens: i64) -> Quantity {
        Quantity::normalized(value < 0, value.unsigned_abs(), tens, tens)
    }

    /// The canonical text in `format`, as the API server would store it (`1153m`, `390Mi`,
    /// `348966093`, `1e3`). `None` only when the digits would not fit in 128 bits, which no
    /// CPU or memory amount comes near.
    pub fn canonical(&self, format: Format) -> Option<String> {
        if self.is_zero() {
            return Some("0".to_owned());
        }
        let sign = if self.negative { "-" } else { "" };
        if format == Format::BinarySI && self.twos >= 0 && self.fives >= 0 {
            let whole = mul_pow(mul_pow(self.coefficient, 2, self.twos)?, 5, self.fives)?;
            if whole >= 1024 {
                return Some(binary_text(sign, whole));
            }
        }
        self.decimal_text(sign, format)
    }

    /// Mantissa and an exponent that is a multiple of three, the exponent as high as the value
    /// allows (apimachinery's rule), then the suffix for that exponent.
    fn decimal_text(&self, sign: &str, format: Format) -> Option<String> {
        let mut exponent = self.twos.min(self.fives);
        let mut mantissa = mul_pow(
            mul_pow(self.coefficient, 2, self.twos - exponent)?,
            5,
            self.fives - exponent,
        )?;
        let lower = exponent.rem_euclid(3);
        mantissa = mul_pow(mantissa, 10, lower)?;
        exponent -= lower;
        let suffix = match format {
            Format::DecimalExponent if exponent == 0 => String::new(),
            Format::DecimalExponent => format!("e{exponent}"),
            _ => DECIMAL_SUFFIXES
                .iter()
                .find(|(e, _)| *e == exponent)
                .map_or_else(|| format!("e{exponent}"), |(_, s)| (*s).to_owned()),
        };
        Some(format!("{sign}{mantissa}{suffix}"))
    }
}

fn binary_text(sign: &str, mut whole: u128) -> String {
    let mut power = 0;
    while power + 1 < BINARY_SUFFIXES.len() && whole.is_multiple_of(1024) {
        whole /= 1024;
        power += 1;
    }
    format!("{sign}{whole}{}", BINARY_SUFFIXES[power])
}
