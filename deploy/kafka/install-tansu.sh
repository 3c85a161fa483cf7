#!/usr/bin/env bash
# Install the tansu Kafka-protocol broker (Rust, Apache-2.0, from crates.io)
# into a cache directory outside the clone, once per machine, and print the
# path of its binary. Used by the Kafka tests, by .ci/run and by
# start-broker.sh. No Docker, no internet beyond crates.io.
#
#   deploy/kafka/install-tansu.sh          # install if missing, print the binary path
#   deploy/kafka/install-tansu.sh --path   # only print where the binary is (or would be)
#
# FLOODLIGHT_CACHE (default ~/.cache/floodlight) chooses where it goes.
# Why tansu, and why its SQLite (libsql) storage rather than the in-memory one:
# see docs/kafka.md.
set -euo pipefail
version=0.6.0
source "$(dirname "${BASH_SOURCE[0]}")/../cache.sh"
features=libsql
root="$cache/tansu-$version-$features"
bin="$root/bin/tansu"
if [[ "${1:-}" == "--path" ]]; then
    echo "$bin"
    exit 0
fi
# A second caller waits for the first and then finds the binary.
lock_cache "tansu-$version"
if [[ ! -x "$bin" ]]; then
    echo "installing tansu $version into $root (about 20 minutes on 2 cores, once)" >&2
    mkdir -p "$root"
    CARGO_TARGET_DIR="$cache/tansu-build" cargo install tansu --version "$version" --locked \
        --features "$features" --root "$root" >&2
    rm -rf "$cache/tansu-build"
fi
echo "$bin"
