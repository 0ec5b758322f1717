"""A single-user server extension that ends a revoked guest's open websockets (the thin adapter).

JupyterHub's single-user server authenticates a websocket (a notebook's real-time document, a
kernel, a terminal) once, when it opens. A guest whose share is revoked would keep an open one
until it closes. With this extension loaded, the server records each open websocket with the token
that opened it, asks the hub again about every token every ``cache_max_age / 2`` seconds
(``HubOAuth.cache_max_age``, set from ``Saturn.sharing.revoke_within``) and closes the websockets
whose login lost access to the server (:mod:`.connections` decides). It then empties the server's
login cache, so a reconnect is asked about afresh and refused.

Loaded while sharing is on: the spawner adds ``--ServerApp.jpserver_extensions=<this module>=True``
(:meth:`jupyterhub_saturn.policy.sharing.SharingPolicy.server_args`). The server's environment needs
jupyterhub-saturn installed (the ``collab`` extra); without it the server logs a warning and starts
anyway, and a revoke reaches open websockets only when they reconnect.

Upstream has no hook for "the open websockets": the websocket handler classes in the server's routes
are replaced with subclasses that report ``open``/``on_close`` (same name, same behaviour). A
jupyter_server API listing open connections would remove this.
"""

from __future__ import annotations

import asyncio
import json
import time

from tornado.ioloop import PeriodicCallback
from tornado.websocket import WebSocketHandler

from .connections import ALLOWED, REFUSED, UNKNOWN, Watch, check_every

#: what a revoked guest's websockets are closed with: the code jupyter-collaboration's server ends a document
#: session with, and a reason its JupyterLab client shows in a "Session expired" dialog (the errorReason) before
#: it stops the document; kernels and terminals just see the connection end. A close reason has 123 bytes at most.
CLOSE_CODE = 1003
CLOSE_MESSAGE = "Your access to this server was revoked by its owner."
CLOSE_REASON = json.dumps({"reason": "access_revoked", "reloadable": False, "errorReason": CLOSE_MESSAGE},
                          separators=(",", ":"))
#: JupyterHub's default login cache (HubOAuth.cache_max_age) when the server runs with 0 (= forever)
DEFAULT_CACHE_MAX_AGE = 300
_TRACKED = "_saturn_tracked"


class GuestAccess:
    """The open websockets of this server and the periodic re-check of the logins behind them."""

    def __init__(self, hub_auth, log, every: float):
        self.hub_auth, self.log = hub_auth, log
        self.watch = Watch(every)
        self.handlers: dict[int, WebSocketHandler] = {}
        self._classes: dict[type, type] = {}
        self._callback: PeriodicCallback | None = None
        self.closed_total = 0

    # ------------------------------------------------------------ handlers report in

    def opened(self, handler: WebSocketHandler) -> None:
        token = self.hub_auth.get_token(handler)
        if not token:
            self.log.warning("saturn guest access: a websocket at %s has no token to check again",
                             handler.request.path)
            return
        self.handlers[id(handler)] = handler
        self.watch.opened(id(handler), token, time.monotonic())

    def closed(self, handler: WebSocketHandler) -> None:
        self.handlers.pop(id(handler), None)
        self.watch.closed(id(handler))

    def tracked(self, cls: type) -> type:
        """A subclass of the websocket handler ``cls`` that reports its open and close here."""
        if getattr(cls, _TRACKED, None) is self:
            return cls
        if cls not in self._classes:
            guard = self

            class Tracked(cls):
                def open(self, *args, **kwargs):
                    guard.opened(self)
                    return super().open(*args, **kwargs)

                def on_close(self):
                    guard.closed(self)
                    return super().on_close()

            Tracked.__name__, Tracked.__qualname__, Tracked.__module__ = cls.__name__, cls.__qualname__, cls.__module__
            setattr(Tracked, _TRACKED, self)
            self._classes[cls] = Tracked
        return self._classes[cls]

    def install(self, web_app) -> int:
        """Route the app's websocket handlers through :meth:`tracked`; returns how many routes."""
        count, seen, routers = 0, set(), [web_app.default_router, web_app.wildcard_router]
        while routers:
            router = routers.pop()
            if id(router) in seen:
                continue
            seen.add(id(router))
            for rule in getattr(router, "rules", ()):
                target = rule.target
                if isinstance(target, type) and issubclass(target, WebSocketHandler):
                    rule.target = self.tracked(target)
                    count += 1
                elif hasattr(target, "rules"):
                    routers.append(target)
        return count

    # ------------------------------------------------------------ the periodic check

    def start(self) -> None:
        if self._callback is None:
            self._callback = PeriodicCallback(self.check, self.watch.tick * 1000)
            self._callback.start()

    def stop(self) -> None:
        if self._callback is not None:
            self._callback.stop()
            self._callback = None

    async def ask(self, token: str) -> str:
        """The hub's current answer about ``token``: :data:`ALLOWED`, :data:`REFUSED` or :data:`UNKNOWN`."""
        try:
            model = await self.hub_auth.user_for_token(token, use_cache=False, sync=False)
        except Exception as e:  # noqa: BLE001 - HubAuth raises HTTPError 5xx for anything but an answer
            self.log.warning("saturn guest access: the hub did not answer (%s); open websockets stay", e)
            return UNKNOWN
        if not model or not self.hub_auth.check_scopes(self.hub_auth.access_scopes, model):
            return REFUSED
        return ALLOWED

    async def check(self) -> int:
        """Ask the hub about the due logins; close the websockets of those that lost access."""
        for handler in list(self.handlers.values()):
            if handler.ws_connection is None or handler.ws_connection.is_closing():
                self.closed(handler)
        asked = time.monotonic()
        due = self.watch.due(asked)
        if not due:
            return 0
        verdicts = await asyncio.gather(*(self.ask(token) for token in due))
        closed = 0
        for token, verdict in zip(due, verdicts):
            for key in self.watch.answer(token, verdict, asked):
                handler = self.handlers.pop(key, None)
                if handler is None:
                    continue
                user = getattr(handler.current_user, "username", "?")
                self.log.info("saturn guest access: closing %s's websocket %s: %s", user, handler.request.path,
                              CLOSE_MESSAGE)
                handler.close(CLOSE_CODE, CLOSE_REASON)
                closed += 1
        if closed:
            self.closed_total += closed
            self.hub_auth.cache.clear()  # a reconnect is asked about afresh (and refused)
        return closed


def _jupyter_server_extension_points():
    return [{"module": "jupyterhub_saturn.singleuser.extension"}]


def _load_jupyter_server_extension(serverapp) -> None:
    hub_auth = getattr(serverapp.identity_provider, "hub_auth", None)
    if hub_auth is None:
        serverapp.log.warning("saturn guest access: not a JupyterHub single-user server; nothing to do")
        return
    every = check_every(hub_auth.cache_max_age or DEFAULT_CACHE_MAX_AGE)
    guard = GuestAccess(hub_auth, serverapp.log, every)
    serverapp.web_app.settings["saturn_guest_access"] = guard
    serverapp.log.info("saturn guest access: the logins behind open websockets are checked every %g s", every)


async def _start_jupyter_server_extension(serverapp) -> None:
    """Every extension's routes are in place now: track their websockets and start checking."""
    guard = serverapp.web_app.settings.get("saturn_guest_access")
    if guard is None:
        return
    routes = guard.install(serverapp.web_app)
    serverapp.log.info("saturn guest access: %d websocket route(s) watched", routes)
    guard.start()
