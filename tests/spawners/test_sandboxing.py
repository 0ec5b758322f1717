"""spawners/sandboxing.py parts that need no hub: the package's bytecode written at start-up."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from jupyterhub_saturn.singleuser import watchdog
from jupyterhub_saturn.spawners.sandboxing import PACKAGE_DIR, compile_package


def test_the_watchdogs_bytecode_is_written_for_sandboxes_that_cannot():
    # the watchdog is the first code every sandboxed server runs, from the read-only package directory
    source = Path(watchdog.__file__)
    assert str(source).startswith(PACKAGE_DIR)
    cached = Path(importlib.util.cache_from_source(str(source)))
    cached.unlink(missing_ok=True)
    compile_package()
    assert cached.exists() and cached.stat().st_mtime >= source.stat().st_mtime
