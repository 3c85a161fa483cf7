#!/usr/bin/env python3
"""Offline checks of floodlight's image and Kubernetes deployment.

Run it with the Python of the test tools' virtualenv
(deploy/install-python-tools.sh prints its bin directory), which has
kubernetes-validate, jsonschema, PyYAML and hadolint:

    bin=$(deploy/install-python-tools.sh)
    "$bin/python" deploy/check-manifests.py \\
        --kubectl "$(deploy/install-kubectl.sh)" [--kubectl kubectl] \\
        [--floodlight target/debug/floodlight]

What it checks, each failure printed as `FAIL [check] what: why`:

  render      `kubectl kustomize` of the base and of each overlay, with every
              --kubectl given (the first is the reference); every kubectl must
              render the same objects (ignoring order, generated-name hashes
              and the order of lists keyed by name).
  schema      every built-in object against the Kubernetes JSON schemas that
              kubernetes-validate bundles, strict (unknown fields fail), for
              --kubernetes-version.
  crd-schema  every ScaledObject, TriggerAuthentication, ServiceMonitor and
              PrometheusRule against the openAPIV3Schema of the CRD copied to
              tests/data/k8s-crds/, strict as well; a custom resource without
              a CRD there fails.
  invariants  what an SRE looks for (see check_overlay): security contexts,
              resources, probes on the admin port, the grace period against
              [runtime] drain_timeout, no admin port behind the API Service,
              KEDA against the partition count and the config, writable
              paths on volumes, env for every ${VAR}, references, network
              policy, images.
  alerts      deploy/prometheus/alerts.yaml: labels, annotations, runbook
              links, only floodlight's metric names; and the PrometheusRule's
              groups equal to it.
  validate    `floodlight validate --config` on each overlay's config inside
              an emulated pod: its volumes laid out as kubelet does (ConfigMap
              and Secret volumes with their ..data symlinks), its env as the
              container gets it (secret values are the example Secrets'
              placeholders), its init containers' shell scripts run with the
              paths moved into a temporary directory. Skipped, with a message,
              without --floodlight.
  hadolint    the Dockerfile, no finding at any level.
  image       every include_str!/include_bytes!/include_dir! target of the
              crates' sources is in the image's build context (.dockerignore).

--sync-alerts rewrites deploy/kubernetes/base/prometheusrule.yaml from
deploy/prometheus/alerts.yaml and exits.

Exit 0 when every check passed, 1 otherwise, 2 on a usage error.
"""

import argparse
import base64
import copy
import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python < 3.11
    sys.exit("check-manifests.py needs Python 3.11 or later (tomllib)")

try:
    import jsonschema
    import kubernetes_validate
    import yaml
except ImportError as e:
    sys.exit(f"check-manifests.py: {e}: run it with the Python of deploy/install-python-tools.sh's virtualenv")

# This script's repository (the one whose code the manifests deploy).
ROOT = Path(__file__).resolve().parent.parent
OVERLAYS = ["single", "kafka"]
ADMIN_PORT_NAME = "admin"
# runtime::DRAIN_MARGIN: how long after drain_timeout the process may still take to exit.
DRAIN_MARGIN = 5.0
MAIN_CONTAINER = "floodlight"
PARTITIONS_ANNOTATION = "floodlight.dev/partitions"
# Paths the image provides (Dockerfile), and where they are in the repository.
IMAGE_PATHS = {"/usr/share/floodlight/queries": "queries"}
RUNBOOK = re.compile(r"^https://github\.com/floodlight-sec/floodlight/blob/main/docs/operations\.md#[a-z0-9][a-z0-9-]*$")
# The metrics floodlight exports (all prefixed floodlight_), read from the
# one place that declares them (`internal_events::prom`), so this list can
# never drift from the code; histograms also have _bucket, _sum and _count
# series.
def exported_metrics():
    source = (ROOT / "pipeline/src/internal_events.rs").read_text()
    start = source.index("pub mod prom {")
    return set(re.findall(r'pub const [A-Z_]+: &str = "(floodlight_[a-z0-9_]+)";', source[start:]))


METRICS = exported_metrics()
HISTOGRAMS = {"floodlight_stage_batch_duration_seconds", "floodlight_rule_duration_seconds"}
# Series Prometheus itself makes for every target.
PROMETHEUS_SERIES = {"up"}
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
    "inf", "nan", "atan2",
}
GENERATED = ("floodlight-config", "floodlight-overlay", "floodlight-rules")
# Custom resources with no CRD schema in tests/data/k8s-crds/ yet: reported
# as not checked instead of failing. Any other unknown kind fails.
UNCHECKED = {("keda.sh/v1alpha1", "TriggerAuthentication")}


class Report:
    def __init__(self):
        self.failures = []
        self.passed = 0

    def ok(self, check, what):
        self.passed += 1
        print(f"ok   [{check}] {what}")

    def fail(self, check, what, why):
        self.failures.append((check, what, why))
        print(f"FAIL [{check}] {what}: {why}")

    def expect(self, cond, check, what, why):
        if cond:
            self.ok(check, what)
        else:
            self.fail(check, what, why)
        return cond

    def skip(self, check, why):
        print(f"skip [{check}] {why}")


# ---------------------------------------------------------------- rendering

def render(kubectl, directory):
    out = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{kubectl} kustomize {directory} failed: {out.stderr.strip()}")
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def kubectl_version(kubectl):
    out = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True)
    m = re.search(r'GitVersion:"(v[^"]+)"', out.stdout) or re.search(r"Client Version: (v\S+)", out.stdout)
    return m.group(1) if m else "unknown version"


def key(obj):
    return (obj.get("kind", ""), obj.get("metadata", {}).get("namespace", ""), obj.get("metadata", {}).get("name", ""))


def normalise(objs):
    """Objects keyed by kind/namespace/name, generated-name hashes removed,
    lists of named items (volumes, env, ports, mounts) sorted by name."""
    text = json.dumps(objs)
    text = re.sub(r"\b(" + "|".join(GENERATED) + r")-[a-z0-9]{10}\b", r"\1-HASH", text)

    def walk(v):
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            v = [walk(x) for x in v]
            if v and all(isinstance(x, dict) and "name" in x for x in v):
                names = [x["name"] for x in v]
                if len(set(names)) == len(names) and not any("image" in x for x in v):
                    v = sorted(v, key=lambda x: x["name"])
            return v
        return v

    return {key(o): walk(o) for o in json.loads(text)}


def first_difference(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                return f"{path}/{k} only in {'the second' if k not in a else 'the first'}"
            d = first_difference(a[k], b[k], f"{path}/{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items against {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {json.dumps(a)[:120]} against {json.dumps(b)[:120]}"


# ------------------------------------------------------------------ schemas

def strict_schema(schema):
    """A CRD's structural schema, made to reject unknown fields like the API
    server's strict field validation: additionalProperties false wherever
    properties are listed and unknown fields are not preserved."""
    s = copy.deepcopy(schema)

    def walk(n):
        if isinstance(n, dict):
            if ("properties" in n and "additionalProperties" not in n
                    and not n.get("x-kubernetes-preserve-unknown-fields")):
                n["additionalProperties"] = False
            for v in n.values():
                walk(v)
        elif isinstance(n, list):
            for v in n:
                walk(v)

    walk(s)
    # metadata is the API server's, not the CRD's, to check.
    s.setdefault("properties", {})["metadata"] = {"type": "object"}
    return s


def load_crds(crd_dir, report):
    crds = {}
    for path in sorted(Path(crd_dir).glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for v in spec.get("versions", []):
                schema = (v.get("schema") or {}).get("openAPIV3Schema") or (spec.get("validation") or {}).get("openAPIV3Schema")
                if schema:
                    crds[(f"{spec['group']}/{v['name']}", spec["names"]["kind"])] = (path.name, strict_schema(schema))
    if not crds:
        report.fail("crd-schema", str(crd_dir), "no CustomResourceDefinition found")
    return crds


def check_schemas(objs, where, version, crds, report):
    for o in objs:
        name = f"{where}: {o.get('kind')}/{o.get('metadata', {}).get('name')}"
        gvk = (o.get("apiVersion"), o.get("kind"))
        if gvk in crds:
            file, schema = crds[gvk]
            errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(o), key=lambda e: list(e.absolute_path))
            report.expect(not errors, "crd-schema", f"{name} against {file}",
                          "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '.'}: {e.message}" for e in errors[:5]))
            continue
        if gvk in UNCHECKED:
            report.skip("crd-schema", f"{name}: no CRD schema in tests/data/k8s-crds/ for {gvk[1]}, not checked")
            continue
        try:
            kubernetes_validate.validate(o, version, strict=True)
            report.ok("schema", f"{name} (Kubernetes {version}, strict)")
        except kubernetes_validate.SchemaNotFoundError:
            report.fail("crd-schema", name, f"{gvk[0]} {gvk[1]} is neither built into Kubernetes {version} "
                        f"nor has a CRD in tests/data/k8s-crds/")
        except kubernetes_validate.ValidationError as e:
            report.fail("schema", name, f"{'/'.join(map(str, e.path)) or '.'}: {e.message}")
        except Exception as e:  # InvalidSchemaError and the like
            report.fail("schema", name, str(e))


# ------------------------------------------------------------------ helpers

def duration_seconds(text):
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", text or "")
    if not m:
        raise ValueError(f"cannot read the duration {text!r}")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]


def by_kind(objs, kind):
    return [o for o in objs if o.get("kind") == kind]


def named(objs, kind, name):
    for o in by_kind(objs, kind):
        if o["metadata"]["name"] == name:
            return o
    return None


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def pod_spec(dep):
    return dep["spec"]["template"]["spec"]


def containers(spec):
    return [("init container", c) for c in spec.get("initContainers", [])] + [("container", c) for c in spec.get("containers", [])]


def config_of(objs, dep, report, where):
    """The floodlight.toml the main container reads (its --config argument,
    resolved through the volume mounts), as text and parsed."""
    main = next((c for c in pod_spec(dep)["containers"] if c["name"] == MAIN_CONTAINER), None)
    if main is None:
        report.fail("invariants", where, f"no container named {MAIN_CONTAINER}")
        return None, None, None
    args = main.get("args", [])
    if "--config" not in args:
        report.fail("invariants", where, "the container has no --config argument")
        return main, None, None
    path = args[args.index("--config") + 1]
    text = file_in_volumes(objs, dep, main, path)
    if text is None:
        report.fail("invariants", where, f"--config {path} is in no ConfigMap volume")
        return main, None, None
    try:
        return main, text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        report.fail("invariants", where, f"{path}: not TOML: {e}")
        return main, text, None


def volume_files(objs, volume):
    """The files of a ConfigMap or Secret volume: relative path -> text."""
    if "configMap" in volume:
        src = named(objs, "ConfigMap", volume["configMap"]["name"])
        data = dict((src or {}).get("data", {}))
    elif "secret" in volume:
        src = named(objs, "Secret", volume["secret"]["secretName"])
        data = {k: base64.b64decode(v).decode() for k, v in (src or {}).get("data", {}).items()}
        data.update((src or {}).get("stringData", {}))
    else:
        return None
    items = (volume.get("configMap") or volume.get("secret")).get("items")
    if items:
        return {i["path"]: data[i["key"]] for i in items if i["key"] in data}
    return data


def file_in_volumes(objs, dep, container, path):
    volumes = {v["name"]: v for v in pod_spec(dep).get("volumes", [])}
    for m in container.get("volumeMounts", []):
        mount = m["mountPath"].rstrip("/") + "/"
        if path.startswith(mount) and m["name"] in volumes:
            files = volume_files(objs, volumes[m["name"]]) or {}
            rel = path[len(mount):]
            if rel in files:
                return files[rel]
    return None


def mount_for(container, volumes, path):
    """The volume mount a path lies under (the longest mount path), or None."""
    best = None
    for m in container.get("volumeMounts", []):
        mp = m["mountPath"].rstrip("/")
        if (path == mp or path.startswith(mp + "/")) and (best is None or len(mp) > len(best["mountPath"].rstrip("/"))):
            best = m
    return best


def env_names(container):
    return {e["name"] for e in container.get("env", [])}


# --------------------------------------------------------------- invariants

def check_security(where, spec, report):
    pod_sc = spec.get("securityContext", {})
    report.expect(pod_sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", "invariants",
                  f"{where}: pod seccompProfile", "securityContext.seccompProfile.type must be RuntimeDefault")
    report.expect(spec.get("automountServiceAccountToken") is False, "invariants",
                  f"{where}: no service account token", "automountServiceAccountToken must be false")
    for what, c in containers(spec):
        name = f"{where}: {what} {c['name']}"
        sc = c.get("securityContext", {})
        non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
        uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
        report.expect(non_root is True and uid not in (None, 0), "invariants", f"{name}: runAsNonRoot",
                      "runAsNonRoot must be true, with a non-zero runAsUser")
        report.expect(sc.get("readOnlyRootFilesystem") is True, "invariants", f"{name}: readOnlyRootFilesystem",
                      "readOnlyRootFilesystem must be true")
        report.expect(sc.get("allowPrivilegeEscalation") is False, "invariants", f"{name}: allowPrivilegeEscalation",
                      "allowPrivilegeEscalation must be false")
        report.expect(sc.get("privileged") is not True, "invariants", f"{name}: not privileged", "privileged is true")
        caps = sc.get("capabilities", {})
        report.expect("ALL" in caps.get("drop", []) and not caps.get("add"), "invariants", f"{name}: capabilities",
                      "capabilities must drop ALL and add none")
        seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {})).get("type")
        report.expect(seccomp == "RuntimeDefault", "invariants", f"{name}: seccompProfile",
                      f"seccompProfile is {seccomp}, not RuntimeDefault")
        res = c.get("resources", {})
        missing = [f"{kind}.{r}" for kind in ("requests", "limits") for r in ("cpu", "memory") if r not in res.get(kind, {})]
        report.expect(not missing, "invariants", f"{name}: resources", f"missing {', '.join(missing)}")


def check_probes(where, container, admin_port, report):
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}

    def port_of(probe):
        port = probe.get("httpGet", {}).get("port")
        return ports.get(port, port) if isinstance(port, str) else port

    for kind, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", None)):
        probe = container.get(kind)
        if not report.expect(probe is not None, "invariants", f"{where}: {kind}", f"the container has no {kind}"):
            continue
        get = probe.get("httpGet", {})
        want = f"GET {path or '/healthz or /readyz'} on the admin port {admin_port}"
        good_path = get.get("path") == path if path else get.get("path") in ("/healthz", "/readyz")
        report.expect(good_path and port_of(probe) == admin_port, "invariants", f"{where}: {kind} on the admin port",
                      f"is {get.get('path')} on port {port_of(probe)}, want {want}")


def check_overlay(name, objs, root, report):
    where = f"overlays/{name}"
    deps = by_kind(objs, "Deployment")
    if not report.expect(len(deps) == 1, "invariants", f"{where}: one Deployment", f"found {len(deps)}"):
        return None
    dep = deps[0]
    spec = pod_spec(dep)
    pod_labels = dep["spec"]["template"]["metadata"].get("labels", {})
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    check_security(where, spec, report)
    main, text, cfg = config_of(objs, dep, report, where)
    if main is None or cfg is None:
        return None

    # Admin listener, probes, ports.
    admin = cfg.get("admin", {}).get("listen")
    admin_port = int(admin.rsplit(":", 1)[1]) if admin else None
    report.expect(admin_port is not None, "invariants", f"{where}: [admin] listen", "the config has no [admin] listen")
    ports = {p.get("name"): p["containerPort"] for p in main.get("ports", [])}
    report.expect(ports.get(ADMIN_PORT_NAME) == admin_port, "invariants", f"{where}: admin container port",
                  f"port `{ADMIN_PORT_NAME}` is {ports.get(ADMIN_PORT_NAME)}, [admin] listen says {admin_port}")
    api = cfg.get("server", {}).get("listen", "127.0.0.1:8080")
    api_port = int(api.rsplit(":", 1)[1])
    report.expect(not api.startswith("127.") and ports.get("http") == api_port, "invariants",
                  f"{where}: API container port", f"[server] listen {api} against container port http {ports.get('http')}")
    check_probes(where, main, admin_port, report)

    # Grace period against the drain timeout.
    drain = duration_seconds(cfg.get("runtime", {}).get("drain_timeout", "30s"))
    pre_stop = 0.0
    cmd = main.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    if len(cmd) == 2 and cmd[0].endswith("sleep"):
        pre_stop = float(cmd[1])
    grace = spec.get("terminationGracePeriodSeconds", 30)
    # After SIGTERM the process exits at the latest drain_timeout + DRAIN_MARGIN
    # (runtime::drain_deadline); the kubelet must not SIGKILL it before that.
    report.expect(grace > drain + DRAIN_MARGIN + pre_stop, "invariants", f"{where}: terminationGracePeriodSeconds",
                  f"{grace} s must exceed [runtime] drain_timeout ({drain:g} s) plus the drain margin "
                  f"({DRAIN_MARGIN:g} s) plus the preStop pause ({pre_stop:g} s)")

    # Services: the admin port only on the metrics Service.
    services = [s for s in by_kind(objs, "Service") if selects(s["spec"].get("selector"), pod_labels)]
    metrics = [s for s in services if any(p.get("targetPort") in (ADMIN_PORT_NAME, admin_port) or p.get("port") == admin_port
                                          for p in s["spec"].get("ports", []))]
    report.expect(len(metrics) == 1 and metrics[0]["metadata"]["name"].endswith("metrics"), "invariants",
                  f"{where}: admin port only on the metrics Service",
                  f"Services exposing port {admin_port}: {[s['metadata']['name'] for s in metrics]}")
    api_services = [s for s in services if s not in metrics]
    report.expect(any(p.get("targetPort") in ("http", api_port) for s in api_services for p in s["spec"]["ports"]),
                  "invariants", f"{where}: API Service", "no Service without the admin port serves the API port")
    for ing in by_kind(objs, "Ingress"):
        backends = re.findall(r'"service": \{"name": "([^"]+)"', json.dumps(ing))
        report.expect(not any(m["metadata"]["name"] in backends for m in metrics), "invariants",
                      f"{where}: Ingress {ing['metadata']['name']}", "routes to the metrics Service")
    for sm in by_kind(objs, "ServiceMonitor"):
        target = [s for s in metrics if selects(sm["spec"]["selector"].get("matchLabels"), s["metadata"].get("labels", {}))]
        report.expect(target and all(e.get("port") in [p.get("name") for p in target[0]["spec"]["ports"]]
                                     and e.get("path") == "/metrics" for e in sm["spec"]["endpoints"]),
                      "invariants", f"{where}: ServiceMonitor {sm['metadata']['name']}",
                      "must select the metrics Service and scrape /metrics on its admin port")
    sa = named(objs, "ServiceAccount", spec.get("serviceAccountName", "default"))
    report.expect(sa is not None and sa.get("automountServiceAccountToken") is False, "invariants",
                  f"{where}: ServiceAccount", "the pod's ServiceAccount must exist with automountServiceAccountToken false")
    report.expect(any(selects(p["spec"]["selector"].get("matchLabels"), pod_labels) for p in by_kind(objs, "PodDisruptionBudget")),
                  "invariants", f"{where}: PodDisruptionBudget", "no PodDisruptionBudget selects the pods")

    # Images.
    images = {c.get("image") for _, c in containers(spec)}
    image = next(iter(images))
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else None
    report.expect(len(images) == 1 and tag not in (None, "latest"), "invariants", f"{where}: image",
                  f"every container must run one tagged image, not {sorted(images)}")
    version = dep["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/version")
    report.expect(tag == version, "invariants", f"{where}: image tag and version label",
                  f"image tag {tag} against app.kubernetes.io/version {version}")

    # References: every ConfigMap, Secret, key and claim exists; every item listed.
    for vname, v in volumes.items():
        if "configMap" in v or "secret" in v:
            kind, ref = ("ConfigMap", v["configMap"]) if "configMap" in v else ("Secret", v["secret"])
            obj = named(objs, kind, ref.get("name") or ref.get("secretName"))
            if not report.expect(obj is not None, "invariants", f"{where}: volume {vname}",
                                 f"{kind} {ref.get('name') or ref.get('secretName')} is not in the manifests"):
                continue
            keys = set(obj.get("data", {})) | set(obj.get("stringData", {}))
            items = ref.get("items")
            if items:
                report.expect(keys == {i["key"] for i in items}, "invariants", f"{where}: volume {vname} items",
                              f"kubelet mounts only the keys listed in items: listed {sorted(i['key'] for i in items)}, "
                              f"the {kind} has {sorted(keys)}")
        if "persistentVolumeClaim" in v:
            report.expect(named(objs, "PersistentVolumeClaim", v["persistentVolumeClaim"]["claimName"]) is not None,
                          "invariants", f"{where}: volume {vname}", "its PersistentVolumeClaim is not in the manifests")
    for _, c in containers(spec):
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef") or e.get("valueFrom", {}).get("configMapKeyRef")
            if ref:
                kind = "Secret" if "secretKeyRef" in e["valueFrom"] else "ConfigMap"
                obj = named(objs, kind, ref["name"]) or {}
                keys = set(obj.get("data", {})) | set(obj.get("stringData", {}))
                report.expect(ref["key"] in keys, "invariants", f"{where}: env {e['name']} of {c['name']}",
                              f"{kind} {ref['name']} with key {ref['key']} is not in the manifests")
        for m in c.get("volumeMounts", []):
            report.expect(m["name"] in volumes, "invariants", f"{where}: mount {m['mountPath']} of {c['name']}",
                          f"no volume {m['name']}")

    # Every ${VAR} without a default is in the container's environment.
    # floodlight expands ${VAR} everywhere in the file, comments included;
    # `$$` is a literal dollar sign.
    needed = set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text.replace("$$", "")))
    missing = needed - env_names(main)
    report.expect(not missing, "invariants", f"{where}: env for the config's ${{VAR}}s",
                  f"not set in the container: {', '.join(sorted(missing))}")

    # Paths the process writes lie on writable volumes; rule dirs resolve.
    writes = []
    sinks = cfg.get("sinks", {})
    for sink in ("findings", "dead_letter"):
        if sinks.get(sink, {}).get("path") not in (None, "-"):
            writes.append((f"sinks.{sink}.path", str(Path(sinks[sink]["path"]).parent)))
    lake = sinks.get("lake", {})
    for k in ("path", "spool_dir"):
        if lake.get(k):
            writes.append((f"sinks.lake.{k}", lake[k]))
    if cfg.get("rules", {}).get("state_dir"):
        writes.append(("rules.state_dir", cfg["rules"]["state_dir"]))
    console = cfg.get("server", {}).get("console", {})
    store = console.get("store") or ("" if console.get("store_env") else "console.db")
    if store and "://" not in store:
        writes.append(("server.console.store", str(Path(store).parent)))
    for setting, path in writes:
        m = mount_for(main, volumes, path)
        vol = volumes.get(m["name"]) if m else None
        ok = m is not None and not m.get("readOnly") and vol is not None and ("emptyDir" in vol or "persistentVolumeClaim" in vol)
        report.expect(ok, "invariants", f"{where}: {setting} = {path} is writable",
                      "the root filesystem is read-only: it must lie on a writable emptyDir or PersistentVolumeClaim mount")
    overlay = cfg.get("enrichments", {}).get("overlay")
    if overlay and not overlay.startswith("embedded:"):
        m = mount_for(main, volumes, overlay)
        report.expect(m is not None, "invariants", f"{where}: enrichments.overlay = {overlay}", "is on no volume")
    for d in cfg.get("rules", {}).get("dirs", []):
        if d in IMAGE_PATHS:
            report.ok("invariants", f"{where}: rules.dirs {d} (the image's rule pack)")
            continue
        m = mount_for(main, volumes, d)
        vol = volumes.get(m["name"]) if m else None
        at_root = m is not None and d.rstrip("/") == m["mountPath"].rstrip("/")
        report.expect(m is not None and not (at_root and vol and ("configMap" in vol or "secret" in vol)),
                      "invariants", f"{where}: rules.dirs {d}",
                      "must be a subdirectory of a ConfigMap volume (items with a path), not its root: the rule "
                      "loader walks directories and would find every rule again under kubelet's ..data")

    # Replicas and storage: SQLite and ReadWriteOnce volumes only with one replica.
    scaled = by_kind(objs, "ScaledObject")
    hpas = by_kind(objs, "HorizontalPodAutoscaler")
    replicas = dep["spec"].get("replicas")
    several = bool(scaled) or bool(hpas) or (replicas or 1) > 1
    if several:
        report.expect(bool(console.get("store_env")) or "postgres" in (console.get("store") or ""), "invariants",
                      f"{where}: console store for several replicas", "several replicas need PostgreSQL (store_env)")
        rwo = [v["name"] for v in volumes.values() if "persistentVolumeClaim" in v and "ReadWriteOnce" in
               (named(objs, "PersistentVolumeClaim", v["persistentVolumeClaim"]["claimName"]) or {}).get("spec", {}).get("accessModes", [])]
        report.expect(not rwo, "invariants", f"{where}: no ReadWriteOnce volume with several replicas", f"volumes {rwo}")
    else:
        report.expect(replicas == 1 and dep["spec"].get("strategy", {}).get("type") == "Recreate", "invariants",
                      f"{where}: one replica, Recreate", f"replicas {replicas}, strategy {dep['spec'].get('strategy')}")

    # KEDA.
    kafka_sources = [s for s in cfg.get("sources", []) if s.get("type") == "kafka"]
    for so in scaled:
        sname = f"{where}: ScaledObject {so['metadata']['name']}"
        report.expect(so["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"], "invariants",
                      f"{sname} target", "does not scale the Deployment")
        report.expect("replicas" not in dep["spec"], "invariants", f"{sname}: Deployment without replicas",
                      "the Deployment sets replicas, which every apply resets under KEDA's HPA")
        report.expect(not hpas, "invariants", f"{sname}: no other HPA", f"HorizontalPodAutoscalers {[h['metadata']['name'] for h in hpas]} "
                      "conflict with the one KEDA creates")
        part = so["metadata"].get("annotations", {}).get(PARTITIONS_ANNOTATION)
        mx, mn = so["spec"].get("maxReplicaCount"), so["spec"].get("minReplicaCount", 0)
        if report.expect(part is not None and str(part).isdigit(), "invariants", f"{sname}: {PARTITIONS_ANNOTATION}",
                         "the partition count of the topics must be declared in this annotation"):
            report.expect(mx is not None and mx <= int(part), "invariants", f"{sname}: maxReplicaCount <= partitions",
                          f"maxReplicaCount {mx} exceeds the {part} partitions: the extra consumers would idle")
        report.expect(mx is not None and mn <= mx, "invariants", f"{sname}: minReplicaCount <= maxReplicaCount",
                      f"{mn} > {mx}")
        for t in so["spec"]["triggers"]:
            if t["type"] != "kafka":
                continue
            md = t["metadata"]
            report.expect(md.get("allowIdleConsumers") == "false" and md.get("lagThreshold", "").isdigit(), "invariants",
                          f"{sname}: kafka trigger", "needs lagThreshold and allowIdleConsumers: \"false\"")
            match = [s for s in kafka_sources if s.get("brokers") == md.get("bootstrapServers") and s.get("group_id") == md.get("consumerGroup")]
            report.expect(bool(match), "invariants", f"{sname}: same brokers and group as the config",
                          f"trigger {md.get('bootstrapServers')} / {md.get('consumerGroup')}, config "
                          f"{[(s.get('brokers'), s.get('group_id')) for s in kafka_sources]}")
            ref = (t.get("authenticationRef") or {}).get("name")
            if ref:
                report.expect(named(objs, "TriggerAuthentication", ref) is not None, "invariants",
                              f"{sname}: authenticationRef", f"TriggerAuthentication {ref} is not in the manifests")

    # Network policy.
    policies = [p for p in by_kind(objs, "NetworkPolicy") if selects(p["spec"]["podSelector"].get("matchLabels"), pod_labels)]
    if report.expect(bool(policies), "invariants", f"{where}: NetworkPolicy", "no NetworkPolicy selects the pods"):
        own = {k: v for k, v in pod_labels.items() if k.startswith("app.kubernetes.io/")}
        for p in policies:
            for rule in p["spec"].get("ingress", []) + p["spec"].get("egress", []):
                for peer in rule.get("from", []) + rule.get("to", []):
                    sel = peer.get("podSelector", {}).get("matchLabels", {})
                    report.expect(not ("namespaceSelector" in peer and any(sel.get(k) == v for k, v in own.items())),
                                  "invariants", f"{where}: NetworkPolicy {p['metadata']['name']} peer {json.dumps(peer)[:80]}",
                                  "a peer in another namespace selected by floodlight's own labels matches nothing "
                                  "(commonLabels added them?)")
        admin_rules = [r for p in policies for r in p["spec"].get("ingress", [])
                       if any(pt.get("port") in (ADMIN_PORT_NAME, admin_port) for pt in r.get("ports", []))]
        report.expect(bool(admin_rules) and all(
            r.get("from") and all(set(peer) == {"namespaceSelector"} and
                                  peer["namespaceSelector"].get("matchLabels", {}).get("kubernetes.io/metadata.name") == "monitoring"
                                  for peer in r["from"]) for r in admin_rules),
            "invariants", f"{where}: admin port only from the monitoring namespace",
            "every ingress rule for the admin port must admit only the monitoring namespace")
        open_rules = [r for p in policies for r in p["spec"].get("ingress", []) if not r.get("ports")]
        report.expect(not open_rules, "invariants", f"{where}: no ingress rule without ports", "a rule without ports admits every port")
        egress_ports = {pt.get("port") for p in policies for r in p["spec"].get("egress", []) for pt in r.get("ports", [])}
        needed_ports = set()
        for s in kafka_sources:
            needed_ports |= {int(b.rsplit(":", 1)[1]) for b in s["brokers"].split(",")}
        if sinks.get("kafka"):
            needed_ports |= {int(b.rsplit(":", 1)[1]) for b in sinks["kafka"]["brokers"].split(",")}
        if console.get("store_env"):
            for e in main.get("env", []):
                if e["name"] == console["store_env"]:
                    ref = e["valueFrom"]["secretKeyRef"]
                    url = (named(objs, "Secret", ref["name"]) or {}).get("stringData", {}).get(ref["key"], "")
                    m = re.match(r"postgres(?:ql)?://[^@]*@[^:/]+:(\d+)", url)
                    needed_ports.add(int(m.group(1)) if m else 5432)
        needed_ports.add(53)
        report.expect(needed_ports <= egress_ports, "invariants", f"{where}: egress to Kafka, PostgreSQL and DNS",
                      f"ports {sorted(needed_ports - egress_ports)} are not allowed by any egress rule")
    return dep, main, cfg, text


# ------------------------------------------------------------------- alerts

def metric_names(expr):
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    names = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", e):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in PROMQL_WORDS or re.fullmatch(r"\d+[a-z]+", word):
            continue
        names.add(word)
    return names


def check_alerts(root, base_objs, report):
    path = root / "deploy/prometheus/alerts.yaml"
    alerts = yaml.safe_load(path.read_text())
    groups = alerts.get("groups", [])
    report.expect(bool(groups), "alerts", str(path.relative_to(root)), "no groups")
    anchors = []
    for g in groups:
        for r in g.get("rules", []):
            if "alert" not in r:
                continue
            name = f"alert {r['alert']}"
            ann, labels = r.get("annotations", {}), r.get("labels", {})
            report.expect(labels.get("severity") in ("critical", "warning", "info"), "alerts", f"{name}: severity",
                          f"severity label is {labels.get('severity')!r}")
            report.expect(bool(ann.get("summary")) and bool(ann.get("description")), "alerts", f"{name}: summary and description",
                          "both annotations are needed")
            url = ann.get("runbook_url", "")
            if report.expect(bool(RUNBOOK.match(url)), "alerts", f"{name}: runbook_url", f"{url!r} is not docs/operations.md#<anchor>"):
                anchors.append(url.split("#", 1)[1])
            used = metric_names(str(r["expr"]))
            unknown = set()
            for m in used:
                base = re.sub(r"_(bucket|sum|count)$", "", m)
                if m in METRICS or m in PROMETHEUS_SERIES or (base in HISTOGRAMS and base != m):
                    continue
                unknown.add(m)
            report.expect(not unknown and used, "alerts", f"{name}: metric names",
                          f"not exported by floodlight: {', '.join(sorted(unknown))}" if unknown else "no metric found in expr")
    rules = by_kind(base_objs, "PrometheusRule")
    report.expect(len(rules) == 1 and rules[0]["spec"].get("groups") == groups, "alerts",
                  "base PrometheusRule equals deploy/prometheus/alerts.yaml",
                  "they differ: run deploy/check-manifests.py --sync-alerts")
    return anchors


def sync_alerts(root):
    src = (root / "deploy/prometheus/alerts.yaml").read_text()
    body = src[src.index("\ngroups:") + 1:]
    body = "".join(("  " + line) if line.strip() else line for line in body.splitlines(True))
    header = """# GENERATED from deploy/prometheus/alerts.yaml by
# `deploy/check-manifests.py --sync-alerts`: edit that file, not this one
# (the check fails when they differ). Your Prometheus must select this rule
# (its ruleSelector, often a `release: <name>` label: add it here).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: floodlight
  labels:
    app.kubernetes.io/component: metrics
    app.kubernetes.io/part-of: floodlight
spec:
"""
    out = root / "deploy/kubernetes/base/prometheusrule.yaml"
    out.write_text(header + body)
    print(f"wrote {out}")


# ----------------------------------------------------------------- validate

def emulate_pod(objs, dep, main, text, root, tmp):
    """Lays out the main container's volumes under tmp like kubelet would,
    runs the init containers' shell scripts there, and returns the config
    text with mount paths moved into tmp, and the container's env."""
    spec = pod_spec(dep)
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    dirs = {}
    for name, v in volumes.items():
        d = tmp / "volumes" / name
        d.mkdir(parents=True)
        dirs[name] = d
        files = volume_files(objs, v)
        if files is None:
            continue
        # kubelet's AtomicWriter: files in a timestamped directory, ..data
        # pointing at it, and a symlink per top-level entry through ..data.
        stamp = d / "..2026_01_01_00_00_00.000000000"
        for rel, content in files.items():
            (stamp / rel).parent.mkdir(parents=True, exist_ok=True)
            (stamp / rel).write_text(content)
        (d / "..data").symlink_to(stamp.name)
        for top in {rel.split("/", 1)[0] for rel in files}:
            (d / top).symlink_to(f"..data/{top}")

    def moved(s, container):
        mounts = sorted(container.get("volumeMounts", []), key=lambda m: -len(m["mountPath"]))
        table = [(m["mountPath"].rstrip("/"), str(dirs[m["name"]])) for m in mounts]
        table += [(k, str(root / v)) for k, v in IMAGE_PATHS.items()]
        table.sort(key=lambda t: -len(t[0]))
        pattern = re.compile("|".join(re.escape(p) + r"(?=[/\"'\s]|$)" for p, _ in table), re.M)
        return pattern.sub(lambda m: dict(table)[m.group(0)], s)

    def env_of(container):
        env = {}
        for e in container.get("env", []):
            if "value" in e:
                env[e["name"]] = e["value"]
            else:
                ref = e["valueFrom"].get("secretKeyRef") or e["valueFrom"].get("configMapKeyRef")
                kind = "Secret" if "secretKeyRef" in e["valueFrom"] else "ConfigMap"
                obj = named(objs, kind, ref["name"]) or {}
                if "data" in obj and ref["key"] in obj["data"]:
                    env[e["name"]] = base64.b64decode(obj["data"][ref["key"]]).decode() if kind == "Secret" else obj["data"][ref["key"]]
                else:
                    env[e["name"]] = obj.get("stringData", {}).get(ref["key"], "")
        return env

    for init in spec.get("initContainers", []):
        cmd = init.get("command", []) + init.get("args", [])
        if len(cmd) < 3 or not cmd[0].endswith("sh") or not cmd[1].startswith("-") or "c" not in cmd[1]:
            raise RuntimeError(f"init container {init['name']}: only `sh -c SCRIPT` init containers can be emulated")
        script = moved(cmd[2], init)
        stray = [p for p in re.findall(r"(?<![\w.])/[\w./-]+", script) if not p.startswith(str(tmp))]
        if stray:
            raise RuntimeError(f"init container {init['name']}: paths outside its volumes: {stray}")
        out = subprocess.run(["/bin/sh", cmd[1], script], capture_output=True, text=True,
                             env={"PATH": "/usr/bin:/bin", **env_of(init)}, cwd=tmp)
        if out.returncode != 0:
            raise RuntimeError(f"init container {init['name']} failed: {out.stderr.strip()}")
    return moved(text, main), env_of(main)


def check_validate(name, objs, found, floodlight, root, report):
    dep, main, cfg, text = found
    with tempfile.TemporaryDirectory(prefix=f"floodlight-{name}-") as t:
        tmp = Path(t)
        try:
            config, env = emulate_pod(objs, dep, main, text, root, tmp)
        except RuntimeError as e:
            report.fail("validate", f"overlays/{name}", str(e))
            return
        path = tmp / "floodlight.toml"
        path.write_text(config)
        out = subprocess.run([floodlight, "validate", "--config", str(path)], capture_output=True, text=True,
                             env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp), "NO_COLOR": "1", **env},
                             cwd=tmp)
        report.expect(out.returncode == 0, "validate", f"overlays/{name}: floodlight validate (in an emulated pod)",
                      (out.stdout + out.stderr).strip().replace(str(tmp), "<pod>")[-3000:])


def check_image_config(root, floodlight, report):
    with tempfile.TemporaryDirectory(prefix="floodlight-image-") as t:
        tmp = Path(t)
        text = (root / "deploy/image/floodlight.toml").read_text().replace("/var/lib/floodlight", str(tmp / "data"))
        (tmp / "floodlight.toml").write_text(text)
        out = subprocess.run([floodlight, "validate", "--config", str(tmp / "floodlight.toml")], capture_output=True, text=True,
                             env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp), "NO_COLOR": "1",
                                  "FLOODLIGHT_ADMIN_TOKEN": "image-config-check-token-0123456789abcdef"}, cwd=tmp)
        report.expect(out.returncode == 0, "validate", "deploy/image/floodlight.toml: floodlight validate",
                      (out.stdout + out.stderr).strip()[-3000:])


# -------------------------------------------------------------------- image

def dockerignore_excludes(root):
    patterns = []
    p = root / ".dockerignore"
    if p.exists():
        for line in p.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                patterns.append(line.lstrip("/"))

    def excluded(rel):
        result = False
        parts = rel.split("/")
        for pat in patterns:
            neg = pat.startswith("!")
            pat = pat[1:] if neg else pat
            hit = any(fnmatch.fnmatch("/".join(parts[:i]), pat) or
                      (pat.startswith("**/") and fnmatch.fnmatch("/".join(parts[:i]), pat[3:]))
                      for i in range(1, len(parts) + 1))
            if hit:
                result = not neg
        return result

    return excluded


def check_image_context(root, report):
    excluded = dockerignore_excludes(root)
    crates = [root / "src"] + [root / c / "src" for c in ("pipeline", "enrichments", "analyst", "server", "store", "nudge")]
    bad = []
    count = 0
    for d in crates:
        for f in d.rglob("*.rs"):
            for m in re.finditer(r'include_(?:str|bytes|dir)!\(\s*"([^"]+)"', f.read_text()):
                target = m.group(1).replace("$CARGO_MANIFEST_DIR", str(d.parent))
                resolved = (f.parent / target).resolve() if not target.startswith("/") else Path(target).resolve()
                try:
                    rel = resolved.relative_to(root.resolve()).as_posix()
                except ValueError:
                    continue
                count += 1
                if excluded(rel):
                    bad.append(f"{f.relative_to(root)} includes {rel}")
    for f in ("Cargo.toml", "Cargo.lock", "queries", "deploy/image/floodlight.toml", "benches"):
        if excluded(f):
            bad.append(f"{f} is needed by the Dockerfile or cargo")
    report.expect(not bad, "image", f"build context keeps all {count} included files", "; ".join(bad[:10]))


def check_hadolint(root, hadolint, report):
    out = subprocess.run([hadolint, "--no-color", "--failure-threshold", "style", str(root / "Dockerfile")],
                         capture_output=True, text=True)
    report.expect(out.returncode == 0 and not out.stdout.strip(), "hadolint", "Dockerfile",
                  (out.stdout + out.stderr).strip() or f"exit {out.returncode}")


# --------------------------------------------------------------------- main

def main():
    here = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kubectl", action="append", default=[], help="a kubectl to render with (repeat: all must agree)")
    ap.add_argument("--kubernetes-version", default="1.30.0", help="the schemas' Kubernetes version (default 1.30.0)")
    ap.add_argument("--floodlight", help="the floodlight binary, for `floodlight validate` of the configs")
    ap.add_argument("--hadolint", default=str(Path(sys.executable).parent / "hadolint"))
    ap.add_argument("--root", default=str(here), help="the repository (default: this script's)")
    ap.add_argument("--skip", action="append", default=[], choices=["hadolint", "image", "validate"],
                    help="leave out a check (for checking copies of the manifests)")
    ap.add_argument("--sync-alerts", action="store_true", help="rewrite base/prometheusrule.yaml from alerts.yaml and exit")
    args = ap.parse_args()
    root = Path(args.root).resolve()
    if args.floodlight:
        args.floodlight = str(Path(args.floodlight).resolve())
        if not Path(args.floodlight).is_file():
            ap.error(f"--floodlight {args.floodlight}: no such file")
    if args.sync_alerts:
        sync_alerts(root)
        return 0
    if not args.kubectl:
        ap.error("give at least one --kubectl (deploy/install-kubectl.sh prints Debian's)")
    report = Report()
    k8s = root / "deploy/kubernetes"
    crds = load_crds(root / "tests/data/k8s-crds", report)

    renders = {}
    for target in ["base"] + [f"overlays/{o}" for o in OVERLAYS]:
        results = []
        for kubectl in args.kubectl:
            try:
                results.append((kubectl, render(kubectl, k8s / target)))
                report.ok("render", f"{target} with {kubectl} ({kubectl_version(kubectl)})")
            except RuntimeError as e:
                report.fail("render", f"{target} with {kubectl}", str(e))
        if not results:
            continue
        ref_kubectl, ref = results[0]
        for kubectl, objs in results[1:]:
            a, b = normalise(ref), normalise(objs)
            diff = None
            if set(a) != set(b):
                diff = f"objects only in one: {sorted(set(a) ^ set(b))}"
            else:
                for k in sorted(a):
                    d = first_difference(a[k], b[k], "/".join(k))
                    if d:
                        diff = d
                        break
            report.expect(diff is None, "render", f"{target}: {ref_kubectl} and {kubectl} render the same objects", diff or "")
        renders[target] = ref
        check_schemas(ref, target, args.kubernetes_version, crds, report)

    if "base" in renders:
        anchors = check_alerts(root, renders["base"], report)
        print(f"runbook anchors: {', '.join(sorted(set(anchors)))}")
        check_security("base", pod_spec(by_kind(renders["base"], "Deployment")[0]), report)

    found = {}
    for o in OVERLAYS:
        if f"overlays/{o}" in renders:
            r = check_overlay(o, renders[f"overlays/{o}"], root, report)
            if r:
                found[o] = r

    if "validate" in args.skip:
        report.skip("validate", "left out (--skip validate)")
    elif not args.floodlight:
        report.skip("validate", "no --floodlight binary given: the configs were not run through `floodlight validate`")
    else:
        for o, r in found.items():
            check_validate(o, renders[f"overlays/{o}"], r, args.floodlight, root, report)
        check_image_config(root, args.floodlight, report)

    if "hadolint" in args.skip:
        report.skip("hadolint", "left out (--skip hadolint)")
    elif not Path(args.hadolint).exists():
        report.fail("hadolint", "Dockerfile", f"no hadolint at {args.hadolint} (deploy/install-python-tools.sh installs it)")
    else:
        check_hadolint(root, args.hadolint, report)
    if "image" in args.skip:
        report.skip("image", "left out (--skip image)")
    else:
        check_image_context(root, report)

    print()
    if report.failures:
        print(f"{report.passed} passed, {len(report.failures)} failed")
        for check, what, why in report.failures:
            print(f"  [{check}] {what}: {why}")
        return 1
    print(f"{report.passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
