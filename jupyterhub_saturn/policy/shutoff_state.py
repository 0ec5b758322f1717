"""A resolved auto-shutoff (:class:`Shutoff`) and its JSON form stored in ``user_options``.

The spawner stores::

    {"auto_shutoff": "1h",
     "saturn_shutoff": {"idle_timeout": 3600, "max_age": 43200, "warn_before": 300,
                        "count_busy_kernels": false}}

so the culler needs no copy of the configuration. :func:`load_shutoff` reads it back
leniently: state from an older version, another spawner or plain garbage never raises;
it yields ``LoadedShutoff(None, "<why>")`` and the culler falls back to its own default.
Missing optional fields take their defaults (``max_age`` none, ``warn_before`` 0,
``count_busy_kernels`` false); a present but invalid value makes the whole record unusable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from .durations import MAX_SECONDS, format_duration

CHOICE_KEY = "auto_shutoff"
STATE_KEY = "saturn_shutoff"
NEVER = "never"


@dataclass(frozen=True)
class Shutoff:
    """When a server shuts itself off: after ``idle_timeout`` seconds idle (``None`` = never)
    or ``max_age`` seconds after starting (``None`` = no limit), warning ``warn_before``
    seconds ahead (0 = no warning). ``choice`` is the label the user saw."""

    choice: str
    idle_timeout: int | None
    max_age: int | None
    warn_before: int
    count_busy_kernels: bool = False

    def to_user_options(self) -> dict:
        """The JSON-able dict to merge into the server's ``user_options``."""
        return {
            CHOICE_KEY: self.choice,
            STATE_KEY: {
                "idle_timeout": self.idle_timeout,
                "max_age": self.max_age,
                "warn_before": self.warn_before,
                "count_busy_kernels": self.count_busy_kernels,
            },
        }

    def summary(self) -> str:
        """One line for people, e.g. ``"shuts off after 1h idle, at most 12h after start"``."""
        idle = "never shuts off when idle" if self.idle_timeout is None else (
            f"shuts off after {format_duration(self.idle_timeout)} idle"
        )
        if self.max_age is None:
            return idle
        return f"{idle}, at most {format_duration(self.max_age)} after start"


class LoadedShutoff(NamedTuple):
    """What :func:`load_shutoff` found: a ``shutoff``, or ``None`` and the ``problem``."""

    shutoff: Shutoff | None
    problem: str | None


class _Bad(Exception):
    pass


def load_shutoff(user_options: object) -> LoadedShutoff:
    """Read a :class:`Shutoff` back from ``user_options``; never raises."""
    try:
        return LoadedShutoff(_load(user_options), None)
    except _Bad as bad:
        return LoadedShutoff(None, str(bad))


def _load(user_options: object) -> Shutoff:
    if not isinstance(user_options, Mapping):
        raise _Bad(f"user_options is {type(user_options).__name__}, not a mapping")
    state = user_options.get(STATE_KEY)
    if state is None:
        raise _Bad(f"no {STATE_KEY} in user_options (started before auto-shutoff, or by another spawner)")
    if not isinstance(state, Mapping):
        raise _Bad(f"{STATE_KEY} is {type(state).__name__}, not a mapping")
    if "idle_timeout" not in state:
        raise _Bad(f"{STATE_KEY}.idle_timeout is missing")
    idle = _seconds(state["idle_timeout"], "idle_timeout", least=1, none_ok=True)
    max_age = _seconds(state.get("max_age"), "max_age", least=1, none_ok=True)
    warn = _seconds(state.get("warn_before", 0), "warn_before", least=0, none_ok=False)
    busy = state.get("count_busy_kernels", False)
    if not isinstance(busy, bool):
        raise _Bad(f"{STATE_KEY}.count_busy_kernels is {busy!r}, not true or false")
    label = user_options.get(CHOICE_KEY)
    if not isinstance(label, str) or not 0 < len(label) <= 32:
        label = NEVER if idle is None else format_duration(idle)
    return Shutoff(label, idle, max_age, warn, busy)


def _seconds(value: object, name: str, *, least: int, none_ok: bool) -> int | None:
    if value is None and none_ok:
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= MAX_SECONDS:
        raise _Bad(f"{STATE_KEY}.{name} is {value!r:.40}, not a number of seconds")
    return value
