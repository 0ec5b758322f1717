"""``GET /hub/api/saturn/shutoff``: when each of a user's running servers will shut off.

Answers ``{"user": ..., "now": ..., "servers": {"<name>": {...}}}`` where each server has
``auto_shutoff``, ``idle_deadline``, ``age_deadline``, ``stop_at``, ``reason`` ("idle" /
"max-age"), ``warn_at``, ``warn`` (inside the warning window), ``seconds_left`` and the
inputs (``started``, ``last_activity``, ``idle_timeout``, ``max_age``, ``warn_before``),
computed by the same pure core as the culler (:func:`jupyterhub_saturn.culler.decide.server_status`).

Access mirrors the hub's own API: the caller's own servers by default; ``?user=<name>`` needs
``read:servers`` on that user (admins have it). No credentials or no ``read:servers`` at all
-> 403; a user outside the caller's ``read:servers`` filter, or unknown -> 404.

:func:`install_template_globals` lets ``home.html`` render the same numbers server-side.
"""

from __future__ import annotations

import json

from jupyterhub.apihandlers.base import APIHandler
from jupyterhub.user import User
from tornado import web

from ..culler.decide import isoformat, server_status, utcnow
from ..policy import RESOLVED_KEY


def spawner_status(spawner, now=None) -> dict:
    """:func:`server_status` for a live hub Spawner (ORM times are naive UTC)."""
    orm = spawner.orm_spawner
    model = {
        "name": spawner.name,
        "user_options": spawner.user_options or getattr(orm, "user_options", None),
        "state": {RESOLVED_KEY: getattr(spawner, "saturn_resolved", None)},
        "started": orm.started,
        "last_activity": orm.last_activity,
        "ready": spawner.ready,
        "pending": spawner.pending,
    }
    return server_status(model, now=now or utcnow())


def format_left(seconds) -> str:
    """``754.2`` -> ``"12m 34s"``; ``None`` -> ``""``."""
    if seconds is None:
        return ""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def install_template_globals(app) -> None:
    """Make ``saturn_shutoff_status(spawner)`` and ``saturn_format_left(s)`` available to templates."""
    settings = getattr(app, "tornado_settings", None) or {}
    env = settings.get("jinja2_env")
    if env is None:
        return
    env.globals.setdefault("saturn_shutoff_status", spawner_status)
    env.globals.setdefault("saturn_format_left", format_left)


class ShutoffAPIHandler(APIHandler):
    """Time left for a user's running servers (JSON)."""

    def _error(self, status: int, message: str) -> web.HTTPError:
        exc = web.HTTPError(status, "%s", message)
        exc.jupyterhub_message = message
        return exc

    async def get(self):
        current = self.current_user
        if current is None:
            raise self._error(403, "Missing or invalid credentials")
        name = self.get_argument("user", None)
        if name is None:
            if not isinstance(current, User):
                raise self._error(400, "user: a service must name the user, e.g. ?user=<name>")
            name = current.name
        name = name.strip()
        if not name or len(name) > 255:
            raise self._error(400, "user: expected a user name")
        if "read:servers" not in self.parsed_scopes:
            raise self._error(403, "Action is not authorized with current scopes; requires read:servers")
        if not self.has_scope(f"read:servers!user={name}"):
            raise self._error(404, "No access to resources or resources not found")
        user = self.find_user(name)
        if user is None:
            raise self._error(404, f"No such user: {name}")
        now = utcnow()
        servers = {
            server_name: spawner_status(spawner, now)
            for server_name, spawner in sorted(user.spawners.items())
            if spawner.active
        }
        self.set_header("Cache-Control", "no-store")
        self.write(json.dumps({"user": user.name, "now": isoformat(now), "servers": servers}))


def shutoff_routes() -> list:
    """The routes of this module, relative to the hub prefix."""
    return [(r"/api/saturn/shutoff", ShutoffAPIHandler)]
