"""Shared pieces of the product's hub pages and API handlers."""

from __future__ import annotations

import asyncio
import functools
import os
from concurrent.futures import ThreadPoolExecutor

from jupyterhub.apihandlers.base import APIHandler
from tornado import web
from jupyterhub.handlers.base import BaseHandler

from ..errors import SaturnError
from ..gallery.errors import InvalidField, UnknownNotebook
from ..http_errors import http_error
from . import local_sockets


class SaturnContext:
    """What every handler needs, built once per hub by :func:`jupyterhub_saturn.handlers.saturn_handlers`."""

    def __init__(self, *, saturn, gallery, store, exports, gate, launcher):
        self.saturn, self.gallery, self.store, self.exports = saturn, gallery, store, exports
        self.gate, self.launcher = gate, launcher


#: rendering and fsync-heavy publishing run here, off the hub's event loop (two at a time)
_WORKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="saturn-gallery")


class _ContextMixin:
    def write_error(self, status_code, **kwargs):
        """JupyterHub's error page, or a plain one when the request failed before JupyterHub resolved its
        user (tornado refuses a path that is not UTF-8 first; JupyterHub 5.5.0's page then raises)."""
        try:
            super().write_error(status_code, **kwargs)
        except RuntimeError:
            self.clear()
            self.set_status(status_code)
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish(f"{status_code}: {self._reason}\n")

    ctx: SaturnContext

    def initialize(self, ctx: SaturnContext):
        self.ctx = ctx

    async def off_loop(self, fn, *args):
        """Run blocking gallery work (render, publish) in a worker thread."""
        return await asyncio.get_running_loop().run_in_executor(_WORKERS, fn, *args)

    def may_publish(self, user) -> bool:
        """Admins, members of ``SaturnGallery.publisher_groups``, and holders of ``custom:saturn:publish``."""
        if user is None:
            return False
        if user.admin:
            return True
        if {g.name for g in user.groups} & set(self.ctx.gallery.publisher_groups):
            return True
        return "custom:saturn:publish" in getattr(self, "expanded_scopes", set())

    def peer_address(self) -> str:
        """The TCP peer (the proxy, usually): X-Forwarded-For is trusted only from configured proxies."""
        ctx = getattr(self.request.connection, "context", None)
        address = getattr(ctx, "address", None)
        if isinstance(address, tuple) and address:
            return str(address[0])
        return self.request.remote_ip or ""

    def client_address(self) -> str:
        """Who is launching: the client behind trusted proxies, or the local uid that connected."""
        tables = local_sockets.read_tables()
        port = local_sockets.public_port(self.ctx.launcher.app)
        return self.ctx.gate.client_ip(
            self.peer_address(), self.request.headers.get("X-Forwarded-For"),
            peer_uid=local_sockets.peer_uid(self.request, tables),
            local_uids=lambda: local_sockets.uids_connected_to_port(port, tables), own_uid=os.geteuid(),
        )


class MissingNotebook(web.HTTPError):
    """An unknown or malformed notebook id in a page URL: a 404 page with a way back to the gallery."""

    def __init__(self, message: str):
        super().__init__(404, "%s", message)


class SaturnPageHandler(_ContextMixin, BaseHandler):
    """A hub page; core errors become the hub's error page with the core's message and status.

    An unknown or malformed notebook id is a friendly 404 page (:class:`MissingNotebook`).
    """

    def saturn_fail(self, err: SaturnError):
        if isinstance(err, UnknownNotebook) or (isinstance(err, InvalidField) and err.field == "id"):
            raise MissingNotebook(err.text)
        raise http_error(err)

    async def show_missing(self, err: MissingNotebook) -> None:
        """Answer with the friendly 404 page (see :func:`friendly_404`)."""
        self.log.info("404 %s: %s", self.request.path[:200], err.log_message % err.args)
        self.clear()
        self.set_status(404)
        self.finish(await self.render_template("saturn_missing.html"))


def friendly_404(method):
    """Decorate a page handler's ``get``: an unknown or malformed notebook id shows the friendly 404 page."""

    @functools.wraps(method)
    async def wrapper(self, *args, **kwargs):
        try:
            return await method(self, *args, **kwargs)
        except MissingNotebook as err:
            await self.show_missing(err)

    return wrapper


class SaturnAPIHandler(_ContextMixin, APIHandler):
    """A hub API route; core errors become JSON errors with the core's message and status."""

    def saturn_fail(self, err: SaturnError):
        raise http_error(err)
