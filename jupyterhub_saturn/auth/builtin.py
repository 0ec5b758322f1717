"""JupyterHub's built-in authenticators with jupyterhub-saturn mounted (``saturn-dummy``, ...)."""

from jupyterhub.auth import DummyAuthenticator, PAMAuthenticator

from .identity import SaturnUsernameMixin
from .mount import SaturnAuthenticatorMixin


class SaturnDummyAuthenticator(SaturnAuthenticatorMixin, SaturnUsernameMixin, DummyAuthenticator):
    """DummyAuthenticator (testing and demos only) with jupyterhub-saturn's pages."""


class SaturnPAMAuthenticator(SaturnAuthenticatorMixin, SaturnUsernameMixin, PAMAuthenticator):
    """PAMAuthenticator with jupyterhub-saturn's pages."""


try:
    from jupyterhub.authenticators.shared import SharedPasswordAuthenticator
except ImportError:  # pragma: no cover - JupyterHub < 5
    SharedPasswordAuthenticator = None

if SharedPasswordAuthenticator is not None:

    class SaturnSharedPasswordAuthenticator(SaturnAuthenticatorMixin, SaturnUsernameMixin, SharedPasswordAuthenticator):
        """SharedPasswordAuthenticator with jupyterhub-saturn's pages."""
