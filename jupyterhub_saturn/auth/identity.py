"""Identity for every ``saturn-*`` authenticator: one normal form of a username, only names a server can
start for, and (OAuth) each name bound to the provider account that first signed in with it.

:class:`SaturnUsernameMixin` normalizes names with :func:`~jupyterhub_saturn.usernames.normalize_username`
(NFKC, then lower case, where JupyterHub only lower-cases) and refuses, at sign-in and in the REST API,
names :func:`~jupyterhub_saturn.usernames.username_problem` rejects (NUL and other control characters,
lone surrogates, bidi overrides, over 255 characters), instead of accepting them and failing every spawn.
"""

from __future__ import annotations

from urllib.parse import urlparse

from tornado import web
from traitlets import Bool, Unicode
from traitlets.config import Configurable

from .. import upstream_guards
from ..identities import IdentityBindings, IdentityTaken
from ..usernames import normalize_username, username_problem


class SaturnUsernameMixin:
    """normalize_username / validate_username for an Authenticator (and JupyterHub's input guards installed)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        upstream_guards.install(self.log)

    def normalize_username(self, username):
        return super().normalize_username(normalize_username(username))

    def validate_username(self, username):
        problem = username_problem(username)
        if problem:
            self.log.warning("Refusing the username %r: %s", username, problem)
            return False
        return super().validate_username(username)


class SaturnBindingMixin(Configurable):
    """Binds each hub username to the provider identity (issuer, subject) that first signed in with it.

    Used by the saturn-* OAuth authenticators: a later sign-in under the same normalized name from another
    account gets a 403 page saying the name is taken and how an administrator re-binds it.
    """

    bind_identities = Bool(
        True, config=True,
        help="""Bind each username to the provider account (issuer, sub) of its first sign-in and refuse other
        accounts claiming the same name. Turn off only if the username claim is itself unique and stable.""",
    )
    identity_file = Unicode(
        "saturn-identities.json", config=True,
        help="""File holding the username -> (issuer, sub) bindings, relative to the hub's working directory
        (beside jupyterhub.sqlite). Edit it with `jupyterhub-saturn identity`.""",
    )

    @property
    def saturn_bindings(self) -> IdentityBindings:
        return IdentityBindings(self.identity_file)

    def saturn_identity(self, auth_model: dict) -> tuple[str, str]:
        """(issuer, subject): the OIDC issuer (else the authorize URL's origin, e.g. https://github.com) and
        the provider's stable account id (``sub``; GitHub's numeric ``id``)."""
        claims = self.saturn_claims(auth_model.get("auth_state"))
        issuer = self.saturn_expected_iss()
        if not issuer:
            url = urlparse(self.authorize_url or "")
            issuer = f"{url.scheme}://{url.netloc}" if url.netloc else self.login_service
        subject = claims.get("sub", claims.get("id"))
        return issuer.rstrip("/"), "" if subject is None or isinstance(subject, (dict, list)) else str(subject)

    def _binding_refusal(self, err: IdentityTaken, name: str, identity) -> web.HTTPError:
        self.log.warning("Refusing sign-in as %r by %s: %s", name, identity, err.message)
        exc = web.HTTPError(403, "%s", err.text)
        exc.jupyterhub_message = err.text
        return exc

    def saturn_check_binding(self, auth_model: dict) -> None:
        """Refuse (403) a sign-in whose username is bound to another identity."""
        if not self.bind_identities:
            return
        name = self.normalize_username(auth_model["name"])
        identity = self.saturn_identity(auth_model)
        try:
            self.saturn_bindings.check(name, *identity, provider=self.login_service)
        except IdentityTaken as err:
            raise self._binding_refusal(err, name, identity) from None

    def saturn_claim_binding(self, username: str, auth_model: dict) -> None:
        """Bind ``username`` to this sign-in's identity if unbound (called once the sign-in is allowed)."""
        if not self.bind_identities or not auth_model or not auth_model.get("auth_state"):
            return
        identity = self.saturn_identity(auth_model)
        try:
            if self.saturn_bindings.claim(username, *identity, provider=self.login_service):
                self.log.info("Bound the username %r to %s account %s", username, self.login_service, identity)
        except IdentityTaken as err:
            raise self._binding_refusal(err, username, identity) from None
