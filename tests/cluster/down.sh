#!/usr/bin/env bash
# down.sh STATE_DIR — stop the control plane that up.sh started there.
# Idempotent: a missing state dir, pid file or process is not an error.
# Only pids recorded by up.sh are signalled, and only while their command
# line still refers to STATE_DIR (guards against pid reuse).
# Set ATTUNE_DOWN_PURGE=1 to also delete STATE_DIR afterwards.
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 STATE_DIR" >&2; exit 2; }
[[ -d "$1" ]] || exit 0
state="$(cd "$1" && pwd)"
pids_file="$state/pids"

ours() { # ours PID -> true if PID is alive and was started for this state dir
  local pid="$1"
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$state/"
}

stop() { # stop NAME PID
  local name="$1" pid="$2" i
  ours "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do          # up to ~10s for a clean exit
    ours "$pid" || { echo "down.sh: stopped $name ($pid)"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  echo "down.sh: killed $name ($pid)"
}

if [[ -f "$pids_file" ]]; then
  declare -A pid=()
  while IFS='=' read -r name p; do
    [[ -n "$name" && "$p" =~ ^[0-9]+$ ]] && pid[$name]=$p
  done < "$pids_file"
  # Reverse start order: clients first, etcd last.
  for name in kube-controller-manager kube-apiserver etcd; do
    [[ -n "${pid[$name]:-}" ]] && stop "$name" "${pid[$name]}"
  done
  rm -f "$pids_file"
fi

if [[ "${ATTUNE_DOWN_PURGE:-0}" == 1 ]]; then
  rm -rf "$state"
fi
exit 0
