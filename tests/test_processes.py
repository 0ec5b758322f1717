"""The end-of-run leftover check, on nested pytest runs: it fails a run that leaves a process behind
(and kills it), and never looks at processes of another run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from .harness import REPO, wait_for
from .processes import RUN_VAR, alive, run_id, tag_env, tagged

pytestmark = pytest.mark.processes  # runs pytest itself and sleeping children

LEAKY = textwrap.dedent("""
    import subprocess, sys
    def test_leaves_a_process(tmp_path):
        p = subprocess.Popen(["sleep", "300"])
        open({pidfile!r}, "w").write(str(p.pid))
""")

TIDY = textwrap.dedent("""
    import subprocess
    def test_cleans_up():
        p = subprocess.Popen(["sleep", "300"])
        p.kill(); p.wait()
""")


def nested(tmp_path, source: str) -> subprocess.CompletedProcess:
    test = tmp_path / "test_nested.py"
    test.write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest", str(test)],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=dict(os.environ, SATURN_LEFTOVER_WAIT="1"),
    )



def test_a_run_that_leaves_a_process_fails_and_the_process_is_killed(tmp_path):
    pidfile = tmp_path / "leak.pid"
    result = nested(tmp_path, LEAKY.format(pidfile=str(pidfile)))
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "1 passed" in out and "leftover processes" in out and "sleep 300" in out
    pid = int(pidfile.read_text())
    wait_for(lambda: not alive(pid), timeout=30, what="the leftover to be killed")


def test_processes_of_other_runs_are_not_this_runs_business(tmp_path):
    other = subprocess.Popen(["sleep", "300"], env=dict(os.environ, **{RUN_VAR: "another-run"}))
    try:
        result = nested(tmp_path, TIDY)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "leftover" not in result.stdout
        assert other.poll() is None
        assert [p.pid for p in tagged(RUN_VAR, "another-run")] == [other.pid]
    finally:
        other.send_signal(signal.SIGKILL)
        other.wait()


def test_this_run_is_tagged():
    assert tag_env("x") == {RUN_VAR: run_id(), "SATURN_TEST_OWNER": f"{run_id()}/x"}
    child = subprocess.Popen(["sleep", "300"])
    try:
        assert child.pid in {p.pid for p in tagged(RUN_VAR, run_id())}
    finally:
        child.kill()
        child.wait()
