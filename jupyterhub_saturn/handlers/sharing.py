"""The sharing page (``/hub/saturn/share``) and the guarded ``/hub/accept-share``.

JupyterHub 5+ has shares and share codes in its REST API but no page for them. This page lets an
owner make a share link (an expiry within ``Saturn.sharing.max_code_lifetime``), share with a user or
group by name, see who has access and revoke. It applies :mod:`jupyterhub_saturn.policy.sharing` first,
then calls JupyterHub's own share API with a short-lived token of the owner limited to sharing scopes,
so JupyterHub's own checks apply too. ``/hub/accept-share`` (JupyterHub's redeem page, routed here first)
refuses throwaway sessions and answers expired, revoked or forged links with a 4xx page, never a 500.
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

from jupyterhub import orm
from jupyterhub.handlers.pages import AcceptShareHandler
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from ..errors import InvalidChoice, SaturnError
from ..http_errors import http_error
from ..policy.durations import format_duration
from ..policy.sharing import SharingPolicy, SharingRefused
from ..settings import Saturn
from ..throwaway import is_throwaway
from .base import SaturnPageHandler

ACTIONS = ("code", "grant", "revoke", "revoke-code", "revoke-all")
_SERVER_NAME_MAX = 255


def _fail(err: SaturnError):
    raise http_error(err)


class ShareAPIError(Exception):
    """JupyterHub's share API refused (its status and message are passed on, 5xx as 502)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class SharePageHandler(SaturnPageHandler):
    """GET shows the sharing of one of the user's servers (``?server=<name>``); POST changes it."""

    def initialize(self, policy: SharingPolicy):
        self.policy = policy

    # ------------------------------------------------------------------ the owner and the server

    def _owner_and_spawner(self):
        user = self.current_user
        server = self.get_argument("server", "")
        owner = self.get_argument("owner", "") or (user.name if user else "")
        if len(server) > _SERVER_NAME_MAX:
            _fail(InvalidChoice("server: not a server name", field="server"))
        if owner != user.name:  # e.g. a guest pressing Share in someone else's JupyterLab
            _fail(SharingRefused(f"only {owner[:100]} can share this server; you have access to it only",
                                 field="owner"))
        try:
            self.policy.check_may_share(user.name, [g.name for g in user.groups], admin=bool(user.admin))
        except SharingRefused as err:
            _fail(err)
        if server == "" and "" not in user.orm_user.orm_spawners:
            _fail(SaturnError("server: start your server first, then share it", field="server", status=409))
        if server not in user.orm_user.orm_spawners:
            names = [n for n in user.orm_user.orm_spawners if n] or []
            _fail(InvalidChoice(f"server: you have no server named {server!r}", field="server",
                                allowed=[""] + names))
        return user, server

    # ------------------------------------------------------------------ JupyterHub's share API

    async def _api(self, user, method: str, path: str, body: dict | None = None, query: dict | None = None):
        """Call ``/hub/api/<path>`` as ``user`` with a one-minute token limited to sharing scopes."""
        scopes = [f"shares!user={user.name}", f"read:shares!user={user.name}"]
        if self.policy.by_name:
            scopes += ["read:users:name", "read:groups:name"]
        try:
            token = user.new_api_token(note="saturn: sharing page", expires_in=60, scopes=scopes)
        except ValueError as e:  # the user's roles lack a scope (an admin's own load_roles took it away)
            raise ShareAPIError(403, f"your roles do not let you share servers: {e}") from None
        url = self.hub.url.rstrip("/") + "/api/" + path + ("?" + urlencode(query) if query else "")
        request = HTTPRequest(url, method=method, headers={"Authorization": f"token {token}"},
                              body=json.dumps(body) if body is not None else None,
                              allow_nonstandard_methods=True, request_timeout=30)
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
        finally:
            found = orm.APIToken.find(self.db, token)
            if found is not None:
                self.db.delete(found)
                self.db.commit()
        if response.code >= 400:
            self.log.info("JupyterHub's share API: %s %s -> %s %s", method, path, response.code,
                          (response.body or b"")[:300])
            try:
                message = json.loads(response.body).get("message", "")
            except (ValueError, AttributeError):
                message = ""
            # the form named something that is not there: a bad request for this page (JupyterHub 5.5 shows its
            # 404 page without the message)
            status = 400 if response.code == 404 else response.code if response.code < 500 else 502
            raise ShareAPIError(status,
                                message or f"JupyterHub's share API answered HTTP {response.code}")
        return json.loads(response.body) if response.body else {}

    def _path(self, kind: str, user, server: str) -> str:
        return f"{kind}/{quote(user.name, safe='')}/{quote(server, safe='')}"

    async def _state(self, user, server: str) -> dict:
        shares = await self._api(user, "GET", self._path("shares", user, server))
        codes = await self._api(user, "GET", self._path("share-codes", user, server))
        return {"shares": shares.get("items", []), "codes": codes.get("items", [])}

    # ------------------------------------------------------------------ page

    async def _render(self, user, server: str, *, created: dict | None = None, done: str = ""):
        state = await self._state(user, server)
        if created and not created.get("full_accept_url"):
            created["full_accept_url"] = f"{self.request.protocol}://{self.request.host}{created['accept_url']}"
        html = await self.render_template(
            "saturn_share.html", server=server, servers=sorted(user.orm_user.orm_spawners), policy=self.policy,
            shares=state["shares"], codes=state["codes"], created=created, done=done,
            server_url=user.server_url(server), default_expiry=format_duration(self.policy.default_expiry),
            revoke_within=format_duration(self.policy.revoke_within),
        )
        self.finish(html)

    @web.authenticated
    async def get(self):
        user, server = self._owner_and_spawner()
        try:
            await self._render(user, server)
        except ShareAPIError as err:
            raise http_error(SaturnError(err.message, status=err.status)) from None

    @web.authenticated
    async def post(self):
        user, server = self._owner_and_spawner()
        action = self.get_body_argument("action", "")
        if action not in ACTIONS:
            _fail(InvalidChoice(f"action: {action[:40]!r} is not a sharing action", field="action", allowed=ACTIONS))
        created, done = None, ""
        try:
            if action == "code":
                seconds = self._checked(self.policy.code_lifetime, self.get_body_argument("expires_in", ""))
                created = await self._api(user, "POST", self._path("share-codes", user, server),
                                          {"expires_in": seconds})
                done = "Share link created"
            elif action == "grant":
                kind, name = self._target()
                await self._api(user, "POST", self._path("shares", user, server), {kind: name})
                done = f"Shared with {kind} {name}"
            elif action == "revoke":
                kind, name = self._target(revoking=True)
                await self._api(user, "PATCH", self._path("shares", user, server), {kind: name})
                done = f"Access of {kind} {name} revoked"
            elif action == "revoke-code":
                code_id = self.get_body_argument("id", "")
                await self._api(user, "DELETE", self._path("share-codes", user, server), query={"id": code_id[:40]})
                done = "Share link revoked"
            else:
                await self._api(user, "DELETE", self._path("shares", user, server))
                await self._api(user, "DELETE", self._path("share-codes", user, server))
                done = "Every share and share link revoked"
            self.log.info("Sharing of %s/%s: %s", user.name, server, done)
            await self._render(user, server, created=created, done=done)
        except ShareAPIError as err:
            raise http_error(SaturnError(err.message, status=err.status)) from None

    def _checked(self, fn, *args):
        try:
            return fn(*args)
        except SaturnError as err:
            _fail(err)

    def _target(self, *, revoking: bool = False) -> tuple[str, str]:
        kind = self.get_body_argument("kind", "user")
        name = self.get_body_argument("name", "")
        if revoking:  # revoking needs no names policy: any listed share may go
            if kind not in ("user", "group") or not name or len(name) > 255:
                _fail(InvalidChoice("kind/name: which share to revoke", field="kind", allowed=("user", "group")))
            return kind, name
        return kind, self._checked(self.policy.check_target, kind, name)


class SaturnAcceptShareHandler(AcceptShareHandler):
    """JupyterHub's redeem page with the product's rules first, and a 4xx for every bad link.

    An unknown link is a 400 with the reason, not a 404: JupyterHub 5.5 shows its 404 page without one."""

    def initialize(self, policy: SharingPolicy):
        self.policy = policy

    def _check(self):
        user = self.current_user
        try:
            self.policy.check_may_redeem(user.name)
        except SharingRefused as err:
            _fail(err)
        code = self.get_argument("code", "")
        if not code or len(code) > 200:
            _fail(InvalidChoice("code: this is not a share link (no code in it)", field="code"))
        share_code = orm.ShareCode.find(self.db, code=code)
        if share_code is None:
            _fail(SaturnError("This share link is not valid: it has expired, was revoked, or never existed; "
                              "ask its owner for a new one", field="code", status=400))
        if share_code.expired:  # JupyterHub's lookup leaves expired codes out; this is the race at the boundary
            _fail(SaturnError("This share link has expired; ask its owner for a new one", field="code", status=410))
        if is_throwaway(share_code.owner.name):
            _fail(SharingRefused("a temporary (anonymous) server can never be shared", field="code"))

    @web.authenticated
    async def get(self):
        self._check()
        return await super().get()

    @web.authenticated
    def post(self):
        self._check()
        return super().post()


def _may_share(policy: SharingPolicy, user) -> bool:
    try:
        policy.check_may_share(user.name, [g.name for g in user.groups], admin=bool(user.admin))
    except SharingRefused:
        return False
    return True


def routes(app) -> list:
    """The sharing routes; the accept-share override only on hubs whose JupyterHub has sharing."""
    policy = Saturn(config=app.config, log=app.log).sharing_policy
    env = (getattr(app, "tornado_settings", None) or {}).get("jinja2_env")
    if env is not None:  # the home page links each server's sharing page for those who may share
        env.globals.setdefault("saturn_may_share", lambda user: _may_share(policy, user))
    return [
        (r"/saturn/share", SharePageHandler, {"policy": policy}),
        (r"/accept-share", SaturnAcceptShareHandler, {"policy": policy}),
    ]
