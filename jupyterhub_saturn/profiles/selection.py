"""The selection: user_options + the user's groups → what to start, or a clear error.

``select()`` is the only place that decides whether a request is valid. Adapters turn
:class:`~jupyterhub_saturn.errors.InvalidChoice` into HTTP 400 and
:class:`~jupyterhub_saturn.errors.NotEntitled` into HTTP 403, message unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import InvalidChoice, NotEntitled
from .catalog import KINDS, Catalog, Choice, Disk, Gpu, Image, Size


@dataclass(frozen=True)
class Selection:
    """One valid, entitled choice of each kind."""

    size: Size
    gpu: Gpu
    disk: Disk
    image: Image

    def user_options(self) -> dict[str, str]:
        """The normalized user_options (every kind present, by key)."""
        return {"size": self.size.key, "gpu": self.gpu.key, "disk": self.disk.key, "image": self.image.key}

    def summary(self) -> str:
        """A one-line human description, e.g. for logs and the hub home page."""
        parts = [self.size.display_name]
        if self.gpu.count:
            parts.append(self.gpu.display_name)
        parts += [f"{self.disk.display_name} disk", self.image.display_name]
        return ", ".join(parts)


def entitled_choices(catalog: Catalog, kind: str, groups: Iterable[str]) -> dict[str, Choice]:
    """The entries of ``kind`` a member of ``groups`` may use, in config order."""
    groups = set(groups)
    return {k: c for k, c in catalog.choices(kind).items() if c.entitled(groups)}


def default_choice(catalog: Catalog, kind: str, groups: Iterable[str]) -> str:
    """The configured default if the user may use it, else their first entitled choice."""
    allowed = entitled_choices(catalog, kind, groups)
    if not allowed:
        raise NotEntitled(
            f"no {kind} is available to you; ask an administrator to add you to a group that may use one",
            field=kind,
            allowed=[],
        )
    configured = catalog.defaults[kind]
    return configured if configured in allowed else next(iter(allowed))


def select(
    catalog: Catalog,
    user_options,
    groups: Iterable[str],
    *,
    extra_keys: Iterable[str] = (),
    ignored_keys: Iterable[str] = (),
) -> Selection:
    """Validate ``user_options`` for a member of ``groups``.

    Missing kinds take the user's default; ``extra_keys`` are keys other parts of the
    product validate (e.g. ``auto_shutoff``) and are accepted here without a look;
    ``ignored_keys`` are accepted too but not offered in messages (state the product
    stores itself and recomputes, e.g. ``saturn_shutoff``).
    """
    if user_options is None:
        user_options = {}
    if not isinstance(user_options, Mapping):
        raise InvalidChoice(
            f"user_options must be an object like {{\"size\": \"...\"}}, got {type(user_options).__name__}",
            field="user_options",
        )
    allowed_keys = list(KINDS) + [k for k in extra_keys if k not in KINDS]
    ignored = set(ignored_keys)
    for key in user_options:
        if key not in allowed_keys and key not in ignored:
            raise InvalidChoice(f"unknown option {key!r}", field=str(key), allowed=allowed_keys)
    groups = set(groups)
    chosen = {}
    for kind in KINDS:
        value = user_options.get(kind)
        every = catalog.choices(kind)
        if value is None:
            chosen[kind] = every[default_choice(catalog, kind, groups)]
            continue
        entitled = entitled_choices(catalog, kind, groups)
        if not isinstance(value, str):
            raise InvalidChoice(
                f"{kind} must be a string, got {type(value).__name__} {value!r}", field=kind, allowed=list(entitled)
            )
        if value not in every:
            raise InvalidChoice(f"unknown {kind} {value!r}", field=kind, allowed=list(entitled))
        if value not in entitled:
            needs = ", ".join(sorted(every[value].groups or ()))
            raise NotEntitled(
                f"you may not use {kind} {value!r}: it is for members of {needs}", field=kind, allowed=list(entitled)
            )
        chosen[kind] = every[value]
    return Selection(**chosen)
