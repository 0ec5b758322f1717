"""Crash-safe primitives: atomic replace, temp cleanup on failure, exclusive locks."""

from __future__ import annotations

import os
import threading
import time

import pytest

from jupyterhub_saturn.gallery import atomic
from jupyterhub_saturn.gallery.atomic import atomic_write, locked


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "f.json"
    atomic_write(target, b"one")
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_failed_write_keeps_old_content_and_removes_temp(tmp_path, monkeypatch):
    target = tmp_path / "f.json"
    atomic_write(target, b"old")

    def boom(fd):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_readers_never_see_a_partial_file(tmp_path):
    target = tmp_path / "f"
    big_a, big_b = b"a" * 3_000_000, b"b" * 3_000_000
    atomic_write(target, big_a)
    stop = threading.Event()
    seen = set()

    def reader():
        while not stop.is_set():
            data = target.read_bytes()
            seen.add((data[:1], len(data), data[-1:]))

    t = threading.Thread(target=reader)
    t.start()
    for i in range(10):
        atomic_write(target, big_b if i % 2 == 0 else big_a)
    stop.set()
    t.join(timeout=60)
    assert seen <= {(b"a", 3_000_000, b"a"), (b"b", 3_000_000, b"b")}


def test_lock_is_exclusive_across_threads(tmp_path):
    lock = tmp_path / ".lock"
    inside = []
    overlaps = []

    def work(n):
        for _ in range(5):
            with locked(lock):
                inside.append(n)
                if len(inside) > 1:
                    overlaps.append(list(inside))
                time.sleep(0.002)
                inside.remove(n)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert overlaps == []


def _wait(pid: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("child process never got the lock")


@pytest.mark.processes  # a forked process
def test_lock_is_exclusive_across_processes(tmp_path):
    lock = tmp_path / ".lock"
    marker = tmp_path / "child-got-lock"
    r, w = os.pipe()
    pid = os.fork()  # before locking: a forked copy of a locked fd would keep the lock alive
    if pid == 0:  # pragma: no cover - child
        os.close(w)
        os.read(r, 1)
        with locked(lock):
            marker.write_text("x")
        os._exit(0)
    os.close(r)
    with locked(lock):
        os.write(w, b"x")
        time.sleep(0.3)
        assert not marker.exists()  # the child is blocked while we hold the lock
    os.close(w)
    _wait(pid)
    assert marker.exists()
