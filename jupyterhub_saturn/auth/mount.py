"""Mount jupyterhub-saturn into a stock JupyterHub through its authenticator.

``Authenticator.get_handlers(app)`` is JupyterHub's supported way for a plugin to add
pages under ``/hub/`` and it runs once at start-up, so the mixin also validates every
``c.Saturn*`` setting there: a mistake stops the hub with the key path instead of
failing the first spawn. Every ``saturn-*`` authenticator includes this mixin; for any
other authenticator class ``X`` use ``class MyAuth(SaturnAuthenticatorMixin, X)``.
"""

from __future__ import annotations

import os
import sys

from jinja2 import ChoiceLoader, FileSystemLoader

from ..errors import ConfigError
from ..handlers import saturn_handlers
from ..settings import Saturn
from ..throwaway import is_throwaway

TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "templates")


def validate_startup(app) -> None:
    """Validate the product's config for ``app`` (a JupyterHub); raises ConfigError."""
    Saturn(config=app.config, log=app.log).validate()
    spawner_class = app.spawner_class
    check = getattr(spawner_class, "validate_config", None)
    if check is not None:
        check(app.config, app.log)
    started = getattr(spawner_class, "on_hub_start", None)  # e.g. saturn-kube's clean-up of orphans
    if started is not None:
        started(app)


def _add_templates(app) -> None:
    env = app.tornado_settings.get("jinja2_env") if hasattr(app, "tornado_settings") else None
    if env is None or getattr(env, "_saturn_templates", False):
        return
    env.loader = ChoiceLoader([FileSystemLoader(TEMPLATES), env.loader])
    env._saturn_templates = True


class SaturnAuthenticatorMixin:
    """Adds jupyterhub-saturn's hub pages and start-up validation to an Authenticator."""

    def get_handlers(self, app):
        try:
            validate_startup(app)
        except ConfigError as e:
            app.log.critical("jupyterhub-saturn configuration error: %s", e.text)
            print(f"jupyterhub-saturn configuration error: {e.text}", file=sys.stderr, flush=True)
            raise SystemExit(1) from None
        _add_templates(app)
        return saturn_handlers(app) + list(super().get_handlers(app))

    def check_blocked_users(self, username, authentication=None):
        """Refuse logins into the throwaway namespace (``anon~…``), whatever the provider returned."""
        if is_throwaway(username):
            self.log.warning("Refusing login as %r: the name is in the throwaway namespace", username)
            return False
        return super().check_blocked_users(username, authentication)
