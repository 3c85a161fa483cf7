#!/usr/bin/env bash
# Install Debian bookworm's kubectl (package kubernetes-client, kubectl
# v1.20.2 with its built-in kustomize, an old v2-era kustomize) into a cache
# directory outside the clone, once per machine, and print the path of the
# binary. tests/deploy_manifests.rs renders deploy/kubernetes/ with it, so the
# manifests keep working with the oldest `kubectl kustomize` an SRE is likely
# to have. The package is downloaded with `apt-get download` and unpacked with
# `dpkg -x`: never installed, so it cannot conflict with another kubectl
# (Google's, a snap, the Kubernetes project's packages) on the machine.
#
#   deploy/install-kubectl.sh          # install if missing, print the binary path
#   deploy/install-kubectl.sh --path   # only print where the binary is (or would be)
#
# FLOODLIGHT_CACHE (default ~/.cache/floodlight) chooses where it goes. The
# directory is named after kubectl's own version; Debian security updates of
# the package (1.20.5+really1.20.2-1.1+deb12uN) keep that version, and the
# package version actually unpacked is written to deb-version beside the binary.
set -euo pipefail
version=1.20.2
package=kubernetes-client
source "$(dirname "${BASH_SOURCE[0]}")/cache.sh"
root="$cache/kubectl-$version"
bin="$root/usr/bin/kubectl"
# Written last, after the binary ran and reported the expected version.
marker="$root/.installed"
if [[ "${1:-}" == "--path" ]]; then
    echo "$bin"
    exit 0
fi
# A second caller waits for the first and then finds the binary.
lock_cache "kubectl-$version"
if [[ -f "$marker" && -x "$bin" ]]; then
    echo "$bin"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
    echo "install-kubectl: needs apt-get and dpkg (Debian bookworm's $package package)" >&2
    exit 1
fi

candidate() { apt-cache policy "$package" 2>/dev/null | awk '/Candidate:/ {print $2}'; }
if [[ -z "$(candidate)" || "$(candidate)" == "(none)" ]]; then
    # No package lists yet (a fresh machine or container): fetch them.
    sudo_=""
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || { echo "install-kubectl: no package lists, and no root or sudo for apt-get update" >&2; exit 1; }
        sudo_=sudo
    fi
    echo "install-kubectl: no candidate for $package: running apt-get update" >&2
    $sudo_ apt-get update -qq >&2
fi
deb_version="$(candidate)"
if [[ -z "$deb_version" || "$deb_version" == "(none)" ]]; then
    echo "install-kubectl: Debian's $package is not available here (it is in bookworm; later releases dropped it)" >&2
    exit 1
fi
if [[ "$deb_version" != *"$version"* ]]; then
    echo "install-kubectl: the $package candidate is $deb_version, not kubectl $version (this script expects Debian bookworm)" >&2
    exit 1
fi

echo "installing kubectl $version from Debian's $package $deb_version into $root (unpacked, not installed)" >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# apt drops privileges to _apt for downloads; let it write here.
chmod 0777 "$work"
(cd "$work" && apt-get download -q "$package=$deb_version" >&2)
rm -rf "$root"
mkdir -p "$root"
dpkg -x "$work"/"$package"_*.deb "$root"
got="$("$bin" version --client 2>&1 || true)"
if [[ "$got" != *"GitVersion:\"v$version\""* ]]; then
    echo "install-kubectl: $bin does not report v$version: $got" >&2
    exit 1
fi
echo "$deb_version" >"$root/deb-version"
touch "$marker"
echo "$bin"
