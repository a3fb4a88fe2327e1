#!/usr/bin/env bash
# down.sh NODE_STATE_DIR — stop the node that up.sh started there and remove what it left on
# the host: its processes (scheduler, kubelet, every process in its pods' cgroups, containerd's
# shims, containerd), every mount below NODE_STATE_DIR, its cgroup root in every hierarchy, its
# bridge and CNI cache files; and, when it is the last node on the machine, the fixed host paths
# that the first node found absent (/run/attune-node/created). Idempotent. Only processes whose
# command line names NODE_STATE_DIR, or that sit in this node's cgroups, are signalled.
# ATTUNE_DOWN_PURGE=1 also deletes NODE_STATE_DIR. Exits 1 when a mount or cgroup could not be
# removed (then NODE_STATE_DIR must not be deleted with `rm -rf` without --one-file-system).
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 NODE_STATE_DIR" >&2; exit 2; }
[[ -d "$1" ]] || exit 0
node="$(cd "$1" && pwd)"
log() { echo "node/down.sh: $*"; }
problems=0

owned() { # owned PID DIR -> alive and started for the node in DIR
  [[ -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2/"
}
ours() { owned "$1" "$node"; }
alive() { # alive DIR UP_PID -> that node's up.sh or one of its processes still runs
  local dir="$1" up="${2:-}" name p
  [[ -n "$dir" ]] || return 1
  if [[ "$up" =~ ^[0-9]+$ && -r "/proc/$up/cmdline" ]] &&
    { tr '\0' ' ' <"/proc/$up/cmdline"; echo; } | grep -qF -- "$dir "; then
    return 0
  fi
  [[ -f "$dir/pids" ]] || return 1
  while IFS='=' read -r name p; do
    [[ "$p" =~ ^[0-9]+$ ]] && owned "$p" "$dir" && return 0
  done <"$dir/pids"
  return 1
}
stop() { # stop NAME PID
  local name="$1" pid="$2" i
  ours "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    ours "$pid" || { log "stopped $name ($pid)"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  log "killed $name ($pid)"
}

declare -A pid=()
if [[ -f "$node/pids" ]]; then
  while IFS='=' read -r name p; do
    [[ -n "$name" && "$p" =~ ^[0-9]+$ ]] && pid[$name]=$p
  done <"$node/pids"
fi
# The scheduler and the kubelet first: nothing may start a container while the rest goes.
for name in kube-scheduler kubelet; do
  [[ -n "${pid[$name]:-}" ]] && stop "$name" "${pid[$name]}"
done

id="$(cat "$node/id" 2>/dev/null || true)"
[[ -z "$id" || "$id" =~ ^[0-9a-f]{8}$ ]] || { log "unexpected id in $node/id: $id"; exit 1; }

# Every process in the pods' cgroups (pause and workload processes; they outlive a killed shim).
if [[ -n "$id" ]]; then
  for ((round = 0; round < 50; round++)); do
    victims=$(find /sys/fs/cgroup/*/"attune-$id" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
    [[ -z "$victims" ]] && break
    # shellcheck disable=SC2086
    kill -KILL $victims 2>/dev/null || true
    sleep 0.1
  done
fi

# containerd's shims (re-parented, found by the socket address on their command line), then
# containerd itself.
for p in $(pgrep -f -- "containerd-shim-runc-v2 .*-address $node/" || true); do
  ours "$p" && kill -KILL "$p" 2>/dev/null || true
done
[[ -n "${pid[containerd]:-}" ]] && stop containerd "${pid[containerd]}"
rm -f "$node/pids"
# A killed shim leaves its socket in the shared /run/containerd/s: drop every socket there that
# nobody listens on any more (another node's live shims keep theirs).
if [[ -d /run/containerd/s ]]; then
  for sock in /run/containerd/s/*; do
    [[ -S "$sock" ]] || continue
    grep -qF -- " $sock" /proc/net/unix || rm -f "$sock"
  done
fi

# Mounts below the state dir, deepest first: container rootfs overlays, sandbox shm, network
# namespaces, the kubelet's projected volumes and its rshared bind of its root dir.
mounts() {
  awk -v root="$node/" '{ p = $5; gsub(/\\040/, " ", p); if (index(p "/", root) == 1) print p }' \
    /proc/self/mountinfo | awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2-
}
for ((round = 0; round < 5; round++)); do
  left=$(mounts)
  [[ -z "$left" ]] && break
  while IFS= read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done <<<"$left"
done
if [[ -n "$(mounts)" ]]; then
  log "mounts left below $node:"; mounts
  problems=1
fi

if [[ -n "$id" ]]; then
  # The cgroup root, leaves first, in every hierarchy.
  for h in /sys/fs/cgroup/*/; do
    [[ -d "$h/attune-$id" ]] || continue
    find "$h/attune-$id" -depth -type d -exec rmdir {} + 2>/dev/null || true
    if [[ -d "$h/attune-$id" ]]; then
      log "cgroup left: $h/attune-$id"
      problems=1
    fi
  done
  if ip link show "atn$id" >/dev/null 2>&1; then
    ip link delete "atn$id" || problems=1
  fi
  rm -f /var/lib/cni/results/"attune-$id"-*
fi

# The fixed host paths, when no other node is left.
registry=/run/attune-node
if [[ -n "$id" && -d "$registry" ]]; then
  exec 8</run
  flock 8
  rm -f "$registry/node-$id"
  # An entry whose node has no process left (its run was killed before its teardown) is
  # dropped, or the shared paths would never be removed.
  shopt -s nullglob
  others=0
  for entry in "$registry"/node-*; do
    # shellcheck disable=SC2046
    if alive $(cat "$entry" 2>/dev/null); then
      others=$((others + 1))
    else
      rm -f "$entry"
    fi
  done
  shopt -u nullglob
  if ((others == 0)); then
    # Deepest first, so that a recorded parent is empty by the time it comes.
    if [[ -f "$registry/created" ]]; then
      while IFS= read -r p; do
        case "$p" in
          /var/lib/kubelet/device-plugins | /var/lib/cni/results | /var/log/containers | /var/log/pods | \
            /usr/libexec/kubernetes | /run/containerd) rm -rf --one-file-system "$p" ;;
          /var/lib/kubelet | /var/lib/cni | /run/mount) rmdir "$p" 2>/dev/null || true ;;
        esac
      done < <(sort -r "$registry/created")
    fi
    rm -f "$registry/created"
    rmdir "$registry" 2>/dev/null || true
  fi
  flock -u 8
fi

if [[ "${ATTUNE_DOWN_PURGE:-0}" == 1 && $problems == 0 ]]; then
  rm -rf --one-file-system "$node"
fi
exit $problems
