//! The validation rules of the CRD: each is a CEL expression the API server evaluates
//! (`x-kubernetes-validations`) and the message it answers with when the rule fails. The same
//! constants are attached to the fields (through [`cel`] and [`cel_text`] in the derive
//! attributes) and checked in Rust by [`super::validate`], so `kubectl apply` and the
//! controller refuse the same values with the same words.
//!
//! Rules use the Kubernetes CEL libraries that every supported API server offers for CRDs
//! (quantity since 1.29, url and regex since 1.0). Strings a regex reads carry a `maxLength`
//! and lists with rules inside a `maxItems`: the API server refuses a CRD whose rules'
//! estimated cost is unbounded.

use schemars::Schema;
use serde::Serialize;
use serde_json::Value;

/// One CEL rule and its failure message, serialized as an `x-kubernetes-validations` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// The CEL expression; `self` is the field it is attached to.
    pub rule: &'static str,
    /// What the API server (and the controller) say when it is false.
    pub message: &'static str,
}

/// Longest duration text: with at most six digits before each unit, twenty characters can
/// never add up past Go's limit (about 2.5 million hours), so `duration()` cannot fail.
pub const DURATION_MAX_LENGTH: u32 = 20;
/// Longest `HH:MM` text.
pub const TIME_MAX_LENGTH: u32 = 5;
/// Longest percentage text, e.g. `1000.0000`.
pub const PERCENT_TEXT_MAX_LENGTH: u32 = 16;
/// Longest URL.
pub const URL_MAX_LENGTH: u32 = 2048;
/// Most `sloGuardrails`, as the Go operator allows.
pub const MAX_GUARDRAILS: u32 = 10;
/// Most `schedule.windows`.
pub const MAX_WINDOWS: u32 = 24;

/// CPU and memory bounds that apply when `minAllowed` / `maxAllowed` are unset.
pub const CPU_DEFAULT_MIN: &str = "1m";
pub const CPU_DEFAULT_MAX: &str = "4000m";
pub const MEMORY_DEFAULT_MIN: &str = "4Mi";
pub const MEMORY_DEFAULT_MAX: &str = "8Gi";

/// Go duration syntax (`90s`, `1h30m`, `1.5h`), without a sign, at most six digits before each
/// unit. `[.]` stands for a dot so the pattern needs no escapes in CEL or YAML.
macro_rules! duration_re {
    () => {
        "'^(0|(([0-9]{1,6}([.][0-9]*)?|[.][0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$'"
    };
}

/// A duration rule: Go syntax and `duration(self)` satisfying `$bound`.
macro_rules! duration_rule {
    ($bound:literal, $message:literal) => {
        Rule {
            rule: concat!("self.matches(", duration_re!(), ") && ", $bound),
            message: $message,
        }
    };
}

/// A quantity (int-or-string) that the quantity library reads and that is not negative.
macro_rules! quantity_rule {
    () => {
        Rule {
            rule: "isQuantity(string(self)) && !quantity(string(self)).isLessThan(quantity('0'))",
            message: "must be a non-negative quantity such as 250m, 2 or 512Mi",
        }
    };
}

/// An integer range rule.
macro_rules! int_range {
    ($min:literal, $max:literal) => {
        Rule {
            rule: concat!("self >= ", $min, " && self <= ", $max),
            message: concat!("must be between ", $min, " and ", $max),
        }
    };
}

/// Bounds of one resource with its defaults: `$min`/`$max` are the unset values.
macro_rules! bounds_rule {
    ($min:literal, $max:literal) => {
        Rule {
            rule: concat!(
                "!isQuantity(has(self.minAllowed) ? string(self.minAllowed) : '",
                $min,
                "') || !isQuantity(has(self.maxAllowed) ? string(self.maxAllowed) : '",
                $max,
                "') || quantity(has(self.minAllowed) ? string(self.minAllowed) : '",
                $min,
                "').compareTo(quantity(has(self.maxAllowed) ? string(self.maxAllowed) : '",
                $max,
                "')) <= 0"
            ),
            message: concat!(
                "minAllowed must not be greater than maxAllowed (unset, they are ",
                $min,
                " and ",
                $max,
                ")"
            ),
        }
    };
}

pub const WEIGHT: Rule = int_range!(1, 1000);

pub const TARGET_REF: Rule = Rule {
    rule: "has(self.name) != has(self.selector)",
    message: "set exactly one of name or selector",
};

pub const ONE_BACKEND: Rule = Rule {
    rule: "(has(self.prometheus) ? 1 : 0) + (has(self.datadog) ? 1 : 0) + \
           (has(self.cloudwatch) ? 1 : 0) + (has(self.vpa) ? 1 : 0) <= 1",
    message: "set at most one of prometheus, datadog, cloudwatch or vpa",
};

/// An http(s) URL with a host and without `user:password@`: credentials belong in a Secret.
pub const HTTP_URL: Rule = Rule {
    rule: "self.matches('^https?://[^/?#@]+([/?#].*)?$') && isURL(self) && \
           url(self).getHostname() != ''",
    message: "must be an http:// or https:// URL with a host and without user:password@ \
              (put credentials in a Secret)",
};

pub const HISTORY_WINDOW: Rule = duration_rule!(
    "duration(self) >= duration('1h') && duration(self) <= duration('720h')",
    "must be a Go duration from 1h to 720h, such as 168h"
);

pub const QUERY_STEP: Rule = duration_rule!(
    "duration(self) >= duration('10s') && duration(self) <= duration('1h')",
    "must be a Go duration from 10s to 1h, such as 5m"
);

pub const RATE_WINDOW: Rule = duration_rule!(
    "duration(self) >= duration('30s')",
    "must be a Go duration of at least 30s, such as 5m"
);

pub const MINIMUM_DATA_POINTS: Rule = Rule {
    rule: "self >= 1",
    message: "must be at least 1",
};

pub const PERCENTILE: Rule = Rule {
    rule: "self in [50, 90, 95, 99]",
    message: "must be one of 50, 90, 95 or 99",
};

pub const OVERHEAD: Rule = Rule {
    rule: "self.matches('^[0-9]{1,4}([.][0-9]{1,4})?$') && double(self) <= 1000.0",
    message: "must be a percentage from 0 to 1000 written as a string, such as \"20\"",
};

pub const QUANTITY: Rule = quantity_rule!();

pub const CPU_BOUNDS: Rule = bounds_rule!("1m", "4000m");
pub const MEMORY_BOUNDS: Rule = bounds_rule!("4Mi", "8Gi");

pub const BURST_SENSITIVITY: Rule = Rule {
    rule: "self >= 0.0 && self <= 1.0",
    message: "must be between 0 and 1",
};

pub const CHANGE_PERCENT: Rule = int_range!(1, 100);
pub const INCREASE_PERCENT: Rule = int_range!(1, 1000);
pub const MARGIN_PERCENT: Rule = int_range!(0, 100);

pub const MEMORY_FROM_CPU_RATIO: Rule = Rule {
    rule: "self > 0.0",
    message: "must be greater than 0",
};

pub const BOOST_MULTIPLIER: Rule = Rule {
    rule: "self >= 1.0 && self <= 10.0",
    message: "must be between 1 and 10",
};

pub const BOOST_DURATION: Rule = duration_rule!(
    "duration(self) >= duration('10s') && duration(self) <= duration('1h')",
    "must be a Go duration from 10s to 1h, such as 2m"
);

pub const COOLDOWN: Rule = duration_rule!(
    "duration(self) >= duration('1m')",
    "must be a Go duration of at least 1m, such as 5m or 1h30m"
);

/// Observation periods and evaluation windows: any positive duration.
pub const POSITIVE_DURATION: Rule = duration_rule!(
    "duration(self) > duration('0s')",
    "must be a positive Go duration, such as 30s or 5m"
);

/// The pull-request cooldown may be zero (no waiting between updates).
pub const ANY_DURATION: Rule = duration_rule!(
    "duration(self) >= duration('0s')",
    "must be a Go duration, such as 0s, 30m or 24h"
);

pub const CANARY_PERCENTAGE: Rule = int_range!(1, 100);
pub const MAX_CONCURRENT_RESIZES: Rule = int_range!(1, 50);
pub const MAX_STATUS_RECOMMENDATIONS: Rule = int_range!(1, 500);
pub const MIN_CHANGE_PERCENT: Rule = int_range!(0, 100);

pub const TIME_OF_DAY: Rule = Rule {
    rule: "self.matches('^([01][0-9]|2[0-3]):[0-5][0-9]$')",
    message: "must be a time of day as HH:MM, from 00:00 to 23:59",
};

/// A schemars transform that appends `rules` to the schema's `x-kubernetes-validations`.
pub(crate) fn cel(rules: &'static [Rule]) -> impl FnMut(&mut Schema) {
    move |schema: &mut Schema| append(schema, rules)
}

/// Like [`cel`], for a string field whose rules read the text: also sets its `maxLength`.
pub(crate) fn cel_text(max_length: u32, rules: &'static [Rule]) -> impl FnMut(&mut Schema) {
    move |schema: &mut Schema| {
        schema.insert("maxLength".into(), Value::from(max_length));
        append(schema, rules);
    }
}

/// A schemars transform that sets a list's `maxItems`: the rules on its items count once per
/// item in the cost the API server estimates.
pub(crate) fn max_items(max: u32) -> impl FnMut(&mut Schema) {
    move |schema: &mut Schema| {
        schema.insert("maxItems".into(), Value::from(max));
    }
}

fn append(schema: &mut Schema, rules: &[Rule]) {
    let entries = rules.iter().filter_map(|r| serde_json::to_value(r).ok());
    match schema.get_mut("x-kubernetes-validations") {
        Some(Value::Array(list)) => list.extend(entries),
        _ => {
            schema.insert(
                "x-kubernetes-validations".into(),
                Value::Array(entries.collect()),
            );
        }
    }
}
