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


@pytest.mark.hub_versions
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


def test_disk_quota_command_runs_before_start_and_its_failure_is_a_clear_refusal(hub_factory):
    hub = hub_factory(GOOD + """
c.Saturn.disks = ["10Gi", "50Gi"]
c.SaturnLocalSpawner.disk_quota_command = ["sh", "-c", "test {username} != broken && echo {bytes} > {home}/.quota || (echo 'project quota not enabled on /home' >&2; exit 3)"]
""")
    hub.ensure_user("ann")
    hub.ensure_user("broken")
    assert hub.spawn("ann", {"disk": "50Gi"}).status_code in (201, 202)
    hub.wait_ready("ann")
    env = server_env("ann")
    assert env["SATURN_DISK_ENFORCED"] == "true"
    with open(env["HOME"] + "/.quota") as f:
        assert f.read().strip() == str(50 * 2**30)
    hub.stop_server("ann")
    r = hub.spawn("broken", {"disk": "10Gi"})
    if r.status_code in (201, 202):  # the failure may surface after the API's slow-spawn wait
        from ..harness import wait_for

        wait_for(lambda: "" not in hub.user_model("broken")["servers"], timeout=60, what="failed spawn to end")
        assert "could not set the 10Gi disk quota: project quota not enabled" in hub.log_text()
    else:
        assert r.status_code == 503 and "project quota not enabled" in r.json()["message"], r.text
