#!/usr/bin/env bash
# A real Gitea forge for attune's integration tests, on 127.0.0.1 only.
#
#   gitea.sh build            build Gitea from its Go module (cached, keyed by version)
#   gitea.sh up STATE_DIR     start it; writes STATE_DIR/gitea.env (URL, token, user, password, pid)
#   gitea.sh down STATE_DIR   stop it (idempotent)
#
# Environment: ATTUNE_CI_CACHE (default ~/.cache/attune-ci), GITEA_PORT (default: a free port).
# Built without the `bindata` tag and without the web frontend assets: only the REST API and git
# smart HTTP are used, so the web UI renders without JS/CSS. templates/ options/ public/ from the
# module source are copied beside the binary and found through STATIC_ROOT_PATH.
# sqlite needs the `sqlite sqlite_unlock_notify` tags and CGO (mattn/go-sqlite3, built with gcc).
set -euo pipefail

# v1.26.4: newest release whose module and dependencies the Go module proxy serves here
# (v1.27.x renamed the module to gitea.dev, and gitea.dev/* dependencies are refused).
GITEA_VERSION=v1.26.4
CACHE_ROOT=${ATTUNE_CI_CACHE:-$HOME/.cache/attune-ci}
GITEA_HOME="$CACHE_ROOT/gitea-$GITEA_VERSION"
GITEA_BIN="$GITEA_HOME/gitea"
ADMIN_USER=attune-admin
ADMIN_PASSWORD=attune-admin-pw-1
REVIEWER_USER=reviewer
REVIEWER_PASSWORD=reviewer-pw-1

log() { printf '[gitea.sh] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

cmd_build() {
  if [[ -x "$GITEA_BIN" && -d "$GITEA_HOME/options" && -d "$GITEA_HOME/templates" ]]; then
    log "cached: $GITEA_BIN"
    return 0
  fi
  command -v go >/dev/null || die "go not found"
  mkdir -p "$CACHE_ROOT"
  # One build at a time per version (parallel CI steps or sessions on the same cache).
  exec 8>"$CACHE_ROOT/gitea-$GITEA_VERSION.lock"
  flock 8
  if [[ -x "$GITEA_BIN" && -d "$GITEA_HOME/options" && -d "$GITEA_HOME/templates" ]]; then
    log "cached (built by a concurrent run): $GITEA_BIN"
    return 0
  fi
  local start=$SECONDS src build
  log "downloading code.gitea.io/gitea@$GITEA_VERSION"
  src=$(cd / && GOFLAGS=-mod=mod go mod download -json "code.gitea.io/gitea@$GITEA_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -n "$src" && -f "$src/go.mod" ]] || die "go mod download gave no source dir"
  build=$(mktemp -d "$CACHE_ROOT/gitea-build.XXXXXX")
  BUILD_DIR=$build
  trap 'rm -rf "$BUILD_DIR"' EXIT
  cp -R "$src/." "$build/"
  chmod -R u+w "$build"
  log "building in $build (this takes several minutes on 2 cores)"
  (
    cd "$build"
    CGO_ENABLED=1 CGO_CFLAGS="$(go env CGO_CFLAGS) -DSQLITE_MAX_VARIABLE_NUMBER=32766" \
      GOFLAGS=-buildvcs=false go build -trimpath -tags 'sqlite sqlite_unlock_notify' \
      -ldflags "-s -w -X 'main.Version=${GITEA_VERSION#v}' -X 'main.Tags=sqlite sqlite_unlock_notify'" \
      -o "$build/gitea.bin" .
  )
  rm -rf "$GITEA_HOME.tmp"
  mkdir -p "$GITEA_HOME.tmp"
  cp -R "$build/templates" "$build/options" "$build/public" "$GITEA_HOME.tmp/"
  mv "$build/gitea.bin" "$GITEA_HOME.tmp/gitea"
  rm -rf "$GITEA_HOME"
  mv "$GITEA_HOME.tmp" "$GITEA_HOME"
  log "built $GITEA_BIN in $((SECONDS - start))s"
}

free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
    return
  fi
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free port found"
}

gitea_cli() { "$GITEA_BIN" --config "$STATE/app.ini" --work-path "$STATE" "$@"; }

cmd_up() {
  STATE=${1:?usage: gitea.sh up STATE_DIR}
  [[ -x "$GITEA_BIN" ]] || cmd_build
  mkdir -p "$STATE"
  STATE=$(cd "$STATE" && pwd)
  if [[ -f "$STATE/gitea.pid" ]] && kill -0 "$(cat "$STATE/gitea.pid")" 2>/dev/null; then
    die "already running in $STATE (pid $(cat "$STATE/gitea.pid"))"
  fi
  rm -rf "$STATE/gitea-data" "$STATE/gitea.env"
  local port=${GITEA_PORT:-$(free_port)}
  local data="$STATE/gitea-data"
  mkdir -p "$data" "$STATE/gitea-log"
  local secret internal
  secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  internal=$(head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n')
  cat >"$STATE/app.ini" <<EOF
APP_NAME = attune-ci
RUN_MODE = prod
RUN_USER = $(id -un)
WORK_PATH = $STATE
I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = $port
DOMAIN = 127.0.0.1
ROOT_URL = http://127.0.0.1:$port/
STATIC_ROOT_PATH = $GITEA_HOME
APP_DATA_PATH = $data
DISABLE_SSH = true
START_SSH_SERVER = false
OFFLINE_MODE = true
LFS_START_SERVER = false

[database]
DB_TYPE = sqlite3
PATH = $data/gitea.db
SQLITE_JOURNAL_MODE = WAL

[repository]
ROOT = $data/repos
DEFAULT_BRANCH = main

[security]
INSTALL_LOCK = true
SECRET_KEY = $secret
INTERNAL_TOKEN = $internal
PASSWORD_HASH_ALGO = pbkdf2_v1
MIN_PASSWORD_LENGTH = 6
PASSWORD_COMPLEXITY = off

[oauth2]
ENABLED = false

[service]
DISABLE_REGISTRATION = true
REQUIRE_SIGNIN_VIEW = false
ENABLE_NOTIFY_MAIL = false
DEFAULT_KEEP_EMAIL_PRIVATE = false

[mailer]
ENABLED = false

[session]
PROVIDER = memory

[cache]
ADAPTER = memory

[indexer]
ISSUE_INDEXER_TYPE = db
REPO_INDEXER_ENABLED = false

[cron]
ENABLED = false

[cron.update_checker]
ENABLED = false

[actions]
ENABLED = false

[packages]
ENABLED = false

[log]
MODE = file
LEVEL = Info
ROOT_PATH = $STATE/gitea-log
EOF
  export GITEA_I_AM_BEING_UNSAFE_RUNNING_AS_ROOT=true
  export GITEA_WORK_DIR="$STATE"
  local start=$SECONDS
  gitea_cli migrate >"$STATE/gitea-setup.log" 2>&1 || { cat "$STATE/gitea-setup.log" >&2; die "migrate failed"; }
  gitea_cli admin user create --username "$ADMIN_USER" --password "$ADMIN_PASSWORD" \
    --email "$ADMIN_USER@example.invalid" --admin --must-change-password=false \
    >>"$STATE/gitea-setup.log" 2>&1 || { cat "$STATE/gitea-setup.log" >&2; die "admin user create failed"; }
  gitea_cli admin user create --username "$REVIEWER_USER" --password "$REVIEWER_PASSWORD" \
    --email "$REVIEWER_USER@example.invalid" --must-change-password=false \
    >>"$STATE/gitea-setup.log" 2>&1 || { cat "$STATE/gitea-setup.log" >&2; die "reviewer user create failed"; }
  local token
  token=$(gitea_cli admin user generate-access-token --username "$ADMIN_USER" \
    --token-name attune-ci --scopes all --raw 2>>"$STATE/gitea-setup.log" | tail -n1)
  [[ "$token" =~ ^[0-9a-f]{40}$ ]] || die "bad token output: $token"

  # Own process group (setsid) so `down` can stop it and any git children it spawned.
  setsid "$GITEA_BIN" --config "$STATE/app.ini" --work-path "$STATE" web \
    >"$STATE/gitea.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$STATE/gitea.pid"
  local url="http://127.0.0.1:$port"
  local i
  for i in $(seq 600); do
    if curl -fsS -o /dev/null "$url/api/v1/version" 2>/dev/null; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 50 "$STATE/gitea.log" >&2
      die "gitea exited during startup (see $STATE/gitea.log, $STATE/gitea-log/)"
    fi
    sleep 0.1
  done
  curl -fsS -o /dev/null "$url/api/v1/version" || { cmd_down "$STATE"; die "gitea did not answer in 60s"; }
  cat >"$STATE/gitea.env.tmp" <<EOF
ATTUNE_GITEA_URL=$url
ATTUNE_GITEA_TOKEN=$token
ATTUNE_GITEA_USER=$ADMIN_USER
ATTUNE_GITEA_PASSWORD=$ADMIN_PASSWORD
ATTUNE_GITEA_REVIEWER=$REVIEWER_USER
ATTUNE_GITEA_REVIEWER_PASSWORD=$REVIEWER_PASSWORD
ATTUNE_GITEA_PID=$pid
EOF
  mv "$STATE/gitea.env.tmp" "$STATE/gitea.env"
  log "gitea $GITEA_VERSION up at $url (pid $pid) in $((SECONDS - start))s; env in $STATE/gitea.env"
}

cmd_down() {
  local state=${1:?usage: gitea.sh down STATE_DIR}
  [[ -f "$state/gitea.pid" ]] || return 0
  local pid i
  pid=$(cat "$state/gitea.pid")
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid did not stop on TERM; killing its process group"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    # Reap if it is our child; otherwise just wait for it to disappear.
    wait "$pid" 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$state/gitea.pid"
  log "gitea down ($state)"
}

case "${1:-}" in
  build) cmd_build ;;
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  *) echo "usage: $0 build | up STATE_DIR | down STATE_DIR" >&2; exit 2 ;;
esac
