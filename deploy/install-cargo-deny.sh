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
source "$(dirname "${BASH_SOURCE[0]}")/cache.sh"
install_crate cargo-deny 0.20.2 "$@"
