"""Identity claims -> JupyterHub group names, as plain config data. Pure Python.

A rule reads one claim (a dotted path into the claims dict; a string, number, bool or a list
of them) and turns its values into hub groups::

    {"claim": "groups",                      # where to look ("realm_access.roles" works too)
     "map": {"cs101-students": "students",   # exact value -> one group or a list of groups
             "cs101-staff": ["instructors", "cs101-instructors", "cs101"]},
     "patterns": [{"match": "^(?P<course>cs[0-9]+)-students$", "groups": ["students", "{course}"]}],
     "keep_unmapped": False,                 # also keep values no map/pattern matched ...
     "prefix": "",                           # ... as "<prefix><value>"
     "required": False}                      # a missing claim refuses the login, naming it

The config value is one rule or a list of rules; the user's groups are the union of all rules.
Group names must look like ``[A-Za-z0-9][A-Za-z0-9._:@-]*``; kept values that don't are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from string import Formatter

from ..errors import ConfigError

GROUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,254}$")
RULE_KEYS = ("claim", "map", "patterns", "keep_unmapped", "prefix", "required")
PATTERN_KEYS = ("match", "groups")
_MISSING = object()


class MissingClaim(Exception):
    """A claim a rule requires is absent from what the provider sent."""

    def __init__(self, claim: str):
        self.claim = claim
        super().__init__(claim)


@dataclass(frozen=True)
class Pattern:
    """``match`` (a regex, full match) -> group name templates using its named groups."""

    regex: re.Pattern
    groups: tuple[str, ...]


@dataclass(frozen=True)
class GroupRule:
    """One claim's values -> hub groups (see the module docstring for the config shape)."""

    claim: str
    map: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    patterns: tuple[Pattern, ...] = ()
    keep_unmapped: bool = False
    prefix: str = ""
    required: bool = False


def _group_names(value, path: str) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not names:
        raise ConfigError(path, f"expected a group name or a non-empty list of group names, got {value!r}")
    for i, name in enumerate(names):
        where = path if isinstance(value, str) else f"{path}[{i}]"
        if not isinstance(name, str) or not GROUP_NAME.match(name):
            raise ConfigError(where, f"{name!r} is not a valid group name (letters, digits and ._:@- only)")
    return tuple(names)


def _parse_pattern(spec, path: str) -> Pattern:
    if not isinstance(spec, Mapping):
        raise ConfigError(path, f"expected a mapping, got {spec!r}")
    unknown = sorted(set(spec) - set(PATTERN_KEYS))
    if unknown:
        raise ConfigError(f"{path}.{unknown[0]}", "unknown key", allowed=PATTERN_KEYS)
    if not isinstance(spec.get("match"), str):
        raise ConfigError(f"{path}.match", "required: a regular expression (string)")
    try:
        regex = re.compile(spec["match"])
    except re.error as e:
        raise ConfigError(f"{path}.match", f"invalid regular expression: {e}") from None
    templates = spec.get("groups")
    templates = [templates] if isinstance(templates, str) else templates
    if not isinstance(templates, list) or not templates:
        raise ConfigError(f"{path}.groups", "required: a group name template or a list of them")
    for i, template in enumerate(templates):
        where = f"{path}.groups[{i}]"
        if not isinstance(template, str):
            raise ConfigError(where, f"expected a string, got {template!r}")
        try:
            fields = [f for _, f, _, _ in Formatter().parse(template) if f is not None]
        except ValueError as e:
            raise ConfigError(where, f"invalid template: {e}") from None
        for name in fields:
            if name not in regex.groupindex:
                raise ConfigError(where, f"{{{name}}} is not a named group of the pattern", allowed=list(regex.groupindex))
        if not fields and not GROUP_NAME.match(template):
            raise ConfigError(where, f"{template!r} is not a valid group name")
    return Pattern(regex=regex, groups=tuple(templates))


def parse_rules(value, path: str) -> tuple[GroupRule, ...]:
    """Validate the config value (``None``, one rule or a list of rules); raises ConfigError naming ``path``."""
    if value is None:
        return ()
    specs = [value] if isinstance(value, Mapping) else value
    if not isinstance(specs, (list, tuple)):
        raise ConfigError(path, f"expected a rule (mapping) or a list of rules, got {value!r}")
    rules = []
    for i, spec in enumerate(specs):
        where = f"{path}[{i}]" if not isinstance(value, Mapping) else path
        if not isinstance(spec, Mapping):
            raise ConfigError(where, f"expected a mapping, got {spec!r}")
        unknown = sorted(set(spec) - set(RULE_KEYS))
        if unknown:
            raise ConfigError(f"{where}.{unknown[0]}", "unknown key", allowed=RULE_KEYS)
        claim = spec.get("claim")
        if not isinstance(claim, str) or not claim.strip("."):
            raise ConfigError(f"{where}.claim", "required: the name of the claim to read, e.g. 'groups'")
        mapping = spec.get("map") or {}
        if not isinstance(mapping, Mapping):
            raise ConfigError(f"{where}.map", f"expected a mapping of claim value -> group(s), got {mapping!r}")
        parsed_map = {str(k): _group_names(v, f"{where}.map.{k}") for k, v in mapping.items()}
        patterns = spec.get("patterns") or []
        if not isinstance(patterns, (list, tuple)):
            raise ConfigError(f"{where}.patterns", f"expected a list, got {patterns!r}")
        parsed_patterns = tuple(_parse_pattern(p, f"{where}.patterns[{j}]") for j, p in enumerate(patterns))
        flags = {}
        for key in ("keep_unmapped", "required"):
            flag = spec.get(key, False)
            if not isinstance(flag, bool):
                raise ConfigError(f"{where}.{key}", f"expected true or false, got {flag!r}")
            flags[key] = flag
        prefix = spec.get("prefix", "")
        if not isinstance(prefix, str):
            raise ConfigError(f"{where}.prefix", f"expected a string, got {prefix!r}")
        if not (parsed_map or parsed_patterns or flags["keep_unmapped"]):
            raise ConfigError(where, "the rule yields no groups: give 'map', 'patterns' or keep_unmapped: true")
        rules.append(GroupRule(claim=claim, map=parsed_map, patterns=parsed_patterns, prefix=prefix, **flags))
    return tuple(rules)


def claim_value(claims: Mapping, path: str):
    """The value at dotted ``path`` in ``claims`` (exact key first, so URL-shaped claim names work)."""
    if path in claims:
        return claims[path]
    node = claims
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _as_strings(value) -> list[str]:
    if value is None or value is _MISSING:
        return []
    items = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, (str, int, float)):
            out.append(str(item))
    return out


def groups_from_claims(claims: Mapping, rules: Iterable[GroupRule]) -> set[str]:
    """The hub groups ``claims`` map to under ``rules``; raises MissingClaim for a required claim."""
    groups: set[str] = set()
    for rule in rules:
        raw = claim_value(claims, rule.claim)
        if raw is _MISSING and rule.required:
            raise MissingClaim(rule.claim)
        for value in _as_strings(raw):
            matched = False
            if value in rule.map:
                groups.update(rule.map[value])
                matched = True
            for pattern in rule.patterns:
                m = pattern.regex.fullmatch(value)
                if m:
                    fields = {k: v for k, v in m.groupdict().items() if v is not None}
                    for template in pattern.groups:
                        try:
                            name = template.format_map(fields)
                        except KeyError:
                            continue
                        if GROUP_NAME.match(name):
                            groups.add(name)
                    matched = True
            if not matched and rule.keep_unmapped:
                name = rule.prefix + value
                if GROUP_NAME.match(name):
                    groups.add(name)
    return groups


def claims_referenced(rules: Iterable[GroupRule]) -> set[str]:
    """The top-level claim names the rules read (to decide which scopes/lookups are needed)."""
    return {rule.claim.split(".")[0] for rule in rules}


def missing_claims(claims: Mapping, required: Iterable[str]) -> list[str]:
    """The required claim paths absent (or empty) in ``claims``, in order."""
    out = []
    for path in required:
        value = claim_value(claims, path)
        if value is _MISSING or value is None or value == "" or value == []:
            out.append(path)
    return out


def _names(items: Iterable[str]) -> str:
    items = sorted(items)
    return ", ".join(items) if items else "none"


def not_allowed_message(username: str, groups: Iterable[str], allowed: Iterable[str]) -> str:
    """The text of the 403 page for a signed-in user none of whose groups is allowed."""
    return (
        f"You signed in as {username}, but none of your groups may use this hub. "
        f"Your groups: {_names(groups)}. Groups allowed here: {_names(allowed)}. "
        "If you should have access, ask your course staff or the hub administrator to add you to one "
        "of the allowed groups at your sign-in provider, then sign in again."
    )


def missing_claim_message(claims: Iterable[str], provider: str) -> str:
    """The text of the page for a login whose provider did not send a required claim."""
    names = ", ".join(repr(c) for c in claims)
    plural = "claims" if "," in names else "claim"
    return (
        f"{provider} did not send the {plural} {names}, which this hub needs to sign you in. "
        "Ask the hub administrator to have the provider release it to this hub "
        "(often a missing scope or claim mapping), then sign in again."
    )
