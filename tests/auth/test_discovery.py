"""Discovery document checks and ID-token validation with real keys (no provider needed)."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from jupyterhub_saturn.auth import discovery as d

ISSUER = "https://sso.example.edu/realms/campus"
CLIENT = "hub"


def doc(**over):
    base = {
        "issuer": ISSUER,
        "authorization_endpoint": ISSUER + "/auth",
        "token_endpoint": ISSUER + "/token",
        "userinfo_endpoint": ISSUER + "/me",
        "jwks_uri": ISSUER + "/jwks",
        "scopes_supported": ["openid", "profile", "email", "groups"],
        "code_challenge_methods_supported": ["S256"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    }
    base.update(over)
    return base


def test_parse_metadata_reads_endpoints():
    md = d.parse_metadata(doc(), ISSUER)
    assert md.token_endpoint == ISSUER + "/token" and md.scopes_supported[-1] == "groups"
    assert d.parse_metadata(doc(issuer=ISSUER + "/"), ISSUER).issuer == ISSUER + "/"


@pytest.mark.parametrize("document, words", [
    (doc(issuer="https://evil.example.com"), "says its issuer is 'https://evil.example.com'"),
    (doc(issuer=None), "says its issuer is None"),
    (doc(token_endpoint=None), "no token_endpoint"),
    (doc(authorization_endpoint="javascript:alert(1)"), "authorization_endpoint is not a URL"),
    ([1, 2], "did not return a JSON object"),
])
def test_parse_metadata_refuses_wrong_documents(document, words):
    with pytest.raises(d.DiscoveryError) as e:
        d.parse_metadata(document, ISSUER)
    assert words in str(e.value)


@pytest.mark.parametrize("issuer, ok", [
    ("https://sso.example.edu", True), ("http://127.0.0.1:8080", True), ("http://localhost:9000/x", True),
    ("http://[::1]:80", True), ("http://sso.example.edu", False), ("sso.example.edu", False),
    ("https://sso.example.edu?x=1", False), ("ftp://sso.example.edu", False),
])
def test_issuer_url_rules(issuer, ok):
    assert (d.check_issuer_url(issuer) is None) is ok


def test_warnings_for_unsupported_scopes_and_pkce():
    md = d.parse_metadata(doc(code_challenge_methods_supported=["plain"], userinfo_endpoint=None), ISSUER)
    warnings = " | ".join(d.metadata_warnings(md, ["openid", "roles"], enable_pkce=True))
    assert "['roles']" in warnings and "S256" in warnings and "userinfo_endpoint" in warnings


def test_fetch_unreachable_is_an_outage_not_a_config_error():
    with pytest.raises(d.ProviderUnavailable):
        d.fetch_metadata_sync("http://127.0.0.1:9", timeout=5)


def test_algorithms_never_none_and_follow_the_provider():
    md = d.parse_metadata(doc(), ISSUER)
    assert d.id_token_algorithms(md, ["RS256", "none", "PS256"]) == ["RS256"]
    assert d.id_token_algorithms(None, ["none", "ES256"]) == ["ES256"]


# ------------------------------------------------------------------ ID tokens


@pytest.fixture(scope="module")
def keys():
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = {"keys": [
        {**json.loads(RSAAlgorithm.to_jwk(rsa_key.public_key())), "kid": "r1", "use": "sig", "alg": "RS256"},
        {**json.loads(ECAlgorithm.to_jwk(ec_key.public_key())), "kid": "e1", "use": "sig", "alg": "ES256"},
    ]}
    return {"rsa": rsa_key, "ec": ec_key, "other": other, "jwks": jwks}


def token(keys, *, key="rsa", kid="r1", alg="RS256", **claims):
    now = int(time.time())
    payload = {"iss": ISSUER, "sub": "ann", "aud": CLIENT, "iat": now, "exp": now + 300, "nonce": "n1"}
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    headers = {"kid": kid} if kid else {}
    return jwt.encode(payload, keys[key] if key in keys else key, algorithm=alg, headers=headers)


def validate(keys, tok, **kw):
    args = dict(issuer=ISSUER, client_id=CLIENT, jwks=keys["jwks"], nonce="n1")
    args.update(kw)
    return d.validate_id_token(tok, **args)


def test_valid_tokens_rsa_and_ec(keys):
    assert validate(keys, token(keys))["sub"] == "ann"
    assert validate(keys, token(keys, key="ec", kid="e1", alg="ES256"))["sub"] == "ann"
    # multiple audiences need azp = us
    assert validate(keys, token(keys, aud=[CLIENT, "other"], azp=CLIENT))["azp"] == CLIENT


@pytest.mark.parametrize("build, words", [
    (lambda k: token(k, iss="https://evil.example.com"), "issued by someone else"),
    (lambda k: token(k, aud="other-client"), "not meant for this hub"),
    (lambda k: token(k, aud=[CLIENT, "other"], azp="other"), "azp is not"),
    (lambda k: token(k, exp=int(time.time()) - 3600), "has expired"),
    (lambda k: token(k, iat=int(time.time()) + 3600), "not valid yet"),
    (lambda k: token(k, nonce="other"), "nonce does not match"),
    (lambda k: token(k, nonce=None), "nonce does not match"),
    (lambda k: token(k, exp=None), "no 'exp' claim"),
    (lambda k: token(k, key="other"), "signature does not verify"),
    (lambda k: token(k, kid="unknown"), "no unique signing key"),
    (lambda k: token(k, kid="e1"), "no unique signing key"),
    (lambda k: jwt.encode({"iss": ISSUER, "sub": "a", "aud": CLIENT}, None, algorithm="none"), "'none'"),
    (lambda k: token(k, key="client-secret-that-is-long-enough-32b", alg="HS256"), "'HS256', which is not accepted"),
    (lambda k: "not-a-jwt", "not a valid JWT"),
])
def test_invalid_tokens_say_which_check_failed(keys, build, words):
    with pytest.raises(d.IdTokenError) as e:
        validate(keys, build(keys))
    assert words in str(e.value)


def test_unknown_key_is_marked_for_a_jwks_refresh(keys):
    with pytest.raises(d.UnknownSigningKey):
        validate(keys, token(keys, kid="rotated"))
    with pytest.raises(d.UnknownSigningKey):
        validate(keys, token(keys), jwks=None)


def test_hs256_only_when_configured_and_with_the_client_secret(keys):
    secret = "client-secret-that-is-long-enough-32b"
    tok = token(keys, key=secret, alg="HS256", kid=None)
    assert validate(keys, tok, algorithms=["RS256", "HS256"], client_secret=secret)["sub"] == "ann"
    with pytest.raises(d.IdTokenError, match="no client_secret"):
        validate(keys, tok, algorithms=["HS256"])


def test_nonce_not_checked_when_none_given(keys):
    assert validate(keys, token(keys, nonce=None), nonce=None)["sub"] == "ann"
