"""The shared saturn OAuth layer and saturn-oidc without a network: usernames, claims, state, scopes."""

from __future__ import annotations

import time

import pytest
from oauthenticator.generic import GenericOAuthenticator
from tornado import web

from jupyterhub_saturn.auth.discovery import parse_metadata
from jupyterhub_saturn.auth.oidc import SaturnOIDCAuthenticator, decode_state, encode_state
from jupyterhub_saturn.errors import ConfigError

ISSUER = "https://sso.example.edu"
DOC = {"issuer": ISSUER, "authorization_endpoint": ISSUER + "/auth", "token_endpoint": ISSUER + "/token",
       "userinfo_endpoint": ISSUER + "/me", "jwks_uri": ISSUER + "/jwks",
       "scopes_supported": ["openid", "profile", "email", "groups", "offline_access"]}
RULE = {"claim": "groups", "map": {"cs101-staff": "instructors"}}


def test_state_round_trip_and_garbage():
    assert decode_state(encode_state({"state_id": "a", "iat": 1})) == {"state_id": "a", "iat": 1}
    for junk in ("", "!!!", "bm90IGpzb24=", encode_state([1, 2]), None):
        assert decode_state(junk) == {}


def test_state_is_accepted_once_and_only_while_fresh():
    a = SaturnOIDCAuthenticator(state_max_age=60)
    now = int(time.time())
    assert a.saturn_consume_state({"state_id": "s1", "iat": now}) is True
    assert a.saturn_consume_state({"state_id": "s1", "iat": now}) is False
    assert a.saturn_consume_state({"state_id": "s2", "iat": now - 61}) is False
    assert a.saturn_consume_state({"state_id": "s3"}) is False


def test_username_claim_missing_or_throwaway_gives_403_pages():
    # upstream's default claim, so a hub switching from GenericOAuthenticator keeps its users' names
    assert SaturnOIDCAuthenticator().username_claim == GenericOAuthenticator().username_claim == "username"
    a = SaturnOIDCAuthenticator(login_service="Campus SSO", username_claim="preferred_username")
    assert a.user_info_to_username({"preferred_username": "ann"}) == "ann"
    with pytest.raises(web.HTTPError) as e:
        a.user_info_to_username({"sub": "x"})
    assert e.value.status_code == 403 and "did not send the claim 'preferred_username'" in e.value.jupyterhub_message
    with pytest.raises(web.HTTPError) as e:
        a.user_info_to_username({"preferred_username": "ANON~abc"})
    assert e.value.status_code == 403 and "reserved" in e.value.jupyterhub_message
    b = SaturnOIDCAuthenticator(username_claim="email")
    assert b.user_info_to_username({"email": "a@b.c"}) == "a@b.c"


async def test_groups_from_id_token_and_userinfo_claims():
    a = SaturnOIDCAuthenticator(claim_groups=[RULE, {"claim": "roles", "map": {"teacher": "teachers"}}])
    auth_state = {"token_response": {"id_token_claims": {"sub": "a", "roles": ["teacher"], "groups": ["x"]}},
                  "oauth_user": {"sub": "a", "groups": ["cs101-staff"]}}
    # userinfo wins for a claim in both; ID-token-only claims still count
    assert await a.get_user_groups(auth_state) == {"instructors", "teachers"}


async def test_required_group_claim_missing_is_a_403_naming_it():
    a = SaturnOIDCAuthenticator(claim_groups={**RULE, "required": True})
    with pytest.raises(web.HTTPError) as e:
        await a.get_user_groups({"oauth_user": {"sub": "a"}})
    assert e.value.status_code == 403 and "'groups'" in e.value.jupyterhub_message


async def test_required_claims_checked_in_update_auth_model():
    a = SaturnOIDCAuthenticator(required_claims=["email"])
    model = {"name": "a", "admin": None, "auth_state": {"oauth_user": {"sub": "a", "email": "a@b.c"}}}
    assert await a.update_auth_model(model) is model
    model["auth_state"]["oauth_user"]["email"] = ""
    with pytest.raises(web.HTTPError) as e:
        await a.update_auth_model(model)
    assert "'email'" in e.value.jupyterhub_message


def test_discovered_endpoints_and_scopes():
    a = SaturnOIDCAuthenticator(issuer=ISSUER, claim_groups=RULE)
    a._scope_explicit = False
    a._apply_metadata(parse_metadata(DOC, ISSUER))
    assert (a.authorize_url, a.token_url, a.userdata_url) == (ISSUER + "/auth", ISSUER + "/token", ISSUER + "/me")
    assert a.scope == ["openid", "profile", "email", "groups"]
    # a provider that doesn't offer a "groups" scope isn't asked for it; hand-set endpoints win
    b = SaturnOIDCAuthenticator(issuer=ISSUER, claim_groups=RULE, token_url="https://other/token")
    b._scope_explicit = False
    b._apply_metadata(parse_metadata({**DOC, "scopes_supported": ["openid", "email"]}, ISSUER))
    assert b.scope == ["openid", "email"] and b.token_url == "https://other/token"
    # explicit scopes are kept
    c = SaturnOIDCAuthenticator(issuer=ISSUER, scope=["openid", "roles"])
    c._scope_explicit = True
    c._apply_metadata(parse_metadata(DOC, ISSUER))
    assert c.scope == ["openid", "roles"]


def test_no_userinfo_endpoint_means_claims_from_the_id_token():
    a = SaturnOIDCAuthenticator(issuer=ISSUER)
    a._scope_explicit = False
    a._apply_metadata(parse_metadata({**DOC, "userinfo_endpoint": None}, ISSUER))
    assert a.userdata_from_id_token is True and a.userdata_url == ""


@pytest.mark.parametrize("kw, path", [
    ({}, "SaturnOIDCAuthenticator.issuer"),
    ({"issuer": "http://sso.example.edu"}, "SaturnOIDCAuthenticator.issuer"),
    ({"issuer": "http://127.0.0.1:9", "claim_groups": {"claim": "g"}}, "SaturnOIDCAuthenticator.claim_groups"),
])
def test_validate_names_the_key(kw, path):
    with pytest.raises(ConfigError) as e:
        SaturnOIDCAuthenticator(**kw).saturn_validate()
    assert e.value.field == path


def test_manual_endpoints_without_issuer_are_accepted():
    SaturnOIDCAuthenticator(authorize_url="https://x/auth", token_url="https://x/token",
                            userdata_url="https://x/me").saturn_validate()


def test_unreachable_issuer_at_start_up_is_left_for_the_first_sign_in():
    a = SaturnOIDCAuthenticator(issuer="http://127.0.0.1:9", discovery_timeout=5)
    a.saturn_validate()
    assert a._metadata is None and a.authorize_url == ""


def test_shared_section_configures_all_three_and_entry_points_load():
    from importlib.metadata import entry_points

    from traitlets.config import Config

    from jupyterhub_saturn.auth.github import SaturnGitHubAuthenticator
    from jupyterhub_saturn.auth.google import SaturnGoogleAuthenticator

    c = Config()
    c.SaturnOAuthenticator.claim_groups = RULE
    c.SaturnGitHubAuthenticator.required_claims = ["email"]
    for cls in (SaturnOIDCAuthenticator, SaturnGitHubAuthenticator, SaturnGoogleAuthenticator):
        assert cls(config=c).claim_groups == RULE
    assert SaturnGitHubAuthenticator(config=c).required_claims == ["email"]
    assert SaturnOIDCAuthenticator(config=c).required_claims == []
    eps = {ep.name: ep for ep in entry_points(group="jupyterhub.authenticators")}
    assert eps["saturn-oidc"].load() is SaturnOIDCAuthenticator
    assert eps["saturn-github"].load() is SaturnGitHubAuthenticator
    assert eps["saturn-google"].load() is SaturnGoogleAuthenticator
