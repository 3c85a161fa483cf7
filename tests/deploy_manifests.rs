//! The deployment, checked offline: `deploy/check-manifests.py` renders
//! `deploy/kubernetes/` (the base and both overlays) with Debian bookworm's
//! kubectl 1.20 (an old, v2-era kustomize) and, when there is one on `PATH`,
//! with the machine's own kubectl (kustomize v5), and requires both to render
//! the same objects; validates every object against the Kubernetes schemas
//! (kubernetes-validate, strict) and the KEDA / Prometheus-operator custom
//! resources against their CRDs (`tests/data/k8s-crds/`); checks the
//! invariants an SRE relies on; checks `deploy/prometheus/alerts.yaml`; runs
//! each overlay's config through `floodlight validate` (this binary) in an
//! emulated pod; and lints the Dockerfile with hadolint.
//!
//! Not covered, because there is no container engine and no cluster here:
//! building or running the image, applying the manifests, KEDA or Prometheus
//! acting on them (deploy/kubernetes/README.md).
//!
//! Needs kubectl from `deploy/install-kubectl.sh` (or `FLOODLIGHT_KUBECTL`)
//! and the Python tools from `deploy/install-python-tools.sh`; both are
//! installed by `deploy/install-test-tools.sh`, which the README's test
//! command runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What an install script's `--path` prints: where its tool is (or would be).
fn installed(script: &str) -> PathBuf {
    let script = repo().join(script);
    let out = Command::new(&script).arg("--path").output().unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
    assert!(out.status.success(), "{} --path failed: {}", script.display(), String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The virtualenv's python, with kubernetes-validate, jsonschema, PyYAML and hadolint.
fn python() -> PathBuf {
    let bin = installed("deploy/install-python-tools.sh");
    for tool in ["python", "kubernetes-validate", "hadolint"] {
        assert!(
            bin.join(tool).exists(),
            "{tool} is not installed in {}: run deploy/install-python-tools.sh \
             (deploy/install-test-tools.sh, in the README's test command, does)",
            bin.display()
        );
    }
    bin.join("python")
}

/// Debian's kubectl 1.20 (kustomize v2.0.3), or `FLOODLIGHT_KUBECTL`.
fn old_kubectl() -> PathBuf {
    let path = match std::env::var_os("FLOODLIGHT_KUBECTL") {
        Some(p) => PathBuf::from(p),
        None => installed("deploy/install-kubectl.sh"),
    };
    assert!(
        path.exists(),
        "kubectl is not installed at {}: run deploy/install-kubectl.sh (deploy/install-test-tools.sh does), \
         or set FLOODLIGHT_KUBECTL",
        path.display()
    );
    path
}

/// A kubectl on `PATH` whose `kustomize` works, if it is not the one above:
/// a modern kustomize to render with as well. CI machines may have none.
fn path_kubectl(other: &Path) -> Option<PathBuf> {
    let found = std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join("kubectl")).find(|p| p.is_file())?;
    if found.canonicalize().ok()? == other.canonicalize().ok()? {
        return None;
    }
    let works = Command::new(&found).args(["kustomize", "--help"]).output().is_ok_and(|o| o.status.success());
    works.then_some(found)
}

fn check(root: &Path, extra: &[&str]) -> Output {
    let kubectl = old_kubectl();
    let mut cmd = Command::new(python());
    cmd.arg(repo().join("deploy/check-manifests.py")).arg("--root").arg(root).arg("--kubectl").arg(&kubectl);
    if let Some(modern) = path_kubectl(&kubectl) {
        cmd.arg("--kubectl").arg(modern);
    }
    cmd.args(extra).env("NO_COLOR", "1").output().expect("run deploy/check-manifests.py")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn manifests_render_validate_and_hold_their_invariants() {
    let out = check(&repo(), &["--floodlight", env!("CARGO_BIN_EXE_floodlight")]);
    let report = text(&out);
    assert!(out.status.success(), "deploy/check-manifests.py failed:\n{report}");
    // Every kind of check ran; none was skipped for want of a tool.
    for check in
        ["[render]", "[schema]", "[crd-schema]", "[invariants]", "[alerts]", "[validate]", "[hadolint]", "[image]"]
    {
        assert!(report.contains(&format!("ok   {check}")), "no passing {check} check in:\n{report}");
    }
    assert!(!report.contains("skip [validate]"), "the configs were not validated:\n{report}");
}

/// Copies what the checker reads into a scratch repository.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

fn edit(path: &Path, from: &str, to: &str) {
    let old = std::fs::read_to_string(path).expect("read");
    assert!(old.contains(from), "{} has no `{from}`", path.display());
    std::fs::write(path, old.replacen(from, to, 1)).expect("write");
}

#[test]
fn broken_manifests_fail_naming_each_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    for part in ["deploy/kubernetes", "deploy/prometheus", "tests/data/k8s-crds"] {
        copy_tree(&repo().join(part), &root.join(part));
    }
    let k8s = root.join("deploy/kubernetes");
    // The main container may write its root filesystem.
    edit(&k8s.join("base/deployment.yaml"), "          readOnlyRootFilesystem: true\n", "");
    // More consumers than partitions.
    edit(&k8s.join("overlays/kafka/scaledobject.yaml"), "maxReplicaCount: 12", "maxReplicaCount: 16");
    // A drain that outlasts the grace period.
    edit(&k8s.join("overlays/kafka/floodlight.toml"), "drain_timeout = \"45s\"", "drain_timeout = \"90s\"");
    // The admin port behind the API Service.
    edit(
        &k8s.join("base/service-api.yaml"),
        "    targetPort: http\n",
        "    targetPort: http\n    protocol: TCP\n  - name: admin\n    port: 9598\n    targetPort: admin\n",
    );
    // An alert on a metric floodlight does not export, only in alerts.yaml.
    edit(&root.join("deploy/prometheus/alerts.yaml"), "expr: floodlight_ready == 0", "expr: floodlight_readiness == 0");

    let out = check(root, &["--skip", "hadolint", "--skip", "image", "--skip", "validate"]);
    let report = text(&out);
    assert!(!out.status.success(), "the checker passed broken manifests:\n{report}");
    for expected in [
        "container floodlight: readOnlyRootFilesystem: readOnlyRootFilesystem must be true",
        "maxReplicaCount 16 exceeds the 12 partitions",
        "terminationGracePeriodSeconds: 60 s must exceed [runtime] drain_timeout (90 s)",
        "admin port only on the metrics Service",
        "alert FloodlightNotReady: metric names: not exported by floodlight: floodlight_readiness",
        "base PrometheusRule equals deploy/prometheus/alerts.yaml: they differ",
    ] {
        assert!(report.contains(expected), "the report does not say `{expected}`:\n{report}");
    }
    // The single overlay's checks that were not broken still pass.
    assert!(report.contains("ok   [invariants] overlays/single: one replica, Recreate"), "{report}");
}
