"""Helpers for the saturn-kube end-to-end tests: a real hub pointed at the test kube-apiserver.

The hub talks to the apiserver with the ``hub`` ServiceAccount token of ``tests/kube/hub-rbac.yaml``
(the z2jh hub Role plus ``patch`` on PVCs): a missing permission is a real 403. Pods run as
local processes through the node agent (``tests/kube/node_agent.py``) on 127.0.0.x addresses.
"""

from __future__ import annotations

import json
import os
import time

import requests

from ..harness import BIN, Hub, wait_for
from ..kube.client import ApiError


def _chart_defaults() -> dict:
    import yaml  # noqa: PLC0415

    from ..chart.chart import chart_dir  # noqa: PLC0415

    return yaml.safe_load((chart_dir() / "values.yaml").read_text())

#: the user-pod tolerations the z2jh chart always sets (scheduling.userPods.tolerations), read from the chart
CHART_TOLERATIONS = _chart_defaults()["scheduling"]["userPods"]["tolerations"]
#: the taint the chart's tolerations are for: a node dedicated to user pods
USER_TAINT = {"key": "hub.jupyter.org/dedicated", "value": "user", "effect": "NoSchedule"}
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}

KUBE_BASE = """
c.JupyterHub.spawner_class = "saturn-kube"
c.KubeSpawner.namespace = {ns!r}
c.KubeSpawner.image = "local/python"
c.KubeSpawner.cmd = [{singleuser!r}]
c.KubeSpawner.args = {args!r}
c.KubeSpawner.hub_connect_url = "http://127.0.0.1:{hub_port}"
c.KubeSpawner.start_timeout = {start_timeout}
c.KubeSpawner.http_timeout = 60
c.KubeSpawner.tolerations = {tolerations!r}
"""


def singleuser_args() -> list[str]:
    # the node agent runs pod commands as this user; a single-user server refuses root without this
    return ["--allow-root"] if os.geteuid() == 0 else []


def kube_hub_config(hub: Hub, access, extra: str = "", *, start_timeout: int = 90) -> str:
    """The config lines for a saturn-kube hub using ``access`` (a HubAccess) and the test node agent."""
    return KUBE_BASE.format(
        ns=access.namespace, singleuser=str(BIN / "jupyterhub-singleuser"), args=singleuser_args(),
        hub_port=hub.hub_port, start_timeout=start_timeout, tolerations=CHART_TOLERATIONS,
    ) + extra


def make_kube_hub(workdir, access, extra: str = "", *, start: bool = True, start_timeout: int = 90,
                  factory=None) -> Hub:
    """A real hub (harness ``Hub``, or through ``hub_factory``) configured for saturn-kube."""
    env = {"KUBECONFIG": str(access.kubeconfig)}
    if factory is not None:
        hub = factory("", start=False, env=env)
    else:
        hub = Hub(workdir, "", env=env)
    hub.write_config(kube_hub_config(hub, access, extra, start_timeout=start_timeout))
    if start:
        hub.start()
    return hub


class Cluster:
    """Read what the hub created, with the hub's own (RBAC-limited) client."""

    def __init__(self, access):
        self.c, self.ns = access.client, access.namespace
        self.base = f"/api/v1/namespaces/{self.ns}"

    def _get(self, path: str) -> dict | None:
        try:
            return self.c.get(path)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def pod(self, name: str) -> dict | None:
        return self._get(f"{self.base}/pods/{name}")

    def pvc(self, name: str) -> dict | None:
        return self._get(f"{self.base}/persistentvolumeclaims/{name}")

    def pod_names(self) -> set[str]:
        items = self.c.get(f"{self.base}/pods", labelSelector="component=singleuser-server")["items"]
        return {p["metadata"]["name"] for p in items}

    def pvc_names(self) -> set[str]:
        return {p["metadata"]["name"] for p in self.c.get(f"{self.base}/persistentvolumeclaims")["items"]}

    def events(self, name: str) -> list[dict]:
        items = self.c.get(f"{self.base}/events", fieldSelector=f"involvedObject.name={name}")["items"]
        return sorted(items, key=lambda e: e["metadata"]["creationTimestamp"])

    def wait_pod_gone(self, name: str, timeout: float = 90) -> None:
        wait_for(lambda: self.pod(name) is None, timeout=timeout, what=f"pod {name} deleted")

    def wait_pvc_gone(self, name: str, timeout: float = 90) -> None:
        wait_for(lambda: self.pvc(name) is None, timeout=timeout, what=f"pvc {name} deleted")


def notebook_container(pod: dict) -> dict:
    return next(c for c in pod["spec"]["containers"] if c["name"] == "notebook")


def pod_env(pod: dict) -> dict:
    return {e["name"]: e.get("value", "") for e in notebook_container(pod).get("env", [])}


def reach_server(hub: Hub, user: str, model: dict) -> requests.Response:
    """GET the server's /api/status through the proxy with a token of the user."""
    token = hub.user_token(user)
    return requests.get(hub.url + model["url"] + "api/status", headers={"Authorization": f"token {token}"},
                        timeout=30)


def progress_events(hub: Hub, user: str, server: str = "", timeout: float = 180) -> list[dict]:
    """Read the spawn's progress event stream until it reports ready or failed (or ``timeout``)."""
    path = f"/users/{user}/servers/{server}/progress" if server else f"/users/{user}/server/progress"
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    with hub.api("GET", path, stream=True, timeout=(10, timeout)) as r:
        assert r.status_code == 200, r.text
        for raw in r.iter_lines(decode_unicode=True):
            if raw and raw.startswith("data:"):
                event = json.loads(raw[5:])
                events.append(event)
                if event.get("ready") or event.get("failed"):
                    break
            if time.monotonic() > deadline:
                break
    return events


def wait_spawn_settled(hub: Hub, user: str, timeout: float = 180) -> dict:
    """Wait until the user's default server is ready or gone (spawn failed); return the user model."""

    def settled():
        model = hub.user_model(user)
        srv = model.get("servers", {}).get("")
        if srv and srv.get("ready"):
            return model
        if not srv and not model.get("pending"):
            return model
        return None

    return wait_for(settled, timeout=timeout, interval=0.5, what=f"spawn of {user} to finish")
