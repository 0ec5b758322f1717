"""``GET /hub/saturn/time-left``: the signed-in browser's own server, for the JupyterLab status bar.

The JupyterLab extension runs on the single-user server's pages, where the hub's XSRF token
is out of reach, so it cannot call ``/hub/api/saturn/shutoff`` with the hub cookie. This
read-only hub page answers the same numbers for the cookie's own user only (like the home
page does server-side), with no CORS headers for other origins: they cannot read it. On a hub
with ``subdomain_host`` the extension runs on the user's own server origin: exactly that origin
(the cookie's user's, never another's) may read the answer with credentials. Throwaway users
(who have no ``read:servers``) get their server's time left and the "keep" link. A guest of a
shared server (``?user=<owner>``, holding ``access:servers`` on it) gets that server's time left, so
the shutoff warning reaches everyone working in it; anyone else gets the same 404 as for a server
that does not exist.
"""

from __future__ import annotations

import json

from jupyterhub.handlers.base import BaseHandler

from ..culler.decide import isoformat, utcnow
from ..throwaway import is_throwaway
from .shutoff import spawner_status


class TimeLeftHandler(BaseHandler):
    """Time left of one of the current user's servers (``?server=<name>``, default the default server),
    or of a server shared with them (``?user=<owner>&server=<name>``)."""

    async def get(self):
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        viewer = self.current_user
        if viewer is None:
            self._allow_server_origin(None)
            self.set_status(403)
            self.finish(json.dumps({"status": 403, "message": "sign in to see your server's time left"}))
            return
        name = self.get_argument("server", "")[:255]
        owner_name = self.get_argument("user", "")[:255] or viewer.name
        owner = viewer if owner_name == viewer.name else self.find_user(owner_name)
        if owner is not viewer and (owner is None or not self.has_scope(f"access:servers!server={owner.name}/{name}")):
            self._allow_server_origin(None)
            self.set_status(404)
            self.finish(json.dumps({"status": 404, "message": "no server of that name is shared with you"}))
            return
        self._allow_server_origin(owner)
        spawner = owner.spawners.get(name) if name in owner.orm_user.orm_spawners else None
        now = utcnow()
        status = spawner_status(spawner, now) if spawner is not None and spawner.active else None
        self.finish(json.dumps({
            "user": owner.name, "server": name, "now": isoformat(now), "status": status,
            "throwaway": owner is viewer and is_throwaway(viewer.name), "guest": owner is not viewer,
        }))

    def _allow_server_origin(self, owner) -> None:
        """CORS for the origin of the server asked about (subdomain_host): the cookie user's own, or one
        shared with them (checked before this is called); no other origin."""
        self.set_header("Vary", "Origin")
        origin = self.request.headers.get("Origin", "")
        if owner is None or not self.subdomain_host or not origin:
            return
        if origin.lower() == owner.host.lower():
            self.set_header("Access-Control-Allow-Origin", origin)
            self.set_header("Access-Control-Allow-Credentials", "true")


routes = [(r"/saturn/time-left", TimeLeftHandler)]
