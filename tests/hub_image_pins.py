"""The chart's hub image pins, and whether this environment still has every one of them.

``python -m tests.hub_image_pins PINS`` exits 1 naming each pinned package whose installed version
is not its pin (``make venv55`` runs it after installing the package onto the image's exact set).
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path) -> dict[str, str]:
    """``name==version`` lines of a pip-compile output → {canonical name: version}."""
    pins = {}
    for line in Path(path).read_text().splitlines():
        m = PIN.match(line.strip())
        if m:
            pins[canonical(m.group(1))] = m.group(2)
    return pins


def changed(pins: dict[str, str]) -> dict[str, str | None]:
    """Pinned packages whose installed version differs: {name: installed version or None if absent}."""
    out = {}
    for name, version in pins.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            out[name] = installed
    return out


def main(argv: list[str]) -> int:
    pins = read_pins(argv[0])
    diff = changed(pins)
    for name, installed in sorted(diff.items()):
        print(f"{name}: the hub image pins {pins[name]}, installed {installed or 'nothing'}", file=sys.stderr)
    if diff:
        return 1
    print(f"all {len(pins)} hub image pins unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
