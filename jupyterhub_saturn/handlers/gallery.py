"""Public gallery pages: the list, a notebook's report page, its sandboxed rendering, downloads.

No login needed. The rendered notebook is untrusted HTML: it is served from its own URL
with ``Content-Security-Policy: …; sandbox`` (no ``allow-same-origin``, no script) and shown
in a sandboxed iframe, so nothing in it can act on the hub's origin.
"""

from __future__ import annotations

from tornado import web

from ..errors import SaturnError
from .base import SaturnPageHandler

#: download extension -> export format
DOWNLOADS = {"ipynb": "ipynb", "html": "html", "md": "markdown", "py": "python"}


class GalleryListHandler(SaturnPageHandler):
    """``GET /hub/gallery``: every published notebook."""

    async def get(self):
        records = self.ctx.store.list()
        html = await self.render_template(
            "saturn_gallery.html", records=records, may_publish=self.may_publish(self.current_user),
            catalog=self.ctx.saturn.catalog,
        )
        self.finish(html)


class NotebookPageHandler(SaturnPageHandler):
    """``GET /hub/gallery/<id>``: the report page with Run this copy and downloads."""

    async def get(self, nb_id):
        try:
            record = self.ctx.store.get(nb_id)
        except SaturnError as err:
            self.saturn_fail(err)
        user = self.current_user
        html = await self.render_template(
            "saturn_notebook.html", record=record, downloads=list(DOWNLOADS), catalog=self.ctx.saturn.catalog,
            may_edit=bool(user and (user.admin or user.name == record.author)),
            anonymous_ok=self.ctx.gallery.anonymous,
        )
        self.finish(html)


class RenderedHandler(SaturnPageHandler):
    """``GET /hub/gallery/<id>/rendered``: the sanitized report, under a sandboxing CSP."""

    async def get(self, nb_id):
        try:
            export = await self.off_loop(self.ctx.exports.export, nb_id, "html")
        except SaturnError as err:
            self.saturn_fail(err)
        for key, value in export.headers.items():
            self.set_header(key, value)
        self.finish(export.body)


class DownloadHandler(SaturnPageHandler):
    """``GET /hub/gallery/<id>/download/<ipynb|html|md|py>``: an attachment."""

    async def get(self, nb_id, ext):
        fmt = DOWNLOADS.get(ext)
        if fmt is None:
            raise web.HTTPError(404, f"unknown download {ext!r}; allowed: {', '.join(DOWNLOADS)}")
        try:
            export = await self.off_loop(self.ctx.exports.export, nb_id, fmt)
        except SaturnError as err:
            self.saturn_fail(err)
        for key, value in export.headers.items():
            self.set_header(key, value)
        # an HTML download must never render on the hub's origin: always an attachment, always sandboxed
        self.set_header("Content-Disposition", f'attachment; filename="{export.filename}"')
        self.set_header("Content-Security-Policy", "default-src 'none'; sandbox")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Type", "application/octet-stream" if fmt == "html" else export.content_type)
        self.finish(export.body)


routes = [
    (r"/gallery/?", GalleryListHandler),
    (r"/gallery/([^/]+)/rendered", RenderedHandler),
    (r"/gallery/([^/]+)/download/([a-z]+)", DownloadHandler),
    (r"/gallery/([^/]+)/?", NotebookPageHandler),
]
