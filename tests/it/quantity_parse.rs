//! Exact quantity parsing and comparison on hand-picked cases.

use std::cmp::Ordering;

use attune::quantity::{QuantityError, parse, semantically_equal};

#[test]
fn equal_across_notations() {
    let equal = [
        ("0.5", "500m"),
        ("1", "1000m"),
        ("1Gi", "1024Mi"),
        ("1Ki", "1024"),
        ("1.5Gi", "1536Mi"),
        ("0.5Ki", "512"),
        ("1e3", "1k"),
        ("1E3", "1000"),
        ("1E", "1e18"),
        ("100m", "0.1"),
        ("0.1", "1e-1"),
        ("1000000n", "1m"),
        ("1u", "1000n"),
        ("1.", "1"),
        (".5", "0.5"),
        ("+2", "2"),
        ("0", "-0.0Gi"),
        ("0m", "0"),
        ("1.50", "1.5"),
        ("007", "7"),
        ("1Ei", "1152921504606846976"),
        ("-250m", "-0.25"),
    ];
    for (a, b) in equal {
        assert!(semantically_equal(a, b).unwrap(), "{a} should equal {b}");
        assert!(semantically_equal(b, a).unwrap(), "{b} should equal {a}");
    }
}

#[test]
fn different_values_differ() {
    let different = [
        ("1G", "1Gi"),
        ("1M", "1Mi"),
        ("1k", "1Ki"),
        ("1m", "1M"),
        ("0.1", "0.10000000000000001"),
        ("-1", "1"),
        ("999m", "1"),
    ];
    for (a, b) in different {
        assert!(
            !semantically_equal(a, b).unwrap(),
            "{a} should differ from {b}"
        );
    }
}

#[test]
fn ordering_is_exact() {
    let q = |s| parse(s).unwrap();
    assert_eq!(q("999m").partial_cmp(&q("1")), Some(Ordering::Less));
    assert_eq!(q("1Gi").partial_cmp(&q("1G")), Some(Ordering::Greater));
    assert_eq!(q("0.5").partial_cmp(&q("500m")), Some(Ordering::Equal));
    assert_eq!(q("-1").partial_cmp(&q("1m")), Some(Ordering::Less));
    assert_eq!(q("0").partial_cmp(&q("1n")), Some(Ordering::Less));
    assert!(q("1Ei") > q("1E"));
}

#[test]
fn scaled_values_round_up_like_kubernetes() {
    let q = |s| parse(s).unwrap();
    assert_eq!(q("250m").millis_ceil(), Some(250));
    assert_eq!(q("1.5").millis_ceil(), Some(1500));
    assert_eq!(q("1n").millis_ceil(), Some(1));
    assert_eq!(q("0.5").units_ceil(), Some(1));
    assert_eq!(q("1Mi").units_ceil(), Some(1_048_576));
    assert_eq!(q("-1.5").units_ceil(), Some(-1));
    assert_eq!(q("0").millis_ceil(), Some(0));
    assert_eq!(q("1e100").units_ceil(), None);
}

#[test]
fn percent_change_is_for_display() {
    let q = |s| parse(s).unwrap();
    let change = q("300m").percent_change_from(&q("200m")).unwrap();
    assert!((change - 50.0).abs() < 1e-9, "{change}");
    let change = q("512Mi").percent_change_from(&q("1Gi")).unwrap();
    assert!((change + 50.0).abs() < 1e-9, "{change}");
    assert_eq!(q("1").percent_change_from(&q("1000m")), Some(0.0));
    assert_eq!(q("1").percent_change_from(&q("0")), None);
}

#[test]
fn errors_say_what_is_wrong() {
    let err = parse("12x").unwrap_err();
    assert_eq!(
        err,
        QuantityError::UnknownSuffix {
            input: "12x".into(),
            suffix: "x".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "invalid quantity \"12x\": unknown suffix \"x\" (use n, u, m, k, M, G, T, P, E, Ki, Mi, \
         Gi, Ti, Pi, Ei, or an exponent such as e3)"
    );
    assert_eq!(parse("").unwrap_err(), QuantityError::Empty);
    for no_digits in ["m", "-", ".", "Gi", "+.Ki"] {
        assert!(
            matches!(parse(no_digits), Err(QuantityError::NoDigits { .. })),
            "{no_digits}"
        );
    }
    for bad_suffix in [
        "1 Gi", "1gi", "1.2.3", "1e", "1e3m", "1KiB", "1e-", "1mm", "1Ki3",
    ] {
        assert!(
            matches!(parse(bad_suffix), Err(QuantityError::UnknownSuffix { .. })),
            "{bad_suffix}: {:?}",
            parse(bad_suffix)
        );
    }
    assert!(matches!(
        parse("1e99999"),
        Err(QuantityError::ExponentOutOfRange { .. })
    ));
    let long = "1".repeat(39);
    assert!(matches!(
        parse(&long),
        Err(QuantityError::TooManyDigits { .. })
    ));
    assert!(parse(&"1".repeat(38)).is_ok());
    // Trailing and leading zeros do not count as significant digits.
    assert!(
        parse(&format!(
            "000{}000000000000000000000000000000000",
            "1".repeat(30)
        ))
        .is_ok()
    );
    // Inner zeros do, and must not overflow on the way to the limit.
    let inner = format!("{}00000001", "9".repeat(37));
    assert!(matches!(
        parse(&inner),
        Err(QuantityError::TooManyDigits { .. })
    ));
}
