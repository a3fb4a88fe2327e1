#!/usr/bin/env bash
# Build the binaries of the test control plane from Go modules (the module
# proxy is the only source reachable here; no release tarballs):
#   kube-apiserver, kube-controller-manager   from k8s.io/kubernetes  (go/kube)
#   kubelet, kube-scheduler (the test node)   from k8s.io/kubernetes  (go/kube); ~50s warm
#   etcd                                      from go.etcd.io/etcd/server/v3 (go/etcd)
#   kubectl (ATTUNE_CI_KUBECTL=0 skips it)   from k8s.io/kubernetes  (go/kube); ~45s extra
# Versions come from the wrapper modules' go.mod files. Binaries are cached
# outside the repo, keyed by version:
#   ${ATTUNE_CI_CACHE:-$HOME/.cache/attune-ci}/kube-<v>/{kube-apiserver,kube-controller-manager,kubelet,kube-scheduler[,kubectl]}
#   ${ATTUNE_CI_CACHE:-$HOME/.cache/attune-ci}/etcd-<v>/etcd
# A binary already in the cache is not rebuilt. Prints the cache dirs as
# KUBE_BIN_DIR=... / ETCD_BIN_DIR=... on the last two lines of stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v go >/dev/null || { echo "build.sh: go not on PATH" >&2; exit 1; }
cache="${ATTUNE_CI_CACHE:-$HOME/.cache/attune-ci}"

modver() { # modver GO_MOD MODULE -> version required in that go.mod
  awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$1"
}
kube_version="$(modver "$here/go/kube/go.mod" k8s.io/kubernetes)"
etcd_version="$(modver "$here/go/etcd/go.mod" go.etcd.io/etcd/server/v3)"
[[ -n "$kube_version" && -n "$etcd_version" ]] || { echo "build.sh: cannot read versions from go.mod" >&2; exit 1; }

kube_dir="$cache/kube-$kube_version"
etcd_dir="$cache/etcd-$etcd_version"
mkdir -p "$kube_dir" "$etcd_dir"

# Serialise concurrent build.sh runs (e.g. parallel test jobs).
exec 9>"$cache/.kube-etcd-build.lock"
flock 9

export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:-} -mod=readonly -buildvcs=false"
# Never let a go.mod line make the go command fetch another toolchain behind our back.
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

# Same version stamping as kubernetes' hack/lib/version.sh, so /version and
# the emulation/compatibility-version machinery see a real 1.35.x.
kube_minor="${kube_version#v1.}"; kube_minor="${kube_minor%%.*}"
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$kube_minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

build_one() { # build_one MODULE_DIR OUT PKG LDFLAGS
  local moddir="$1" out="$2" pkg="$3" ldflags="$4"
  if [[ -x "$out" ]]; then
    echo "build.sh: cached $out" >&2
    return 0
  fi
  # stderr: up.sh keeps stdout for the last two lines, and tests/run shows these as progress.
  echo "build.sh: building $pkg -> $out (cold: minutes on 2 cores)" >&2
  local start=$SECONDS
  (cd "$moddir" && go build -trimpath -ldflags "$ldflags" -o "$out.tmp.$$" "$pkg")
  mv -f "$out.tmp.$$" "$out"
  echo "build.sh: built $(basename "$out") in $((SECONDS - start))s" >&2
}

total=$SECONDS
build_one "$here/go/kube" "$kube_dir/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver "$kube_ldflags"
build_one "$here/go/kube" "$kube_dir/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager "$kube_ldflags"
build_one "$here/go/etcd" "$etcd_dir/etcd" go.etcd.io/etcd/server/v3 "-s -w"
build_one "$here/go/kube" "$kube_dir/kubelet" k8s.io/kubernetes/cmd/kubelet "$kube_ldflags"
build_one "$here/go/kube" "$kube_dir/kube-scheduler" k8s.io/kubernetes/cmd/kube-scheduler "$kube_ldflags"
if [[ "${ATTUNE_CI_KUBECTL:-1}" == 1 ]]; then
  build_one "$here/go/kube" "$kube_dir/kubectl" k8s.io/kubernetes/cmd/kubectl "$kube_ldflags"
fi
echo "build.sh: total $((SECONDS - total))s (kube $kube_version, etcd $etcd_version)" >&2

echo "KUBE_BIN_DIR=$kube_dir"
echo "ETCD_BIN_DIR=$etcd_dir"
