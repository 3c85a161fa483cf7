#!/usr/bin/env bash
# Install cargo-deny (Rust, MIT OR Apache-2.0, from crates.io) into a cache
# directory outside the clone, once per machine, and print the path of its
# binary. Used by deploy/check-supply-chain.sh and .ci/run. No internet
# beyond crates.io.
#
#   deploy/install-cargo-deny.sh          # install if missing, print the binary path
#   deploy/install-cargo-deny.sh --path   # only print where the binary is (or would be)
#
# FLOODLIGHT_CACHE (default ~/.cache/floodlight) chooses where it goes.
# Pinned, so that every machine checks with the same rules (deny.toml's
# format changes between cargo-deny releases). 0.20 needs Rust 1.88 to build.
# No features to choose: this release fetches the advisory database with the
# `git` command line (releases before 0.19.1 bundled gix and an HTTP/TLS stack),
# which keeps the build small. What the checks are: docs/testing.md.
set -euo pipefail
version=0.20.2
source "$(dirname "${BASH_SOURCE[0]}")/cache.sh"
root="$cache/cargo-deny-$version"
bin="$root/bin/cargo-deny"
if [[ "${1:-}" == "--path" ]]; then
    echo "$bin"
    exit 0
fi
# A second caller waits for the first and then finds the binary.
lock_cache "cargo-deny-$version"
if [[ ! -x "$bin" ]]; then
    echo "installing cargo-deny $version into $root (a few minutes on 2 cores, once)" >&2
    mkdir -p "$root"
    CARGO_TARGET_DIR="$cache/cargo-deny-build" cargo install cargo-deny --version "$version" --locked \
        --root "$root" >&2
    rm -rf "$cache/cargo-deny-build"
fi
echo "$bin"
