"""OpenID Connect discovery and ID-token validation, without JupyterHub.

:func:`parse_metadata` checks a provider's ``/.well-known/openid-configuration`` document
against the configured issuer (they must match, per OpenID Connect Discovery 1.0 §4.3);
:func:`validate_id_token` checks an ID token's signature against the provider's JWKS and its
``iss``, ``aud``/``azp``, ``exp``, ``iat`` and ``nonce`` (OpenID Connect Core §3.1.3.7).
"""

from __future__ import annotations

import ipaddress
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

import jwt

WELL_KNOWN = "/.well-known/openid-configuration"
ASYMMETRIC_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class DiscoveryError(Exception):
    """The discovery document is wrong for this issuer (a configuration problem, not an outage)."""


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered with a server error (try again later)."""


class IdTokenError(Exception):
    """The ID token failed validation; the message says which check."""


class UnknownSigningKey(IdTokenError):
    """The token's key is not among the provider's keys (fetching the JWKS again may help)."""


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of a discovery document jupyterhub-saturn uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str = ""
    jwks_uri: str = ""
    end_session_endpoint: str = ""
    scopes_supported: tuple[str, ...] = ()
    claims_supported: tuple[str, ...] = ()
    id_token_signing_alg_values_supported: tuple[str, ...] = ()
    code_challenge_methods_supported: tuple[str, ...] = ()


def is_loopback(url: str) -> bool:
    """True if ``url``'s host is a loopback name or address."""
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_issuer_url(issuer: str) -> str | None:
    """A reason ``issuer`` is unusable, or None. Plain http is accepted only on loopback."""
    parsed = urlparse(issuer)
    if parsed.scheme not in ("https", "http") or not parsed.netloc:
        return f"{issuer!r} is not an absolute https:// URL"
    if parsed.query or parsed.fragment:
        return f"{issuer!r} must not have a query or fragment"
    if parsed.scheme == "http" and not is_loopback(issuer):
        return f"{issuer!r} uses plain http; issuers must use https (http is allowed only on loopback)"
    return None


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + WELL_KNOWN


def _same_issuer(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def _strings(doc: Mapping, key: str) -> tuple[str, ...]:
    value = doc.get(key) or []
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def parse_metadata(doc, issuer: str) -> ProviderMetadata:
    """Validate a discovery document for ``issuer``; raises DiscoveryError saying what is wrong."""
    if not isinstance(doc, Mapping):
        raise DiscoveryError(f"{discovery_url(issuer)} did not return a JSON object")
    found = doc.get("issuer")
    if not isinstance(found, str) or not _same_issuer(found, issuer):
        raise DiscoveryError(
            f"the provider at {discovery_url(issuer)} says its issuer is {found!r}, not {issuer!r}; "
            "set the issuer to exactly the provider's issuer URL"
        )
    urls = {}
    for key in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "end_session_endpoint"):
        value = doc.get(key) or ""
        if value and (not isinstance(value, str) or urlparse(value).scheme not in ("http", "https")):
            raise DiscoveryError(f"the discovery document's {key} is not a URL: {value!r}")
        urls[key] = value
    for key in ("authorization_endpoint", "token_endpoint"):
        if not urls[key]:
            raise DiscoveryError(f"the discovery document has no {key}")
    return ProviderMetadata(
        issuer=found,
        scopes_supported=_strings(doc, "scopes_supported"),
        claims_supported=_strings(doc, "claims_supported"),
        id_token_signing_alg_values_supported=_strings(doc, "id_token_signing_alg_values_supported"),
        code_challenge_methods_supported=_strings(doc, "code_challenge_methods_supported"),
        **urls,
    )


def metadata_warnings(md: ProviderMetadata, scopes: Iterable[str], enable_pkce: bool) -> list[str]:
    """Things worth a warning at start-up (not errors: providers under-report)."""
    out = []
    if md.scopes_supported:
        unknown = [s for s in scopes if s not in md.scopes_supported]
        if unknown:
            out.append(f"requested scopes {unknown} are not in the provider's scopes_supported {list(md.scopes_supported)}")
    if enable_pkce and md.code_challenge_methods_supported and "S256" not in md.code_challenge_methods_supported:
        out.append("the provider does not list S256 in code_challenge_methods_supported; PKCE may be ignored")
    if not md.userinfo_endpoint:
        out.append("the provider has no userinfo_endpoint; set userdata_from_id_token = True")
    return out


def fetch_metadata_sync(issuer: str, *, timeout: float = 10, verify: bool = True, ca_certs: str | None = None) -> ProviderMetadata:
    """Fetch and validate discovery now (blocking: for start-up only).

    Raises ProviderUnavailable when the provider cannot be reached or answers 5xx,
    DiscoveryError when it answers but the document is wrong or missing.
    """
    url = discovery_url(issuer)
    context = None
    if url.startswith("https:"):
        context = ssl.create_default_context(cafile=ca_certs)
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "JupyterHub"})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as resp:  # noqa: S310 - configured issuer
            body = resp.read()
    except urllib.error.HTTPError as e:
        if e.code >= 500:
            raise ProviderUnavailable(f"{url} answered HTTP {e.code}") from None
        raise DiscoveryError(f"{url} answered HTTP {e.code}; is the issuer URL right?") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise ProviderUnavailable(f"could not reach {url}: {reason}") from None
    try:
        doc = json.loads(body)
    except ValueError:
        raise DiscoveryError(f"{url} did not return JSON") from None
    return parse_metadata(doc, issuer)


def id_token_algorithms(md: ProviderMetadata | None, configured: Iterable[str]) -> list[str]:
    """Algorithms to accept: the configured ones the provider supports (never ``none``)."""
    configured = [a for a in configured if a and a.lower() != "none"]
    if md and md.id_token_signing_alg_values_supported:
        supported = set(md.id_token_signing_alg_values_supported)
        return [a for a in configured if a in supported] or configured
    return configured


def validate_id_token(
    token: str,
    *,
    issuer: str,
    client_id: str,
    jwks: Mapping | None,
    algorithms: Iterable[str] = ASYMMETRIC_ALGS,
    nonce: str | None = None,
    client_secret: str = "",
    leeway: float = 60,
) -> dict:
    """The validated claims of ``token``; raises IdTokenError naming the failed check.

    ``nonce`` (when not None) must equal the token's ``nonce`` claim. HS* algorithms are checked
    with ``client_secret`` and are accepted only if listed in ``algorithms``.
    """
    algorithms = list(algorithms)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as e:
        raise IdTokenError(f"the ID token is not a valid JWT ({e})") from None
    alg = header.get("alg")
    if not alg or alg.lower() == "none" or alg not in algorithms:
        raise IdTokenError(f"the ID token is signed with {alg!r}, which is not accepted (accepted: {', '.join(algorithms)})")
    if alg.startswith("HS"):
        key = client_secret
        if not key:
            raise IdTokenError("the ID token is signed with a shared secret but no client_secret is configured")
    else:
        key = _jwk_for(header, jwks)
    try:
        claims = jwt.decode(
            token, key=key, algorithms=[alg], audience=client_id, issuer=issuer, leeway=leeway,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )
    except jwt.InvalidIssuerError:
        raise IdTokenError(f"the ID token was issued by someone else (iss is not {issuer!r})") from None
    except jwt.InvalidAudienceError:
        raise IdTokenError(f"the ID token is not meant for this hub (aud does not include {client_id!r})") from None
    except jwt.ExpiredSignatureError:
        raise IdTokenError("the ID token has expired (exp is in the past); check the hub's clock") from None
    except jwt.ImmatureSignatureError:
        raise IdTokenError("the ID token is not valid yet (iat/nbf in the future); check the hub's clock") from None
    except jwt.MissingRequiredClaimError as e:
        raise IdTokenError(f"the ID token has no {e.claim!r} claim") from None
    except jwt.InvalidSignatureError:
        raise IdTokenError("the ID token's signature does not verify against the provider's keys") from None
    except jwt.PyJWTError as e:
        raise IdTokenError(f"the ID token is invalid ({e})") from None
    aud = claims["aud"]
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != client_id:
        raise IdTokenError(f"the ID token has several audiences and its azp is not {client_id!r}")
    if nonce is not None and claims.get("nonce") != nonce:
        raise IdTokenError("the ID token's nonce does not match this sign-in (a replayed or injected token)")
    return claims


def _jwk_for(header: Mapping, jwks: Mapping | None):
    if not jwks or not isinstance(jwks.get("keys"), list):
        raise UnknownSigningKey("the provider's signing keys (jwks_uri) are not available")
    kid = header.get("kid")
    candidates = [k for k in jwks["keys"] if isinstance(k, Mapping) and k.get("use", "sig") == "sig"]
    if kid is not None:
        candidates = [k for k in candidates if k.get("kid") == kid]
    candidates = [k for k in candidates if k.get("alg") in (None, header.get("alg"))]
    if len(candidates) != 1:
        raise UnknownSigningKey(f"no unique signing key {kid!r} among the provider's keys" if kid else "the ID token names no key id and the provider has several keys")
    try:
        return jwt.PyJWK(dict(candidates[0]), algorithm=header.get("alg")).key
    except jwt.PyJWTError as e:
        raise IdTokenError(f"the provider's signing key {kid!r} is unusable ({e})") from None
