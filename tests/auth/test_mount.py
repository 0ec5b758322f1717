"""jupyterhub_saturn.setup(c): the configured authenticator, whatever it is, gets the mount; its own config
sections keep applying; names that do not load stop the hub naming the key."""

from __future__ import annotations

import pytest
from jupyterhub.auth import DummyAuthenticator, PAMAuthenticator
from oauthenticator.github import GitHubOAuthenticator
from traitlets.config import Config

import jupyterhub_saturn
from jupyterhub_saturn.auth.builtin import SaturnDummyAuthenticator
from jupyterhub_saturn.auth.mount import SaturnAuthenticatorMixin, resolve_authenticator, with_saturn

pytestmark = pytest.mark.hub_versions


@pytest.mark.parametrize("value, base", [
    ("github", GitHubOAuthenticator),                                   # an entry point name
    ("oauthenticator.github.GitHubOAuthenticator", GitHubOAuthenticator),  # an import string
    (DummyAuthenticator, DummyAuthenticator),                           # a class
    (None, PAMAuthenticator),                                           # unset: JupyterHub's default
])
def test_setup_mounts_into_the_configured_authenticator(value, base):
    c = Config()
    if value is not None:
        c.JupyterHub.authenticator_class = value
    cls = jupyterhub_saturn.setup(c)
    assert c.JupyterHub.authenticator_class is cls
    assert issubclass(cls, base) and issubclass(cls, SaturnAuthenticatorMixin)
    assert cls.__name__ == f"Saturn{base.__name__}"
    assert with_saturn(cls) is cls  # calling setup twice changes nothing


def test_the_authenticators_own_config_section_still_applies():
    c = Config()
    c.JupyterHub.authenticator_class = "github"
    c.GitHubOAuthenticator.allowed_organizations = {"example-university"}
    cls = jupyterhub_saturn.setup(c)
    auth = cls(config=c)
    assert auth.allowed_organizations == {"example-university"}
    assert auth.check_blocked_users("anon~abc") is False  # throwaway names are reserved


def test_a_saturn_authenticator_is_kept_as_it_is():
    c = Config()
    c.JupyterHub.authenticator_class = "saturn-dummy"
    assert jupyterhub_saturn.setup(c) is SaturnDummyAuthenticator


@pytest.mark.parametrize("value", ["no-such-auth", "nowhere.Nothing", 42])
def test_a_name_that_does_not_load_stops_with_the_key(value, capsys):
    c = Config()
    c.JupyterHub.authenticator_class = value
    with pytest.raises(SystemExit):
        jupyterhub_saturn.setup(c)
    assert "jupyterhub-saturn configuration error: JupyterHub.authenticator_class:" in capsys.readouterr().err


def test_resolve_matches_entry_point_names_like_jupyterhub():
    assert resolve_authenticator("Dummy") is DummyAuthenticator
