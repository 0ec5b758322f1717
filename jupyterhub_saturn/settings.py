"""``c.Saturn``: the administrator's catalog, as plain config data declared as traitlets.

One section serves every part of the product (both spawners, the hub pages, the culler),
so the same dicts drop into ``hub.config.Saturn`` of the z2jh helm chart::

    c.Saturn.sizes = {"small": {"cpu": 1, "memory": "2G"}, "large": {"cpu": 8, "memory": "32G", "groups": ["staff"]}}
    c.Saturn.gpus = {"t4": {"display_name": "1 × T4", "count": 1, "groups": ["gpu-users"]}}
    c.Saturn.disks = ["10Gi", "50Gi", "200Gi"]
    c.Saturn.images = {"datascience": {"image": "quay.io/jupyter/datascience-notebook", "prefix": "/opt/envs/ds"}}
    c.Saturn.defaults = {"size": "small", "disk": "10Gi"}

Validation happens once (:meth:`Saturn.catalog` caches), and the hub integration calls it
at start-up so a mistake stops the hub with the key path.
"""

from __future__ import annotations

import json

from traitlets import Bool, Dict, Int, List, Unicode, Union
from traitlets.config import LoggingConfigurable

from .errors import ConfigError
from .policy import LaunchLimits, ShutoffPolicy
from .policy.sharing import SharingPolicy
from .profiles import Catalog, parse_catalog
from .profiles.extra_options import parse_extra_options

_CACHE: dict[str, object] = {}


def _cache_key(*parts) -> str:
    return json.dumps(parts, sort_keys=True, default=repr)


class Saturn(LoggingConfigurable):
    """The catalog of sizes, GPUs, disks and images, and who may use each."""

    sizes = Dict(
        default_value=None,
        allow_none=True,
        config=True,
        help="""Sizes by key: {"small": {"display_name": ..., "cpu": 1, "memory": "2G", "groups": [...]}}.
        `cpu` and `memory` are the server's limits. Default: one 1 CPU / 2 GB size.""",
    )
    gpus = Dict(
        default_value=None,
        allow_none=True,
        config=True,
        help="""GPU profiles by key: {"t4": {"display_name": "1 × T4", "count": 1, "resource": "nvidia.com/gpu",
        "product": "T4", "node_selector": {...}, "tolerations": [...], "shm": "1G", "groups": [...]}}.
        The choice "none" (no GPU) is always offered.""",
    )
    disks = Union(
        [List(), Dict()],
        default_value=None,
        allow_none=True,
        config=True,
        help="""Disk sizes users may pick: ["10Gi", "50Gi"] or {"200Gi": {"groups": ["staff"], "storage_class": ...}}.""",
    )
    images = Dict(
        default_value=None,
        allow_none=True,
        config=True,
        help="""Environments by key: {"base": {"display_name": ..., "image": "<container image>",
        "prefix": "<local Python prefix with bin/jupyterhub-singleuser>", "env": {...}, "groups": [...]}}.""",
    )
    defaults = Dict(
        config=True,
        help="""Default key per kind, e.g. {"size": "small", "gpu": "none", "disk": "10Gi", "image": "base"}.
        A kind without a default uses its first entry; a user not entitled to the default gets their first entitled entry.""",
    )
    auto_shutoff = Dict(
        default_value=None,
        allow_none=True,
        config=True,
        help="""Auto-shutoff choices, default and caps per profile and group (see jupyterhub_saturn.policy.shutoff).""",
    )
    launch_limits = Dict(
        default_value=None,
        allow_none=True,
        config=True,
        help="""Limits on anonymous "Run this copy" launches: max_throwaway_servers, max_per_notebook, rate,
        trusted_proxies (see jupyterhub_saturn.policy.launch_limits).""",
    )
    extra_options = Dict(
        default_value=None,
        allow_none=True,
        config=True,
        help="""user_options keys an admin adds beside size/gpu/disk/image/auto_shutoff, with their type and
        allowed values: {"team": {"type": "str", "choices": ["red", "blue"]}, "workers": {"type": "int", "min": 1,
        "max": 8}, "debug": {"type": "bool"}}. Declared keys are checked and reach apply_user_options and
        pre_spawn_hook; undeclared keys are refused with 400 (see jupyterhub_saturn.profiles.extra_options).""",
    )
    sharing = Dict(
        default_value=None,
        allow_none=True,
        config=True,
        help="""Sharing one's server: enabled (default false), groups (who may share; absent: everyone),
        max_code_lifetime, default_expiry, by_name (see jupyterhub_saturn.policy.sharing and docs/sharing.md).""",
    )

    def _parsed(self, kind: str, build, *data):
        """Parse once per distinct config value (per process), whatever the number of instances;
        each instance keeps its result, so repeated reads on a spawn's path cost no re-serialisation."""
        memo = self.__dict__.setdefault("_saturn_parsed", {})
        if kind not in memo:
            key = _cache_key(kind, *data)
            if key not in _CACHE:
                _CACHE[key] = build()
            memo[kind] = _CACHE[key]
        return memo[kind]

    @property
    def catalog(self) -> Catalog:
        """The parsed catalog; raises :class:`~jupyterhub_saturn.errors.ConfigError` on a mistake."""
        return self._parsed(
            "catalog",
            lambda: parse_catalog(sizes=self.sizes, gpus=self.gpus, disks=self.disks, images=self.images,
                                  defaults=self.defaults),
            self.sizes, self.gpus, self.disks, self.images, self.defaults,
        )

    @property
    def shutoff_policy(self) -> ShutoffPolicy:
        """The parsed auto-shutoff policy (``c.Saturn.auto_shutoff``)."""
        return self._parsed(
            "shutoff", lambda: ShutoffPolicy.from_config(self.auto_shutoff, "Saturn.auto_shutoff"), self.auto_shutoff
        )

    @property
    def parsed_launch_limits(self) -> LaunchLimits:
        """The parsed limits on anonymous launches (``c.Saturn.launch_limits``)."""
        return self._parsed(
            "launch", lambda: LaunchLimits.from_config(self.launch_limits, "Saturn.launch_limits"), self.launch_limits
        )

    @property
    def parsed_extra_options(self) -> dict:
        """The declared extra user_options keys (``c.Saturn.extra_options``)."""
        return self._parsed(
            "extra", lambda: parse_extra_options(self.extra_options, "Saturn.extra_options"), self.extra_options
        )

    @property
    def sharing_policy(self) -> SharingPolicy:
        """The parsed sharing rules (``c.Saturn.sharing``)."""
        return self._parsed("sharing", lambda: SharingPolicy.from_config(self.sharing, "Saturn.sharing"), self.sharing)

    def validate(self) -> None:
        """Parse everything now (start-up); raises ConfigError naming the key path."""
        self.catalog  # noqa: B018
        self.parsed_extra_options  # noqa: B018
        self.shutoff_policy  # noqa: B018
        self.parsed_launch_limits  # noqa: B018
        self.sharing_policy  # noqa: B018


class SaturnGallery(LoggingConfigurable):
    """Published notebooks and "Run this copy": where they live, who publishes, what anonymous copies get."""

    store_dir = Unicode(
        "saturn-gallery", config=True, help="Directory of the published-notebook store (relative to the hub's cwd)."
    )
    max_notebook_size = Union(
        [Int(), Unicode()], default_value="10M", config=True,
        help="Largest notebook that may be published (bytes or a size like '10M'); larger uploads get HTTP 413.",
    )
    publisher_groups = List(
        Unicode(), default_value=["instructors"], config=True,
        help="Hub groups whose members may publish (admins and holders of the custom:saturn:publish scope may too).",
    )
    anonymous = Bool(True, config=True, help="Let visitors without an account run copies in throwaway servers.")
    anonymous_size = Unicode(
        "", config=True, help="Size key throwaway servers get (a notebook asking for more is capped). Default: the default size."
    )
    copy_dir = Unicode("gallery", config=True, help="Folder (in the user's server) where copies are written.")
    warm_pool = Dict(
        config=True,
        help="""Throwaway servers kept started ahead of demand, per image key: {"python": 2}. The pool refills in
        the background and never exceeds Saturn.launch_limits.max_throwaway_servers.""",
    )
    launch_timeout = Int(300, config=True, help="Seconds a launch may take before the visitor is told it failed.")

    def max_bytes(self) -> int:
        """``max_notebook_size`` in bytes."""
        from .profiles.quantities import parse_size  # noqa: PLC0415

        return parse_size(self.max_notebook_size, "SaturnGallery.max_notebook_size")

    def validate(self, catalog) -> None:
        """Start-up checks against the catalog."""
        self.max_bytes()
        if self.anonymous_size and self.anonymous_size not in catalog.sizes:
            raise ConfigError("SaturnGallery.anonymous_size", f"{self.anonymous_size!r} is not a size", allowed=list(catalog.sizes))
        for key, count in self.warm_pool.items():
            if key not in catalog.images:
                raise ConfigError(f"SaturnGallery.warm_pool.{key}", "is not an image key", allowed=list(catalog.images))
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ConfigError(f"SaturnGallery.warm_pool.{key}", f"expected a whole number >= 0, got {count!r}")
