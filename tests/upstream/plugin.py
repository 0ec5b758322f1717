"""pytest plugin (``-p tests.upstream.plugin``) that runs an upstream suite with the stock or the saturn classes.

``SATURN_UPSTREAM_CLASSES=saturn``: after collection, every module of the suite's test directories (test
modules, conftest, mocks) has each stock class it names replaced by its saturn class (:mod:`.classes`), so
fixtures, ``MockHub`` and the tests build saturn objects. ``stock`` (the control run) changes nothing.
``SATURN_UPSTREAM_SUITE=kubespawner`` also deselects the tests that need a live cluster (their fixtures
create pods), keeping KubeSpawner's cluster-free tests.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

MODE_VAR = "SATURN_UPSTREAM_CLASSES"
SUITE_VAR = "SATURN_UPSTREAM_SUITE"
MODES = ("stock", "saturn")
SUITES = ("jupyterhub", "oauthenticator", "kubespawner")

#: KubeSpawner's conftest fixtures that create namespaces, pods or clients of a live cluster
CLUSTER_FIXTURES = frozenset({"kube_client", "hub_pod", "hub", "hub_pod_ssl", "hub_ssl", "exec_python",
                              "exec_python_pod"})

_PATCHED = pytest.StashKey[list]()


def mode() -> str:
    value = os.environ.get(MODE_VAR, "stock")
    if value not in MODES:
        raise SystemExit(f"{MODE_VAR}={value!r}: must be one of {', '.join(MODES)}")
    return value


def needs_cluster(fixturenames) -> bool:
    return bool(CLUSTER_FIXTURES.intersection(fixturenames))


def patch_globals(modules, substitutions: dict) -> list[str]:
    """Replace, in each module's globals, every value that is a key of ``substitutions``; ``module.name`` list."""
    done = []
    for module in modules:
        namespace = vars(module)
        for name, value in list(namespace.items()):
            if isinstance(value, type) and value in substitutions:
                namespace[name] = substitutions[value]
                done.append(f"{module.__name__}.{name}")
    return sorted(done)


def suite_modules(items) -> list:
    """The modules of the collected tests, and every loaded module in their directories (conftest, mocks)."""
    dirs = {Path(item.module.__file__).resolve().parent for item in items if getattr(item, "module", None)}
    out = []
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and Path(path).resolve().parent in dirs:
            out.append(module)
    return out


@pytest.fixture(autouse=True)
def _own_working_directory(tmp_path_factory, monkeypatch):
    """oauthenticator's tests make a fresh authenticator per test, as a fresh hub would be; a hub keeps its
    state files in its working directory (saturn's identity bindings, beside jupyterhub.sqlite), so each
    test gets its own, in both runs. JupyterHub's tests already give each module one."""
    if os.environ.get(SUITE_VAR) == "oauthenticator":
        monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


def pytest_report_header(config):
    return f"upstream suite {os.environ.get(SUITE_VAR, '?')}: {mode()} classes"


def pytest_collection_modifyitems(session, config, items):
    if os.environ.get(SUITE_VAR) == "kubespawner":
        cluster = [item for item in items if needs_cluster(getattr(item, "fixturenames", ()))]
        if cluster:
            config.hook.pytest_deselected(items=cluster)
            items[:] = [item for item in items if item not in cluster]
    if mode() != "saturn":
        return
    from .classes import substitutions  # noqa: PLC0415 - imports the suite's package

    suite = os.environ.get(SUITE_VAR, "")
    if suite not in SUITES:
        raise SystemExit(f"{SUITE_VAR}={suite!r}: must be one of {', '.join(SUITES)}")
    patched = patch_globals(suite_modules(items), substitutions(suite))
    if not patched:
        raise SystemExit("saturn classes requested, but no module of this suite names a stock class")
    config.stash[_PATCHED] = patched


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    patched = config.stash.get(_PATCHED, None)
    if patched:
        terminalreporter.write_line(f"saturn classes in place of stock ones: {len(patched)} names "
                                    f"(e.g. {', '.join(patched[:3])})")
