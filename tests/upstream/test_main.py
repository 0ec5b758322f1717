"""The runner (``python -m tests.upstream``): what its pytest runs inherit."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ..harness import REPO

CHILD = "import signal; print('ignored' if signal.getsignal(signal.SIGINT) is signal.SIG_IGN else 'default')"


@pytest.mark.processes
@pytest.mark.parametrize("fixed", [False, True])
def test_runs_get_sigint_back_when_started_with_it_ignored(fixed):
    # as `make test`'s background phases start it: SIGINT ignored, which every child would inherit
    code = ("import signal, subprocess, sys\n"
            "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "from tests.upstream.__main__ import default_interrupt\n"
            + ("default_interrupt()\n" if fixed else "")
            + f"print(subprocess.run([sys.executable, '-c', {CHILD!r}], capture_output=True, text=True).stdout)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    # a child that starts with SIGINT ignored keeps it so (Python installs no handler of its own)
    assert out.stdout.split() == ["default" if fixed else "ignored"], out.stdout
