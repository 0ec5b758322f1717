"""Publishing: ``/hub/api/saturn/notebooks`` (REST) and ``/hub/gallery/publish`` (a page).

Publishers are admins, members of ``SaturnGallery.publisher_groups`` and holders of the
``custom:saturn:publish`` scope. The body is multipart (a ``notebook`` file plus
``title``, ``description``, ``tags`` (comma-separated), ``image``, ``size``, ``gpu`` fields) or JSON
(``{"notebook": {...}, "title": ..., "tags": [...], "environment": {"image": ..., ...}}``). Text fields and
JSON depth are checked by :mod:`jupyterhub_saturn.gallery.fields`, tags by :mod:`~jupyterhub_saturn.gallery.tags`
(400 naming the field). ``PATCH /hub/api/saturn/notebooks/<id>`` with ``{"title", "description", "tags"}``
edits a published notebook without re-uploading it (its author or an admin).
"""

from __future__ import annotations

import json

from tornado import web

from .. import metrics
from ..errors import InvalidChoice, NotEntitled, SaturnError
from ..gallery import NotebookTooLarge
from ..gallery.fields import MAX_JSON_DEPTH, check_json_depth
from .base import SaturnAPIHandler, SaturnPageHandler

ENV_KINDS = ("image", "size", "gpu", "disk")
BODY_KEYS = ["notebook", "title", "description", "tags", "environment", "filename"]
EDIT_KEYS = ["title", "description", "tags"]


class _PublishMixin:
    def require_publisher(self):
        user = self.current_user
        if user is None:
            raise web.HTTPError(403, "log in to publish notebooks")
        if not self.may_publish(user):
            groups = ", ".join(self.ctx.gallery.publisher_groups) or "(none)"
            self.saturn_fail(NotEntitled(
                f"you may not publish notebooks: publishing is for admins and members of {groups}", field="user"))
        return user

    def check_environment(self, env) -> dict:
        if env is None:
            return {}
        if not isinstance(env, dict):
            raise InvalidChoice("environment must be an object like {\"image\": \"...\"}", field="environment")
        catalog = self.ctx.saturn.catalog
        out = {}
        for key, value in env.items():
            if key not in ENV_KINDS:
                raise InvalidChoice(f"unknown environment key {key!r}", field=f"environment.{key}", allowed=list(ENV_KINDS))
            if value in (None, ""):
                continue
            choices = catalog.choices(key)
            if not isinstance(value, str) or value not in choices:
                raise InvalidChoice(f"environment.{key}: unknown {key} {value!r}", field=f"environment.{key}",
                                    allowed=list(choices))
            out[key] = value
        return out

    def parse_body(self) -> dict:
        """The upload as ``{"notebook": bytes|dict, "title", "description", "environment", "filename"}``."""
        limit = self.ctx.store.max_bytes
        if len(self.request.body or b"") > limit + 64 * 1024:
            raise NotebookTooLarge(f"the upload is larger than the {limit} byte limit", field="notebook")
        ctype = self.request.headers.get("Content-Type", "")
        if ctype.startswith("multipart/form-data"):
            files = self.request.files.get("notebook") or []
            if not files:
                raise InvalidChoice("missing the notebook file (form field 'notebook')", field="notebook")
            env = {k: self.get_body_argument(k, "") for k in ENV_KINDS}
            return {
                "notebook": files[0]["body"], "filename": files[0].get("filename"),
                "title": self.get_body_argument("title", "") or None,
                "description": self.get_body_argument("description", "") or None,
                "tags": self.get_body_argument("tags", None),
                "environment": self.check_environment({k: v for k, v in env.items() if v}),
            }
        check_json_depth(self.request.body or b"", "body", MAX_JSON_DEPTH + 1)  # the notebook's bound, plus the wrapper
        try:
            data = json.loads(self.request.body or b"")
        except (ValueError, UnicodeDecodeError):
            raise InvalidChoice("the body is neither JSON nor a multipart upload", field="body") from None
        if not isinstance(data, dict) or "notebook" not in data:
            raise InvalidChoice("the JSON body must be an object with a 'notebook' key", field="notebook")
        unknown = set(data) - set(BODY_KEYS)
        if unknown:
            raise InvalidChoice(f"unknown key {sorted(unknown)[0]!r}", field=sorted(unknown)[0], allowed=BODY_KEYS)
        notebook = data["notebook"]
        if not isinstance(notebook, (dict, str)):
            raise InvalidChoice("notebook must be the .ipynb JSON object (or its text)", field="notebook")
        for key in ("title", "description", "filename"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise InvalidChoice(f"{key} must be a string", field=key)
        return {"notebook": notebook, "title": data.get("title"), "description": data.get("description"),
                "filename": data.get("filename"), "tags": data.get("tags"),
                "environment": self.check_environment(data.get("environment"))}

    async def publish_body(self, user, *, nb_id=None):
        """Publish (or with ``nb_id``, republish) the request's upload as ``user``; raises SaturnError."""
        body = await self.off_loop(self.parse_body)  # scanning and parsing up to max_bytes of JSON

        def write():
            return self.ctx.store.publish(
                body["notebook"], author=user.name, title=body["title"], description=body["description"],
                environment=(body["environment"] or None) if nb_id else body["environment"],
                filename=body["filename"], id=nb_id, admin=bool(nb_id) and user.admin, tags=body["tags"],
            )

        record = await self.off_loop(write)
        if nb_id:
            self.ctx.exports.forget(nb_id)
        self.log.info("%s published %s (%s)", user.name, record.id, record.title)
        metrics.published("republish" if nb_id else "publish")
        return record

    async def edit_record(self, user, nb_id: str, fields: dict):
        """Apply ``{"title", "description", "tags"}`` (each optional) to ``nb_id`` as ``user``; raises SaturnError."""
        record = await self.off_loop(lambda: self.ctx.store.edit(
            nb_id, user=user.name, admin=user.admin, title=fields.get("title"),
            description=fields.get("description"), tags=fields.get("tags")))
        self.ctx.exports.forget(nb_id)
        self.log.info("%s edited %s (%s)", user.name, record.id, record.title)
        metrics.published("edit")
        return record

    def record_json(self, record) -> dict:
        data = record.to_json()
        data["url"] = self.hub.base_url + f"gallery/{record.id}"
        data["run_url"] = self.hub.base_url + f"run/{record.id}"
        return data


class NotebooksAPIHandler(_PublishMixin, SaturnAPIHandler):
    """``GET`` lists published notebooks; ``POST`` publishes a new one (201)."""

    def get(self):
        self.finish(json.dumps([self.record_json(r) for r in self.ctx.store.list()]))

    async def post(self):
        user = self.require_publisher()
        try:
            record = await self.publish_body(user)
        except SaturnError as err:
            self.saturn_fail(err)
        self.set_status(201)
        self.finish(json.dumps(self.record_json(record)))


class NotebookAPIHandler(_PublishMixin, SaturnAPIHandler):
    """``GET`` one record; ``PUT`` republishes (same id and URL); ``DELETE`` unpublishes."""

    def get(self, nb_id):
        try:
            record = self.ctx.store.get(nb_id)
        except SaturnError as err:
            self.saturn_fail(err)
        self.finish(json.dumps(self.record_json(record)))

    async def put(self, nb_id):
        user = self.require_publisher()
        try:
            record = await self.publish_body(user, nb_id=nb_id)
        except SaturnError as err:
            self.saturn_fail(err)
        self.finish(json.dumps(self.record_json(record)))

    async def patch(self, nb_id):
        user = self.require_publisher()
        try:
            try:
                data = json.loads(self.request.body or b"")
            except (ValueError, UnicodeDecodeError):
                raise InvalidChoice("the body must be a JSON object", field="body") from None
            if not isinstance(data, dict) or not data:
                raise InvalidChoice("the body must be a JSON object with title, description or tags",
                                    field="body", allowed=EDIT_KEYS)
            unknown = sorted(set(data) - set(EDIT_KEYS))
            if unknown:
                raise InvalidChoice(f"unknown key {unknown[0][:40]!r}", field=unknown[0][:40], allowed=EDIT_KEYS)
            record = await self.edit_record(user, nb_id, data)
        except SaturnError as err:
            self.saturn_fail(err)
        self.finish(json.dumps(self.record_json(record)))

    def delete(self, nb_id):
        user = self.require_publisher()
        try:
            self.ctx.store.unpublish(nb_id, user=user.name, admin=user.admin)
        except SaturnError as err:
            self.saturn_fail(err)
        self.ctx.exports.forget(nb_id)
        metrics.published("unpublish")
        self.set_status(204)
        self.finish()


class PublishPageHandler(_PublishMixin, SaturnPageHandler):
    """``/hub/gallery/publish``: upload a notebook from the browser."""

    @web.authenticated
    async def get(self):
        self.require_publisher()
        html = await self.render_template("saturn_publish.html", catalog=self.ctx.saturn.catalog,
                                          max_bytes=self.ctx.store.max_bytes, error="")
        self.finish(html)

    @web.authenticated
    async def post(self):
        user = self.require_publisher()
        try:
            record = await self.publish_body(user)
        except SaturnError as err:
            self.set_status(err.status)
            html = await self.render_template("saturn_publish.html", catalog=self.ctx.saturn.catalog,
                                              max_bytes=self.ctx.store.max_bytes, error=err.text)
            self.finish(html)
            return
        self.redirect(self.hub.base_url + f"gallery/{record.id}")


routes = [
    (r"/api/saturn/notebooks/?", NotebooksAPIHandler),
    (r"/api/saturn/notebooks/([^/]+)/?", NotebookAPIHandler),
    (r"/gallery/publish/?", PublishPageHandler),
]
