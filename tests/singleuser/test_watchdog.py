"""The watchdog as a real process: a stand-in server under it, and a stand-in hub API we control.

The stand-in server records the signals it gets and starts a "kernel" (``sleep``) in its own
session, as Jupyter does; the hub is a tiny HTTP server whose answer the test sets, or closes.
Every wait is for a condition, with a bound.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ..harness import wait_for
from ..processes import alive

pytestmark = pytest.mark.processes  # runs real servers under the watchdog

SERVER = textwrap.dedent("""
    import os, signal, subprocess, sys, time
    out = sys.argv[1]
    def note(text):
        with open(out, "a") as f:
            f.write(text + "\\n")
    kernel = subprocess.Popen(["sleep", "300"], start_new_session=True)
    note(f"kernel {kernel.pid}")
    def on(sig, frame):
        note(f"got {signal.Signals(sig).name}")
        if os.environ.get("STUBBORN") != "1":
            sys.exit(7)
    signal.signal(signal.SIGTERM, on)
    signal.signal(signal.SIGINT, on)
    note(f"ready {os.getpid()}")
    while True:
        time.sleep(1)
""")


class FakeHub:
    """``GET /hub/api/user`` answers ``status``; counts requests and the tokens they carry."""

    def __init__(self):
        self.status = 200
        self.requests: list[tuple[str, str]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                hub.requests.append((self.path, self.headers.get("Authorization", "")))
                self.send_response(hub.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hub/api"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def hub():
    h = FakeHub()
    yield h
    h.close()


class Watched:
    def __init__(self, tmp: Path, hub: FakeHub | None, **env):
        self.notes = tmp / "notes.txt"
        self.log = tmp / "watchdog.log"
        full = dict(os.environ, SATURN_HUB_CHECK_INTERVAL="0.3", SATURN_SERVER_STOP_GRACE="2")
        if hub is not None:
            full.update(JUPYTERHUB_API_URL=hub.url, JUPYTERHUB_API_TOKEN="secret-token")
        full.update({k: str(v) for k, v in env.items()})
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-m", "jupyterhub_saturn.singleuser", "--", sys.executable, "-c", SERVER,
             str(self.notes)],
            env=full, stderr=self.log.open("wb"), start_new_session=True,
        )

    def lines(self) -> list[str]:
        return self.notes.read_text().splitlines() if self.notes.exists() else []

    def pid_of(self, word: str) -> int:
        line = wait_for(lambda: next((x for x in self.lines() if x.startswith(word + " ")), None), timeout=30,
                        what=f"stand-in server to note its {word}")
        return int(line.split()[1])

    def wait_exit(self, timeout: float = 30) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"watchdog still running after {timeout}s; log:\n{self.log.read_text()}") from None

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture
def watched(tmp_path):
    made = []

    def make(hub, **env):
        w = Watched(tmp_path, hub, **env)
        made.append(w)
        return w

    yield make
    for w in made:
        w.kill()
        for line in w.lines():  # the "kernel" lives in its own session: never leave it behind
            if line.startswith("kernel "):
                try:
                    os.kill(int(line.split()[1]), signal.SIGKILL)
                except ProcessLookupError:
                    pass



def test_hub_gone_stops_the_server_and_what_it_left_behind(hub, watched):
    w = watched(hub, SATURN_HUB_UNREACHABLE_TIMEOUT="2")
    server, kernel = w.pid_of("ready"), w.pid_of("kernel")
    # while the hub answers, the server keeps running through many checks, each with the server's token
    wait_for(lambda: len(hub.requests) >= 5, timeout=30, what="five hub checks")
    assert alive(server) and w.proc.poll() is None
    assert {r for r in hub.requests} == {("/hub/api/user", "token secret-token")}
    hub.close()
    assert w.wait_exit() == 7  # the server's own exit status, after its clean SIGTERM shutdown
    assert "got SIGTERM" in w.lines()
    assert not alive(server) and not alive(kernel)
    log = w.log.read_text()
    assert "stopping the server (hub-unreachable)" in log and "stopped 1 process(es) the server left behind" in log


def test_a_hub_that_forgot_the_server_stops_it(hub, watched):
    w = watched(hub, SATURN_HUB_UNREACHABLE_TIMEOUT="600")
    w.pid_of("ready")
    hub.status = 403
    assert w.wait_exit() == 7
    assert "stopping the server (forgotten)" in w.log.read_text()


def test_a_hub_error_page_is_not_an_answer(hub, watched):
    w = watched(hub, SATURN_HUB_UNREACHABLE_TIMEOUT="2")
    w.pid_of("ready")
    hub.status = 502  # e.g. a proxy in front of a dead hub
    assert w.wait_exit() == 7
    assert "stopping the server (hub-unreachable)" in w.log.read_text()


def test_max_age_holds_while_the_hub_answers_and_without_one(hub, watched):
    w = watched(hub, SATURN_HUB_UNREACHABLE_TIMEOUT="600", SATURN_SERVER_MAX_AGE="2")
    w.pid_of("ready")
    assert w.wait_exit() == 7
    assert "stopping the server (max-age)" in w.log.read_text()
    assert hub.status == 200 and hub.requests  # the hub was up and answering all along


def test_without_hub_settings_only_max_age_applies(tmp_path, watched):
    w = watched(None, SATURN_HUB_UNREACHABLE_TIMEOUT="1", SATURN_SERVER_MAX_AGE="3")
    w.pid_of("ready")
    t0 = time.monotonic()
    assert w.wait_exit() == 7
    log = w.log.read_text()
    assert "the hub is not watched" in log and "(max-age)" in log and time.monotonic() - t0 > 0.5


def test_signals_are_forwarded_and_the_exit_status_passed_on(hub, watched):
    w = watched(hub, SATURN_HUB_UNREACHABLE_TIMEOUT="600")
    w.pid_of("ready")
    w.proc.send_signal(signal.SIGINT)  # what LocalProcessSpawner.stop sends first
    assert w.wait_exit() == 7
    assert "got SIGINT" in w.lines() and "got SIGTERM" not in w.lines()


def test_a_server_ignoring_sigterm_is_killed_after_the_grace(hub, watched):
    w = watched(hub, SATURN_HUB_UNREACHABLE_TIMEOUT="600", SATURN_SERVER_MAX_AGE="1", STUBBORN="1")
    server = w.pid_of("ready")
    assert w.wait_exit() == 128 + signal.SIGKILL
    assert "got SIGTERM" in w.lines() and not alive(server)
    assert "did not stop within 2 s; killing it" in w.log.read_text()


def test_killing_the_watchdog_kills_the_server(hub, watched):
    w = watched(hub, SATURN_HUB_UNREACHABLE_TIMEOUT="600")
    server = w.pid_of("ready")
    w.proc.send_signal(signal.SIGKILL)  # only the watchdog, not its group
    w.proc.wait(10)
    wait_for(lambda: not alive(server), timeout=30, what="server to die with its watchdog")


@pytest.mark.parametrize("env", [{"SATURN_HUB_UNREACHABLE_TIMEOUT": "5m"}, {"SATURN_SERVER_MAX_AGE": "-1"}])
def test_bad_settings_refuse_to_start_the_server(hub, watched, env):
    w = watched(hub, **env)
    assert w.wait_exit() == 2
    assert not w.notes.exists()
    assert next(iter(env)) in w.log.read_text()
