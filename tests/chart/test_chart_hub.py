"""A hub started the way the chart starts it: ``helm template`` of helm-values/ (base + GPU + anonymous
overlays, the chart's default ``dummy`` authenticator — not a saturn-* class), then the chart's own
``jupyterhub_config.py`` and ``z2jh.py`` run on the rendered ConfigMap and Secret, mounted where the hub
container has them (``/usr/local/etc/jupyterhub``, through a bubblewrap mount namespace) with the env the
Deployment gives, against the real kube-apiserver and node agents.

Only what differs between a pod and this machine is changed, on the command line (which overrides the
config file): where the proxy API and the hub are reached (Service names → 127.0.0.1). The hub binds the
chart's fixed port 8081; a lock file keeps two runs of this module from overlapping.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
import yaml

from ..e2e.gallery_helpers import publish, run_copy, sample_notebook
from ..e2e.kube_helpers import GPU_TAINT, USER_TAINT, reach_server
from ..harness import BIN, CHP, Hub, wait_for
from ..kube.node_agent import NodeAgent
from ..ports import bindable
from .chart import RELEASE, VALUES_DIR, rendered, write_hub_files

# the chart's hub image is the JupyterHub 5.5 set: this runs on both supported sets
pytestmark = [pytest.mark.e2e, pytest.mark.hub_versions]
pytest_plugins = ["tests.kube.fixtures"]

HUB_PORT = 8081  # the chart's hub_bind_url
LOCK = Path("/tmp/jupyterhub-saturn-chart-hub-8081.lock")
OVERLAYS = [VALUES_DIR / "saturn-values.yaml", VALUES_DIR / "gpu-node-pools.yaml", VALUES_DIR / "anonymous-run.yaml"]


def overlay_for_this_test(token: str) -> dict:
    """This test's own overlay: an API token for the test, an open login, and a single-user command that
    runs as root (the node agent runs pods as this machine's user)."""
    cmd = ["jupyterhub-singleuser"] + (["--allow-root"] if os.geteuid() == 0 else [])
    return {
        "hub": {
            "config": {"Authenticator": {"allow_all": True},
                       "SaturnGallery": {"warm_pool": {"python": 0}}},
            "services": {"tester": {"apiToken": token}},
            "loadRoles": {"tester": {"services": ["tester"], "scopes": [
                "admin:users", "admin:servers", "admin:groups", "tokens", "list:users", "read:users",
                "access:servers", "read:hub"]}},
        },
        "singleuser": {"cmd": cmd},
    }


class ChartHub(Hub):
    """A harness Hub whose process is the chart's hub container, and whose proxy runs beside it."""

    def write_config(self, extra=None) -> None:  # the chart writes the config
        pass

    def start_chart(self, etc: Path, secret: dict, namespace: str, kubeconfig: Path) -> "ChartHub":
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            if os.environ.get("CI"):
                pytest.fail("CI must run the chart hub test: install bubblewrap (bwrap)", pytrace=False)
            pytest.skip("bubblewrap (bwrap) is not installed")
        token = secret["hub.config.ConfigurableHTTPProxy.auth_token"]
        srv = self.dir / "srv"
        srv.mkdir(exist_ok=True)
        self._log = open(self.log_file, "ab")
        self._chp_log = open(self.dir / "proxy.log", "ab")
        self.chp = subprocess.Popen(
            [str(CHP), "--ip", "127.0.0.1", "--port", str(self.port), "--api-ip", "127.0.0.1",
             "--api-port", str(self.proxy_api_port), "--default-target", f"http://127.0.0.1:{HUB_PORT}",
             "--error-target", f"http://127.0.0.1:{HUB_PORT}/hub/error"],
            env=dict(os.environ, CONFIGPROXY_AUTH_TOKEN=token), stdout=self._chp_log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        env = dict(os.environ)
        env.update({
            # the hub container's env (the Deployment) and the Service env vars Kubernetes adds
            "PYTHONUNBUFFERED": "1", "HELM_RELEASE_NAME": RELEASE, "POD_NAMESPACE": namespace,
            "CONFIGPROXY_AUTH_TOKEN": token,
            "HUB_SERVICE_HOST": "127.0.0.1", "HUB_SERVICE_PORT": str(HUB_PORT),
            "PROXY_API_SERVICE_HOST": "127.0.0.1", "PROXY_API_SERVICE_PORT": str(self.proxy_api_port),
            "PROXY_PUBLIC_SERVICE_HOST": "127.0.0.1", "PROXY_PUBLIC_SERVICE_PORT": str(self.port),
            # the hub ServiceAccount's credentials (a kubeconfig instead of the in-cluster token file)
            "KUBECONFIG": str(kubeconfig),
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        })
        cmd = [
            bwrap, "--dev-bind", "/", "/",
            "--tmpfs", "/usr/local/etc", "--ro-bind", str(etc), "/usr/local/etc/jupyterhub",
            "--tmpfs", "/srv", "--bind", str(srv), "/srv/jupyterhub", "--chdir", "/srv/jupyterhub",
            "--die-with-parent", "--",
            sys.executable, "-m", "jupyterhub", "--config", "/usr/local/etc/jupyterhub/jupyterhub_config.py",
            "--upgrade-db",
            # a pod reaches the proxy API and the hub through Service names; here they are on 127.0.0.1
            f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{self.proxy_api_port}",
            f"--JupyterHub.hub_connect_url=http://127.0.0.1:{HUB_PORT}",
        ]
        self.proc = subprocess.Popen(cmd, cwd=srv, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        try:
            wait_for(self._ready, timeout=180, what=f"the chart's hub behind {self.url}")
        except TimeoutError:
            raise RuntimeError(f"the chart's hub did not start; log tail:\n{self.log_tail(120)}") from None
        Hub.running.append(self)
        return self

    def stop(self, *a, **kw) -> None:
        super().stop(*a, **kw)
        if getattr(self, "chp", None) is not None and self.chp.poll() is None:
            self.chp.terminate()
            self.chp.wait(30)


@pytest.fixture(scope="module")
def chart_hub(kube_control_plane, tmp_path_factory):
    root = tmp_path_factory.mktemp("chart-hub")
    lock = open(LOCK, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    nodes = []
    hub = None
    try:
        wait_for(lambda: bindable(HUB_PORT, reuse_address=True), timeout=60,
                 what=f"port {HUB_PORT} (the chart's hub port) to be free")
        namespace = f"chart-{uuid.uuid4().hex[:6]}"
        access = kube_control_plane.setup_hub(namespace)
        token = secrets.token_hex(16)
        extra = root / "test-values.yaml"
        extra.write_text(yaml.safe_dump(overlay_for_this_test(token)))
        docs = rendered(OVERLAYS + [extra], namespace=namespace, workdir=root)
        values = yaml.safe_load((VALUES_DIR / "gpu-node-pools.yaml").read_text())["hub"]["config"]["Saturn"]["gpus"]
        scheduler = {f"{RELEASE}-user-scheduler"}   # the chart's user scheduler is on by default
        nodes.append(NodeAgent(kube_control_plane, f"cpu-{namespace}", cpu="16", memory="64Gi",
                               taints=[USER_TAINT], scheduler_names=scheduler).start())
        for key, gpus in (("t4", 1), ("a100x2", 2)):
            nodes.append(NodeAgent(kube_control_plane, f"{key}-{namespace}", cpu="8", memory="32Gi", gpus=gpus,
                                   labels=values[key]["node_selector"], taints=[USER_TAINT, GPU_TAINT],
                                   scheduler_names=scheduler).start())
        etc = root / "etc"
        secret = write_hub_files(docs, etc)
        hub = ChartHub(root / "hub")
        hub.token = token
        hub.hub_port = HUB_PORT
        hub.start_chart(etc, secret, namespace, access.kubeconfig)
        hub.docs, hub.namespace, hub.nodes = docs, namespace, nodes
        yield hub
    finally:
        if hub is not None:
            hub.stop()
            hub.kill_owned()
        for node in reversed(nodes):
            node.stop()
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


PROFILES = {  # user: (groups, user_options, node prefix) — every shipped size, GPU, disk and image
    "ann": ([], {"size": "small", "image": "python", "disk": "10Gi"}, "cpu-"),
    "bob": ([], {"size": "medium", "image": "datascience", "disk": "50Gi"}, "cpu-"),
    "cat": (["staff"], {"size": "large", "disk": "200Gi"}, "cpu-"),
    "dan": (["gpu-users"], {"gpu": "t4"}, "t4-"),
    "eve": (["staff"], {"gpu": "a100x2"}, "a100x2-"),
}


def test_the_chart_config_ran_with_saturn_mounted_into_its_own_authenticator(chart_hub):
    log = chart_hub.log_text()
    assert "Loading extra config: zz-saturn-setup" in log and "Loading extra config: 10-saturn-culler" in log
    assert "jupyterhub-saturn mounted into SaturnDummyAuthenticator" in log
    # the culler from hub.extraConfig reaches the hub on its loopback, as the chart's own culler does
    wait_for(lambda: "saturn-culler" in chart_hub.log_text() and "hub http://127.0.0.1:8081/hub/api"
             in chart_hub.log_text(), timeout=60, what="the saturn-culler service start line")
    wait_for(lambda: "(saturn-culler@" in chart_hub.log_text(), timeout=120, what="the culler calling the hub API")


def test_every_shipped_profile_spawns_on_the_right_node(chart_hub):
    hub = chart_hub
    for user, (groups, options, _) in PROFILES.items():
        hub.ensure_user(user, groups)
        r = hub.spawn(user, options)
        assert r.status_code in (201, 202), f"{user}: {r.status_code} {r.text}"
    for user, (_, options, node_prefix) in PROFILES.items():
        model = hub.wait_ready(user, timeout=300)
        assert reach_server(hub, user, model).status_code == 200
        stored = hub.user_model(user)["servers"][""]["user_options"]
        assert all(stored[k] == v for k, v in options.items()), stored
        pods = hub.nodes[0].client.get(f"/api/v1/namespaces/{hub.namespace}/pods",
                                       labelSelector=f"hub.jupyter.org/username={user}")["items"]
        assert len(pods) == 1
        spec = pods[0]["spec"]
        assert spec["nodeName"].startswith(node_prefix), (user, spec["nodeName"])
        assert spec["schedulerName"] == f"{RELEASE}-user-scheduler"
        assert [c["name"] for c in spec.get("initContainers", [])] == ["block-cloud-metadata"]
        assert pods[0]["metadata"]["labels"]["hub.jupyter.org/network-access-hub"] == "true"
    for user in PROFILES:
        hub.stop_server(user, timeout=120)


def test_gallery_and_an_anonymous_run_this_copy(chart_hub):
    hub = chart_hub
    hub.ensure_user("prof", ["instructors"])
    rec = publish(hub, hub.user_token("prof"), sample_notebook("From the chart"))
    assert rec.status_code == 201, rec.text
    rec = rec.json()
    assert "From the chart" in requests.get(hub.url + "/hub/gallery", timeout=30).text
    _, status = run_copy(hub, rec["id"])
    assert status["state"] == "ready", status
    name = status["url"].split("/user/")[1].split("/")[0]
    assert name.startswith("anon~")
    hub.stop_server(name, timeout=120)
