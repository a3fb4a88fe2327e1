//! `kubectl attune` output, golden text: the pure formatting of policies in every state
//! (ready with recommendations, collecting, degraded, no workloads, no status at all).

use attune::plugin::status::{Filter, SortBy};
use attune::plugin::{
    PolicyView, diff, explain, history, preview, recommendations, savings, status,
};
use serde_json::{Value, json};

/// 2026-12-07T12:00:00Z, the "now" of the AGE column.
pub const NOW: i64 = 1_796_644_800;

/// 40m at night, 70m by day, 100m at 14:00 UTC.
fn hourly_cpu() -> Vec<&'static str> {
    (0..24)
        .map(|h| match h {
            14 => "100m",
            8..=17 => "70m",
            _ => "40m",
        })
        .collect()
}

fn explanation() -> Value {
    json!({
        "cpu": {
            "rawPercentile": "100m", "overhead": 20, "afterOverhead": "120m",
            "burstFactor": 1.2, "afterBurst": "144m",
            "confidence": 0.92, "confidenceFactor": 1.0064, "afterConfidence": "145m",
            "bounds": {"min": "1m", "max": "4"}, "afterBounds": "145m",
            "minChangePercent": 10, "maxChangePercent": 50,
            "changeFilterApplied": "max_change_capped", "afterChangeFilter": "250m",
            "final": "250m",
            "hourlyProfile": {"percentile": "p95", "values": hourly_cpu()},
        },
        "memory": {
            "rawPercentile": "200Mi", "overhead": 30, "afterOverhead": "260Mi",
            "burstFactor": 1, "afterBurst": "260Mi",
            "confidence": 0.92, "confidenceFactor": 1.0064, "afterConfidence": "262Mi",
            "bounds": {"min": "4Mi", "max": "8Gi"}, "afterBounds": "262Mi",
            "minChangePercent": 10, "maxChangePercent": 30, "afterChangeFilter": "262Mi",
            "final": "512Mi", "finalAdjustment": "allowDecrease=false kept the current 512Mi",
        },
    })
}

/// The five states, spec and status as the API server returns them. `namespace` lets the
/// cluster test put them all into its own namespace.
pub fn fixtures(namespace: Option<&str>) -> Vec<Value> {
    let ns = |default: &str| namespace.unwrap_or(default).to_owned();
    let meta = |n: &str, name: &str, created: &str| json!({"namespace": ns(n), "name": name, "creationTimestamp": created});
    vec![
        json!({
            "metadata": meta("production", "api-services", "2026-11-30T12:00:00Z"),
            "spec": {"updateStrategy": {"type": "Canary", "export": {"configMap": {"enabled": true}}}},
            "status": {
                "conditions": [
                    {"type": "Ready", "status": "True", "reason": "Monitoring", "message": "Watching 2 workloads, 5 pods"},
                    {"type": "Resizing", "status": "False", "reason": "Idle"},
                ],
                "workloads": {"discovered": 2, "withRecommendations": 2, "resized": 1, "pending": 1},
                "recommendations": [
                    {"workload": "api-server", "kind": "Deployment", "containers": [{
                        "name": "app",
                        "current": {"cpuRequest": "500m", "memoryRequest": "512Mi"},
                        "recommended": {"cpuRequest": "250m", "memoryRequest": "512Mi"},
                        "confidence": 0.92, "dataPoints": 1680, "explanation": explanation(),
                    }]},
                    {"workload": "worker", "kind": "StatefulSet", "containers": [{
                        "name": "main",
                        "current": {"cpuRequest": "1", "cpuLimit": "2", "memoryRequest": "2Gi", "memoryLimit": "2Gi"},
                        "recommended": {"cpuRequest": "420m", "cpuLimit": "840m", "memoryRequest": "1Gi", "memoryLimit": "2Gi"},
                        "confidence": 0.5,
                    }]},
                ],
                "savings": {"cpuRequestReduction": "830m", "memoryRequestReduction": "1Gi", "estimatedMonthlySavings": "$72.40"},
                "resizeHistory": [
                    {"timestamp": "2026-12-06T09:15:00Z", "workload": "api-server", "container": "app", "resource": "cpu", "from": "500m", "to": "250m", "method": "InPlace", "result": "Success"},
                    {"timestamp": "2026-12-06T09:20:00Z", "workload": "api-server", "container": "app", "resource": "memory", "from": "512Mi", "to": "384Mi", "result": "Reverted", "reason": "oomkill"},
                ],
            },
        }),
        json!({
            "metadata": meta("production", "batch", "2026-12-07T11:00:00Z"),
            "spec": {"updateStrategy": {"type": "Auto"}},
            "status": {
                "conditions": [{"type": "Ready", "status": "False", "reason": "InsufficientData", "message": "Collecting data: 12 of 48 data points"}],
                "workloads": {"discovered": 1, "dataPointsCollected": 12, "dataPointsRequired": 48},
            },
        }),
        json!({
            "metadata": meta("staging", "web", "2026-12-07T11:59:30Z"),
            "spec": {"updateStrategy": {"type": "Auto"}},
            "status": {
                "conditions": [
                    {"type": "Ready", "status": "True", "reason": "Monitoring"},
                    {"type": "Resizing", "status": "True", "reason": "CooldownActive"},
                    {"type": "Degraded", "status": "True", "reason": "HighRevertRate", "message": "3 of the last 5 resizes were reverted"},
                    {"type": "ScheduleBlocked", "status": "True", "reason": "OutsideWindow"},
                ],
                "workloads": {"discovered": 1, "withRecommendations": 1, "resized": 1, "pending": 0},
                "recommendations": [{"workload": "web", "kind": "Deployment", "containers": [{
                    "name": "nginx",
                    "current": {"cpuRequest": "400m", "memoryRequest": "128Mi"},
                    "recommended": {"cpuRequest": "200m", "memoryRequest": "64Mi"},
                    "confidence": 1,
                }]}],
                "savings": {"cpuRequestReduction": "200m", "memoryRequestReduction": "64Mi", "estimatedMonthlySavings": "$5.10"},
            },
        }),
        json!({
            "metadata": meta("staging", "orphan", "2026-12-05T12:00:00Z"),
            "spec": {},
            "status": {
                "conditions": [{"type": "Ready", "status": "False", "reason": "NoWorkloadsFound", "message": "no Deployment matches app=gone"}],
                "workloads": {"discovered": 0},
            },
        }),
        json!({
            "metadata": meta("dev", "fresh", "2026-12-07T11:55:00Z"),
            "spec": {"updateStrategy": {"type": "Observe"}},
        }),
    ]
}

fn views() -> Vec<PolicyView> {
    fixtures(None).iter().map(PolicyView::from_object).collect()
}

/// The status golden of the fixtures.
pub const STATUS: &str = "\
NAMESPACE    NAME           TYPE        WORKLOADS   PENDING   RESIZED   READY                                   RESIZING         DEGRADED         SCHEDULE        CANARY   EXPORT   AGE
dev          fresh          Observe     0           0         0         -                                       -                -                -               -        -        5m
production   api-services   Canary      2           1         1         Monitoring                              Idle             -                -               -        CM       7d
production   batch          Auto        1           0         0         Collecting data: 12 of 48 data points   -                -                -               -        -        1h
staging      orphan         Recommend   0           0         0         no Deployment matches app=gone          -                -                -               -        -        2d
staging      web            Auto        1           0         1         Monitoring                              CooldownActive   HighRevertRate   OutsideWindow   -        -        30s
";

const RECOMMENDATIONS: &str = "\
NAMESPACE    POLICY         WORKLOAD     CONTAINER   CPU REQ   CPU REC   MEM REQ   MEM REC   CONFIDENCE / STATUS
dev          fresh          -            -           -         -         -         -         -
production   api-services   api-server   app         500m      250m      512Mi     512Mi     92.0%
production   api-services   worker       main        1         420m      2Gi       1Gi       50.0%
production   batch          -            -           -         -         -         -         Collecting data: 12 of 48 data points
staging      orphan         -            -           -         -         -         -         no Deployment matches app=gone
staging      web            web          nginx       400m      200m      128Mi     64Mi      100.0%
";

const SAVINGS_BY_SAVINGS: &str = "\
NAMESPACE    NAME           CPU SAVED   MEMORY SAVED   % SAVED   EST. MONTHLY
production   api-services   830m        1.0Gi          55%       $72.40
staging      web            200m        64Mi           50%       $5.10
dev          fresh          -           -              -         -
production   batch          -           -              -         -
staging      orphan         -           -              -         -

             TOTAL          1030m       1.1Gi          54%       $77.50
";

const HISTORY: &str = "\
NAMESPACE    POLICY         TIMESTAMP      WORKLOAD     CONTAINER   RESOURCE   FROM    TO      METHOD    RESULT     REASON
production   api-services   Dec 06 09:15   api-server   app         cpu        500m    250m    InPlace   Success    -
production   api-services   Dec 06 09:20   api-server   app         memory     512Mi   384Mi   InPlace   Reverted   oomkill
";

const EXPLAIN_READY: &str = "\
Policy: production/api-services
Mode: Canary

Workload: Deployment/api-server
  Container: app
    Confidence: 92.0%
    CPU:
      Raw percentile                                       100m
      + Overhead (20.00%)                                  120m
      x Burst factor (1.20)                                144m
      x Confidence factor (1.01, confidence 0.92)          145m
      Bounds [1m, 4]                                       145m
      Change filter [10.00%, 50.00%] (max_change_capped)   250m
      Final                                                250m
      Hourly p95 (UTC 00-23)   ▄▄▄▄▄▄▄▄▆▆▆▆▆▆█▆▆▆▄▄▄▄▄▄   peak 100m at 14:00
      Final recommendation: 250m (vs current 500m, -50%)
    Memory:
      Raw percentile                                200Mi
      + Overhead (30.00%)                           260Mi
      x Confidence factor (1.01, confidence 0.92)   262Mi
      Bounds [4Mi, 8Gi]                             262Mi
      Change filter [10.00%, 30.00%]                262Mi
      Final                                         512Mi
      Adjusted after the chain                      allowDecrease=false kept the current 512Mi
      Final recommendation: 512Mi (vs current 512Mi, +0%)

Workload: StatefulSet/worker
  Container: main
    Confidence: 50.0%
    CPU:
      no explanation in status
      Final recommendation: 420m (vs current 1, -58%)
    Memory:
      no explanation in status
      Final recommendation: 1Gi (vs current 2Gi, -50%)
";

const EXPLAIN_COLLECTING: &str = "\
Policy: production/batch
Mode: Auto

production/batch has no recommendations yet (Collecting data: 12 of 48 data points).
";

const EXPLAIN_EMPTY: &str = "\
Policy: dev/fresh
Mode: Observe

dev/fresh has no recommendations yet (-).
";

const DEGRADED_ONLY: &str = "\
NAMESPACE   NAME   TYPE   WORKLOADS   PENDING   RESIZED   READY        RESIZING         DEGRADED         SCHEDULE        CANARY   EXPORT   AGE
staging     web    Auto   1           0         1         Monitoring   CooldownActive   HighRevertRate   OutsideWindow   -        -        30s
";

#[test]
fn status_shows_every_state() {
    assert_eq!(status::render(&views(), None, None, NOW), STATUS);
}

#[test]
fn status_filters_and_sorts() {
    let v = views();
    assert_eq!(
        status::render(&v, Some(Filter::Degraded), None, NOW),
        DEGRADED_ONLY
    );
    let names = |text: String| -> Vec<String> {
        text.lines()
            .skip(1)
            .map(|l| l.split_whitespace().nth(1).unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(status::render(&v, Some(Filter::Collecting), None, NOW)),
        ["batch"]
    );
    assert_eq!(
        names(status::render(&v, Some(Filter::Noworkloads), None, NOW)),
        ["orphan"]
    );
    assert_eq!(
        names(status::render(&v, Some(Filter::Pending), None, NOW)),
        ["api-services"]
    );
    assert_eq!(
        names(status::render(&v, Some(Filter::Ready), None, NOW)),
        ["api-services", "web"]
    );
    assert_eq!(
        names(status::render(&v, None, Some(SortBy::Age), NOW)),
        ["api-services", "orphan", "batch", "fresh", "web"]
    );
    assert_eq!(
        names(status::render(&v, None, Some(SortBy::Name), NOW)),
        ["api-services", "batch", "fresh", "orphan", "web"]
    );
    assert_eq!(
        status::render(&v[..1], Some(Filter::Degraded), None, NOW),
        "No AttunePolicies match the filter.\n"
    );
    assert_eq!(
        status::render(&[], None, None, NOW),
        "No AttunePolicies found.\n"
    );
}

#[test]
fn recommendations_show_collecting_policies_with_their_ready_message() {
    let (table, note) = recommendations::render(&views());
    assert_eq!(table, RECOMMENDATIONS);
    assert_eq!(
        note.as_deref(),
        Some("3 policies collecting data. Run 'kubectl attune status' for details.")
    );
}

#[test]
fn savings_total_sums_every_policy() {
    assert_eq!(
        savings::render(&views(), Some(SortBy::Savings)),
        SAVINGS_BY_SAVINGS
    );
    // No policy with a CPU reduction: no TOTAL row.
    let only_collecting = &views()[1..2];
    assert_eq!(
        savings::render(only_collecting, None),
        "NAMESPACE    NAME    CPU SAVED   MEMORY SAVED   % SAVED   EST. MONTHLY\n\
         production   batch   -           -              -         -\n"
    );
}

#[test]
fn history_defaults_method_and_reason() {
    assert_eq!(history::render(&views()), HISTORY);
    assert_eq!(history::render(&views()[1..]), "No resize history.\n");
}

#[test]
fn explain_prints_each_chain_stage() {
    let v = views();
    assert_eq!(explain::render(&v[0]), EXPLAIN_READY);
    assert_eq!(explain::render(&v[1]), EXPLAIN_COLLECTING);
    assert_eq!(explain::render(&v[4]), EXPLAIN_EMPTY);
}

#[test]
fn preview_shows_each_resource_change() {
    let v = views();
    assert_eq!(
        preview::render(&v[0]),
        "\
Preview: production/api-services (current mode: Canary)

WORKLOAD     CONTAINER   RESOURCE   CURRENT   RECOMMENDED   CHANGE
api-server   app         CPU        500m      250m          -50%
api-server   app         Memory     512Mi     512Mi         +0%
worker       main        CPU        1         420m          -58%
worker       main        Memory     2Gi       1Gi           -50%
"
    );
    assert_eq!(
        preview::render(&v[1]),
        "Preview: production/batch (current mode: Auto)\n\n\
         No recommendations yet (Collecting data: 12 of 48 data points).\n"
    );
}

pub const DIFF: &str = "\
--- a/production/Deployment/api-server
+++ b/production/Deployment/api-server (recommended by policy api-services)
@@ container: app @@
-  requests.cpu: 500m
+  requests.cpu: 250m
   requests.memory: 512Mi
--- a/production/StatefulSet/worker
+++ b/production/StatefulSet/worker (recommended by policy api-services)
@@ container: main @@
-  requests.cpu: 1
+  requests.cpu: 420m
-  requests.memory: 2Gi
+  requests.memory: 1Gi
-  limits.cpu: 2
+  limits.cpu: 840m
   limits.memory: 2Gi
--- a/staging/Deployment/web
+++ b/staging/Deployment/web (recommended by policy web)
@@ container: nginx @@
-  requests.cpu: 400m
+  requests.cpu: 200m
-  requests.memory: 128Mi
+  requests.memory: 64Mi
";

pub const DIFF_NOTES: [&str; 3] = [
    "dev/fresh: no recommendations yet (-)",
    "production/batch: no recommendations yet (Collecting data: 12 of 48 data points)",
    "staging/orphan: no recommendations yet (no Deployment matches app=gone)",
];

pub const DIFF_YAML: &str = "\
# production/Deployment/api-server (recommended by policy api-services)
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api-server
  namespace: production
spec:
  template:
    spec:
      containers:
      - name: app
        resources:
          requests:
            cpu: 250m
            memory: 512Mi
---
# production/StatefulSet/worker (recommended by policy api-services)
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: worker
  namespace: production
spec:
  template:
    spec:
      containers:
      - name: main
        resources:
          limits:
            cpu: 840m
            memory: 2Gi
          requests:
            cpu: 420m
            memory: 1Gi
---
# staging/Deployment/web (recommended by policy web)
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: staging
spec:
  template:
    spec:
      containers:
      - name: nginx
        resources:
          requests:
            cpu: 200m
            memory: 64Mi
";

#[test]
fn diff_shows_each_changed_workload_and_notes_the_rest() {
    let (text, notes) = diff::render(&views());
    assert_eq!(text, DIFF);
    assert_eq!(notes, DIFF_NOTES);
    let (yaml, notes) = diff::patches(&views());
    assert_eq!(yaml, DIFF_YAML);
    assert_eq!(notes, DIFF_NOTES);
    // Each document is a patch kubectl would take: apiVersion, kind, name, the pod template.
    for doc in yaml.split("---\n") {
        let patch: Value = serde_saphyr::from_str(doc).unwrap();
        assert!(patch["spec"]["template"]["spec"]["containers"][0]["name"].is_string());
    }
}

#[test]
fn diff_of_nothing_to_change_says_so_and_odd_kinds_are_noted() {
    let mut same = fixtures(None)[2].clone();
    same["status"]["recommendations"][0]["containers"][0]["recommended"] =
        json!({"cpuRequest": "0.4", "memoryRequest": "128Mi"});
    let views = vec![PolicyView::from_object(&same)];
    assert_eq!(
        diff::render(&views),
        (
            String::new(),
            vec!["No differences: every workload runs with its recommended resources.".to_owned()]
        )
    );
    let mut odd = fixtures(None)[2].clone();
    odd["status"]["recommendations"][0]["kind"] = json!("Pod");
    odd["status"]["recommendations"][0]["workload"] = json!("web\n+++ injected");
    odd["status"]["recommendations"].as_array_mut().unwrap().push(json!({
        "workload": "nightly", "kind": "CronJob", "containers": [{
            "name": "job", "current": {"memoryRequest": "1Gi"}, "recommended": {"memoryRequest": "512Mi"},
        }],
    }));
    let views = vec![PolicyView::from_object(&odd)];
    let (text, _) = diff::render(&views);
    assert!(
        text.starts_with("--- a/staging/Pod/web?+++ injected\n"),
        "{text}"
    );
    let (yaml, notes) = diff::patches(&views);
    assert_eq!(
        notes,
        [
            "staging/Pod/web?+++ injected: no patch for kind \"Pod\" (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob or Rollout): edit it by hand"
        ]
    );
    assert_eq!(
        yaml,
        "# staging/CronJob/nightly (recommended by policy web)\n\
         apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: nightly\n  namespace: staging\n\
         spec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n\
         \x20         - name: job\n            resources:\n              requests:\n                memory: 512Mi\n"
    );
}
