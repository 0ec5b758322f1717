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

from traitlets import Any, Dict, Union, List
from traitlets.config import LoggingConfigurable

from .profiles import Catalog, parse_catalog

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
    _catalog = Any(None)

    @property
    def catalog(self) -> Catalog:
        """The parsed catalog; raises :class:`~jupyterhub_saturn.errors.ConfigError` on a mistake."""
        if self._catalog is None:
            key = _cache_key("catalog", self.sizes, self.gpus, self.disks, self.images, self.defaults)
            if key not in _CACHE:
                _CACHE[key] = parse_catalog(
                    sizes=self.sizes, gpus=self.gpus, disks=self.disks, images=self.images, defaults=self.defaults
                )
            self._catalog = _CACHE[key]
        return self._catalog

    def validate(self) -> None:
        """Parse everything now (start-up); raises ConfigError naming the key path."""
        self.catalog  # noqa: B018
