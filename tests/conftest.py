"""Shared fixtures: real hubs started per test (or module), cleaned up afterwards."""

from __future__ import annotations

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
        if failed:
            print(f"\n----- log tail of {hub.dir.name} -----\n{hub.log_tail(120)}")


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
