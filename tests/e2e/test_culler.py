"""The auto-shutoff culler end to end: a real JupyterHub + proxy + saturn-local servers, and
``jupyterhub-saturn-culler`` sweeping every 2 s (as a hub-managed service, or run by the test).

Timing facts are asserted as orderings: the culler's stop decision (its own log timestamp)
comes at or after the deadline the test computes from hub state, and a server is still
running after a deadline that activity postponed. Polls use generous upper bounds.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psutil
import pytest
import requests

from ..harness import Hub, resolved, wait_for

pytestmark = pytest.mark.e2e

SHUTOFF = """
c.JupyterHub.spawner_class = "saturn-local"
c.JupyterHub.allow_named_servers = True
c.JupyterHub.last_activity_interval = 3
c.Saturn.sizes = {"small": {"cpu": 1, "memory": "2G"}, "medium": {"cpu": 2, "memory": "4G"}}
c.Saturn.defaults = {"size": "small"}
c.Saturn.auto_shutoff = {
    "choices": ["20s", "40s", "1h", "never"], "default": "20s", "warn_before": "10s",
    "count_busy_kernels": COUNT_BUSY,
    "caps": [
        {"match": {"size": ["medium"]}, "max_idle": "40s", "max_age": "30s"},
        {"match": {"groups": ["staff"]}, "allow_never": True},
    ],
}
from jupyterhub_saturn.culler import culler_service
"""

MANAGED = SHUTOFF.replace("COUNT_BUSY", "False") + """
service, role = culler_service(every=2, concurrency=4, throwaway_grace="3s", extra_args=["--page-size=2"])
c.JupyterHub.services.append(service)
c.JupyterHub.load_roles.append(role)
"""

# the culler runs outside the hub (the test starts, kills and restarts it) with this token
UNMANAGED = SHUTOFF.replace("COUNT_BUSY", "True") + """
service, role = culler_service(every=2, busy_kernels=True, proxy_url=c.JupyterHub.bind_url, throwaway_grace="3s")
c.JupyterHub.services.append({"name": service["name"], "api_token": CULLER_TOKEN})
c.JupyterHub.load_roles.append(role)
"""

LOG_LINE = re.compile(r"^\[(\w) (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) saturn-culler (\d+)\] (.*)$")
STOP_LINE = re.compile(r"^Stopping (\S+): (idle|max-age) deadline (\S+) passed")


# ------------------------------------------------------------ helpers


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def now() -> datetime:
    return datetime.now(timezone.utc)


def culler_log(path: Path) -> list[tuple[datetime, int, str]]:
    """(time, pid, message) for each culler line; culler timestamps are local time."""
    out = []
    for line in path.read_text(errors="replace").splitlines():
        m = LOG_LINE.match(line)
        if m:
            when = datetime.strptime(m.group(2), "%Y-%m-%d %H:%M:%S.%f").astimezone(timezone.utc)
            out.append((when, int(m.group(3)), m.group(4)))
    return out


def stop_decisions(path: Path, who: str) -> list[tuple[datetime, int, str, datetime]]:
    """(decided at, pid, reason, deadline) for each 'Stopping <who>' line."""
    found = []
    for when, pid, msg in culler_log(path):
        m = STOP_LINE.match(msg)
        if m and m.group(1) == who:
            found.append((when, pid, m.group(2), utc(m.group(3))))
    return found


def idle_deadline(model: dict, seconds: int) -> datetime:
    """The idle deadline from hub state, computed independently of the product's code."""
    started = utc(model["started"])
    active = utc(model["last_activity"]) if model.get("last_activity") else started
    return max(started, active) + timedelta(seconds=seconds)


def gone(hub: Hub, user: str, server: str = "") -> bool:
    r = hub.api("GET", f"/users/{user}")
    return r.status_code == 404 or server not in r.json().get("servers", {})


def wait_gone(hub: Hub, user: str, server: str = "", timeout: float = 120) -> datetime:
    wait_for(lambda: gone(hub, user, server), timeout=timeout, interval=0.3, what=f"culler to stop {user}/{server}")
    return now()


def spawn_ready(hub: Hub, user: str, options: dict | None = None, groups=()) -> dict:
    hub.ensure_user(user, list(groups))
    r = hub.spawn(user, options or {})
    assert r.status_code in (201, 202), r.text
    return hub.wait_ready(user)


def post_activity(hub: Hub, user: str, when: datetime, server: str = "") -> None:
    stamp = when.astimezone(timezone.utc).replace(tzinfo=None).isoformat() + "Z"
    r = hub.api("POST", f"/users/{user}/activity", json={"servers": {server: {"last_activity": stamp}}})
    assert r.status_code in (200, 204), r.text


def culler_pids(hub: Hub) -> set[int]:
    pids = set()
    for proc in psutil.process_iter(["cmdline"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or [])
            if "jupyterhub_saturn.culler" in cmd and str(hub.hub_port) in proc.environ().get("JUPYTERHUB_API_URL", ""):
                pids.add(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return pids


# ------------------------------------------------------------ a hub-managed culler


class TestManagedCuller:
    @pytest.fixture(scope="class")
    @classmethod
    def hub(cls, tmp_path_factory):
        h = Hub(tmp_path_factory.mktemp("culler"), MANAGED).start()
        wait_for(lambda: culler_pids(h), timeout=60, what="the managed culler process")
        yield h
        h.stop()

    def test_idle_server_stops_after_its_idle_time_and_never_server_stays(self, hub):
        sam = spawn_ready(hub, "sam", {"auto_shutoff": "never"}, groups=["staff"])
        assert resolved(sam)["saturn_shutoff"]["idle_timeout"] is None
        model = spawn_ready(hub, "ann")
        assert resolved(model)["auto_shutoff"] == "20s"
        first_deadline = idle_deadline(model, 20)
        gone_at = wait_gone(hub, "ann")
        assert gone_at >= first_deadline
        ((decided, _, reason, deadline),) = stop_decisions(hub.log_file, "ann")
        # hub state can only have moved the deadline later (the server's own activity report)
        assert reason == "idle" and deadline >= first_deadline and decided >= deadline
        assert "" in hub.user_model("sam")["servers"], "a 'never' server was stopped"
        assert not stop_decisions(hub.log_file, "sam")
        hub.stop_server("sam")

    def test_activity_pushes_the_deadline(self, hub):
        model = spawn_ready(hub, "bob", {"auto_shutoff": "40s"})
        first_deadline = idle_deadline(model, 40)
        token = hub.user_token("bob")
        # real traffic through the proxy past the first deadline: the hub hears of it from the proxy
        while now() < first_deadline + timedelta(seconds=8):
            r = requests.get(hub.url + "/user/bob/api/status", headers={"Authorization": f"token {token}"}, timeout=30)
            assert r.status_code == 200, r.text
            time.sleep(2)
        assert "" in hub.user_model("bob")["servers"], "stopped despite activity through the proxy"
        moved = idle_deadline(hub.user_model("bob")["servers"][""], 40)
        assert moved > first_deadline
        # activity reported through the API with a later timestamp moves it again
        later = now() + timedelta(seconds=5)
        post_activity(hub, "bob", later)
        assert utc(hub.user_model("bob")["servers"][""]["last_activity"]) >= later - timedelta(milliseconds=1)
        wait_gone(hub, "bob", timeout=150)
        ((decided, _, reason, deadline),) = stop_decisions(hub.log_file, "bob")
        assert reason == "idle" and deadline >= later + timedelta(seconds=40) - timedelta(milliseconds=1)
        assert decided >= deadline

    def test_max_age_stops_an_active_server(self, hub):
        model = spawn_ready(hub, "cat", {"size": "medium", "auto_shutoff": "40s"})
        assert resolved(model)["saturn_shutoff"]["max_age"] == 30
        age_deadline = utc(model["started"]) + timedelta(seconds=30)
        while not gone(hub, "cat"):
            post_activity(hub, "cat", now())
            time.sleep(2)
            assert now() < age_deadline + timedelta(seconds=120), "max age never enforced"
        ((decided, _, reason, deadline),) = stop_decisions(hub.log_file, "cat")
        assert reason == "max-age" and deadline == age_deadline and decided >= deadline

    @pytest.mark.parametrize("options, status, words", [
        ({"size": "medium", "auto_shutoff": "1h"}, 400, ["'1h' exceeds the 40s idle cap", "size 'medium'", "'20s'", "'40s'"]),
        ({"size": "medium", "auto_shutoff": "never"}, 400, ["idle cap", "size 'medium'"]),
        ({"auto_shutoff": "never"}, 403, ["'never' is not granted"]),
        ({"auto_shutoff": "2h"}, 400, ["'2h' is not one of the choices", "'1h'"]),
        ({"auto_shutoff": ["1h"]}, 400, ["auto_shutoff must be one of the choices"]),
    ])
    def test_refused_choices_name_the_field_and_cap(self, hub, options, status, words):
        hub.ensure_user("dee")
        r = hub.spawn("dee", options)
        assert r.status_code == status, r.text
        message = r.json()["message"]
        assert "auto_shutoff" in message
        for word in words:
            assert word in message, message
        assert "" not in hub.user_model("dee")["servers"]

    @pytest.mark.hub_versions
    def test_throwaway_users_are_removed_after_their_servers_stop(self, hub):
        name = "anon~abc123def456"
        model = spawn_ready(hub, name, groups=["saturn-throwaway"])
        assert resolved(model)["auto_shutoff"] == "20s"
        hub.ensure_user("anon~0123456789ab", ["saturn-throwaway"])  # never got a server
        hub.ensure_user("eve")  # not throwaway, no server: stays
        wait_for(lambda: hub.api("GET", f"/users/{name}").status_code == 404, timeout=120, what="throwaway removal")
        wait_for(lambda: hub.api("GET", "/users/anon~0123456789ab").status_code == 404, timeout=60,
                 what="removal of the throwaway user without a server")
        assert hub.api("GET", "/users/eve").status_code == 200
        ((decided, _, _, deadline),) = stop_decisions(hub.log_file, name)
        assert decided >= deadline >= idle_deadline(model, 20)
        removed = [when for when, _, msg in culler_log(hub.log_file) if msg.startswith(f"Removed throwaway user {name}:")]
        assert len(removed) == 1 and removed[0] >= decided

    @pytest.mark.hub_versions
    def test_pages_of_ready_users_are_all_swept(self, hub):
        # the culler lists 2 users per page here: five servers ready at once need three pages
        users = [f"pg{i}" for i in range(5)]
        for u in users:
            hub.ensure_user(u)
        spawns = [threading.Thread(target=hub.spawn, args=(u, {"auto_shutoff": "40s"})) for u in users]
        for t in spawns:
            t.start()
        for t in spawns:
            t.join()
        models = {u: hub.wait_ready(u) for u in users}
        for u in users:
            wait_gone(hub, u)
        for u in users:
            ((decided, _, _, deadline),) = stop_decisions(hub.log_file, u)
            assert decided >= deadline >= idle_deadline(models[u], 40)
        assert any(re.match(r"Sweep \d+: 5 servers of 5 users", m) for _, _, m in culler_log(hub.log_file))

    def test_named_servers_are_stopped_too(self, hub):
        hub.ensure_user("gus")
        r = hub.spawn("gus", {"auto_shutoff": "20s"}, server="lab2")
        assert r.status_code in (201, 202), r.text
        model = hub.wait_ready("gus", "lab2")
        wait_gone(hub, "gus", "lab2")
        ((decided, _, _, deadline),) = stop_decisions(hub.log_file, "gus/lab2")
        assert decided >= deadline >= idle_deadline(model, 20)
        assert "lab2" in hub.api("GET", "/users/gus?include_stopped_servers=1").json()["servers"], "named server removed"

    def test_hub_restarts_a_killed_culler_which_still_stops_servers(self, hub):
        (old,) = culler_pids(hub)
        os.kill(old, signal.SIGKILL)
        # the hub polls its managed services every 30 s and starts a dead one again
        new = wait_for(lambda: culler_pids(hub) - {old}, timeout=150, what="the hub to restart the culler")
        (new_pid,) = new
        model = spawn_ready(hub, "fay")
        wait_gone(hub, "fay")
        ((decided, pid, _, deadline),) = stop_decisions(hub.log_file, "fay")
        assert pid == new_pid and decided >= deadline >= idle_deadline(model, 20)


# ------------------------------------------------------------ origin isolation (subdomain_host)


class TestSubdomainHub:
    """Each server on its own origin (`*.localhost` names): the hub reports absolute server URLs, and
    the culler, counting busy kernels, asks them through the proxy by Host."""

    @pytest.fixture(scope="class")
    @classmethod
    def hub(cls, tmp_path_factory):
        from ..ports import free_port

        port = free_port()
        h = Hub(tmp_path_factory.mktemp("culler-subdomain"), SHUTOFF.replace("COUNT_BUSY", "True") + f"""
c.JupyterHub.subdomain_host = "http://hub.localhost:{port}"
service, role = culler_service(every=2, busy_kernels=True, proxy_url=c.JupyterHub.bind_url, throwaway_grace="3s")
c.JupyterHub.services.append(service)
c.JupyterHub.load_roles.append(role)
""", port=port).start()
        wait_for(lambda: culler_pids(h), timeout=60, what="the managed culler process")
        yield h
        h.stop()

    @pytest.mark.hub_versions
    def test_idle_anonymous_and_logged_in_servers_are_stopped(self, hub):
        anon = "anon~5ub0d0a1n123"
        models = {anon: spawn_ready(hub, anon, groups=["saturn-throwaway"]), "liz": spawn_ready(hub, "liz")}
        for name, model in models.items():  # each on its own origin, not the hub's
            assert model["url"].startswith("http://") and ".hub.localhost:" in model["url"], model["url"]
        wait_for(lambda: hub.api("GET", f"/users/{anon}").status_code == 404, timeout=150,
                 what="the idle throwaway server stopped and its user removed")
        wait_gone(hub, "liz", timeout=150)
        for name, model in models.items():
            ((decided, _, reason, deadline),) = stop_decisions(hub.log_file, name)
            assert reason == "idle" and decided >= deadline >= idle_deadline(model, 20)
        # the kernels were asked on each server's own origin: no failed check, and no stop delayed by one
        lines = [m for _, _, m in culler_log(hub.log_file)]
        assert not [m for m in lines if m.startswith("Checking kernels of")], lines
        for name in models:
            stop = next(m for m in lines if m.startswith(f"Stopping {name}:"))
            assert "no busy kernels" in stop, stop


# ------------------------------------------------------------ a culler the test runs itself


class CullerProcess:
    """``python -m jupyterhub_saturn.culler`` started by the test, logging to a file."""

    def __init__(self, hub: Hub, token: str, log: Path):
        self.hub, self.token, self.log = hub, token, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> int:
        env = dict(os.environ, JUPYTERHUB_API_URL=self.hub.url + "/hub/api", JUPYTERHUB_API_TOKEN=self.token)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub_saturn.culler", "--every=2", "--throwaway-grace=3s",
                 f"--proxy-url={self.hub.url}", "--log-level=DEBUG"],
                stdout=out, stderr=subprocess.STDOUT, env=env,
            )
        return self.proc.pid

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def sweeps(self, pid: int) -> list[tuple[datetime, str]]:
        return [(w, m) for w, p, m in culler_log(self.log) if p == pid and m.startswith("Sweep ")]


async def _run_in_kernel(hub: Hub, user: str, token: str, code: str) -> None:
    """Start a kernel through the proxy and send it ``code``; return once it is executing."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    headers = {"Authorization": f"token {token}"}
    r = requests.post(f"{hub.url}/user/{user}/api/kernels", headers=headers, json={}, timeout=60)
    assert r.status_code == 201, r.text
    kernel = r.json()["id"]
    ws_url = hub.url.replace("http", "ws", 1) + f"/user/{user}/api/kernels/{kernel}/channels"
    ws = await websocket_connect(HTTPRequest(ws_url, headers=headers, connect_timeout=60, request_timeout=60))
    msg_id = uuid.uuid4().hex
    ws.write_message(json.dumps({
        "header": {"msg_id": msg_id, "username": user, "session": uuid.uuid4().hex, "msg_type": "execute_request",
                   "version": "5.3", "date": now().isoformat()},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait for the kernel to report busy for our request
        raw = await asyncio.wait_for(ws.read_message(), timeout=60)
        assert raw is not None, "kernel websocket closed"
        msg = json.loads(raw)
        if msg.get("msg_type") == "status" and msg.get("parent_header", {}).get("msg_id") == msg_id \
                and msg["content"].get("execution_state") == "busy":
            break
    ws.close()


class TestCullerProcess:
    @pytest.fixture(scope="class")
    @classmethod
    def setup(cls, tmp_path_factory):
        token = secrets.token_hex(16)
        workdir = tmp_path_factory.mktemp("culler-process")
        h = Hub(workdir, UNMANAGED.replace("CULLER_TOKEN", repr(token))).start()
        culler = CullerProcess(h, token, workdir / "culler.log")
        yield h, culler
        culler.kill()
        h.stop()

    def test_a_restarted_culler_honours_deadlines_from_hub_state(self, setup):
        hub, culler = setup
        first = culler.start()
        model = spawn_ready(hub, "ray")
        deadline = idle_deadline(model, 20)
        wait_for(lambda: any("1 servers" in m for _, m in culler.sweeps(first)), timeout=60, what="a sweep seeing ray")
        culler.kill()

        def quiet_past_deadline():
            # the deadline is read from hub state at every poll: activity that lands late (a loaded
            # machine delays the server's first activity report) moves it, and we wait for the new one
            current = hub.user_model("ray")["servers"][""]
            return current if now() > idle_deadline(current, 20) + timedelta(seconds=4) else None

        # down across the deadline: nothing stops the server meanwhile
        model = wait_for(quiet_past_deadline, timeout=180, interval=0.5, what="the idle deadline in hub state to pass")
        assert idle_deadline(model, 20) >= deadline
        restarted_at = now()
        second = culler.start()
        wait_gone(hub, "ray", timeout=60)
        ((decided, pid, reason, stop_at),) = stop_decisions(culler.log, "ray")
        # the restarted culler took the deadline from hub state, not from its own start
        assert pid == second and reason == "idle"
        assert idle_deadline(model, 20) <= stop_at < restarted_at, (stop_at, idle_deadline(model, 20), restarted_at)
        first_sweep = culler.sweeps(second)[0]
        assert first_sweep[1].startswith("Sweep 1:") and "stopped 1" in first_sweep[1] and decided <= first_sweep[0]

    def test_busy_kernels_count_as_activity(self, setup):
        hub, culler = setup
        if culler.proc is None or culler.proc.poll() is not None:
            culler.start()
        model = spawn_ready(hub, "kay")
        token = hub.user_token("kay")
        asyncio.run(_run_in_kernel(hub, "kay", token, "import time; time.sleep(35)"))
        busy_until = now() + timedelta(seconds=35)
        first_deadline = idle_deadline(hub.user_model("kay")["servers"][""], 20)
        assert first_deadline < busy_until
        # past the idle deadline the culler asks the kernels, finds one busy and records activity
        wait_for(lambda: any(m.startswith("Keeping kay: kernels busy") for _, _, m in culler_log(culler.log)),
                 timeout=90, what="the culler to count the busy kernel")
        wait_gone(hub, "kay", timeout=150)
        ((decided, _, reason, deadline),) = stop_decisions(culler.log, "kay")
        touched = [w for w, _, m in culler_log(culler.log) if m.startswith("Keeping kay: kernels busy")]
        assert reason == "idle" and first_deadline <= touched[0] < decided and deadline > first_deadline
        # stopped only once the kernel had finished its work
        assert decided >= busy_until - timedelta(seconds=1)
        assert resolved(model)["saturn_shutoff"]["count_busy_kernels"] is True
