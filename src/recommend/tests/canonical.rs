//! Kubernetes' canonical quantity text, as the status must show it.

use crate::quantity::{Format, Quantity, parse};
use crate::recommend::{Amount, Resource};

fn canonical(text: &str) -> String {
    parse(text).unwrap().canonical(Format::of(text)).unwrap()
}

#[test]
fn computed_cpu_prints_in_millicores_or_whole_cores() {
    let cases = [
        (1153, "1153m"),
        (250, "250m"),
        (2000, "2"),
        (4000, "4"),
        (1500, "1500m"),
        (1, "1m"),
        (0, "0"),
        (1_000_000, "1k"),
        (1_500_000, "1500"),
    ];
    for (millis, text) in cases {
        assert_eq!(Amount::cpu_millis(millis).canonical(), text, "{millis}m");
    }
}

#[test]
fn computed_memory_prints_binary_when_exact_else_bytes() {
    let mib = 1024 * 1024;
    let cases = [
        (348_966_093, "348966093"),
        (390 * mib, "390Mi"),
        (512 * mib, "512Mi"),
        (8 * 1024 * mib, "8Gi"),
        (1024, "1Ki"),
        (1536, "1536"),
        (1023, "1023"),
        (512, "512"),
        (0, "0"),
        (1 << 60, "1Ei"),
    ];
    for (bytes, text) in cases {
        assert_eq!(Amount::memory_bytes(bytes).canonical(), text, "{bytes} B");
    }
}

#[test]
fn parsed_text_is_canonicalised_in_its_own_notation() {
    let cases = [
        ("0.5", "500m"),
        ("1000m", "1"),
        ("1024Mi", "1Gi"),
        ("1.5Gi", "1536Mi"),
        ("0.5Ki", "512"),
        ("1.2M", "1200k"),
        ("-250m", "-250m"),
        ("0.1m", "100u"),
        ("1000000000n", "1"),
        ("1e3", "1e3"),
        ("1.5e3", "1500"),
        ("12e2", "1200"),
        ("1E", "1E"),
        ("512M", "512M"),
        ("0.3Mi", "314572800m"),
        ("0Gi", "0"),
    ];
    for (text, expected) in cases {
        assert_eq!(canonical(text), expected, "{text}");
    }
}

#[test]
fn format_follows_the_suffix() {
    assert_eq!(Format::of("512Mi"), Format::BinarySI);
    assert_eq!(Format::of("-1.5Ki"), Format::BinarySI);
    assert_eq!(Format::of("1e3"), Format::DecimalExponent);
    assert_eq!(Format::of("1E-2"), Format::DecimalExponent);
    assert_eq!(Format::of("1E"), Format::DecimalSI);
    assert_eq!(Format::of("500m"), Format::DecimalSI);
    assert_eq!(Format::of("2"), Format::DecimalSI);
}

#[test]
fn from_scaled_is_exact() {
    assert_eq!(Quantity::from_scaled(1153, -3), parse("1.153").unwrap());
    assert_eq!(Quantity::from_scaled(-5, 0), parse("-5").unwrap());
    assert_eq!(Quantity::from_scaled(0, 7), parse("0").unwrap());
}

#[test]
fn amounts_read_text_rounding_up_and_refuse_bad_values() {
    let a = Amount::parse(Resource::Cpu, "0.5", "f").unwrap();
    assert_eq!((a.base(), a.canonical().as_str()), (500, "500m"));
    assert_eq!(Amount::parse(Resource::Cpu, "100u", "f").unwrap().base(), 1);
    let m = Amount::parse(Resource::Memory, "1.5Gi", "f").unwrap();
    assert_eq!(
        (m.base(), m.canonical().as_str()),
        (1_610_612_736, "1536Mi")
    );
    let err = Amount::parse(Resource::Cpu, "-1", "current cpuRequest").unwrap_err();
    assert_eq!(
        err.to_string(),
        "current cpuRequest \"-1\": must not be negative"
    );
    let err = Amount::parse(Resource::Memory, "12Xi", "current memoryRequest").unwrap_err();
    assert_eq!(
        crate::error_chain(&err),
        "current memoryRequest: invalid quantity \"12Xi\": unknown suffix \"Xi\" (use n, u, m, \
         k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei, or an exponent such as e3)"
    );
    let err = Amount::parse(Resource::Memory, "100Ei", "f").unwrap_err();
    assert!(err.to_string().contains("too large"), "{err}");
}
