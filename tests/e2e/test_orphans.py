"""No orphans: servers whose hub is gone stop themselves, and a restarted hub knows everything that runs.

Real JupyterHub + configurable-http-proxy + saturn-local servers under the watchdog. The hub
and its proxy are killed with SIGKILL (no clean-up of any kind); what happens next is awaited
as conditions with bounds. Bounds are short here (throwaway: 3 s unreachable), long enough
for logged-in servers (10 min) that they live until the hub is back.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess

import pytest

from ..harness import Hub, wait_for
from ..processes import alive

pytestmark = pytest.mark.e2e

CONFIG = """
c.JupyterHub.spawner_class = "saturn-local"
c.Saturn.sizes = {{"small": {{"cpu": 1, "memory": "1G"}}}}
c.Saturn.gpus = {{"t4": {{"display_name": "1 x T4", "count": 1}}}}
c.Saturn.defaults = {{"gpu": "none"}}
c.SaturnLocalSpawner.gpu_devices = {{"t4": ["0", "1"]}}
c.Saturn.auto_shutoff = {{"choices": ["1h"], "default": "1h", "warn_before": "0s",
                          "throwaway": {{"max_idle": "1h", "max_age": {max_age!r}}}}}
c.SaturnLocalSpawner.hub_unreachable_timeout = "10m"
c.SaturnLocalSpawner.throwaway_hub_unreachable_timeout = {throwaway_bound!r}
c.SaturnLocalSpawner.hub_check_interval = "1s"
c.SaturnLocalSpawner.max_age_grace = "0s"
from jupyterhub_saturn.culler import culler_service
service, role = culler_service(every=1, throwaway_grace="1s")
c.JupyterHub.services.append(service)
c.JupyterHub.load_roles.append(role)
"""



def server_user(pid: int) -> str | None:
    """The JUPYTERHUB_USER a process was started for (sandbox, watchdog and server alike)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
    except OSError:
        return None
    return env.get(b"JUPYTERHUB_USER", b"").decode() or None


def kill_hub_and_proxy(hub: Hub) -> None:
    proxy = int((hub.dir / "proxy.pid").read_text())
    hub.stop(sig=signal.SIGKILL)
    os.kill(proxy, signal.SIGKILL)
    wait_for(lambda: not alive(proxy), timeout=30, what="proxy gone")


def server_pid(hub: Hub, user: str) -> int:
    return hub.user_model(user)["servers"][""]["state"]["pid"]


def spawn_all(hub: Hub, users: dict[str, dict]) -> dict[str, int]:
    for name, options in users.items():
        groups = ["saturn-throwaway"] if name.startswith("anon~") else []
        hub.ensure_user(name, groups)
        r = hub.spawn(name, options)
        assert r.status_code in (201, 202), r.text
    for name in users:
        hub.wait_ready(name)
    return {name: server_pid(hub, name) for name in users}


def gpu_free_text(hub: Hub) -> str:
    page = hub.login("carol").get(hub.url + "/hub/spawn", timeout=30)
    page.raise_for_status()
    start = page.text.index("1 x T4")
    return page.text[start:start + 40]


def watchdog_lines(hub: Hub, user: str) -> list[str]:
    return [line for line in hub.log_text().splitlines() if f"saturn-watchdog {user}]" in line]


@pytest.mark.hub_versions  # JupyterHub's start-up checks and stop clean-up are what this relies on
def test_hub_killed_and_restarted(hub_factory):
    """Throwaways exit within their bound with the hub down; the restarted hub adopts the server proven
    to be its own, refuses a recorded pid now held by a stranger (and never signals it), releases that
    server's GPU, the server it forgot stops itself, the culler removes the throwaway users, and no
    server process is left that the hub does not know."""
    hub = hub_factory(CONFIG.format(max_age="1h", throwaway_bound="3s"))
    t1, t2 = "anon~0e2e0000000a", "anon~0e2e0000000b"
    pids = spawn_all(hub, {"alice": {"gpu": "t4"}, "bob": {"gpu": "t4"}, t1: {}, t2: {}})
    assert "(0 free)" in gpu_free_text(hub)

    kill_hub_and_proxy(hub)
    wait_for(lambda: not [p for p in hub.owned() if "jupyterhub_saturn.culler" in p.cmdline], timeout=30,
             what="the hub-managed culler to end with its hub")
    for name in (t1, t2):
        wait_for(lambda: not alive(pids[name]), timeout=60, what=f"throwaway {name} to stop itself")
        assert any("stopping the server (hub-unreachable)" in line for line in watchdog_lines(hub, name))
    assert alive(pids["alice"]) and alive(pids["bob"])

    # while the hub is down, bob's pid is "reused" by a stranger: his saved state now names that process
    stranger = subprocess.Popen(["sleep", "600"])
    try:
        db = sqlite3.connect(hub.dir / "jupyterhub.sqlite")
        with db:
            (state,) = db.execute("SELECT s.state FROM spawners s JOIN users u ON s.user_id = u.id "
                                  "WHERE u.name = 'bob'").fetchone()
            state = json.loads(state)
            state["pid"] = state["saturn_process"]["pid"] = stranger.pid
            db.execute("UPDATE spawners SET state = ? WHERE user_id = (SELECT id FROM users WHERE name = 'bob')",
                       (json.dumps(state),))
        db.close()

        hub.start()
        # alice: adopted, same process, her GPU still held
        assert hub.user_model("alice")["servers"][""]["ready"]
        assert server_pid(hub, "alice") == pids["alice"]
        # bob: not adopted; the stranger was not signalled
        assert "" not in hub.user_model("bob")["servers"]
        assert f"not adopting pid {stranger.pid}" in hub.log_text()
        assert stranger.poll() is None
        # bob's real server: its token was revoked with the server record, so it stops itself
        wait_for(lambda: not alive(pids["bob"]), timeout=60, what="bob's forgotten server to stop itself")
        assert any("(forgotten)" in line for line in watchdog_lines(hub, "bob"))
        # the throwaway users whose servers are gone are removed by the culler
        for name in (t1, t2):
            wait_for(lambda: hub.api("GET", f"/users/{name}").status_code == 404, timeout=60,
                     what=f"culler to remove {name}")
        # GPUs: alice's device restored, bob's released
        assert "(1 free)" in gpu_free_text(hub)
        # no server process the hub does not know: only alice's (her sandbox, watchdog and server) remain
        def servers():
            return {p.pid: server_user(p.pid) for p in hub.owned() if "jupyterhub-singleuser" in p.cmdline}
        wait_for(lambda: set(servers().values()) == {"alice"}, timeout=60, what="only known server processes")
        assert pids["alice"] in servers()
        hub.stop_server("alice")
        assert "(2 free)" in gpu_free_text(hub)
        assert not alive(pids["alice"])
    finally:
        stranger.kill()
        stranger.wait()


def test_throwaway_past_max_age_exits_with_its_hub_down(hub_factory):
    hub = hub_factory(CONFIG.format(max_age="30s", throwaway_bound="10m"))
    name = "anon~0e2e0000000c"
    pid = spawn_all(hub, {name: {}})[name]
    kill_hub_and_proxy(hub)
    assert alive(pid), "the server must outlive its hub until its max age"
    wait_for(lambda: not alive(pid), timeout=90, what="throwaway server to stop at its max age")
    lines = watchdog_lines(hub, name)
    assert any("stopping the server (max-age): it reached its maximum age of 30 s" in line for line in lines), lines
    assert hub.owned() == [] or all("jupyterhub-singleuser" not in p.cmdline for p in hub.owned())
