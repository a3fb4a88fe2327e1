#!/usr/bin/env bash
# A real `helm` for the chart tests (tests/it/chart*.rs): `helm lint`, `helm template` and the
# schema check run the chart exactly as users' Helm does.
#
#   tests/tools/helm.sh    build helm.sh/helm/v3/cmd/helm from its Go module (cached, keyed by
#                          version; a no-op when present) and print ATTUNE_HELM=<path> on stdout
#
# Helm 3, not 4: it is the major version most users run today; Helm 4 also reads the chart
# (apiVersion v2), but only Helm 3 is tested. Environment: ATTUNE_CI_CACHE (default
# ~/.cache/attune-ci). Progress lines go to stderr, prefixed `helm.sh:`.
set -euo pipefail

HELM_VERSION=v3.21.4
cache="${ATTUNE_CI_CACHE:-$HOME/.cache/attune-ci}"
dir="$cache/helm-$HELM_VERSION"
bin="$dir/helm"

log() { printf 'helm.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ ! -x "$bin" ]]; then
  command -v go >/dev/null || die "go not on PATH (tests/deps.sh checks for it)"
  mkdir -p "$dir"
  # One build at a time per version (tests/run and .ci/run's background build share the cache).
  exec 7>"$cache/helm-$HELM_VERSION.lock"
  flock 7
fi
if [[ -x "$bin" ]]; then
  log "cached $bin"
else
  start=$SECONDS
  export CGO_ENABLED=0 GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
  log "downloading helm.sh/helm/v3@$HELM_VERSION"
  src=$(cd / && GOFLAGS=-mod=mod go mod download -json "helm.sh/helm/v3@$HELM_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -n "$src" && -f "$src/go.mod" ]] || die "go mod download gave no source dir"
  # The same stamping as Helm's Makefile: `helm version` names the release, and the default
  # Kubernetes version of `helm template`/`lint` (.Capabilities) follows the client-go it links.
  k8s=$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "$src/go.mod")
  k8s_minor=${k8s#v0.}
  k8s_minor=${k8s_minor%%.*}
  [[ "$k8s_minor" =~ ^[0-9]+$ ]] || die "cannot read the client-go version from $src/go.mod"
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
  done
  log "building helm $HELM_VERSION -> $bin (cold: a few minutes on 2 cores)"
  (cd "$src" && GOFLAGS=-mod=readonly go build -trimpath -buildvcs=false -ldflags "$ldflags" \
    -o "$bin.tmp.$$" ./cmd/helm)
  mv -f "$bin.tmp.$$" "$bin"
  log "built helm in $((SECONDS - start))s"
fi
"$bin" version --short | grep -qx "$HELM_VERSION" || die "$bin does not say it is $HELM_VERSION"
echo "ATTUNE_HELM=$bin"
