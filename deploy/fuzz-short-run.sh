#!/usr/bin/env bash
# A short libFuzzer run of every fuzz target in fuzz/ (CI runs it; anyone can).
#
#   deploy/fuzz-short-run.sh [SECONDS]     # default 20 seconds per target
#   deploy/fuzz-short-run.sh --build-only  # only build the targets (CI starts
#                                          # this early, in the background)
#
# It builds the targets on the stable toolchain with `cargo fuzz` and no
# sanitizer (`--sanitizer none`: coverage-guided libFuzzer, panics and
# timeouts found, no AddressSanitizer, which needs nightly), unoptimised
# (`--dev`, which builds in about half the time of a release build), in
# `fuzz/target/`. Then each target runs for SECONDS on a scratch copy of its
# corpus, `fuzz/corpus/<target>/`, so the clone is not written to. A panic, an
# invariant failure, a timeout (an input over 20 s) or running out of memory
# fails the script; the input is saved under `fuzz/artifacts/<target>/`, and
# the last lines of libFuzzer's report name it.
#
# The long runs (10 million executions per target, nightly, AddressSanitizer)
# are run by hand: docs/testing.md, "Fuzzing".
set -euo pipefail
cd "$(dirname "$0")/.."
build_only=false
if [[ "${1:-}" == "--build-only" ]]; then
    build_only=true
    shift
fi
seconds="${1:-20}"
cargo_fuzz=$(deploy/install-cargo-fuzz.sh)
cd fuzz
echo "building the fuzz targets: cargo fuzz build --sanitizer none --dev"
"$cargo_fuzz" fuzz build --sanitizer none --dev
if $build_only; then
    exit 0
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in $("$cargo_fuzz" fuzz list); do
    mkdir -p "$scratch/$target"
    log="$scratch/$target.log"
    if "$cargo_fuzz" fuzz run --sanitizer none --dev "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
        echo "fuzz $target: $runs executions in ${seconds}s, no failure"
    else
        echo "fuzz $target: FAILED; the end of libFuzzer's report:"
        tail -n 40 "$log"
        failed+=("$target")
    fi
done
if (( ${#failed[@]} )); then
    echo "fuzz targets that failed: ${failed[*]} (inputs in fuzz/artifacts/<target>/)" >&2
    exit 1
fi
