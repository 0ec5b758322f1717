"""Public gallery pages: the list, a notebook's report page, its sandboxed rendering, downloads.

No login needed. The rendered notebook is untrusted HTML: it is served from its own URL
with ``Content-Security-Policy: …; sandbox`` (no ``allow-same-origin``, no script) and shown
in a sandboxed iframe, so nothing in it can act on the hub's origin.
"""

from __future__ import annotations

from urllib.parse import quote

from tornado import web

from ..errors import SaturnError
from ..gallery.report_page import compose
from ..profiles import NO_GPU
from ..policy.lifetime import throwaway_lifetime
from ..throwaway import is_throwaway
from .base import SaturnPageHandler

#: download extension -> export format
DOWNLOADS = {"ipynb": "ipynb", "html": "html", "md": "markdown", "py": "python"}


def environment_labels(catalog, environment) -> dict[str, str]:
    """Display names of a record's image, size and GPU (catalog defaults where unset; no entry for no GPU)."""
    out = {}
    for kind in ("image", "size", "gpu"):
        key = environment.get(kind) or catalog.defaults.get(kind) or ""
        if key and not (kind == "gpu" and key == NO_GPU):
            out[kind] = catalog.display_name(kind, key)
    return out


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
    """``GET /hub/gallery/<id>``: the report itself, with the hub's bar, Run this copy and downloads.

    Served under the report's sandboxing CSP (see :mod:`jupyterhub_saturn.gallery.report_page`).
    """

    async def get(self, nb_id):
        try:
            export = await self.off_loop(self.ctx.exports.export, nb_id, "html")
        except SaturnError as err:
            self.saturn_fail(err)
        record = export.record
        user = self.current_user
        throwaway = bool(user and is_throwaway(user.name))
        catalog = self.ctx.saturn.catalog
        page_url = self.hub.base_url + f"gallery/{record.id}"
        run_url = self.hub.base_url + f"run/{record.id}"
        login = self.settings["login_url"]
        env = environment_labels(catalog, record.environment)
        description = record.description or f"A notebook by {record.author}, published on {self.site_name()}."
        fragments = {}
        common = dict(record=record, is_throwaway=throwaway)
        fragments["head"] = await self.render_template(
            "saturn_report_head.html", description=description[:300], site_name=self.site_name(),
            public_url=f"{self.request.protocol}://{self.request.host}{page_url}", **common)
        fragments["topbar"] = await self.render_template(
            "saturn_report_bar.html", login_url=login + "?next=" + quote(page_url), **common)
        fragments["actions"] = await self.render_template(
            "saturn_report_actions.html", downloads=list(DOWNLOADS), env=env,
            can_run=(user is not None and not throwaway) or self.ctx.gallery.anonymous,
            anonymous_copy=user is None or throwaway, lifetime=throwaway_lifetime(self.ctx.saturn.shutoff_policy.config),
            run_login_url=login + "?next=" + quote(run_url), **common)
        try:
            html = compose(export.body.decode("utf-8"), **fragments)
        except SaturnError as err:
            self.saturn_fail(err)
        for key, value in export.headers.items():
            self.set_header(key, value)
        self.set_header("Cache-Control", "no-cache, private")
        self.finish(html)

    def site_name(self) -> str:
        return self.settings.get("saturn_site_name") or self.request.host or "JupyterHub"


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
