"""Proving that a recorded pid is still the server ``saturn-local`` started.

After a hub restart JupyterHub only has the pid it saved. A pid is reused once its process
is gone, so a bare "is pid N alive?" can adopt (and later signal) a stranger's process.
A :class:`ProcessRecord` saved beside the pid pins the process down:

- ``start_time``: when the kernel started process ``pid`` (``/proc/<pid>/stat`` field 22,
  clock ticks since boot) — a reused pid has a later one;
- ``boot_id``: which boot that count belongs to (``/proc/sys/kernel/random/boot_id``);
- ``marker``: a random secret put in the server's environment at spawn, checked in
  ``/proc/<pid>/environ`` whenever the hub may read it.

:func:`verify` compares a record with what ``/proc`` shows now; :func:`judge` is the pure
comparison. Linux only, like the rest of ``saturn-local`` (cgroups, sandbox).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..singleuser.lifetime import ENV_MARKER

PROC = Path("/proc")

#: verdicts of :func:`judge`
OURS = "ours"
GONE = "gone"
FOREIGN = "foreign"


@dataclass(frozen=True)
class ProcessRecord:
    """What identifies one started server process, saved in the spawner state."""

    pid: int
    start_time: int | None
    boot_id: str | None
    marker: str

    def to_state(self) -> dict:
        return {"pid": self.pid, "start_time": self.start_time, "boot_id": self.boot_id, "marker": self.marker}

    @classmethod
    def from_state(cls, data) -> "ProcessRecord | None":
        """The record saved by :meth:`to_state`, or None when ``data`` is not one (old or foreign state)."""
        if not isinstance(data, dict):
            return None
        pid, start, boot, marker = (data.get(k) for k in ("pid", "start_time", "boot_id", "marker"))
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0 or not isinstance(marker, str) or not marker:
            return None
        if start is not None and (not isinstance(start, int) or isinstance(start, bool)):
            return None
        if boot is not None and not isinstance(boot, str):
            return None
        return cls(pid, start, boot, marker)


@dataclass(frozen=True)
class Observed:
    """What ``/proc`` shows for a pid now (``exists`` False: no such process)."""

    exists: bool
    state: str = ""
    start_time: int | None = None
    boot_id: str | None = None
    marker: str | None = None  # the marker in its environment, "" if absent
    environ_readable: bool = False


def judge(record: ProcessRecord, seen: Observed) -> tuple[str, str]:
    """``(OURS | GONE | FOREIGN, why)`` for a record against an observation. Pure."""
    if not seen.exists:
        return GONE, f"process {record.pid} no longer exists"
    if seen.state in ("Z", "X"):
        return GONE, f"process {record.pid} has exited (state {seen.state})"
    if record.boot_id and seen.boot_id and record.boot_id != seen.boot_id:
        return FOREIGN, "the machine has rebooted since the server started"
    if record.start_time is not None and seen.start_time is not None and record.start_time != seen.start_time:
        return FOREIGN, (f"pid {record.pid} now belongs to a process started later "
                         f"(start time {seen.start_time}, recorded {record.start_time})")
    if seen.environ_readable and seen.marker != record.marker:
        return FOREIGN, f"process {record.pid} does not carry this server's marker"
    if record.start_time is None and not seen.environ_readable:
        return FOREIGN, f"nothing proves process {record.pid} is this server (no start time, environment unreadable)"
    return OURS, f"process {record.pid} is this server"


# ------------------------------------------------------------ reading /proc


def boot_id(proc: Path = PROC) -> str | None:
    try:
        return (proc / "sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def _stat(pid: int, proc: Path) -> tuple[str, int] | None:
    """(state, start time) from ``/proc/<pid>/stat``, or None when there is no such process."""
    try:
        raw = (proc / str(pid) / "stat").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # the command name may contain spaces and parentheses: fields start after the last ")"
    fields = raw[raw.rfind(b")") + 2:].split()
    return fields[0].decode(), int(fields[19])


def _environ_marker(pid: int, proc: Path) -> tuple[bool, str | None]:
    """(readable, marker value or "" when absent)."""
    try:
        raw = (proc / str(pid) / "environ").read_bytes()
    except OSError:
        return False, None
    prefix = ENV_MARKER.encode() + b"="
    for item in raw.split(b"\0"):
        if item.startswith(prefix):
            return True, item[len(prefix):].decode(errors="replace")
    return True, ""


def observe(pid: int, proc: Path = PROC) -> Observed:
    """What ``/proc`` shows for ``pid`` now."""
    stat = _stat(pid, proc)
    if stat is None:
        return Observed(False)
    readable, marker = _environ_marker(pid, proc)
    return Observed(True, stat[0], stat[1], boot_id(proc), marker, readable)


def record_for(pid: int, marker: str, proc: Path = PROC) -> ProcessRecord:
    """The record of a process just started (the caller still holds it, so its pid is not reused)."""
    stat = _stat(pid, proc)
    return ProcessRecord(pid, stat[1] if stat else None, boot_id(proc), marker)


def verify(record: ProcessRecord, proc: Path = PROC) -> tuple[str, str]:
    """:func:`judge` ``record`` against the live system."""
    return judge(record, observe(record.pid, proc))
