#!/usr/bin/env bash
# bench-objects.sh POLICIES PODS [NAMESPACES] — fill the test control plane (KUBECONFIG, e.g.
# from up.sh's cluster.env) for the controller benchmark: POLICIES Deployments (one per policy,
# PODS/POLICIES replicas each; the controller-manager makes the pods, which stay Pending) spread
# over NAMESPACES namespaces (default 10, named bench-<i>), an Auto AttunePolicy per Deployment,
# and a recommendation in each policy's status, written with field manager `bench-recommender`
# as the recommender would. Prints how long each phase took; waits until all pods exist.
# Needs kubectl (tests/cluster/build.sh builds it unless ATTUNE_CI_KUBECTL=0) and the
# AttunePolicy CRD installed (`attune crd | kubectl apply -f -`, or any cluster test run).
# Tunables: ATTUNE_BENCH_PARALLEL (concurrent kubectl applies, 4), ATTUNE_BENCH_TIMEOUT (s, 1800).
set -euo pipefail

[[ $# -ge 2 ]] || { echo "usage: $0 POLICIES PODS [NAMESPACES]" >&2; exit 2; }
policies=$1 pods=$2 namespaces=${3:-10}
(( policies > 0 && pods >= policies && namespaces > 0 )) || { echo "bench-objects.sh: need PODS >= POLICIES > 0" >&2; exit 2; }
: "${KUBECONFIG:?KUBECONFIG is not set: source STATE/cluster.env from tests/cluster/up.sh}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kubectl="${KUBECTL:-$(sed -n 's/^KUBE_BIN_DIR=//p' <<<"$(ATTUNE_CI_KUBECTL=1 "$here/build.sh")")/kubectl}"
[[ -x "$kubectl" ]] || { echo "bench-objects.sh: no kubectl at $kubectl" >&2; exit 1; }
parallel="${ATTUNE_BENCH_PARALLEL:-4}"
timeout_s="${ATTUNE_BENCH_TIMEOUT:-1800}"

work=$(mktemp -d "${TMPDIR:-/tmp}/attune-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Replicas per Deployment; the first PODS % POLICIES Deployments get one more.
base=$(( pods / policies )) extra=$(( pods % policies ))
for ((n = 0; n < namespaces; n++)); do
  printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bench-%d\n---\n' "$n"
done > "$work/namespaces.yaml"
for ((i = 0; i < policies; i++)); do
  ns="bench-$(( i % namespaces ))" name="w$i" replicas=$(( base + (i < extra ? 1 : 0) ))
  cat >> "$work/objects-$(( i % namespaces )).yaml" <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: $name, namespace: $ns, labels: {attune.io/bench: "true"}}
spec:
  replicas: $replicas
  selector: {matchLabels: {app: $name}}
  template:
    metadata: {labels: {app: $name, attune.io/bench: "true"}}
    spec:
      containers:
        - name: app
          image: registry.invalid/attune/bench:1.0
          resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 256Mi}}
---
apiVersion: attune.io/v1alpha1
kind: AttunePolicy
metadata: {name: $name, namespace: $ns}
spec:
  targetRef: {kind: Deployment, name: $name}
  metricsSource: {prometheus: {address: "http://prometheus.invalid:9090"}}
  cpu: {percentile: 95}
  memory: {percentile: 99}
  updateStrategy: {type: Auto, autoRevert: false, maxConcurrentResizes: 50}
---
EOF
  cat >> "$work/status-$(( i % namespaces )).yaml" <<EOF
apiVersion: attune.io/v1alpha1
kind: AttunePolicy
metadata: {name: $name, namespace: $ns}
status:
  recommendations:
    - workload: $name
      kind: Deployment
      containers:
        - name: app
          current: {cpuRequest: 100m, memoryRequest: 64Mi, memoryLimit: 256Mi}
          recommended: {cpuRequest: 150m, memoryRequest: 96Mi, memoryLimit: 256Mi}
---
EOF
done

count_pods() { # pods in the cluster: one item plus what the apiserver says remains
  "$kubectl" get --raw '/api/v1/pods?limit=1' |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["items"]) + d["metadata"].get("remainingItemCount", 0))'
}
before=$(count_pods)

start=$SECONDS
"$kubectl" apply --server-side --field-manager=bench -f "$work/namespaces.yaml" >/dev/null
ls "$work"/objects-*.yaml | xargs -P "$parallel" -I{} \
  "$kubectl" apply --server-side --field-manager=bench -f {} >/dev/null
echo "bench-objects.sh: $policies Deployments + $policies AttunePolicies applied in $((SECONDS - start))s"
applied=$SECONDS

start=$SECONDS
ls "$work"/status-*.yaml | xargs -P "$parallel" -I{} \
  "$kubectl" apply --server-side --subresource=status --field-manager=bench-recommender -f {} >/dev/null
echo "bench-objects.sh: $policies recommendations written in $((SECONDS - start))s"

deadline=$(( SECONDS + timeout_s ))
want=$(( before + pods ))
while :; do
  have=$(count_pods)
  (( have >= want )) && break
  (( SECONDS < deadline )) || { echo "bench-objects.sh: only $((have - before)) of $pods pods after ${timeout_s}s" >&2; exit 1; }
  sleep 2
done
echo "bench-objects.sh: $pods pods exist $((SECONDS - applied))s after the Deployments were applied"
