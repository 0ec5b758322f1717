"""Admin-declared user_options keys beyond the profile kinds (``c.Saturn.extra_options``). Pure Python.

An admin who extends the spawn form or the API declares each extra key once, as plain config::

    c.Saturn.extra_options = {
        "team": {"type": "str", "choices": ["red", "blue"], "display_name": "Team"},
        "workers": {"type": "int", "min": 1, "max": 8},
        "debug": {"type": "bool"},
    }

A declared key passes validation (its value checked against its type and allowed values, a clear 400
otherwise) and reaches ``apply_user_options`` and ``pre_spawn_hook`` in ``spawner.user_options``;
an undeclared key is still refused with 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import ConfigError, InvalidChoice
from .catalog import KINDS

TYPES = ("str", "int", "bool")
_FIELDS = ("type", "choices", "min", "max", "max_length", "display_name", "description")
#: keys the product itself uses; an extra option may not take one
RESERVED = (*KINDS, "auto_shutoff", "saturn_shutoff", "saturn_notebook")
_TRUE, _FALSE = ("true", "on", "1", "yes"), ("false", "off", "0", "no", "")


@dataclass(frozen=True)
class ExtraOption:
    """One declared user_options key."""

    key: str
    type: str = "str"
    choices: tuple = ()
    min: int | None = None
    max: int | None = None
    max_length: int = 256
    display_name: str = ""
    description: str = ""

    def check(self, value):
        """The value as stored (typed), or :class:`InvalidChoice` naming the key and what is allowed."""
        allowed = [str(c) for c in self.choices] or None
        if isinstance(value, (list, tuple)) and len(value) == 1:
            value = value[0]  # a form field's one value
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
                return value.lower() in _TRUE
            raise InvalidChoice(f"{self.key} must be true or false, got {value!r}", field=self.key,
                                allowed=["true", "false"])
        if self.type == "int":
            number = _as_int(value)
            if number is None:
                raise InvalidChoice(f"{self.key} must be a whole number, got {value!r}", field=self.key,
                                    allowed=allowed)
            if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
                raise InvalidChoice(f"{self.key} must be between {self.min} and {self.max}, got {number}",
                                    field=self.key, allowed=allowed)
            value = number
        elif not isinstance(value, str):
            raise InvalidChoice(f"{self.key} must be a string, got {type(value).__name__} {value!r}",
                                field=self.key, allowed=allowed)
        elif len(value) > self.max_length:
            raise InvalidChoice(f"{self.key} is longer than {self.max_length} characters", field=self.key,
                                allowed=allowed)
        if self.choices and value not in self.choices:
            raise InvalidChoice(f"unknown {self.key} {value!r}", field=self.key, allowed=allowed)
        return value


def _as_int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 20:
        return int(value.strip())
    return None


def parse_extra_options(data, path: str = "Saturn.extra_options") -> dict[str, ExtraOption]:
    """Parse the declarations; raises :class:`ConfigError` naming the key path."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(path, f"expected a dict of key -> declaration, got {type(data).__name__}")
    out = {}
    for key, spec in data.items():
        where = f"{path}.{key}"
        if not isinstance(key, str) or not key or key in RESERVED:
            raise ConfigError(where, "is not a free user_options key (the product's own keys: "
                                     + ", ".join(RESERVED) + ")")
        if not isinstance(spec, Mapping):
            raise ConfigError(where, f"expected a dict like {{'type': 'str'}}, got {spec!r}")
        unknown = sorted(set(spec) - set(_FIELDS))
        if unknown:
            raise ConfigError(f"{where}.{unknown[0]}", "is not a field of an extra option", allowed=_FIELDS)
        kind = spec.get("type", "str")
        if kind not in TYPES:
            raise ConfigError(f"{where}.type", f"unknown type {kind!r}", allowed=TYPES)
        choices = spec.get("choices") or ()
        if not isinstance(choices, (list, tuple)) or (kind == "bool" and choices):
            raise ConfigError(f"{where}.choices", "expected a list of values (not for bool)")
        want = int if kind == "int" else str
        for c in choices:
            if not isinstance(c, want) or isinstance(c, bool):
                raise ConfigError(f"{where}.choices", f"{c!r} is not a {kind}")
        for bound in ("min", "max", "max_length"):
            v = spec.get(bound)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                raise ConfigError(f"{where}.{bound}", f"expected a whole number, got {v!r}")
        out[key] = ExtraOption(
            key=key, type=kind, choices=tuple(choices), min=spec.get("min"), max=spec.get("max"),
            max_length=spec.get("max_length") or 256, display_name=str(spec.get("display_name") or key),
            description=str(spec.get("description") or ""),
        )
    return out


def check_extra_options(declared: Mapping[str, ExtraOption], user_options) -> dict:
    """The declared keys present in ``user_options``, each checked and typed."""
    if not isinstance(user_options, Mapping):
        return {}
    return {key: opt.check(user_options[key]) for key, opt in declared.items() if key in user_options}
