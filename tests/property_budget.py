"""How many examples the property (hypothesis) tests try: all of them in the full suite (`make test`), a
tenth in `make unit` (which sets ``SATURN_TESTS=unit``), so the quick loop stays quick and every property is
still tried there; the full suite keeps its full search."""

from __future__ import annotations

import os

from hypothesis import settings

#: true under `make unit`
UNIT = os.environ.get("SATURN_TESTS") == "unit"

# tests that name no count take the profile's: hypothesis' own 100 in the full suite, 10 in `make unit`
settings.register_profile("unit", max_examples=10)
if UNIT:
    settings.load_profile("unit")


def examples(full: int) -> int:
    """``full`` in the full suite; a tenth (at least 10) in `make unit`."""
    return max(10, full // 10) if UNIT else full
