"""Run this copy on saturn-kube: the real apiserver, the node agent's pods, a throwaway user's copy."""

from __future__ import annotations

import pytest
import requests

from jupyterhub_saturn.spawners.kube import THROWAWAY_POD_LABEL

from .gallery_helpers import publish, run_copy, sample_notebook
from .kube_helpers import Cluster, make_kube_hub

pytestmark = pytest.mark.e2e
pytest_plugins = ["tests.kube.fixtures"]

CATALOG = """
c.Saturn.sizes = {"small": {"cpu": 0.5, "memory": "512M"}}
c.Saturn.images = {"python": {"image": "local/python"}}
c.Saturn.disks = ["1Gi"]
c.SaturnGallery.store_dir = "gallery-store"
c.SaturnGallery.publisher_groups = ["instructors"]
"""


def test_anonymous_run_this_copy_on_kubernetes(kube_hub, kube_node, hub_factory):
    hub = make_kube_hub(None, kube_hub, CATALOG, factory=hub_factory)
    hub.ensure_user("prof", ["instructors"])
    rec = publish(hub, hub.user_token("prof"), sample_notebook("Kube lecture")).json()
    s, status = run_copy(hub, rec["id"])
    assert status["state"] == "ready", status
    name = status["url"].split("/user/")[1].split("/")[0]
    assert name.startswith("anon~")
    # the server is a pod the node agent runs, and the copy is readable through it
    cluster = Cluster(kube_hub)
    pods = cluster.pod_names()
    assert len(pods) == 1, pods
    # the pod as the apiserver stored it carries the label the anonymous NetworkPolicy option selects
    labels = cluster.pod(next(iter(pods)))["metadata"]["labels"]
    assert labels[THROWAWAY_POD_LABEL] == "true" and labels["component"] == "singleuser-server", labels
    token = hub.user_token(name, scopes=[f"access:servers!server={name}/"])
    path = status["url"].split("/lab/tree/", 1)[1]
    r = requests.get(f"{hub.url}/user/{name}/api/contents/{path}", headers={"Authorization": f"token {token}"},
                     timeout=60)
    assert r.status_code == 200 and r.json()["type"] == "notebook", r.text[:300]
    hub.stop_server(name)
    cluster.wait_pod_gone(next(iter(pods)))
