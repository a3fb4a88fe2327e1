#!/usr/bin/env bash
# The `mermaid` parser from the npm registry, for the pull-request chart test
# (tests/it/pr_evidence.rs): the Mermaid blocks Attune writes into PR bodies must parse as
# GitHub's and Gitea's renderer parse them.
#
#   tests/tools/mermaid.sh    install mermaid and jsdom (cached, keyed by version; a no-op when
#                             present), write check.mjs, and print ATTUNE_MERMAID=<check.mjs>
#
# `node check.mjs FILE…` parses each file as one Mermaid diagram and prints `ok TYPE` or
# `error MESSAGE` per file; it exits 1 when any fails. jsdom stands in for the browser DOM the
# parser's sanitizer needs; no browser is downloaded (npm runs no install scripts here).
# Environment: ATTUNE_CI_CACHE (default ~/.cache/attune-ci). Progress lines go to stderr,
# prefixed `mermaid.sh:`.
set -euo pipefail

MERMAID_VERSION=12.4.0
JSDOM_VERSION=26.1.0
cache="${ATTUNE_CI_CACHE:-$HOME/.cache/attune-ci}"
dir="$cache/mermaid-$MERMAID_VERSION"

log() { printf 'mermaid.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v node >/dev/null || die "node not on PATH (Debian: apt-get install nodejs npm)"
mkdir -p "$cache"
exec 7>"$cache/mermaid-$MERMAID_VERSION.lock"
flock 7
if [[ -f "$dir/node_modules/mermaid/package.json" && -f "$dir/node_modules/jsdom/package.json" ]]; then
  log "cached $dir"
else
  command -v npm >/dev/null || die "npm not on PATH (Debian: apt-get install npm)"
  tmp="$dir.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  printf '{"private": true}\n' >"$tmp/package.json"
  log "installing mermaid@$MERMAID_VERSION and jsdom@$JSDOM_VERSION from the npm registry"
  (cd "$tmp" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error \
    "mermaid@$MERMAID_VERSION" "jsdom@$JSDOM_VERSION" >&2) ||
    die "npm install failed (is the registry reachable? npm config get registry)"
  rm -rf "$dir"
  mv "$tmp" "$dir"
fi
cat >"$dir/check.mjs.tmp" <<'JS'
// Parses each file named on the command line as one Mermaid diagram.
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });
let failed = 0;
for (const file of process.argv.slice(2)) {
  try {
    const result = await mermaid.parse(readFileSync(file, 'utf8'));
    console.log(`ok ${result.diagramType}`);
  } catch (e) {
    failed += 1;
    console.log(`error ${String(e.message ?? e).replace(/\s+/g, ' ')}`);
  }
}
process.exit(failed ? 1 : 0);
JS
mv -f "$dir/check.mjs.tmp" "$dir/check.mjs"
node "$dir/check.mjs" /dev/stdin <<<$'xychart-beta\n  x-axis [a, b]\n  bar [1, 2]' | grep -qx 'ok xychart' ||
  die "the parser in $dir does not run"
echo "ATTUNE_MERMAID=$dir/check.mjs"
