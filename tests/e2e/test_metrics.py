"""The product's metrics on the hub's own ``/hub/metrics``, scraped from a real hub after real launches,
refusals, publishes, renders and culls by the real culler service."""

from __future__ import annotations

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from ..harness import Hub, wait_for
from .gallery_helpers import GALLERY_CONFIG, publish, run_copy, sample_notebook

pytestmark = pytest.mark.e2e

CONFIG = GALLERY_CONFIG + """
c.JupyterHub.authenticate_prometheus = False
c.SaturnGallery.warm_pool = {"python": 1}
c.Saturn.launch_limits = {"max_throwaway_servers": 3, "max_per_notebook": 3, "rate": {"launches": 1, "per": "1h"}}
c.Saturn.auto_shutoff = {"choices": ["1h"], "default": "1h", "warn_before": "1s", "caps": [{"match": {"size": ["medium"]}, "max_age": "3s"}]}
from jupyterhub_saturn.culler import culler_service
service, role = culler_service(every=1, throwaway_grace="1s")
c.JupyterHub.services.append(service)
c.JupyterHub.load_roles.append(role)
"""


def scrape(hub) -> dict:
    """{(metric sample name, frozenset(labels)): value} of the hub's /hub/metrics."""
    r = requests.get(hub.url + "/hub/metrics", timeout=30)
    assert r.status_code == 200, r.text[:300]
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in text_string_to_metric_families(r.text) for s in fam.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    h = Hub(tmp_path_factory.mktemp("metrics"), CONFIG).start()
    h.ensure_user("prof", ["instructors"])
    h.ensure_user("stud")
    yield h
    h.stop()


def test_metrics_after_real_launches_refusals_publishes_renders_and_culls(hub):
    before = scrape(hub)
    assert ("saturn_launches_total", frozenset({"outcome": "ready", "limit": ""}.items())) not in before
    # the warm pool fills at start-up
    wait_for(lambda: value(scrape(hub), "saturn_warm_pool_ready", image="python") == 1, timeout=180,
             what="the warm pool's server")

    # publish and render
    rec = publish(hub, hub.user_token("prof"), sample_notebook("Metrics")).json()
    assert requests.get(f"{hub.url}/hub/gallery/{rec['id']}/rendered", timeout=60).status_code == 200
    assert requests.get(f"{hub.url}/hub/gallery/{rec['id']}/rendered", timeout=60).status_code == 200  # cached

    # one anonymous launch (served by the pool), then the rate limit refuses the next from this address
    _, status = run_copy(hub, rec["id"])
    assert status["state"] == "ready", status
    anon = status["url"].split("/user/")[1].split("/")[0]
    _, refused = run_copy(hub, rec["id"])
    assert refused.status_code == 429

    # a spawn refused by field; a server stopped by its max age; the throwaway user removed
    assert hub.spawn("stud", {"size": "huge"}).status_code == 400
    assert hub.spawn("stud", {"size": "medium"}).status_code in (201, 202)
    hub.stop_server(anon)

    def culled():
        s = scrape(hub)
        return s if (value(s, "saturn_culls_total", reason="max-age") >= 1
                     and value(s, "saturn_culls_total", reason="throwaway") >= 1) else None

    s = wait_for(culled, timeout=180, what="the culler's max-age stop and throwaway removal")
    assert value(s, "saturn_launches_total", outcome="admitted", limit="") == 1
    assert value(s, "saturn_launches_total", outcome="ready", limit="") == 1
    assert value(s, "saturn_launches_total", outcome="refused", limit="rate") == 1
    assert value(s, "saturn_launches_total", outcome="failed", limit="") == 0
    assert value(s, "saturn_warm_pool_claims_total", image="python") == 1
    assert value(s, "saturn_spawn_refusals_total", field="size", status="400") == 1
    assert value(s, "saturn_publishes_total", action="publish") == 1
    assert value(s, "saturn_renders_total", format="html") == 1
    assert value(s, "saturn_render_seconds_count", format="html") == 1
    assert value(s, "saturn_render_seconds_sum", format="html") > 0
    assert value(s, "saturn_culls_total", reason="idle") == 0
    # JupyterHub's own metrics are in the same scrape
    assert any(name.startswith("jupyterhub_") for name, _ in s)


def test_cull_reports_are_checked(hub):
    token = hub.user_token("stud")
    r = hub.api("POST", "/saturn/culls", token=token, json={"culls": {"idle": 1}})
    assert r.status_code == 403 and "delete:servers" in r.json()["message"]
    for body, field in [({"culls": {"bored": 1}}, "unknown reason"), ({"culls": {"idle": -1}}, "culls.idle"),
                        ({"culls": {"idle": True}}, "culls.idle"), ({"culls": [1]}, "culls:"),
                        ("[" * 100_000, "not JSON")]:
        kw = {"data": body} if isinstance(body, str) else {"json": body}
        r = hub.api("POST", "/saturn/culls", **kw)
        assert r.status_code == 400 and field in r.json()["message"], r.text
    assert "Traceback" not in hub.log_text().split("bored")[-1]
