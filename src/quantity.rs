//! Exact Kubernetes resource quantities (`500m`, `1.5Gi`, `1e3`), compared without floats.
//!
//! A quantity is held as `± coefficient × 2^twos × 5^fives` with the coefficient free of
//! factors 2 and 5. Every decimal suffix is a power of ten (2 × 5) and every binary suffix a
//! power of two, so that form is unique: two quantities are equal exactly when their parts are,
//! which makes `0.5 == 500m` and `1Gi == 1024Mi` true and `1G == 1Gi` false with no rounding.
//! Floats appear only in [`Quantity::percent_change_from`], which is for display.
//!
//! This module must not know about CRDs, pods, manifests or recommendation policy: it reads
//! quantity text, answers questions about the numbers and prints them in Kubernetes' canonical
//! form ([`Quantity::canonical`]).

use std::cmp::Ordering;

mod canonical;

pub use canonical::Format;

/// Most significant decimal digits a quantity may have; `u128` holds 38 of them.
const MAX_DIGITS: usize = 38;

/// Largest decimal exponent accepted, so exponent arithmetic cannot overflow. Real quantities
/// stay within ±30.
const MAX_EXPONENT: i64 = 1_000;

/// An exactly represented Kubernetes quantity. Equality is numeric: `"0.5"` and `"500m"`
/// parse to equal values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Quantity {
    negative: bool,
    /// Not divisible by 2 or 5; zero only for the value zero, whose exponents are then 0.
    coefficient: u128,
    twos: i64,
    fives: i64,
}

/// Why a quantity string could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QuantityError {
    #[error(
        "invalid quantity \"\": empty (write a number with an optional suffix, e.g. 500m or 1Gi)"
    )]
    Empty,
    #[error("invalid quantity {input:?}: no digits before the suffix (write e.g. 500m or 1Gi)")]
    NoDigits { input: String },
    #[error(
        "invalid quantity {input:?}: unknown suffix {suffix:?} (use n, u, m, k, M, G, T, P, E, \
         Ki, Mi, Gi, Ti, Pi, Ei, or an exponent such as e3)"
    )]
    UnknownSuffix { input: String, suffix: String },
    #[error("invalid quantity {input:?}: exponent out of range (at most ±{MAX_EXPONENT})")]
    ExponentOutOfRange { input: String },
    #[error("invalid quantity {input:?}: more than {MAX_DIGITS} significant digits")]
    TooManyDigits { input: String },
}

/// Parses Kubernetes quantity text: an optional sign, a decimal number, and an optional
/// decimal suffix (n u m k M G T P E), binary suffix (Ki … Ei) or exponent (`e3`, `E-2`).
///
/// ```
/// use attune::quantity::parse;
/// assert_eq!(parse("0.5")?, parse("500m")?);
/// assert_eq!(parse("1Gi")?, parse("1024Mi")?);
/// assert_ne!(parse("1G")?, parse("1Gi")?);
/// # Ok::<(), attune::quantity::QuantityError>(())
/// ```
pub fn parse(s: &str) -> Result<Quantity, QuantityError> {
    if s.is_empty() {
        return Err(QuantityError::Empty);
    }
    let (negative, unsigned) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let whole_len = digit_run(unsigned);
    let (whole, rest) = unsigned.split_at(whole_len);
    let (fraction, suffix) = match rest.strip_prefix('.') {
        Some(after_point) => after_point.split_at(digit_run(after_point)),
        None => ("", rest),
    };
    if whole.is_empty() && fraction.is_empty() {
        return Err(QuantityError::NoDigits {
            input: s.to_owned(),
        });
    }
    let (twos_suffix, tens_suffix) = suffix_exponents(s, suffix)?;

    let digits = whole.bytes().chain(fraction.bytes());
    let (coefficient, trailing_zeros) = accumulate(digits, s)?;
    let frac_len = i64::try_from(fraction.len()).unwrap_or(i64::MAX);
    let tens = tens_suffix + trailing_zeros - frac_len;
    Ok(Quantity::normalized(
        negative,
        coefficient,
        twos_suffix + tens,
        tens,
    ))
}

/// Whether two quantity strings denote the same number (`"1"` and `"1000m"` do).
pub fn semantically_equal(a: &str, b: &str) -> Result<bool, QuantityError> {
    Ok(parse(a)? == parse(b)?)
}

/// A positive size in bytes written as a quantity (`16Mi`, `64M`, `1000000`), rounded up to
/// a whole byte; the error says how to write one (for command-line and Helm values).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let why = "write a size like 16Mi, 64Mi or 1Gi";
    let q = parse(text.trim()).map_err(|e| format!("{e}; {why}"))?;
    match q.units_ceil().and_then(|b| u64::try_from(b).ok()) {
        Some(bytes) if bytes > 0 => Ok(bytes),
        _ => Err(format!("must be a positive number of bytes; {why}")),
    }
}

/// Length of the leading run of ASCII digits.
fn digit_run(s: &str) -> usize {
    s.bytes().take_while(u8::is_ascii_digit).count()
}

fn unknown_suffix(input: &str, suffix: &str) -> QuantityError {
    QuantityError::UnknownSuffix {
        input: input.to_owned(),
        suffix: suffix.to_owned(),
    }
}

/// The powers of two and of ten a suffix multiplies by.
fn suffix_exponents(input: &str, suffix: &str) -> Result<(i64, i64), QuantityError> {
    let exponents = match suffix {
        "" => (0, 0),
        "n" => (0, -9),
        "u" => (0, -6),
        "m" => (0, -3),
        "k" => (0, 3),
        "M" => (0, 6),
        "G" => (0, 9),
        "T" => (0, 12),
        "P" => (0, 15),
        "E" => (0, 18),
        "Ki" => (10, 0),
        "Mi" => (20, 0),
        "Gi" => (30, 0),
        "Ti" => (40, 0),
        "Pi" => (50, 0),
        "Ei" => (60, 0),
        _ => return exponent_suffix(input, suffix).map(|tens| (0, tens)),
    };
    Ok(exponents)
}

/// `e3`, `E-2`, `e+6`: a power of ten written out. (`E` alone is exa, handled above.)
fn exponent_suffix(input: &str, suffix: &str) -> Result<i64, QuantityError> {
    let Some(rest) = suffix.strip_prefix(['e', 'E']) else {
        return Err(unknown_suffix(input, suffix));
    };
    let (sign, digits) = match rest.as_bytes().first() {
        Some(b'-') => (-1, &rest[1..]),
        Some(b'+') => (1, &rest[1..]),
        _ => (1, rest),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(unknown_suffix(input, suffix));
    }
    match digits.parse::<i64>() {
        Ok(value) if value <= MAX_EXPONENT => Ok(sign * value),
        _ => Err(QuantityError::ExponentOutOfRange {
            input: input.to_owned(),
        }),
    }
}

/// Reads decimal digits into a coefficient, setting trailing zeros aside as a power of ten so
/// that `100000…0` does not count against the digit limit.
fn accumulate(digits: impl Iterator<Item = u8>, input: &str) -> Result<(u128, i64), QuantityError> {
    let mut coefficient: u128 = 0;
    let mut pending_zeros: i64 = 0;
    let mut significant = 0usize;
    for digit in digits {
        if digit == b'0' {
            pending_zeros += 1;
            continue;
        }
        // Zeros seen before this non-zero digit are inside the number after all (leading
        // zeros, met while the coefficient is still 0, are not).
        let shift = if coefficient == 0 { 0 } else { pending_zeros };
        pending_zeros = 0;
        significant += usize::try_from(shift).unwrap_or(usize::MAX) + 1;
        // Checked before multiplying: 38 digits always fit in a u128, 39 may not.
        if significant > MAX_DIGITS {
            return Err(QuantityError::TooManyDigits {
                input: input.to_owned(),
            });
        }
        for _ in 0..shift {
            coefficient *= 10;
        }
        coefficient = coefficient * 10 + u128::from(digit - b'0');
    }
    if coefficient == 0 {
        return Ok((0, 0));
    }
    Ok((coefficient, pending_zeros))
}

impl Quantity {
    /// `± coefficient × 2^twos × 5^fives`, reduced to the unique form.
    fn normalized(negative: bool, mut coefficient: u128, mut twos: i64, mut fives: i64) -> Self {
        if coefficient == 0 {
            return Self {
                negative: false,
                coefficient: 0,
                twos: 0,
                fives: 0,
            };
        }
        while coefficient.is_multiple_of(2) {
            coefficient /= 2;
            twos += 1;
        }
        while coefficient.is_multiple_of(5) {
            coefficient /= 5;
            fives += 1;
        }
        Self {
            negative,
            coefficient,
            twos,
            fives,
        }
    }

    /// True for any spelling of zero (`0`, `0m`, `-0.0Gi`).
    pub fn is_zero(&self) -> bool {
        self.coefficient == 0
    }

    /// True below zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// The value in thousandths (millicores for CPU), rounded up as Kubernetes does, or `None`
    /// if it does not fit in an `i128`.
    pub fn millis_ceil(&self) -> Option<i128> {
        self.scaled_ceil(3)
    }

    /// The value in whole units (bytes for memory), rounded up as Kubernetes does, or `None`
    /// if it does not fit in an `i128`.
    pub fn units_ceil(&self) -> Option<i128> {
        self.scaled_ceil(0)
    }

    /// `self × 10^tens`, rounded towards +∞.
    fn scaled_ceil(&self, tens: i64) -> Option<i128> {
        if self.is_zero() {
            return Some(0);
        }
        let twos = self.twos + tens;
        let fives = self.fives + tens;
        let numerator = mul_pow(mul_pow(self.coefficient, 2, twos.max(0))?, 5, fives.max(0))?;
        let denominator = mul_pow(mul_pow(1, 2, (-twos).max(0))?, 5, (-fives).max(0))?;
        let quotient = i128::try_from(numerator / denominator).ok()?;
        let inexact = numerator % denominator != 0;
        Some(match (self.negative, inexact) {
            (true, _) => -quotient,
            (false, true) => quotient + 1,
            (false, false) => quotient,
        })
    }

    /// Change from `old` to `self` in percent (`old` 200m, `self` 300m: 50.0), for display and
    /// for thresholds (where a rounding error far below a percent does not matter), never for
    /// equality. `None` when `old` is zero.
    pub fn percent_change_from(&self, old: &Quantity) -> Option<f64> {
        if old.is_zero() {
            return None;
        }
        let ratio = self.signed_f64_coefficient() / old.signed_f64_coefficient()
            * pow_f64(2.0, self.twos - old.twos)
            * pow_f64(5.0, self.fives - old.fives);
        Some((ratio - 1.0) * 100.0)
    }

    fn signed_f64_coefficient(&self) -> f64 {
        // Precision loss past 2^53 is fine: the result is only displayed.
        let magnitude = self.coefficient as f64;
        if self.negative { -magnitude } else { magnitude }
    }
}

/// `value × base^exp` or `None` on overflow.
fn mul_pow(value: u128, base: u128, exp: i64) -> Option<u128> {
    let exp = u32::try_from(exp).ok()?;
    value.checked_mul(base.checked_pow(exp)?)
}

fn pow_f64(base: f64, exp: i64) -> f64 {
    let exp = i32::try_from(exp).unwrap_or(if exp < 0 { i32::MIN } else { i32::MAX });
    base.powi(exp)
}

impl PartialOrd for Quantity {
    /// Exact. `None` only when the two values lie so far apart in scale that comparing them
    /// would overflow an `i128` (never for real CPU or memory amounts), rather than a guess.
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        if self == other {
            return Some(Ordering::Equal);
        }
        let shared_twos = self.twos.min(other.twos);
        let shared_fives = self.fives.min(other.fives);
        // Dividing both by the shared powers leaves whole numbers to compare.
        let a = self.reduced(shared_twos, shared_fives)?;
        let b = other.reduced(shared_twos, shared_fives)?;
        Some(a.cmp(&b))
    }
}

impl Quantity {
    fn reduced(&self, twos: i64, fives: i64) -> Option<i128> {
        if self.is_zero() {
            return Some(0);
        }
        let magnitude = mul_pow(
            mul_pow(self.coefficient, 2, self.twos - twos)?,
            5,
            self.fives - fives,
        )?;
        let magnitude = i128::try_from(magnitude).ok()?;
        Some(if self.negative { -magnitude } else { magnitude })
    }
}
