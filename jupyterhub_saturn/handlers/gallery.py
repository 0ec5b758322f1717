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
from .base import SaturnPageHandler, friendly_404
from .launcher import STEPS

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
        catalog = self.ctx.saturn.catalog
        origin = f"{self.request.protocol}://{self.request.host}"
        cards = []
        for r in sorted(records, key=lambda r: r.updated, reverse=True):
            labels = environment_labels(catalog, r.environment)
            cards.append({
                "id": r.id, "title": r.title, "author": r.author, "description": r.description,
                "updated": r.to_json()["updated"], "labels": list(labels.values()), "tags": list(r.tags),
                "image": r.environment.get("image") or catalog.defaults.get("image", ""),
                "page_url": f"{origin}{self.hub.base_url}gallery/{r.id}",
                "run_url": f"{origin}{self.hub.base_url}run/{r.id}",
            })
        images = sorted({c["image"] for c in cards})
        user = self.current_user
        html = await self.render_template(
            "saturn_gallery.html", cards=cards, may_publish=self.may_publish(user),
            me="" if user is None else user.name, is_admin=bool(user and user.admin),
            tags=sorted({t for c in cards for t in c["tags"]}),
            unpublished=self.get_argument("unpublished", "") == "1",
            authors=sorted({c["author"] for c in cards}),
            environments=[(key, catalog.display_name("image", key)) for key in images],
            badge_url=f"{origin}{self.hub.base_url}gallery/badge.svg",
        )
        self.finish(html)


#: The "Run this copy" badge for READMEs and web sites (static, no user data).
BADGE_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="118" height="20" role="img" aria-label="Run this copy">
<title>Run this copy</title><rect width="118" height="20" rx="3" fill="#0b5cad"/>
<path d="M8 5l7 5-7 5z" fill="#fff"/>
<text x="66" y="14" fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle">Run this copy</text>
</svg>"""


class BadgeHandler(SaturnPageHandler):
    """``GET /hub/gallery/badge.svg``: the badge image the gallery's snippets use."""

    def get(self):
        self.set_header("Content-Type", "image/svg+xml")
        self.set_header("Cache-Control", "public, max-age=86400")
        self.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
        self.finish(BADGE_SVG)


class NotebookPageHandler(SaturnPageHandler):
    """``GET /hub/gallery/<id>``: the report itself, with the hub's bar, Run this copy and downloads.

    Served under the report's sandboxing CSP (see :mod:`jupyterhub_saturn.gallery.report_page`).
    """

    @friendly_404
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
            run_login_url=login + "?next=" + quote(run_url), steps=[label for _, label in STEPS],
            can_edit=bool(user and not throwaway and (user.name == record.author or user.admin)), **common)
        try:
            html = compose(export.body.decode("utf-8"), **fragments)
        except SaturnError as err:
            self.saturn_fail(err)
        for key, value in export.headers.items():
            self.set_header(key, value)
        # no-store keeps the page out of the back/forward cache: going back never shows the launch steps a
        # click revealed (the report itself is cached by the hub, per version)
        self.set_header("Cache-Control", "no-store, private")
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
    (r"/gallery/badge\.svg", BadgeHandler),
    (r"/gallery/([^/]+)/rendered", RenderedHandler),
    (r"/gallery/([^/]+)/download/([a-z]+)", DownloadHandler),
    (r"/gallery/([^/]+)/?", NotebookPageHandler),
]


def land_visitors_on_gallery(handler) -> str:
    """For ``c.JupyterHub.default_url``: visitors who are not signed in and open the hub's root land on the
    gallery; everyone else (and where to go after signing in) as usual."""
    roots = {handler.base_url.rstrip("/"), handler.hub.base_url.rstrip("/")}
    if handler.current_user is None and handler.request.path.rstrip("/") in roots:
        return handler.hub.base_url + "gallery"
    return ""
