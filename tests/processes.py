"""Which processes this pytest run started, found by a tag in their environment.

At start-up the run puts ``SATURN_TEST_RUN=<random id>`` into ``os.environ``; every process it
starts inherits it (hubs, proxies, OIDC provider, etcd, kube-apiserver, Chromium), and the hub
configs pass it on to single-user servers, their kernels and hub-managed services. Each
:class:`~tests.harness.Hub` also tags its whole tree with ``SATURN_TEST_OWNER=<run>/<hub>``, so
its fixture can stop exactly what it owns. Other test runs on the same machine carry other ids
and are never touched. Linux ``/proc`` only (readable for our own uid, or as root).
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from dataclasses import dataclass

RUN_VAR = "SATURN_TEST_RUN"
OWNER_VAR = "SATURN_TEST_OWNER"


def run_id() -> str:
    """This run's id, made (and exported to children) on first use."""
    if not os.environ.get(RUN_VAR) or os.environ.get("_SATURN_TEST_RUN_PID") != str(os.getpid()):
        os.environ[RUN_VAR] = f"{os.getpid()}-{secrets.token_hex(6)}"
        os.environ["_SATURN_TEST_RUN_PID"] = str(os.getpid())
    return os.environ[RUN_VAR]


def tag_env(owner: str | None = None) -> dict[str, str]:
    """The variables that mark a process as this run's (and ``owner``'s)."""
    env = {RUN_VAR: run_id()}
    if owner:
        env[OWNER_VAR] = f"{run_id()}/{owner}"
    return env


@dataclass(frozen=True)
class Proc:
    pid: int
    name: str
    cmdline: str

    def __str__(self) -> str:
        return f"pid {self.pid} ({self.name}): {self.cmdline[:300]}"


def _read(pid: str, what: str) -> bytes | None:
    try:
        with open(f"/proc/{pid}/{what}", "rb") as f:
            return f.read()
    except OSError:
        return None


def _after_name(stat: bytes) -> bytes:
    """A ``/proc/<pid>/stat`` line from the state field on (the command name before it may hold spaces and
    parentheses): the state letter first, e.g. ``b"Z"`` for a zombie; ``b""`` when there is no line."""
    return stat[stat.rfind(b")") + 2:]


def alive(pid: int) -> bool:
    """Running (a zombie nobody has reaped yet has exited)."""
    stat = _read(str(pid), "stat")
    return bool(stat) and _after_name(stat)[:1] not in (b"Z", b"X")


def tagged(var: str, value: str) -> list[Proc]:
    """Live (non-zombie) processes whose environment holds ``var=value``, except this process."""
    needle = f"{var}={value}".encode()
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        environ = _read(pid, "environ")
        if not environ or needle not in environ.split(b"\0"):
            continue
        stat = _read(pid, "stat") or b""
        if _after_name(stat)[:1] in (b"Z", b"X", b""):
            continue
        cmd = (_read(pid, "cmdline") or b"").replace(b"\0", b" ").decode(errors="replace").strip()
        name = stat[stat.find(b"(") + 1:stat.rfind(b")")].decode(errors="replace")
        found.append(Proc(int(pid), name, cmd))
    return found


def describe(pid: int) -> str:
    """What a process is doing, for a failure message: its state, CPU time used and its threads' states
    (a process stuck starting up shows as sleeping with little CPU; one busy at something, as running)."""
    stat = _read(str(pid), "stat")
    if not stat:
        return f"pid {pid}: gone"
    fields = _after_name(stat).split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    states = []
    for tid in _listdir(f"/proc/{pid}/task"):
        states.append(_after_name(_read(f"{pid}/task/{tid}", "stat") or b"")[:1].decode() or "?")
    counts = ", ".join(f"{states.count(s)} {s}" for s in sorted(set(states)))
    return f"pid {pid}: state {fields[0].decode()}, {cpu:.2f}s CPU, threads: {counts or 'none'}"


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def run_processes() -> list[Proc]:
    """Live processes started by this run."""
    return tagged(RUN_VAR, run_id())


def owned_processes(owner: str) -> list[Proc]:
    """Live processes tagged for ``owner`` in this run."""
    return tagged(OWNER_VAR, f"{run_id()}/{owner}")


def stop(procs, *, grace: float = 10.0) -> list[Proc]:
    """SIGTERM ``procs`` (a callable returning the current list), SIGKILL what is left after ``grace``;
    returns what was still running at the first look."""
    first = procs()
    for p in first:
        _kill(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while procs() and time.monotonic() < deadline:
        time.sleep(0.2)
    for _ in range(3):
        left = procs()
        if not left:
            break
        for p in left:
            _kill(p.pid, signal.SIGKILL)
        time.sleep(0.5)
    return first


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def wait_gone(procs, timeout: float) -> list[Proc]:
    """Wait up to ``timeout`` s for ``procs()`` to be empty; return what is still there."""
    deadline = time.monotonic() + timeout
    while True:
        left = procs()
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.25)
