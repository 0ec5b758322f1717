"""Run this copy: ``/hub/run/<id>``.

``GET`` shows the launch page at once (step "Queued") with a form that POSTs back (by
script, with a button as fallback): a plain GET never starts a server, so link previewers
and crawlers start nothing. ``POST`` (XSRF protected by the hub) checks the launch limits,
picks a throwaway user for a visitor (logging them in as that user) or the user's own
server, starts the launch in the background and answers at once with a redirect to the
launch page, which follows progress until the copy is open in JupyterLab. A POST repeating
the run page's one-time ``launch_key`` (a double click, a reload) joins the first launch.

A signed-in user whose running server has another environment than the notebook's is asked
first (launch state ``choose``): ``POST …/launch/<id>/choice`` with ``choice=restart`` stops the
server and starts it in the notebook's environment, ``choice=keep`` copies into it as it is.
"""

from __future__ import annotations

import json
import secrets
from types import SimpleNamespace
from urllib.parse import quote

from tornado import web

from .. import metrics
from ..errors import SaturnError
from ..policy.copy_options import parse_choice
from ..policy.lifetime import throwaway_lifetime
from ..throwaway import is_throwaway
from .base import SaturnPageHandler, friendly_404
from .launcher import STEPS


class RunPageHandler(SaturnPageHandler):
    """``GET`` the launch page; ``POST`` launch."""

    def _record(self, nb_id):
        try:
            return self.ctx.store.get(nb_id)
        except SaturnError as err:
            self.saturn_fail(err)

    @friendly_404
    async def get(self, nb_id):
        record = self._record(nb_id)
        user = self.current_user
        anonymous = user is None or is_throwaway(user.name)
        html = await self.render_template(
            "saturn_run.html", record=record, user_is_anonymous=user is None, anonymous_copy=anonymous,
            anonymous_ok=self.ctx.gallery.anonymous, auto=self.get_argument("manual", "") == "",
            login_url=self.settings["login_url"] + "?next=" + quote(self.hub.base_url + f"run/{record.id}"),
            launch_key=secrets.token_urlsafe(16), steps=[label for _, label in STEPS],
            lifetime=throwaway_lifetime(self.ctx.saturn.shutoff_policy.config),
        )
        self.set_header("Cache-Control", "no-store")
        self.finish(html)

    def _join(self, launch) -> None:
        """Answer a repeated POST with the launch it repeats."""
        if self.current_user is None:
            # the first answer's login cookie may not have reached the browser (a double click
            # cancels it); the unguessable key, known only to that page, stands for it
            self.set_login_cookie(self.ctx.launcher.user_named(launch.user))
        self.redirect(self.hub.base_url + f"run/{launch.notebook}/launch/{launch.id}", status=303)

    async def post(self, nb_id):
        record = self._record(nb_id)
        launcher = self.ctx.launcher
        user = self.current_user
        key = self.get_body_argument("launch_key", "")[:64]
        joined = launcher.find(key=key, user=user.name if user else "", notebook=record.id)
        if joined is not None and launcher.user_named(joined.user) is not None and (
                user.name == joined.user if user else is_throwaway(joined.user)):
            self._join(joined)
            return
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
            # the reservation holds until the launch's background work ends: by then the server counts itself
            on_done = (lambda: self.ctx.gate.release(ticket)) if ticket is not None else None
            launch = launcher.start(self, record, user, throwaway=throwaway, key=key, on_done=on_done)
        except BaseException:
            if ticket is not None:
                self.ctx.gate.release(ticket)
            raise
        self.redirect(self.hub.base_url + f"run/{record.id}/launch/{launch.id}", status=303)


class LaunchPageHandler(SaturnPageHandler):
    """The progress page of one launch (its owner only)."""

    def _launch(self, launch_id):
        launch = self.ctx.launcher.launches.get(launch_id)
        user = self.current_user
        if launch is None or user is None or user.name != launch.user:
            raise web.HTTPError(404, "no such launch (it may have expired); start again from the notebook's page")
        return launch

    def _record_of(self, launch):
        try:
            return self.ctx.store.get(launch.notebook)
        except SaturnError:  # unpublished since (a kept copy still opens)
            return SimpleNamespace(id=launch.notebook, title=launch.notebook, environment={})

    async def get(self, nb_id, launch_id):
        launch = self._launch(launch_id)
        record = self._record_of(launch)
        html = await self.render_template("saturn_launch.html", record=record, launch=launch,
                                          steps=[label for _, label in STEPS],
                                          status_url=self.hub.base_url + f"run/status/{launch.id}")
        self.set_header("Cache-Control", "no-store")
        self.finish(html)


class LaunchChoiceHandler(LaunchPageHandler):
    """The owner's answer to a launch's environment offer (``choice``: ``restart`` or ``keep``)."""

    async def post(self, nb_id, launch_id):
        launch = self._launch(launch_id)
        try:
            choice = parse_choice(self.get_body_argument("choice", ""))
        except SaturnError as err:
            self.saturn_fail(err)
        # a launch no longer waiting (a double click, a second tab) is left as it is
        self.ctx.launcher.choose(self, launch, self.current_user, self._record_of(launch), choice)
        self.redirect(self.hub.base_url + f"run/{launch.notebook}/launch/{launch.id}", status=303)


class LaunchStatusHandler(LaunchPageHandler):
    """JSON state of one launch, polled by the launch page."""

    async def get(self, launch_id):
        launch = self._launch(launch_id)
        data = launch.to_json()
        user = self.current_user
        spawner = user.spawners[""]
        if launch.state == "starting":
            data["detail"] = _spawn_detail(spawner)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(data))


def _spawn_detail(spawner) -> str:
    """What the server is doing while it starts: the latest Kubernetes event, else the hub's pending state."""
    events = getattr(spawner, "events", None)
    if events:
        last = events[-1] if isinstance(events, list) else None
        if isinstance(last, dict) and last.get("message"):
            return str(last["message"])[:300]
    return {"spawn": "starting the server process", "check": "checking the server"}.get(spawner.pending or "", "")


routes = [
    (r"/run/status/([^/]+)", LaunchStatusHandler),
    (r"/run/([^/]+)/launch/([^/]+)/choice", LaunchChoiceHandler),
    (r"/run/([^/]+)/launch/([^/]+)", LaunchPageHandler),
    (r"/run/([^/]+)/?", RunPageHandler),
]
