"""Origin isolation: on a hub with `subdomain_host` (*.localhost names, which Chromium resolves to
loopback), a visitor's anonymous Run this copy, served from the warm pool, ends in JupyterLab on the
throwaway user's own origin (JupyterHub's default subdomain hook; `anon~` names work in it), where the
status bar shows the time left (asked of the hub's origin, which lets only the user's own server origin
read it) and the keep link leads back to the hub's origin."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

import requests

from ..e2e.gallery_helpers import GALLERY_CONFIG, publish, sample_notebook
from ..harness import Hub, wait_for
from ..ports import free_port
from .test_report_browser import require_labextension

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    port = free_port()
    h = Hub(tmp_path_factory.mktemp("subdomain"), GALLERY_CONFIG + f"""
c.JupyterHub.subdomain_host = "http://hub.localhost:{port}"
c.SaturnGallery.warm_pool = {{"python": 1}}
# every server is inside its shutoff warning after a second (max age 20m, warning 19m59s before)
c.Saturn.auto_shutoff = {{"choices": ["30m"], "default": "30m", "warn_before": "19m59s",
                         "caps": [{{"match": {{}}, "max_age": "20m"}}], "throwaway": {{"max_idle": "30m", "max_age": "20m"}}}}
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
    # JupyterLab on the server's origin: the time left and its warning, from the hub's origin
    require_labextension()
    item = page.locator("#jp-saturn-time-left")
    item.locator(".jp-saturn-time-left-text").filter(has_text=re.compile(r"Shuts off in (19m|18m)")).wait_for(
        timeout=120_000)
    assert "jp-saturn-warn" in item.get_attribute("class")
    # keeping the copy goes to the hub's origin (sign in, then the copy is kept)
    keep = item.locator(".jp-saturn-keep")
    assert keep.is_visible()
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Spinner").wait_for(state="hidden", timeout=120_000)
    keep.click()
    page.wait_for_url(re.compile(r".*/hub/login\?next=.*saturn(%2F|/)keep.*"), timeout=60_000)
    assert urlparse(page.url).hostname == "hub.localhost", page.url


@pytest.mark.hub_versions  # the login and OAuth flow onto the server's origin
def test_a_logged_in_users_jupyterlab_shows_the_time_left_on_its_own_origin(hub, page):
    hub.ensure_user("una")
    r = hub.spawn("una", {})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("una")
    page.goto(f"{hub.public}/hub/login")
    page.fill("input[name=username]", "una")
    page.fill("input[name=password]", "pw")
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(re.compile(r".*/hub/(home|spawn|user/una).*|.*/user/una/.*"), timeout=60_000)
    page.goto(f"{hub.public}/user/una/lab")
    page.wait_for_url(re.compile(r".*/user/una/lab.*"), timeout=120_000)
    assert urlparse(page.url).hostname == "una.hub.localhost", page.url
    require_labextension()
    item = page.locator("#jp-saturn-time-left")
    item.locator(".jp-saturn-time-left-text").filter(has_text=re.compile(r"Shuts off in (19m|18m)")).wait_for(
        timeout=120_000)
    assert not item.locator(".jp-saturn-keep").is_visible()  # a logged-in user's server: nothing to keep
    hub.stop_server("una")


@pytest.mark.parametrize("origin, allowed", [
    ("own", True), ("other-user", False), ("hub", False), ("http://evil.example", False), ("null", False),
])
def test_time_left_is_readable_from_the_users_own_server_origin_only(hub, origin, allowed):
    hub.ensure_user("ola")
    hub.ensure_user("pia")
    port = urlparse(hub.public).port
    origins = {"own": f"http://ola.hub.localhost:{port}", "other-user": f"http://pia.hub.localhost:{port}",
               "hub": hub.public}
    sent = origins.get(origin, origin)
    session = hub.login("ola")
    r = session.get(f"{hub.url}/hub/saturn/time-left", headers={"Origin": sent}, timeout=30)
    assert r.status_code == 200 and r.json()["user"] == "ola", r.text
    assert r.headers.get("Access-Control-Allow-Origin") == (sent if allowed else None)
    assert (r.headers.get("Access-Control-Allow-Credentials") == "true") is allowed
    assert "Origin" in r.headers.get("Vary", "")
    # without the hub cookie: refused, and nothing for any origin to read
    r = requests.get(f"{hub.url}/hub/saturn/time-left", headers={"Origin": sent}, timeout=30)
    assert r.status_code == 403 and "Access-Control-Allow-Origin" not in r.headers
