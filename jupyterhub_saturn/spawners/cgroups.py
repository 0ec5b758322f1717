"""Enforce a server's memory and CPU limits with cgroup v2, where the hub has a delegated cgroup.

The hub's service manager must delegate a cgroup to it (systemd ``Delegate=yes``), or the
admin names one with ``SaturnLocalSpawner.cgroup_parent``. Each server then runs in
``<parent>/saturn-<server>`` with ``memory.max`` and ``cpu.max`` set. Without one, limits
are advisory: passed as ``MEM_LIMIT``/``CPU_LIMIT`` and shown as such on the spawn page.
"""

from __future__ import annotations

import errno
import logging
import os
import re
from pathlib import Path

log = logging.getLogger(__name__)

CPU_PERIOD_US = 100_000
_NAME_RE = re.compile(r"[^A-Za-z0-9_.-]")


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


class CgroupLimiter:
    """Create, limit and remove per-server child cgroups under one cgroup v2 directory."""

    def __init__(self, parent: Path):
        self.parent = Path(parent)

    # -------------------------------------------------------------- discovery

    @classmethod
    def detect(cls, configured: str = "", *, root: str = "/sys/fs/cgroup", proc_self: str = "/proc/self/cgroup"):
        """Return ``(limiter or None, human explanation)``."""
        if configured:
            parent = Path(configured)
            ok, why = cls._usable(parent)
            return (cls(parent), f"enforced with cgroup v2 under {parent}") if ok else (None, why)
        root_path = Path(root)
        if not (root_path / "cgroup.controllers").exists():
            return None, "advisory: this machine does not use a unified cgroup v2 hierarchy"
        own = ""
        for line in _read(Path(proc_self)).splitlines():
            if line.startswith("0::"):
                own = line[3:]
        if not own:
            return None, "advisory: the hub's cgroup v2 path is unknown"
        own_dir = root_path / own.lstrip("/")
        ok, why = cls._usable(own_dir)
        if not ok and own_dir.exists() and os.access(own_dir, os.W_OK):
            ok, why = cls._delegate(own_dir)
        return (cls(own_dir), f"enforced with cgroup v2 under {own_dir}") if ok else (None, why)

    @staticmethod
    def _usable(parent: Path) -> tuple[bool, str]:
        if not (parent / "cgroup.controllers").exists():
            return False, f"advisory: {parent} is not a cgroup v2 directory"
        enabled = set(_read(parent / "cgroup.subtree_control").split())
        missing = {"memory", "cpu"} - enabled
        if missing:
            try:
                (parent / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in sorted(missing)))
            except OSError as e:
                return False, f"advisory: cannot enable {', '.join(sorted(missing))} in {parent} ({e.strerror})"
        if not os.access(parent, os.W_OK):
            return False, f"advisory: {parent} is not writable by the hub"
        return True, ""

    @classmethod
    def _delegate(cls, own_dir: Path) -> tuple[bool, str]:
        """Move the hub's processes into ``<own>/hub`` so ``<own>`` may hold per-server children."""
        try:
            hub_leaf = own_dir / "hub"
            hub_leaf.mkdir(exist_ok=True)
            for pid in _read(own_dir / "cgroup.procs").split():
                try:
                    (hub_leaf / "cgroup.procs").write_text(pid)
                except OSError as e:
                    if e.errno != errno.ESRCH:
                        raise
        except OSError as e:
            return False, f"advisory: cannot use the hub's cgroup {own_dir} ({e.strerror})"
        return cls._usable(own_dir)

    # -------------------------------------------------------------- per server

    def path_for(self, server: str) -> Path:
        """The child cgroup directory of one server."""
        return self.parent / ("saturn-" + _NAME_RE.sub("_", server))

    def create(self, server: str, *, memory: int | None, cpus: float | None) -> Path:
        """Create (or reuse) the server's cgroup and write its limits."""
        path = self.path_for(server)
        path.mkdir(exist_ok=True)
        if memory:
            (path / "memory.max").write_text(str(int(memory)))
            swap = path / "memory.swap.max"
            if swap.exists():
                swap.write_text("0")
        if cpus:
            (path / "cpu.max").write_text(f"{int(cpus * CPU_PERIOD_US)} {CPU_PERIOD_US}")
        return path

    @staticmethod
    def join(path: Path) -> None:
        """Move the calling process into ``path`` (used in the child before exec)."""
        with open(path / "cgroup.procs", "w") as f:
            f.write("0")

    def remove(self, server: str) -> None:
        """Remove the server's cgroup once its processes are gone (best effort)."""
        path = self.path_for(server)
        try:
            path.rmdir()
        except FileNotFoundError:
            pass
        except OSError as e:
            log.warning("Could not remove cgroup %s: %s", path, e)
