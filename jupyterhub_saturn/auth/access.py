"""Access ends when it should: refused and signed-out users lose the groups (and so the roles) claims gave them,
and a refresh reads only what the provider says now.

- :meth:`SaturnAccessMixin.saturn_end_access` empties the user's hub groups (with ``manage_groups`` every
  group came from claims), revokes the user's API tokens (a running server keeps its own) and forgets the
  stored provider tokens, so the roles those groups hold stop applying at once and later refreshes fail
  until a new sign-in.
- A sign-in refused because none of the user's groups is allowed ends the existing user's access
  (:meth:`get_authenticated_user`). Refusals that happen before the account is known to own the name (a
  name bound to another account, a missing claim) change nothing.
- :class:`SaturnLogoutHandler`: logout ends the session on the server too. JupyterHub's login cookie names the
  user's ``cookie_id``; logout replaces it, so a copy of the cookie taken before no longer signs anyone in
  (every browser of that user is signed out; the servers' OAuth tokens are revoked by JupyterHub itself).
- During a refresh, :func:`stale_id_token_claims` is true until a fresh ID token arrives (:func:`fresh_id_token`):
  claims saved from the sign-in's ID token are not laid under the userinfo answer, so a claim removed at the
  provider is gone at the next refresh rather than at token expiry.
"""

from __future__ import annotations

import contextlib
import contextvars

from jupyterhub.utils import new_token
from oauthenticator.oauth2 import OAuthLogoutHandler
from tornado import web

_REFRESH: contextvars.ContextVar[dict | None] = contextvars.ContextVar("saturn_refresh", default=None)


@contextlib.contextmanager
def refresh_scope():
    """Marks the current task as refreshing a user (no fresh ID token yet)."""
    token = _REFRESH.set({"fresh_id_token": False})
    try:
        yield
    finally:
        _REFRESH.reset(token)


def fresh_id_token() -> None:
    """Record that this refresh validated a new ID token (its claims are current)."""
    state = _REFRESH.get()
    if state is not None:
        state["fresh_id_token"] = True


def stale_id_token_claims() -> bool:
    """True while refreshing without a new ID token: the stored ID-token claims are from an earlier sign-in."""
    state = _REFRESH.get()
    return state is not None and not state["fresh_id_token"]


#: the refusals ``check_allowed`` noted during one sign-in (a list shared with the tasks it starts)
_REFUSALS: contextvars.ContextVar[list | None] = contextvars.ContextVar("saturn_refusals", default=None)


def note_refusal(username: str, message: str) -> None:
    """Record why ``check_allowed`` returned False, for the sign-in's refusal page."""
    refusals = _REFUSALS.get()
    if refusals is not None:
        refusals.append((username, message))


class SaturnAccessMixin:
    """Ends a user's claim-derived access when a sign-in or a refresh is refused."""

    async def saturn_end_access(self, user, why: str) -> None:
        """Remove ``user`` from every hub group (manage_groups), revoke their API tokens (not a running server's
        own) and forget the stored provider tokens."""
        if self.manage_groups:
            groups = sorted(g.name for g in user.groups)
            if groups:
                user.sync_groups([])
                user.db.commit()
            self.log.warning("Access of %s ended (%s): removed from groups %s", user.name, why, groups or "none")
        revoked = 0
        for token in list(user.orm_user.api_tokens):
            if not (token.note or "").startswith("Server at "):  # a running server's own token stays
                user.db.delete(token)
                revoked += 1
        if revoked:
            user.db.commit()
            self.log.warning("Revoked %d API token(s) of %s", revoked, user.name)
        if self.enable_auth_state:
            await user.save_auth_state(None)

    async def get_authenticated_user(self, handler, data):
        """Upstream's sign-in; when ``check_allowed`` said no with a reason (:func:`note_refusal`), the user's
        claim-derived access ends and the sign-in answers 403 with that reason instead of the generic page."""
        refusals: list = []
        token = _REFUSALS.set(refusals)
        try:
            result = await super().get_authenticated_user(handler, data)
        finally:
            _REFUSALS.reset(token)
        if result is not None or not refusals:
            return result
        name, message = refusals[-1]
        user = handler.find_user(name) if handler is not None else None
        if user is not None:
            await self.saturn_end_access(user, "signed in but no longer in an allowed group")
        exc = web.HTTPError(403, "%s", message)
        exc.jupyterhub_message = message  # the page JupyterHub renders shows it
        raise exc


class SaturnLogoutHandler(OAuthLogoutHandler):
    """Logout that also invalidates every copy of the user's login cookie (a new ``cookie_id``)."""

    async def handle_logout(self):
        user = self.current_user
        if user is not None and getattr(user, "orm_user", None) is not None:
            user.orm_user.cookie_id = new_token()
            self.db.commit()
            self.log.info("Signed %s out on the server: earlier login cookies no longer work", user.name)
        await super().handle_logout()
