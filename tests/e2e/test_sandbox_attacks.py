"""Hostile code in a real throwaway server and a logged-in user's server stays in its sandbox.

The attack program (tests/e2e/attacks.py) runs through the Jupyter kernel API. In sandboxed
servers every attempt fails; the same program in an unsandboxed server (sandbox = False, as an
admin may choose) succeeds at every one, so the suite is able to see a failure.
"""

from __future__ import annotations

import json
import os
import stat
from urllib.parse import quote

import pytest

from ..harness import Hub, server_env, server_process
from .attacks import ALL, attack_source
from .gallery_helpers import GALLERY_CONFIG, publish, run_copy, sample_notebook
from .kernel_helpers import run_code

pytestmark = pytest.mark.e2e

GPU_CONFIG = """
c.Saturn.gpus = {{"t4": {{"count": 1}}}}
c.SaturnLocalSpawner.gpu_devices = {{"t4": ["0", "1"]}}
c.SaturnLocalSpawner.gpu_device_paths = [{gpus!r} + "/gpu{{id}}"]
"""


def fake_gpus(path) -> str:
    """Two character devices standing in for GPUs (same numbers as /dev/null, mode 0666 like /dev/nvidia*)."""
    path.mkdir(exist_ok=True)
    for i in (0, 1):
        node = path / f"gpu{i}"
        if not node.exists():
            os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
            os.chmod(node, 0o666)
    return str(path)


def home_of(hub: Hub, user: str) -> str:
    return str(hub.homes / quote(user, safe="@.-_+"))


def plant_secret(home: str) -> None:
    with open(os.path.join(home, "secret.txt"), "w") as f:
        f.write("top secret")
    st = os.stat(home)
    os.chown(os.path.join(home, "secret.txt"), st.st_uid, st.st_gid)
    os.chmod(os.path.join(home, "secret.txt"), 0o600)


def attack(hub: Hub, user: str, victim: str, other_gpu: str, own_gpu: str | None = None) -> dict:
    targets = {"db": str(hub.dir / "jupyterhub.sqlite"), "cookie": str(hub.dir / "cookie_secret"),
               "store": str(hub.dir / "gallery-store"), "victim_home": home_of(hub, victim),
               "other_gpu": other_gpu}
    token = hub.user_token(user, scopes=[f"access:servers!user={user}"])
    code = attack_source(targets)
    if own_gpu:
        code += f"\nos.close(os.open({own_gpu!r}, os.O_RDWR)); print('own gpu ok')"
    out = run_code(f"{hub.url}/user/{quote(user, safe='~')}/", token, code)
    return json.loads(out.splitlines()[0]), out


@pytest.fixture(scope="module")
def sandboxed(tmp_path_factory):
    gpus = fake_gpus(tmp_path_factory.mktemp("gpus"))
    hub = Hub(tmp_path_factory.mktemp("sandboxed"), GALLERY_CONFIG + GPU_CONFIG.format(gpus=gpus)).start()
    try:
        hub.ensure_user("prof", ["instructors"])
        hub.ensure_user("ann")
        rec = publish(hub, hub.user_token("prof"), sample_notebook("Attack me")).json()
        assert hub.spawn("ann", {"gpu": "t4"}).status_code in (201, 202)
        _, status = run_copy(hub, rec["id"])
        assert status["state"] == "ready", status
        anon = status["url"].split("/user/")[1].split("/")[0]
        hub.wait_ready("ann")
        yield hub, gpus, anon
    finally:
        hub.stop()
        hub.kill_owned()


def test_servers_run_as_their_own_unprivileged_uids(sandboxed):
    hub, _, anon = sandboxed
    ann, thrown = server_process("ann", hub=hub), server_process(anon, hub=hub)
    uids = {ann.uids().real, thrown.uids().real, ann.uids().effective, thrown.uids().effective}
    assert len({ann.uids().real, thrown.uids().real}) == 2
    assert not uids & {0, os.geteuid(), 65534}
    assert all(200000 <= u <= 299999 for u in uids)
    assert os.stat(home_of(hub, "ann")).st_uid == ann.uids().real
    assert oct(os.stat(home_of(hub, "ann")).st_mode & 0o777) == "0o700"
    uid_map = json.loads((hub.dir / "saturn-uids.json").read_text())["uids"]
    assert uid_map["ann"] == ann.uids().real and uid_map[anon] == thrown.uids().real


def test_attacks_from_a_throwaway_server_all_fail(sandboxed):
    hub, gpus, anon = sandboxed
    plant_secret(home_of(hub, "ann"))
    ann_gpu = server_env("ann", hub=hub)["CUDA_VISIBLE_DEVICES"]
    result, out = attack(hub, anon, "ann", f"{gpus}/gpu{ann_gpu}")
    assert set(result) == set(ALL)
    assert not [name for name, (ok, _) in result.items() if ok], out


def test_attacks_from_a_logged_in_server_all_fail_but_its_own_gpu_opens(sandboxed):
    hub, gpus, anon = sandboxed
    plant_secret(home_of(hub, anon))
    mine = server_env("ann", hub=hub)["CUDA_VISIBLE_DEVICES"]
    other = {"0": "1", "1": "0"}[mine]
    result, out = attack(hub, "ann", anon, f"{gpus}/gpu{other}", own_gpu=f"{gpus}/gpu{mine}")
    assert not [name for name, (ok, _) in result.items() if ok], out
    assert "own gpu ok" in out


def test_the_same_attacks_succeed_without_the_sandbox(tmp_path_factory):
    """The control: an admin who turns the sandbox off gives all of this up (and the suite can see it)."""
    gpus = fake_gpus(tmp_path_factory.mktemp("gpus-control"))
    hub = Hub(tmp_path_factory.mktemp("unsandboxed"), GALLERY_CONFIG + GPU_CONFIG.format(gpus=gpus) + """
c.SaturnLocalSpawner.sandbox = False
c.SaturnGallery.anonymous = False
""").start()
    try:
        hub.ensure_user("prof", ["instructors"])
        publish(hub, hub.user_token("prof"), sample_notebook("Store me"))
        for user, opts in (("vic", {}), ("mal", {"gpu": "t4"})):
            hub.ensure_user(user)
            assert hub.spawn(user, opts).status_code in (201, 202)
        hub.wait_ready("vic")
        hub.wait_ready("mal")
        plant_secret(home_of(hub, "vic"))
        mine = server_env("mal", hub=hub)["CUDA_VISIBLE_DEVICES"]
        result, out = attack(hub, "mal", "vic", f"{gpus}/gpu{ {'0': '1', '1': '0'}[mine] }")
        assert set(result) == set(ALL)
        assert [name for name, (ok, _) in result.items() if not ok] == [], out
    finally:
        hub.stop()
        hub.kill_owned()
