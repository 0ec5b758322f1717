"""Auto-shutoff policy: which ``auto_shutoff`` choices a server may have, and what it gets.

Rule semantics (configuration shape in :mod:`.shutoff_config`):

1. **Matching.** A cap rule matches a server when *every* key of its ``match`` matches:
   ``size``/``gpu``/``disk``/``image`` when the server's selection has one of the listed
   names, ``groups`` when the user is in *any* listed group, ``throwaway`` when the server's
   throwaway flag equals it. ``match: {}`` matches everything. Rule order does not matter.
2. **Caps combine by minimum.** Every matching rule applies: the idle cap is the smallest
   ``max_idle``, the server's ``max_age`` the smallest ``max_age`` (none -> no age limit).
   Throwaway servers always match the built-in ``throwaway`` rule (default 10m idle,
   1h age), which ``caps`` can tighten but never loosen.
3. **Allowed choices** are the configured durations at or under the idle cap. If no
   configured duration fits under the cap, the cap itself is the one choice (a throwaway
   server with choices 15m/1h/... gets ``"10m"``).
4. **``never``** is allowed when it is among ``choices``, no matching rule caps
   ``max_idle`` (a cap is a hard limit; ``allow_never`` cannot lift it), and ``allow_never``
   resolves to true. It resolves like this: of the matching rules that set
   ``allow_never``, the most specific decide -- rules that match on ``groups`` outrank
   rules that do not, then more match keys outrank fewer; among equally specific
   deciders any ``true`` wins (belonging to one permitted group is enough). When no rule
   sets it, ``never`` is not offered. So ``{match: {}, allow_never: false}`` plus
   ``{match: {groups: [staff]}, allow_never: true}`` grants it to staff only.
5. **Resolving a request.** No choice (missing, ``None`` or ``""``) -> the default; when the
   default is not allowed for this server (over the cap, or ``never`` not granted) it is
   lowered to the largest allowed duration. An explicit choice is matched by value
   (``"60m"``, ``3600`` and ``"1h"`` are the same choice) and must be allowed:
   malformed or not among the choices -> :class:`InvalidChoice` (400) listing the allowed
   choices; over the idle cap (``never`` included) -> ``InvalidChoice`` (400) naming the
   cap and why it applies; ``never`` offered but not granted to this user ->
   :class:`NotEntitled` (403), since the request is well-formed but not permitted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import InvalidChoice, NotEntitled
from .deadlines import Deadlines, deadlines
from .durations import format_duration, parse_duration
from .shutoff_config import NEVER, CapRule, Choice, ShutoffConfig
from .shutoff_state import CHOICE_KEY, STATE_KEY, LoadedShutoff, Shutoff, load_shutoff

__all__ = [
    "CHOICE_KEY",
    "STATE_KEY",
    "Deadlines",
    "LoadedShutoff",
    "Shutoff",
    "ShutoffConfig",
    "ShutoffPolicy",
    "deadlines",
    "load_shutoff",
]

FIELD = CHOICE_KEY


@dataclass(frozen=True)
class _Limits:
    """Everything the rules say about one server, computed once per call."""

    choices: tuple[Choice, ...]  # allowed, ascending, never last
    default: Choice
    idle_cap: int | None
    idle_cap_why: str  # e.g. "gpu 't4'"
    max_age: int | None


class ShutoffPolicy:
    """Resolves ``auto_shutoff`` requests against a :class:`ShutoffConfig`."""

    def __init__(self, config: ShutoffConfig):
        self.config = config

    @classmethod
    def from_config(cls, data: Mapping | None, path: str = "Saturn.auto_shutoff") -> ShutoffPolicy:
        """Shorthand for ``ShutoffPolicy(ShutoffConfig.from_config(data, path))``."""
        return cls(ShutoffConfig.from_config(data, path))

    def allowed_choices(self, selection: Mapping, groups: Iterable[str], throwaway: bool) -> list[str]:
        """Labels for the spawn form, shortest first, ``"never"`` last when granted."""
        return [c.label for c in self._limits(selection, groups, throwaway).choices]

    def default_choice(self, selection: Mapping, groups: Iterable[str], throwaway: bool) -> str:
        """The label :meth:`resolve` uses when no choice is given."""
        return self._limits(selection, groups, throwaway).default.label

    def resolve(
        self, choice: object, *, selection: Mapping, groups: Iterable[str], throwaway: bool
    ) -> Shutoff:
        """The :class:`Shutoff` for a request; raises ``InvalidChoice``/``NotEntitled``."""
        limits = self._limits(selection, groups, throwaway)
        if choice is None or (isinstance(choice, str) and not choice.strip()):
            picked = limits.default
        else:
            picked = self._check(choice, limits)
        return Shutoff(
            choice=picked.label,
            idle_timeout=picked.seconds,
            max_age=limits.max_age,
            warn_before=self.config.warn_before,
            count_busy_kernels=self.config.count_busy_kernels,
        )

    def _check(self, choice: object, limits: _Limits) -> Choice:
        allowed = [c.label for c in limits.choices]
        if not isinstance(choice, (str, int, float)) or isinstance(choice, bool):
            raise InvalidChoice(
                f"auto_shutoff must be one of the choices, as a string; got {type(choice).__name__}",
                field=FIELD,
                allowed=allowed,
            )
        shown = choice.strip()[:40] if isinstance(choice, str) else choice
        if isinstance(choice, str) and choice.strip().lower() == NEVER:
            wanted = Choice.of(None)
        else:
            try:
                wanted = Choice.of(parse_duration(choice, field=FIELD))
            except InvalidChoice:
                raise InvalidChoice(
                    f"auto_shutoff {shown!r} is not one of the choices", field=FIELD, allowed=allowed
                ) from None
            shown = shown if isinstance(choice, str) else wanted.label
        for candidate in limits.choices:
            if candidate == wanted:
                return candidate
        configured = wanted in self.config.choices
        if not configured:
            raise InvalidChoice(f"auto_shutoff {shown!r} is not one of the choices", field=FIELD, allowed=allowed)
        if limits.idle_cap is not None:
            raise InvalidChoice(
                f"auto_shutoff {shown!r} exceeds the {format_duration(limits.idle_cap)} idle cap "
                f"for {limits.idle_cap_why}",
                field=FIELD,
                allowed=allowed,
            )
        raise NotEntitled(
            f"auto_shutoff {NEVER!r} is not granted to you; ask an administrator", field=FIELD, allowed=allowed
        )

    def _limits(self, selection: Mapping, groups: Iterable[str], throwaway: bool) -> _Limits:
        selection = _checked_selection(selection)
        group_set = _group_set(groups)
        throwaway = bool(throwaway)
        rules = [r for r in self.config.caps if r.matches(selection, group_set, throwaway)]
        idle_rule = _tightest(rules, "max_idle")
        age_rule = _tightest(rules, "max_age")
        idle_cap = idle_rule.max_idle if idle_rule else None
        finite = [c for c in self.config.choices if c.seconds is not None]
        if idle_cap is not None:
            finite = [c for c in finite if c.seconds <= idle_cap] or [Choice.of(idle_cap)]
        choices = list(finite)
        never_offered = Choice.of(None) in self.config.choices
        if never_offered and idle_cap is None and _never_granted(rules):
            choices.append(Choice.of(None))
        default = self.config.default
        if default not in choices:
            default = finite[-1]
        return _Limits(
            choices=tuple(choices),
            default=default,
            idle_cap=idle_cap,
            idle_cap_why=idle_rule.describe(selection, group_set) if idle_rule else "",
            max_age=age_rule.max_age if age_rule else None,
        )


def _tightest(rules: list[CapRule], attribute: str) -> CapRule | None:
    """The first matching rule with the smallest value of ``attribute``, if any sets it."""
    best = None
    for rule in rules:
        value = getattr(rule, attribute)
        if value is not None and (best is None or value < getattr(best, attribute)):
            best = rule
    return best


def _never_granted(rules: list[CapRule]) -> bool:
    deciders = [r for r in rules if r.allow_never is not None]
    if not deciders:
        return False
    top = max(r.specificity for r in deciders)
    return any(r.allow_never for r in deciders if r.specificity == top)


def _checked_selection(selection: object) -> Mapping:
    if selection is None:
        return {}
    if not isinstance(selection, Mapping):
        raise InvalidChoice(f"selection must be a mapping, got {type(selection).__name__}", field="selection")
    return selection


def _group_set(groups: object) -> frozenset[str]:
    if groups is None:
        return frozenset()
    if isinstance(groups, str):
        return frozenset([groups])
    try:
        return frozenset(g for g in groups if isinstance(g, str))
    except TypeError:
        raise InvalidChoice(f"groups must be a list of names, got {type(groups).__name__}", field="groups") from None
