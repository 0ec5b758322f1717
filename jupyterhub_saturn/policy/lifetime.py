"""How long a throwaway copy lives, in words a visitor reads before pressing Run this copy."""

from __future__ import annotations

from .shutoff_config import ShutoffConfig

_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def human_duration(seconds: int) -> str:
    """``600`` -> ``"10 minutes"``, ``5400`` -> ``"1 hour 30 minutes"`` (two largest units at most)."""
    if seconds <= 0:
        return "0 seconds"
    parts = []
    for name, size in _UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {name}" + ("s" if count != 1 else ""))
    return " ".join(parts[:2])


def throwaway_limits(config: ShutoffConfig) -> tuple[int | None, int | None]:
    """(max idle seconds, max age seconds) every throwaway server gets (the built-in rule)."""
    for rule in config.caps:
        if rule.throwaway is True and rule.label:
            return rule.max_idle, rule.max_age
    return None, None


def throwaway_lifetime(config: ShutoffConfig) -> str:
    """E.g. ``"It stops after 10 minutes without activity and at most 1 hour after it starts."``"""
    idle, age = throwaway_limits(config)
    parts = []
    if idle:
        parts.append(f"after {human_duration(idle)} without activity")
    if age:
        parts.append(f"at most {human_duration(age)} after it starts")
    if not parts:
        return "It stops when the hub's administrators stop it."
    return "It stops " + " and ".join(parts) + "."
