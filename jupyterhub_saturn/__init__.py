"""jupyterhub-saturn: hosted-notebook-cloud features for a stock JupyterHub.

Pure core: :mod:`jupyterhub_saturn.profiles`, :mod:`jupyterhub_saturn.policy`,
:mod:`jupyterhub_saturn.gallery`. Adapters: spawners, hub handlers, authenticators,
the culler service and the CLI. ``jupyterhub_saturn.setup(c)`` mounts the product into a
hub configured with any authenticator (see :mod:`jupyterhub_saturn.auth.mount`).
"""

__version__ = "0.1.0"


def setup(c):
    """Mount jupyterhub-saturn into the hub configured by ``c``, keeping its authenticator."""
    from .auth.mount import setup as _setup  # noqa: PLC0415 - keeps the package import light

    return _setup(c)
