"""The spawner mixin both backends share: the form, user_options → selection, applied to traits.

Backends subclass it next to their JupyterHub spawner and implement one hook,
:meth:`SaturnSpawnerMixin.apply_selection`, that turns a validated
:class:`~jupyterhub_saturn.profiles.Selection` into their own settings
(env vars for local processes, pod resources for Kubernetes). The rules live in
:mod:`jupyterhub_saturn.profiles`; this module only adapts them to JupyterHub.
"""

from __future__ import annotations

import inspect

from traitlets import default, validate
from traitlets.config import Configurable

from ..errors import SaturnError
from ..http_errors import http_error
from ..profiles import KINDS, Selection, select
from ..settings import Saturn
from .form import FormContext, form_to_options, render_form


class SaturnSpawnerMixin(Configurable):
    """Profiles (size, GPU, disk, image) for a JupyterHub spawner.

    Mix in before the backend's spawner class:
    ``class SaturnLocalSpawner(SaturnSpawnerMixin, LocalProcessSpawner)``.
    """

    #: user_options keys validated elsewhere in the product (accepted by the profile check)
    extra_option_keys: tuple[str, ...] = ()

    saturn_selection: Selection | None = None

    # ------------------------------------------------------------ config access

    @property
    def saturn(self) -> Saturn:
        """The ``c.Saturn`` settings, read from this spawner's config."""
        cfg = getattr(self, "_saturn_settings", None)
        if cfg is None:
            cfg = self._saturn_settings = Saturn(config=self.config, log=self.log)
        return cfg

    def user_group_names(self) -> list[str]:
        """Names of the hub groups of this server's owner."""
        return sorted(g.name for g in getattr(self.user, "groups", []) or [])

    def option_keys(self) -> list[str]:
        """Every user_options key this spawner understands."""
        return list(KINDS) + list(self.extra_option_keys)

    # ------------------------------------------------------------ the form

    @default("options_form")
    def _saturn_default_options_form(self):
        return type(self)._render_options_form

    def form_context(self) -> FormContext:
        """What the form shows besides the catalog; backends add notes (e.g. advisory limits)."""
        previous = self.user_options if isinstance(self.user_options, dict) else {}
        return FormContext(groups=self.user_group_names(), previous=previous)

    async def _render_options_form(self) -> str:
        ctx = self.form_context()
        if inspect.isawaitable(ctx):
            ctx = await ctx
        return render_form(self.saturn.catalog, ctx)

    def options_from_form(self, form_data):
        """Form fields → user_options (validated later, in :meth:`apply_saturn_options`)."""
        return form_to_options(form_data, self.option_keys())

    def options_from_query(self, query_data):
        """``/hub/spawn?opt-size=medium`` → user_options, like the form."""
        return form_to_options(query_data, self.option_keys())

    # ------------------------------------------------------------ validation + apply

    @default("apply_user_options")
    def _saturn_default_apply(self):
        return type(self).apply_saturn_options

    @validate("apply_user_options")
    def _saturn_wrap_configured_apply(self, proposal):
        hook = proposal["value"]
        if hook is None or hook is type(self).apply_saturn_options or getattr(hook, "_saturn_wrapped", False):
            return type(self).apply_saturn_options if hook is None else hook

        async def saturn_then_configured(spawner, user_options):
            await spawner.apply_saturn_options(user_options)
            if isinstance(hook, dict):
                return spawner._apply_user_options_dict(user_options)
            result = hook(spawner, user_options)
            if inspect.isawaitable(result):
                result = await result
            return result

        saturn_then_configured._saturn_wrapped = True
        return saturn_then_configured

    def normalize_options(self, user_options, selection: Selection) -> dict:
        """The user_options to store: the selection, plus what extensions add. Backends may extend."""
        return selection.user_options()

    async def apply_saturn_options(self, user_options) -> None:
        """Validate ``user_options`` and apply them; a bad choice becomes HTTP 400/403 with the core's message."""
        try:
            selection = select(
                self.saturn.catalog, user_options, self.user_group_names(), extra_keys=self.extra_option_keys
            )
            normalized = self.normalize_options(user_options or {}, selection)
            if inspect.isawaitable(normalized):
                normalized = await normalized
            self.saturn_selection = selection
            result = self.apply_selection(selection)
            if inspect.isawaitable(result):
                await result
        except SaturnError as err:
            self.log.info("Refused user_options for %s: %s", self._log_name, err.text)
            raise http_error(err) from None
        self.user_options = normalized
        if getattr(self, "orm_spawner", None) is not None:
            self.orm_spawner.user_options = normalized
        self.log.info("Starting %s with %s", self._log_name, selection.summary())

    def apply_selection(self, selection: Selection) -> None:
        """Backend hook: turn a validated selection into this spawner's settings."""
        raise NotImplementedError
