"""OAuth login with claims -> hub groups, clear error pages, and ``saturn-oidc`` (OpenID Connect).

:class:`SaturnOAuthenticator` is the shared layer of ``saturn-oidc``, ``saturn-github`` and
``saturn-google``: it maps claims to hub groups (``claim_groups``, see
:mod:`~jupyterhub_saturn.auth.claims`) with ``manage_groups`` on, checks ``required_claims``,
explains refusals (not in ``allowed_groups``, a missing claim, a tampered, replayed or stale
``state``, a provider that is down) on a page instead of a 500, and re-checks access when
JupyterHub refreshes a user. It is configured as ``c.SaturnOAuthenticator.*`` (shared) or per
class. :class:`SaturnOIDCAuthenticator` adds discovery from the issuer URL alone, a ``nonce``
and ID-token validation (signature via JWKS, ``iss``, ``aud``, ``exp``, ``nonce``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import sys
import time
from html import escape
from urllib.parse import urlparse

from jupyterhub.utils import url_path_join
from oauthenticator.generic import GenericOAuthenticator
from oauthenticator.oauth2 import OAuthCallbackHandler, OAuthenticator, OAuthLoginHandler
from tornado import web
from tornado.httpclient import HTTPClientError
from traitlets import Bool, Dict, Float, Int, List, Unicode, Union, default

from ..errors import ConfigError
from ..throwaway import is_throwaway
from ..usernames import username_problem
from . import discovery
from .claims import MissingClaim, claims_referenced, groups_from_claims, missing_claim_message, missing_claims, not_allowed_message, parse_rules
from .access import (SaturnAccessMixin, SaturnLogoutHandler, fresh_id_token, note_refusal, refresh_scope,
                     stale_id_token_claims)
from .identity import SaturnBindingMixin, SaturnUsernameMixin
from .mount import SaturnAuthenticatorMixin

_OUTAGE = (OSError, asyncio.TimeoutError)


def encode_state(state: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode("ascii")


def decode_state(value) -> dict:
    """The state dict in ``value`` (base64url JSON); {} for anything else (e.g. tampered)."""
    try:
        state = json.loads(base64.urlsafe_b64decode(value.encode("ascii") if isinstance(value, str) else value))
    except (ValueError, TypeError, UnicodeError):
        return {}
    return state if isinstance(state, dict) else {}


def auth_error(status: int, message: str, *, login_url: str | None = None, retry_after: int | None = None) -> web.HTTPError:
    """An HTTPError JupyterHub renders as a page showing ``message`` (and a sign-in link)."""
    exc = web.HTTPError(status, "%s", message)
    exc.jupyterhub_message = message
    if login_url:
        exc.jupyterhub_html_message = f'{escape(message)} <a href="{escape(login_url)}">Sign in again</a>.'
    if retry_after:
        exc.headers = {"Retry-After": str(retry_after)}
    return exc


def _is_outage(e: Exception) -> bool:
    if isinstance(e, HTTPClientError):
        return e.code == 599 or e.code >= 500
    return isinstance(e, _OUTAGE)


class SaturnOAuthLoginHandler(OAuthLoginHandler):
    """Starts the sign-in: discovery first (503 page if the provider is down), a nonce, a dated state."""

    async def get(self):
        await self.authenticator.saturn_prepare()
        self._saturn_nonce = secrets.token_urlsafe(24) if self.authenticator.saturn_sends_nonce else None
        super().get()

    def set_state_cookie(self, state_cookie_value):
        state = decode_state(state_cookie_value)
        state["iat"] = int(time.time())
        if self._saturn_nonce:
            state["nonce"] = self._saturn_nonce
        super().set_state_cookie(encode_state(state))

    def authorize_redirect(self, *args, **kwargs):
        if self._saturn_nonce:
            kwargs["extra_params"] = {**(kwargs.get("extra_params") or {}), "nonce": self._saturn_nonce}
        return super().authorize_redirect(*args, **kwargs)


class SaturnOAuthCallbackHandler(OAuthCallbackHandler):
    """Finishes the sign-in; refuses tampered, replayed, stale or mixed-up responses with a clear 400."""

    saturn_state: dict = {}

    def _refuse(self, message: str, status: int = 400):
        return auth_error(status, message, login_url=url_path_join(self.hub.base_url, "login"))

    def check_arguments(self):
        self.get_state_cookie()  # read once and clear it: whatever happens next, this sign-in is over
        super().check_arguments()

    def check_error(self):
        error = self.get_argument("error", "")
        if error:
            detail = self.get_argument("error_description", "")
            who = self.authenticator.login_service
            raise self._refuse(f"{who} did not sign you in: {error}" + (f" ({detail})" if detail else "") + ".", 403 if error == "access_denied" else 400)

    def check_code(self):
        if not self.get_argument("code", ""):
            raise self._refuse("The sign-in response has no authorization code.")

    def check_state(self):
        url_state = self.get_argument("state", "")
        cookie_state = self.get_state_cookie()
        if not url_state:
            raise self._refuse("The sign-in response has no state parameter, so it cannot be matched to a sign-in you started.")
        if not cookie_state:
            raise self._refuse(
                "This browser has no sign-in in progress: the response was already used, was started in another "
                "browser, or cookies are blocked."
            )
        ours, theirs = decode_state(cookie_state), decode_state(url_state)
        if not ours.get("state_id") or ours.get("state_id") != theirs.get("state_id"):
            self.log.warning("OAuth state mismatch (tampered or from another sign-in)")
            raise self._refuse(
                "The sign-in response does not belong to the sign-in this browser started "
                "(its state parameter was changed or comes from another attempt)."
            )
        if not self.authenticator.saturn_consume_state(ours):
            raise self._refuse("This sign-in response was already used or is too old.")
        expected = self.authenticator.saturn_expected_iss()
        iss = self.get_argument("iss", "")
        if iss and expected and iss.rstrip("/") != expected.rstrip("/"):
            raise self._refuse(f"The sign-in response comes from {iss!r}, not from this hub's provider {expected!r}.")
        self.saturn_state = ours

    async def get(self):
        await self.authenticator.saturn_prepare()
        await super().get()


class SaturnOAuthenticator(SaturnAccessMixin, SaturnUsernameMixin, SaturnBindingMixin, OAuthenticator):
    """Shared layer of the saturn-* OAuth authenticators: claims -> groups, clear refusals, refresh re-checks,
    usernames bound to the provider's stable account id (see :mod:`.identity`)."""

    login_handler = SaturnOAuthLoginHandler
    callback_handler = SaturnOAuthCallbackHandler
    logout_handler = SaturnLogoutHandler
    saturn_sends_nonce = False

    claim_groups = Union(
        [Dict(), List()], default_value=None, allow_none=True, config=True,
        help="""Claims -> hub groups: one rule or a list of rules, e.g. {"claim": "groups", "map": {"cs101-staff":
        ["instructors", "cs101"]}, "patterns": [{"match": "^(?P<c>cs[0-9]+)-students$", "groups": ["students", "{c}"]}],
        "keep_unmapped": false}. Re-applied at every login and refresh (manage_groups). Unset: upstream auth_state_groups_key.""",
    )
    required_claims = List(
        Unicode(), config=True,
        help="""Claims (dotted paths) every login must carry, e.g. ["email"]; a login without one gets a 403 naming it.""",
    )
    state_max_age = Int(
        600, config=True, help="Seconds a started sign-in stays valid; older or reused responses are refused with a 400.",
    )

    @default("manage_groups")
    def _manage_groups_default(self):
        # upstream's default (False), unless claim_groups asks for groups from claims: then the hub's groups
        # follow the claims at every login. Never on without a source of groups (GitHub and Google have none
        # upstream), which would empty every user's groups at each login and make load_groups stop the hub.
        return self.claim_groups is not None

    @default("enable_auth_state")
    def _enable_auth_state_default(self):
        # refresh (and so group re-sync without a new login) needs the stored tokens: on whenever
        # encryption keys are configured (JUPYTERHUB_CRYPT_KEY or c.CryptKeeper.keys, which z2jh sets)
        from jupyterhub.crypto import CryptKeeper

        try:
            CryptKeeper.instance().check_available()
        except Exception:  # noqa: BLE001 - no keys or no cryptography: auth state unavailable
            return False
        return True

    @default("custom_403_message")
    def _custom_403_default(self):
        return "You signed in, but this hub does not let your account in. Ask the hub administrator for access."

    _used_states: dict | None = None
    _saturn_rules_cache = None

    # ------------------------------------------------------------ start-up

    @property
    def saturn_rules(self):
        if self._saturn_rules_cache is None:
            self._saturn_rules_cache = parse_rules(self.claim_groups, f"{type(self).__name__}.claim_groups")
        return self._saturn_rules_cache

    def saturn_validate(self) -> None:
        """Check this authenticator's config; raises ConfigError naming the key path."""
        name = type(self).__name__
        self.saturn_rules  # noqa: B018 - parses
        if self.claim_groups is not None and not self.manage_groups:
            raise ConfigError(f"{name}.manage_groups", "claim_groups needs manage_groups = True")
        if not self.enable_auth_state:
            self.log.warning("%s: auth state is off (no JUPYTERHUB_CRYPT_KEY / CryptKeeper.keys), so groups are "
                             "re-synced only at login", name)

    def get_handlers(self, app):
        try:
            self.saturn_validate()
        except ConfigError as e:
            self.log.critical("jupyterhub-saturn configuration error: %s", e.text)
            print(f"jupyterhub-saturn configuration error: {e.text}", file=sys.stderr, flush=True)
            raise SystemExit(1) from None
        return super().get_handlers(app)

    async def saturn_prepare(self) -> None:
        """Called before each sign-in step (OIDC: makes sure discovery is done)."""

    def saturn_expected_iss(self) -> str | None:
        """The ``iss`` a callback may carry (RFC 9207), or None to not check."""
        return None

    def saturn_consume_state(self, state: dict) -> bool:
        """Accept a state once and only while fresh; False for a replay or an expired sign-in."""
        now = time.time()
        if self._used_states is None:
            self._used_states = {}
        for sid in [s for s, t in self._used_states.items() if t < now]:
            del self._used_states[sid]
        sid, iat = state.get("state_id"), state.get("iat")
        if sid in self._used_states:
            self.log.warning("Refusing a replayed OAuth state")
            return False
        if not isinstance(iat, (int, float)) or now - iat > self.state_max_age:
            return False
        self._used_states[sid] = iat + self.state_max_age + 1
        return True

    # ------------------------------------------------------------ claims and groups

    def saturn_claims(self, auth_state: dict) -> dict:
        """The claims rules and required_claims read (default: the provider's user info)."""
        return dict((auth_state or {}).get(self.user_auth_state_key) or {})

    def user_info_to_username(self, user_info):
        try:
            username = super().user_info_to_username(user_info)
        except (ValueError, KeyError):
            claim = self.username_claim if isinstance(self.username_claim, str) else "username"
            raise auth_error(403, missing_claim_message([claim], self.login_service)) from None
        problem = username_problem(username)
        if problem:
            self.log.warning("Refusing sign-in as %r: %s", username, problem)
            raise auth_error(403, f"Your {self.login_service} username cannot be used on this hub: {problem}. "
                                  "Ask the administrator to change your username at the provider.")
        if is_throwaway(str(username)):
            self.log.warning("Refusing sign-in as %r: the name is in the throwaway namespace", username)
            raise auth_error(403, f"The name {username!r} is reserved for anonymous servers on this hub, so it "
                                  "cannot be used to sign in. Ask the administrator to change your username at the provider.")
        return username

    async def saturn_collect(self, auth_model: dict) -> None:
        """Fetch extra claims into ``auth_model["auth_state"]`` after upstream's update (GitHub orgs, Google groups)."""

    async def update_auth_model(self, auth_model):
        auth_model = await super().update_auth_model(auth_model)
        await self.saturn_collect(auth_model)
        missing = missing_claims(self.saturn_claims(auth_model.get("auth_state")), self.required_claims)
        if missing:
            raise auth_error(403, missing_claim_message(missing, self.login_service))
        self.saturn_check_binding(auth_model)
        return auth_model

    async def get_user_groups(self, auth_state):
        if not self.saturn_rules:
            return await super().get_user_groups(auth_state)
        try:
            return groups_from_claims(self.saturn_claims(auth_state), self.saturn_rules)
        except MissingClaim as e:
            raise auth_error(403, missing_claim_message([e.claim], self.login_service)) from None

    async def check_allowed(self, username, auth_model):
        if await super().check_allowed(username, auth_model):
            self.saturn_claim_binding(username, auth_model)
            return True
        if auth_model is not None and self.manage_groups and self.allowed_groups:
            # upstream's contract: False (subclasses call super()); the sign-in shows this message instead
            # of the generic 403 (SaturnAccessMixin.get_authenticated_user)
            self.log.warning("User %s is in none of the allowed groups", username)
            note_refusal(username, not_allowed_message(username, auth_model.get("groups") or [], self.allowed_groups))
        return False

    # ------------------------------------------------------------ provider errors and refresh

    def _provider_error(self, e: Exception, handler=None) -> web.HTTPError:
        host = urlparse(self.token_url or self.authorize_url).netloc or "the sign-in provider"
        who = f"{self.login_service} ({host})"
        if _is_outage(e):
            self.log.error("Sign-in provider unavailable: %r", e)
            return auth_error(503, f"{who} could not be reached or failed ({e}). Please try again in a few minutes; "
                                   "if this keeps happening, tell the hub administrator.", retry_after=30)
        error, detail = f"HTTP {e.code}", ""
        try:
            body = json.loads(e.response.body)
            error, detail = body.get("error", error), body.get("error_description", "")
        except (AttributeError, TypeError, ValueError):
            pass
        login = url_path_join(handler.hub.base_url, "login") if getattr(handler, "hub", None) else None
        return auth_error(400, f"{who} refused to complete the sign-in: {error}" + (f" ({detail})" if detail else "")
                          + ". This happens when a sign-in link is used twice or takes too long; start again.", login_url=login)

    async def authenticate(self, handler, data=None, **kwargs):
        try:
            return await super().authenticate(handler, data, **kwargs)
        except (HTTPClientError, *_OUTAGE) as e:
            raise self._provider_error(e, handler) from None

    async def refresh_user(self, user, handler=None, **kwargs):
        """Upstream refresh (re-syncs groups), then re-check access; a provider outage keeps the current auth."""
        try:
            with refresh_scope():
                model = await super().refresh_user(user, handler, **kwargs)
        except web.HTTPError as e:
            if 400 <= e.status_code < 500:
                self.log.warning("Refresh of %s refused (%s); a new sign-in is required", user.name, e.log_message % e.args)
                await self.saturn_end_access(user, "refresh refused")
                return False
            raise
        except (HTTPClientError, *_OUTAGE) as e:
            if _is_outage(e):
                self.log.warning("Cannot refresh %s, sign-in provider unavailable (%r); keeping current auth", user.name, e)
                return True
            raise
        if isinstance(model, dict) and not self.allow_all:
            allowed = await self.check_allowed(user.name, model)
            if not allowed:
                self.log.warning("User %s is no longer allowed (groups %s); a new sign-in is required", user.name, model.get("groups"))
                await self.saturn_end_access(user, "no longer in an allowed group")
                return False
        return model


class SaturnOIDCAuthenticator(SaturnAuthenticatorMixin, SaturnOAuthenticator, GenericOAuthenticator):
    """OpenID Connect from the issuer URL alone: discovery, PKCE, nonce, ID-token validation, claims -> groups."""

    saturn_sends_nonce = True

    issuer = Unicode(
        "", config=True,
        help="""The provider's issuer URL, e.g. https://sso.example.edu/realms/campus. Endpoints, scopes and keys come
        from its /.well-known/openid-configuration (authorize_url/token_url/userdata_url set by hand win).""",
    )
    discovery_timeout = Float(10, config=True, help="Seconds to wait for the discovery document at start-up.")
    validate_id_token = Bool(True, config=True, help="Validate the ID token (signature via JWKS, iss, aud, exp, iat, nonce).")
    id_token_algorithms = List(
        Unicode(), list(discovery.ASYMMETRIC_ALGS), config=True,
        help="Accepted ID-token signing algorithms (HS256 etc. only if listed; 'none' never).",
    )
    id_token_leeway = Float(60, config=True, help="Seconds of clock skew tolerated when checking exp/iat.")

    @default("login_service")
    def _login_service_default(self):
        return os.environ.get("LOGIN_SERVICE", "OpenID Connect")

    _metadata = None
    _jwks = None
    _jwks_fetched = 0.0
    _scope_explicit = None
    _discovery_lock = None

    # ------------------------------------------------------------ discovery

    def saturn_validate(self) -> None:
        super().saturn_validate()
        name = type(self).__name__
        self._scope_explicit = self.trait_has_value("scope") and bool(self.scope)
        if not self.trait_has_value("username_claim"):
            # upstream's default ("username") keeps existing accounts' names; OIDC providers usually send
            # preferred_username, so a new hub is told how to choose (docs/compat.md)
            self.log.warning("%s.username_claim is not set: usernames come from the claim %r, as with "
                             "GenericOAuthenticator. OpenID Connect providers usually send 'preferred_username' "
                             "(or 'email'); set it explicitly", name, self.username_claim)
        if not self.issuer:
            if not (self.authorize_url and self.token_url and (self.userdata_url or self.userdata_from_id_token)):
                raise ConfigError(f"{name}.issuer", "set the provider's issuer URL (or authorize_url, token_url and userdata_url)")
            self.log.warning("%s: no issuer configured, so ID tokens are not validated", name)
            return
        problem = discovery.check_issuer_url(self.issuer)
        if problem:
            raise ConfigError(f"{name}.issuer", problem)
        verify = self.validate_server_cert
        try:
            md = discovery.fetch_metadata_sync(self.issuer, timeout=self.discovery_timeout, verify=verify,
                                               ca_certs=self.http_request_kwargs.get("ca_certs"))
        except discovery.ProviderUnavailable as e:
            self.log.warning("%s: OpenID discovery not available yet (%s); will retry at the first sign-in", name, e)
            return
        except discovery.DiscoveryError as e:
            raise ConfigError(f"{name}.issuer", str(e)) from None
        self._apply_metadata(md)

    def _apply_metadata(self, md: discovery.ProviderMetadata) -> None:
        self.authorize_url = self.authorize_url or md.authorization_endpoint
        self.token_url = self.token_url or md.token_endpoint
        if not self.userdata_url and not self.userdata_from_id_token:
            if md.userinfo_endpoint:
                self.userdata_url = md.userinfo_endpoint
            else:
                self.userdata_from_id_token = True
        if not self._scope_explicit:
            wanted = ["openid", "profile", "email"] + sorted(claims_referenced(self.saturn_rules))
            supported = set(md.scopes_supported)
            self.scope = [s for i, s in enumerate(wanted) if s not in wanted[:i] and (s == "openid" or not supported or s in supported)]
        for warning in discovery.metadata_warnings(md, self.scope, self.enable_pkce):
            self.log.warning("%s: %s", type(self).__name__, warning)
        self._metadata = md
        self.log.info("%s: provider %s (scopes %s)", type(self).__name__, md.issuer, " ".join(self.scope))

    async def saturn_prepare(self) -> None:
        if not self.issuer or self._metadata is not None:
            return
        if self._discovery_lock is None:
            self._discovery_lock = asyncio.Lock()
        async with self._discovery_lock:
            if self._metadata is not None:
                return
            url = discovery.discovery_url(self.issuer)
            try:
                doc = await self.httpfetch(url, "fetching OpenID discovery", method="GET", validate_cert=self.validate_server_cert)
                md = discovery.parse_metadata(doc, self.issuer)
            except (HTTPClientError, *_OUTAGE) as e:
                if _is_outage(e):
                    raise auth_error(503, f"{self.login_service} ({urlparse(self.issuer).netloc}) cannot be reached right now "
                                          f"({e}). Please try again in a few minutes.", retry_after=30) from None
                raise self._misconfigured(f"{url} answered {e}") from None
            except (ValueError, discovery.DiscoveryError) as e:
                raise self._misconfigured(str(e)) from None
            self._apply_metadata(md)

    def _misconfigured(self, problem: str) -> web.HTTPError:
        """A 503 page (sign-in unavailable, try later) for users; the setting to fix, in the log for the admin."""
        setting = f"{type(self).__name__}.issuer"
        self.log.error("jupyterhub-saturn configuration error: %s: %s (sign-in is unavailable until it is fixed)",
                       setting, problem)
        return auth_error(503, "Signing in is unavailable right now: the hub's connection to "
                               f"{self.login_service} is misconfigured. The administrator has been told (the hub's "
                               "log names the setting); please try again later.", retry_after=300)

    def saturn_expected_iss(self):
        return self._metadata.issuer if self._metadata else None

    # ------------------------------------------------------------ ID token

    async def _fetch_jwks(self) -> None:
        if not (self._metadata and self._metadata.jwks_uri):
            return
        self._jwks = await self.httpfetch(self._metadata.jwks_uri, "fetching JWKS", method="GET", validate_cert=self.validate_server_cert)
        self._jwks_fetched = time.monotonic()

    async def saturn_validate_id_token(self, id_token: str, nonce: str | None) -> dict:
        """Validated ID-token claims; refetches the JWKS once for an unknown key (rotation)."""
        algorithms = discovery.id_token_algorithms(self._metadata, self.id_token_algorithms)
        for attempt in (0, 1):
            if self._jwks is None or attempt:
                await self._fetch_jwks()
            try:
                return discovery.validate_id_token(
                    id_token, issuer=self._metadata.issuer, client_id=self.client_id, jwks=self._jwks,
                    algorithms=algorithms, nonce=nonce, client_secret=self.client_secret, leeway=self.id_token_leeway)
            except discovery.UnknownSigningKey:
                if attempt or time.monotonic() - self._jwks_fetched < 10:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def get_token_info(self, handler, params):
        token_info = await super().get_token_info(handler, params)
        if not (self.validate_id_token and self._metadata):
            return token_info
        id_token = token_info.get("id_token")
        code_grant = params.get("grant_type") == "authorization_code"
        if not id_token:
            if code_grant:
                raise auth_error(400, f"{self.login_service} returned no ID token; is 'openid' among the requested scopes?")
            return token_info
        nonce = None
        if code_grant and self.saturn_sends_nonce:
            nonce = (getattr(handler, "saturn_state", None) or {}).get("nonce") or ""
        try:
            token_info["id_token_claims"] = await self.saturn_validate_id_token(id_token, nonce)
            fresh_id_token()
        except discovery.IdTokenError as e:
            self.log.warning("Rejected ID token: %s", e)
            raise auth_error(400, f"The sign-in was refused: {e}. Start again from the hub's login page.") from None
        return token_info

    async def token_to_user(self, token_info):
        claims = token_info.get("id_token_claims")
        if self.userdata_from_id_token and claims:
            return dict(claims)
        user_info = await super().token_to_user(token_info)
        if claims and isinstance(user_info, dict) and user_info.get("sub") not in (None, claims.get("sub")):
            raise auth_error(400, "The provider's user info is about a different account than the ID token (sub differs).")
        return user_info

    def saturn_claims(self, auth_state: dict) -> dict:
        """ID-token claims overlaid with the userinfo answer (some providers put groups in only one); during a
        refresh without a new ID token, the userinfo answer alone (the saved ID token's claims may be stale)."""
        auth_state = auth_state or {}
        id_claims = (auth_state.get("token_response") or {}).get("id_token_claims") or {}
        if stale_id_token_claims() and auth_state.get(self.user_auth_state_key) and not self.userdata_from_id_token:
            id_claims = {}
        return {**id_claims, **(auth_state.get(self.user_auth_state_key) or {})}
