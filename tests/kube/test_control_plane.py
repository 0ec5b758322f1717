"""The real etcd + kube-apiserver and the hub's RBAC."""

from __future__ import annotations

import asyncio

import pytest
import requests
import yaml
from kubernetes_asyncio import client as kclient
from kubernetes_asyncio import config as kconfig
from kubernetes_asyncio.client.exceptions import ApiException

from tests.kube import versions
from tests.kube.client import ApiError
from tests.kube.control_plane import HUB_RBAC_FILE

pytest_plugins = ["tests.kube.fixtures"]

# The hub Role of the Zero-to-JupyterHub chart 4.x (templates/hub/rbac.yaml).
Z2JH_HUB_RULES = [
    {"apiGroups": [""], "resources": ["pods", "persistentvolumeclaims", "secrets", "services"],
     "verbs": ["get", "watch", "list", "create", "delete"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "watch", "list"]},
]


def _forbidden(fn, *args):
    with pytest.raises(ApiError) as info:
        fn(*args)
    assert info.value.status == 403, info.value
    return info.value


def test_apiserver_and_etcd_are_the_pinned_versions(kube_control_plane):
    cp = kube_control_plane
    assert cp.admin.get("/version")["gitVersion"] == versions.KUBERNETES_VERSION
    assert cp.admin.request("GET", "/readyz") == "ok"
    etcd = requests.get(f"http://127.0.0.1:{cp.etcd_port}/version", timeout=10).json()
    assert "v" + etcd["etcdserver"] == versions.ETCD_VERSION
    # anonymous requests are not cluster-admin
    resp = requests.get(f"{cp.url}/api/v1/namespaces", verify=cp.ca_file, timeout=10)
    assert resp.status_code in (401, 403)


def test_hub_role_is_z2jh_plus_pvc_patch(kube_hub, kube_control_plane):
    docs = [d for d in yaml.safe_load_all(HUB_RBAC_FILE.read_text()) if d]
    file_rules = next(d for d in docs if d["kind"] == "Role")["rules"]
    assert file_rules == Z2JH_HUB_RULES + [
        {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["patch"]}]
    role = kube_control_plane.admin.get(
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{kube_hub.namespace}/roles/hub")
    assert role["rules"] == file_rules


def test_hub_token_can_do_what_kubespawner_needs(kube_hub):
    c, ns = kube_hub.client, kube_hub.namespace
    base = f"/api/v1/namespaces/{ns}"
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "jupyter-alice"},
           "spec": {"containers": [{"name": "notebook", "image": "x", "args": ["true"]}]}}
    assert c.post(f"{base}/pods", pod)["metadata"]["name"] == "jupyter-alice"
    assert [p["metadata"]["name"] for p in c.get(f"{base}/pods")["items"]] == ["jupyter-alice"]
    c.post(f"{base}/secrets", {"apiVersion": "v1", "kind": "Secret",
                               "metadata": {"name": "s"}, "stringData": {"k": "v"}})
    c.post(f"{base}/services", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
                                "spec": {"ports": [{"port": 8888}]}})
    c.post(f"{base}/persistentvolumeclaims", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "claim-alice"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "fixed",
                 "resources": {"requests": {"storage": "1Gi"}}}})
    patched = c.patch(f"{base}/persistentvolumeclaims/claim-alice",
                      {"metadata": {"labels": {"saturn": "yes"}}})
    assert patched["metadata"]["labels"] == {"saturn": "yes"}
    c.get(f"{base}/events")
    # an unscheduled pod is deleted at once by the apiserver
    c.delete(f"{base}/pods/jupyter-alice")
    assert c.get(f"{base}/pods")["items"] == []
    for kind in ("services/svc", "secrets/s", "persistentvolumeclaims/claim-alice"):
        c.delete(f"{base}/{kind}")


def test_hub_token_is_denied_everything_else(kube_hub, kube_control_plane):
    c, ns = kube_hub.client, kube_hub.namespace
    other = kube_control_plane.setup_hub(ns + "-other").namespace
    _forbidden(c.get, "/api/v1/nodes")
    _forbidden(c.get, f"/api/v1/namespaces/{other}/pods")
    _forbidden(c.get, "/api/v1/pods")
    _forbidden(c.get, "/api/v1/namespaces/default/secrets")
    _forbidden(c.get, f"/api/v1/namespaces/{ns}/configmaps")
    c.post(f"/api/v1/namespaces/{ns}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "x", "args": ["true"]}]}})
    # z2jh's Role has no patch on pods, and events are read-only
    _forbidden(c.patch, f"/api/v1/namespaces/{ns}/pods/p", {"metadata": {"labels": {"a": "b"}}})
    _forbidden(c.post, f"/api/v1/namespaces/{ns}/events", {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": ns}, "reason": "x"})
    err = _forbidden(c.patch, f"/api/v1/namespaces/{other}/persistentvolumeclaims/x",
                     {"metadata": {"labels": {"a": "b"}}})
    assert f"system:serviceaccount:{ns}:hub" in err.message
    c.delete(f"/api/v1/namespaces/{ns}/pods/p")


def test_kubeconfigs_work_with_kubernetes_asyncio(kube_hub, kube_control_plane):
    async def check():
        hub_api = await kconfig.new_client_from_config(config_file=str(kube_hub.kubeconfig))
        admin_api = await kconfig.new_client_from_config(
            config_file=str(kube_control_plane.admin_kubeconfig()))
        try:
            pods = await kclient.CoreV1Api(hub_api).list_namespaced_pod(kube_hub.namespace)
            assert pods.items == []
            with pytest.raises(ApiException) as info:
                await kclient.CoreV1Api(hub_api).list_node()
            assert info.value.status == 403
            nodes = await kclient.CoreV1Api(admin_api).list_node()
            assert isinstance(nodes.items, list)
        finally:
            await hub_api.close()
            await admin_api.close()

    asyncio.run(check())


def test_restart_apiserver_keeps_state_and_tokens(kube_hub, kube_control_plane):
    cp, ns = kube_control_plane, kube_hub.namespace
    cp.admin.post(f"/api/v1/namespaces/{ns}/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keep"},
        "data": {"a": "1"}})
    url = cp.url
    cp.restart_apiserver()
    assert cp.url == url
    assert cp.admin.get(f"/api/v1/namespaces/{ns}/configmaps/keep")["data"] == {"a": "1"}
    assert kube_hub.client.get(f"/api/v1/namespaces/{ns}/pods")["items"] == []
