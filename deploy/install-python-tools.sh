#!/usr/bin/env bash
# Install the Python tools the integration tests run (from PyPI) into a
# virtualenv in a cache directory outside the clone, once per machine, and
# print the virtualenv's bin directory:
#   moto_server   moto[server], an S3-compatible server on loopback (Apache-2.0)
#   schemathesis  property-based testing of an OpenAPI API (MIT)
#   aiosmtpd      an SMTP server on loopback, for the nudge e-mail tests
#                 (nudge/tests/support/smtp_sink.py) (Apache-2.0)
#
#   deploy/install-python-tools.sh          # install if missing, print the bin directory
#   deploy/install-python-tools.sh --path   # only print where the bin directory is (or would be)
#
# FLOODLIGHT_CACHE (default ~/.cache/floodlight) chooses where it goes. The
# pins are part of the directory's name, so changing one installs afresh.
set -euo pipefail
moto_version=5.2.5
schemathesis_version=4.32.5
aiosmtpd_version=1.4.6
cache="${FLOODLIGHT_CACHE:-$HOME/.cache/floodlight}"
tag="moto-$moto_version-schemathesis-$schemathesis_version-aiosmtpd-$aiosmtpd_version"
root="$cache/pytools-$tag"
bin="$root/bin"
# Written last, after a successful install: without it the venv is incomplete.
marker="$root/.installed"
if [[ "${1:-}" == "--path" ]]; then
    echo "$bin"
    exit 0
fi
mkdir -p "$cache"
# One install at a time: a second caller waits for the first and then finds
# the tools.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$cache/pytools-$tag.lock"
    flock 9
fi
# Already installed, and the interpreter it was made from is still there.
if [[ -f "$marker" && -x "$bin/moto_server" && -x "$bin/schemathesis" && -x "$bin/aiosmtpd" ]] && "$bin/python" -c '' 2>/dev/null; then
    echo "$bin"
    exit 0
fi

make_venv() {
    rm -rf "$root"
    python3 -m venv "$root" >&2
}

echo "installing moto[server] $moto_version, schemathesis $schemathesis_version and aiosmtpd $aiosmtpd_version into $root (about a minute, once)" >&2
if ! make_venv; then
    # Debian's python3 comes without venv/ensurepip: that is python3-venv.
    if command -v apt-get >/dev/null 2>&1; then
        echo "python3 -m venv failed: installing Debian's python3-venv and retrying" >&2
        sudo_=""; [[ $(id -u) -eq 0 ]] || sudo_=sudo
        $sudo_ apt-get update -qq >&2 && $sudo_ apt-get install -y -qq python3-venv >&2
        make_venv
    else
        echo "python3 -m venv failed, and there is no apt-get to install python3-venv with" >&2
        exit 1
    fi
fi
"$bin/python" -m pip install --quiet --disable-pip-version-check \
    "moto[server]==$moto_version" "schemathesis==$schemathesis_version" "aiosmtpd==$aiosmtpd_version" >&2
touch "$marker"
echo "$bin"
