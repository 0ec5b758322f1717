"""Shared fixtures: real hubs started per test (or module), cleaned up afterwards."""

from __future__ import annotations

import os
import shutil

import pytest

from .harness import Hub


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
        hub.kill_leftover_servers()
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
        message = "Debian's chromium is not installed (make test installs it: scripts/ensure-chromium.sh)"
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
