"""Sign in to keep this copy: an anonymous copy, as edited, moves into the user's own server.

``GET /hub/saturn/keep?path=<notebook>`` (from JupyterLab, by the throwaway user) reads the
notebook from the throwaway server, holds it under an unguessable id for an hour, signs the
throwaway session out and sends the browser to the login page. After signing in,
``GET /hub/saturn/keep/<id>`` starts a launch that copies the held notebook into the user's
own server (in the published notebook's environment) and shows the launch page.
"""

from __future__ import annotations

import json
import posixpath
import secrets
import time
from types import SimpleNamespace
from urllib.parse import quote

from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from ..errors import SaturnError
from ..throwaway import is_throwaway
from .base import SaturnPageHandler
from .launcher import spawner_notebook

#: how long a held copy waits for its owner to sign in
KEEP_SECONDS = 3600
_MAX_HELD = 200


def check_path(path: str) -> str:
    """A notebook path inside the server: relative, no ``..``, ending in ``.ipynb``."""
    if not isinstance(path, str) or not path or len(path) > 1024 or "\x00" in path:
        raise web.HTTPError(400, "path: expected the notebook's path in your server, e.g. gallery/lecture.ipynb")
    norm = posixpath.normpath(path.lstrip("/"))
    if norm.startswith("..") or not norm.endswith(".ipynb"):
        raise web.HTTPError(400, "path: expected a .ipynb notebook inside your server")
    return norm


class KeepStartHandler(SaturnPageHandler):
    """The throwaway user's side: hold the edited notebook, then sign in."""

    async def get(self):
        user = self.current_user
        if user is None or not is_throwaway(user.name):
            raise web.HTTPError(400, "only a temporary copy needs keeping; your own copies are already kept")
        path = check_path(self.get_argument("path", ""))
        spawner = user.spawners[""]
        if not spawner.ready:
            raise web.HTTPError(409, "your temporary server has stopped; its copy can no longer be kept")
        notebook = await self._read(user, spawner, path)
        held = self.settings.setdefault("saturn_kept", {})
        now = time.monotonic()
        for key in [k for k, v in held.items() if v["at"] < now - KEEP_SECONDS]:
            del held[key]
        if len(held) >= _MAX_HELD:
            raise web.HTTPError(503, "too many copies are waiting to be kept; try again in a few minutes")
        keep_id = secrets.token_urlsafe(18)
        held[keep_id] = {"at": now, "notebook": notebook, "record": spawner_notebook(spawner),
                         "name": posixpath.basename(path)}
        self.clear_login_cookie()
        target = self.hub.base_url + f"saturn/keep/{keep_id}"
        self.redirect(self.settings["login_url"] + "?next=" + quote(target))

    async def _read(self, user, spawner, path: str) -> dict:
        token = user.new_api_token(note="saturn: keep an anonymous copy", expires_in=300,
                                   scopes=[f"access:servers!server={user.name}/"])
        url = spawner.server.url.rstrip("/") + "/api/contents/" + quote(path) + "?content=1&type=notebook"
        request = HTTPRequest(url, headers={"Authorization": f"token {token}"}, request_timeout=60)
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
        if response.code == 404:
            raise web.HTTPError(404, f"path: no notebook {path!r} in your temporary server")
        if response.code != 200:
            raise web.HTTPError(502, f"your temporary server did not hand over the notebook (HTTP {response.code})")
        if len(response.body) > self.ctx.store.max_bytes:
            raise web.HTTPError(413, "the notebook is larger than the hub keeps")
        model = json.loads(response.body)
        if not isinstance(model.get("content"), dict):
            raise web.HTTPError(400, "path: not a notebook")
        return model["content"]


class KeepFinishHandler(SaturnPageHandler):
    """The signed-in user's side: copy the held notebook into their own server."""

    async def get(self, keep_id):
        user = self.current_user
        if user is None or is_throwaway(user.name):
            if user is not None:
                self.clear_login_cookie()
            self.redirect(self.settings["login_url"] + "?next=" + quote(self.request.uri))
            return
        held = self.settings.get("saturn_kept", {}).pop(keep_id, None)
        if held is None or held["at"] < time.monotonic() - KEEP_SECONDS:
            raise web.HTTPError(404, "this copy is no longer waiting (it was kept already, or an hour passed)")
        try:
            record = self.ctx.store.get(held["record"]) if held["record"] else None
        except SaturnError:
            record = None
        if record is None:  # unpublished meanwhile: keep the copy in the default environment
            stem = held["name"][: -len(".ipynb")] or "notebook"
            record = SimpleNamespace(id=stem, environment={}, title=stem)
        launch = self.ctx.launcher.start(self, record, user, throwaway=False, notebook=held["notebook"])
        self.redirect(self.hub.base_url + f"run/{record.id}/launch/{launch.id}", status=303)


routes = [
    (r"/saturn/keep", KeepStartHandler),
    (r"/saturn/keep/([A-Za-z0-9_-]{1,64})", KeepFinishHandler),
]
