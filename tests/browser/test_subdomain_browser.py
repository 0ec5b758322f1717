"""Origin isolation: on a hub with `subdomain_host` (*.localhost names, which Chromium resolves to
loopback), a visitor's anonymous Run this copy, served from the warm pool, ends in JupyterLab on the
throwaway user's own origin (JupyterHub's default subdomain hook; `anon~` names work in it)."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from ..e2e.gallery_helpers import GALLERY_CONFIG, publish, sample_notebook
from ..harness import Hub, free_port, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    port = free_port()
    h = Hub(tmp_path_factory.mktemp("subdomain"), GALLERY_CONFIG + f"""
c.JupyterHub.subdomain_host = "http://hub.localhost:{port}"
c.SaturnGallery.warm_pool = {{"python": 1}}
""", port=port).start()
    h.public = f"http://hub.localhost:{port}"
    h.ensure_user("prof", ["instructors"])
    yield h
    h.stop()
    h.kill_owned()


def test_anonymous_run_this_copy_lands_on_the_servers_own_origin(hub, page):
    rec = publish(hub, hub.user_token("prof"), sample_notebook("Subdomain lecture", code="print(6 * 7)")).json()
    pooled = wait_for(lambda: [u["name"] for u in hub.api("GET", "/users").json()
                               if u["name"].startswith("anon~") and u["servers"].get("", {}).get("ready")],
                      timeout=120, what="a warm-pool server")
    page.goto(f"{hub.public}/hub/gallery/{rec['id']}")
    page.click("#saturn-run-button")
    page.wait_for_url(re.compile(rf".*/user/anon~[0-9a-f]+/lab/tree/gallery/[^/]+\.ipynb.*"), timeout=180_000)
    host = urlparse(page.url).hostname
    assert page.url.split("/user/")[1].split("/")[0] in pooled  # the click was served by the warm pool
    # the server is on an origin of its own, not the hub's
    assert host != "hub.localhost" and host.endswith(".hub.localhost"), page.url
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").first.wait_for(timeout=120_000)
    # the hub's login cookie is not readable (nor sent) on the server's origin
    assert "jupyterhub-hub-login" not in page.evaluate("() => document.cookie")
