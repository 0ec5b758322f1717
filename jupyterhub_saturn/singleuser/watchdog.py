"""The watchdog process: runs the single-user server as its child and stops it when it must.

``python -I -m jupyterhub_saturn.singleuser -- jupyterhub-singleuser --port=...``

- The spawner records the watchdog's pid; signals it receives (SIGINT, SIGTERM, ...) are
  forwarded to the server, so the spawner's stop works as before.
- Every :attr:`~.lifetime.Bounds.probe_every` seconds a thread asks the hub
  ``GET $JUPYTERHUB_API_URL/user`` with ``$JUPYTERHUB_API_TOKEN``; :class:`~.lifetime.Lifetime`
  decides. To stop, the server gets SIGTERM (a clean Jupyter shutdown: kernels too), then
  SIGKILL after the stop grace.
- It is a child subreaper: processes the server leaves behind (kernels in their own
  sessions) become its children, and are stopped when the server is gone. The server gets
  ``PR_SET_PDEATHSIG``: if the watchdog itself is killed, the server dies with it.
- Exit status: the server's (128 + signal number when a signal ended it).
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime

from .lifetime import FORGOTTEN, OK, UNREACHABLE, Bounds, Lifetime

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
WATCHED = {signal.SIGCHLD, *FORWARDED}


def server_label() -> str:
    """Whose server this watchdog bounds (``user`` or ``user/name``): its pid means little inside a sandbox's
    pid namespace."""
    user, name = os.environ.get("JUPYTERHUB_USER", ""), os.environ.get("JUPYTERHUB_SERVER_NAME", "")
    return (f"{user}/{name}" if name else user) or f"pid {os.getpid()}"


def log(level: str, message: str) -> None:
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    print(f"[{level} {stamp} saturn-watchdog {server_label()}] {message}", file=sys.stderr, flush=True)


def _prctl(option: int, value: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


# ------------------------------------------------------------ asking the hub


def probe(api_url: str, token: str, timeout: float, context: ssl.SSLContext | None = None) -> str:
    """One "who am I?" to the hub: OK (200), FORGOTTEN (401/403) or UNREACHABLE (anything else)."""
    req = urllib.request.Request(api_url.rstrip("/") + "/user", headers={"Authorization": f"token {token}"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(req, timeout=timeout) as resp:
            return OK if resp.status == 200 else UNREACHABLE
    except urllib.error.HTTPError as e:
        return FORGOTTEN if e.code in (401, 403) else UNREACHABLE
    except (OSError, ValueError):  # refused, reset, timeout, DNS, malformed URL
        return UNREACHABLE


def _ssl_context(env) -> ssl.SSLContext | None:
    """The client TLS settings JupyterHub gives servers with ``internal_ssl``."""
    ca = env.get("JUPYTERHUB_SSL_CLIENT_CA")
    if not ca:
        return None
    ctx = ssl.create_default_context(cafile=ca)
    if env.get("JUPYTERHUB_SSL_CERTFILE"):
        ctx.load_cert_chain(env["JUPYTERHUB_SSL_CERTFILE"], env.get("JUPYTERHUB_SSL_KEYFILE"))
    return ctx


class Prober(threading.Thread):
    """Asks the hub on a schedule and feeds the answers to the lifetime (under ``lock``)."""

    def __init__(self, lifetime: Lifetime, lock: threading.Lock, api_url: str, token: str, env):
        super().__init__(name="saturn-hub-probe", daemon=True)
        self.lifetime, self.lock, self.api_url, self.token = lifetime, lock, api_url, token
        self.context = _ssl_context(env)
        self.stopping = threading.Event()

    def run(self) -> None:
        every = self.lifetime.bounds.probe_every
        previous = None
        while not self.stopping.wait(every):
            outcome = probe(self.api_url, self.token, timeout=max(1.0, min(10.0, every)), context=self.context)
            with self.lock:
                self.lifetime.observe(time.monotonic(), outcome)
            if outcome != previous:
                if outcome == OK and previous is not None:
                    log("I", "the hub answers again")
                elif outcome == UNREACHABLE:
                    log("W", f"the hub at {self.api_url} does not answer")
                elif outcome == FORGOTTEN:
                    log("W", "the hub does not know this server's token")
                previous = outcome


# ------------------------------------------------------------ processes


def _children() -> list[int]:
    """Pids whose parent is this process (as a subreaper: also orphaned descendants)."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == me and fields[0] != b"Z":
            found.append(int(entry))
    return found


def _reap() -> dict[int, int]:
    """Reap every exited child: {pid: wait status}."""
    done = {}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return done
        if pid == 0:
            return done
        done[pid] = status


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_leftovers(grace: float) -> int:
    """SIGTERM every remaining child, SIGKILL what is left after ``grace`` s; return how many there were."""
    seen: set[int] = set()
    deadline = time.monotonic() + grace
    sig = signal.SIGTERM
    while True:
        _reap()
        kids = _children()
        if not kids:
            return len(seen)
        if time.monotonic() >= deadline:
            sig = signal.SIGKILL
        for pid in kids:
            if pid not in seen or sig == signal.SIGKILL:
                _kill(pid, sig)
            seen.add(pid)
        signal.sigtimedwait([signal.SIGCHLD], 0.2)
        if time.monotonic() > deadline + 10:  # unkillable (D state): give up rather than hang
            log("E", f"processes {sorted(_children())} did not exit")
            return len(seen)


def _exit_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1


def run(cmd: list[str], env) -> int:
    """Run ``cmd`` under the watchdog until it exits; returns the exit status to use."""
    try:
        bounds = Bounds.from_env(env)
    except ValueError as e:
        log("E", f"bad setting, running without limits would be unsafe: {e}")
        return 2
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    signal.pthread_sigmask(signal.SIG_BLOCK, WATCHED)

    def in_child():
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    try:
        child = subprocess.Popen(cmd, preexec_fn=in_child, env=env)
    except OSError as e:
        log("E", f"could not start {cmd[0]!r}: {e}")
        return 127
    api_url, token = env.get("JUPYTERHUB_API_URL"), env.get("JUPYTERHUB_API_TOKEN")
    if not (api_url and token):
        bounds = dataclasses.replace(bounds, hub_unreachable=None)
    lifetime, lock = Lifetime(bounds, time.monotonic()), threading.Lock()
    prober = None
    if api_url and token:
        prober = Prober(lifetime, lock, api_url, token, env)
        prober.start()
    else:
        log("W", "no JUPYTERHUB_API_URL/JUPYTERHUB_API_TOKEN: the hub is not watched (max age still is)")
    log("I", f"watching server pid {child.pid}: hub unreachable bound "
             f"{bounds.hub_unreachable or 'off'}, max age {bounds.max_age or 'off'}, "
             f"checks every {bounds.probe_every:g} s")

    stop_sent = kill_at = None
    status = None
    while status is None:
        info = signal.sigtimedwait(list(WATCHED), 0.5)
        if info is not None and info.si_signo != signal.SIGCHLD:
            _kill(child.pid, info.si_signo)
        reaped = _reap()
        if child.pid in reaped:
            status = reaped[child.pid]
            break
        now = time.monotonic()
        if stop_sent is None:
            with lock:
                verdict = lifetime.verdict(now)
            if verdict is not None:
                reason, why = verdict
                log("W", f"stopping the server ({reason}): {why}")
                _kill(child.pid, signal.SIGTERM)
                stop_sent, kill_at = now, now + bounds.stop_grace
        elif kill_at is not None and now >= kill_at:
            log("W", f"the server did not stop within {bounds.stop_grace:g} s; killing it")
            _kill(child.pid, signal.SIGKILL)
            kill_at = None
    if prober is not None:
        prober.stopping.set()
    left = stop_leftovers(grace=min(5.0, bounds.stop_grace))
    if left:
        log("I", f"stopped {left} process(es) the server left behind")
    code = _exit_code(status)
    log("I", f"server exited with status {code}")
    return code


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        print("usage: python -m jupyterhub_saturn.singleuser -- <server command> [args...]", file=sys.stderr)
        return 2
    return run(args, dict(os.environ))
