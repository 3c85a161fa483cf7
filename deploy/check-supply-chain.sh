#!/usr/bin/env bash
# Supply-chain checks of floodlight's dependency tree (Cargo.lock) with
# cargo-deny, configured by deny.toml at the repository root:
#
#   licenses  every crate's licence is in deny.toml's allowed list
#   bans      no new duplicate major versions, no banned crates
#   sources   every crate comes from crates.io
#   advisories  no crate with a RustSec security advisory, none yanked, no
#               direct dependency unmaintained or unsound
#
# The first three need only Cargo.lock and crates.io's crate files and must
# pass. The advisories need the RustSec database, cloned from github.com:
# when it cannot be fetched, this says so in one line and does not fail;
# when it can, they must pass too. Exits non-zero on any failed check.
#
#   deploy/check-supply-chain.sh
#
# cargo-deny comes from deploy/install-cargo-deny.sh (installed on first use,
# a few minutes). What each check guarantees: "Supply chain" in docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
deny=$(deploy/install-cargo-deny.sh)
# cargo-deny's default database (deny.toml does not change it).
advisory_db=https://github.com/rustsec/advisory-db

# --locked: check Cargo.lock as committed; fail rather than update it.
"$deny" --locked check licenses bans sources

# cargo-deny fetches the database with the git command line.
if ! command -v git >/dev/null 2>&1; then
    echo "advisories: NOT checked — git is not installed, and cargo-deny fetches the advisory database with it"
    exit 0
fi
# Is github.com reachable at all? A quick probe, so that a machine without it
# does not wait for cargo-deny's clone to give up.
if ! timeout 20 git ls-remote --heads "$advisory_db" main >/dev/null 2>&1; then
    echo "advisories: NOT checked — the advisory database (github.com/rustsec/advisory-db) is unreachable from this machine"
    exit 0
fi

# cargo-deny exits 1 both when an advisory is found and when it cannot fetch
# the database, so its output tells them apart: a failed fetch is reported as
# "failed to fetch advisory database". git gives up on a transfer slower than
# 1 KB/s for 30 s, and the whole check is bounded (exit 124 from timeout).
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
GIT_HTTP_LOW_SPEED_LIMIT=1000 GIT_HTTP_LOW_SPEED_TIME=30 \
    timeout 600 "$deny" --locked check advisories >"$log" 2>&1 || rc=$?
cat "$log"
if [[ $rc -eq 0 ]]; then
    exit 0
fi
if [[ $rc -eq 124 ]] || grep -q "failed to fetch advisory database" "$log"; then
    echo "advisories: NOT checked — the advisory database (github.com/rustsec/advisory-db) could not be fetched (see above)"
    exit 0
fi
echo "advisories: FAILED (exit $rc)" >&2
exit "$rc"
