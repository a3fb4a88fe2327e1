#!/usr/bin/env bash
# up.sh STATE_DIR — start a throw-away control plane on 127.0.0.1:
#   etcd, kube-apiserver (token auth, RBAC), kube-controller-manager
# (no scheduler, no kubelet: pods stay Pending unless tests/node/up.sh adds a node).
# Writes into STATE_DIR:
#   kubeconfig       server https://127.0.0.1:PORT, CA data, admin bearer token
#   cluster.env      KEY=value lines (KUBECONFIG, ATTUNE_KUBE_TOKEN, ..., pids)
#   pki/ etcd-data/  certs, SA key, token file, etcd data
#   *.log            one log per component
# Binaries: $ATTUNE_KUBE_BIN_DIR / $ATTUNE_ETCD_BIN_DIR if set, else build.sh
# (a no-op when its cache is warm). Stop with down.sh STATE_DIR.
# Tunables: ATTUNE_KCM_CONTROLLERS (comma list), ATTUNE_UP_TIMEOUT (s, 120),
# ATTUNE_KCM_QPS / ATTUNE_KCM_BURST (client rate of the controller-manager, 200 / 400),
# ATTUNE_KCM_ARGS (extra flags, word-split; e.g. --concurrent-replicaset-syncs=20).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# -eq 1 ]] || { echo "usage: $0 STATE_DIR" >&2; exit 2; }
mkdir -p "$1"
state="$(cd "$1" && pwd)"
[[ "$state" != *[[:space:]]* ]] || { echo "up.sh: STATE_DIR must not contain whitespace" >&2; exit 2; }
timeout_s="${ATTUNE_UP_TIMEOUT:-120}"
started=$SECONDS

# A previous cluster in the same state dir is stopped and its data dropped.
"$here/down.sh" "$state" >/dev/null 2>&1 || true
rm -rf "$state/pki" "$state/etcd-data" "$state"/*.log "$state/kubeconfig" "$state/cluster.env" "$state/pids"

# --- binaries ---------------------------------------------------------------
if [[ -z "${ATTUNE_KUBE_BIN_DIR:-}" || -z "${ATTUNE_ETCD_BIN_DIR:-}" ]]; then
  build_out="$("$here/build.sh")"
  ATTUNE_KUBE_BIN_DIR="${ATTUNE_KUBE_BIN_DIR:-$(sed -n 's/^KUBE_BIN_DIR=//p' <<<"$build_out")}"
  ATTUNE_ETCD_BIN_DIR="${ATTUNE_ETCD_BIN_DIR:-$(sed -n 's/^ETCD_BIN_DIR=//p' <<<"$build_out")}"
fi
apiserver="$ATTUNE_KUBE_BIN_DIR/kube-apiserver"
kcm="$ATTUNE_KUBE_BIN_DIR/kube-controller-manager"
etcd="$ATTUNE_ETCD_BIN_DIR/etcd"
for b in "$apiserver" "$kcm" "$etcd"; do
  [[ -x "$b" ]] || { echo "up.sh: missing binary $b" >&2; exit 1; }
done

# --- ports ------------------------------------------------------------------
declare -A taken=()
# Ports below the kernel's ephemeral range: a port above its start may be the local end of
# some outgoing connection, which no connect probe sees but which makes bind fail.
read -r ephemeral_low _ < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || ephemeral_low=32768
(( ephemeral_low > 12000 )) || ephemeral_low=32768
free_port() { # a port nobody listens on right now (small race window; fine for tests)
  local p
  while :; do
    p=$(( 10000 + RANDOM % (ephemeral_low - 10000) ))
    [[ -z "${taken[$p]:-}" ]] || continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      taken[$p]=1; echo "$p"; return
    fi
  done
}
etcd_client_port=$(free_port); etcd_peer_port=$(free_port); api_port=$(free_port)

# --- certs and credentials --------------------------------------------------
pki="$state/pki"
mkdir -p "$pki"; chmod 700 "$pki"
(
  cd "$pki"
  # CA (basicConstraints/keyUsage set so strict clients such as rustls accept it)
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
    -subj "/CN=attune-test-ca" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  # Serving cert for kube-apiserver: 127.0.0.1 + localhost + in-cluster names.
  openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
    -subj "/CN=kube-apiserver" 2>/dev/null
  cat > apiserver.ext <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EOF
  openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out apiserver.crt -days 3650 -extfile apiserver.ext 2>/dev/null
  # Service-account token signing key pair.
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
)
token="$(openssl rand -hex 32)"
# token,user,uid,"groups"
printf '%s,attune-admin,attune-admin,"system:masters"\n' "$token" > "$pki/tokens.csv"
chmod 600 "$pki"/*.key "$pki/tokens.csv"

server="https://127.0.0.1:$api_port"
ca_data="$(base64 -w0 < "$pki/ca.crt")"
cat > "$state/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: attune-test
  cluster:
    server: $server
    certificate-authority-data: $ca_data
users:
- name: attune-admin
  user:
    token: $token
contexts:
- name: attune-test
  context:
    cluster: attune-test
    user: attune-admin
    namespace: default
current-context: attune-test
EOF
chmod 600 "$state/kubeconfig"

# --- process helpers --------------------------------------------------------
: > "$state/pids"
start() { # start NAME BINARY ARGS... ; detached, own session, log in STATE_DIR
  local name="$1"; shift
  setsid "$@" >"$state/$name.log" 2>&1 < /dev/null &
  local pid=$!
  echo "$name=$pid" >> "$state/pids"
  printf -v "pid_${name//-/_}" '%s' "$pid"
}
fail() {
  echo "up.sh: $*" >&2
  for f in "$state"/*.log; do
    [[ -f "$f" ]] || continue
    echo "---- last lines of $f" >&2; tail -n 25 "$f" >&2
  done
  "$here/down.sh" "$state" >&2 || true
  exit 1
}
wait_for() { # wait_for WHAT PIDVAR CMD...
  local what="$1" pid="$2"; shift 2
  local deadline=$(( SECONDS + timeout_s ))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || fail "$what exited during start-up"
    (( SECONDS < deadline )) || fail "$what not ready after ${timeout_s}s"
    sleep 0.3
  done
}

# --- etcd -------------------------------------------------------------------
start etcd "$etcd" \
  --name=attune-test \
  --data-dir="$state/etcd-data" \
  --listen-client-urls="http://127.0.0.1:$etcd_client_port" \
  --advertise-client-urls="http://127.0.0.1:$etcd_client_port" \
  --listen-peer-urls="http://127.0.0.1:$etcd_peer_port" \
  --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster="attune-test=http://127.0.0.1:$etcd_peer_port" \
  --unsafe-no-fsync=true \
  --log-level=warn
wait_for etcd "$pid_etcd" curl -fsS "http://127.0.0.1:$etcd_client_port/health"

# --- kube-apiserver ---------------------------------------------------------
start kube-apiserver "$apiserver" \
  --etcd-servers="http://127.0.0.1:$etcd_client_port" \
  --bind-address=127.0.0.1 \
  --advertise-address=127.0.0.1 \
  --secure-port="$api_port" \
  --tls-cert-file="$pki/apiserver.crt" \
  --tls-private-key-file="$pki/apiserver.key" \
  --token-auth-file="$pki/tokens.csv" \
  --authorization-mode=RBAC \
  --service-account-key-file="$pki/sa.pub" \
  --service-account-signing-key-file="$pki/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range=10.96.0.0/24 \
  --endpoint-reconciler-type=none \
  --allow-privileged=true \
  --profiling=false \
  --v=1
ready() { curl -fsS --cacert "$pki/ca.crt" -H "Authorization: Bearer $token" "$server/readyz"; }
wait_for kube-apiserver "$pid_kube_apiserver" ready

# --- kube-controller-manager ------------------------------------------------
# The workload controllers, and what a real node (tests/node) needs: node-lifecycle lifts the
# not-ready taint a new node starts with, root-ca-certificate-publisher makes the
# kube-root-ca.crt ConfigMap that every service-account token volume mounts.
controllers="${ATTUNE_KCM_CONTROLLERS:-serviceaccount-controller,namespace-controller,garbage-collector-controller,deployment-controller,replicaset-controller,statefulset-controller,daemonset-controller,job-controller,cronjob-controller,disruption-controller,node-lifecycle-controller,root-ca-certificate-publisher-controller}"
start kube-controller-manager "$kcm" \
  --kubeconfig="$state/kubeconfig" \
  --controllers="$controllers" \
  --use-service-account-credentials=false \
  --leader-elect=false \
  --bind-address=127.0.0.1 \
  --secure-port=0 \
  --kube-api-qps="${ATTUNE_KCM_QPS:-200}" \
  --kube-api-burst="${ATTUNE_KCM_BURST:-400}" \
  --profiling=false \
  --v=1 \
  ${ATTUNE_KCM_ARGS:-}
# Ready once the serviceaccount controller made default/default (pods need it).
sa_ready() { curl -fsS --cacert "$pki/ca.crt" -H "Authorization: Bearer $token" \
  "$server/api/v1/namespaces/default/serviceaccounts/default"; }
wait_for kube-controller-manager "$pid_kube_controller_manager" sa_ready

cat > "$state/cluster.env" <<EOF
KUBECONFIG=$state/kubeconfig
ATTUNE_KUBE_SERVER=$server
ATTUNE_KUBE_TOKEN=$token
ATTUNE_KUBE_CA=$pki/ca.crt
ATTUNE_STATE_DIR=$state
ETCD_ENDPOINT=http://127.0.0.1:$etcd_client_port
ETCD_PID=$pid_etcd
KUBE_APISERVER_PID=$pid_kube_apiserver
KUBE_CONTROLLER_MANAGER_PID=$pid_kube_controller_manager
EOF
echo "up.sh: control plane ready at $server in $((SECONDS - started))s (state $state)"
