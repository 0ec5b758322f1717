"""The catalog: sizes, GPUs, disks and images an administrator offers, parsed and validated once.

Plain data in (what ``c.Saturn.sizes`` etc. hold, YAML-able for helm values), frozen
dataclasses out. Every mistake raises :class:`~jupyterhub_saturn.errors.ConfigError`
naming the key path, e.g. ``Saturn.sizes.large.memory``.

Each entry may carry ``groups``: the hub groups whose members may use it (absent = everyone).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import ConfigError
from .quantities import format_cpu, format_size, parse_cpu, parse_size

KINDS = ("size", "gpu", "disk", "image")
NO_GPU = "none"
_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


@dataclass(frozen=True)
class Choice:
    """What every catalog entry has: its key (the user_options value), a label, and who may use it."""

    key: str
    display_name: str
    description: str = ""
    groups: frozenset[str] | None = None

    def entitled(self, user_groups) -> bool:
        """True if a member of ``user_groups`` may use this entry."""
        return self.groups is None or bool(self.groups & set(user_groups))


@dataclass(frozen=True)
class Size(Choice):
    """CPU and memory for one server. ``cpu``/``memory`` are limits; guarantees are backend policy."""

    cpu: float = 1.0
    memory: int = 2 * 10**9


@dataclass(frozen=True)
class Gpu(Choice):
    """A GPU type and count, with the placement data the Kubernetes backend needs."""

    count: int = 0
    resource: str = "nvidia.com/gpu"
    product: str = ""
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple = ()
    shm: int | None = None


@dataclass(frozen=True)
class Disk(Choice):
    """A persistent home-directory size, in bytes."""

    bytes: int = 10 * 2**30
    storage_class: str | None = None


@dataclass(frozen=True)
class Image(Choice):
    """An environment: a container image (Kubernetes) and/or a Python prefix (local processes)."""

    image: str = ""
    prefix: str = ""
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalog:
    """Everything that can be chosen, keyed by kind, with the configured defaults."""

    sizes: Mapping[str, Size]
    gpus: Mapping[str, Gpu]
    disks: Mapping[str, Disk]
    images: Mapping[str, Image]
    defaults: Mapping[str, str]

    def choices(self, kind: str) -> Mapping[str, Choice]:
        """The entries of one kind (``size``, ``gpu``, ``disk``, ``image``) in config order."""
        return {"size": self.sizes, "gpu": self.gpus, "disk": self.disks, "image": self.images}[kind]

    def display_name(self, kind: str, key: str) -> str:
        """The label people see for ``key`` of ``kind`` (``"No GPU"`` for the no-GPU choice; unknown keys as given)."""
        if kind == "gpu" and key == NO_GPU:
            return "No GPU"
        entry = self.choices(kind).get(key) if kind in KINDS else None
        return entry.display_name if entry is not None else str(key)

    def groups_named(self) -> set[str]:
        """Every group any entry names (for start-up warnings about unknown groups)."""
        names: set[str] = set()
        for kind in KINDS:
            for entry in self.choices(kind).values():
                names |= set(entry.groups or ())
        return names


# ---------------------------------------------------------------- parsing helpers


def _check_keys(data: Mapping, allowed: set[str], path: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{path}.{unknown[0]}", "unknown key", allowed=sorted(allowed))


def _str(data: Mapping, key: str, path: str, default: str = "") -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{path}.{key}", f"expected a string, got {value!r}")
    return value


def _groups(data: Mapping, path: str) -> frozenset[str] | None:
    if "groups" not in data or data["groups"] is None:
        return None
    groups = data["groups"]
    if isinstance(groups, str) or not isinstance(groups, (list, tuple, set, frozenset)):
        raise ConfigError(f"{path}.groups", f"expected a list of group names, got {groups!r}")
    if not groups:
        raise ConfigError(
            f"{path}.groups",
            "names no group, so nobody could use this entry; remove the key to allow everyone",
        )
    for g in groups:
        if not isinstance(g, str) or not g.strip():
            raise ConfigError(f"{path}.groups", f"group names must be non-empty strings, got {g!r}")
    return frozenset(groups)


def _entries(raw, path: str) -> dict[str, Mapping]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(path, f"expected a mapping of key -> settings, got {type(raw).__name__}")
    out = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not _KEY_RE.match(key):
            raise ConfigError(
                f"{path}.{key}",
                "keys must be 1-63 characters of letters, digits, '.', '_' or '-', starting with a letter or digit",
            )
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}.{key}", f"expected a mapping of settings, got {value!r}")
        out[key] = value
    return out


_COMMON = {"display_name", "description", "groups"}


def _common(key: str, data: Mapping, path: str, default_name: str) -> dict:
    return {
        "key": key,
        "display_name": _str(data, "display_name", path, default_name) or default_name,
        "description": _str(data, "description", path),
        "groups": _groups(data, path),
    }


def _parse_size(key: str, data: Mapping, path: str) -> Size:
    _check_keys(data, _COMMON | {"cpu", "memory"}, path)
    for required in ("cpu", "memory"):
        if required not in data:
            raise ConfigError(f"{path}.{required}", "is required")
    cpu = parse_cpu(data["cpu"], f"{path}.cpu")
    memory = parse_size(data["memory"], f"{path}.memory")
    label = f"{key} — {format_cpu(cpu)} CPU, {format_size(memory)} RAM"
    return Size(cpu=cpu, memory=memory, **_common(key, data, path, label))


def _parse_tolerations(value, path: str) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise ConfigError(path, f"expected a list of tolerations, got {value!r}")
    allowed = {"key", "operator", "value", "effect", "tolerationSeconds"}
    for i, tol in enumerate(value):
        if not isinstance(tol, Mapping):
            raise ConfigError(f"{path}[{i}]", f"expected a toleration mapping, got {tol!r}")
        _check_keys(tol, allowed, f"{path}[{i}]")
    return tuple(dict(t) for t in value)


def _parse_gpu(key: str, data: Mapping, path: str) -> Gpu:
    if key == NO_GPU:
        raise ConfigError(path, f"'{NO_GPU}' is built in (no GPU) and cannot be configured")
    _check_keys(
        data,
        _COMMON | {"count", "resource", "product", "node_selector", "tolerations", "shm"},
        path,
    )
    count = data.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigError(f"{path}.count", f"expected a whole number of GPUs >= 1, got {count!r}")
    selector = data.get("node_selector") or {}
    if not isinstance(selector, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in selector.items()
    ):
        raise ConfigError(f"{path}.node_selector", f"expected a mapping of label -> value strings, got {selector!r}")
    shm = data.get("shm")
    label = f"{count} × {key}"
    return Gpu(
        count=count,
        resource=_str(data, "resource", path, "nvidia.com/gpu") or "nvidia.com/gpu",
        product=_str(data, "product", path),
        node_selector=dict(selector),
        tolerations=_parse_tolerations(data.get("tolerations"), f"{path}.tolerations"),
        shm=parse_size(shm, f"{path}.shm") if shm is not None else None,
        **_common(key, data, path, label),
    )


def _parse_disk(key: str, data: Mapping, path: str) -> Disk:
    _check_keys(data, _COMMON | {"size", "storage_class"}, path)
    size = parse_size(data.get("size", key), f"{path}.size" if "size" in data else path)
    storage_class = data.get("storage_class")
    if storage_class is not None and not isinstance(storage_class, str):
        raise ConfigError(f"{path}.storage_class", f"expected a string, got {storage_class!r}")
    return Disk(bytes=size, storage_class=storage_class, **_common(key, data, path, format_size(size)))


def _parse_image(key: str, data: Mapping, path: str) -> Image:
    _check_keys(data, _COMMON | {"image", "prefix", "env"}, path)
    env = data.get("env") or {}
    if not isinstance(env, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise ConfigError(f"{path}.env", f"expected a mapping of NAME -> string, got {env!r}")
    return Image(
        image=_str(data, "image", path),
        prefix=_str(data, "prefix", path),
        env=dict(env),
        **_common(key, data, path, key),
    )


def _disks_as_mapping(raw, path):
    """Disks may be written as a plain list of sizes: ``["10Gi", "50Gi"]``."""
    if isinstance(raw, (list, tuple)):
        out = {}
        for i, item in enumerate(raw):
            if not isinstance(item, str):
                raise ConfigError(f"{path}[{i}]", f"expected a size string like '10Gi', got {item!r}")
            out[item] = {}
        return out
    return raw


DEFAULT_SIZES = {"small": {"display_name": "Small — 1 CPU, 2 GB", "cpu": 1, "memory": "2G"}}
DEFAULT_DISKS = {"10Gi": {}}
DEFAULT_IMAGES = {"default": {"display_name": "Default environment"}}


def parse_catalog(
    *, sizes=None, gpus=None, disks=None, images=None, defaults=None, prefix: str = "Saturn"
) -> Catalog:
    """Build a :class:`Catalog` from plain config data, or raise :class:`ConfigError`."""
    parsed_sizes = {
        k: _parse_size(k, v, f"{prefix}.sizes.{k}")
        for k, v in _entries(DEFAULT_SIZES if sizes is None else sizes, f"{prefix}.sizes").items()
    }
    parsed_gpus = {NO_GPU: Gpu(key=NO_GPU, display_name="No GPU", count=0)}
    parsed_gpus.update(
        {k: _parse_gpu(k, v, f"{prefix}.gpus.{k}") for k, v in _entries(gpus, f"{prefix}.gpus").items()}
    )
    raw_disks = _disks_as_mapping(DEFAULT_DISKS if disks is None else disks, f"{prefix}.disks")
    parsed_disks = {k: _parse_disk(k, v, f"{prefix}.disks.{k}") for k, v in _entries(raw_disks, f"{prefix}.disks").items()}
    parsed_images = {
        k: _parse_image(k, v, f"{prefix}.images.{k}")
        for k, v in _entries(DEFAULT_IMAGES if images is None else images, f"{prefix}.images").items()
    }
    for kind, entries in (("sizes", parsed_sizes), ("disks", parsed_disks), ("images", parsed_images)):
        if not entries:
            raise ConfigError(f"{prefix}.{kind}", "must offer at least one choice")

    catalog_maps = {"size": parsed_sizes, "gpu": parsed_gpus, "disk": parsed_disks, "image": parsed_images}
    raw_defaults = defaults or {}
    if not isinstance(raw_defaults, Mapping):
        raise ConfigError(f"{prefix}.defaults", f"expected a mapping of kind -> key, got {raw_defaults!r}")
    _check_keys(raw_defaults, set(KINDS), f"{prefix}.defaults")
    resolved = {}
    for kind in KINDS:
        entries = catalog_maps[kind]
        if kind in raw_defaults:
            choice = raw_defaults[kind]
            if choice not in entries:
                raise ConfigError(f"{prefix}.defaults.{kind}", f"{choice!r} is not one of the {kind} choices", allowed=list(entries))
            resolved[kind] = choice
        else:
            resolved[kind] = next(iter(entries))
    return Catalog(
        sizes=parsed_sizes, gpus=parsed_gpus, disks=parsed_disks, images=parsed_images, defaults=resolved
    )
