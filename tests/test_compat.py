"""The private upstream names of :mod:`jupyterhub_saturn.compat` exist, with the shape it relies on,
on the installed upstream set (``make test`` runs this on both supported sets)."""

from __future__ import annotations

import ast
import importlib
import inspect
from importlib import metadata
from pathlib import Path

import pytest

from jupyterhub_saturn import compat

pytestmark = pytest.mark.hub_versions

PACKAGE = Path(compat.__file__).parent


def _owner(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("owner, name", [(o, n) for o, names in compat.PRIVATE_NAMES.items() for n in names])
def test_every_private_name_exists_on_this_upstream_version(owner, name):
    cls = _owner(owner)
    if name == "_stopping":  # a traitlet of the reflector
        assert name in cls.class_traits(), f"{owner}.{name} is gone"
        return
    assert hasattr(cls, name), f"{owner}.{name} is gone in this upstream version"


def _params(fn) -> list[str]:
    return list(inspect.signature(fn).parameters)


def test_the_signatures_compat_calls():
    from jupyterhub.app import JupyterHub
    from jupyterhub.spawner import Spawner
    from kubespawner import KubeSpawner
    from oauthenticator.google import GoogleOAuthenticator

    assert _params(KubeSpawner._make_create_pod_request) == ["self", "pod", "request_timeout"]
    assert _params(KubeSpawner._make_create_pvc_request) == ["self", "pvc", "request_timeout"]
    assert _params(KubeSpawner._get_reflector_key) == ["self", "kind"]
    assert _params(KubeSpawner._start_watching_pods)[:2] == ["self", "replace"]
    assert _params(KubeSpawner._expand_user_properties)[:2] == ["self", "template"]
    assert _params(Spawner._apply_user_options_dict) == ["self", "user_options"]
    assert Spawner(options_from_form="passthrough").options_from_form is Spawner._passthrough_options_from_form
    assert Spawner._spawn_pending is False and isinstance(Spawner._log_name, property)
    assert _params(GoogleOAuthenticator._fetch_member_groups)[:3] == ["self", "member_email", "user_email_domain"]
    default_dir = JupyterHub()._template_paths_default()[0]
    assert Path(default_dir, "home.html").is_file() and Path(default_dir, "page.html").is_file()


def test_the_mixin_overrides_land_on_kubespawners_own_steps():
    """KubeSpawnerSteps sits right before KubeSpawner, so its super() calls reach the real steps."""
    from kubespawner import KubeSpawner

    from jupyterhub_saturn.spawners.kube import SaturnKubeSpawner

    mro = SaturnKubeSpawner.__mro__
    assert mro.index(compat.KubeSpawnerSteps) + 1 == mro.index(KubeSpawner)


def test_no_private_upstream_name_outside_compat():
    """Attribute access ``x._name`` where ``_name`` is one of the private upstream names: only in compat.py."""
    private = {n for names in compat.PRIVATE_NAMES.values() for n in names}
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "compat.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in private:
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} .{node.attr}")
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in private:
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} def {node.name}")
    assert offenders == []


def test_versions_under_test_are_a_supported_set():
    hub = tuple(int(x) for x in metadata.version("jupyterhub").split(".")[:2])
    kube = tuple(int(x) for x in metadata.version("jupyterhub-kubespawner").split(".")[:2])
    assert hub >= (5, 5) and hub < (7, 0)
    assert kube >= (7, 0) and kube < (8, 0)
