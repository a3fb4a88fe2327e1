#!/usr/bin/env bash
# images.sh OUT_DIR — the test node's two images, made without a registry, as docker-save tars
# for `ctr -n k8s.io images import`:
#   OUT_DIR/pause.tar    registry.k8s.io/pause:3.10 (the sandbox image containerd is told to use):
#                        tests/node/pause.c, `gcc -static`
#   OUT_DIR/busybox.tar  local/busybox:1: Debian's busybox-static with a link per applet (sh,
#                        sleep, dd, ...), PATH=/bin, default command `sh`
# Each tar holds one uncompressed layer, an image config whose rootfs.diff_ids names that layer,
# and manifest.json with the RepoTags. Timestamps and owners are fixed, so the same inputs make
# the same image ids. Takes 1-2 s.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# -eq 1 ]] || { echo "usage: $0 OUT_DIR" >&2; exit 2; }
mkdir -p "$1"
out="$(cd "$1" && pwd)"
busybox=/bin/busybox
if ! "$busybox" true 2>/dev/null || ldd "$busybox" >/dev/null 2>&1; then
  echo "images.sh: $busybox is missing or not static: install busybox-static (tests/deps.sh does)" >&2
  exit 1
fi
arch="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
work="$(mktemp -d "$out/.images.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# docker_save NAME TAG ROOTFS CONFIG_JSON_WITHOUT_ROOTFS -> $out/NAME.tar
docker_save() {
  local name="$1" tag="$2" rootfs="$3" config="$4" dir="$work/$1" layer diff cfg_sha
  mkdir -p "$dir/layer"
  (cd "$rootfs" && tar --numeric-owner --owner=0 --group=0 --mtime=@0 --sort=name \
    -cf "$dir/layer/layer.tar" -- *)
  diff="$(sha256sum "$dir/layer/layer.tar" | cut -d' ' -f1)"
  layer="$diff/layer.tar"
  mv "$dir/layer" "$dir/$diff"
  printf '%s' "${config%\}}, \"rootfs\": {\"type\": \"layers\", \"diff_ids\": [\"sha256:$diff\"]}}" \
    >"$dir/config.json"
  cfg_sha="$(sha256sum "$dir/config.json" | cut -d' ' -f1)"
  mv "$dir/config.json" "$dir/$cfg_sha.json"
  printf '[{"Config": "%s.json", "RepoTags": ["%s"], "Layers": ["%s"]}]\n' \
    "$cfg_sha" "$tag" "$layer" >"$dir/manifest.json"
  (cd "$dir" && tar --numeric-owner --owner=0 --group=0 --mtime=@0 \
    -cf "$out/$name.tar.tmp" manifest.json "$cfg_sha.json" "$layer")
  mv -f "$out/$name.tar.tmp" "$out/$name.tar"
}

# --- pause -------------------------------------------------------------------
mkdir -p "$work/pause-root"
gcc -static -Os -s -Wall -Wextra -Werror -o "$work/pause-root/pause" "$here/pause.c"
docker_save pause registry.k8s.io/pause:3.10 "$work/pause-root" \
  "{\"architecture\": \"$arch\", \"os\": \"linux\", \"config\": {\"Entrypoint\": [\"/pause\"]}}"

# --- busybox -----------------------------------------------------------------
root="$work/busybox-root"
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev"
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [[ "$applet" == busybox || "$applet" == */* ]] || ln -sf busybox "$root/bin/$applet"
done
docker_save busybox local/busybox:1 "$root" \
  "{\"architecture\": \"$arch\", \"os\": \"linux\", \"config\": {\"Env\": [\"PATH=/bin\"], \"Cmd\": [\"sh\"]}}"

echo "images.sh: $out/pause.tar (registry.k8s.io/pause:3.10), $out/busybox.tar (local/busybox:1)" >&2
