"""Two people in one live server, in two Chromium contexts: the owner makes a share link on the hub's
sharing page, the guest accepts it, both open the same notebook in JupyterLab (jupyter-collaboration),
text typed by one appears for the other, a cell run by one shows its output to the other; after the
owner revokes, the guest's next request is refused."""

from __future__ import annotations

import re

import pytest

from ..harness import Hub, wait_for
from ..sharing.helpers import SHARING_CONFIG, put_notebook

pytestmark = pytest.mark.e2e

ACTIVE = ".jp-NotebookPanel:not(.lm-mod-hidden)"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    h = Hub(tmp_path_factory.mktemp("sharing-browser"), SHARING_CONFIG).start()
    h.ensure_user("alice", ["sharers"])
    h.ensure_user("carol")
    r = h.spawn("alice", {})
    assert r.status_code in (201, 202), r.text
    h.wait_ready("alice")
    put_notebook(h, "alice", "together.ipynb", ["print(6 * 7)"])
    yield h
    h.stop()
    h.kill_owned()


def signed_in_page(browser, hub, user: str):
    """A new context and page with ``user``'s hub login (the harness's login, its cookies handed over)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    session = hub.login(user)
    context.add_cookies([{"name": c.name, "value": c.value, "url": hub.url + (c.path or "/")} for c in session.cookies])
    page = context.new_page()
    page.set_default_timeout(60_000)
    return context, page


def open_notebook(page, hub, path: str):
    page.goto(f"{hub.url}/user/alice/lab/tree/{path}")
    page.locator(f"{ACTIVE} .jp-CodeCell .cm-content").first.wait_for(timeout=120_000)


def accept_in_browser(page, link: str):
    """The guest's clicks: open the link, Accept, then Authorize on JupyterHub's OAuth page."""
    page.goto(link)
    page.click("form button[type=submit], form input[type=submit]")
    page.wait_for_url(re.compile(r".*(/hub/api/oauth2/authorize|/user/alice/).*"), timeout=60_000)
    if "/oauth2/authorize" in page.url:
        page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/user/alice/.*"), timeout=120_000)


@pytest.mark.hub_versions
def test_owner_and_guest_edit_one_notebook_live_then_revoke(hub, browser):
    owner_ctx, owner = signed_in_page(browser, hub, "alice")
    guest_ctx, guest = signed_in_page(browser, hub, "carol")
    try:
        owner.goto(f"{hub.url}/hub/home")
        owner.click("a.saturn-share-link")
        owner.select_option("#saturn-share-expiry", "1h")
        owner.click("#saturn-share-create")
        link = owner.locator("#saturn-share-link").input_value()
        assert "/hub/accept-share?code=" in link

        accept_in_browser(guest, link)

        open_notebook(owner, hub, "together.ipynb")
        open_notebook(guest, hub, "together.ipynb")
        # JupyterLab's Share button (the labextension) opens this server's sharing page, which only the owner may use
        href = owner.locator("#jp-saturn-share a").get_attribute("href")
        assert href.endswith("/hub/saturn/share?server=&owner=alice"), href
        refused = guest.request.get(hub.url + href)
        assert refused.status == 403 and "only alice can share this server" in refused.text()
        # the owner types; the guest sees it
        owner.locator(f"{ACTIVE} .jp-CodeCell .cm-content").first.click()
        owner.keyboard.press("End")
        owner.keyboard.type("  # typed-by-alice")
        guest.locator(f"{ACTIVE} .jp-CodeCell .cm-content").filter(has_text="typed-by-alice").first.wait_for(
            timeout=60_000)
        # the guest runs the cell in the one shared kernel; the owner sees the output
        guest.locator(f"{ACTIVE} .jp-CodeCell .cm-content").first.click()
        guest.locator(f"{ACTIVE} .jp-Notebook-ExecutionIndicator[data-status='idle'], .jp-Toolbar-kernelStatus"
                      ).first.wait_for(timeout=120_000)
        guest.keyboard.press("Shift+Enter")
        owner.locator(f"{ACTIVE} .jp-OutputArea-output").filter(has_text="42").first.wait_for(timeout=120_000)

        # revoke on the sharing page: the guest's next requests are refused
        owner.goto(f"{hub.url}/hub/saturn/share?server=")
        owner.click('tr.saturn-share[data-name="carol"] .saturn-share-revoke')
        owner.locator("#saturn-share-nobody").wait_for()
        wait_for(lambda: guest.request.get(f"{hub.url}/user/alice/api/contents", max_redirects=0).status in (302, 403, 404),
                 timeout=60, what="the revoked guest refused")
    finally:
        owner_ctx.close()
        guest_ctx.close()
