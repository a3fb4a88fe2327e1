#!/usr/bin/env bash
# The controller image without a registry or a container builder: the release binary, the
# shared libraries it links, CA certificates and a non-root user, as one layer, written as a
# `docker save` archive (`docker load -i`, `ctr -n k8s.io images import`, `podman load`).
# The same runtime as the Dockerfile's, taken from this machine's Debian instead of an image.
#
#   tests/tools/image.sh OUT.tar [REF]
#     REF    image reference stored in the archive (default ghcr.io/attune/attune:<version>)
#   ATTUNE_BIN=path   use this binary instead of `cargo build --release --bin attune`
#   ATTUNE_HELM=path  the helm to ship (default: tests/tools/helm.sh builds or reuses it)
set -euo pipefail
cd "$(dirname "$0")/../.."

out=${1:?usage: tests/tools/image.sh OUT.tar [REF]}
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
ref=${2:-ghcr.io/attune/attune:$version}
log() { printf 'image.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

bin=${ATTUNE_BIN:-}
if [[ -z "$bin" ]]; then
  log "building the release binary (cargo build --release --locked --bin attune)"
  cargo build --release --locked --bin attune >&2
  bin=target/release/attune
fi
[[ -x "$bin" ]] || die "$bin is not an executable"
helm=${ATTUNE_HELM:-}
if [[ -z "$helm" ]]; then
  helm=$(tests/tools/helm.sh | sed -n 's/^ATTUNE_HELM=//p')
fi
[[ -x "$helm" ]] || die "$helm is not an executable"
certs=/etc/ssl/certs/ca-certificates.crt
[[ -f "$certs" ]] || die "$certs is missing: apt-get install ca-certificates"

work=$(mktemp -d "${TMPDIR:-/tmp}/attune-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/tmp" "$root/var/cache/attune"
install -m 0755 "$bin" "$root/usr/local/bin/attune"
# helm is static (CGO off), so it needs no library of its own.
install -m 0755 "$helm" "$root/usr/local/bin/helm"
install -m 0644 "$certs" "$root/etc/ssl/certs/ca-certificates.crt"
# Every library the dynamic loader resolves for the binary, and the loader itself, at the
# paths the binary asks for (symlinks resolved: one file per name).
while read -r path; do
  [[ -f "$path" ]] || die "ldd named $path, which is not a file"
  mkdir -p "$root$(dirname "$path")"
  cp -L "$path" "$root$path"
done < <(ldd "$bin" | grep -o '/[^ ]*' | sort -u)
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/usr/sbin/nologin\n' \
  >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
chmod 1777 "$root/tmp" "$root/var/cache/attune"

# One reproducible layer: sorted, epoch timestamps, everything owned by root (the chart mounts
# writable volumes at /tmp and /var/cache/attune; the root filesystem stays read-only).
mkdir -p "$work/archive"
tar --sort=name --mtime=@0 --numeric-owner --owner=0 --group=0 -C "$root" -cf "$work/layer.tar" .
layer_sha=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
mkdir -p "$work/archive/$layer_sha"
mv "$work/layer.tar" "$work/archive/$layer_sha/layer.tar"
LAYER_SHA=$layer_sha REF=$ref python3 - "$work/archive" <<'PY'
import hashlib, json, os, sys
archive = sys.argv[1]
layer = os.environ["LAYER_SHA"]
config = {
    "architecture": "amd64", "os": "linux", "created": "1970-01-01T00:00:00Z",
    "config": {
        "User": "65532:65532",
        "Entrypoint": ["/usr/local/bin/attune"], "Cmd": ["controller"],
        "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "ATTUNE_CACHE_DIR=/var/cache/attune",
                "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"],
        "WorkingDir": "/",
    },
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + layer]},
    "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "tests/tools/image.sh"}],
}
data = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
digest = hashlib.sha256(data).hexdigest()
with open(os.path.join(archive, digest + ".json"), "wb") as f:
    f.write(data)
manifest = [{"Config": digest + ".json", "RepoTags": [os.environ["REF"]],
             "Layers": [layer + "/layer.tar"]}]
with open(os.path.join(archive, "manifest.json"), "w") as f:
    json.dump(manifest, f)
PY
tar --sort=name --mtime=@0 --numeric-owner --owner=0 --group=0 -C "$work/archive" -cf "$out.tmp" .
mv -f "$out.tmp" "$out"
log "wrote $out ($ref, one layer sha256:$layer_sha, $(du -h "$out" | cut -f1))"
