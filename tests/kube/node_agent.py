"""A fake node for the test control plane: kubelet + kube-scheduler + PVC controller.

:class:`NodeAgent` registers a Ready Node and runs a polling loop in a thread:

* scheduler (one agent per cluster does it: the alphabetically first scheduling node)
  binds Pending pods whose nodeSelector / required node affinity / tolerations / resource
  requests fit, else sets PodScheduled=False and posts ``FailedScheduling`` like
  kube-scheduler; it also runs the PVC controller of ``storage.py``;
* kubelet: for pods bound to this node it runs the first container as a local process on
  its own loopback IP (see ``pod_runtime.py``), reports Pending -> Running -> Succeeded/
  Failed with kubelet-like events, and on deletion kills the process group and finalizes
  the delete. Containers are never restarted, whatever ``restartPolicy`` says.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import signal
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from . import versions
from .client import ApiError, KubeClient
from .events import now_rfc3339, post_event
from .pod_runtime import IpAllocator, PodRuntime, VolumeNotReady, default_base_env
from .scheduling import node_ready, schedule
from .status import pod_status
from .storage import PvcController, ensure_storage_classes

log = logging.getLogger("saturn.kube.node_agent")

AGENT_LABEL = "saturn.test/node-agent"
SCHEDULER_ANNOTATION = "saturn.test/scheduler"
_ips = IpAllocator()
_ips_lock = threading.Lock()


@dataclass
class _PodState:
    runtime: PodRuntime | None = None
    ip: str = ""
    ip_fd: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    reason: str = ""
    message: str = ""
    ready: bool = False
    ready_since: float | None = None
    probe_failures: int = 0
    next_probe: float = 0.0
    kill_deadline: float | None = None
    reported: dict = field(default_factory=dict)
    warned: str = ""


class NodeAgent:
    """One fake Node; ``start()`` registers it and starts the loop, ``stop()`` kills all
    pod processes, force-deletes this node's pods and deletes the Node."""

    def __init__(self, control_plane, name: str = "saturn-node", *, cpu: str = "4",
                 memory: str = "8Gi", gpus: int = 0, gpu_resource: str = "nvidia.com/gpu",
                 max_pods: int = 110, labels: dict | None = None, taints: list | None = None,
                 scheduler: bool = True, scheduler_names: set | None = None,
                 base_env: dict | None = None, interval: float = 0.5,
                 max_grace_seconds: float = 30.0):
        self.cp, self.name = control_plane, name
        self.client = KubeClient(control_plane.url, control_plane.ca_file,
                                 cert=(str(control_plane.pki.admin_cert),
                                       str(control_plane.pki.admin_key)))
        self.capacity = {"cpu": str(cpu), "memory": str(memory), "pods": str(max_pods),
                         "ephemeral-storage": "100Gi"}
        if gpus:
            self.capacity[gpu_resource] = str(gpus)
        self.labels, self.taints = dict(labels or {}), list(taints or [])
        self.scheduler, self.scheduler_names = scheduler, scheduler_names
        self.base_env = base_env if base_env is not None else default_base_env()
        self.interval, self.max_grace = interval, max_grace_seconds
        self.workdir = Path(tempfile.mkdtemp(prefix=f"saturn-node-{name}-"))
        self.pvc_controller = PvcController(self.client, control_plane.volumes_dir)
        self._pods: dict[str, _PodState] = {}
        self._failed_sched: dict[str, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loops = 0
        self.last_error: BaseException | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> "NodeAgent":
        _live.add(self)
        ensure_storage_classes(self.client)
        self._register()
        self._thread = threading.Thread(target=self._run, name=f"node-agent-{self.name}",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while self._loops < 1:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"node agent {self.name} did not start: {self.last_error}")
            time.sleep(0.05)
        return self

    def stop(self, delete_node: bool = True) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=60)
        for uid, st in list(self._pods.items()):
            self._terminate(st)
        self._pods.clear()
        if delete_node:
            for pod in self._list_own_pods():
                m = pod["metadata"]
                self._delete_pod(m["namespace"], m["name"], m["uid"])
            try:
                self.client.delete(f"/api/v1/nodes/{self.name}")
            except ApiError:
                pass
        self.client.close()
        shutil.rmtree(self.workdir, ignore_errors=True)
        _live.discard(self)

    def __enter__(self) -> "NodeAgent":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- helpers for tests ----------------------------------------------------------------
    def process_of(self, namespace: str, name: str):
        """The ``subprocess.Popen`` of a pod's container on this node, or None."""
        for st in list(self._pods.values()):
            rt = st.runtime
            if rt and rt.pod["metadata"]["namespace"] == namespace and \
                    rt.pod["metadata"]["name"] == name:
                return rt.proc
        return None

    def pod_log(self, namespace: str, name: str) -> str:
        for d in (self.workdir / "pods").glob(f"{namespace}_{name}_*"):
            f = d / "container.log"
            if f.exists():
                return f.read_text(errors="replace")
        return ""

    # -- node registration ----------------------------------------------------------------
    def _register(self) -> None:
        labels = {"kubernetes.io/hostname": self.name, "kubernetes.io/os": "linux",
                  "kubernetes.io/arch": "amd64", AGENT_LABEL: "true", **self.labels}
        node = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": self.name, "labels": labels, "annotations": {
                    SCHEDULER_ANNOTATION: str(self.scheduler).lower()}},
                "spec": {"taints": self.taints}}
        try:
            self.client.post("/api/v1/nodes", node)
        except ApiError as exc:
            if exc.status != 409:
                raise
            self.client.delete(f"/api/v1/nodes/{self.name}")
            self.client.post("/api/v1/nodes", node)
        stamp = now_rfc3339()
        conds = [{"type": t, "status": "False", "reason": f"KubeletHasNo{t}",
                  "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}
                 for t in ("MemoryPressure", "DiskPressure", "PIDPressure")]
        conds.append({"type": "Ready", "status": "True", "reason": "KubeletReady",
                      "message": "saturn node agent is posting ready status",
                      "lastHeartbeatTime": stamp, "lastTransitionTime": stamp})
        self.client.patch(f"/api/v1/nodes/{self.name}/status", {"status": {
            "capacity": self.capacity, "allocatable": self.capacity, "conditions": conds,
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                          {"type": "Hostname", "address": self.name}],
            "nodeInfo": {"kubeletVersion": versions.KUBERNETES_VERSION,
                         "kubeProxyVersion": "", "operatingSystem": "linux",
                         "architecture": "amd64", "containerRuntimeVersion": "saturn-local://1",
                         "osImage": "saturn node agent", "kernelVersion": "",
                         "machineID": "", "systemUUID": "", "bootID": ""}}}, kind="strategic")
        # The TaintNodesByCondition admission plugin adds node.kubernetes.io/not-ready at
        # creation; the node lifecycle controller (absent here) would lift it once Ready.
        for _ in range(10):
            cur = self.client.get(f"/api/v1/nodes/{self.name}")
            cur["spec"]["taints"] = [t for t in cur["spec"].get("taints") or []
                                     if not t["key"].startswith("node.kubernetes.io/")]
            try:
                self.client.put(f"/api/v1/nodes/{self.name}", cur)
                break
            except ApiError as exc:
                if exc.status != 409:
                    raise
        post_event(self.client, {"metadata": {"name": self.name, "uid": self.name}}, "Node",
                   "NodeReady", f"Node {self.name} status is now: NodeReady", host=self.name)

    # -- main loop ------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._iteration()
                self.last_error = None
            except Exception as exc:  # keep going: the apiserver may be restarting
                if not isinstance(exc, OSError) and type(exc) is not type(self.last_error):
                    log.exception("node agent %s iteration failed", self.name)
                self.last_error = exc
            self._loops += 1
            self._stop.wait(self.interval)

    def _iteration(self) -> None:
        nodes = self.client.get("/api/v1/nodes", labelSelector=f"{AGENT_LABEL}=true")["items"]
        pods = self.client.get("/api/v1/pods")["items"]
        schedulers = sorted(n["metadata"]["name"] for n in nodes
                            if (n["metadata"].get("annotations") or {})
                            .get(SCHEDULER_ANNOTATION) == "true")
        if self.scheduler and schedulers and schedulers[0] == self.name:
            self.pvc_controller.sync(pods)
            self._schedule(pods, [n for n in nodes if node_ready(n)])
        self._kubelet(pods)

    # -- scheduler --------------------------------------------------------------------------
    def _schedule(self, pods: list[dict], nodes: list[dict]) -> None:
        by_node: dict[str, list[dict]] = {}
        for p in pods:
            if p["spec"].get("nodeName") and p.get("status", {}).get("phase") not in (
                    "Succeeded", "Failed"):
                by_node.setdefault(p["spec"]["nodeName"], []).append(p)
        for pod in pods:
            meta, spec = pod["metadata"], pod["spec"]
            if spec.get("nodeName") or meta.get("deletionTimestamp"):
                continue
            if self.scheduler_names and spec.get("schedulerName") not in self.scheduler_names:
                continue
            msg = self._volume_prefilter(pod, len(nodes))
            target = None
            if not msg:
                target, msg = schedule(pod, nodes, by_node)
            if target:
                self._bind(pod, target)
                by_node.setdefault(target, []).append(pod)
            else:
                self._unschedulable(pod, msg)

    def _volume_prefilter(self, pod: dict, n: int) -> str:
        ns = pod["metadata"]["namespace"]
        for vol in pod["spec"].get("volumes") or []:
            claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
            if not claim:
                continue
            try:
                pvc = self.client.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{claim}")
            except ApiError as exc:
                if exc.status == 404:
                    return f'0/{n} nodes are available: persistentvolumeclaim "{claim}" not found.'
                raise
            if (pvc.get("status") or {}).get("phase") != "Bound":
                return f"0/{n} nodes are available: pod has unbound immediate PersistentVolumeClaims."
        return ""

    def _bind(self, pod: dict, node: str) -> None:
        m = pod["metadata"]
        try:
            self.client.post(f"/api/v1/namespaces/{m['namespace']}/pods/{m['name']}/binding", {
                "apiVersion": "v1", "kind": "Binding", "metadata": {"name": m["name"]},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node}})
        except ApiError as exc:
            if exc.status in (404, 409):
                return
            raise
        self._failed_sched.pop(m["uid"], None)
        post_event(self.client, pod, "Pod", "Scheduled",
                   f"Successfully assigned {m['namespace']}/{m['name']} to {node}",
                   component="default-scheduler")

    def _unschedulable(self, pod: dict, msg: str) -> None:
        m = pod["metadata"]
        last = self._failed_sched.get(m["uid"])
        if last and last[0] == msg and time.monotonic() - last[1] < 15:
            return
        self._failed_sched[m["uid"]] = (msg, time.monotonic())
        cond = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": msg, "lastTransitionTime": now_rfc3339(), "lastProbeTime": None}
        try:
            self.client.patch(f"/api/v1/namespaces/{m['namespace']}/pods/{m['name']}/status",
                              {"status": {"conditions": [cond]}}, kind="strategic")
        except ApiError as exc:
            if exc.status != 404:
                raise
        post_event(self.client, pod, "Pod", "FailedScheduling", msg, type_="Warning",
                   component="default-scheduler")

    # -- kubelet ------------------------------------------------------------------------------
    def _list_own_pods(self) -> list[dict]:
        try:
            return self.client.get("/api/v1/pods", fieldSelector=f"spec.nodeName={self.name}")[
                "items"]
        except (ApiError, OSError):
            return []

    def _kubelet(self, pods: list[dict]) -> None:
        mine = {p["metadata"]["uid"]: p for p in pods if p["spec"].get("nodeName") == self.name}
        for uid in set(self._pods) - set(mine):  # force-deleted behind our back
            self._terminate(self._pods.pop(uid))
        for uid, pod in mine.items():
            if pod["metadata"].get("deletionTimestamp"):
                self._handle_deletion(pod)
                continue
            st = self._pods.get(uid)
            if st is None:
                if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                    continue
                st = self._pods[uid] = _PodState()
                if pod.get("status", {}).get("phase") == "Running":
                    st.exit_code, st.finished_at, st.reason = 137, time.time(), "ContainerLost"
            if st.runtime is None and st.exit_code is None:
                self._start_pod(pod, st)
            elif st.exit_code is None:
                self._check_running(pod, st)
            self._report(pod, st)

    def _start_pod(self, pod: dict, st: _PodState) -> None:
        m = pod["metadata"]
        if not st.ip:
            with _ips_lock:
                st.ip, st.ip_fd = _ips.allocate()
        root = self.workdir / "pods" / f"{m['namespace']}_{m['name']}_{m['uid'][:8]}"
        service_env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1",
                       "KUBERNETES_SERVICE_PORT": str(self.cp.port),
                       "KUBERNETES_SERVICE_PORT_HTTPS": str(self.cp.port)}
        rt = PodRuntime(self.client, pod, st.ip, root, self.base_env, service_env)
        cname = rt.container["name"]
        try:
            rt.start()
        except VolumeNotReady as exc:
            if st.warned != str(exc):
                st.warned = str(exc)
                post_event(self.client, pod, "Pod", "FailedMount", f"MountVolume failed: {exc}",
                           type_="Warning", host=self.name)
            return
        except (OSError, ApiError, KeyError, ValueError) as exc:
            st.runtime, st.exit_code, st.reason = rt, 128, "StartError"
            st.message = str(exc)
            st.started_at = st.finished_at = time.time()
            post_event(self.client, pod, "Pod", "Failed", f"Error: {exc}", type_="Warning",
                       host=self.name, field_path=f"spec.containers{{{cname}}}")
            return
        st.runtime, st.started_at = rt, time.time()
        fp = f"spec.containers{{{cname}}}"
        image = rt.container.get("image", "")
        for reason, msg in (("Pulled", f'Container image "{image}" already present on machine'),
                            ("Created", f"Created container: {cname}"),
                            ("Started", f"Started container {cname}")):
            post_event(self.client, pod, "Pod", reason, msg, host=self.name, field_path=fp)
        probe = rt.container.get("readinessProbe")
        if not probe:
            st.ready, st.ready_since = True, st.started_at
        else:
            st.next_probe = time.monotonic() + float(probe.get("initialDelaySeconds") or 0)

    def _check_running(self, pod: dict, st: _PodState) -> None:
        rt = st.runtime
        code = rt.poll()
        if code is not None:
            rt.kill_now()  # leftovers of the process group die with the container
            st.exit_code = code if code >= 0 else 128 - code
            st.reason = "Completed" if code == 0 else "Error"
            st.finished_at, st.ready = time.time(), False
            self._release_ip(st)
            return
        probe = rt.container.get("readinessProbe")
        if probe and time.monotonic() >= st.next_probe:
            st.next_probe = time.monotonic() + min(float(probe.get("periodSeconds") or 10), 1.0)
            if rt.probe(probe):
                st.probe_failures = 0
                if not st.ready:
                    st.ready, st.ready_since = True, time.time()
            else:
                st.probe_failures += 1
                if st.ready and st.probe_failures >= int(probe.get("failureThreshold") or 3):
                    st.ready, st.ready_since = False, time.time()

    def _report(self, pod: dict, st: _PodState) -> None:
        status = pod_status(pod, st)
        if status == st.reported:
            return
        m = pod["metadata"]
        try:
            self.client.patch(f"/api/v1/namespaces/{m['namespace']}/pods/{m['name']}/status",
                              {"status": status})
            st.reported = status
        except ApiError as exc:
            if exc.status not in (404, 409):
                raise

    def _handle_deletion(self, pod: dict) -> None:
        m = pod["metadata"]
        st = self._pods.get(m["uid"])
        rt = st.runtime if st else None
        if rt and rt.proc and rt.poll() is None:
            if st.kill_deadline is None:
                grace = m.get("deletionGracePeriodSeconds")
                if grace is None:
                    grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
                st.kill_deadline = time.monotonic() + min(float(grace), self.max_grace)
                post_event(self.client, pod, "Pod", "Killing",
                           f"Stopping container {rt.container['name']}", host=self.name,
                           field_path=f"spec.containers{{{rt.container['name']}}}")
                rt.signal_group(signal.SIGTERM)
            if time.monotonic() < st.kill_deadline:
                return
        if st:
            self._terminate(self._pods.pop(m["uid"]))
        self._delete_pod(m["namespace"], m["name"], m["uid"])

    def _delete_pod(self, ns: str, name: str, uid: str) -> None:
        try:
            self.client.delete(f"/api/v1/namespaces/{ns}/pods/{name}", {
                "apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                "preconditions": {"uid": uid}})
        except ApiError as exc:
            if exc.status not in (404, 409):
                raise

    def _terminate(self, st: _PodState) -> None:
        if st.runtime:
            st.runtime.kill_now()
        self._release_ip(st)

    @staticmethod
    def _release_ip(st: _PodState) -> None:
        if st.ip_fd is not None:
            with _ips_lock:
                _ips.release(st.ip_fd)
            st.ip_fd = None


_live: "weakref.WeakSet[NodeAgent]" = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """Never leave pod processes behind, even if a test forgot stop()."""
    for agent in list(_live):
        try:
            agent.stop(delete_node=False)
        except Exception:  # the apiserver may already be gone
            pass
