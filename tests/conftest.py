"""Shared fixtures: real hubs started per test (or module), cleaned up afterwards.

Nothing a run starts may outlive it: every process carries the run's tag (tests/processes.py),
fixtures stop what their hubs started, and at the end of the session any tagged process still
running is listed, killed, and fails the run.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from . import processes, property_budget  # noqa: F401 - property_budget: `make unit`'s hypothesis profile
from .harness import Hub

#: how long the end-of-run check waits for processes that are still exiting
LEFTOVER_WAIT = float(os.environ.get("SATURN_LEFTOVER_WAIT") or 20)


def pytest_configure(config):
    processes.run_id()  # exported before anything starts, so every child inherits it


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    """Fail the run if a process it started is still running."""
    left = processes.wait_gone(processes.run_processes, LEFTOVER_WAIT)
    if not left:
        return
    lines = [f"{len(left)} process(es) started by this test run outlived it (killed now):"]
    lines += [f"  {p}" for p in left]
    owners = {_owner_of(p.pid) for p in left} - {None}
    if owners:
        lines.append("  owners: " + ", ".join(sorted(owners)))
    processes.stop(processes.run_processes, grace=5)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    text = "\n".join(lines)
    if reporter is not None:
        reporter.write_sep("=", "leftover processes", red=True)
        reporter.write_line(text)
    else:
        print(text)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _owner_of(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            for item in f.read().split(b"\0"):
                if item.startswith(processes.OWNER_VAR.encode() + b"="):
                    return item.split(b"=", 1)[1].decode(errors="replace")
    except OSError:
        return None
    return None


@pytest.fixture(autouse=True, scope="module")
def _stop_module_hubs():
    """Hubs a module made (module fixtures, hubs made inside tests): stopped, and their trees killed,
    when the module is done — after the module's own fixtures, which may have stopped them already."""
    first = len(Hub.created)
    yield
    for hub in Hub.created[first:]:
        hub.stop()
        left = hub.kill_owned()
        if left:
            print(f"\n{hub.dir.name}: stopped {len(left)} process(es) its hub left running: "
                  + "; ".join(str(p) for p in left))
    del Hub.created[first:]


@pytest.fixture(autouse=True)
def _unit_starts_no_process(request, monkeypatch):
    """`make unit` (``SATURN_TESTS=unit``) is pure logic: a test it runs that starts a process (a hub, helm,
    bubblewrap, a Go build) fails here, naming the marker that sends it to `make test` instead."""
    if not property_budget.UNIT:
        return

    def refuse(self, args, *a, **kw):
        raise AssertionError(f"{request.node.nodeid} starts a process ({args!r}) under `make unit`: "
                             "mark it `processes` (or e2e/kube) so that `make test` runs it")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)


@pytest.fixture
def hub_factory(tmp_path, request):
    """Make and start real hubs: ``hub_factory(config_lines, start=True)``; all are stopped at teardown.

    On a failing test the hub log tails are printed (pytest shows them with the failure).
    """
    hubs: list[Hub] = []

    def make(config: str = "", *, start: bool = True, env: dict | None = None, name: str | None = None) -> Hub:
        hub = Hub(tmp_path / (name or f"hub{len(hubs)}"), config, env=env)
        hubs.append(hub)
        if start:
            hub.start()
        return hub

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for hub in hubs:
        hub.stop()
        hub.kill_owned()
        if failed:
            print(f"\n----- log tail of {hub.dir.name} -----\n{hub.log_tail(120)}")


def pytest_collection_modifyitems(config, items):
    """Mark tests that use the real control plane ``kube``: make test runs them once the Go build is done."""
    for item in items:
        if "kube_control_plane" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kube)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


# ------------------------------------------------------------ headless Chromium (Debian's package + Playwright)

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module: Playwright's sync API keeps an event loop running while it is
    open, which would break later tests that use asyncio.run()."""
    path = chromium_path()
    if path is None:
        message = "Debian's chromium is not installed (make test installs it: scripts/ensure-debian-package.sh)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # Playwright gives each launch a fresh, empty profile directory of its own
        b = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = context.new_page()
    p.set_default_timeout(60_000)
    yield p
    context.close()
