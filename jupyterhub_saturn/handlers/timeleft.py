"""``GET /hub/saturn/time-left``: the signed-in browser's own server, for the JupyterLab status bar.

The JupyterLab extension runs on the single-user server's pages, where the hub's XSRF token
is out of reach, so it cannot call ``/hub/api/saturn/shutoff`` with the hub cookie. This
read-only hub page answers the same numbers for the cookie's own user only (like the home
page does server-side), with no CORS headers: other origins cannot read it. Throwaway users
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


routes = [(r"/saturn/time-left", TimeLeftHandler)]
