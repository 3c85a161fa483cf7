#!/usr/bin/env bash
# Install the Debian packages the integration tests run, once per machine:
#   postgresql                  the console's triage store is tested against a
#                               real PostgreSQL server (each test run starts its
#                               own, on loopback, in a temporary directory)
#   chromium, chromium-driver   the console's browser tests drive headless
#                               Chromium through ChromeDriver (WebDriver)
#   fonts-dejavu-core           a font for Chromium to draw the pages with
#   stunnel4                    the Kafka security test puts TLS (server and
#                               client certificates) in front of the tansu
#                               broker, which does not terminate TLS itself
#   openssl                     the same test makes its CA and certificates
#                               with the `openssl` command
#
# Needs root (or sudo) when a package is missing; does nothing when all of
# them are there. Progress goes to stderr.
set -euo pipefail
packages=(postgresql chromium chromium-driver fonts-dejavu-core stunnel4 openssl)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-packages: missing ${missing[*]}, and this is not a Debian-like system; install them by hand" >&2
    exit 1
fi
sudo_=""
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-system-packages: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo_=sudo
fi
# One install at a time (CI starts one in the background while it compiles).
source "$(dirname "${BASH_SOURCE[0]}")/cache.sh"
lock_cache system-packages
echo "installing ${missing[*]} from Debian's packages" >&2
$sudo_ apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
