"""Every file in helm-values/ renders with helm against the published chart and passes its values schema."""

from __future__ import annotations

import base64

import pytest
import yaml

from .chart import VALUES_DIR, chart_dir, find, rendered, template

pytestmark = pytest.mark.kube  # needs a Go build (helm): runs with the suites on the real apiserver

BASE = VALUES_DIR / "saturn-values.yaml"
OVERLAYS = sorted(p for p in VALUES_DIR.glob("*.yaml") if p.name not in ("saturn-values.yaml", "hub-rbac-saturn.yaml"))


def test_the_chart_is_the_published_4_4_0():
    chart = yaml.safe_load((chart_dir() / "Chart.yaml").read_text())
    assert (chart["name"], chart["version"]) == ("jupyterhub", "4.4.0")
    assert {"auth-github.yaml", "auth-oidc.yaml", "auth-google.yaml", "auth-own.yaml", "gpu-node-pools.yaml",
            "anonymous-run.yaml"} <= {p.name for p in OVERLAYS}


@pytest.mark.parametrize("overlay", [None, *OVERLAYS], ids=lambda p: p.name if p else "base")
def test_base_and_each_overlay_render(overlay, tmp_path):
    docs = rendered([BASE] + ([overlay] if overlay else []), workdir=tmp_path)
    values = yaml.safe_load(base64.b64decode(find(docs, "Secret", "hub")["data"]["values.yaml"]))
    assert values["hub"]["config"]["JupyterHub"]["spawner_class"] == "saturn-kube"
    assert "jupyterhub_saturn.setup(c)" in values["hub"]["extraConfig"]["zz-saturn-setup"]
    assert values["cull"]["enabled"] is False


def test_everything_together_renders(tmp_path):
    files = [BASE, VALUES_DIR / "auth-own.yaml", VALUES_DIR / "gpu-node-pools.yaml", VALUES_DIR / "anonymous-run.yaml"]
    docs = rendered(files, workdir=tmp_path)
    hub = find(docs, "Deployment", "hub")
    assert hub["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "registry.example.org/saturn/k8s-hub-saturn:4.4.0-saturn0.1.0"


def test_the_schema_check_is_real(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("hub:\n  config:\n    saturn: {sizes: {}}\n")   # lower-case section: the chart refuses it
    out = template([BASE, bad], workdir=tmp_path)
    assert out.returncode != 0 and "additional properties 'saturn' not allowed" in out.stderr
