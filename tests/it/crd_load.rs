//! `load_policies` on policy files and on `kubectl get attunepolicies -A -o yaml` output.

use attune::crd::{ControlledValues, LoadError, TargetKind, UpdateMode, load_policies};

/// The example policy of the Go operator's README.
const README_POLICY: &str = r#"
apiVersion: attune.io/v1alpha1
kind: AttunePolicy
metadata: {name: api-services, namespace: production}
spec:
  targetRef: {kind: Deployment, selector: {matchLabels: {tier: api}}}
  metricsSource: {prometheus: {address: http://prometheus-server.monitoring:80}}
  cpu:    {percentile: 95, overhead: "20", minAllowed: 1m,  maxAllowed: 4000m}
  memory: {percentile: 99, overhead: "30", minAllowed: 4Mi, maxAllowed: 8Gi}
  updateStrategy: {type: Canary, canary: {percentage: 10, observationPeriod: 30m}, autoRevert: true}
"#;

fn minimal(name: &str) -> String {
    format!(
        "apiVersion: attune.io/v1alpha1\nkind: AttunePolicy\nmetadata: {{name: {name}, namespace: ns}}\n\
         spec:\n  targetRef: {{kind: StatefulSet, name: {name}}}\n  metricsSource: {{}}\n  \
         cpu: {{}}\n  memory: {{controlledValues: RequestsAndLimits}}\n"
    )
}

#[test]
fn readme_policy_reads_with_its_values() {
    let policies = load_policies(README_POLICY).unwrap();
    assert_eq!(policies.len(), 1);
    let p = &policies[0];
    assert_eq!(p.metadata.name.as_deref(), Some("api-services"));
    assert_eq!(p.metadata.namespace.as_deref(), Some("production"));
    assert_eq!(p.spec.target_ref.kind, TargetKind::Deployment);
    let labels = p
        .spec
        .target_ref
        .selector
        .as_ref()
        .unwrap()
        .match_labels
        .as_ref()
        .unwrap();
    assert_eq!(labels["tier"], "api");
    let prometheus = p.spec.metrics_source.prometheus.as_ref().unwrap();
    assert_eq!(
        prometheus.address.as_deref(),
        Some("http://prometheus-server.monitoring:80")
    );
    assert_eq!(p.spec.cpu.percentile, Some(95));
    assert_eq!(p.spec.cpu.overhead.as_deref(), Some("20"));
    assert_eq!(p.spec.memory.max_allowed.as_deref(), Some("8Gi"));
    assert_eq!(p.spec.update_mode(), UpdateMode::Canary);
    let strategy = p.spec.update_strategy.as_ref().unwrap();
    assert_eq!(strategy.canary.as_ref().unwrap().percentage, Some(10));
    assert_eq!(strategy.auto_revert, Some(true));
    assert!(p.status.is_none());
}

#[test]
fn update_mode_defaults_to_recommend() {
    let policies = load_policies(&minimal("a")).unwrap();
    assert!(policies[0].spec.update_strategy.is_none());
    assert_eq!(policies[0].spec.update_mode(), UpdateMode::Recommend);

    let with_empty_strategy = format!("{}  updateStrategy: {{cooldown: 2h}}\n", minimal("b"));
    let policies = load_policies(&with_empty_strategy).unwrap();
    assert_eq!(
        policies[0].spec.update_strategy.as_ref().unwrap().mode(),
        UpdateMode::Recommend
    );
}

#[test]
fn controls_limits_only_for_requests_and_limits() {
    let p = &load_policies(&minimal("a")).unwrap()[0];
    assert_eq!(p.spec.cpu.controlled_values, None);
    assert!(!p.spec.cpu.controls_limits());
    assert_eq!(
        p.spec.memory.controlled_values,
        Some(ControlledValues::RequestsAndLimits)
    );
    assert!(p.spec.memory.controls_limits());
}

#[test]
fn multi_document_input_skips_empty_documents() {
    let text = format!(
        "---\n# a comment only\n---\n{}---\n---\n{}\n...\n",
        minimal("a"),
        minimal("b")
    );
    let names: Vec<_> = load_policies(&text)
        .unwrap()
        .into_iter()
        .map(|p| p.metadata.name.unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn empty_input_reads_as_no_policies() {
    assert!(load_policies("").unwrap().is_empty());
    assert!(load_policies("# nothing here\n---\n").unwrap().is_empty());
}

/// Shaped like `kubectl get attunepolicies -A -o yaml`, including server-set metadata.
const KUBECTL_LIST: &str = r#"apiVersion: v1
items:
- apiVersion: attune.io/v1alpha1
  kind: AttunePolicy
  metadata:
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: |
        {"apiVersion":"attune.io/v1alpha1","kind":"AttunePolicy"}
    creationTimestamp: "2026-08-01T10:00:00Z"
    generation: 3
    name: api-services
    namespace: production
    resourceVersion: "12345"
    uid: 0b3f0c1e-0000-4000-8000-000000000001
  spec:
    cpu:
      maxAllowed: 4000m
      minAllowed: 1m
      overhead: "20"
      percentile: 95
    memory:
      percentile: 99
    metricsSource:
      prometheus:
        address: http://prometheus-server.monitoring:80
    targetRef:
      kind: Deployment
      selector:
        matchLabels:
          tier: api
  status:
    conditions:
    - lastTransitionTime: "2026-08-01T10:05:00Z"
      message: Watching 3 workloads, 12 pods
      observedGeneration: 3
      reason: Monitoring
      status: "True"
      type: Ready
    recommendations:
    - containers:
      - current:
          cpuLimit: "1"
          cpuRequest: 500m
          memoryRequest: 512Mi
        dataPoints: 1680
        name: api
        recommended:
          cpuRequest: 150m
          memoryRequest: 280Mi
      kind: Deployment
      workload: api-server
- apiVersion: attune.io/v1alpha1
  kind: AttunePolicy
  metadata:
    name: workers
    namespace: batch
  spec:
    cpu: {}
    memory: {}
    metricsSource: {}
    targetRef:
      kind: CronJob
      name: nightly
kind: List
metadata:
  resourceVersion: ""
"#;

#[test]
fn kubectl_list_yields_its_items() {
    let policies = load_policies(KUBECTL_LIST).unwrap();
    assert_eq!(policies.len(), 2);
    assert_eq!(policies[0].metadata.generation, Some(3));
    let status = policies[0].status.as_ref().unwrap();
    assert_eq!(status.conditions[0].type_, "Ready");
    assert_eq!(status.conditions[0].observed_generation, Some(3));
    let container = &status.recommendations[0].containers[0];
    assert_eq!(
        container.current.as_ref().unwrap().cpu_limit.as_deref(),
        Some("1")
    );
    assert_eq!(container.recommended.cpu_request.as_deref(), Some("150m"));
    assert_eq!(policies[1].spec.target_ref.kind, TargetKind::CronJob);
    assert_eq!(policies[1].metadata.namespace.as_deref(), Some("batch"));
}

#[test]
fn list_and_plain_documents_mix() {
    let text = format!("{KUBECTL_LIST}---\n{}", minimal("extra"));
    assert_eq!(load_policies(&text).unwrap().len(), 3);
    let empty_list = "apiVersion: v1\nkind: List\nitems: []\nmetadata: {resourceVersion: \"\"}\n";
    assert!(load_policies(empty_list).unwrap().is_empty());
}

#[test]
fn number_valued_quantities_keep_their_text() {
    let text = format!(
        "{}status:\n  recommendations:\n  - workload: w\n    kind: Deployment\n    containers:\n    \
         - name: app\n      current: {{cpuRequest: 1, cpuLimit: 1.50, memoryRequest: 536870912, memoryLimit: 1e3}}\n      \
         recommended: {{cpuRequest: 0.5, cpuLimit: \"2\", memoryRequest: 256Mi}}\n",
        minimal("q").replace(
            "cpu: {}",
            "cpu: {minAllowed: 0.1, maxAllowed: 4, overhead: 20}"
        )
    );
    let policy = &load_policies(&text).unwrap()[0];
    assert_eq!(policy.spec.cpu.min_allowed.as_deref(), Some("0.1"));
    assert_eq!(policy.spec.cpu.max_allowed.as_deref(), Some("4"));
    assert_eq!(policy.spec.cpu.overhead.as_deref(), Some("20"));
    let container = &policy.status.as_ref().unwrap().recommendations[0].containers[0];
    let current = container.current.as_ref().unwrap();
    assert_eq!(current.cpu_request.as_deref(), Some("1"));
    assert_eq!(current.cpu_limit.as_deref(), Some("1.50"));
    assert_eq!(current.memory_request.as_deref(), Some("536870912"));
    assert_eq!(current.memory_limit.as_deref(), Some("1e3"));
    assert_eq!(container.recommended.cpu_request.as_deref(), Some("0.5"));
    assert_eq!(container.recommended.cpu_limit.as_deref(), Some("2"));
    assert_eq!(container.recommended.memory_limit, None);
}

#[test]
fn unknown_fields_are_tolerated_and_explanations_kept() {
    let text = format!(
        "{}  futureKnob: {{deep: [1, 2]}}\nstatus:\n  workloadErrors: [{{workload: x, error: boom}}]\n  \
         canary: {{phase: CanaryInProgress}}\n  conditions:\n  - {{type: Ready}}\n  - {{reason: NoType}}\n  \
         recommendations:\n  - workload: w\n    kind: Deployment\n    containers:\n    - name: app\n      \
         recommended: {{cpuRequest: 100m, gpu: 1}}\n      explanation:\n        cpu: {{rawPercentile: 80m, final: 100m}}\n        \
         note: anything\n",
        minimal("u")
    );
    let policy = &load_policies(&text).unwrap()[0];
    let status = policy.status.as_ref().unwrap();
    assert_eq!(status.conditions[0].status, "");
    assert_eq!(status.conditions[1].type_, "");
    assert_eq!(status.conditions[1].reason.as_deref(), Some("NoType"));
    let explanation = status.recommendations[0].containers[0]
        .explanation
        .as_ref()
        .unwrap()
        .value();
    assert_eq!(explanation["cpu"]["rawPercentile"], "80m");
    assert_eq!(explanation["note"], "anything");
}

#[test]
fn readme_status_example_reads() {
    let text = format!(
        "{README_POLICY}status:\n  conditions:\n  - {{type: Ready, status: \"True\", reason: Monitoring, message: \"Watching 3 workloads, 12 pods\"}}\n  \
         - {{type: Resizing, status: \"False\", reason: Idle}}\n  workloads: {{discovered: 3, withRecommendations: 3, resized: 2, pending: 1}}\n  \
         savings: {{cpuRequestReduction: 1050m, memoryRequestReduction: 696Mi, estimatedMonthlySavings: \"$142.50\"}}\n  \
         resizeHistory:\n  - {{workload: api-server, container: api, resource: cpu, from: 500m, to: 150m, method: InPlace, result: Success}}\n"
    );
    let status = load_policies(&text).unwrap().remove(0).status.unwrap();
    assert_eq!(status.workloads.unwrap().with_recommendations, Some(3));
    let savings = status.savings.unwrap();
    assert_eq!(
        savings.estimated_monthly_savings.as_deref(),
        Some("$142.50")
    );
    assert_eq!(status.resize_history[0].to.as_deref(), Some("150m"));
}

#[test]
fn wrong_kind_names_document_and_what_was_found() {
    let text = format!(
        "{}---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: api}}\nspec: {{replicas: 2}}\n",
        minimal("a")
    );
    let err = load_policies(&text).unwrap_err();
    assert_eq!(
        err,
        LoadError::WrongKind {
            document: 2,
            item: None,
            api_version: Some("apps/v1".into()),
            kind: Some("Deployment".into()),
        }
    );
    assert_eq!(
        err.to_string(),
        "document 2, found apiVersion `apps/v1` kind `Deployment`; expected apiVersion \
         `attune.io/v1alpha1` and kind `AttunePolicy` (or a `List` of them)"
    );
}

#[test]
fn wrong_kind_counts_empty_documents_and_list_items() {
    let text =
        "---\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n";
    let err = load_policies(text).unwrap_err();
    assert_eq!(
        err,
        LoadError::WrongKind {
            document: 2,
            item: Some(1),
            api_version: Some("v1".into()),
            kind: Some("ConfigMap".into()),
        }
    );
    assert!(
        err.to_string()
            .starts_with("document 2, item 1: found apiVersion `v1` kind `ConfigMap`")
    );

    let no_kind = load_policies("name: loose\n").unwrap_err();
    assert!(
        no_kind
            .to_string()
            .contains("found apiVersion (none) kind (none)"),
        "{no_kind}"
    );
}

#[test]
fn old_api_version_is_a_wrong_kind() {
    let text = minimal("a").replace("attune.io/v1alpha1", "attune.io/v1beta1");
    let err = load_policies(&text).unwrap_err();
    assert!(
        matches!(err, LoadError::WrongKind { document: 1, .. }),
        "{err}"
    );
}

#[test]
fn broken_yaml_reports_its_line() {
    let text = format!(
        "{}---\napiVersion: attune.io/v1alpha1\nkind: [AttunePolicy\nspec: {{}}\n",
        minimal("a")
    );
    let err = load_policies(&text).unwrap_err();
    let LoadError::Yaml { line, document, .. } = &err else {
        panic!("expected a YAML error, got {err:?}");
    };
    assert!((10..=12).contains(line), "{err}");
    assert_eq!(*document, Some(2), "{err}");
    assert!(err.to_string().starts_with("document 2, line "), "{err}");
}

#[test]
fn missing_required_field_names_it_and_where() {
    let text = format!(
        "{}---\n{}",
        minimal("a"),
        minimal("b").replace("  targetRef: {kind: StatefulSet, name: b}\n", "")
    );
    let err = load_policies(&text).unwrap_err();
    let message = err.to_string();
    assert!(message.starts_with("document 2, line "), "{message}");
    assert!(message.contains("missing field `targetRef`"), "{message}");
}

#[test]
fn missing_spec_is_reported() {
    let text = "apiVersion: attune.io/v1alpha1\nkind: AttunePolicy\nmetadata: {name: a}\n";
    assert_eq!(
        load_policies(text).unwrap_err(),
        LoadError::MissingSpec { document: 1 }
    );
}

#[test]
fn bad_enum_value_is_a_yaml_error() {
    let text = minimal("a").replace("kind: StatefulSet", "kind: Pod");
    let err = load_policies(&text).unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("document 1, line 5, column"),
        "{message}"
    );
    assert!(message.contains("Pod"), "{message}");
}

#[test]
fn billion_laughs_is_refused() {
    let mut bomb = String::from(
        "apiVersion: attune.io/v1alpha1\nkind: AttunePolicy\nlol1: &lol1 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for level in 2..=9 {
        let prev = level - 1;
        let refs = vec![format!("*lol{prev}"); 9].join(", ");
        bomb.push_str(&format!("lol{level}: &lol{level} [{refs}]\n"));
    }
    let err = load_policies(&bomb).unwrap_err();
    assert!(
        matches!(
            err,
            LoadError::TooLarge {
                document: Some(1),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("refusing to read further"),
        "{err}"
    );
}

#[test]
fn a_few_aliases_are_fine() {
    let text = "apiVersion: attune.io/v1alpha1\nkind: AttunePolicy\nmetadata: {name: a}\nspec:\n  \
                targetRef: {kind: Deployment, name: a}\n  metricsSource: {}\n  cpu: &same {percentile: 90}\n  memory: *same\n";
    let policy = &load_policies(text).unwrap()[0];
    assert_eq!(policy.spec.memory.percentile, Some(90));
}

/// What a pipeline that exports recommendations writes: no `spec` at all.
const EXPORTED: &str = "apiVersion: v1
kind: List
items:
- apiVersion: attune.io/v1alpha1
  kind: AttunePolicy
  metadata: {name: api, namespace: production}
  status:
    recommendations:
    - workload: api
      kind: Deployment
      containers:
      - name: app
        recommended: {cpuRequest: 250m, memoryRequest: 300Mi}
- apiVersion: attune.io/v1alpha1
  kind: AttunePolicy
  metadata: {name: web, namespace: production}
  spec:
    cpu: {controlledValues: RequestsAndLimits}
";

#[test]
fn policy_files_need_no_spec_and_keep_what_is_there() {
    let files = attune::crd::load_policy_files(EXPORTED).unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].metadata.name.as_deref(), Some("api"));
    assert_eq!(files[0].spec, attune::crd::FileSpec::default());
    let rec = &files[0].status.as_ref().unwrap().recommendations[0];
    assert_eq!(
        rec.containers[0].recommended.cpu_request.as_deref(),
        Some("250m")
    );
    assert!(files[1].spec.cpu_controls_limits());
    assert!(!files[1].spec.memory_controls_limits());
    assert!(files[1].spec.target_ref.is_none());
    // The CRD's own reader still requires a complete spec: the cluster's contract is unchanged.
    let err = load_policies(EXPORTED).unwrap_err().to_string();
    assert!(err.contains("missing field `targetRef`"), "{err}");
    let first = EXPORTED
        .split("- apiVersion: attune.io/v1alpha1\n  kind: AttunePolicy\n  metadata: {name: web")
        .next()
        .unwrap();
    assert_eq!(
        load_policies(first).unwrap_err(),
        LoadError::MissingSpec { document: 1 }
    );
}

#[test]
fn policy_files_still_check_the_types_and_kinds_they_carry() {
    let bad_type = EXPORTED.replace("controlledValues: RequestsAndLimits", "controlledValues: 7");
    let err = attune::crd::load_policy_files(&bad_type).unwrap_err();
    assert!(matches!(err, LoadError::Yaml { .. }), "{err}");
    let wrong_kind = EXPORTED.replace(
        "kind: AttunePolicy\n  metadata: {name: web",
        "kind: Deployment\n  metadata: {name: web",
    );
    assert!(matches!(
        attune::crd::load_policy_files(&wrong_kind).unwrap_err(),
        LoadError::WrongKind { item: Some(2), .. }
    ));
}
