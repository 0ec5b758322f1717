"""Durations as admins and users write them: ``"90s"``, ``"15m"``, ``"1h30m"``, ``"2d"``.

Grammar: one or more ``<digits><unit>`` parts, units ``d`` ``h`` ``m`` ``s`` in that order,
each at most once, optional spaces between parts, case-insensitive. A plain ``int``
(or an integral ``float``, as JSON may deliver) is a number of seconds. A string of bare
digits is refused: ``"90"`` could mean seconds or minutes, so we ask for a unit.

``"never"`` is *not* a duration; callers that accept it (auto-shutoff choices) handle it
before calling :func:`parse_duration`, which refuses it with a message saying so.

The canonical spelling (:func:`format_duration`) uses the largest units first:
5400 s -> ``"1h30m"``, 90 s -> ``"1m30s"``, 86400 s -> ``"1d"``.
"""

from __future__ import annotations

import math
import re

from ..errors import ConfigError, InvalidChoice

#: Longest accepted duration (ten years). Keeps datetime arithmetic far from overflow.
MAX_SECONDS = 10 * 366 * 86400

_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_UNIT_SECONDS = dict(_UNITS)
_PATTERN = re.compile(
    r"^\s*(?:(?P<d>\d+)\s*d)?\s*(?:(?P<h>\d+)\s*h)?\s*(?:(?P<m>\d+)\s*m)?\s*(?:(?P<s>\d+)\s*s)?\s*$",
    re.ASCII,
)
#: Appended to every complaint about the format, so the reader learns what to write.
FORMAT_HINT = "a duration is digits with a unit d, h, m or s, e.g. '90s', '15m', '1h30m', '2d'"


class _Problem(Exception):
    def __init__(self, message: str, *, hint: bool = True):
        if hint:
            message = f"{message} ({FORMAT_HINT})"
        super().__init__(message)
        self.message = message


def parse_duration(value: object, *, field: str, allow_zero: bool = False) -> int:
    """Return ``value`` as whole seconds, or raise ``InvalidChoice`` (400) naming ``field``.

    Zero is refused unless ``allow_zero``; negative values are always refused.
    """
    try:
        return _parse(value, allow_zero)
    except _Problem as problem:
        raise InvalidChoice(f"{field}: {problem.message}", field=field, allowed=None) from None


def config_duration(value: object, *, path: str, allow_zero: bool = False) -> int:
    """Like :func:`parse_duration` for configuration: raises ``ConfigError`` naming ``path``."""
    try:
        return _parse(value, allow_zero)
    except _Problem as problem:
        raise ConfigError(path, problem.message, allowed=None) from None


def _parse(value: object, allow_zero: bool) -> int:
    seconds = _to_seconds(value)
    if seconds < 0 or (seconds == 0 and not allow_zero):
        least = "0s" if allow_zero else "1s"
        raise _Problem(f"{value!r} is too short; the least is {least}", hint=False)
    if seconds > MAX_SECONDS:
        raise _Problem(f"{value!r} is too long; the most is {format_duration(MAX_SECONDS)}", hint=False)
    return seconds


def _to_seconds(value: object) -> int:
    if isinstance(value, bool):
        raise _Problem(f"expected a duration, got the boolean {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return int(value)
        raise _Problem(f"{value!r} is not a whole number of seconds")
    if not isinstance(value, str):
        raise _Problem(f"expected a duration such as '15m', got {type(value).__name__}")
    text = value.strip().lower()
    if text == "never":
        raise _Problem("'never' is not a duration; give a length of time")
    if text.isdigit():
        raise _Problem(f"{value!r} has no unit; write e.g. '{text}s' or '{text}m'")
    match = _PATTERN.match(text) if len(text) <= 64 else None
    if match is None or not any(match.groupdict().values()):
        raise _Problem(f"{value!r} is not a duration")
    return sum(int(n) * _UNIT_SECONDS[u] for u, n in match.groupdict().items() if n is not None)


def format_duration(seconds: int) -> str:
    """The canonical spelling of ``seconds`` (``0`` -> ``"0s"``, ``5400`` -> ``"1h30m"``)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
        raise ValueError(f"format_duration needs a non-negative int, got {seconds!r}")
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in _UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
