"""Every file in helm-values/ renders with helm against the published chart and passes its values schema."""

from __future__ import annotations

import base64

import pytest
import yaml

from .chart import VALUES_DIR, chart_dir, find, rendered, template

pytestmark = pytest.mark.kube  # needs a Go build (helm): runs with the suites on the real apiserver

BASE = VALUES_DIR / "saturn-values.yaml"
#: manifests an admin applies with kubectl beside the chart (not values files)
MANIFESTS = ("hub-rbac-saturn.yaml", "anonymous-network-policy.yaml")
OVERLAYS = sorted(p for p in VALUES_DIR.glob("*.yaml") if p.name not in ("saturn-values.yaml", *MANIFESTS))
PRIVATE = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}


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


def _cidrs(rules) -> set[str]:
    return {peer["ipBlock"]["cidr"] for rule in rules for peer in rule.get("to", []) if "ipBlock" in peer}


def test_the_anonymous_network_option_leaves_user_pods_hub_proxy_and_dns_only(tmp_path):
    policy = find(rendered([BASE, VALUES_DIR / "anonymous-run.yaml"], workdir=tmp_path), "NetworkPolicy", "singleuser")
    egress = policy["spec"]["egress"]
    dns_only = [r for r in egress if r.get("ports") and all(p.get("port") == 53 for p in r["ports"])]
    # beyond DNS: no address block at all (no internet, no private ranges, no metadata server)
    assert _cidrs([r for r in egress if r not in dns_only]) == set(), egress
    ports = [p.get("port") for rule in egress for p in rule.get("ports", [])]
    assert 8081 in ports and 8000 in ports and 53 in ports  # the hub API, the proxy, DNS
    # DNS only towards kube-system and private resolvers, not the metadata server
    assert len(dns_only) == 1 and "169.254.169.254/32" not in _cidrs(dns_only)


def test_the_companion_policy_gives_back_exactly_the_charts_internet_rule(tmp_path):
    companion = yaml.safe_load((VALUES_DIR / "anonymous-network-policy.yaml").read_text())
    assert companion["kind"] == "NetworkPolicy" and companion["spec"]["policyTypes"] == ["Egress"]
    assert "namespace" not in companion["metadata"]  # `kubectl apply -n <ns>` decides, as for the RBAC file
    chart_default = find(rendered([BASE], workdir=tmp_path), "NetworkPolicy", "singleuser")["spec"]["egress"]
    internet = [r for r in chart_default if "0.0.0.0/0" in _cidrs([r])]
    assert companion["spec"]["egress"] == internet and len(internet) == 1
    assert PRIVATE <= set(internet[0]["to"][0]["ipBlock"]["except"])
