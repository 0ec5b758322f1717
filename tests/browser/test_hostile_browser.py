"""The hostile corpus rendered on the public page in Chromium: no script runs on the hub origin, no cookie leaks."""

from __future__ import annotations

import pytest

from ..e2e.gallery_helpers import GALLERY_CONFIG
from ..gallery.hostile import hostile_notebooks, marker
from ..harness import Hub

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    h = Hub(tmp_path_factory.mktemp("hostile"), GALLERY_CONFIG).start()
    h.ensure_user("prof", ["instructors"])
    token = h.user_token("prof")
    h.published = {}
    for name, nb in hostile_notebooks().items():
        r = h.api("POST", "/saturn/notebooks", token=token, json={"notebook": nb, "title": name})
        assert r.status_code == 201, (name, r.text)
        h.published[name] = r.json()["id"]
    yield h
    h.stop()


def _not_pwned(target) -> None:
    state = target.evaluate("() => ({pwned: window.__pwned, title: document.title, cookie: window.__cookie})")
    assert state["pwned"] is None and state["title"] != "PWNED" and state["cookie"] is None, state


def test_hostile_notebooks_cannot_act_on_the_hub_origin(hub, page):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    # a logged-in instructor is the juiciest target: their hub cookie must stay out of reach
    page.goto(f"{hub.url}/hub/login")
    page.fill("input[name=username]", "prof")
    page.fill("input[name=password]", "pw")
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url("**/hub/**")
    for name, nb_id in hub.published.items():
        # the public page is the report itself, under the sandboxing CSP: an opaque origin with no script
        page.goto(f"{hub.url}/hub/gallery/{nb_id}")
        page.wait_for_load_state()
        page.wait_for_timeout(300)  # let any onload/timer payload fire
        _not_pwned(page)
        assert page.locator("#saturn-run-button").count() == 1, name  # the hub's own bar survived the content
        body = page.evaluate("() => document.body ? document.body.innerText : ''")
        assert marker(name) in body, name
        blocked = page.evaluate("() => { try { return document.cookie === '' ? 'empty' : 'READ'; } catch (e) { return 'blocked'; } }")
        assert blocked in ("blocked", "empty"), (name, blocked)
        # opened directly (top level), the CSP sandbox still keeps scripts off the hub origin
        page.goto(f"{hub.url}/hub/gallery/{nb_id}/rendered")
        page.wait_for_timeout(200)
        _not_pwned(page)
        direct = page.evaluate("() => { try { return document.cookie; } catch (e) { return 'blocked'; } }")
        assert direct in ("blocked", ""), (name, direct)
    assert dialogs == []
