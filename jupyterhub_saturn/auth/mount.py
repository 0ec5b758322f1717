"""How jupyterhub-saturn joins a hub, whatever its authenticator.

An admin adds one line at the end of ``jupyterhub_config.py`` (or in a z2jh
``hub.extraConfig`` entry, which runs after ``hub.config``)::

    import jupyterhub_saturn
    jupyterhub_saturn.setup(c)

:func:`setup` keeps the configured authenticator (GitHub, LDAP, CILogon, PAM, …) and mounts
the product into it at start-up: every ``c.Saturn*`` setting is validated (a mistake stops the
hub naming the key path), the hub pages and API routes are added, the throwaway role and group
are created, and the product's templates are placed after the admin's own ``template_paths``
and before JupyterHub's (they extend JupyterHub's in small blocks). The ``saturn-*``
authenticators are the same mount on JupyterHub's and oauthenticator's classes.

JupyterHub offers exactly one supported start-up hook with the app in hand that adds hub
routes, ``Authenticator.get_handlers(app)`` (``JupyterHub.extra_handlers`` is deprecated
since 3.1), so the mount rides on the configured authenticator class instead of replacing it.
"""

from __future__ import annotations

import os
import sys

from jinja2 import ChoiceLoader, FileSystemLoader
from traitlets import TraitError

from ..compat import hub_template_dir
from ..errors import ConfigError
from ..handlers import saturn_handlers
from ..settings import Saturn
from ..throwaway import is_throwaway
from .roles import sharing_roles

TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "templates")
AUTHENTICATOR_ENTRY_POINTS = "jupyterhub.authenticators"


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


def grant_sharing(app) -> None:
    """Give the share scopes to whom ``Saturn.sharing`` lets share, and to nobody when it is off.

    JupyterHub resets the default ``user`` role to its config and deletes roles missing from
    ``load_roles`` at every start, before this runs, so turning sharing off takes the scopes away.
    """
    from jupyterhub import orm, roles  # noqa: PLC0415 - at start-up, with the hub's database

    granted = sharing_roles(Saturn(config=app.config, log=app.log).sharing_policy)
    db = app.db
    if granted["user_role_scopes"]:
        user_role = orm.Role.find(db, "user")
        scopes = list(user_role.scopes) + [s for s in granted["user_role_scopes"] if s not in user_role.scopes]
        roles.create_role(db, {"name": "user", "description": user_role.description, "scopes": scopes})
    spec = granted["role"]
    if spec is not None:
        role = roles.create_role(db, {k: spec[k] for k in ("name", "description", "scopes")})
        for name in spec["groups"]:
            group = orm.Group.find(db, name)
            if group is None:
                group = orm.Group(name=name)
                db.add(group)
                db.commit()
            roles.grant_role(db, group, role)
    if granted["user_role_scopes"] or spec is not None:
        app.log.info("jupyterhub-saturn: sharing on for %s", ", ".join(spec["groups"]) if spec else "every user")


def place_templates(app) -> None:
    """Put the product's templates after the admin's ``template_paths`` and before JupyterHub's own.

    JupyterHub builds its loader as ``templates/…`` (its own, for ``{% extends "templates/home.html" %}``)
    then one FileSystemLoader over ``template_paths`` with its own directory last. An admin's
    ``home.html`` therefore still wins over the product's, and the product's wins over JupyterHub's.
    """
    env = app.tornado_settings.get("jinja2_env") if hasattr(app, "tornado_settings") else None
    if env is None:
        return
    hub_dir = hub_template_dir(app)
    loaders = env.loader.loaders if isinstance(env.loader, ChoiceLoader) else [env.loader]
    for loader in loaders:
        if isinstance(loader, FileSystemLoader) and hub_dir in loader.searchpath:
            if TEMPLATES not in loader.searchpath:
                loader.searchpath.insert(loader.searchpath.index(hub_dir), TEMPLATES)
            break
    else:  # an unexpected loader layout: still serve the product's own pages, shadowing nothing
        env.loader = ChoiceLoader([env.loader, FileSystemLoader(TEMPLATES)])
    if env.cache is not None:  # nothing is rendered yet at start-up; be safe anyway
        env.cache.clear()
    if TEMPLATES not in app.template_paths:
        index = app.template_paths.index(hub_dir) if hub_dir in app.template_paths else len(app.template_paths)
        app.template_paths.insert(index, TEMPLATES)


def mount(app) -> list:
    """Start-up: validate, place the templates, register metrics; the routes to add under ``/hub/``."""
    try:
        validate_startup(app)
        routes = saturn_handlers(app)  # validates c.SaturnGallery against the catalog
    except (ConfigError, TraitError) as e:
        text = e.text if isinstance(e, ConfigError) else str(e)  # a TraitError names the class and the trait
        app.log.critical("jupyterhub-saturn configuration error: %s", text)
        print(f"jupyterhub-saturn configuration error: {text}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    place_templates(app)
    grant_sharing(app)
    app.log.info("jupyterhub-saturn mounted into %s (%d routes)", type(app.authenticator).__name__, len(routes))
    return routes


class SaturnAuthenticatorMixin:
    """Mounts jupyterhub-saturn (start-up validation, pages, templates) into an Authenticator.

    :func:`setup` applies it to whatever authenticator the hub is configured with; the
    ``saturn-*`` classes are it applied to JupyterHub's and oauthenticator's authenticators.
    """

    saturn_mounted = True

    def get_handlers(self, app):
        return mount(app) + list(super().get_handlers(app))

    def check_blocked_users(self, username, authentication=None):
        """Refuse logins into the throwaway namespace (``anon~…``), whatever the provider returned."""
        if is_throwaway(username):
            self.log.warning("Refusing login as %r: the name is in the throwaway namespace", username)
            return False
        return super().check_blocked_users(username, authentication)


def resolve_authenticator(value):
    """The class a ``c.JupyterHub.authenticator_class`` value names: a class, an entry point
    name (``github``, ``saturn-oidc``) or an import string; unset means JupyterHub's default."""
    if value is None or type(value).__name__ == "LazyConfigValue":
        from jupyterhub.app import JupyterHub  # noqa: PLC0415 - only at config time

        return JupyterHub.class_traits()["authenticator_class"].default_value
    if isinstance(value, type):
        return value
    if not isinstance(value, str) or not value:
        raise ConfigError("JupyterHub.authenticator_class", f"{value!r} is not a class or a class name")
    from importlib.metadata import entry_points  # noqa: PLC0415

    for ep in entry_points(group=AUTHENTICATOR_ENTRY_POINTS):
        if ep.name.lower() == value.lower():
            return ep.load()
    from traitlets.utils.importstring import import_item  # noqa: PLC0415

    try:
        return import_item(value)
    except Exception as e:  # noqa: BLE001 - any import failure is the same config mistake
        raise ConfigError("JupyterHub.authenticator_class", f"cannot load {value!r}: {e}") from None


def with_saturn(authenticator_class: type) -> type:
    """``authenticator_class`` with jupyterhub-saturn mounted (itself if it already is)."""
    if issubclass(authenticator_class, SaturnAuthenticatorMixin):
        return authenticator_class
    return type(
        f"Saturn{authenticator_class.__name__}",
        (SaturnAuthenticatorMixin, authenticator_class),
        {"__module__": __name__, "__doc__": f"{authenticator_class.__name__} with jupyterhub-saturn mounted."},
    )


def setup(c) -> type:
    """Mount jupyterhub-saturn into the hub configured by ``c``, keeping its authenticator.

    Call it after ``c.JupyterHub.authenticator_class`` is set (last in ``jupyterhub_config.py``,
    or in a z2jh ``hub.extraConfig`` entry). Returns the authenticator class now configured.
    A name that cannot be loaded stops the hub naming ``JupyterHub.authenticator_class``.
    """
    try:
        cls = with_saturn(resolve_authenticator(c.JupyterHub.get("authenticator_class")))
    except ConfigError as e:
        print(f"jupyterhub-saturn configuration error: {e.text}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    c.JupyterHub.authenticator_class = cls
    return cls
