"""The fake node: scheduling, running pods as local processes, PVCs."""

from __future__ import annotations

import ipaddress
import time
from pathlib import Path

import pytest
import requests

from tests.kube.client import ApiError

pytest_plugins = ["tests.kube.fixtures"]

# Binds to argv[1] = "0.0.0.0", which the agent maps to the pod IP (else two pods on
# port 8888 would collide).
SERVER = """
import http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = "|".join([os.environ["GREETING"], os.environ["MY_NAME"], os.environ["POD_IP"],
                         str(os.getcwd() == os.environ["HOME"])]).encode()
        self.send_response(200); self.end_headers(); self.wfile.write(body)
http.server.HTTPServer((sys.argv[1], 8888), H).serve_forever()
"""
SLEEP = ["python", "-c", "import time; time.sleep(600)"]


def wait_for(fn, what: str, timeout: float = 120.0, interval: float = 0.3):
    """Poll ``fn()`` until it returns something truthy (generous timeout for loaded CI)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last={last!r}")


def make_pod(name: str, args: list, *, resources=None, **spec) -> dict:
    container = {"name": "notebook", "image": "quay.io/jupyter/base-notebook", "args": args}
    if resources:
        container["resources"] = resources
    container.update(spec.pop("container", {}))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [container], "restartPolicy": "OnFailure", **spec}}


class Pods:
    """Pod helpers bound to the hub's client and namespace."""

    def __init__(self, hub):
        self.c, self.ns = hub.client, hub.namespace
        self.base = f"/api/v1/namespaces/{self.ns}"

    def create(self, pod: dict) -> dict:
        return self.c.post(f"{self.base}/pods", pod)

    def get(self, name: str) -> dict | None:
        try:
            return self.c.get(f"{self.base}/pods/{name}")
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def phase(self, name: str, *phases: str) -> dict | None:
        pod = self.get(name)
        return pod if pod and pod.get("status", {}).get("phase") in phases else None

    def ready(self, name: str) -> dict | None:
        pod = self.get(name)
        phase = (pod or {}).get("status", {}).get("phase")
        assert phase not in ("Succeeded", "Failed"), f"{name} ended: {pod['status']}"
        statuses = (pod or {}).get("status", {}).get("containerStatuses") or []
        return pod if statuses and all(s["ready"] for s in statuses) else None

    def events(self, name: str) -> list[dict]:
        items = self.c.get(f"{self.base}/events")["items"]
        return [e for e in items if e["involvedObject"]["name"] == name]

    def event(self, name: str, reason: str) -> dict | None:
        found = [e for e in self.events(name) if e["reason"] == reason]
        return found[-1] if found else None


@pytest.fixture
def pods(kube_hub, kube_control_plane):
    helper = Pods(kube_hub)
    yield helper
    for pod in kube_control_plane.admin.get(f"{helper.base}/pods")["items"]:
        try:
            kube_control_plane.admin.delete(f"{helper.base}/pods/{pod['metadata']['name']}",
                                            {"gracePeriodSeconds": 0})
        except ApiError:
            pass


def test_pod_runs_on_own_ip_serves_http_and_dies_on_delete(kube_node, kube_hub, pods):
    pods.c.post(f"{pods.base}/secrets", {"apiVersion": "v1", "kind": "Secret",
                                         "metadata": {"name": "greet"},
                                         "stringData": {"text": "hello"}})
    env = [{"name": "GREETING", "valueFrom": {"secretKeyRef": {"name": "greet", "key": "text"}}},
           {"name": "MY_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
           {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
           {"name": "HOME", "value": "/home/jovyan"}]
    for name in ("web-a", "web-b"):
        pods.create(make_pod(name, ["python", "-c", SERVER, "0.0.0.0"], container={
            "env": env, "workingDir": "/home/jovyan", "ports": [{"containerPort": 8888,
                                                                 "name": "http"}],
            "readinessProbe": {"httpGet": {"port": "http", "path": "/"}}}))
    ips = set()
    for name in ("web-a", "web-b"):
        pod = wait_for(lambda: pods.ready(name), f"{name} ready")
        status = pod["status"]
        assert status["phase"] == "Running"
        assert pod["spec"]["nodeName"] == kube_node.name
        ip = ipaddress.ip_address(status["podIP"])
        assert ip.is_loopback and str(ip) != "127.0.0.1"
        ips.add(str(ip))
        assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "True"
        body = requests.get(f"http://{ip}:8888/", timeout=10).text
        assert body == f"hello|{name}|{ip}|True"
        reasons = [e["reason"] for e in pods.events(name)]
        for reason in ("Scheduled", "Pulled", "Created", "Started"):
            assert reason in reasons
    assert len(ips) == 2

    proc = kube_node.process_of(pods.ns, "web-a")
    assert proc is not None and proc.poll() is None
    pods.c.delete(f"{pods.base}/pods/web-a")
    wait_for(lambda: pods.get("web-a") is None, "web-a deleted")
    assert proc.poll() is not None
    ip_a = next(ip for ip in ips if ip != pods.get("web-b")["status"]["podIP"])
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{ip_a}:8888/", timeout=10)
    assert pods.ready("web-b")


def test_gpu_pod_that_does_not_fit_is_unschedulable(kube_node_factory, kube_hub, pods):
    node = kube_node_factory(gpus=2)
    pods.create(make_pod("greedy", SLEEP, resources={"limits": {"nvidia.com/gpu": "3"}}))
    ev = wait_for(lambda: pods.event("greedy", "FailedScheduling"), "FailedScheduling")
    assert ev["type"] == "Warning"
    assert ev["message"].startswith("0/1 nodes are available: 1 Insufficient nvidia.com/gpu.")
    cond = {c["type"]: c for c in pods.get("greedy")["status"]["conditions"]}["PodScheduled"]
    assert (cond["status"], cond["reason"]) == ("False", "Unschedulable")
    assert pods.get("greedy")["spec"].get("nodeName") is None

    pods.create(make_pod("two-gpus", SLEEP, resources={"limits": {"nvidia.com/gpu": "2"}}))
    assert wait_for(lambda: pods.ready("two-gpus"), "two-gpus running")["spec"]["nodeName"] \
        == node.name
    pods.create(make_pod("one-more", SLEEP, resources={"limits": {"nvidia.com/gpu": "1"}}))
    ev = wait_for(lambda: pods.event("one-more", "FailedScheduling"), "one-more unschedulable")
    assert "1 Insufficient nvidia.com/gpu" in ev["message"]
    # cpu is checked too
    pods.create(make_pod("big-cpu", SLEEP, resources={"requests": {"cpu": "64"}}))
    ev = wait_for(lambda: pods.event("big-cpu", "FailedScheduling"), "big-cpu unschedulable")
    assert ev["message"].startswith("0/1 nodes are available: 1 Insufficient cpu.")


def test_taints_and_node_selectors(kube_node_factory, kube_hub, pods):
    node = kube_node_factory(labels={"saturn.test/pool": "gpu"}, taints=[
        {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}])
    pods.create(make_pod("untolerated", SLEEP))
    ev = wait_for(lambda: pods.event("untolerated", "FailedScheduling"), "taint rejection")
    assert "1 node(s) had untolerated taint {nvidia.com/gpu: present}" in ev["message"]
    tol = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    pods.create(make_pod("wrong-pool", SLEEP, tolerations=tol,
                         nodeSelector={"saturn.test/pool": "cpu"}))
    ev = wait_for(lambda: pods.event("wrong-pool", "FailedScheduling"), "selector rejection")
    assert "1 node(s) didn't match Pod's node affinity/selector" in ev["message"]
    pods.create(make_pod("fits", SLEEP, tolerations=tol, nodeSelector={"saturn.test/pool": "gpu"}))
    assert wait_for(lambda: pods.ready("fits"), "fits running")["spec"]["nodeName"] == node.name


def test_exit_codes_become_pod_phases(kube_node, kube_hub, pods):
    pods.create(make_pod("ok", ["python", "-c", "print('bye')"]))
    pods.create(make_pod("bad", ["python", "-c", "import sys; sys.exit(3)"]))
    pods.create(make_pod("missing", ["/nonexistent/saturn-binary"]))
    wait_for(lambda: pods.phase("ok", "Succeeded"), "ok Succeeded")
    bad = wait_for(lambda: pods.phase("bad", "Failed"), "bad Failed")
    term = bad["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (3, "Error")
    missing = wait_for(lambda: pods.phase("missing", "Failed"), "missing Failed")
    assert missing["status"]["containerStatuses"][0]["state"]["terminated"]["reason"] == \
        "StartError"
    assert "bye" in kube_node.pod_log(pods.ns, "ok")


def _claim(name: str, storage_class: str, size: str = "1Gi") -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                     "resources": {"requests": {"storage": size}}}}


def _bound(pods: Pods, name: str):
    pvc = pods.c.get(f"{pods.base}/persistentvolumeclaims/{name}")
    return pvc if pvc.get("status", {}).get("phase") == "Bound" else None


def test_pvc_volume_persists_across_pods(kube_node, kube_hub, pods, kube_control_plane):
    pods.c.post(f"{pods.base}/persistentvolumeclaims", _claim("home-alice", "expandable"))
    vol = {"volumes": [{"name": "home", "persistentVolumeClaim": {"claimName": "home-alice"}}]}
    mount = {"volumeMounts": [{"name": "home", "mountPath": "/home/jovyan"}],
             "workingDir": "/home/jovyan", "env": [{"name": "HOME", "value": "/home/jovyan"}]}
    write = "import os; open('note.txt', 'w').write(os.environ['HOME'])"
    pods.create(make_pod("writer", ["python", "-c", write], container=mount, **vol))
    wait_for(lambda: pods.phase("writer", "Succeeded"), "writer Succeeded")
    pv_name = _bound(pods, "home-alice")["spec"]["volumeName"]
    pv = kube_control_plane.admin.get(f"/api/v1/persistentvolumes/{pv_name}")
    local = Path(pv["spec"]["hostPath"]["path"])
    assert (local / "note.txt").read_text() == str(local)  # HOME was mapped to the volume

    read = "import os, sys; sys.exit(0 if open('note.txt').read() == os.environ['HOME'] else 9)"
    pods.create(make_pod("reader", ["python", "-c", read], container=mount, **vol))
    wait_for(lambda: pods.phase("reader", "Succeeded", "Failed"), "reader done")
    assert pods.get("reader")["status"]["phase"] == "Succeeded", kube_node.pod_log(pods.ns,
                                                                                   "reader")


def test_pvc_expansion_only_on_expandable_class(kube_node, kube_hub, pods, kube_control_plane):
    for name, sc in (("grow", "expandable"), ("stuck", "fixed")):
        pods.c.post(f"{pods.base}/persistentvolumeclaims", _claim(name, sc))
        pvc = wait_for(lambda: _bound(pods, name), f"{name} Bound")
        assert pvc["status"]["capacity"]["storage"] == "1Gi"

    pods.c.patch(f"{pods.base}/persistentvolumeclaims/grow",
                 {"spec": {"resources": {"requests": {"storage": "2Gi"}}}})
    wait_for(lambda: _bound(pods, "grow")["status"]["capacity"]["storage"] == "2Gi",
             "grow capacity 2Gi")
    pv = kube_control_plane.admin.get(
        f"/api/v1/persistentvolumes/{_bound(pods, 'grow')['spec']['volumeName']}")
    assert pv["spec"]["capacity"]["storage"] == "2Gi"

    with pytest.raises(ApiError) as info:  # refused by the apiserver's admission itself
        pods.c.patch(f"{pods.base}/persistentvolumeclaims/stuck",
                     {"spec": {"resources": {"requests": {"storage": "2Gi"}}}})
    assert info.value.status == 403
    assert "must support resize" in info.value.message
    assert _bound(pods, "stuck")["status"]["capacity"]["storage"] == "1Gi"

    # deleting a claim finalizes it and removes its volume
    pv_name = _bound(pods, "stuck")["spec"]["volumeName"]
    pods.c.delete(f"{pods.base}/persistentvolumeclaims/stuck")

    def gone(path):
        try:
            kube_control_plane.admin.get(path)
            return False
        except ApiError as exc:
            return exc.status == 404

    wait_for(lambda: gone(f"{pods.base}/persistentvolumeclaims/stuck"), "claim deleted")
    wait_for(lambda: gone(f"/api/v1/persistentvolumes/{pv_name}"), "volume deleted")


def test_stopping_the_agent_kills_pods_and_removes_node(kube_node_factory, kube_hub, pods,
                                                        kube_control_plane):
    node = kube_node_factory()
    pods.create(make_pod("sleeper", SLEEP))
    wait_for(lambda: pods.ready("sleeper"), "sleeper running")
    proc = node.process_of(pods.ns, "sleeper")
    node.stop()
    assert proc.poll() is not None
    assert pods.get("sleeper") is None
    with pytest.raises(ApiError) as info:
        kube_control_plane.admin.get(f"/api/v1/nodes/{node.name}")
    assert info.value.status == 404
