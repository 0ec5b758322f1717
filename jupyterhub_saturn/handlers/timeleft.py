"""``GET /hub/saturn/time-left``: the signed-in browser's own server, for the JupyterLab status bar.

The JupyterLab extension runs on the single-user server's pages, where the hub's XSRF token
is out of reach, so it cannot call ``/hub/api/saturn/shutoff`` with the hub cookie. This
read-only hub page answers the same numbers for the cookie's own user only (like the home
page does server-side), with no CORS headers for other origins: they cannot read it. On a hub
with ``subdomain_host`` the extension runs on the user's own server origin: exactly that origin
(the cookie's user's, never another's) may read the answer with credentials. Throwaway users
(who have no ``read:servers``) get their server's time left and the "keep" link.
"""

from __future__ import annotations

import json

from jupyterhub.handlers.base import BaseHandler

from ..culler.decide import isoformat, utcnow
from ..throwaway import is_throwaway
from .shutoff import spawner_status


class TimeLeftHandler(BaseHandler):
    """Time left of one of the current user's servers (``?server=<name>``, default the default server)."""

    async def get(self):
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        user = self.current_user
        self._allow_own_server_origin(user)
        if user is None:
            self.set_status(403)
            self.finish(json.dumps({"status": 403, "message": "sign in to see your server's time left"}))
            return
        name = self.get_argument("server", "")[:255]
        spawner = user.spawners.get(name) if name in user.orm_user.orm_spawners else None
        now = utcnow()
        status = spawner_status(spawner, now) if spawner is not None and spawner.active else None
        self.finish(json.dumps({
            "user": user.name, "server": name, "now": isoformat(now), "status": status,
            "throwaway": is_throwaway(user.name),
        }))

    def _allow_own_server_origin(self, user) -> None:
        """CORS for the cookie user's own server origin (subdomain_host), and no other origin."""
        self.set_header("Vary", "Origin")
        origin = self.request.headers.get("Origin", "")
        if user is None or not self.subdomain_host or not origin:
            return
        if origin.lower() == user.host.lower():
            self.set_header("Access-Control-Allow-Origin", origin)
            self.set_header("Access-Control-Allow-Credentials", "true")


routes = [(r"/saturn/time-left", TimeLeftHandler)]
