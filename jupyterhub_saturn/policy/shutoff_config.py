"""The ``Saturn.auto_shutoff`` configuration section, parsed and validated once at start-up.

Shape (plain YAML-able data; every key optional)::

    choices: ["15m", "1h", "6h", "24h", "never"]   # what users may pick
    default: "1h"                                   # one of choices
    warn_before: "5m"                               # warning lead time ("0s" = no warning)
    count_busy_kernels: false                       # a busy kernel counts as activity
    throwaway: {max_idle: "10m", max_age: "1h"}     # always applied to throwaway servers
    caps:                                           # see shutoff.py for the semantics
      - {match: {gpu: [t4, a100]}, max_idle: "1h", max_age: "12h"}
      - {match: {groups: [staff]}, allow_never: true}

A key given as ``null`` counts as absent (Helm values often carry empty keys).
A ``match`` maps any of ``size``, ``gpu``, ``disk``, ``image``, ``groups`` to a non-empty
list of names (a single string is read as a one-element list) and ``throwaway`` to a
boolean; ``match: {}`` matches every server and must be written out. A rule sets at least
one of ``max_idle``, ``max_age``, ``allow_never``; ``allow_never: true`` together with
``max_idle`` in one rule is a contradiction and refused.

Every mistake raises :class:`~jupyterhub_saturn.errors.ConfigError` naming the key path,
e.g. ``Saturn.auto_shutoff.caps[1].match.gpu``. Durations are canonicalised: ``"60m"`` is
the choice ``"1h"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..errors import ConfigError
from .durations import config_duration, format_duration

NEVER = "never"
SELECTION_KEYS = ("size", "gpu", "disk", "image")
MATCH_KEYS = (*SELECTION_KEYS, "groups", "throwaway")
SECTION_KEYS = ("choices", "default", "warn_before", "count_busy_kernels", "throwaway", "caps")
RULE_KEYS = ("match", "max_idle", "max_age", "allow_never")
THROWAWAY_KEYS = ("max_idle", "max_age")

DEFAULTS = {
    "choices": ["15m", "1h", "6h", "24h"],
    "default": "1h",
    "warn_before": "5m",
    "count_busy_kernels": False,
    "throwaway": {"max_idle": "10m", "max_age": "1h"},
    "caps": [],
}


@dataclass(frozen=True, order=True)
class Choice:
    """One auto-shutoff option: ``seconds`` of idleness, or ``None`` for never.

    Choices compare by value (``"60m"`` equals ``"1h"``); ``label`` keeps the admin's spelling.
    """

    sort_key: tuple[int, int]
    label: str = field(compare=False)
    seconds: int | None = field(compare=False)

    @classmethod
    def of(cls, seconds: int | None, label: str | None = None) -> Choice:
        """The choice for ``seconds`` (``None`` = never), labelled canonically unless ``label``."""
        if seconds is None:
            return cls((1, 0), NEVER, None)
        return cls((0, seconds), label or format_duration(seconds), seconds)


@dataclass(frozen=True)
class CapRule:
    """One ``caps`` entry: a match plus the limits it imposes on the servers it matches."""

    path: str
    names: tuple[tuple[str, frozenset[str]], ...]  # selection keys and "groups" -> accepted names
    throwaway: bool | None
    max_idle: int | None
    max_age: int | None
    allow_never: bool | None
    label: str | None = None  # fixed description (the built-in throwaway rule)

    def matches(self, selection: Mapping, groups: frozenset[str], throwaway: bool) -> bool:
        """True when every key of ``match`` matches (a list matches any of its names)."""
        if self.throwaway is not None and self.throwaway != throwaway:
            return False
        for key, names in self.names:
            if key == "groups":
                if not names & groups:
                    return False
            elif not _selected_in(selection.get(key), names):
                return False
        return True

    @property
    def names_groups(self) -> bool:
        return any(key == "groups" for key, _ in self.names)

    @property
    def specificity(self) -> tuple[int, int]:
        """Rank for ``allow_never``: group rules first, then the number of match keys."""
        return (int(self.names_groups), len(self.names) + (self.throwaway is not None))

    def describe(self, selection: Mapping, groups: frozenset[str]) -> str:
        """Why this rule applies to *this* server, e.g. ``"gpu 't4' and group 'students'"``."""
        if self.label:
            return self.label
        parts = []
        for key, names in self.names:
            if key == "groups":
                hit = sorted(names & groups)
                noun = "group" if len(hit) == 1 else "groups"
                parts.append(noun + " " + ", ".join(repr(g) for g in hit))
            else:
                parts.append(f"{key} {selection.get(key)!r}")
        if self.throwaway is not None:
            parts.append("throwaway servers" if self.throwaway else "non-throwaway servers")
        return " and ".join(parts) if parts else "all servers"


def _selected_in(value: object, names: frozenset[str]) -> bool:
    return isinstance(value, str) and value in names


@dataclass(frozen=True)
class ShutoffConfig:
    """The validated ``auto_shutoff`` section. Build it with :meth:`from_config`."""

    choices: tuple[Choice, ...]  # ascending, "never" last
    default: Choice
    warn_before: int
    count_busy_kernels: bool
    caps: tuple[CapRule, ...]  # the built-in throwaway rule comes last
    path: str = "Saturn.auto_shutoff"

    @classmethod
    def from_config(cls, data: Mapping | None, path: str = "Saturn.auto_shutoff") -> ShutoffConfig:
        """Validate ``data`` (``None`` = all defaults); raise ``ConfigError`` naming the key path."""
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(path, f"expected a mapping, got {type(data).__name__}")
        _no_unknown_keys(data, path, SECTION_KEYS)
        merged = {**DEFAULTS, **{k: v for k, v in data.items() if v is not None}}
        choices = _parse_choices(merged["choices"], f"{path}.choices")
        default = parse_config_choice(merged["default"], f"{path}.default")
        if default not in choices:
            raise ConfigError(
                f"{path}.default",
                f"{default.label!r} is not one of the choices",
                allowed=[c.label for c in choices],
            )
        default = choices[choices.index(default)]  # take the label as spelled in choices
        warn_before = config_duration(merged["warn_before"], path=f"{path}.warn_before", allow_zero=True)
        busy = merged["count_busy_kernels"]
        if not isinstance(busy, bool):
            raise ConfigError(f"{path}.count_busy_kernels", f"expected true or false, got {busy!r}")
        rules = _parse_caps(merged["caps"], f"{path}.caps")
        rules.append(_parse_throwaway(merged["throwaway"], f"{path}.throwaway"))
        config = cls(tuple(choices), default, warn_before, busy, tuple(rules), path)
        config._check_warn_before()
        return config

    def _check_warn_before(self) -> None:
        if not self.warn_before:
            return
        spans = [(c.seconds, f"{self.path}.choices") for c in self.choices if c.seconds is not None]
        for rule in self.caps:
            spans += [(v, f"{rule.path}.{k}") for k, v in (("max_idle", rule.max_idle), ("max_age", rule.max_age)) if v]
        for seconds, where in spans:
            if seconds <= self.warn_before:
                raise ConfigError(
                    f"{self.path}.warn_before",
                    f"{format_duration(self.warn_before)} must be shorter than every shutoff time, "
                    f"but {where} has {format_duration(seconds)}",
                )


def parse_config_choice(value: object, path: str) -> Choice:
    """A choice written in config: ``"never"`` or a duration."""
    if isinstance(value, str) and value.strip().lower() == NEVER:
        return Choice.of(None)
    label = value.strip().lower() if isinstance(value, str) else None
    return Choice.of(config_duration(value, path=path), label)


def _parse_choices(value: object, path: str) -> list[Choice]:
    if not isinstance(value, list) or not value:
        raise ConfigError(path, "expected a non-empty list such as ['15m', '1h', 'never']")
    seen: dict[Choice, int] = {}
    for i, item in enumerate(value):
        choice = parse_config_choice(item, f"{path}[{i}]")
        if choice in seen:
            raise ConfigError(f"{path}[{i}]", f"{item!r} repeats {path}[{seen[choice]}] ({choice.label!r})")
        seen[choice] = i
    if all(c.seconds is None for c in seen):
        raise ConfigError(path, "needs at least one duration besides 'never'")
    return sorted(seen)


def _parse_caps(value: object, path: str) -> list[CapRule]:
    if not isinstance(value, list):
        raise ConfigError(path, f"expected a list of rules, got {type(value).__name__}")
    return [_parse_rule(item, f"{path}[{i}]") for i, item in enumerate(value)]


def _parse_rule(data: object, path: str) -> CapRule:
    if not isinstance(data, Mapping):
        raise ConfigError(path, f"expected a mapping with 'match' and limits, got {type(data).__name__}")
    _no_unknown_keys(data, path, RULE_KEYS)
    if "match" not in data:
        raise ConfigError(f"{path}.match", "is missing (write 'match: {}' to match every server)")
    names, throwaway = _parse_match(data["match"], f"{path}.match")
    max_idle = _optional_duration(data, "max_idle", path)
    max_age = _optional_duration(data, "max_age", path)
    allow_never = data.get("allow_never")
    if allow_never is not None and not isinstance(allow_never, bool):
        raise ConfigError(f"{path}.allow_never", f"expected true or false, got {allow_never!r}")
    if max_idle is None and max_age is None and allow_never is None:
        raise ConfigError(path, "sets nothing", allowed=RULE_KEYS[1:])
    if allow_never and max_idle is not None:
        raise ConfigError(f"{path}.allow_never", "cannot be true in a rule that caps max_idle")
    return CapRule(path, names, throwaway, max_idle, max_age, allow_never)


def _parse_match(data: object, path: str) -> tuple[tuple[tuple[str, frozenset[str]], ...], bool | None]:
    if not isinstance(data, Mapping):
        raise ConfigError(path, f"expected a mapping, got {type(data).__name__}", allowed=MATCH_KEYS)
    _no_unknown_keys(data, path, MATCH_KEYS)
    throwaway = data.get("throwaway")
    if "throwaway" in data and not isinstance(throwaway, bool):
        raise ConfigError(f"{path}.throwaway", f"expected true or false, got {throwaway!r}")
    names = tuple((key, _name_set(data[key], f"{path}.{key}")) for key in MATCH_KEYS[:-1] if key in data)
    return names, throwaway


def _name_set(value: object, path: str) -> frozenset[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ConfigError(path, "expected a non-empty list of names")
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise ConfigError(f"{path}[{i}]", f"expected a non-empty string, got {item!r}")
    return frozenset(items)


def _optional_duration(data: Mapping, key: str, path: str) -> int | None:
    value = data.get(key)
    return None if value is None else config_duration(value, path=f"{path}.{key}")


def _parse_throwaway(data: object, path: str) -> CapRule:
    if not isinstance(data, Mapping):
        raise ConfigError(path, f"expected a mapping, got {type(data).__name__}", allowed=THROWAWAY_KEYS)
    _no_unknown_keys(data, path, THROWAWAY_KEYS)
    merged = {**DEFAULTS["throwaway"], **{k: v for k, v in data.items() if v is not None}}
    max_idle = config_duration(merged["max_idle"], path=f"{path}.max_idle")
    max_age = config_duration(merged["max_age"], path=f"{path}.max_age")
    return CapRule(path, (), True, max_idle, max_age, None, label="throwaway servers")


def _no_unknown_keys(data: Mapping, path: str, known: Iterable[str]) -> None:
    known = tuple(known)
    for key in data:
        if key not in known:
            raise ConfigError(f"{path}.{key}", "unknown key", allowed=known)
