#!/usr/bin/env bash
# Runs every fuzz target for a fixed time (ATTUNE_FUZZ_SECONDS, default 60 each), seeded from
# the fixture repositories. Needs a nightly toolchain (libFuzzer's instrumentation) and
# cargo-fuzz, which it installs from crates.io when missing. A crash fails the run; its input
# is printed (base64) and kept under fuzz/artifacts/, which git ignores.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${ATTUNE_FUZZ_SECONDS:-60}
cargo_fuzz_version=0.13.2
targets=(span_editor inline_patch parse)

if ! cargo +nightly --version >/dev/null 2>&1; then
  cat >&2 <<'EOF'
fuzz/run-ci.sh: no nightly Rust toolchain here, and fuzzing needs one (libFuzzer's
instrumentation uses -Z flags). Install it with `rustup toolchain install nightly` on a machine
that can reach the Rust toolchain servers (a machine that cannot, cannot fuzz), or skip this
step with ATTUNE_FUZZ_SECONDS=0.
EOF
  [[ "$seconds" == 0 ]] && exit 0
  exit 1
fi
if [[ "$seconds" == 0 ]]; then
  echo "fuzz/run-ci.sh: ATTUNE_FUZZ_SECONDS=0, skipped"
  exit 0
fi
if ! cargo fuzz --version 2>/dev/null | grep -q "$cargo_fuzz_version"; then
  echo "installing cargo-fuzz $cargo_fuzz_version"
  cargo install --quiet --locked cargo-fuzz --version "$cargo_fuzz_version"
fi

# Seed corpora (git-ignored) from the fixtures: the parse target takes a file as it is, the
# editors a no-op program byte or a cpu+memory program, then the file.
shopt -s globstar nullglob
for t in "${targets[@]}"; do mkdir -p "corpus/$t" "artifacts/$t"; done
for f in ../fixtures/**/*.yaml ../fixtures/**/*.yml; do
  h=$(sha1sum "$f" | cut -c1-16)
  cp "$f" "corpus/parse/$h"
  { printf '\000'; cat "$f"; } >"corpus/span_editor/$h-none"
  { printf '\002\004\000\000\014\010\004'; cat "$f"; } >"corpus/span_editor/$h-cpu-mem"
  { printf '\000\002\004\000\000\014\010\004'; cat "$f"; } >"corpus/inline_patch/$h-cpu-mem"
done

started=$SECONDS
echo "building the fuzz targets (nightly, instrumented)"
cargo +nightly fuzz build 2>&1 | tail -n 3
echo "built in $((SECONDS - started)) s"

failed=()
for t in "${targets[@]}"; do
  echo "fuzzing $t for ${seconds} s"
  if ! cargo +nightly fuzz run "$t" "corpus/$t" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="artifacts/$t/" >"artifacts/$t.log" 2>&1; then
    failed+=("$t")
    tail -n 40 "artifacts/$t.log"
    for a in "artifacts/$t"/*; do
      echo "crash input $a (base64; reproduce with: cargo +nightly fuzz run $t FILE):"
      base64 -w 0 "$a"
      echo
    done
  else
    grep -h 'stat::number_of_executed_units\|cov:' "artifacts/$t.log" | tail -n 2
  fi
done
echo "fuzzing took $((SECONDS - started)) s in all"
if ((${#failed[@]})); then
  echo "fuzz/run-ci.sh: ${failed[*]} found a failing input" >&2
  exit 1
fi
