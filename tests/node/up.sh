#!/usr/bin/env bash
# up.sh CLUSTER_STATE_DIR NODE_STATE_DIR — one real node for the test control plane that
# tests/cluster/up.sh started in CLUSTER_STATE_DIR: containerd + runc (Debian's), a kubelet and a
# kube-scheduler 1.35.4 (tests/cluster/build.sh), images made here without a registry
# (images.sh). Needs root and cgroup v1 (see tests/node/NOTES.md for why each setting is there).
# Everything of this node lives in NODE_STATE_DIR or carries its id (a cgroup root
# /attune-<id>, a bridge atn<id>, CNI network attune-<id>), so several nodes (parallel test runs)
# can share the machine; the few host paths kubelet and containerd 1.6 always create are
# recorded in /run/attune-node and removed by the last down.sh.
# Writes NODE_STATE_DIR/node.env:
#   ATTUNE_NODE_NAME, ATTUNE_NODE_SCHEDULER (schedulerName of pods meant for this node),
#   ATTUNE_NODE_IMAGE (busybox), ATTUNE_NODE_CGROUP_ROOT (the kubelet's cgroupRoot; a pod's
#   cgroup is /sys/fs/cgroup/<controller><root>/kubepods/<qos>/pod<uid>/<container id>),
#   ATTUNE_NODE_STATE_DIR, ATTUNE_NODE_CONTAINERD (containerd's socket, for `ctr --address`), pids.
# The kubelet's API listens on 127.0.0.1 (so `kubectl logs/exec` through the apiserver, which
# dials the node IP, do not work); the node IP is the machine's own non-loopback address
# ($ATTUNE_NODE_IP overrides). Stop with down.sh NODE_STATE_DIR.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# -eq 2 ]] || { echo "usage: $0 CLUSTER_STATE_DIR NODE_STATE_DIR" >&2; exit 2; }
cluster_env="$1/cluster.env"
[[ -f "$cluster_env" ]] || { echo "up.sh: $cluster_env missing: start tests/cluster/up.sh $1 first" >&2; exit 2; }
mkdir -p "$2"
node="$(cd "$2" && pwd)"
[[ "$node" != *[[:space:]]* ]] || { echo "up.sh: NODE_STATE_DIR must not contain whitespace" >&2; exit 2; }
timeout_s="${ATTUNE_UP_TIMEOUT:-120}"
started=$SECONDS
log() { echo "node/up.sh: $*" >&2; }
die() { log "$*"; exit 1; }

KUBECONFIG= ATTUNE_KUBE_SERVER= ATTUNE_KUBE_TOKEN= ATTUNE_KUBE_CA=
# shellcheck disable=SC1090
. "$cluster_env"
[[ -n "$KUBECONFIG" && -n "$ATTUNE_KUBE_SERVER" && -n "$ATTUNE_KUBE_TOKEN" ]] ||
  die "$cluster_env lacks KUBECONFIG / ATTUNE_KUBE_SERVER / ATTUNE_KUBE_TOKEN"

# --- what this host must offer ------------------------------------------------
[[ $(id -u) -eq 0 ]] || die "needs root (containerd, runc, cgroups, mounts)"
for cmd in containerd containerd-shim-runc-v2 ctr runc ip python3 curl gcc; do
  command -v "$cmd" >/dev/null || die "$cmd missing: run tests/deps.sh (it installs the node's packages)"
done
for plugin in bridge host-local loopback; do
  [[ -x /usr/lib/cni/$plugin ]] || die "/usr/lib/cni/$plugin missing: install containernetworking-plugins"
done
[[ -d /sys/fs/cgroup/memory && -d /sys/fs/cgroup/cpu ]] ||
  die "no cgroup v1 memory/cpu hierarchy under /sys/fs/cgroup: this node setup is for cgroup v1 hosts"

if [[ -z "${ATTUNE_KUBE_BIN_DIR:-}" ]]; then
  ATTUNE_KUBE_BIN_DIR="$("$here/../cluster/build.sh" | sed -n 's/^KUBE_BIN_DIR=//p')"
fi
kubelet="$ATTUNE_KUBE_BIN_DIR/kubelet"
scheduler="$ATTUNE_KUBE_BIN_DIR/kube-scheduler"
for b in "$kubelet" "$scheduler"; do
  [[ -x "$b" ]] || die "missing binary $b (tests/cluster/build.sh builds it)"
done

node_ip="${ATTUNE_NODE_IP:-$(ip -4 -o addr show scope global | awk '{split($4, a, "/"); print a[1]; exit}')}"
[[ -n "$node_ip" && "$node_ip" != 127.* ]] ||
  die "no non-loopback IPv4 address on this machine (the kubelet refuses a loopback node IP); set ATTUNE_NODE_IP"

# A previous node in the same state dir goes first.
"$here/down.sh" "$node" >/dev/null 2>&1 || true
rm -rf --one-file-system "${node:?}"/{containerd,kubelet,cni,images,pod-logs,scheduler} "$node"/*.log \
  "$node/node.env" "$node/pids"

id="$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
name="attune-node"
sched_name="attune-node"
cgroup_root="/attune-$id"
bridge="atn$id"
net="attune-$id"
echo "$id" >"$node/id"

# --- host paths shared by all nodes on this machine -----------------------------
# kubelet and containerd 1.6 always create these (and mount(8), which the kubelet calls for its
# rshared root dir, creates /run/mount); the first node records which were absent, and the
# last one's down.sh removes exactly those.
# The lock is on /run itself, which is always there (a lock file would need a directory that
# the last down.sh removes).
registry=/run/attune-node
exec 8</run
flock 8
mkdir -p "$registry"
shopt -s nullglob
live=("$registry"/node-*)
shopt -u nullglob
if ((${#live[@]} == 0)); then
  : >"$registry/created"
  for p in /var/lib/kubelet /var/lib/kubelet/device-plugins /run/containerd /var/lib/cni \
    /var/lib/cni/results /usr/libexec/kubernetes /var/log/containers /var/log/pods /run/mount; do
    [[ -e "$p" ]] || echo "$p" >>"$registry/created"
  done
fi
# The entry names this script too, so that a node still starting counts as alive.
echo "$node $$" >"$registry/node-$id"
flock -u 8
# From here on, any way out but success takes down what was started (down.sh is idempotent).
ready=0
trap '[[ $ready == 1 ]] || "$here/down.sh" "$node" >&2 || true' EXIT

# --- process helpers (as tests/cluster/up.sh) ----------------------------------
: >"$node/pids"
start() { # start NAME BINARY ARGS... ; detached, own session, log in NODE_STATE_DIR
  local name="$1"; shift
  setsid "$@" >"$node/$name.log" 2>&1 </dev/null &
  local pid=$!
  echo "$name=$pid" >>"$node/pids"
  printf -v "pid_${name//-/_}" '%s' "$pid"
}
fail() {
  log "$*"
  for f in "$node"/*.log; do
    [[ -f "$f" ]] || continue
    echo "---- last lines of $f" >&2; tail -n 25 "$f" >&2
  done
  "$here/down.sh" "$node" >&2 || true
  exit 1
}
wait_for() { # wait_for WHAT PIDVAR CMD...
  local what="$1" pid="$2"; shift 2
  local deadline=$((SECONDS + timeout_s))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || fail "$what exited during start-up"
    ((SECONDS < deadline)) || fail "$what not ready after ${timeout_s}s"
    sleep 0.2
  done
}
free_port() { # below the ephemeral range, nobody listening (as tests/cluster/up.sh)
  local low p
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || low=32768
  ((low > 12000)) || low=32768
  while :; do
    p=$((10000 + RANDOM % (low - 10000)))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# --- images -----------------------------------------------------------------
"$here/images.sh" "$node/images" 2>/dev/null || fail "building the images failed (run tests/node/images.sh DIR to see why)"

# --- containerd ---------------------------------------------------------------
ctrd="$node/containerd"
sock="$ctrd/containerd.sock"
mkdir -p "$ctrd" "$node/cni/net.d" "$node/cni/ipam"
cat >"$ctrd/config.toml" <<EOF
version = 2
root = "$ctrd/root"
state = "$ctrd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$ctrd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$ctrd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$node/cni/net.d"
    max_conf_num = 1
EOF
# No gateway address on the bridge, no masquerading: pods get addresses on a bridge of their
# own that has no route to anywhere, so nothing leaves the machine and two nodes' pods may
# share addresses without meeting.
cat >"$node/cni/net.d/10-attune.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$net",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$bridge",
      "isGateway": false,
      "ipMasq": false,
      "ipam": {"type": "host-local", "subnet": "10.244.0.0/24", "dataDir": "$node/cni/ipam"}
    }
  ]
}
EOF
start containerd containerd --config "$ctrd/config.toml" --log-level warn
ctr_() { ctr --address "$sock" --namespace k8s.io "$@"; }
wait_for containerd "$pid_containerd" ctr_ version
for image in pause busybox; do
  ctr_ images import --no-unpack "$node/images/$image.tar" >/dev/null ||
    fail "ctr images import $node/images/$image.tar failed"
done

# --- cgroup root ------------------------------------------------------------------
# The kubelet wants its cgroupRoot to exist in every hierarchy; its pods go below it.
for h in /sys/fs/cgroup/*/; do
  [[ -f "$h/cgroup.procs" ]] && mkdir -p "$h${cgroup_root#/}"
done

# --- kubelet -----------------------------------------------------------------------
kdir="$node/kubelet"
mkdir -p "$kdir" "$node/pod-logs"
: >"$node/resolv.conf"
kubelet_port=$(free_port)
healthz_port=$(free_port)
cat >"$node/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $kubelet_port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $healthz_port
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://$sock
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: $cgroup_root
cgroupsPerQOS: true
oomScoreAdj: 0
failSwapOn: false
systemReserved: {cpu: 500m, memory: 1Gi}
evictionHard: {memory.available: 50Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
podLogsDir: $node/pod-logs
volumePluginDir: $kdir/volume-plugins
resolvConf: $node/resolv.conf
staticPodPath: ""
EOF
start kubelet "$kubelet" \
  --config="$node/kubelet.yaml" \
  --kubeconfig="$KUBECONFIG" \
  --root-dir="$kdir" \
  --cert-dir="$kdir/pki" \
  --hostname-override="$name" \
  --node-ip="$node_ip" \
  --v=1

api() { curl -fsS --cacert "$ATTUNE_KUBE_CA" -H "Authorization: Bearer $ATTUNE_KUBE_TOKEN" "$ATTUNE_KUBE_SERVER$1"; }
node_ready() {
  api "/api/v1/nodes/$name" | python3 -c '
import json, sys
node = json.load(sys.stdin)
ready = [c for c in node["status"].get("conditions", []) if c["type"] == "Ready"]
taints = node["spec"].get("taints", [])
sys.exit(0 if ready and ready[0]["status"] == "True" and not taints else 1)'
}
wait_for "kubelet (node $name Ready)" "$pid_kubelet" node_ready
ready_s=$((SECONDS - started))

# --- kube-scheduler -----------------------------------------------------------------
# One profile with its own name: only pods that ask for it (schedulerName) come to this node;
# every other test's pods keep no scheduler and stay Pending, as they did before there was a
# node.
mkdir -p "$node/scheduler"
sched_port=$(free_port)
cat >"$node/scheduler.yaml" <<EOF
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: $KUBECONFIG
leaderElection:
  leaderElect: false
profiles:
  - schedulerName: $sched_name
EOF
start kube-scheduler "$scheduler" \
  --config="$node/scheduler.yaml" \
  --bind-address=127.0.0.1 \
  --secure-port="$sched_port" \
  --cert-dir="$node/scheduler" \
  --authentication-kubeconfig="$KUBECONFIG" \
  --authorization-kubeconfig="$KUBECONFIG" \
  --profiling=false \
  --v=1
wait_for kube-scheduler "$pid_kube_scheduler" curl -fsSk "https://127.0.0.1:$sched_port/readyz"

cat >"$node/node.env" <<EOF
ATTUNE_NODE_NAME=$name
ATTUNE_NODE_IP=$node_ip
ATTUNE_NODE_SCHEDULER=$sched_name
ATTUNE_NODE_IMAGE=local/busybox:1
ATTUNE_NODE_CGROUP_ROOT=$cgroup_root
ATTUNE_NODE_STATE_DIR=$node
ATTUNE_NODE_CONTAINERD=$sock
CONTAINERD_PID=$pid_containerd
KUBELET_PID=$pid_kubelet
KUBE_SCHEDULER_PID=$pid_kube_scheduler
EOF
ready=1
log "node $name ($node_ip) Ready in ${ready_s}s, scheduler '$sched_name' up in $((SECONDS - started))s (state $node)"
