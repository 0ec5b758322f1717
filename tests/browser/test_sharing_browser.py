"""Two people in one live server, in two Chromium contexts: the owner makes a share link on the hub's
sharing page, the guest accepts it, both open the same notebook in JupyterLab (jupyter-collaboration),
each sees the other in the collaborators panel and the other's cursor, text typed by one appears for the
other, a cell run by one shows its output to the other; after the owner revokes, the guest's open
connections are closed within revoke_within (the guest is told why), the guest's edits no longer reach
the owner, and the guest's next request is refused."""

from __future__ import annotations

import re
import time

import pytest
import requests
from playwright.sync_api import Error as PlaywrightError

from ..harness import Hub, wait_for
from ..sharing.helpers import SHARING_CONFIG, put_notebook

pytestmark = pytest.mark.e2e

ACTIVE = ".jp-NotebookPanel:not(.lm-mod-hidden)"
CELL = f"{ACTIVE} .jp-CodeCell .cm-content"
#: SHARING_CONFIG's revoke_within, and how much longer a loaded machine may take to close the guest's sockets
REVOKE_WITHIN = 2
CLOSE_BOUND = 30
#: the owner's server is inside its shutoff warning as soon as it has run for a second (max age 20m, warning
#: 19m59s before), so both people's JupyterLab must show it without waiting
WARN_AT_ONCE = """
c.Saturn.auto_shutoff = {"choices": ["30m"], "default": "30m", "warn_before": "19m59s",
                         "caps": [{"match": {}, "max_age": "20m"}], "throwaway": {"max_idle": "30m", "max_age": "20m"}}
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    h = Hub(tmp_path_factory.mktemp("sharing-browser"), SHARING_CONFIG + WARN_AT_ONCE).start()
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


def collaborator_named(page, name: str):
    """Open JupyterLab's collaboration panel (left side bar) and wait until it lists ``name`` online."""
    tab = page.locator('.lm-TabBar-tab[data-id="jp-collaboration-panel"]')
    if "lm-mod-current" not in (tab.get_attribute("class") or ""):
        tab.click()
    page.locator("#jp-collaboration-panel .jp-CollaboratorHeader > span").filter(
        has_text=re.compile(rf"^{re.escape(name)}$")).first.wait_for(timeout=60_000)


def saved_source(hub, path: str) -> str:
    token = hub.user_token("alice", scopes=["access:servers!user=alice"])
    r = requests.get(f"{hub.url}/user/alice/api/contents/{path}", headers={"Authorization": f"token {token}"},
                     timeout=30)
    assert r.status_code == 200, r.text[:300]
    return "".join("".join(c["source"]) for c in r.json()["content"]["cells"])


@pytest.mark.hub_versions
def test_owner_and_guest_edit_one_notebook_live_then_revoke(hub, browser):
    owner_ctx, owner = signed_in_page(browser, hub, "alice")
    guest_ctx, guest = signed_in_page(browser, hub, "carol")
    guest_sockets = []
    guest.on("websocket", lambda ws: guest_sockets.append(ws))
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
        # the shutoff warning reaches everyone in the server: the guest's status bar shows the owner's server's
        # time left, warned, and the same notification as the owner's
        for page in (owner, guest):
            item = page.locator("#jp-saturn-time-left")
            try:
                item.locator(".jp-saturn-time-left-text").filter(has_text=re.compile(r"Shuts off in (19m|18m)")).wait_for(
                    timeout=60_000)
            except PlaywrightError:
                raise AssertionError(f"{page is guest and 'guest' or 'owner'}: status bar item "
                                     f"{item.count()} {item.all_inner_texts()}") from None
            assert "jp-saturn-warn" in item.get_attribute("class")
            toast = page.locator(".Toastify__toast").filter(has_text="This server shuts down in").first
            toast.wait_for(timeout=60_000)
            assert "maximum age" in toast.inner_text()
            assert toast.get_by_role("button", name="Sign in to keep this copy").count() == 0  # not a throwaway
        # JupyterLab's Share button (the labextension) opens this server's sharing page, which only the owner may use
        href = owner.locator("#jp-saturn-share a").get_attribute("href")
        assert href.endswith("/hub/saturn/share?server=&owner=alice"), href
        # the guest's Share button names the server's owner too (not the guest), and the page refuses the guest
        assert guest.locator("#jp-saturn-share a").get_attribute("href") == href
        refused = guest.request.get(hub.url + href)
        assert refused.status == 403 and "only alice can share this server" in refused.text()
        # the owner types; the guest sees it
        owner.locator(CELL).first.click()
        owner.keyboard.press("End")
        owner.keyboard.type("  # typed-by-alice")
        guest.locator(CELL).filter(has_text="typed-by-alice").first.wait_for(timeout=60_000)
        # each sees the other: the other's cursor in the cell, flagged with the other's name, then the other's
        # name in JupyterLab's collaboration panel
        guest.locator(CELL).first.click()
        for page, other in ((owner, "carol"), (guest, "alice")):
            page.locator(f"{ACTIVE} .jp-remote-cursor").first.wait_for(state="attached", timeout=60_000)
            page.locator(".jp-remote-userFlag-name").filter(has_text=re.compile(rf"^{other}$")).first.wait_for(
                state="attached", timeout=60_000)
        collaborator_named(owner, "carol")
        collaborator_named(guest, "alice")
        guest.locator(CELL).first.click()
        # the guest runs the cell in the one shared kernel; the owner sees the output
        guest.locator(f"{ACTIVE} .jp-Notebook-ExecutionIndicator[data-status='idle'], .jp-Toolbar-kernelStatus"
                      ).first.wait_for(timeout=120_000)
        guest.keyboard.press("Shift+Enter")
        owner.locator(f"{ACTIVE} .jp-OutputArea-output").filter(has_text="42").first.wait_for(timeout=120_000)

        # revoke on the sharing page (in another tab of the owner): the guest's open connections (the document,
        # the kernel) close within revoke_within, and JupyterLab tells the guest why
        guest.evaluate("0")  # let Playwright take in the guest's websocket events so far
        # the sockets that carry the guest's edits and code: the notebook's document and the kernel (the server also
        # closes the guest's awareness and events sockets, see its log; Chromium reports those closes late)
        open_before = [ws for ws in guest_sockets if "/user/alice/" in ws.url and not ws.is_closed()
                       and ("/api/collaboration/room/json:" in ws.url or "/api/kernels/" in ws.url)]
        assert len(open_before) >= 2, [ws.url for ws in guest_sockets]
        share = owner_ctx.new_page()
        share.goto(f"{hub.url}/hub/saturn/share?server=")
        share.click('tr.saturn-share[data-name="carol"] .saturn-share-revoke')
        share.locator("#saturn-share-nobody").wait_for()
        revoked = time.monotonic()
        try:
            wait_for(lambda: guest.evaluate("0") == 0 and all(ws.is_closed() for ws in open_before),
                     timeout=REVOKE_WITHIN + CLOSE_BOUND, interval=0.1, what="the revoked guest's websockets closed")
        except TimeoutError:
            raise AssertionError(f"still open: {[ws.url for ws in open_before if not ws.is_closed()]}") from None
        took = time.monotonic() - revoked
        print(f"the revoked guest's {len(open_before)} websockets closed {took:.2f} s after the revoke")
        dialog = guest.locator(".jp-Dialog").filter(has_text="revoked by its owner").first
        dialog.wait_for(timeout=60_000)
        assert "Session expired" in dialog.inner_text()
        # the guest's edits no longer reach the owner: what the guest types now is not in the owner's document
        try:
            dialog.locator(".jp-mod-accept").click(timeout=5_000)
            guest.locator(CELL).first.click(timeout=5_000)
            guest.keyboard.press("End")
            guest.keyboard.type("  # typed-after-revoke")
        except PlaywrightError:
            pass  # the guest's JupyterLab closed the document (or another dialog is on top): nothing to type into
        owner.locator(CELL).first.click()
        owner.keyboard.press("End")
        owner.keyboard.type("  # owner-still-here")
        owner.keyboard.press("Control+s")
        wait_for(lambda: "owner-still-here" in saved_source(hub, "together.ipynb"), timeout=60,
                 what="the owner's edit saved")
        assert "typed-after-revoke" not in saved_source(hub, "together.ipynb")
        assert owner.locator(CELL).filter(has_text="typed-after-revoke").count() == 0
        wait_for(lambda: guest.request.get(f"{hub.url}/user/alice/api/contents", max_redirects=0).status in (302, 403, 404),
                 timeout=60, what="the revoked guest refused")
    finally:
        owner_ctx.close()
        guest_ctx.close()
