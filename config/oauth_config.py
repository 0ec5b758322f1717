"""An example for an institution with single sign-on (OpenID Connect): saturn-oidc from the issuer URL alone,
provider groups -> hub groups -> who may use which profile and who may publish. Local servers (saturn-local).

Fill in the four settings (or set the environment variables) and run ``jupyterhub -f config/oauth_config.py``.
Keeping another authenticator instead? Set it here and keep the ``jupyterhub_saturn.setup(c)`` line.
"""

import os

import jupyterhub_saturn

c = get_config()  # noqa: F821 - provided by JupyterHub

# ---------------------------------------------------------------- who can log in: your OpenID Connect provider
c.JupyterHub.authenticator_class = "saturn-oidc"
c.SaturnOIDCAuthenticator.issuer = os.environ.get("SATURN_OIDC_ISSUER", "https://sso.example.edu/realms/campus")
c.SaturnOIDCAuthenticator.client_id = os.environ.get("SATURN_OIDC_CLIENT_ID", "jupyterhub")
c.SaturnOIDCAuthenticator.client_secret = os.environ.get("SATURN_OIDC_CLIENT_SECRET", "")
c.SaturnOIDCAuthenticator.oauth_callback_url = os.environ.get(
    "SATURN_OIDC_CALLBACK_URL", "https://hub.example.edu/hub/oauth_callback")
c.SaturnOIDCAuthenticator.login_service = "Campus SSO"
c.SaturnOIDCAuthenticator.username_claim = "preferred_username"  # upstream's default is "username"
# the provider's "groups" claim -> hub groups; everyone who signs in is allowed
c.SaturnOIDCAuthenticator.claim_groups = [
    {"claim": "groups", "map": {"staff": ["instructors", "staff"], "gpu": "gpu-users"}},
]
c.Authenticator.allow_all = True

# ---------------------------------------------------------------- what they may start
c.JupyterHub.spawner_class = "saturn-local"
c.Saturn.sizes = {
    "small": {"display_name": "Small — 1 CPU, 2 GB", "cpu": 1, "memory": "2G"},
    "large": {"display_name": "Large — 4 CPU, 16 GB", "cpu": 4, "memory": "16G", "groups": ["staff"]},
}
c.SaturnGallery.publisher_groups = ["instructors"]   # who may publish notebooks to the gallery

# ---------------------------------------------------------------- mount the product (last)
jupyterhub_saturn.setup(c)
