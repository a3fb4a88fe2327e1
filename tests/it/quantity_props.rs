//! Properties of exact quantities over generated values.

use attune::quantity::{parse, semantically_equal};
use proptest::prelude::*;

/// `millis` thousandths written as a plain decimal: 1500 → "1.5", 7 → "0.007".
fn decimal(millis: u64) -> String {
    let text = format!("{}.{:03}", millis / 1000, millis % 1000);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

proptest! {
    #[test]
    fn millis_compare_equal_across_notations(millis in 0u64..=u64::MAX / 1000) {
        let forms = [
            format!("{millis}m"),
            decimal(millis),
            format!("{millis}e-3"),
            format!("{}u", u128::from(millis) * 1000),
            format!("{}n", u128::from(millis) * 1_000_000),
            format!("{millis}.000m"),
        ];
        let first = parse(&forms[0]).unwrap();
        for form in &forms[1..] {
            prop_assert_eq!(parse(form).unwrap(), first, "{} vs {}", &forms[0], form);
        }
        prop_assert_eq!(first.millis_ceil(), Some(i128::from(millis)));
    }

    #[test]
    fn binary_suffixes_are_powers_of_two(n in 0u64..1_000_000) {
        let kib = u128::from(n) * 1024;
        let ki_is_1024 = semantically_equal(&format!("{n}Ki"), &kib.to_string()).unwrap();
        let gi_is_1024_mi = semantically_equal(&format!("{n}Gi"), &format!("{kib}Mi")).unwrap();
        let g_is_gi = semantically_equal(&format!("{n}G"), &format!("{n}Gi")).unwrap();
        prop_assert!(ki_is_1024);
        prop_assert!(gi_is_1024_mi);
        prop_assert_eq!(g_is_gi, n == 0);
    }

    #[test]
    fn order_matches_integer_order(a in any::<i64>(), b in any::<i64>()) {
        let qa = parse(&format!("{a}m")).unwrap();
        let qb = parse(&format!("{b}m")).unwrap();
        prop_assert_eq!(qa.partial_cmp(&qb), Some(a.cmp(&b)));
    }

    #[test]
    fn parse_never_panics(s in "\\PC{0,24}") {
        let _ = parse(&s);
    }

    #[test]
    fn parse_never_panics_on_quantity_like_text(s in "[-+]?[0-9]{0,45}(\\.[0-9]{0,45})?([numkMGTPE]|[KMGTPE]i|[eE][-+]?[0-9]{1,6})?") {
        let _ = parse(&s);
    }
}
