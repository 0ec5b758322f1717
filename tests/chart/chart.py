"""The Zero-to-JupyterHub chart, for real: ``helm template`` (helm built by :mod:`tests.kube.helm`) of the
chart in ``Z2JH_CHART_DIR`` (default ``../shared/z2jh-chart/4.4.0`` beside the repository), and the files
the rendered hub Deployment mounts into the hub container, written out for a hub started from them."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from ..kube import build, helm

REPO = Path(__file__).resolve().parents[2]
VALUES_DIR = REPO / "helm-values"
RELEASE = "jhub"


def chart_dir() -> Path:
    return Path(os.environ.get("Z2JH_CHART_DIR") or REPO.parent / "shared" / "z2jh-chart" / "4.4.0").resolve()


def helm_binary() -> Path:
    """The cached helm, built on first use; without Go: fail in CI, skip elsewhere."""
    path = helm.helm_path()
    if os.access(path, os.X_OK):
        return path
    try:
        build.find_go()
    except build.BuildError:
        if os.environ.get("CI"):
            pytest.fail("CI must run the chart tests: install Go (make helm builds helm)", pytrace=False)
        pytest.skip("no Go toolchain and no cached helm (python -m tests.kube.helm builds it)")
    return helm.ensure_helm()


def template(values_files, *, namespace: str = RELEASE, set_values=(), workdir: Path | None = None):
    """``helm template`` of the chart with ``values_files``; returns the CompletedProcess (never raises)."""
    cmd = [str(helm_binary()), "template", RELEASE, str(chart_dir()), "--namespace", namespace]
    for f in values_files:
        cmd += ["-f", str(f)]
    for s in set_values:
        cmd += ["--set", s]
    home = workdir or Path(os.environ.get("TMPDIR", "/tmp"))
    env = dict(os.environ, HELM_CACHE_HOME=str(home / "helm-cache"), HELM_CONFIG_HOME=str(home / "helm-config"),
               HELM_DATA_HOME=str(home / "helm-data"))
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


def rendered(values_files, **kw) -> list[dict]:
    out = template(values_files, **kw)
    assert out.returncode == 0, out.stderr[-3000:]
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def find(docs, kind: str, name: str) -> dict:
    for d in docs:
        if d["kind"] == kind and d["metadata"]["name"] == name:
            return d
    raise KeyError(f"{kind}/{name} not rendered")


def selects(selector: dict, labels: dict) -> bool:
    """Whether a Kubernetes label selector (``matchLabels`` and ``matchExpressions``) selects ``labels``."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        ok = {"In": key in labels and labels[key] in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[op]
        if not ok:
            return False
    return True


def write_hub_files(docs, etc: Path) -> dict:
    """What the hub Deployment mounts under /usr/local/etc/jupyterhub: the ConfigMap ``hub`` (its
    jupyterhub_config.py and z2jh.py, and every key under config/) and the Secret ``hub`` under secret/.
    Returns the Secret's decoded data."""
    config_map, secret = find(docs, "ConfigMap", "hub"), find(docs, "Secret", "hub")
    (etc / "config").mkdir(parents=True, exist_ok=True)
    (etc / "secret").mkdir(parents=True, exist_ok=True)
    for key, text in config_map["data"].items():
        (etc / "config" / key).write_text(text)
    for key in ("jupyterhub_config.py", "z2jh.py"):
        (etc / key).write_text(config_map["data"][key])
    data = {}
    for key, value in (secret.get("data") or {}).items():
        data[key] = base64.b64decode(value).decode()
    for key, value in (secret.get("stringData") or {}).items():
        data[key] = value
    for key, value in data.items():
        (etc / "secret" / key).write_text(value)
    return data


_RUN_CHART_CONFIG = r'''
import json, sys
from traitlets.config import Config
c = Config()
path = "/usr/local/etc/jupyterhub/jupyterhub_config.py"
exec(compile(open(path).read(), path, "exec"), {"get_config": lambda: c, "__file__": path, "__name__": "__config__"})
def sanitize(v):  # kubernetes client models (the chart's init container) -> their manifest form
    if hasattr(v, "openapi_types"):
        return {v.attribute_map[k]: sanitize(getattr(v, k)) for k in v.openapi_types if getattr(v, k) is not None}
    if isinstance(v, dict):
        return {k: sanitize(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [sanitize(x) for x in v]
    return v
def plain(value):
    value = sanitize(value)
    json.dumps(value)  # raises for what JSON cannot hold (e.g. classes): those are left out
    return value
out = {}
for section, cfg in c.items():
    if not hasattr(cfg, "items"):
        continue
    for key, value in cfg.items():
        try:
            out.setdefault(section, {})[key] = plain(value)
        except (TypeError, ValueError):
            pass
with open(sys.argv[1], "w") as f:
    json.dump(out, f)
'''


def chart_hub_config(values_files, workdir: Path, *, namespace: str = RELEASE):
    """The traitlets Config the chart's own ``jupyterhub_config.py`` (and ``z2jh.py``) build from the rendered
    ConfigMap and Secret for ``values_files``, run where the hub container has them (bubblewrap mounts)."""
    import json  # noqa: PLC0415
    import shutil  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from traitlets.config import Config  # noqa: PLC0415

    bwrap = shutil.which("bwrap")
    if bwrap is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the chart tests: install bubblewrap (bwrap)", pytrace=False)
        pytest.skip("bubblewrap (bwrap) is not installed")
    workdir.mkdir(parents=True, exist_ok=True)
    etc = workdir / "etc"
    write_hub_files(rendered(values_files, namespace=namespace, workdir=workdir), etc)
    out = workdir / "config.json"
    env = dict(os.environ, HELM_RELEASE_NAME=RELEASE, POD_NAMESPACE=namespace, HUB_SERVICE_PORT="8081",
               PROXY_API_SERVICE_PORT="8001", PROXY_PUBLIC_SERVICE_PORT="80")
    proc = subprocess.run([bwrap, "--dev-bind", "/", "/", "--tmpfs", "/usr/local/etc",
                           "--ro-bind", str(etc), "/usr/local/etc/jupyterhub", "--die-with-parent", "--",
                           sys.executable, "-c", _RUN_CHART_CONFIG, str(out)],
                          capture_output=True, text=True, timeout=120, env=env, cwd=workdir)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return Config(json.loads(out.read_text()))
