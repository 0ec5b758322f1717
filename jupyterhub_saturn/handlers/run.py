"""Run this copy: ``/hub/run/<id>``.

``GET`` shows a page whose form POSTs back (by script, with a button as fallback): a plain
GET never starts a server, so link previewers and crawlers start nothing. ``POST`` (XSRF
protected by the hub) checks the launch limits, starts a throwaway server for a visitor
(logging them in as that throwaway user) or uses the user's own server, and redirects to a
launch page that follows progress until the copy is open in JupyterLab.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from tornado import web

from .. import metrics
from ..errors import SaturnError
from ..throwaway import is_throwaway
from .base import SaturnPageHandler


class RunPageHandler(SaturnPageHandler):
    """``GET`` the launch page; ``POST`` launch."""

    def _record(self, nb_id):
        try:
            return self.ctx.store.get(nb_id)
        except SaturnError as err:
            self.saturn_fail(err)

    async def get(self, nb_id):
        record = self._record(nb_id)
        user = self.current_user
        html = await self.render_template(
            "saturn_run.html", record=record, user_is_anonymous=user is None,
            anonymous_ok=self.ctx.gallery.anonymous, auto=self.get_argument("manual", "") == "",
            login_url=self.settings["login_url"] + "?next=" + quote(self.request.uri),
        )
        self.finish(html)

    async def post(self, nb_id):
        record = self._record(nb_id)
        launcher = self.ctx.launcher
        user = self.current_user
        throwaway = user is None or is_throwaway(user.name)
        if user is None and not self.ctx.gallery.anonymous:
            self.redirect(self.settings["login_url"] + "?next=" + quote(self.hub.base_url + f"run/{nb_id}"))
            return
        ticket = None
        if throwaway and (user is None or not user.spawners[""].active):
            client = await self.off_loop(self.client_address)  # reads the kernel's socket tables
            # count, check and reserve with no await in between: the reservation counts until the
            # server itself does, so simultaneous launches never see the same free place
            gate = self.ctx.gate
            total, mine = launcher.running_counts(record.id, exclude=gate.holders())
            try:
                ticket = gate.reserve(client, record.id, running_total=total, running_for_notebook=mine).ticket
            except SaturnError as err:
                self.log.info("Launch of %s by %s refused: %s", record.id, client, err.text)
                metrics.launch("refused", err.field)
                self.saturn_fail(err)
            metrics.launch("admitted")
        try:
            if ticket is not None:
                if user is None:
                    user = launcher.claim_warm(record) or launcher.create_throwaway()
                    self.set_login_cookie(user)
                self.ctx.gate.hold(ticket, user.name)
            launch = await launcher.launch(self, record, user, throwaway=throwaway)
        finally:
            if ticket is not None:
                self.ctx.gate.release(ticket)
        self.redirect(self.hub.base_url + f"run/{record.id}/launch/{launch.id}", status=303)


class LaunchPageHandler(SaturnPageHandler):
    """The progress page of one launch (its owner only)."""

    def _launch(self, launch_id):
        launch = self.ctx.launcher.launches.get(launch_id)
        user = self.current_user
        if launch is None or user is None or user.name != launch.user:
            raise web.HTTPError(404, "no such launch (it may have expired); start again from the notebook's page")
        return launch

    async def get(self, nb_id, launch_id):
        launch = self._launch(launch_id)
        record = self.ctx.store.get(launch.notebook)
        html = await self.render_template("saturn_launch.html", record=record, launch=launch,
                                          status_url=self.hub.base_url + f"run/status/{launch.id}")
        self.finish(html)


class LaunchStatusHandler(LaunchPageHandler):
    """JSON state of one launch, polled by the launch page."""

    async def get(self, launch_id):
        launch = self._launch(launch_id)
        data = launch.to_json()
        user = self.current_user
        spawner = user.spawners[""]
        pending = spawner.pending or ""
        if launch.state == "starting" and pending:
            data["message"] = f"Starting your server ({pending})…"
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(data))


routes = [
    (r"/run/status/([^/]+)", LaunchStatusHandler),
    (r"/run/([^/]+)/launch/([^/]+)", LaunchPageHandler),
    (r"/run/([^/]+)/?", RunPageHandler),
]
