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

from ..harness import Hub
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
