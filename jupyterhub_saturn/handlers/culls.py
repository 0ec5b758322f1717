"""``POST /hub/api/saturn/culls``: the culler service reports what a sweep culled, for ``saturn_culls``.

Body ``{"culls": {"idle": 3, "max-age": 1, "throwaway": 2}}``. Only a caller that may stop every
server (``delete:servers`` unfiltered, as the culler's role has) may report; anything else is 403.
Unknown reasons or counts that are not whole numbers 0–100000 answer 400 naming the field.
"""

from __future__ import annotations

import json

from jupyterhub.apihandlers.base import APIHandler
from tornado import web

from .. import metrics

MAX_COUNT = 100_000


class CullsAPIHandler(APIHandler):
    """The culler's per-sweep report, counted on the hub's metrics registry."""

    @web.authenticated
    def post(self):
        if "delete:servers" not in self.expanded_scopes:
            raise web.HTTPError(403, "reporting culls needs the delete:servers scope (the culler's role)")
        try:
            body = json.loads(self.request.body or b"null")
        except (ValueError, RecursionError):
            raise web.HTTPError(400, "the body is not JSON; send {\"culls\": {\"idle\": 1}}") from None
        culls = body.get("culls") if isinstance(body, dict) else None
        if not isinstance(culls, dict):
            raise web.HTTPError(400, "culls: expected an object of reason -> count")
        allowed = ", ".join(repr(r) for r in metrics.CULL_REASONS)
        for reason, count in culls.items():
            if reason not in metrics.CULL_REASONS:
                raise web.HTTPError(400, f"culls: unknown reason {str(reason)[:40]!r} (allowed: {allowed})")
            if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
                raise web.HTTPError(400, f"culls.{reason}: expected a whole number from 0 to {MAX_COUNT}")
        for reason, count in culls.items():
            metrics.culled(reason, count)
        self.set_status(204)
        self.finish()


def culls_routes() -> list:
    """The routes of this module, relative to the hub prefix."""
    return [(r"/api/saturn/culls", CullsAPIHandler)]
