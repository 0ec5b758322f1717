"""saturn-kube at hub start-up: pods and claims of throwaway users the hub no longer has are removed.

Real JupyterHub + the real test kube-apiserver, with the hub's RBAC-limited ServiceAccount. The
objects are made the way KubeSpawner labels and annotates them, while the hub is down.
"""

from __future__ import annotations

import signal
import uuid

import pytest

from ..harness import wait_for
from .kube_helpers import Cluster, make_kube_hub

pytestmark = pytest.mark.e2e
pytest_plugins = ["tests.kube.fixtures"]

CATALOG = """
c.Saturn.sizes = {"small": {"cpu": 0.5, "memory": "1G"}}
c.Saturn.disks = {"1Gi": {}}
c.Saturn.images = {"python": {"image": "local/python"}}
"""


def user_objects(username: str) -> tuple[dict, dict]:
    """A pod and a claim as KubeSpawner makes them for ``username``."""
    slug = f"{username.replace('~', '-')}-{uuid.uuid4().hex[:4]}"
    labels = {"app.kubernetes.io/component": "singleuser-server", "hub.jupyter.org/username": slug}
    meta = {"annotations": {"hub.jupyter.org/username": username}}
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": dict(meta, name=f"jupyter-{slug}", labels=dict(labels, component="singleuser-server")),
           "spec": {"containers": [{"name": "notebook", "image": "local/python", "command": ["sleep", "3600"]}]}}
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": dict(meta, name=f"claim-{slug}", labels=dict(labels, component="singleuser-storage")),
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    return pod, pvc


def test_throwaway_objects_without_a_user_are_removed_at_start(kube_control_plane, kube_hub, kube_node,
                                                              hub_factory):
    hub = make_kube_hub(None, kube_hub, CATALOG, factory=hub_factory)
    hub.ensure_user("anon~0000000a11fe", ["saturn-throwaway"])  # a throwaway the hub still has
    hub.ensure_user("kim")
    hub.stop(sig=signal.SIGKILL)

    admin, ns = kube_control_plane.admin, kube_hub.namespace
    made = {}
    for who in ("anon~00000000dead", "anon~0000000a11fe", "kim", "gone-but-not-throwaway"):
        pod, pvc = user_objects(who)
        admin.post(f"/api/v1/namespaces/{ns}/pods", pod)
        admin.post(f"/api/v1/namespaces/{ns}/persistentvolumeclaims", pvc)
        made[who] = (pod["metadata"]["name"], pvc["metadata"]["name"])

    hub.start()
    cluster = Cluster(kube_hub)
    pod, pvc = made["anon~00000000dead"]
    cluster.wait_pod_gone(pod)
    cluster.wait_pvc_gone(pvc)
    wait_for(lambda: "Removed 2 object(s) of throwaway users the hub no longer has" in hub.log_text(), timeout=30,
             what="the clean-up's log line")
    for who in ("anon~0000000a11fe", "kim", "gone-but-not-throwaway"):  # known users, and others' work
        pod, pvc = made[who]
        assert cluster.pod(pod) is not None and cluster.pvc(pvc) is not None, who
    # (the node agent force-deletes the remaining pods when the test's node stops)
