"""Run a pod's first container as a local process (the "container runtime" of the node agent).

Mapping rules (also in README.md):
* every pod gets its own loopback IP (127.0.0.2, 127.0.0.3, ...; unique across processes
  via lock files) which is its ``status.podIP``; the process sees it as ``SATURN_POD_IP``;
* each volumeMount's ``mountPath`` maps to a local directory: a PVC volume to its
  PersistentVolume's ``hostPath`` (shared, persists across pods of the claim), emptyDir/
  secret/configMap/other volumes to a per-pod directory (secret and configMap keys are
  written as files);
* ``workingDir`` and ``HOME`` outside every mount become directories of the pod's private
  ``rootfs`` directory (treated like extra mounts); every env value / argument that starts
  with a mountPath (also after ``=`` or ``:``) is rewritten to the local path; ``HOME``
  defaults to the working directory;
* ``0.0.0.0`` in env values and arguments becomes the pod IP (it means "all interfaces
  of the pod" in a real pod, "all of the host" here);
* ``SATURN_VOLUME_MAP`` holds the JSON {mountPath: local dir}.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

from .client import ApiError, KubeClient

_LOCK_DIR = Path(tempfile.gettempdir()) / "saturn-kube-podips"


class VolumeNotReady(Exception):
    """A volume of the pod cannot be set up yet (e.g. its claim is not bound)."""


class IpAllocator:
    """Hands out 127.0.x.y addresses; a flock'ed file per address keeps concurrent test
    sessions on the same machine from reusing an address while a pod holds it."""

    def __init__(self):
        _LOCK_DIR.mkdir(exist_ok=True)
        self._next = 2

    def allocate(self) -> tuple[str, int]:
        for _ in range(254 * 254):
            n, self._next = self._next, self._next + 1
            if self._next > 254 * 255:
                self._next = 2
            if n % 256 in (0, 255) or n < 2:
                continue
            ip = f"127.0.{n // 256}.{n % 256}"
            fd = os.open(_LOCK_DIR / ip, os.O_CREAT | os.O_RDWR, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return ip, fd
            except OSError:
                os.close(fd)
        raise RuntimeError("no free loopback address for a pod")

    @staticmethod
    def release(fd: int) -> None:
        os.close(fd)  # closing drops the flock


_ANY_ADDR = re.compile(r"(?<![\d.])0\.0\.0\.0(?![\d.])")
_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(s: str, env: dict) -> str:
    """Kubernetes ``$(VAR)`` expansion (``$$`` escapes; unknown names stay literal)."""
    def sub(m):
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return _VAR.sub(sub, s)


def _field_ref(path: str, pod: dict, pod_ip: str) -> str:
    meta, spec = pod["metadata"], pod["spec"]
    m = re.match(r"metadata\.(labels|annotations)\['(.+)'\]$", path)
    if m:
        return (meta.get(m.group(1)) or {}).get(m.group(2), "")
    return str({"metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace"),
                "metadata.uid": meta.get("uid"), "spec.nodeName": spec.get("nodeName"),
                "spec.serviceAccountName": spec.get("serviceAccountName"),
                "status.podIP": pod_ip, "status.podIPs": pod_ip, "status.hostIP": "127.0.0.1",
                "status.hostIPs": "127.0.0.1",
                }.get(path) or "")


class PathMapper:
    """Maps container paths (mountPath prefixes) to local directories."""

    def __init__(self, mounts: list[tuple[str, Path]], rootfs: Path):
        self.mounts = sorted(((m.rstrip("/") or "/", p) for m, p in mounts),
                             key=lambda mp: -len(mp[0]))
        self.rootfs = rootfs

    def covers(self, p: str) -> bool:
        return any(p == m or p.startswith(m + "/") for m, _ in self.mounts)

    def add_rootfs_dir(self, p: str) -> None:
        """Treat the container path ``p`` (outside all mounts) as a directory of the
        pod's private rootfs, so that env values and args naming it are rewritten too."""
        if p and p.startswith("/") and p != "/" and not self.covers(p):
            local = self.rootfs / p.strip("/")
            local.mkdir(parents=True, exist_ok=True)
            self.mounts = sorted(self.mounts + [(p.rstrip("/"), local)],
                                 key=lambda mp: -len(mp[0]))

    def path(self, p: str) -> Path:
        for mount, local in self.mounts:
            if p == mount or p.startswith(mount + "/"):
                return Path(str(local) + p[len(mount):])
        return self.rootfs / p.lstrip("/")

    def rewrite(self, s: str) -> str:
        for mount, local in self.mounts:
            s = re.sub(rf"(^|[=:]){re.escape(mount)}(?=/|:|$)",
                       lambda m, local=local: m.group(1) + str(local), s)
        return s


class PodRuntime:
    """Builds env/volumes for one pod and runs its first container as a process group."""

    def __init__(self, client: KubeClient, pod: dict, pod_ip: str, pod_root: Path,
                 base_env: dict, service_env: dict):
        self.client, self.pod, self.ip, self.root = client, pod, pod_ip, pod_root
        self.container = pod["spec"]["containers"][0]
        self.base_env, self.service_env = base_env, service_env
        self.proc: subprocess.Popen | None = None
        self.log = pod_root / "container.log"

    # -- volumes --------------------------------------------------------------------
    def _volume_dir(self, vol: dict, ns: str) -> Path:
        name = vol["name"]
        if "persistentVolumeClaim" in vol:
            claim = vol["persistentVolumeClaim"]["claimName"]
            try:
                pvc = self.client.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{claim}")
            except ApiError as exc:
                raise VolumeNotReady(f'persistentvolumeclaim "{claim}" not found') from exc
            pv_name = pvc["spec"].get("volumeName")
            if not pv_name or (pvc.get("status") or {}).get("phase") != "Bound":
                raise VolumeNotReady(f'persistentvolumeclaim "{claim}" is not bound')
            pv = self.client.get(f"/api/v1/persistentvolumes/{pv_name}")
            local = Path((pv["spec"].get("hostPath") or {}).get("path") or self.root / "pv")
            local.mkdir(parents=True, exist_ok=True)
            return local
        local = self.root / "volumes" / name
        local.mkdir(parents=True, exist_ok=True)
        for kind, api in (("secret", "secrets"), ("configMap", "configmaps")):
            if kind in vol:
                ref = vol[kind].get("secretName") or vol[kind].get("name")
                obj = self.client.get(f"/api/v1/namespaces/{ns}/{api}/{ref}")
                for key, val in (obj.get("data") or {}).items():
                    raw = base64.b64decode(val) if kind == "secret" else val.encode()
                    (local / key).write_bytes(raw)
        return local

    def mounts(self) -> PathMapper:
        ns = self.pod["metadata"]["namespace"]
        vols = {v["name"]: v for v in self.pod["spec"].get("volumes") or []}
        mounts = []
        for vm in self.container.get("volumeMounts") or []:
            vol = vols.get(vm["name"])
            if vol is None:
                continue
            local = self._volume_dir(vol, ns)
            if vm.get("subPath"):
                local = local / vm["subPath"]
                local.mkdir(parents=True, exist_ok=True)
            mounts.append((vm["mountPath"], local))
        return PathMapper(mounts, self.root / "rootfs")

    # -- env --------------------------------------------------------------------------
    def _env_from(self, ns: str) -> dict:
        env = {}
        for src in self.container.get("envFrom") or []:
            prefix = src.get("prefix", "")
            for kind, api in (("secretRef", "secrets"), ("configMapRef", "configmaps")):
                if kind in src:
                    obj = self.client.get(f"/api/v1/namespaces/{ns}/{api}/{src[kind]['name']}")
                    for k, v in (obj.get("data") or {}).items():
                        env[prefix + k] = base64.b64decode(v).decode() if api == "secrets" else v
        return env

    def _value_from(self, ref: dict, ns: str) -> str:
        if "fieldRef" in ref:
            return _field_ref(ref["fieldRef"]["fieldPath"], self.pod, self.ip)
        for kind, api in (("secretKeyRef", "secrets"), ("configMapKeyRef", "configmaps")):
            if kind in ref:
                obj = self.client.get(f"/api/v1/namespaces/{ns}/{api}/{ref[kind]['name']}")
                val = (obj.get("data") or {})[ref[kind]["key"]]
                return base64.b64decode(val).decode() if api == "secrets" else val
        if "resourceFieldRef" in ref:
            res = ref["resourceFieldRef"]["resource"]  # e.g. limits.cpu
            section, _, name = res.partition(".")
            return str((self.container.get("resources") or {}).get(section, {}).get(name, ""))
        return ""

    def environment(self, mapper: PathMapper, cwd: Path) -> dict:
        ns = self.pod["metadata"]["namespace"]
        env = dict(self.base_env)
        env.update(self.service_env)
        env["HOSTNAME"] = self.pod["metadata"]["name"]
        env.update(self._env_from(ns))
        for item in self.container.get("env") or []:
            if "valueFrom" in item:
                env[item["name"]] = self._value_from(item["valueFrom"], ns)
            else:
                env[item["name"]] = expand(item.get("value", ""), env)
        env = {k: self.bind_any_to_pod_ip(mapper.rewrite(v)) for k, v in env.items()}
        env.setdefault("HOME", str(cwd))
        env["SATURN_POD_IP"] = self.ip
        env["SATURN_POD_ROOT"] = str(self.root)
        env["SATURN_VOLUME_MAP"] = json.dumps({m: str(p) for m, p in mapper.mounts})
        return env

    def bind_any_to_pod_ip(self, s: str) -> str:
        """Inside a pod's network namespace 0.0.0.0 means "the pod IP": say so, or pods
        sharing this host's network would collide (e.g. KubeSpawner's --ip=0.0.0.0)."""
        return _ANY_ADDR.sub(self.ip, s)

    # -- process ----------------------------------------------------------------------
    def start(self) -> None:
        """Prepare volumes/env and start the process (raises VolumeNotReady/OSError)."""
        self.root.mkdir(parents=True, exist_ok=True)
        mapper = self.mounts()
        mapper.add_rootfs_dir(self.container.get("workingDir") or "")
        for item in self.container.get("env") or []:
            if item.get("name") == "HOME" and "value" in item:
                mapper.add_rootfs_dir(item["value"])
        cwd = mapper.path(self.container.get("workingDir") or "/")
        cwd.mkdir(parents=True, exist_ok=True)
        env = self.environment(mapper, cwd)
        argv = list(self.container.get("command") or []) + list(self.container.get("args") or [])
        argv = [self.bind_any_to_pod_ip(mapper.rewrite(expand(a, env))) for a in argv]
        if not argv:
            raise OSError("container has no command/args (image entrypoints are not supported)")
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)

    def poll(self) -> int | None:
        return self.proc.poll() if self.proc else None

    def signal_group(self, sig: int) -> None:
        if self.proc:
            try:
                os.killpg(self.proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def kill_now(self) -> None:
        """SIGKILL the whole process group and reap the leader."""
        self.signal_group(signal.SIGKILL)
        if self.proc:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass

    # -- probes -----------------------------------------------------------------------
    def _port(self, port) -> int:
        if isinstance(port, int) or str(port).isdigit():
            return int(port)
        for p in self.container.get("ports") or []:
            if p.get("name") == port:
                return int(p["containerPort"])
        raise ValueError(f"unknown named port {port}")

    def probe(self, spec: dict) -> bool:
        """One readiness probe attempt (httpGet / tcpSocket / exec)."""
        timeout = min(float(spec.get("timeoutSeconds") or 1), 5.0)
        try:
            if "httpGet" in spec:
                hg = spec["httpGet"]
                url = (f"{(hg.get('scheme') or 'HTTP').lower()}://{hg.get('host') or self.ip}:"
                       f"{self._port(hg['port'])}{hg.get('path') or '/'}")
                headers = {h["name"]: h["value"] for h in hg.get("httpHeaders") or []}
                with requests.Session() as sess:
                    sess.trust_env = False  # no *_PROXY for pod addresses
                    resp = sess.get(url, headers=headers, timeout=timeout, verify=False,
                                    allow_redirects=False)
                return 200 <= resp.status_code < 400
            if "tcpSocket" in spec:
                ts = spec["tcpSocket"]
                with socket.create_connection((ts.get("host") or self.ip,
                                               self._port(ts["port"])), timeout=timeout):
                    return True
            if "exec" in spec:
                return subprocess.run(spec["exec"]["command"], cwd=self.root, timeout=timeout,
                                      capture_output=True).returncode == 0
        except (requests.RequestException, OSError, ValueError, subprocess.TimeoutExpired):
            return False
        return True  # grpc and unknown probe kinds: assume ready


def default_base_env() -> dict:
    """PATH (with this interpreter's bin dir first) and locale for pod processes."""
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    env = {"PATH": path, "LANG": os.environ.get("LANG", "C.UTF-8")}
    # the test run's tag (tests/processes.py): the end-of-run check finds pod processes left behind
    if os.environ.get("SATURN_TEST_RUN"):
        env["SATURN_TEST_RUN"] = os.environ["SATURN_TEST_RUN"]
    return env
