"""spawners/sandboxing.py parts that need no hub: the package's bytecode written at start-up, and which process
a stop may signal."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from jupyterhub_saturn.singleuser import watchdog
from jupyterhub_saturn.spawners.sandboxing import (
    PACKAGE_DIR,
    SandboxMixin,
    _children,
    compile_package,
    is_sandbox_of,
)


def test_the_watchdogs_bytecode_is_written_for_sandboxes_that_cannot():
    # the watchdog is the first code every sandboxed server runs, from the read-only package directory
    source = Path(watchdog.__file__)
    assert str(source).startswith(PACKAGE_DIR)
    cached = Path(importlib.util.cache_from_source(str(source)))
    cached.unlink(missing_ok=True)
    compile_package()
    assert cached.exists() and cached.stat().st_mtime >= source.stat().st_mtime


# ------------------------------------------------------------ which process a stop may signal

def _fake_spawner(pid: int, home: str) -> SimpleNamespace:
    fake = SimpleNamespace(pid=pid, home=home, interrupt_timeout=0.1, term_timeout=0.1)
    fake.sandbox_init_pid = lambda: SandboxMixin.sandbox_init_pid(fake)
    return fake


def _wait_children(pid: int) -> list[int]:
    deadline = time.monotonic() + 30
    while not _children(pid):
        assert time.monotonic() < deadline, f"pid {pid} started no child"
        time.sleep(0.05)
    return _children(pid)


@pytest.mark.processes
def test_a_pid_the_kernel_gave_to_another_process_is_never_signalled(tmp_path):
    # the server exited and its recorded pid now belongs to an unrelated process that has children (on a
    # busy machine pids wrap within minutes): stopping the server must leave them alone
    # pid -> child -> grandchild, as bwrap -> the sandbox's init -> the server
    other = subprocess.Popen(["sh", "-c", "sh -c 'sleep 120 & wait' & wait"])
    child = _wait_children(other.pid)[0]
    grandchild = _wait_children(child)[0]
    try:
        fake = _fake_spawner(other.pid, str(tmp_path / "home"))
        assert fake.sandbox_init_pid() is None
        stops = []

        async def stop(now=False):
            stops.append(now)

        asyncio.run(SandboxMixin.stop_sandboxed(fake, stop))
        assert stops == [False]  # the spawner's own stop still runs
        assert all(os.path.exists(f"/proc/{pid}") for pid in (child, grandchild)) and other.poll() is None
    finally:
        for pid in (grandchild, child):
            os.kill(pid, signal.SIGKILL)
        other.kill()
        other.wait()


@pytest.mark.processes
def test_only_the_bubblewrap_of_this_servers_home_is_its_sandbox(tmp_path):
    bwrap = shutil.which("bwrap")
    assert bwrap, "bubblewrap is not installed (make test installs it: scripts/ensure-debian-package.sh)"
    home, other_home = tmp_path / "home", tmp_path / "other"
    home.mkdir()
    other_home.mkdir()
    proc = subprocess.Popen([bwrap, "--dev-bind", "/", "/", "--bind", str(home), str(home), "--unshare-pid",
                             "--die-with-parent", "--", "sleep", "120"])
    init = _wait_children(proc.pid)[0]
    try:
        assert is_sandbox_of(proc.pid, str(home)) and is_sandbox_of(proc.pid, f"{home}/")
        assert not is_sandbox_of(proc.pid, str(other_home))  # another user's sandbox
        assert not is_sandbox_of(os.getpid(), str(home))  # not bubblewrap at all
        assert _fake_spawner(proc.pid, str(home)).sandbox_init_pid() == init
        assert _fake_spawner(proc.pid, str(other_home)).sandbox_init_pid() is None
    finally:
        os.kill(init, signal.SIGKILL)  # the sandbox's pid 1: everything inside ends with it
        proc.kill()
        proc.wait()
