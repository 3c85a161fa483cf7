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
source "$(dirname "${BASH_SOURCE[0]}")/cache.sh"
install_crate cargo-fuzz 0.13.2 "$@"
