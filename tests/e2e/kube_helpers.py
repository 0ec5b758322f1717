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

#: the user-pod tolerations the z2jh chart 4.x always sets (scheduling.userPods.tolerations)
CHART_TOLERATIONS = [
    {"key": "hub.jupyter.org/dedicated", "operator": "Equal", "value": "user", "effect": "NoSchedule"},
    {"key": "hub.jupyter.org_dedicated", "operator": "Equal", "value": "user", "effect": "NoSchedule"},
]
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


# ---------------------------------------------------------------- the z2jh chart's hub config, for tests
#
# What the Zero to JupyterHub chart 4.x's own jupyterhub_config.py sets for user pods from its values
# (written from the chart's documented behaviour, for the keys that shape a user pod), so that
# helm-values/*.yaml can be checked against a real apiserver and run by a real hub without helm.

CHART_DEFAULTS = {
    "singleuser": {
        "extraTolerations": [], "nodeSelector": {}, "extraEnv": {}, "uid": 1000, "fsGid": 100,
        "extraLabels": {"hub.jupyter.org/network-access-hub": "true"}, "allowPrivilegeEscalation": False,
        "cloudMetadata": {"blockWithIptables": True, "ip": "169.254.169.254"},
        "networkTools": {"image": {"name": "quay.io/jupyterhub/k8s-network-tools", "tag": "4.2.0"}},
        "events": True, "startTimeout": 300, "cmd": "jupyterhub-singleuser", "profileList": [],
        "image": {"name": "quay.io/jupyterhub/k8s-singleuser-sample", "tag": "4.2.0"},
        "memory": {"limit": None, "guarantee": "1G"}, "cpu": {"limit": None, "guarantee": None},
        "storage": {
            "type": "dynamic", "capacity": "10Gi", "homeMountPath": "/home/jovyan",
            "extraVolumes": [], "extraVolumeMounts": [],
            "dynamic": {"storageClass": None, "pvcNameTemplate": None, "volumeNameTemplate": "volume-{user_server}",
                        "storageAccessModes": ["ReadWriteOnce"]},
        },
    },
    "scheduling": {
        "userScheduler": {"enabled": True},
        "userPods": {"tolerations": CHART_TOLERATIONS, "nodeAffinity": {"matchNodePurpose": "prefer"}},
    },
    "hub": {"config": {}, "extraConfig": {}},
}


def merge_values(base: dict, override: dict) -> dict:
    """Helm's values merge: maps merge recursively, everything else (lists too) replaces."""
    out = dict(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_values(out[key], value)
        else:
            out[key] = value
    return out


def chart_config(values: dict, release: str = "jhub") -> str:
    """Python config lines equivalent to what the chart sets for ``values`` (merged over its defaults)."""
    v = merge_values(CHART_DEFAULTS, values)
    su, storage = v["singleuser"], v["singleuser"]["storage"]
    lines = [
        "c.JupyterHub.cleanup_servers = False",
        f"c.KubeSpawner.common_labels = {{'app': 'jupyterhub', 'heritage': 'jupyterhub', 'release': {release!r}}}",
        f"c.KubeSpawner.start_timeout = {su['startTimeout']!r}",
        f"c.KubeSpawner.events_enabled = {su['events']!r}",
        f"c.KubeSpawner.extra_labels = {su['extraLabels']!r}",
        f"c.KubeSpawner.uid = {su['uid']!r}",
        f"c.KubeSpawner.fs_gid = {su['fsGid']!r}",
        f"c.KubeSpawner.allow_privilege_escalation = {su['allowPrivilegeEscalation']!r}",
        f"c.KubeSpawner.node_selector = {su['nodeSelector']!r}",
        f"c.KubeSpawner.environment = {su['extraEnv']!r}",
        f"c.KubeSpawner.profile_list = {su['profileList']!r}",
        f"c.KubeSpawner.image = {su['image']['name'] + ':' + su['image']['tag']!r}",
        f"c.Spawner.cmd = {su['cmd']!r}",
    ]
    for trait, key in (("mem_limit", "limit"), ("mem_guarantee", "guarantee")):
        if su["memory"].get(key) is not None:
            lines.append(f"c.KubeSpawner.{trait} = {su['memory'][key]!r}")
    for trait, key in (("cpu_limit", "limit"), ("cpu_guarantee", "guarantee")):
        if su["cpu"].get(key) is not None:
            lines.append(f"c.KubeSpawner.{trait} = {su['cpu'][key]!r}")
    if v["scheduling"]["userScheduler"]["enabled"]:
        lines.append("c.KubeSpawner.scheduler_name = 'user-scheduler'")
    purpose = v["scheduling"]["userPods"]["nodeAffinity"]["matchNodePurpose"]
    term = {"matchExpressions": [{"key": "hub.jupyter.org/node-purpose", "operator": "In", "values": ["user"]}]}
    if purpose == "prefer":
        lines.append(f"c.KubeSpawner.node_affinity_preferred = [{{'weight': 100, 'preference': {term!r}}}]")
    elif purpose == "require":
        lines.append(f"c.KubeSpawner.node_affinity_required = [{term!r}]")
    tolerations = list(v["scheduling"]["userPods"]["tolerations"]) + list(su["extraTolerations"])
    if tolerations:
        lines.append(f"c.KubeSpawner.tolerations = {tolerations!r}")
    volumes, mounts = [], []
    if storage["type"] == "dynamic":
        dyn = storage["dynamic"]
        if dyn.get("pvcNameTemplate"):
            lines.append(f"c.KubeSpawner.pvc_name_template = {dyn['pvcNameTemplate']!r}")
        lines.append("c.KubeSpawner.storage_pvc_ensure = True")
        if dyn.get("storageClass"):
            lines.append(f"c.KubeSpawner.storage_class = {dyn['storageClass']!r}")
        lines.append(f"c.KubeSpawner.storage_access_modes = {dyn['storageAccessModes']!r}")
        lines.append(f"c.KubeSpawner.storage_capacity = {storage['capacity']!r}")
        volumes.append({"name": dyn["volumeNameTemplate"], "persistentVolumeClaim": {"claimName": "{pvc_name}"}})
        mounts.append({"mountPath": storage["homeMountPath"], "name": dyn["volumeNameTemplate"]})
    lines.append(f"c.KubeSpawner.volumes = {volumes + list(storage['extraVolumes'])!r}")
    lines.append(f"c.KubeSpawner.volume_mounts = {mounts + list(storage['extraVolumeMounts'])!r}")
    meta = su["cloudMetadata"]
    if meta.get("blockWithIptables"):
        tools = su["networkTools"]["image"]
        init = {"name": "block-cloud-metadata", "image": f"{tools['name']}:{tools['tag']}",
                "command": ["iptables", "-A", "OUTPUT", "-d", meta.get("ip", "169.254.169.254"), "-j", "DROP"],
                "securityContext": {"privileged": True, "runAsUser": 0, "capabilities": {"add": ["NET_ADMIN"]}}}
        lines.append(f"c.KubeSpawner.init_containers = [{init!r}]")
    for section, cfg in (v["hub"].get("config") or {}).items():
        lines.append(f"c[{section!r}].update({cfg!r})")
    for key, code in sorted((v["hub"].get("extraConfig") or {}).items()):
        lines.append(f"# hub.extraConfig.{key}\n{code}")
    return "\n".join(lines) + "\n"


def load_values(path) -> dict:
    import yaml  # noqa: PLC0415

    with open(path) as f:
        return yaml.safe_load(f) or {}
