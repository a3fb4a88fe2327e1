//! Reading the policy, the server version and the recommendation.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::version::Info;
use serde_json::json;

use super::fixtures::*;
use crate::crd::UpdateMode;
use crate::resize::{Context, ResizeError, Settings, server_minor};

#[test]
fn defaults_are_the_crds() {
    let settings = settings(json!({}), json!({}), json!({}));
    assert_eq!(settings.mode, UpdateMode::Recommend);
    assert_eq!(settings.cooldown, Duration::from_secs(3600));
    assert_eq!(settings.max_concurrent_resizes, 1);
    assert_eq!(settings.canary_percentage, 10);
    assert_eq!(
        (settings.cpu.min_allowed(), settings.cpu.max_allowed()),
        ("1m", "4000m")
    );
    assert_eq!(
        (settings.memory.min_allowed(), settings.memory.max_allowed()),
        ("4Mi", "8Gi")
    );
    assert!(!settings.cpu.controls_limits && !settings.memory.controls_limits);
    assert!(settings.eligibility.require_running);
}

#[test]
fn out_of_range_numbers_are_brought_in() {
    let settings = settings(
        json!({ "maxConcurrentResizes": 500, "canary": { "percentage": 250 }, "cooldown": "5s" }),
        json!({}),
        json!({}),
    );
    assert_eq!(settings.max_concurrent_resizes, 50);
    assert_eq!(settings.canary_percentage, 100);
    assert_eq!(settings.cooldown, Duration::from_secs(60));
    let settings = settings_zero();
    assert_eq!(settings.max_concurrent_resizes, 1);
}

fn settings_zero() -> Settings {
    settings(json!({ "maxConcurrentResizes": 0 }), json!({}), json!({}))
}

#[test]
fn unreadable_policy_text_is_an_error() {
    let bad = [
        (
            json!({ "cooldown": "1 hour" }),
            json!({}),
            "updateStrategy.cooldown \"1 hour\" is not a duration",
        ),
        (
            json!({}),
            json!({ "minAllowed": "lots" }),
            "cpu.minAllowed: invalid quantity \"lots\"",
        ),
        (
            json!({}),
            json!({ "minAllowed": "2", "maxAllowed": "1" }),
            "cpu minAllowed 2 and maxAllowed 1 do not make a range",
        ),
    ];
    for (strategy, cpu, message) in bad {
        let error = Settings::from_spec(&spec(strategy, cpu, json!({}))).unwrap_err();
        assert!(error.to_string().starts_with(message), "{error}");
    }
}

#[test]
fn servers_before_1_33_and_bad_recommendations_are_refused() {
    let error = Context::new(auto(), &rec(&[]), 32, now()).unwrap_err();
    assert!(
        matches!(error, ResizeError::ServerTooOld { minor: 32 }),
        "{error}"
    );
    let error = Context::new(auto(), &rec(&[("app", Some("fast"), None)]), 35, now()).unwrap_err();
    assert_eq!(
        error.to_string().split(':').next(),
        Some("recommendation web/app cpuRequest")
    );
}

#[test]
fn server_minor_reads_managed_cluster_spellings() {
    let info = |major: &str, minor: &str| Info {
        major: major.to_owned(),
        minor: minor.to_owned(),
        ..Info::default()
    };
    assert_eq!(server_minor(&info("1", "35")).unwrap(), 35);
    assert_eq!(server_minor(&info("1", "33+")).unwrap(), 33);
    assert!(server_minor(&info("1", "")).is_err());
    assert!(server_minor(&info("2", "0")).is_err());
}
