"""The guest-access adapter on a real tornado app and real websockets; the hub's answers come from a
stand-in with HubAuth's surface (the end-to-end tests use the real hub: tests/sharing, tests/browser)."""

from __future__ import annotations

import asyncio
import json
import logging

from jupyterhub.services.auth import check_scopes
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port
from tornado.web import Application, HTTPError
from tornado.websocket import WebSocketHandler, websocket_connect

from jupyterhub_saturn.singleuser.extension import CLOSE_CODE, CLOSE_MESSAGE, GuestAccess

ACCESS = "access:servers!server=alice/"


class Echo(WebSocketHandler):
    def on_message(self, message):
        self.write_message(message)


class HubAnswers:
    """What the extension uses of HubAuth, answering from ``models`` (token -> user model) like the hub's
    ``GET /api/user``; ``down`` makes it fail like HubAuth does when the hub does not answer."""

    access_scopes = {ACCESS}

    def __init__(self, models):
        self.models, self.down, self.cache = models, False, {"token:cached": {"name": "x"}}

    def get_token(self, handler):
        return handler.get_argument("token", "")

    def user_for_token(self, token, use_cache=True, session_id="", *, sync=True):
        assert use_cache is False and sync is False  # always a fresh answer, awaited

        async def answer():
            if self.down:
                raise HTTPError(502, "Failed to check authorization (upstream problem)")
            return self.models.get(token)

        return answer()

    def check_scopes(self, required, model):
        return check_scopes(required, set(model["scopes"]))


async def echo(ws, text: str) -> str | None:
    ws.write_message(text)
    return await asyncio.wait_for(ws.read_message(), 10)


async def test_a_login_that_lost_access_loses_its_open_websockets_and_nobody_else_does():
    hub = HubAnswers({"guest": {"name": "carol", "scopes": [ACCESS]}, "owner": {"name": "alice", "scopes": [ACCESS]}})
    guard = GuestAccess(hub, logging.getLogger("test"), every=1e-6)  # every login is due at every check
    app = Application([(r"/ws", Echo)])
    assert guard.install(app) == 1 and guard.install(app) == 1  # idempotent: wrapped once
    rule = app.wildcard_router.rules[0]
    assert rule.target.__name__ == "Echo" and issubclass(rule.target, Echo) and rule.target.__mro__[1] is Echo
    sock, port = bind_unused_port()
    server = HTTPServer(app)
    server.add_sockets([sock])
    try:
        url = f"ws://127.0.0.1:{port}/ws?token="
        guest, guest_tab2, owner = [await websocket_connect(url + t) for t in ("guest", "guest", "owner")]
        for ws in (guest, guest_tab2, owner):
            assert await echo(ws, "hi") == "hi"  # open() has run on the server
        assert len(guard.watch) == 3
        assert await guard.check() == 0  # everyone still has access
        # the hub does not answer: nothing is closed
        hub.down = True
        assert await guard.check() == 0 and await echo(guest, "still") == "still"
        # the guest's share is revoked: both of the guest's websockets close, with the reason JupyterLab shows
        hub.down = False
        hub.models["guest"]["scopes"] = ["read:users:name"]
        assert await guard.check() == 2
        for ws in (guest, guest_tab2):
            assert await asyncio.wait_for(ws.read_message(), 10) is None
            assert ws.close_code == CLOSE_CODE and json.loads(ws.close_reason)["errorReason"] == CLOSE_MESSAGE
        assert hub.cache == {}  # a reconnect is asked about afresh
        assert await echo(owner, "owner still here") == "owner still here"
        # a token the hub no longer knows (deleted): refused too
        del hub.models["owner"]
        assert await guard.check() == 1 and await asyncio.wait_for(owner.read_message(), 10) is None
        assert len(guard.watch) == 0 and guard.handlers == {}
    finally:
        server.stop()


async def test_a_websocket_closed_by_its_client_is_forgotten():
    hub = HubAnswers({"guest": {"name": "carol", "scopes": [ACCESS]}})
    guard = GuestAccess(hub, logging.getLogger("test"), every=1e-6)
    app = Application([(r"/ws", Echo)])
    guard.install(app)
    sock, port = bind_unused_port()
    server = HTTPServer(app)
    server.add_sockets([sock])
    try:
        ws = await websocket_connect(f"ws://127.0.0.1:{port}/ws?token=guest")
        assert await echo(ws, "hi") == "hi" and len(guard.watch) == 1
        ws.close()

        async def forgotten():
            while guard.handlers:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(forgotten(), 10)  # the server saw the close (on_close)
        hub.models.clear()
        assert await guard.check() == 0 and len(guard.watch) == 0
    finally:
        server.stop()
