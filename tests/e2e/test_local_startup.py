"""Config mistakes stop the hub at start-up naming the key path; GPU assignment survives a hub restart."""

from __future__ import annotations

import pytest

from ..harness import server_env

pytestmark = pytest.mark.e2e

GOOD = """
c.JupyterHub.spawner_class = "saturn-local"
c.Saturn.sizes = {"small": {"cpu": 1, "memory": "2G"}}
c.Saturn.gpus = {"t4": {"count": 1}}
c.SaturnLocalSpawner.gpu_devices = {"t4": ["0", "1"]}
"""


@pytest.mark.parametrize("bad_line, path", [
    ('c.Saturn.sizes = {"small": {"cpu": 1, "memory": "2 apples"}}', "Saturn.sizes.small.memory"),
    ('c.Saturn.sizes = {"small": {"cpu": 1, "memory": "2G", "colour": "red"}}', "Saturn.sizes.small.colour"),
    ('c.Saturn.defaults = {"size": "huge"}', "Saturn.defaults.size"),
    ('c.Saturn.disks = {"10Gi": {"groups": []}}', "Saturn.disks.10Gi.groups"),
    ('c.SaturnLocalSpawner.gpu_devices = {"a100": ["3"]}', "SaturnLocalSpawner.gpu_devices.a100"),
    ('c.SaturnLocalSpawner.gpu_devices = {"t4": []}', "SaturnLocalSpawner.gpu_devices.t4"),
])
def test_config_mistake_stops_the_hub_naming_the_key(hub_factory, bad_line, path):
    hub = hub_factory(GOOD + "\n" + bad_line, start=False)
    code, output = hub.run_expecting_exit()
    assert code != 0
    assert f"jupyterhub-saturn configuration error: {path}" in output, output[-3000:]


def test_gpu_assignment_is_kept_across_a_hub_restart(hub_factory):
    hub = hub_factory(GOOD + "\nc.JupyterHub.cleanup_servers = False\n")
    for user in ("ann", "bob", "cat"):
        hub.ensure_user(user)
    assert hub.spawn("ann", {"gpu": "t4"}).status_code in (201, 202)
    hub.wait_ready("ann")
    ann_dev = server_env("ann")["CUDA_VISIBLE_DEVICES"]
    hub.stop()
    hub.start()
    # ann's server survived and still holds its device: bob gets the other one, cat none
    assert hub.user_model("ann")["servers"][""]["ready"]
    assert hub.spawn("bob", {"gpu": "t4"}).status_code in (201, 202)
    hub.wait_ready("bob")
    bob_dev = server_env("bob")["CUDA_VISIBLE_DEVICES"]
    assert {ann_dev, bob_dev} == {"0", "1"}
    r = hub.spawn("cat", {"gpu": "t4"})
    assert r.status_code == 503 and "no free t4 GPU" in r.json()["message"]
    hub.stop_server("ann")
    hub.stop_server("bob")
