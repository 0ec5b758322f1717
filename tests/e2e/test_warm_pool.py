"""The warm pool: throwaway servers started ahead of demand, claimed by Run this copy, refilled within the caps."""

from __future__ import annotations

import pytest

from ..harness import Hub, resolved, wait_for
from .gallery_helpers import GALLERY_CONFIG, publish, run_copy, sample_notebook

pytestmark = pytest.mark.e2e


def _ready_throwaways(hub) -> set[str]:
    return {u["name"] for u in hub.api("GET", "/users").json()
            if u["name"].startswith("anon~") and u["servers"].get("", {}).get("ready")}


@pytest.mark.hub_versions
def test_warm_pool_serves_a_click_from_a_started_server_and_refills(tmp_path):
    hub = Hub(tmp_path / "hub", GALLERY_CONFIG + """
c.SaturnGallery.warm_pool = {"python": 1}
c.Saturn.launch_limits = {"max_throwaway_servers": 2, "max_per_notebook": 5}
""").start()
    try:
        hub.ensure_user("prof", ["instructors"])
        rec = publish(hub, hub.user_token("prof"), sample_notebook("Warm")).json()
        pooled = wait_for(lambda: _ready_throwaways(hub), timeout=120, what="a warm server")
        assert len(pooled) == 1
        s, status = run_copy(hub, rec["id"])
        assert status["state"] == "ready", status
        claimed = status["url"].split("/user/")[1].split("/")[0]
        assert claimed in pooled  # the click used the pooled server
        # the claimed server records the notebook it runs beside the user_options (in its state), not in them
        claimed_server = hub.user_model(claimed)["servers"][""]
        assert resolved(claimed_server)["saturn_notebook"] == rec["id"]
        assert "saturn_notebook" not in claimed_server["user_options"]
        # the pool refills with a new server, and never beyond the cap of 2 throwaway servers
        def two_ready():
            ready = _ready_throwaways(hub)
            return ready if len(ready) == 2 else None

        both = wait_for(two_ready, timeout=120, what="refill")
        assert claimed in both
        _, second = run_copy(hub, rec["id"], headers={"X-Forwarded-For": "10.8.0.2"})
        assert second["state"] == "ready"
        # both throwaway servers are now in use: the pool may not start a third
        import time
        time.sleep(8)
        assert len([u for u in hub.api("GET", "/users").json()
                    if u["name"].startswith("anon~") and u["servers"]]) == 2
        _, third = run_copy(hub, rec["id"], headers={"X-Forwarded-For": "10.8.0.3"})
        assert not isinstance(third, dict) and third.status_code == 503 and "Retry-After" in third.headers
    finally:
        hub.stop()
