"""Sharing a server on a real hub: the sharing page, JupyterHub's share API under it, accept-share with
the product's rules, a guest's access (and nothing more), revocation, and refusals as clear 4xx."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time

import pytest
import requests
from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketError

from ..e2e.gallery_helpers import publish, run_copy, sample_notebook, xsrf_of
from ..e2e.kernel_helpers import execute_on, open_channels
from ..harness import Hub, wait_for
from .helpers import SHARING_CONFIG, accept, create_link, share_page

pytestmark = pytest.mark.e2e

#: SHARING_CONFIG's revoke_within, and how much longer a loaded machine may take to close a revoked websocket
REVOKE_WITHIN = 2
CLOSE_BOUND = 30


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    h = Hub(tmp_path_factory.mktemp("sharing"), SHARING_CONFIG).start()
    h.ensure_user("alice", ["sharers"])
    h.ensure_user("bob")
    h.ensure_user("carol")
    yield h
    h.stop()


@pytest.fixture(scope="module")
def running(hub):
    r = hub.spawn("alice", {})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("alice")
    return hub


@pytest.mark.hub_versions
def test_only_members_of_the_sharing_groups_get_the_page_and_the_scopes(hub):
    r = hub.login("bob").get(hub.url + "/hub/saturn/share")
    assert r.status_code == 403 and "sharing servers is for members of sharers" in r.text
    assert "saturn-sharer" in hub.api("GET", "/groups/sharers").json()["roles"]
    assert hub.api("GET", "/users/bob").json()["roles"] == ["user"]
    home = hub.login("alice").get(hub.url + "/hub/home").text
    assert 'id="saturn-sharing"' in home and "start a server first" in home  # links appear for running servers


@pytest.mark.hub_versions
def test_owner_shares_a_link_guest_gets_access_only_and_revoke_ends_it(running):
    hub = running
    owner, guest = hub.login("alice"), hub.login("carol")
    link = create_link(hub, owner, "2h")
    assert "/hub/accept-share?code=" in link
    # before accepting, the guest cannot open the owner's server
    assert guest.get(hub.url + "/user/alice/api/status", allow_redirects=True).status_code in (403, 404)
    r = accept(hub, guest, link)
    assert r.status_code == 200 and r.url.startswith(hub.url + "/user/alice/"), (r.status_code, r.url)
    assert guest.get(hub.url + "/user/alice/api/status").status_code == 200
    page = share_page(hub, owner)
    assert 'data-kind="user" data-name="carol"' in page.text
    assert "A revoke ends that access within 2s, in open" in page.text  # Saturn.sharing.revoke_within
    # the guest sees the owner's time left (JupyterLab's status bar and shutoff warning ask this page)
    left = guest.get(hub.url + "/hub/saturn/time-left", params={"user": "alice", "server": ""})
    assert left.status_code == 200, left.text
    assert left.json()["guest"] and left.json()["user"] == "alice" and not left.json()["throwaway"]
    assert left.json()["status"]["seconds_left"] > 0
    # nobody else does, whatever they ask: the same 404 as for a server that does not exist
    for params in ({"user": "alice"}, {"user": "nobody-here"}, {"user": "<script>\u202e", "server": "\x00"}):
        r = hub.login("bob").get(hub.url + "/hub/saturn/time-left", params=params)
        assert r.status_code == 404 and r.json()["message"] == "no server of that name is shared with you", r.text
    # access only: no stop, no start with other options, no delete
    token = hub.user_token("carol")
    assert hub.api("DELETE", "/users/alice/server", token=token).status_code in (403, 404)
    assert hub.api("POST", "/users/alice/server", token=token, json={"size": "large"}).status_code in (403, 404)
    assert hub.user_model("alice")["servers"][""]["ready"]
    # revoke: the guest's next requests are refused (once the server's token cache, 2 s here, has expired)
    r = owner.post(hub.url + "/hub/saturn/share?server=",
                   data={"_xsrf": xsrf_of(page.text), "action": "revoke", "kind": "user", "name": "carol"})
    assert r.status_code == 200 and 'id="saturn-share-nobody"' in r.text
    wait_for(lambda: guest.get(hub.url + "/user/alice/api/status").status_code in (403, 404), timeout=60,
             what="the revoked guest refused")
    assert guest.get(hub.url + "/hub/saturn/time-left", params={"user": "alice"}).status_code == 404


@pytest.mark.hub_versions
def test_revoke_closes_the_guests_open_websocket_and_keeps_the_owners(running):
    """A guest's kernel websocket opened before the revoke is closed by the server within revoke_within (+ a
    bound for a loaded machine), with the reason JupyterLab shows; reconnecting is refused; the owner's open
    websocket to the same kernel keeps working."""
    hub = running
    hub.ensure_user("erin")
    owner, guest = hub.login("alice"), hub.login("erin")
    accept(hub, guest, create_link(hub, owner, "1h"))
    server = f"{hub.url}/user/alice/"
    owner_headers = {"Authorization": f"token {hub.user_token('alice', scopes=['access:servers!user=alice'])}"}
    r = requests.post(server + "api/kernels", headers=owner_headers, json={"name": "python3"}, timeout=60)
    assert r.status_code == 201, r.text
    kernel = r.json()["id"]
    guest_headers = {"Cookie": "; ".join(f"{c.name}={c.value}" for c in guest.cookies)}  # the browser's login

    async def drained(ws):
        while await ws.read_message() is not None:
            pass

    async def scenario():
        guest_ws = await open_channels(server, kernel, guest_headers)
        owner_ws = await open_channels(server, kernel, owner_headers)
        assert await execute_on(guest_ws, "print('guest', 6 * 7)") == "guest 42\n"
        page = share_page(hub, owner)
        r = owner.post(hub.url + "/hub/saturn/share?server=",
                       data={"_xsrf": xsrf_of(page.text), "action": "revoke", "kind": "user", "name": "erin"})
        assert r.status_code == 200, r.text[-500:]
        revoked = time.monotonic()
        await asyncio.wait_for(drained(guest_ws), REVOKE_WITHIN + CLOSE_BOUND)
        took = time.monotonic() - revoked
        with pytest.raises((HTTPClientError, WebSocketError)) as refused:
            await open_channels(server, kernel, guest_headers)
        still = await execute_on(owner_ws, "print('owner', 6 * 7)")
        owner_ws.close()
        return took, guest_ws.close_code, guest_ws.close_reason, getattr(refused.value, "code", 0), still

    took, code, reason, refused, still = asyncio.run(scenario())
    print(f"revoked guest's websocket closed {took:.2f} s after the revoke (revoke_within {REVOKE_WITHIN} s)")
    assert code == 1003 and json.loads(reason)["errorReason"] == "Your access to this server was revoked by its owner."
    assert refused in (0, 302, 403, 404), refused  # 0: redirected to a page that is not a websocket
    assert still == "owner 42\n"


@pytest.mark.hub_versions
def test_share_by_name_and_hostile_form_input(running):
    hub = running
    owner = hub.login("alice")
    xsrf = xsrf_of(share_page(hub, owner).text)
    post = lambda **data: owner.post(hub.url + "/hub/saturn/share?server=", data={"_xsrf": xsrf, **data})  # noqa: E731
    r = post(action="grant", kind="user", name="bob")
    assert r.status_code == 200 and 'data-name="bob"' in r.text
    shares = hub.api("GET", "/shares/alice/", token=hub.user_token("alice")).json()["items"]
    assert [s["user"]["name"] for s in shares] == ["bob"]
    cases = [
        (dict(action="code", expires_in="30d"), 400, "longer than this hub allows"),
        (dict(action="code", expires_in="soon"), 400, "expires_in"),
        (dict(action="grant", kind="user", name="anon~abc123"), 403, "temporary"),
        (dict(action="grant", kind="role", name="x"), 400, "kind"),
        (dict(action="grant", kind="user", name="nobody-here"), 400, "No such user"),
        (dict(action="grant", kind="user", name="a/b"), 400, "user"),
        (dict(action="explode"), 400, "action"),
        (dict(action="revoke-code", id="sc_999999"), 400, "No code found"),
        (dict(action="revoke", kind="user", name="x" * 300), 400, "kind"),
    ]
    for data, status, text in cases:
        r = post(**data)
        assert r.status_code == status and text in r.text, (data, r.status_code, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.text.split("<body")[-1]))[:600])
    r = owner.get(hub.url + "/hub/saturn/share", params={"server": "nope"})
    assert r.status_code == 400 and "no server named" in r.text
    r = owner.get(hub.url + "/hub/saturn/share", params={"owner": "bob"})
    assert r.status_code == 403 and "only bob can share" in r.text
    r = post(action="revoke-all")
    assert r.status_code == 200 and 'id="saturn-share-nobody"' in r.text
    assert "Traceback" not in hub.log_text()


@pytest.mark.hub_versions
def test_forged_expired_and_revoked_links_are_clear_4xx_pages(running):
    hub = running
    owner, guest = hub.login("alice"), hub.login("bob")
    for code in ["forged", "x" * 500, "", "%00"]:
        r = guest.get(hub.url + "/hub/accept-share", params={"code": code})
        assert 400 <= r.status_code < 500, (code, r.status_code)
    r = guest.post(hub.url + "/hub/accept-share", data={"_xsrf": guest.xsrf, "code": "forged"})
    assert r.status_code == 400 and "not valid" in r.text
    # revoked
    link = create_link(hub, owner, "1h")
    page = share_page(hub, owner)
    code_id = re.search(r'data-id="(sc_\d+)"', page.text).group(1)
    owner.post(hub.url + "/hub/saturn/share?server=", data={"_xsrf": xsrf_of(page.text), "action": "revoke-code",
                                                            "id": code_id})
    r = guest.get(link)
    assert r.status_code == 400 and "revoked" in r.text
    # expired: its expiry moved into the past in the hub's database (JupyterHub's minimum lifetime is 1m)
    link = create_link(hub, owner, "1h")
    with sqlite3.connect(hub.dir / "jupyterhub.sqlite") as db:
        db.execute("UPDATE share_codes SET expires_at = '2000-01-01 00:00:00.000000'")
    for method in ("get", "post"):
        r = getattr(guest, method)(link, data={"_xsrf": guest.xsrf} if method == "post" else None)
        assert r.status_code == 400 and "has expired" in r.text, (method, r.status_code, r.text[-500:])
    assert "Traceback" not in hub.log_text()


def test_throwaway_users_never_share_nor_redeem(running):
    """A visitor's anonymous Run this copy session (a throwaway user and server) can neither open the
    sharing page, nor call JupyterHub's share API for its server, nor accept a share link."""
    hub = running
    hub.ensure_user("prof", ["instructors"])
    rec = publish(hub, hub.user_token("prof"), sample_notebook("Shared lecture")).json()
    visitor, status = run_copy(hub, rec["id"])
    assert status["state"] == "ready", status
    anon = next(u["name"] for u in hub.api("GET", "/users").json() if u["name"].startswith("anon~"))
    r = visitor.get(hub.url + "/hub/saturn/share")
    assert r.status_code == 403 and "temporary (anonymous) server can never be shared" in r.text
    r = visitor.post(hub.url + f"/hub/api/share-codes/{anon}/", headers={"X-XSRFToken": visitor.cookies.get("_xsrf", "")})
    assert r.status_code == 403, r.text
    link = create_link(hub, hub.login("alice"), "1h")
    r = visitor.get(link)
    assert r.status_code == 403 and "cannot accept a share link" in r.text
    r = visitor.post(link, data={"_xsrf": visitor.cookies.get("_xsrf", path="/hub/") or ""})
    assert r.status_code == 403


@pytest.mark.hub_versions
def test_guest_activity_pushes_back_the_owners_idle_shutoff(running):
    """A guest's requests are activity on the owner's server: its idle auto-shutoff (1h here) moves later."""
    hub = running
    guest = hub.login("carol")
    accept(hub, guest, create_link(hub, hub.login("alice"), "1h"))
    token = hub.user_token("alice")

    def stop_at():
        return hub.api("GET", "/saturn/shutoff", token=token).json()["servers"][""]["stop_at"]

    before = stop_at()
    assert before

    def pushed_back():
        assert guest.get(f"{hub.url}/user/alice/api/contents", timeout=30).status_code == 200
        return stop_at() > before

    wait_for(pushed_back, timeout=90, interval=1, what="the guest's activity to push back alice's shutoff")
    assert hub.user_model("alice")["servers"][""]["ready"]


def test_sharing_for_everyone_then_turned_off(hub_factory):
    """Without groups every signed-in user may share (the default user role gets the scopes); turned off,
    a restart takes the scopes away and the page refuses naming the setting."""
    h = hub_factory(SHARING_CONFIG.replace('"groups": ["sharers"], ', ""))
    h.ensure_user("dora")
    token = h.user_token("dora")
    # the default user role carries the share scopes: a link for the (not yet started) default server
    assert h.api("POST", "/share-codes/dora/", token=token, json={}).status_code == 200
    assert share_page(h, h.login("dora")).status_code == 200
    h.stop()
    h.write_config(SHARING_CONFIG.replace('"enabled": True', '"enabled": False'))
    h.start()
    r = h.login("dora").get(h.url + "/hub/saturn/share")
    assert r.status_code == 403 and "Saturn.sharing.enabled" in r.text
    assert 'id="saturn-sharing"' not in h.login("dora").get(h.url + "/hub/home").text
    assert h.api("POST", "/share-codes/dora/", token=token, json={}).status_code == 403
