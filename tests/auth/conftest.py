"""Fixtures for login tests: a real oidc-provider on loopback wired to a real hub with saturn-oidc."""

from __future__ import annotations

import secrets
import textwrap

import pytest

from ..oidc.provider import OIDCProvider

CLIENT_ID = "saturn-hub"

# Claims -> groups -> roles -> profiles used across the e2e tests.
OIDC_CONFIG = """
from jupyterhub_saturn.auth.roles import apply_saturn_roles
c.JupyterHub.authenticator_class = "saturn-oidc"
c.Authenticator.allow_all = False
c.SaturnOIDCAuthenticator.issuer = {issuer!r}
c.SaturnOIDCAuthenticator.client_id = {client_id!r}
c.SaturnOIDCAuthenticator.client_secret = {client_secret!r}
c.SaturnOIDCAuthenticator.oauth_callback_url = {callback!r}
c.SaturnOIDCAuthenticator.username_claim = "preferred_username"
c.SaturnOIDCAuthenticator.claim_groups = [
    {{"claim": "groups",
      "map": {{"staff": "hub-admins"}},
      "patterns": [
        {{"match": "^(?P<course>cs[0-9]+)-students$", "groups": ["students", "{{course}}"]}},
        {{"match": "^(?P<course>cs[0-9]+)-staff$", "groups": ["instructors", "{{course}}", "{{course}}-instructors"]}},
      ]}},
]
apply_saturn_roles(c, {{
    "student": {{"groups": ["students"]}},
    "instructor": {{"groups": ["instructors"], "courses": {{"cs101": ["cs101-instructors"], "cs102": ["cs102-instructors"]}}}},
    "admin": {{"groups": ["hub-admins"]}},
}}, authenticator="SaturnOIDCAuthenticator")
c.JupyterHub.spawner_class = "saturn-local"
c.Saturn.sizes = {{"small": {{"cpu": 1, "memory": "1G"}}}}
c.Saturn.gpus = {{"t4": {{"count": 1, "groups": ["instructors"]}}}}
c.SaturnLocalSpawner.gpu_devices = {{"t4": ["0"]}}
"""

USERS = {
    "stu": {"preferred_username": "stu", "email": "stu@uni.example", "groups": ["cs101-students"]},
    "ins": {"preferred_username": "ins", "email": "ins@uni.example", "groups": ["cs101-staff"]},
    "other": {"preferred_username": "other", "email": "other@uni.example", "groups": ["cs102-students"]},
    "boss": {"preferred_username": "boss", "email": "boss@uni.example", "groups": ["staff"]},
    "nogroups": {"preferred_username": "nogroups", "email": "nogroups@uni.example", "groups": []},
    "unmapped": {"preferred_username": "unmapped", "email": "u@uni.example", "groups": ["chess-club"]},
    "noname": {"email": "noname@uni.example", "groups": ["cs101-students"]},
    "noemail": {"preferred_username": "noemail", "groups": ["cs101-students"]},
    "sneaky": {"preferred_username": "anon~x", "email": "s@uni.example", "groups": ["cs101-students"]},
}


def oidc_config(provider: OIDCProvider, hub_url: str, client_secret: str, extra: str = "") -> str:
    """The hub config lines for saturn-oidc against ``provider`` (issuer URL only: endpoints by discovery)."""
    return OIDC_CONFIG.format(
        issuer=provider.issuer, client_id=CLIENT_ID, client_secret=client_secret,
        callback=hub_url + "/hub/oauth_callback",
    ) + textwrap.dedent(extra)


def make_oidc_hub(make_hub, provider: OIDCProvider, extra: str = "", *, start_provider: bool = True,
                  start_hub: bool = True, issuer: str | None = None):
    """A hub (not yet started) from ``make_hub(config, start=False, env=...)`` registered with ``provider``."""
    secret = secrets.token_hex(16)
    env = {"JUPYTERHUB_CRYPT_KEY": secrets.token_hex(32)}
    hub = make_hub("", start=False, env=env)
    config = oidc_config(provider, hub.url, secret, extra)
    if issuer is not None:
        config = config.replace(repr(provider.issuer), repr(issuer), 1)
    hub.write_config(config)
    provider.add_client(CLIENT_ID, secret, hub.url + "/hub/oauth_callback")
    for sub, claims in USERS.items():
        provider.set_claims(sub, **claims)
    if start_provider:
        provider.start()
    if start_hub:
        hub.start()
    return hub


@pytest.fixture
def oidc_provider(tmp_path):
    """A not-yet-started ``OIDCProvider`` (stopped at teardown; its log is printed on failure)."""
    providers: list[OIDCProvider] = []

    def make(**kw) -> OIDCProvider:
        p = OIDCProvider(tmp_path / f"idp{len(providers)}", **kw)
        providers.append(p)
        return p

    yield make
    for p in providers:
        p.stop()


@pytest.fixture(autouse=True)
def _in_a_temporary_directory(tmp_path, monkeypatch):
    """Authenticators keep their identity file relative to the working directory: never the repo's."""
    monkeypatch.chdir(tmp_path)
