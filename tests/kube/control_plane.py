"""Run a real etcd + kube-apiserver (built by ``tests.kube.build``) on loopback."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import tempfile
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from ..ports import free_port
from . import build, certs
from .client import ApiError, KubeClient

HUB_RBAC_FILE = Path(__file__).with_name("hub-rbac.yaml")
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"

_COLLECTIONS = {  # kind -> (api prefix, plural, namespaced)
    "Namespace": ("/api/v1", "namespaces", False),
    "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "Role": ("/apis/rbac.authorization.k8s.io/v1", "roles", True),
    "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings", True),
    "ClusterRole": ("/apis/rbac.authorization.k8s.io/v1", "clusterroles", False),
    "ClusterRoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    "StorageClass": ("/apis/storage.k8s.io/v1", "storageclasses", False),
}


class ControlPlaneError(RuntimeError):
    """The control plane could not be built or started."""


def collection_path(kind: str, namespace: str | None = None) -> str:
    prefix, plural, namespaced = _COLLECTIONS[kind]
    if namespaced:
        return f"{prefix}/namespaces/{namespace}/{plural}"
    return f"{prefix}/{plural}"


@dataclass
class HubAccess:
    """What a hub running in ``namespace`` gets: its ServiceAccount token and kubeconfig."""

    namespace: str
    token: str
    kubeconfig: Path
    client: KubeClient


class _Proc:
    """A child process with a log file, in its own session."""

    def __init__(self, name: str, argv: list[str], log: Path):
        self.name, self.log = name, log
        self._fh = log.open("ab")
        self.popen = subprocess.Popen(argv, stdout=self._fh, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._fh.close()

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


class ControlPlane:
    """etcd + kube-apiserver on free 127.0.0.1 ports, with generated PKI.

    ``url``/``ca_file`` locate the apiserver; ``admin`` is a cluster-admin
    :class:`KubeClient`; ``admin_kubeconfig()`` writes a kubeconfig file.
    """

    def __init__(self, workdir: str | Path | None = None, *, startup_timeout: float = 240.0):
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="saturn-kube-"))
        self.startup_timeout = startup_timeout
        self.etcd: _Proc | None = None
        self.apiserver: _Proc | None = None
        self.port = 0
        self.etcd_port = 0
        self.pki: certs.Pki | None = None
        self._admin: KubeClient | None = None

    # -- public surface ---------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> str:
        return str(self.pki.ca_cert)

    @property
    def volumes_dir(self) -> Path:
        """Shared local root for PVC-backed volumes (see node_agent)."""
        return self.workdir / "volumes"

    @property
    def admin(self) -> KubeClient:
        if self._admin is None:
            self._admin = KubeClient(self.url, self.ca_file,
                                     cert=(str(self.pki.admin_cert), str(self.pki.admin_key)))
        return self._admin

    def client(self, token: str) -> KubeClient:
        return KubeClient(self.url, self.ca_file, token=token)

    def start(self) -> "ControlPlane":
        try:
            self.binaries = build.ensure_binaries()
        except build.BuildError as exc:
            raise ControlPlaneError(f"building etcd/kube-apiserver failed:\n{exc}") from exc
        self.pki = certs.generate(self.workdir / "pki")
        self.volumes_dir.mkdir(parents=True, exist_ok=True)
        _live.add(self)
        self._start_etcd()
        self._start_apiserver(new_port=True)
        return self

    def stop(self) -> None:
        for proc in (self.apiserver, self.etcd):
            if proc:
                proc.stop()
        self.apiserver = self.etcd = None
        _live.discard(self)
        if self._admin:
            self._admin.close()
        if self._own_workdir and not os.environ.get("SATURN_KUBE_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    def restart_apiserver(self) -> None:
        """Stop kube-apiserver and start it again on the same port (etcd keeps the data)."""
        if self.apiserver:
            self.apiserver.stop()
        self._start_apiserver(new_port=False)

    def __enter__(self) -> "ControlPlane":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def admin_kubeconfig(self, path: str | Path | None = None) -> Path:
        path = Path(path or self.workdir / "admin.kubeconfig")
        user = {"client-certificate": str(self.pki.admin_cert),
                "client-key": str(self.pki.admin_key)}
        return self._write_kubeconfig(path, "admin", user, "default")

    def token_kubeconfig(self, token: str, namespace: str, path: str | Path) -> Path:
        return self._write_kubeconfig(Path(path), "sa", {"token": token}, namespace)

    def create_namespace(self, name: str) -> dict:
        """Create a namespace plus its ``default`` ServiceAccount (normally made by
        kube-controller-manager, which does not run here; the ServiceAccount admission
        plugin rejects pods without it)."""
        ns = self.admin.create_or_get("/api/v1/namespaces", {
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        self.admin.create_or_get(f"/api/v1/namespaces/{name}/serviceaccounts", {
            "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}})
        return ns

    def apply(self, doc: dict, namespace: str | None = None) -> dict:
        """Create ``doc`` (one of a few known kinds) or replace it if it exists."""
        doc = dict(doc, metadata=dict(doc.get("metadata") or {}))
        coll = collection_path(doc["kind"], namespace)
        if _COLLECTIONS[doc["kind"]][2]:
            doc["metadata"]["namespace"] = namespace
        try:
            return self.admin.post(coll, doc)
        except ApiError as exc:
            if exc.status != 409:
                raise
        item = f"{coll}/{doc['metadata']['name']}"
        doc["metadata"]["resourceVersion"] = self.admin.get(item)["metadata"]["resourceVersion"]
        return self.admin.put(item, doc)

    def setup_hub(self, namespace: str, *, rbac_file: str | Path = HUB_RBAC_FILE,
                  token_seconds: int = 24 * 3600) -> HubAccess:
        """Namespace + ServiceAccount/Role/RoleBinding from ``hub-rbac.yaml`` + a bound
        token from the TokenRequest API + a kubeconfig using that token."""
        self.create_namespace(namespace)
        sa_name = None
        for doc in yaml.safe_load_all(Path(rbac_file).read_text()):
            if not doc:
                continue
            if doc["kind"] == "ServiceAccount":
                sa_name = doc["metadata"]["name"]
            for subj in doc.get("subjects", []):
                if subj.get("kind") == "ServiceAccount":
                    subj["namespace"] = namespace
            self.apply(doc, namespace)
        if not sa_name:
            raise ControlPlaneError(f"{rbac_file} defines no ServiceAccount")
        tr = self.admin.post(f"/api/v1/namespaces/{namespace}/serviceaccounts/{sa_name}/token", {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"expirationSeconds": token_seconds}})
        token = tr["status"]["token"]
        kubeconfig = self.token_kubeconfig(
            token, namespace, self.workdir / f"{sa_name}-{namespace}.kubeconfig")
        return HubAccess(namespace, token, kubeconfig, self.client(token))

    # -- internals --------------------------------------------------------------------
    def _write_kubeconfig(self, path: Path, user: str, creds: dict, namespace: str) -> Path:
        cfg = {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": "saturn-test", "cluster": {
                "server": self.url, "certificate-authority": self.ca_file}}],
            "users": [{"name": user, "user": creds}],
            "contexts": [{"name": user, "context": {
                "cluster": "saturn-test", "user": user, "namespace": namespace}}],
            "current-context": user,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        path.chmod(0o600)
        return path

    def _wait(self, proc: _Proc, check, what: str) -> bool:
        """Poll ``check()`` until true; False if the process died first."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if not proc.alive():
                return False
            try:
                if check():
                    return True
            except (requests.RequestException, OSError):
                pass
            time.sleep(0.5)
        raise ControlPlaneError(f"{what} not ready after {self.startup_timeout}s:\n{proc.tail()}")

    def _start_etcd(self) -> None:
        for _attempt in range(3):
            self.etcd_port, peer = free_port(), free_port()
            data = self.workdir / "etcd-data"
            client_url = f"http://127.0.0.1:{self.etcd_port}"
            peer_url = f"http://127.0.0.1:{peer}"
            self.etcd = _Proc("etcd", [
                str(self.binaries["etcd"]), "--name=saturn", f"--data-dir={data}",
                f"--listen-client-urls={client_url}", f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=saturn={peer_url}", "--unsafe-no-fsync",
                "--log-level=warn"], self.workdir / "etcd.log")
            ok = self._wait(self.etcd, lambda: requests.get(
                f"{client_url}/health", timeout=5).json().get("health") == "true", "etcd")
            if ok:
                return
            shutil.rmtree(data, ignore_errors=True)  # port race: retry on new ports
        raise ControlPlaneError(f"etcd failed to start:\n{self.etcd.tail()}")

    def _apiserver_argv(self) -> list[str]:
        p = self.pki
        return [
            str(self.binaries["kube-apiserver"]),
            f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={self.port}", f"--cert-dir={self.workdir / 'apiserver-certs'}",
            f"--tls-cert-file={p.serving_cert}", f"--tls-private-key-file={p.serving_key}",
            f"--client-ca-file={p.ca_cert}",
            f"--service-account-issuer={SA_ISSUER}",
            f"--service-account-key-file={p.sa_pub}",
            f"--service-account-signing-key-file={p.sa_key}",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--authorization-mode=RBAC", "--allow-privileged=true",
            "--profiling=false", "--v=1",
        ]

    def _start_apiserver(self, new_port: bool) -> None:
        for _attempt in range(3):
            if new_port:
                self.port = free_port()
            self.apiserver = _Proc("kube-apiserver", self._apiserver_argv(),
                                   self.workdir / "kube-apiserver.log")
            if self._wait(self.apiserver, self._readyz, "kube-apiserver"):
                self.create_namespace("default")
                return
            time.sleep(2)  # port race (or old socket lingering): retry
        raise ControlPlaneError(f"kube-apiserver failed to start:\n{self.apiserver.tail()}")

    def _readyz(self) -> bool:
        resp = requests.get(f"{self.url}/readyz", verify=self.ca_file, timeout=5,
                            cert=(str(self.pki.admin_cert), str(self.pki.admin_key)))
        return resp.status_code == 200


_live: "weakref.WeakSet[ControlPlane]" = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for cp in list(_live):
        cp.stop()
