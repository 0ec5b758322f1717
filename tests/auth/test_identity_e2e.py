"""Identity binding and provider misconfiguration, end to end: a real oidc-provider and a real hub.

A hub username is bound to the provider account (issuer, sub) of its first sign-in; another account claiming
the same name (exactly, by case, or by a Unicode variant) gets a 403 page and changes nothing, until an admin
re-binds the name. A provider whose discovery document names another issuer after start-up is a 503 page
with Retry-After, and the hub's log names the setting.
"""

from __future__ import annotations

import json

import pytest
import requests

from jupyterhub_saturn.cli import main as cli

from ..harness import Hub, wait_for
from ..oidc.provider import OIDCProvider, provider_login
from .conftest import make_oidc_hub
from .test_oidc_e2e import groups, page_text

pytestmark = pytest.mark.e2e

IMPOSTORS = {
    "impostor": {"preferred_username": "ins", "email": "x@evil.example", "groups": ["staff"]},
    "impostor-case": {"preferred_username": "INS", "email": "y@evil.example", "groups": ["staff"]},
    "impostor-unicode": {"preferred_username": "ｉｎｓ", "email": "z@evil.example", "groups": ["staff"]},
}


@pytest.fixture(scope="module")
def idp_hub(tmp_path_factory):
    d = tmp_path_factory.mktemp("identity")
    provider = OIDCProvider(d / "idp")
    hubs: list[Hub] = []

    def make(config, start=False, env=None):
        hubs.append(Hub(d / "hub", config, env=env))
        return hubs[-1]

    try:
        hub = make_oidc_hub(make, provider)
        for sub, claims in IMPOSTORS.items():
            provider.set_claims(sub, **claims)
        yield hub, provider
    finally:
        for h in hubs:
            h.stop()
        provider.stop()


def login(hub: Hub, sub: str) -> requests.Response:
    return provider_login(requests.Session(), hub.url, sub)


@pytest.mark.hub_versions
def test_a_second_account_cannot_take_a_bound_username_until_an_admin_rebinds_it(idp_hub):
    hub, idp = idp_hub
    assert login(hub, "ins").status_code == 302
    bindings = json.loads((hub.dir / "saturn-identities.json").read_text())["users"]
    assert bindings["ins"]["iss"] == idp.issuer and bindings["ins"]["sub"] == "ins"
    before = groups(hub, "ins")

    for sub in IMPOSTORS:  # same name, upper case, full-width Unicode: all normalize to "ins"
        r = login(hub, sub)
        assert r.status_code == 403, (sub, r.status_code)
        text = page_text(r)
        assert "The username 'ins' on this hub already belongs to another" in text, text[:3000]
        assert "jupyterhub-saturn identity unbind ins" in text
        assert groups(hub, "ins") == before and hub.user_model("ins")["admin"] is False
    assert "Refusing sign-in as 'ins'" in hub.log_text()
    assert hub.api("GET", "/users/INS").status_code == 404

    # the documented admin re-bind: the next sign-in as "ins" binds the name to whoever it is
    assert cli(["identity", "unbind", "ins", "--file", str(hub.dir / "saturn-identities.json")]) == 0
    assert login(hub, "impostor").status_code == 302
    assert hub.user_model("ins")["admin"] is True  # the new owner's groups (staff -> hub-admins)
    r = login(hub, "ins")
    assert r.status_code == 403 and "already belongs to another" in page_text(r)


def test_issuer_changed_after_start_up_is_a_503_naming_the_setting_in_the_log(hub_factory, oidc_provider):
    idp = oidc_provider()
    hub = make_oidc_hub(hub_factory, idp, start_provider=False)  # discovery deferred to the first sign-in
    idp.issuer = f"http://localhost:{idp.port}"  # the provider now says it is someone else
    idp.start()
    for _ in range(2):
        r = requests.get(hub.url + "/hub/oauth_login", allow_redirects=False, timeout=30)
        assert r.status_code == 503, r.text[:2000]
        assert r.headers.get("Retry-After") == "300"
        assert "the hub's connection to OpenID Connect is misconfigured" in page_text(r)
        assert "localhost" not in r.text  # the details are for the admin
    log = hub.log_text()
    assert "jupyterhub-saturn configuration error: SaturnOIDCAuthenticator.issuer:" in log
    assert "says its issuer is" in log


# ---------------------------------------------------------------- access ends when it should


def scopes_of(hub: Hub, token: str) -> set[str]:
    r = hub.api("GET", "/user", token=token)
    assert r.status_code == 200, r.text
    return set(r.json()["scopes"])


def test_a_sign_in_refused_for_groups_ends_the_groups_and_what_tokens_may_do(idp_hub):
    hub, idp = idp_hub
    idp.set_claims("teach", preferred_username="teach", email="t@uni.example", groups=["cs101-staff"])
    assert login(hub, "teach").status_code == 302
    token = hub.user_token("teach")
    assert groups(hub, "teach") == ["cs101", "cs101-instructors", "instructors"]
    assert "custom:saturn:publish" in scopes_of(hub, token)

    idp.set_claims("teach", preferred_username="teach", email="t@uni.example", groups=[])
    r = login(hub, "teach")
    assert r.status_code == 403 and "none of your groups may use this hub" in page_text(r)
    assert groups(hub, "teach") == []
    assert hub.api("GET", "/user", token=token).status_code == 403  # the ended sign-in's token is refused
    assert "Access of teach ended (signed in but no longer in an allowed group)" in hub.log_text()


def test_a_claim_removed_at_the_provider_ends_at_the_next_refresh(hub_factory, oidc_provider):
    # the provider also puts the claims in the ID token (as many do); "roles" then disappears from userinfo,
    # while the ID token saved at sign-in still has it: only what the provider says now may count
    idp = oidc_provider(claims_in_id_token=True)
    hub = make_oidc_hub(hub_factory, idp, """
c.Authenticator.auth_refresh_age = 1
c.SaturnOIDCAuthenticator.claim_groups = [
    {"claim": "groups", "patterns": [{"match": "^(?P<c>cs[0-9]+)-staff$", "groups": ["instructors", "{c}", "{c}-instructors"]}]},
    {"claim": "roles", "map": {"hub-admin": "hub-admins"}},
]
""")
    idp.set_claims("ins", preferred_username="ins", email="i@uni.example", groups=["cs101-staff"], roles=["hub-admin"])
    s = requests.Session()
    assert provider_login(s, hub.url, "ins").status_code == 302
    token = hub.user_token("ins")
    assert groups(hub, "ins") == ["cs101", "cs101-instructors", "hub-admins", "instructors"]
    assert hub.user_model("ins")["admin"] is True

    idp.set_claims("ins", preferred_username="ins", email="i@uni.example", groups=["cs101-staff"])  # no "roles"

    def refreshed():
        assert s.get(hub.url + "/hub/home", allow_redirects=False, timeout=30).status_code == 200
        return "hub-admins" not in groups(hub, "ins")

    wait_for(refreshed, timeout=60, interval=1, what="the removed claim to take effect at a refresh")
    assert groups(hub, "ins") == ["cs101", "cs101-instructors", "instructors"]
    assert hub.user_model("ins")["admin"] is False and "admin:users" not in scopes_of(hub, token)
    assert "Refreshing oauth access token" not in hub.log_text()  # the access token was still valid


@pytest.mark.hub_versions
def test_logout_ends_the_session_so_a_copied_cookie_no_longer_works(idp_hub):
    hub, _ = idp_hub
    s = requests.Session()
    assert provider_login(s, hub.url, "stu").status_code == 302
    copied = requests.Session()
    copied.cookies.update(s.cookies)
    assert copied.get(hub.url + "/hub/home", allow_redirects=False, timeout=30).status_code == 200
    s.get(hub.url + "/hub/logout", timeout=30)
    r = copied.get(hub.url + "/hub/home", allow_redirects=False, timeout=30)
    assert r.status_code == 302 and "/hub/login" in r.headers["Location"]
    r = copied.get(hub.url + "/hub/api/user", timeout=30)
    assert r.status_code == 403
    # signing in again works
    s2 = requests.Session()
    assert provider_login(s2, hub.url, "stu").status_code == 302
    assert s2.get(hub.url + "/hub/home", allow_redirects=False, timeout=30).status_code == 200
