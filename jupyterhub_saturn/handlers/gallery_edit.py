"""An author's page for one published notebook: ``/hub/gallery/<id>/edit``.

``GET`` shows a form (title, description, tags) and an Unpublish form that needs its
confirmation box ticked; ``POST …/edit`` saves, ``POST …/unpublish`` removes the notebook.
Only its author or an admin; the hub checks the XSRF token of every POST. The rules
(who may, what is valid) are the store's; errors re-show the form with the message.
"""

from __future__ import annotations

from tornado import web

from .. import metrics
from ..errors import SaturnError
from ..gallery.errors import NotAuthor
from ..gallery.tags import MAX_TAGS, TAG_RULE
from .base import SaturnPageHandler, friendly_404
from .publish import _PublishMixin


class EditPageHandler(_PublishMixin, SaturnPageHandler):
    """``GET``/``POST /hub/gallery/<id>/edit``."""

    def _own_record(self, nb_id):
        user = self.current_user
        try:
            record = self.ctx.store.get(nb_id)
        except SaturnError as err:
            self.saturn_fail(err)
        if record.author != user.name and not user.admin:
            self.saturn_fail(NotAuthor(f"only {record.author!r} (or an admin) may edit this notebook", field="id"))
        return record

    async def _show(self, record, *, error: str = "", values: dict | None = None, status: int = 200):
        self.set_status(status)
        self.set_header("Cache-Control", "no-store")
        form = values or {"title": record.title, "description": record.description, "tags": ", ".join(record.tags)}
        html = await self.render_template("saturn_edit.html", record=record, form=form, error=error,
                                          tag_rule=TAG_RULE, max_tags=MAX_TAGS)
        self.finish(html)

    @web.authenticated
    @friendly_404
    async def get(self, nb_id):
        await self._show(self._own_record(nb_id))

    @web.authenticated
    @friendly_404
    async def post(self, nb_id):
        record = self._own_record(nb_id)
        values = {k: self.get_body_argument(k, "") for k in ("title", "description", "tags")}
        try:
            edited = await self.edit_record(self.current_user, record.id, values)
        except SaturnError as err:
            await self._show(record, error=err.text, values=values, status=err.status)
            return
        self.redirect(self.hub.base_url + f"gallery/{edited.id}", status=303)


class UnpublishPageHandler(EditPageHandler):
    """``POST /hub/gallery/<id>/unpublish`` (with ``confirm=yes``)."""

    async def get(self, nb_id):  # a link (or a crawler) never unpublishes
        self.redirect(self.hub.base_url + f"gallery/{nb_id}/edit")

    @web.authenticated
    @friendly_404
    async def post(self, nb_id):
        record = self._own_record(nb_id)
        if self.get_body_argument("confirm", "") != "yes":
            await self._show(record, status=400,
                             error="Nothing was unpublished: tick the box to confirm (field confirm).")
            return
        user = self.current_user
        try:
            await self.off_loop(lambda: self.ctx.store.unpublish(record.id, user=user.name, admin=user.admin))
        except SaturnError as err:
            self.saturn_fail(err)
        self.ctx.exports.forget(record.id)
        metrics.published("unpublish")
        self.log.info("%s unpublished %s (%s)", user.name, record.id, record.title)
        self.redirect(self.hub.base_url + "gallery?unpublished=1", status=303)


routes = [
    (r"/gallery/([^/]+)/edit/?", EditPageHandler),
    (r"/gallery/([^/]+)/unpublish/?", UnpublishPageHandler),
]
