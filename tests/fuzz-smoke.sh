#!/usr/bin/env bash
# Short fuzzing smoke run for CI: builds every cargo-fuzz target and runs each one for a few
# seconds from its seed corpus (fuzz/corpus/<target>). Fails when a target crashes (the
# reproducer is left in fuzz/artifacts/<target>/); skips cleanly, with exit 0, when the nightly
# toolchain or cargo-fuzz is missing.
#
#   tests/fuzz-smoke.sh                        # 20 s per target
#   FUZZ_SMOKE_SECONDS=60 tests/fuzz-smoke.sh  # longer
#   tests/fuzz-smoke.sh parse_policy           # only some targets
#
# The tracked corpus is only read: inputs found during the run go to a temporary directory.
# Long runs: `cargo +nightly fuzz run <target> -- -max_total_time=600`, then `cargo fuzz cmin`.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SMOKE_SECONDS:-20}"

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz-smoke: skipped: the nightly toolchain is not installed (rustup toolchain install nightly)"
  exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz-smoke: skipped: cargo-fuzz is not installed (cargo install cargo-fuzz --locked)"
  exit 0
fi

started=$(date +%s)
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

echo "==> cargo +nightly fuzz build (${targets[*]})"
cargo +nightly fuzz build -O

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

for target in "${targets[@]}"; do
  echo "==> fuzz $target for ${seconds}s"
  mkdir -p "$scratch/$target" "fuzz/corpus/$target"
  log="$scratch/$target.log"
  # New inputs go to the first corpus directory (the scratch one); the seeds are read only.
  if ! cargo +nightly fuzz run -O "$target" "$scratch/$target" "fuzz/corpus/$target" -- \
      -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz-smoke: $target FAILED; reproducer in fuzz/artifacts/$target/"
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)
  echo "    ok: ${runs:-?} executions"
done

echo "fuzz-smoke: ${#targets[@]} targets passed in $(($(date +%s) - started))s"
