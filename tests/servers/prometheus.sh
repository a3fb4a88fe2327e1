#!/usr/bin/env bash
# A real Prometheus for attune's integration tests, on 127.0.0.1 only: Debian's package (2.42,
# promtool included) serving a backfilled, deterministic usage history
# (tests/servers/prometheus_history.py: 8 days at 1-minute resolution ending 2026-01-05T00:00Z).
#
#   prometheus.sh install           apt-get install prometheus when prometheus/promtool are missing
#   prometheus.sh backfill DIR      generate the history and write it as TSDB blocks into DIR
#   prometheus.sh up STATE_DIR      start it on a free port with a copy of the backfilled TSDB
#                                   (built once into the cache, keyed by the generator's hash);
#                                   writes STATE_DIR/prometheus.env (PROMETHEUS_URL, PROMETHEUS_PID,
#                                   PROMETHEUS_DATA)
#   prometheus.sh down STATE_DIR    stop it (idempotent)
#
# Environment: ATTUNE_CI_CACHE (default ~/.cache/attune-ci), PROMETHEUS_PORT (default: a free port),
# PROMETHEUS_TSDB (up: serve a copy of this TSDB instead of the test history).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
GENERATOR="$HERE/prometheus_history.py"
CACHE_ROOT=${ATTUNE_CI_CACHE:-$HOME/.cache/attune-ci}

log() { printf '[prometheus.sh] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

cmd_install() {
  if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
    return 0
  fi
  log "installing Debian's prometheus package (about 11 s)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends prometheus >/dev/null
  command -v promtool >/dev/null || die "the prometheus package did not provide promtool"
}

# Each day is its own file: promtool 2.42 re-reads the whole input for every 2h block it writes,
# so eight small files cost an eighth of one big one.
cmd_backfill() {
  local dir=${1:?usage: prometheus.sh backfill DIR}
  command -v promtool >/dev/null || die "promtool not found: run prometheus.sh install"
  local start=$SECONDS work
  work=$(mktemp -d "${TMPDIR:-/tmp}/attune-prom-history.XXXXXX")
  python3 "$GENERATOR" "$work"
  mkdir -p "$dir"
  local file
  for file in "$work"/day-*.om; do
    promtool tsdb create-blocks-from openmetrics -q "$file" "$dir" >/dev/null ||
      { rm -rf "$work"; die "promtool could not backfill $file"; }
  done
  rm -rf "$work"
  log "backfilled $(find "$dir" -mindepth 1 -maxdepth 1 -type d | wc -l) blocks into $dir in $((SECONDS - start))s"
}

# The backfilled TSDB, built once per generator version (cached; a few MB).
cached_tsdb() {
  local hash dir
  hash=$(sha256sum "$GENERATOR" | cut -c1-16)
  dir="$CACHE_ROOT/prometheus-history-$hash"
  if [[ ! -d "$dir" ]]; then
    mkdir -p "$CACHE_ROOT"
    exec 9>"$CACHE_ROOT/prometheus-history.lock"
    flock 9
    if [[ ! -d "$dir" ]]; then
      rm -rf "$dir.tmp"
      cmd_backfill "$dir.tmp" >&2
      mv "$dir.tmp" "$dir"
      # Histories of earlier generator versions are never used again.
      find "$CACHE_ROOT" -mindepth 1 -maxdepth 1 -name 'prometheus-history-*' ! -path "$dir" \
        -exec rm -rf {} +
    fi
    exec 9>&-
  fi
  echo "$dir"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

cmd_up() {
  local state=${1:?usage: prometheus.sh up STATE_DIR}
  cmd_install
  mkdir -p "$state"
  state=$(cd "$state" && pwd)
  if [[ -f "$state/prometheus.pid" ]] && kill -0 "$(cat "$state/prometheus.pid")" 2>/dev/null; then
    die "already running in $state (pid $(cat "$state/prometheus.pid"))"
  fi
  local tsdb
  # PROMETHEUS_TSDB: serve that backfilled TSDB instead (benches/controller.rs makes its own).
  tsdb=${PROMETHEUS_TSDB:-$(cached_tsdb)}
  rm -rf "$state/prometheus-data" "$state/prometheus.env"
  cp -R "$tsdb" "$state/prometheus-data"
  cat >"$state/prometheus.yml" <<'YAML'
global:
  scrape_interval: 1m
scrape_configs: []
YAML
  local port=${PROMETHEUS_PORT:-$(free_port)}
  # Block durations pinned to 2h: no background compaction of the backfilled blocks while the
  # tests query. Retention is counted from the newest block, so old fixed dates are kept.
  setsid prometheus \
    --config.file="$state/prometheus.yml" \
    --storage.tsdb.path="$state/prometheus-data" \
    --storage.tsdb.retention.time=3650d \
    --storage.tsdb.min-block-duration=2h \
    --storage.tsdb.max-block-duration=2h \
    --web.listen-address="127.0.0.1:$port" \
    >"$state/prometheus.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$state/prometheus.pid"
  local url="http://127.0.0.1:$port"
  local i
  for i in $(seq 300); do
    if curl -fsS -o /dev/null "$url/-/ready" 2>/dev/null; then
      # PROMETHEUS_DATA: tests that need series at the current time write blocks there with
      # promtool; Prometheus loads new blocks within a minute.
      printf 'PROMETHEUS_URL=%s\nPROMETHEUS_PID=%s\nPROMETHEUS_DATA=%s\n' "$url" "$pid" \
        "$state/prometheus-data" >"$state/prometheus.env"
      log "ready at $url (pid $pid) after $((i / 10)).$((i % 10))s"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$state/prometheus.log" >&2; die "prometheus exited"; }
    sleep 0.1
  done
  tail -n 30 "$state/prometheus.log" >&2
  die "prometheus was not ready after 30s"
}

cmd_down() {
  local state=${1:?usage: prometheus.sh down STATE_DIR}
  local pidfile="$state/prometheus.pid" pid i
  [[ -f "$pidfile" ]] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$pidfile" "$state/prometheus.env"
}

case "${1:-}" in
  install) cmd_install ;;
  backfill) shift; cmd_backfill "$@" ;;
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  *) die "usage: prometheus.sh install | backfill DIR | up STATE_DIR | down STATE_DIR" ;;
esac
