"""config/kube_config.py, the Kubernetes example without helm, started against the real apiserver: the hub
comes up with its culler, a server of the example's catalog starts in the namespace the hub runs in."""

from __future__ import annotations

import pytest

from ..harness import REPO, wait_for
from .kube_helpers import reach_server, singleuser_args

pytestmark = pytest.mark.e2e
pytest_plugins = ["tests.kube.fixtures"]

EXAMPLE = REPO / "config" / "kube_config.py"


def test_the_kube_example_starts_and_spawns(kube_hub, kube_node, hub_factory):
    hub = hub_factory("", start=False, env={"KUBECONFIG": str(kube_hub.kubeconfig), "POD_NAMESPACE": kube_hub.namespace})
    # the example as written, then what differs on this machine: pods are local processes reaching the hub on
    # 127.0.0.1, and the node agent runs the server command directly
    hub.write_config(f"""
_path = {str(EXAMPLE)!r}
exec(compile(open(_path).read(), _path, "exec"), {{"get_config": get_config, "__file__": _path}})
c.KubeSpawner.cmd = ["jupyterhub-singleuser"]
c.KubeSpawner.args = {singleuser_args()!r}
c.KubeSpawner.hub_connect_url = "http://127.0.0.1:{hub.hub_port}"
""")
    hub.start()
    assert "jupyterhub-saturn mounted into SaturnDummyAuthenticator" in hub.log_text()  # the harness's login
    hub.ensure_user("ann")
    assert hub.spawn("ann", {"size": "medium", "disk": "50Gi"}).status_code in (201, 202)
    model = hub.wait_ready("ann", timeout=240)
    assert reach_server(hub, "ann", model).status_code == 200
    wait_for(lambda: "(saturn-culler@" in hub.log_text(), timeout=120, what="the example's culler calling the hub")
    hub.stop_server("ann", timeout=120)
