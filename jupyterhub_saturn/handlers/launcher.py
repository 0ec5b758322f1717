"""Run this copy: throwaway users, spawning with the notebook's environment, copying the notebook in.

The orchestration between the hub and the pure core: the launch limits
(:mod:`jupyterhub_saturn.policy.launch_limits`) decide whether a launch may start,
:mod:`jupyterhub_saturn.policy.copy_options` what it may run (and whether a running server of
another environment should be offered a restart), and this module carries it out on the hub
(create the user, start or restart the server, write the copy through the server's contents
API) and reports progress to the launch page. A warm pool keeps throwaway servers started
ahead of demand.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import quote

from jupyterhub import orm, roles
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from .. import metrics
from ..compat import spawn_pending
from ..errors import SaturnError
from ..gallery.notebook import copy_name
from ..gallery.trust import strip_trust
from ..policy.copy_options import NOTEBOOK_KEY, EnvironmentOffer, copy_options, environment_offer, restart_options
from ..policy.resolved import RESOLVED_KEY, notebook_of, resolved_options
from ..profiles import NO_GPU
from ..throwaway import new_name

THROWAWAY_GROUP = "saturn-throwaway"
THROWAWAY_ROLE = "saturn-throwaway"
THROWAWAY_ROLE_SPEC = {
    "name": THROWAWAY_ROLE,
    "description": "Throwaway users of Run this copy: their own server and nothing else",
    # their own server, and what its login (OAuth) and activity reports need: nothing about anyone else
    "scopes": ["access:servers!user", "users:activity!user", "read:users:name!user", "read:users:groups!user"],
}


#: The steps of a launch as the launch page lists them: (state, label).
STEPS = (
    ("queued", "Queued"),
    ("starting", "Starting a server"),
    ("copying", "Copying the notebook"),
    ("ready", "Opening JupyterLab"),
)
_STEP_INDEX = {state: i for i, (state, _) in enumerate(STEPS)}


@dataclass
class Launch:
    """One launch, as the launch page sees it."""

    id: str
    user: str
    notebook: str
    state: str = "queued"  # queued [-> choose] -> starting -> copying -> ready | failed
    message: str = "Waiting for a server…"
    url: str = ""
    key: str = ""  # the run page's one-time launch key (a second POST with it joins this launch)
    started: float = field(default_factory=time.monotonic)
    step: int = 0  # index in STEPS of the last step reached (kept when failing)
    #: state "choose": the user's server runs another environment; nothing happens until they answer
    offer: EnvironmentOffer | None = None
    #: the notebook a kept anonymous copy brings (copied instead of the published version)
    content: dict | None = field(default=None, repr=False)

    def advance(self, state: str, message: str) -> None:
        """Move to ``state`` (a STEPS state or "failed") with a message for the page."""
        if state in _STEP_INDEX:
            self.step = max(self.step, _STEP_INDEX[state])
        self.state, self.message = state, message

    @property
    def finished(self) -> bool:
        return self.state in ("ready", "failed")

    def to_json(self) -> dict:
        return {"id": self.id, "state": self.state, "message": self.message, "url": self.url, "step": self.step,
                "steps": [label for _, label in STEPS], "elapsed": round(time.monotonic() - self.started, 1),
                "offer": self.offer.to_json() if self.offer is not None and self.state == "choose" else None}


def ensure_throwaway_role(db) -> None:
    """Create (or refresh) the role throwaway users get instead of the default ``user`` role, and their
    group (the culler reads it every sweep, so it exists before the first launch)."""
    roles.create_role(db, dict(THROWAWAY_ROLE_SPEC))
    _group(db, THROWAWAY_GROUP)


def _group(db, name: str):
    group = orm.Group.find(db, name)
    if group is None:
        group = orm.Group(name=name)
        db.add(group)
        db.commit()
    return group


class Launcher:
    """Starts copies for visitors and users; one per hub."""

    def __init__(self, app, saturn, gallery, store, gate, log):
        self.app, self.saturn, self.gallery, self.store, self.gate, self.log = app, saturn, gallery, store, gate, log
        self.launches: dict[str, Launch] = {}
        self.by_key: dict[str, str] = {}  # launch key -> launch id
        self.tasks: set[asyncio.Task] = set()  # launches running in the background
        self.pool: dict[str, list[str]] = {key: [] for key in gallery.warm_pool}
        self._refilling = False

    # ------------------------------------------------------------------ counting

    def throwaway_users(self) -> list:
        """Loaded ``User`` objects of every throwaway user."""
        return [self.app.users[u] for u in self.app.db.query(orm.User).filter(orm.User.name.like("anon~%"))]

    def running_counts(self, notebook_id: str, *, include_pool: bool = False,
                       exclude: set[str] = frozenset()) -> tuple[int, int]:
        """(throwaway servers running or starting, of which copies of ``notebook_id``).

        Unclaimed warm-pool servers are left out unless ``include_pool``: a launch that claims
        one adds no server. Users in ``exclude`` (holders of a launch reservation, counted by the
        gate) are left out too.
        """
        pooled = {name for names in self.pool.values() for name in names}
        total = mine = 0
        for user in self.throwaway_users():
            if (user.name in pooled and not include_pool) or user.name in exclude:
                continue
            spawner = user.spawners.get("")
            if spawner is None or not spawner.active:
                continue
            total += 1
            if spawner_notebook(spawner) == notebook_id:
                mine += 1
        return total, mine

    # ------------------------------------------------------------------ options

    def options_for(self, record, groups, *, throwaway: bool) -> dict:
        """user_options for a copy of ``record``: its environment, within what the runner may use."""
        return copy_options(self.saturn.catalog, getattr(record, "environment", None), groups, throwaway=throwaway,
                            anonymous_size=self.gallery.anonymous_size)

    # ------------------------------------------------------------------ users

    def create_throwaway(self):
        """A fresh throwaway user: throwaway role only, in the throwaway group."""
        db = self.app.db
        orm_user = orm.User(name=new_name())
        db.add(orm_user)
        db.commit()
        user = self.app.users[orm_user]
        ensure_throwaway_role(db)
        roles.strip_role(db, user.orm_user, "user")
        roles.grant_role(db, user.orm_user, THROWAWAY_ROLE)
        group = _group(db, THROWAWAY_GROUP)
        if group not in user.orm_user.groups:
            user.orm_user.groups.append(group)
        db.commit()
        return user

    # ------------------------------------------------------------------ warm pool

    def claim_warm(self, record):
        """A ready pooled throwaway user for ``record``'s environment, or None."""
        image = self.options_for(record, [], throwaway=True)["image"]
        names = self.pool.get(image) or []
        while names:
            name = names.pop(0)
            user = self._user(name)
            spawner = user.spawners.get("") if user else None
            if spawner is not None and spawner.ready:
                # the notebook is derived, not chosen: it goes beside the user_options, in the state
                spawner.saturn_resolved = dict(spawner.saturn_resolved or {}, **{NOTEBOOK_KEY: record.id})
                spawner.orm_spawner.state = spawner.get_state()
                self.app.db.commit()
                metrics.warm_pool_claimed(image)
                self.kick_refill()
                return user
        self.kick_refill()
        return None

    def kick_refill(self) -> None:
        """Refill the warm pool in the background (no-op when already refilling or no pool)."""
        if self.gallery.warm_pool and not self._refilling:
            asyncio.ensure_future(self.refill())

    async def refill(self) -> None:
        """Start pooled servers until each image has its count, within the global throwaway cap."""
        if self._refilling:
            return
        self._refilling = True
        try:
            cap = self.saturn.parsed_launch_limits.max_throwaway_servers
            for image, want in self.gallery.warm_pool.items():
                names = self.pool.setdefault(image, [])
                names[:] = [n for n in names if (u := self._user(n)) and u.spawners[""].active]
                while len(names) < want:
                    running, _ = self.running_counts("", include_pool=True, exclude=self.gate.holders())
                    running += self.gate.reserved()  # launches admitted whose servers are not counted yet
                    if running >= cap:
                        return
                    user = self.create_throwaway()
                    options = {"image": image, "size": self.gallery.anonymous_size or self.saturn.catalog.defaults["size"],
                               "gpu": NO_GPU}
                    spawner = user.spawners[""]
                    # mark the spawn pending the way the hub's own spawn handler does, so the API and the
                    # proxy see "pending" (not "ready") until the server answers HTTP
                    try:
                        with spawn_pending(spawner):
                            await user.spawn("", options=options)
                            await self.app.proxy.add_user(user, "")
                    except Exception:  # noqa: BLE001
                        self.log.exception("Could not start a warm-pool server for %s", image)
                        return
                    names.append(user.name)
        finally:
            self._refilling = False
            metrics.warm_pool(self.pool_ready())

    def user_named(self, name: str):
        """The loaded User called ``name``, or None (UserDict.get does not look names up)."""
        return self._user(name)

    def _user(self, name: str):
        """The loaded User called ``name``, or None (UserDict.get does not look names up)."""
        try:
            return self.app.users[name]
        except KeyError:
            return None

    def pool_ready(self) -> dict[str, int]:
        """Ready pooled servers per image (for tests and the benchmark)."""
        return {image: sum(1 for n in names if (u := self._user(n)) and u.spawners[""].ready)
                for image, names in self.pool.items()}

    # ------------------------------------------------------------------ launching

    def last_shutoff_choice(self, spawner, options: dict, groups) -> str | None:
        """The user's last auto-shutoff choice for this server, if it is still allowed with ``options``."""
        previous = (getattr(spawner.orm_spawner, "user_options", None) or {}).get("auto_shutoff")
        if not isinstance(previous, str):
            return None
        allowed = self.saturn.shutoff_policy.allowed_choices(options, groups, False)
        return previous if previous in allowed else None

    def find(self, *, key: str = "", user: str = "", notebook: str = "") -> Launch | None:
        """The launch a repeated request joins: the one started with ``key``, or ``user``'s unfinished
        launch of ``notebook``."""
        launch = self.launches.get(self.by_key.get(key, "")) if key else None
        if launch is not None:
            return launch
        if user:
            for launch in self.launches.values():
                if launch.user == user and launch.notebook == notebook and not launch.finished:
                    return launch
        return None

    def start(self, handler, record, user, *, throwaway: bool, key: str = "", notebook: dict | None = None,
              on_done=None) -> Launch:
        """Register a launch and carry it out in a background task; returns at once.

        ``handler`` is the request that asked (the hub's spawn helper lives on it); the task
        keeps it, as JupyterHub's own spawn does, after the response has gone. ``notebook``
        (nbformat JSON) is copied instead of the published version (a kept anonymous copy).
        ``on_done()`` is called when the background work ends, however it ends.

        A signed-in user whose running server has another environment than the notebook's gets a
        launch waiting in state ``choose`` (:meth:`choose` carries on): nothing is stopped unasked.
        """
        self._forget_old()
        launch = Launch(id=secrets.token_urlsafe(12), user=user.name, notebook=record.id, key=key, content=notebook)
        self.launches[launch.id] = launch
        if key:
            self.by_key[key] = launch.id
        offer = None if throwaway else self.environment_offer(user, record)
        if offer is not None:
            launch.offer = offer
            launch.advance("choose", offer.message())
            if on_done is not None:
                on_done()
            return launch
        self._background(self._run(handler, launch, user, record, throwaway, notebook), on_done)
        return launch

    def environment_offer(self, user, record) -> EnvironmentOffer | None:
        """The offer to restart ``user``'s running server in ``record``'s environment, if it runs another."""
        spawner = user.spawners[""]
        if not spawner.active:
            return None
        return environment_offer(self.saturn.catalog, spawner_resolved(spawner), getattr(record, "environment", None),
                                 [g.name for g in user.groups])

    def choose(self, handler, launch: Launch, user, record, choice: str) -> None:
        """Carry on a launch waiting in state ``choose``: ``"restart"`` the server in the notebook's
        environment (the user's click), or ``"keep"`` it and copy into it. A launch no longer waiting
        (a double click) is left as it is."""
        if launch.state != "choose":
            return
        restart = launch.offer if choice == "restart" else None
        launch.advance("queued", "Waiting for your server…")
        self._background(self._run(handler, launch, user, record, False, launch.content, restart=restart), None)

    def _background(self, coro, on_done) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        if on_done is not None:
            task.add_done_callback(lambda _: on_done())

    def _task_done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.log.error("A launch task failed", exc_info=task.exception())

    async def _run(self, handler, launch: Launch, user, record, throwaway: bool, notebook=None,
                   restart: EnvironmentOffer | None = None) -> None:
        spawner = user.spawners[""]
        groups = [g.name for g in user.groups]
        options = self._start_options(spawner, record, groups, throwaway, restart)
        if restart is not None and spawner.active:
            if not await self._stop_to_restart(handler, launch, user, record, restart):
                return
        if options is not None:
            launch.advance("starting", "Starting a server…")
            if not throwaway:
                options.pop("auto_shutoff", None)
                kept = self.last_shutoff_choice(spawner, options, groups)
                if kept:
                    options["auto_shutoff"] = kept
            try:
                await handler.spawn_single_user(user, "", options=options)
            except Exception as e:  # noqa: BLE001 - reported on the launch page
                self.log.warning("Launch %s of %s for %s could not start a server: %s", launch.id, record.id,
                                 user.name, _message(e))
                launch.advance("failed", _message(e))
                metrics.launch("failed")
                return
        await self._finish(launch, user, record, notebook)

    def _start_options(self, spawner, record, groups, throwaway: bool,
                       restart: EnvironmentOffer | None) -> dict | None:
        """The options a launch starts the server with, or None to copy into the server already running."""
        if restart is not None:
            # the user's click: their choices with the notebook's environment (even if the server stopped meanwhile)
            return restart_options(spawner.user_options, restart.wanted, record.id)
        if spawner.active:
            return None
        options = self.options_for(record, groups, throwaway=throwaway)
        options[NOTEBOOK_KEY] = record.id
        return options

    async def _stop_to_restart(self, handler, launch: Launch, user, record, restart: EnvironmentOffer) -> bool:
        """Stop the running server so it restarts in the notebook's environment; False (the launch has
        failed, saying why) when it cannot be stopped."""
        launch.advance("starting", f"Stopping your server to restart it in {restart.wanted_name}…")
        try:
            stopping = await handler.stop_single_user(user, "")
            if asyncio.isfuture(stopping):  # the hub stops on past its slow_stop_timeout: wait for the end
                await stopping
            if user.spawners[""].active:
                raise SaturnError("it is still running; stop it from the home page and try again", status=409)
        except Exception as e:  # noqa: BLE001 - reported on the launch page
            self.log.warning("Launch %s of %s for %s could not stop the server: %s", launch.id, record.id,
                             user.name, _message(e))
            launch.advance("failed", f"your server could not be stopped: {_message(e)}")
            metrics.launch("failed")
            return False
        return True

    async def _finish(self, launch: Launch, user, record, notebook=None) -> None:
        spawner = user.spawners[""]
        deadline = time.monotonic() + self.gallery.launch_timeout
        try:
            if not spawner.ready:
                launch.advance("starting", "Starting a server…")
            while not spawner.ready:
                if not spawner.active and not spawner.pending:
                    raise SaturnError("the server stopped while starting; see the hub log or try again", status=500)
                if time.monotonic() > deadline:
                    raise SaturnError(f"the server did not start within {self.gallery.launch_timeout} s", status=504)
                await asyncio.sleep(0.2)
            launch.advance("copying", "Copying the notebook into your server…")
            path = await self.copy_into(user, record, notebook)
            launch.url = f"{user.url}lab/tree/{quote(path)}"
            launch.advance("ready", "Opening JupyterLab…")
            metrics.launch("ready")
        except Exception as e:  # noqa: BLE001
            self.log.exception("Launch %s of %s for %s failed", launch.id, record.id, user.name)
            launch.advance("failed", _message(e))
            metrics.launch("failed")

    async def copy_into(self, user, record, notebook: dict | None = None) -> str:
        """Write the notebook into the user's running server; never overwrite: returns the path used."""
        spawner = user.spawners[""]
        token = user.new_api_token(note="saturn: copy a published notebook", expires_in=600,
                                   scopes=[f"access:servers!server={user.name}/"])
        base = spawner.server.url.rstrip("/") + "/api/contents/"
        client = AsyncHTTPClient()
        headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}

        async def call(method, path, body=None, query=""):
            req = HTTPRequest(base + quote(path) + query, method=method, headers=headers,
                              body=json.dumps(body) if body is not None else None, request_timeout=60)
            try:
                resp = await client.fetch(req, raise_error=False)
            except OSError as e:
                raise SaturnError(f"could not reach the server to copy the notebook: {e}", status=502) from None
            return resp.code

        folder = self.gallery.copy_dir.strip("/")
        if folder:
            await call("PUT", folder, {"type": "directory"})
        if notebook is None:
            notebook = json.loads(self.store.read_notebook(record.id))
        # stored notebooks carry no trust already; strip again for ones stored by older versions and kept copies
        notebook = strip_trust(notebook)
        day = time.strftime("%Y-%m-%d", time.gmtime())
        for n in range(0, 1000):
            name = copy_name(getattr(record, "title", ""), day, n, fallback=record.id)
            path = f"{folder}/{name}" if folder else name
            code = await call("GET", path, query="?content=0")
            if code == 404:
                code = await call("PUT", path, {"type": "notebook", "format": "json", "content": notebook})
                if code not in (200, 201):
                    raise SaturnError(f"the server refused the copy (HTTP {code})", status=502)
                return path
        raise SaturnError("too many copies of this notebook in your folder", status=409)

    def _forget_old(self) -> None:
        cutoff = time.monotonic() - 3600
        for key in [k for k, v in self.launches.items() if v.started < cutoff]:
            self.by_key.pop(self.launches.pop(key).key, None)


def spawner_resolved(spawner):
    """What ``spawner``'s server was started with (:mod:`jupyterhub_saturn.policy.resolved`)."""
    return resolved_options(spawner.user_options, {RESOLVED_KEY: getattr(spawner, "saturn_resolved", None)})


def spawner_notebook(spawner) -> str | None:
    """The published notebook ``spawner``'s server runs ("Run this copy"), or None."""
    return notebook_of(spawner.user_options, {RESOLVED_KEY: getattr(spawner, "saturn_resolved", None)})


def _message(e: Exception) -> str:
    if isinstance(e, SaturnError):
        return e.text
    if isinstance(e, web.HTTPError) and e.log_message:
        return e.log_message % e.args if e.args else e.log_message
    return getattr(e, "jupyterhub_message", None) or str(e) or type(e).__name__

