"""config/oauth_config.py, the single-sign-on example, started as an admin would (its values from the
environment) against a real OpenID Connect provider: discovery, sign-in, groups from the claim."""

from __future__ import annotations

import secrets

import pytest
import requests

from ..harness import REPO
from ..oidc.provider import provider_login

pytestmark = pytest.mark.e2e

EXAMPLE = REPO / "config" / "oauth_config.py"
RUN_EXAMPLE = f"""
_path = {str(EXAMPLE)!r}
exec(compile(open(_path).read(), _path, "exec"), {{"get_config": get_config, "__file__": _path}})
"""


def test_the_oauth_example_starts_and_signs_in_with_groups(hub_factory, oidc_provider):
    idp = oidc_provider()
    secret = secrets.token_hex(16)
    hub = hub_factory(RUN_EXAMPLE, start=False)
    hub.env.update({"SATURN_OIDC_ISSUER": idp.issuer, "SATURN_OIDC_CLIENT_ID": "jupyterhub",
                    "SATURN_OIDC_CLIENT_SECRET": secret, "SATURN_OIDC_CALLBACK_URL": hub.url + "/hub/oauth_callback",
                    "JUPYTERHUB_CRYPT_KEY": secrets.token_hex(32)})
    idp.add_client("jupyterhub", secret, hub.url + "/hub/oauth_callback")
    idp.set_claims("ins", preferred_username="ins", email="ins@uni.example", groups=["staff"])
    idp.start()
    hub.start()
    assert "jupyterhub-saturn mounted into SaturnOIDCAuthenticator" in hub.log_text()
    session = requests.Session()
    r = provider_login(session, hub.url, "ins")
    assert r.status_code == 302, r.text[:500]
    assert sorted(hub.user_model("ins")["groups"]) == ["instructors", "staff"]
