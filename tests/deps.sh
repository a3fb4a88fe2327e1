#!/usr/bin/env bash
# What the test suite needs on the machine, checked (and installed where missing) before any
# build starts, so that a fresh machine fails in the first second with a clear line instead of
# after a long build:
#   Debian packages: git, lighttpd (git smart HTTP), openssl (throwaway RSA keys for the GitHub
#   App tests), curl (health polls), python3 (free ports, fixtures), prometheus with promtool
#   (the recommender's usage history, tests/servers/prometheus.sh; promtool checks the chart's
#   alerts), lua5.1 (runs the chart's Argo CD health script: the Lua dialect Argo CD embeds),
#   nodejs + npm (the `mermaid` parser that checks the pull-request charts, tests/tools/mermaid.sh);
#   for the test node (tests/node): containerd, runc, containernetworking-plugins (bridge + host-local),
#   busybox-static (the workload image) and gcc + libc6-dev (the static pause binary)
#   toolchains: cargo, go (>= 1.26: Gitea, the control plane and helm are built from Go modules)
#   (kubectl for the render oracle's `kubectl kustomize` is not checked here: without one on PATH,
#   tests/run uses the kubectl that tests/cluster/build.sh builds beside the control plane)
# Missing packages are installed with apt-get when running as root; otherwise the exact command
# is printed and the script fails. Prints shell lines (none today) for the caller to eval.
set -euo pipefail

log() { printf 'tests/deps.sh: %s\n' "$*" >&2; }
cache="${ATTUNE_CI_CACHE:-$HOME/.cache/attune-ci}"

apt_for() { # apt_for COMMAND -> Debian package providing it
  case "$1" in
    lighttpd) echo lighttpd ;;
    openssl) echo openssl ;;
    curl) echo curl ;;
    git) echo git ;;
    python3) echo python3 ;;
    prometheus | promtool) echo prometheus ;;
    lua5.1) echo lua5.1 ;;
    node) echo nodejs ;;
    *) echo "$1" ;;
  esac
}

missing=()
for cmd in git lighttpd openssl curl python3 prometheus promtool lua5.1 node npm; do
  command -v "$cmd" >/dev/null || missing+=("$(apt_for "$cmd")")
done
# The node's packages, by package: Debian's `busybox` (dynamic) also has /bin/busybox, and only
# a static one runs inside an image that holds nothing else.
for pkg in containerd runc containernetworking-plugins busybox-static gcc libc6-dev; do
  [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null) == ii* ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    log "missing: ${missing[*]}; install them (e.g. sudo apt-get install -y ${missing[*]}) and rerun"
    exit 1
  fi
  log "installing ${missing[*]} (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for tool in cargo go; do
  command -v "$tool" >/dev/null || { log "$tool is not on PATH: install the Rust and Go toolchains first"; exit 1; }
done
go_minor=$(go env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
if [[ -z "$go_minor" || "$go_minor" -lt 26 ]]; then
  log "go $(go env GOVERSION) is too old: the test servers need Go >= 1.26"
  exit 1
fi
