"""How a size combines with the CPU/memory limits an admin's ``group_overrides`` set. Pure Python.

The rule (``docs/compat.md``): the chosen size sets ``cpu_limit`` and ``mem_limit``; a
``group_overrides`` entry that applies to the user may raise either one, never lower it.
A statically configured ``Spawner.mem_limit``/``cpu_limit`` is the size's to replace.
"""

from __future__ import annotations

from collections.abc import Mapping

from .catalog import Size

#: the Spawner traits a size sets
LIMIT_TRAITS = ("cpu_limit", "mem_limit")


def size_limits(size: Size, group_values: Mapping[str, object] | None = None) -> dict[str, float | int]:
    """``{"cpu_limit": ..., "mem_limit": ...}`` for ``size``, raised by the group overrides' values."""
    limits: dict[str, float | int] = {"cpu_limit": size.cpu, "mem_limit": size.memory}
    for name, value in (group_values or {}).items():
        if name in limits and isinstance(value, (int, float)) and not isinstance(value, bool):
            limits[name] = max(limits[name], value)
    return limits
