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
