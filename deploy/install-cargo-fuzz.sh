#!/usr/bin/env bash
# Install cargo-fuzz (Rust, MIT OR Apache-2.0, from crates.io) into a cache
# directory outside the clone, once per machine, and print the path of its
# binary. Used by deploy/fuzz-short-run.sh (CI's short libFuzzer run) and by
# hand for the long runs (docs/testing.md, "Fuzzing"). No internet beyond
# crates.io.
#
#   deploy/install-cargo-fuzz.sh          # install if missing, print the binary path
#   deploy/install-cargo-fuzz.sh --path   # only print where the binary is (or would be)
#
# FLOODLIGHT_CACHE (default ~/.cache/floodlight) chooses where it goes.
# Pinned, so that every machine builds the targets with the same flags.
set -euo pipefail
version=0.13.2
source "$(dirname "${BASH_SOURCE[0]}")/cache.sh"
root="$cache/cargo-fuzz-$version"
bin="$root/bin/cargo-fuzz"
if [[ "${1:-}" == "--path" ]]; then
    echo "$bin"
    exit 0
fi
# A second caller waits for the first and then finds the binary.
lock_cache "cargo-fuzz-$version"
if [[ ! -x "$bin" ]]; then
    echo "installing cargo-fuzz $version into $root (a minute or two, once)" >&2
    mkdir -p "$root"
    CARGO_TARGET_DIR="$cache/cargo-fuzz-build" cargo install cargo-fuzz --version "$version" --locked \
        --root "$root" >&2
    rm -rf "$cache/cargo-fuzz-build"
fi
echo "$bin"
