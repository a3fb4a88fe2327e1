//! Go duration text (`1h`, `90s`, `1h30m`, `1.5h`), as the CRD writes its durations
//! (`updateStrategy.cooldown`, `export.pullRequest.cooldown`, the resize and metrics windows).

use std::time::Duration;

/// Nanoseconds in one of each unit Go's `time.ParseDuration` accepts.
fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "µs" | "μs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Parses a non-negative Go duration. The error says what is wrong, for the caller to wrap with
/// the field and the text.
pub(crate) fn parse_go_duration(text: &str) -> Result<Duration, &'static str> {
    let unsigned = text.strip_prefix('+').unwrap_or(text);
    if unsigned.starts_with('-') {
        return Err("negative durations are not allowed");
    }
    if unsigned == "0" {
        return Ok(Duration::ZERO);
    }
    if unsigned.is_empty() {
        return Err("empty duration");
    }
    let mut rest = unsigned;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let whole_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (whole, after_whole) = rest.split_at(whole_len);
        let (fraction, after_number) = match after_whole.strip_prefix('.') {
            Some(tail) => tail.split_at(tail.bytes().take_while(u8::is_ascii_digit).count()),
            None => ("", after_whole),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err("expected a number");
        }
        let unit_len = after_number
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(after_number.len(), |(i, _)| i);
        let (unit, tail) = after_number.split_at(unit_len);
        if unit.is_empty() {
            return Err("missing unit (use ns, us, ms, s, m or h)");
        }
        let scale = unit_nanos(unit).ok_or("unknown unit (use ns, us, ms, s, m or h)")?;
        total = total
            .checked_add(component_nanos(whole, fraction, scale).ok_or("duration too long")?)
            .ok_or("duration too long")?;
        rest = tail;
    }
    let nanos = u64::try_from(total).map_err(|_| "duration too long")?;
    Ok(Duration::from_nanos(nanos))
}

/// `whole.fraction × scale` in nanoseconds, truncating below a nanosecond as Go does.
fn component_nanos(whole: &str, fraction: &str, scale: u128) -> Option<u128> {
    let whole_value: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut nanos = whole_value.checked_mul(scale)?;
    // Digits past the 18th cannot add a whole nanosecond to any unit up to an hour.
    let fraction = &fraction[..fraction.len().min(18)];
    if !fraction.is_empty() {
        let digits: u128 = fraction.parse().ok()?;
        let denominator = 10u128.checked_pow(u32::try_from(fraction.len()).ok()?)?;
        nanos = nanos.checked_add(digits.checked_mul(scale)? / denominator)?;
    }
    Some(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_go_durations() {
        let cases: &[(&str, u64)] = &[
            ("0", 0),
            ("1h", 3600),
            ("90s", 90),
            ("1h30m", 5400),
            ("1.5h", 5400),
            ("+2m", 120),
            ("0.5m", 30),
            ("1h0m0s", 3600),
        ];
        for (text, secs) in cases {
            assert_eq!(
                parse_go_duration(text),
                Ok(Duration::from_secs(*secs)),
                "{text}"
            );
        }
        assert_eq!(parse_go_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("3us"), Ok(Duration::from_micros(3)));
    }

    #[test]
    fn refuses_what_go_refuses() {
        for text in ["", "1", "h", "-1h", "1d", "1.h.", "1hh", ".h"] {
            assert!(parse_go_duration(text).is_err(), "{text:?} was accepted");
        }
        assert!(parse_go_duration("99999999999999999999h").is_err());
    }
}
