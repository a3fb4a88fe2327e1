//! Containers a policy leaves alone: the ones `excludedContainers` names, and — unless
//! `excludeKnownSidecars: false` — the proxies and agents that meshes and platforms inject,
//! whose resources their injector owns (a resize would be undone by the next injection, or
//! starve the mesh). Pure: a name in, a reason out.

use crate::crd::AttunePolicySpec;

/// Container names of well-known injected sidecars, skipped by default. The README lists them.
pub const KNOWN_SIDECARS: [&str; 9] = [
    "istio-proxy",
    "istio-validation",
    "linkerd-proxy",
    "linkerd-init",
    "vault-agent",
    "vault-agent-init",
    "cloud-sql-proxy",
    "cloudsql-proxy",
    "datadog-agent",
];

/// Which containers a policy excludes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exclusions {
    named: Vec<String>,
    known_sidecars: bool,
}

impl Exclusions {
    /// `excludedContainers` plus the known sidecars unless `excludeKnownSidecars` is false.
    pub fn from_spec(spec: &AttunePolicySpec) -> Exclusions {
        Exclusions {
            named: spec.excluded_containers.clone(),
            known_sidecars: spec.exclude_known_sidecars != Some(false),
        }
    }

    /// Why `container` is not sized, or `None` when it is.
    pub fn why(&self, container: &str) -> Option<&'static str> {
        if self.named.iter().any(|n| n == container) {
            Some("spec.excludedContainers names it")
        } else if self.known_sidecars && KNOWN_SIDECARS.contains(&container) {
            Some("a known sidecar (spec.excludeKnownSidecars is true)")
        } else {
            None
        }
    }

    pub fn excludes(&self, container: &str) -> bool {
        self.why(container).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(excluded: &[&str], known: Option<bool>) -> AttunePolicySpec {
        let mut spec: AttunePolicySpec = serde_json::from_value(serde_json::json!({
            "targetRef": {"kind": "Deployment", "name": "web"},
            "metricsSource": {}, "cpu": {}, "memory": {},
        }))
        .unwrap();
        spec.excluded_containers = excluded.iter().map(|s| (*s).to_owned()).collect();
        spec.exclude_known_sidecars = known;
        spec
    }

    #[test]
    fn exclusions_table() {
        let cases = [
            (spec(&[], None), "istio-proxy", true),
            (spec(&[], None), "linkerd-proxy", true),
            (spec(&[], None), "vault-agent", true),
            (spec(&[], None), "cloud-sql-proxy", true),
            (spec(&[], None), "app", false),
            (spec(&[], Some(true)), "istio-proxy", true),
            (spec(&[], Some(false)), "istio-proxy", false),
            (spec(&["logger"], Some(false)), "logger", true),
            (spec(&["logger"], None), "app", false),
            // Names match exactly, as Kubernetes container names do.
            (spec(&["logger"], None), "Logger", false),
            (spec(&[], None), "istio-proxy-2", false),
        ];
        for (s, container, want) in cases {
            let e = Exclusions::from_spec(&s);
            assert_eq!(e.excludes(container), want, "{container} with {e:?}");
        }
    }

    #[test]
    fn the_reason_names_the_field() {
        let e = Exclusions::from_spec(&spec(&["logger"], None));
        assert_eq!(e.why("logger"), Some("spec.excludedContainers names it"));
        assert_eq!(
            e.why("istio-proxy"),
            Some("a known sidecar (spec.excludeKnownSidecars is true)")
        );
    }
}
