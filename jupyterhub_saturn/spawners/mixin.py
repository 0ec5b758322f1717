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

from .. import metrics
from ..compat import apply_user_options_dict, passthrough_options_from_form, spawner_log_name
from ..errors import ConfigError, SaturnError
from .. import upstream_guards
from ..http_errors import OWN_LINE, http_error, one_line, refusal_error
from ..policy import CHOICE_KEY, NOTEBOOK_KEY, RESOLVED_KEY, STATE_KEY, Shutoff, load_shutoff
from ..policy.durations import format_duration
from ..profiles import KINDS, Selection, select
from ..profiles.extra_options import check_extra_options
from ..profiles.limits import LIMIT_TRAITS
from ..settings import Saturn
from ..throwaway import is_throwaway
from .form import ExtraField, FormContext, declared_fields, form_to_options, render_form, unwrap_form_values

upstream_guards.install()


class SaturnSpawnerMixin(Configurable):
    """Profiles (size, GPU, disk, image) for a JupyterHub spawner.

    Mix in before the backend's spawner class:
    ``class SaturnLocalSpawner(SaturnSpawnerMixin, LocalProcessSpawner)``.
    """

    #: user_options keys validated outside the profile check, and stored as sent: the auto-shutoff choice
    extra_option_keys: tuple[str, ...] = (CHOICE_KEY,)
    #: keys the product derives itself, accepted in input and kept out of the stored user_options: the
    #: resolved shutoff (recomputed; servers started before the split stored it in user_options) and, for
    #: "Run this copy" servers, the published notebook they run (moved to the state, for per-notebook limits)
    stored_option_keys: tuple[str, ...] = (STATE_KEY, NOTEBOOK_KEY)

    saturn_selection: Selection | None = None
    saturn_shutoff: Shutoff | None = None
    #: what this server was started with, derived from its user_options (every kind with its default, the
    #: resolved auto-shutoff, the notebook): kept in the state beside them (:mod:`jupyterhub_saturn.policy.resolved`)
    saturn_resolved: dict | None = None
    #: CPU/memory limits this start's ``group_overrides`` set (a size may be raised by them, see profiles.limits)
    saturn_group_limits: dict = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        try:
            type(self).check_upstream_settings(self.config)
        except ConfigError as e:
            raise refused_config(e, self.log) from None

    @classmethod
    def check_upstream_settings(cls, config) -> None:
        """Upstream settings this backend would not honour as the stock class does (e.g. KubeSpawner's
        ``profile_list``): raise ConfigError naming the setting and what to use instead.

        Runs for every saturn spawner the hub makes, whatever the authenticator and with or without
        ``jupyterhub_saturn.setup(c)`` (whose start-up validation runs it too): with such a config the hub
        cannot start a server that was running, and every spawn is refused with the message. Cheap: it
        reads config sections only."""

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
        return (list(KINDS) + list(self.extra_option_keys) + list(self.saturn.parsed_extra_options)
                + list(self.stored_option_keys))

    @property
    def is_throwaway(self) -> bool:
        """True for servers of anonymous "Run this copy" users."""
        return is_throwaway(self.user.name)

    # ------------------------------------------------------------ the form

    @default("options_form")
    def _saturn_default_options_form(self):
        return type(self)._render_options_form

    def form_context(self) -> FormContext:
        """What the form shows besides the catalog; backends add notes (e.g. advisory limits)."""
        previous = self.user_options if isinstance(self.user_options, dict) else {}
        groups = self.user_group_names()
        ctx = FormContext(groups=groups, previous=previous)
        try:
            selection = select(self.saturn.catalog, {}, groups)
        except SaturnError:
            return ctx
        policy = self.saturn.shutoff_policy
        choices = policy.allowed_choices(selection.user_options(), groups, self.is_throwaway)
        default = policy.default_choice(selection.user_options(), groups, self.is_throwaway)
        chosen = previous.get(CHOICE_KEY) if previous.get(CHOICE_KEY) in choices else default
        labels = [(c, "Never" if c == "never" else f"after {c} idle") for c in choices]
        ctx.extra_fields = [
            ExtraField(
                CHOICE_KEY, "Auto-shutoff", labels, chosen,
                note="Your server stops after this long without activity. Some sizes and GPUs have lower caps.",
            ),
            *declared_fields(self.saturn.parsed_extra_options, previous),
        ]
        return ctx

    async def _render_options_form(self) -> str:
        ctx = self.form_context()
        if inspect.isawaitable(ctx):
            ctx = await ctx
        return render_form(self.saturn.catalog, ctx)

    @default("options_from_form")
    def _saturn_default_options_from_form(self):
        # upstream's trait keeps its meaning: an admin's callable, "simple" or "passthrough" wins. The default
        # takes the form alone, as upstream's (and KubeSpawner's) do: code calling
        # ``spawner.options_from_form(form_data)`` directly keeps working
        return self.saturn_options_from_form

    def saturn_options_from_form(self, form_data):
        """The saturn spawners' default ``options_from_form``: form fields → user_options (validated later,
        in :meth:`apply_saturn_options`)."""
        return form_to_options(form_data, self.option_keys())

    def options_from_query(self, query_data):
        """``/hub/spawn?opt-size=medium`` → user_options through ``options_from_form``, like the form
        (upstream calls the trait without ``spawner``; ``run_options_from_form`` passes it when asked for)."""
        return self.run_options_from_form(query_data)

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
                return apply_user_options_dict(spawner, user_options)
            # the admin's hook sees the accepted options: the choice, typed declared keys (profiles.extra_options)
            result = hook(spawner, spawner.user_options)
            if inspect.isawaitable(result):
                result = await result
            return result

        saturn_then_configured._saturn_wrapped = True
        return saturn_then_configured

    def normalize_options(self, user_options, selection: Selection) -> dict:
        """The derived values kept beside the user_options (``saturn_resolved`` in the state): the selection
        with its defaults and the resolved shutoff, and the notebook of a "Run this copy" server. Backends
        may extend."""
        options = selection.user_options()
        if self.saturn_shutoff is not None:
            options.update(self.saturn_shutoff.to_user_options())
        notebook = user_options.get(NOTEBOOK_KEY)
        if isinstance(notebook, str) and 0 < len(notebook) <= 128:
            options[NOTEBOOK_KEY] = notebook
        return options

    def chosen_options(self, user_options, extras: dict) -> dict:
        """The user_options to store: exactly the keys the user sent (validated; no defaults added, nothing
        derived), the declared extra keys typed."""
        sent = user_options if isinstance(user_options, dict) else {}
        chosen = {k: sent[k] for k in (*KINDS, *self.extra_option_keys) if k in sent}
        chosen.update(extras)
        return chosen

    async def apply_saturn_options(self, user_options) -> None:
        """Validate ``user_options`` and apply them; a bad choice becomes HTTP 400/403 with the core's message."""
        try:
            groups = self.user_group_names()
            declared = self.saturn.parsed_extra_options
            if passthrough_options_from_form(self):
                # options_from_form = "passthrough" keeps one-element lists; the product's own keys take the value
                user_options = unwrap_form_values(user_options, [*KINDS, *self.extra_option_keys])
            selection = select(
                self.saturn.catalog, user_options, groups,
                extra_keys=(*self.extra_option_keys, *declared), ignored_keys=self.stored_option_keys,
            )
            extras = check_extra_options(declared, user_options)
            shutoff = self.saturn.shutoff_policy.resolve(
                (user_options or {}).get(CHOICE_KEY),
                selection=selection.user_options(),
                groups=groups,
                throwaway=self.is_throwaway,
            )
            self.saturn_shutoff = shutoff
            normalized = self.normalize_options(user_options or {}, selection)
            if inspect.isawaitable(normalized):
                normalized = await normalized
            normalized.update(extras)
            chosen = self.chosen_options(user_options, extras)
            self.saturn_selection = selection
            result = self.apply_selection(selection)
            if inspect.isawaitable(result):
                await result
        except SaturnError as err:
            upstream_guards.install(self.log)
            self.log.warning(OWN_LINE + " for %s: field %s: %s", spawner_log_name(self),
                             err.field or "user_options", one_line(err.text))
            metrics.spawn_refused(err.field, err.status)
            self._restore_accepted_options()
            raise refusal_error(err) from None
        self.user_options = chosen
        self.saturn_resolved = normalized
        self._saturn_last_ok = chosen
        if getattr(self, "orm_spawner", None) is not None:
            self.orm_spawner.user_options = chosen
        self.log.info(
            "Starting %s with %s; %s", spawner_log_name(self), selection.summary(),
            self.saturn_shutoff.summary() if self.saturn_shutoff else "no auto-shutoff",
        )

    async def apply_group_overrides(self):
        """Upstream's ``group_overrides``, noting the CPU/memory limits they set: the size applied next
        keeps the larger of its own and theirs (:func:`~jupyterhub_saturn.profiles.limits.size_limits`)."""
        saved = {name: getattr(self, name) for name in LIMIT_TRAITS}
        for name in LIMIT_TRAITS:
            setattr(self, name, None)
        try:
            await super().apply_group_overrides()
            self.saturn_group_limits = {n: getattr(self, n) for n in LIMIT_TRAITS if getattr(self, n) is not None}
        finally:
            for name, value in saved.items():
                setattr(self, name, value)

    def get_args(self):
        """The backend's args, a short login cache when sharing is on (a revoke reaches the server within
        ``Saturn.sharing.revoke_within``), plus the server's own shutdown settings (defence in depth):
        kernels idle for the idle timeout are culled, and the server stops itself when it has
        had no activity and no kernels a little after the culler should have stopped it."""
        args = list(super().get_args())
        args += self.saturn.sharing_policy.server_args(args)
        shutoff = self.saturn_shutoff
        if shutoff is None or shutoff.idle_timeout is None:
            return args
        idle = shutoff.idle_timeout
        grace = max(60, idle // 10)
        args += [
            f"--MappingKernelManager.cull_idle_timeout={idle}",
            f"--MappingKernelManager.cull_interval={max(10, min(300, idle // 4))}",
            f"--MappingKernelManager.cull_connected={'False' if shutoff.count_busy_kernels else 'True'}",
            "--MappingKernelManager.cull_busy=False" if shutoff.count_busy_kernels else "--MappingKernelManager.cull_busy=True",
            f"--ServerApp.shutdown_no_activity_timeout={idle + grace}",
        ]
        return args

    def shutoff_summary(self) -> str:
        """Human text for the current shutoff, e.g. for logs and pages."""
        if self.saturn_shutoff is None:
            return ""
        s = self.saturn_shutoff
        idle = "never" if s.idle_timeout is None else format_duration(s.idle_timeout)
        return f"idle {idle}" + (f", max age {format_duration(s.max_age)}" if s.max_age else "")

    def apply_selection(self, selection: Selection) -> None:
        """Backend hook: turn a validated selection into this spawner's settings."""
        raise NotImplementedError

    # ------------------------------------------------------------ refused options are not remembered

    _saturn_last_ok: dict | None = None

    def _restore_accepted_options(self) -> None:
        """JupyterHub stores a request's options before they are checked; put the last accepted ones back,
        so a refused request never becomes the defaults of the next start."""
        previous = self._saturn_last_ok
        if previous is None and getattr(self, "orm_spawner", None) is not None:
            previous = (self.orm_spawner.state or {}).get("saturn_last_options")
        previous = dict(previous or {})
        self.user_options = previous
        if getattr(self, "orm_spawner", None) is not None:
            self.orm_spawner.user_options = previous
            try:
                self.user.db.commit()
            except Exception:  # noqa: BLE001 - best effort; the hub commits on its own path too
                self.log.debug("Could not commit restored user_options", exc_info=True)

    def get_state(self):
        state = super().get_state()
        if self._saturn_last_ok:
            state["saturn_last_options"] = self._saturn_last_ok
        if self.saturn_resolved:
            state[RESOLVED_KEY] = self.saturn_resolved
        return state

    def load_state(self, state):
        super().load_state(state)
        if isinstance(state.get("saturn_last_options"), dict):
            self._saturn_last_ok = state["saturn_last_options"]
        resolved = state.get(RESOLVED_KEY)
        if isinstance(resolved, dict):
            self.saturn_resolved = resolved
            self.saturn_shutoff = load_shutoff(resolved).shutoff

    def clear_state(self):
        """The server stopped: what it was started with goes (the user's choices stay, in user_options)."""
        super().clear_state()
        self.saturn_resolved = None


def refused_config(err: ConfigError, log) -> Exception:
    """A saturn spawner made with config it refuses: logged as the start-up check logs it, and a 503 that
    names the setting (the hub is misconfigured; nothing the user sent is wrong)."""
    text = f"jupyterhub-saturn configuration error: {err.text}"
    log.critical("%s", text)
    return http_error(SaturnError(f"{text}. Please tell the hub administrator", field=err.field, status=503))
