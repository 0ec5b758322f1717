"""Parse and format resource quantities: memory/disk sizes and CPU counts.

Accepts the notations admins already write for JupyterHub and Kubernetes:
``"2G"``, ``"512M"``, ``"8Gi"``, ``"1.5T"``, plain integers (bytes); CPUs as numbers or
millicores (``"500m"``). Errors name the key path they were found at.
"""

from __future__ import annotations

import re

from ..errors import ConfigError

_DECIMAL = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|Pi|K|M|G|T|P)?B?\s*$")
_CPU_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)(m?)\s*$")

SIZE_EXAMPLES = ["2G", "512M", "8Gi", "1T"]


def parse_size(value, path: str) -> int:
    """Return a byte count for ``value`` or raise :class:`ConfigError` naming ``path``."""
    if isinstance(value, bool):
        raise ConfigError(path, f"expected a size like {', '.join(SIZE_EXAMPLES)}, got {value!r}")
    if isinstance(value, int):
        if value <= 0:
            raise ConfigError(path, f"a size must be positive, got {value!r}")
        return value
    if not isinstance(value, str):
        raise ConfigError(path, f"expected a size like {', '.join(SIZE_EXAMPLES)}, got {value!r}")
    m = _SIZE_RE.match(value)
    if not m:
        raise ConfigError(path, f"{value!r} is not a size; write it like {', '.join(SIZE_EXAMPLES)}")
    number, unit = float(m.group(1)), m.group(2) or ""
    factor = _BINARY.get(unit) or _DECIMAL[unit]
    result = int(number * factor)
    if result <= 0:
        raise ConfigError(path, f"a size must be positive, got {value!r}")
    return result


def parse_cpu(value, path: str) -> float:
    """Return a CPU count (float) for ``value`` (``2``, ``0.5``, ``"500m"``)."""
    if isinstance(value, bool):
        raise ConfigError(path, f"expected a CPU count like 1, 0.5 or '500m', got {value!r}")
    if isinstance(value, (int, float)):
        cpus = float(value)
    elif isinstance(value, str) and (m := _CPU_RE.match(value)):
        cpus = float(m.group(1)) / (1000 if m.group(2) else 1)
    else:
        raise ConfigError(path, f"expected a CPU count like 1, 0.5 or '500m', got {value!r}")
    if not cpus > 0 or cpus != cpus:
        raise ConfigError(path, f"a CPU count must be positive, got {value!r}")
    return cpus


def format_size(n: int) -> str:
    """Human form of a byte count: the shortest exact unit (``2G``, ``10Gi``), else one decimal."""
    exact = [
        f"{n // factor}{unit}"
        for unit, factor in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("T", 10**12), ("G", 10**9), ("M", 10**6))
        if n >= factor and n % factor == 0
    ]
    if exact:
        return min(exact, key=len)
    for unit, factor in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= factor:
            return f"{n / factor:.1f}{unit}"
    return f"{n}"


def format_cpu(cpus: float) -> str:
    """``2.0`` → ``"2"``, ``0.5`` → ``"0.5"``."""
    return f"{cpus:g}"


def kube_quantity(n: int) -> str:
    """A byte count as an exact Kubernetes quantity string, in its shortest form (``50Gi``, ``2G``)."""
    units = (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10), ("T", 10**12), ("G", 10**9), ("M", 10**6), ("k", 10**3))
    exact = [f"{n // f}{u}" for u, f in units if n >= f and n % f == 0]
    return min(exact + [str(n)], key=len)
