"""A real JupyterHub + configurable-http-proxy for end-to-end tests.

``Hub`` writes a config file (a shared base plus the test's own lines), starts
``python -m jupyterhub`` from the interpreter running the tests (so the venv decides
the JupyterHub version under test), waits until the API answers, and gives the test
an admin API token, logged-in browser-like sessions and the log. Ports are free ports
on 127.0.0.1; all state lives in the test's temporary directory.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import requests

from .ports import free_port
from .processes import OWNER_VAR, RUN_VAR, owned_processes, stop as stop_processes, tag_env

REPO = Path(__file__).resolve().parent.parent
CHP = REPO / "node_modules" / ".bin" / "configurable-http-proxy"
BIN = Path(sys.executable).parent


class Gone(RuntimeError):
    """Raised by a ``wait_for`` predicate when what it waits for can no longer happen (its process exited):
    ``wait_for`` lets it through at once instead of polling on until the timeout."""


def wait_for(predicate, timeout: float = 60, interval: float = 0.2, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; fail with ``what`` after ``timeout`` s.
    Exceptions from ``predicate`` count as "not yet", except :class:`Gone`, which ends the wait."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Gone:
            raise
        except Exception as e:  # noqa: BLE001 - polling
            last_exc = e
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last_exc!r})" if last_exc else ""))


BASE_CONFIG = """
import sys
c = get_config()
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.ConfigurableHTTPProxy.pid_file = {pid_file!r}
c.JupyterHub.db_url = "sqlite:///{db}"
c.JupyterHub.cookie_secret_file = {cookie!r}
c.JupyterHub.log_level = "DEBUG"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.JupyterHub.services = [{{"name": "tester", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{"name": "tester-role", "scopes": ["admin:users", "admin:servers", "admin:groups",
    "tokens", "list:users", "read:users", "access:servers", "read:hub", "read:roles", "admin-ui"],
    "services": ["tester"]}}]
c.JupyterHub.authenticator_class = "saturn-dummy"
c.DummyAuthenticator.password = "pw"
c.Authenticator.allow_all = True
c.SaturnLocalSpawner.home_root = {homes!r}
c.Spawner.environment = {{"JUPYTER_PREFER_ENV_PATH": "1"}}
# the test run's process tags reach single-user servers and their kernels (tests/processes.py)
c.Spawner.env_keep.extend([{run_var!r}, {owner_var!r}])
"""

# after the test's lines: hub-managed services (the culler) carry the tags too
TAG_SERVICES = """
for _service in c.JupyterHub.services:
    if _service.get("command"):
        _service["environment"] = dict(_service.get("environment") or {{}}, **{tags!r})
"""


class Hub:
    """One real JupyterHub process (with its proxy) for a test."""

    #: hubs started by this test process and not yet stopped, most recent last
    running: list["Hub"] = []
    #: every hub made by this test process (fixtures stop what their scope created)
    created: list["Hub"] = []

    def __init__(self, workdir: Path, config: str = "", *, env: dict | None = None, port: int | None = None):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.hub_port = free_port()
        self.proxy_api_port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_file = self.dir / "jupyterhub_config.py"
        self.log_file = self.dir / "hub.log"
        self.homes = self.dir / "homes"
        self.extra_config = textwrap.dedent(config)
        self.owner = f"{self.dir.name}-{secrets.token_hex(4)}"
        self.env = dict(env or {})
        self.env.update(tag_env(self.owner))
        self.proc: subprocess.Popen | None = None
        Hub.created.append(self)
        self.write_config()

    def write_config(self, extra: str | None = None) -> None:
        """(Re)write the config file: base settings, then the test's lines."""
        if extra is not None:
            self.extra_config = textwrap.dedent(extra)
        base = BASE_CONFIG.format(
            port=self.port, hub_port=self.hub_port, proxy_api_port=self.proxy_api_port, chp=str(CHP),
            pid_file=str(self.dir / "proxy.pid"), db=self.dir / "jupyterhub.sqlite",
            cookie=str(self.dir / "cookie_secret"), singleuser=str(BIN / "jupyterhub-singleuser"),
            token=self.token, homes=str(self.homes), run_var=RUN_VAR, owner_var=OWNER_VAR,
        )
        footer = TAG_SERVICES.format(tags=tag_env(self.owner))
        self.config_file.write_text(base + "\n# --- test config ---\n" + self.extra_config + "\n" + footer)

    # ------------------------------------------------------------ process

    def start(self, timeout: float = 180) -> "Hub":
        """Start the hub and wait until its API answers (or fail with the log tail)."""
        assert CHP.exists(), f"{CHP} missing: run `npm ci` in the repo (make test does)"
        env = dict(os.environ)
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        env.update(self.env)
        self._log = open(self.log_file, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(self.config_file)],
            cwd=self.dir, stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
        try:
            wait_for(self._ready, timeout=timeout, what=f"JupyterHub at {self.url}")
        except TimeoutError:
            raise RuntimeError(f"JupyterHub did not start; log tail:\n{self.log_tail()}") from None
        Hub.running.append(self)
        return self

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise Gone(f"JupyterHub exited with {self.proc.returncode}; log tail:\n{self.log_tail()}")
        try:
            r = requests.get(self.url + "/hub/api/", timeout=2)
            return r.status_code == 200
        except requests.RequestException:
            return False

    def run_expecting_exit(self, timeout: float = 180) -> tuple[int, str]:
        """Start the hub expecting it to refuse to start; return (exit code, log)."""
        env = dict(os.environ)
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        env.update(self.env)
        p = subprocess.run(
            [sys.executable, "-m", "jupyterhub", "-f", str(self.config_file)],
            cwd=self.dir, capture_output=True, text=True, timeout=timeout, env=env,
        )
        return p.returncode, p.stdout + p.stderr

    def stop(self, sig=signal.SIGTERM, timeout: float = 60) -> None:
        """Stop the hub (its default cleanup stops the servers too)."""
        if self in Hub.running:
            Hub.running.remove(self)
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._log.close()

    def kill_owned(self, grace: float = 10.0) -> list:
        """Stop every process this hub's tree started that is still running (servers, kernels, proxy,
        services), e.g. after a ``cleanup_servers = False`` test or a hub killed with SIGKILL."""
        return stop_processes(lambda: owned_processes(self.owner), grace=grace)

    def owned(self) -> list:
        """The live processes of this hub's tree (see :mod:`tests.processes`)."""
        return owned_processes(self.owner)

    def log_tail(self, n: int = 60) -> str:
        """The last lines of the hub log."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace")

    # ------------------------------------------------------------ API

    def api(self, method: str, path: str, *, token: str | None = None, **kw) -> requests.Response:
        """Call ``/hub/api<path>`` with the admin token (or ``token``)."""
        headers = kw.pop("headers", {})
        headers["Authorization"] = f"token {token or self.token}"
        return requests.request(method, self.url + "/hub/api" + path, headers=headers, timeout=kw.pop("timeout", 60), **kw)

    def version(self) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", requests.get(self.url + "/hub/api/", timeout=30).json()["version"])[:2])

    def spawn(self, user: str, options: dict | None = None, server: str = "", timeout: float = 30) -> requests.Response:
        """POST a server start with user_options in the body shape this hub version expects.

        ``timeout``: how long to wait for the answer (a spawn that fails fast answers only after the
        hub has stopped what it started, which takes longer while the backend is unreachable)."""
        path = f"/users/{user}/servers/{server}" if server else f"/users/{user}/server"
        body = options
        if options is not None and self.version() >= (6, 0):
            body = {"user_options": options}
        if body is None:
            return self.api("POST", path, timeout=timeout)
        return self.api("POST", path, json=body, timeout=timeout)

    def user_model(self, user: str) -> dict:
        r = self.api("GET", f"/users/{user}")
        r.raise_for_status()
        return r.json()

    def wait_ready(self, user: str, server: str = "", timeout: float = 240) -> dict:
        """Wait until the server is ready; fail with the hub log if it fails instead."""

        def check():
            model = self.user_model(user)
            srv = model.get("servers", {}).get(server)
            if srv and srv.get("ready"):
                return srv
            if not srv and not model.get("pending") and time.monotonic() - t0 > 5:
                raise AssertionError(f"server {user}/{server} is gone; hub log:\n{self.log_tail()}")
            return None

        t0 = time.monotonic()
        try:
            return wait_for(check, timeout=timeout, what=f"server {user}/{server} ready")
        except TimeoutError as e:
            raise AssertionError(f"{e}\nhub log:\n{self.log_tail()}") from None

    def stop_server(self, user: str, server: str = "", timeout: float = 60) -> None:
        path = f"/users/{user}/servers/{server}" if server else f"/users/{user}/server"
        r = self.api("DELETE", path)
        assert r.status_code in (202, 204), r.text
        wait_for(lambda: server not in self.user_model(user).get("servers", {}), timeout=timeout, what="server stop")

    def ensure_user(self, name: str, groups: list[str] = ()) -> None:
        r = self.api("POST", f"/users/{name}")
        assert r.status_code in (201, 409), r.text
        for g in groups:
            r = self.api("POST", f"/groups/{g}")
            assert r.status_code in (201, 409), r.text
            r = self.api("POST", f"/groups/{g}/users", json={"users": [name]})
            assert r.status_code == 200, r.text

    # ------------------------------------------------------------ browser-like sessions

    def login(self, username: str, password: str = "pw") -> requests.Session:
        """A requests session logged in through the hub's login form."""
        s = requests.Session()
        r = s.get(self.url + "/hub/login", timeout=30)
        r.raise_for_status()
        xsrf = s.cookies.get("_xsrf") or ""
        r = s.post(
            self.url + "/hub/login", data={"username": username, "password": password, "_xsrf": xsrf},
            allow_redirects=False, timeout=30,
        )
        assert r.status_code == 302, f"login failed: {r.status_code} {r.text[:500]}"
        s.xsrf = s.cookies.get("_xsrf", path="/hub/") or xsrf
        return s

    def user_token(self, user: str, scopes: list[str] | None = None) -> str:
        body = {"note": "test"}
        if scopes is not None:
            body["scopes"] = scopes
        r = self.api("POST", f"/users/{user}/tokens", json=body)
        assert r.status_code == 201, r.text
        return r.json()["token"]


def resolved(server_model: dict) -> dict:
    """What a server model's server was started with: ``state.saturn_resolved``, the values the spawner derives
    from the user's choices (every kind with its default, the resolved auto-shutoff, the notebook) and keeps
    beside ``user_options`` (needs ``admin:server_state``, which the harness's admin token has)."""
    return server_model["state"]["saturn_resolved"]


def server_process(user: str, server: str = "", hub: Hub | None = None):
    """The running ``jupyterhub-singleuser`` process of ``user``'s server on ``hub`` (default: the most
    recently started hub), told apart from same-named users of other hubs by the hub API URL it was given."""
    import psutil  # noqa: PLC0415

    hub = hub or (Hub.running[-1] if Hub.running else None)
    api_marker = f"127.0.0.1:{hub.hub_port}/" if hub is not None else ""

    for proc in psutil.process_iter(["cmdline"]):
        try:
            argv = proc.info["cmdline"] or [""]
            # the server itself: not the watchdog that runs it (python -m jupyterhub_saturn.singleuser -- ...),
            # nor a sandboxed server's bwrap parents, which carry the server command line too (the server's own
            # arguments may name jupyterhub_saturn.singleuser.extension: only the watchdog runs the package)
            watchdog = any(a == "-m" and b == "jupyterhub_saturn.singleuser" for a, b in zip(argv, argv[1:]))
            if watchdog or "jupyterhub-singleuser" not in " ".join(argv) or argv[0].endswith("bwrap"):
                continue
            env = proc.environ()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if (env.get("JUPYTERHUB_USER") == user and env.get("JUPYTERHUB_SERVER_NAME", "") == server
                and api_marker in env.get("JUPYTERHUB_API_URL", "")):
            return proc
    return None


def server_env(user: str, server: str = "", hub: Hub | None = None) -> dict:
    """The environment the real single-user server process runs with."""
    proc = wait_for(lambda: server_process(user, server, hub), timeout=90, what=f"process of {user}/{server}")
    env = dict(proc.environ())
    env["_PID"] = str(proc.pid)
    env["_CWD"] = proc.cwd()
    return env
