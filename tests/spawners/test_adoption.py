"""Proving a recorded pid is still our server: the pure judgement, and /proc on real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..harness import wait_for

from jupyterhub_saturn.singleuser.lifetime import ENV_MARKER
from jupyterhub_saturn.spawners.adoption import (
    FOREIGN, GONE, OURS, Observed, ProcessRecord, judge, observe, record_for, verify,
)

REC = ProcessRecord(pid=4242, start_time=1000, boot_id="boot-a", marker="m" * 32)


@pytest.mark.parametrize("seen,verdict,words", [
    (Observed(False), GONE, "no longer exists"),
    (Observed(True, "Z", 1000, "boot-a", "", False), GONE, "has exited"),
    (Observed(True, "S", 1000, "boot-a", REC.marker, True), OURS, "is this server"),
    (Observed(True, "S", 1000, "boot-a", None, False), OURS, "is this server"),  # environ unreadable: start time
    (Observed(True, "S", 2000, "boot-a", REC.marker, True), FOREIGN, "started later"),
    (Observed(True, "S", 1000, "boot-b", REC.marker, True), FOREIGN, "rebooted"),
    (Observed(True, "S", 1000, "boot-a", "", True), FOREIGN, "marker"),
    (Observed(True, "S", 1000, "boot-a", "x" * 32, True), FOREIGN, "marker"),
])
def test_judge(seen, verdict, words):
    got, why = judge(REC, seen)
    assert got == verdict and words in why


def test_nothing_proves_a_record_without_start_time_when_environ_is_unreadable():
    rec = ProcessRecord(4242, None, None, "m")
    assert judge(rec, Observed(True, "S", 5, None, None, False))[0] == FOREIGN
    assert judge(rec, Observed(True, "S", 5, None, "m", True))[0] == OURS


@pytest.mark.parametrize("data", [
    None, "x", [], {}, {"pid": "1", "marker": "m"}, {"pid": 0, "marker": "m"}, {"pid": True, "marker": "m"},
    {"pid": 5, "marker": ""}, {"pid": 5, "marker": "m", "start_time": "9"}, {"pid": 5, "marker": "m", "boot_id": 3},
])
def test_state_that_is_not_a_record_is_ignored(data):
    assert ProcessRecord.from_state(data) is None


def test_state_round_trip():
    assert ProcessRecord.from_state(REC.to_state()) == REC


@pytest.fixture
def child():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                            env=dict(os.environ, **{ENV_MARKER: "the-marker"}))
    yield proc
    proc.kill()
    proc.wait()


@pytest.mark.processes  # a real child process
def test_a_live_child_is_ours_and_a_dead_one_is_gone(child):
    rec = record_for(child.pid, "the-marker")
    assert rec.start_time is not None and rec.boot_id
    assert verify(rec) == (OURS, f"process {child.pid} is this server")
    assert verify(ProcessRecord(child.pid, rec.start_time, rec.boot_id, "other"))[0] == FOREIGN
    assert verify(ProcessRecord(child.pid, rec.start_time - 1, rec.boot_id, "the-marker"))[0] == FOREIGN
    child.kill()
    wait_for(lambda: verify(rec)[0] == GONE, timeout=30, what="the killed child to be a zombie")  # not reaped yet
    assert child.returncode is None
    child.wait()
    assert verify(rec)[0] == GONE


def test_a_reused_pid_is_foreign(tmp_path: Path):
    """A fake /proc where pid 77 belongs to a later process with a name full of ") (" and spaces."""
    proc = tmp_path / "proc"
    (proc / "77").mkdir(parents=True)
    (proc / "sys/kernel/random").mkdir(parents=True)
    (proc / "sys/kernel/random/boot_id").write_text("boot-a\n")
    fields = ["S", "1"] + ["0"] * 17 + ["5000"] + ["0"] * 10
    (proc / "77/stat").write_bytes(b"77 (evil) (x y) " + " ".join(fields).encode())
    (proc / "77/environ").write_bytes(b"A=1\0" + ENV_MARKER.encode() + b"=stolen\0")
    seen = observe(77, proc)
    assert seen == Observed(True, "S", 5000, "boot-a", "stolen", True)
    assert verify(ProcessRecord(77, 1000, "boot-a", "stolen"), proc)[0] == FOREIGN
    assert verify(ProcessRecord(77, 5000, "boot-a", "stolen"), proc)[0] == OURS
