"""The upstream suites: where their tests are in this environment and how pytest must run them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

from ..ports import free_port

REPO = Path(__file__).resolve().parents[2]
#: KubeSpawner ships no tests: its tests/ at each supported tag, read-only (../shared/upstream-tests/README.md)
KUBE_TESTS_VAR = "SATURN_KUBESPAWNER_TESTS"
KUBE_TESTS_DEFAULT = REPO.parent / "shared" / "upstream-tests"


@dataclass(frozen=True)
class Suite:
    name: str  # jupyterhub | oauthenticator | kubespawner (also SATURN_UPSTREAM_SUITE)
    distribution: str
    files: tuple[str, ...]  # test files in the test directory; empty: every test_*.py
    options: tuple[str, ...]  # pytest -o settings (upstream's own pytest configuration)

    def version(self) -> str:
        return metadata.version(self.distribution)

    def test_dir(self) -> Path:
        """The directory of the suite's tests in this environment; FileNotFoundError says where it looked."""
        if self.name == "kubespawner":
            root = Path(os.environ.get(KUBE_TESTS_VAR) or KUBE_TESTS_DEFAULT)
            path = root / f"kubespawner-{self.version()}" / "tests"
            if not path.is_dir():
                raise FileNotFoundError(f"KubeSpawner {self.version()}'s tests are not at {path} (set {KUBE_TESTS_VAR} "
                                        "to a directory holding kubespawner-<version>/tests)")
            return path
        spec = find_spec(f"{self.name}.tests")
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(f"{self.distribution} {self.version()} ships no {self.name}.tests package")
        return Path(next(iter(spec.submodule_search_locations)))

    def rootdir(self) -> Path:
        """pytest's rootdir: test ids are ``jupyterhub.tests.test_api::…``, ``tests.test_objects::…``."""
        return self.test_dir().parent if self.name == "kubespawner" else self.test_dir().parent.parent

    def node_id(self, test_id: str) -> str:
        """The pytest node id of a junit id (``jupyterhub.tests.test_api.TestX::test_y`` → ``…/test_api.py::TestX::test_y``)."""
        classname, name = test_id.split("::", 1)
        parts = classname.split(".")
        for i in range(len(parts), 0, -1):
            path = self.rootdir().joinpath(*parts[:i]).with_suffix(".py")
            if path.is_file():
                return "::".join([str(path), *parts[i:], name])
        raise ValueError(f"no test file for {test_id} under {self.rootdir()}")

    def paths(self) -> list[str]:
        directory = self.test_dir()
        names = self.files or tuple(sorted(p.name for p in directory.glob("test_*.py")))
        return [str(directory / name) for name in names]


SUITES = (
    # MockHub is module-scoped: its tests share the module's event loop (as JupyterHub's own config says)
    Suite("jupyterhub", "jupyterhub", ("test_spawner.py", "test_api.py", "test_named_servers.py"),
          ("asyncio_default_fixture_loop_scope=module", "asyncio_default_test_loop_scope=module")),
    Suite("oauthenticator", "oauthenticator", ("test_generic.py", "test_github.py", "test_google.py"),
          ("asyncio_default_fixture_loop_scope=function",)),
    Suite("kubespawner", "jupyterhub-kubespawner", (), ("asyncio_default_fixture_loop_scope=function",)),
)


def hub_version() -> str:
    """The JupyterHub version set of this environment, ``major.minor`` (``6.1``, ``5.5``)."""
    return ".".join(metadata.version("jupyterhub").split(".")[:2])


def write_kubeconfig(path: Path) -> Path:
    """A kubeconfig naming a loopback port nothing listens on: KubeSpawner (even in mock mode) and its conftest
    load one at import; the cluster-free tests never reach it, and anything that tries is refused at once."""
    path.write_text(f"""apiVersion: v1
kind: Config
clusters:
- cluster: {{server: "http://127.0.0.1:{free_port()}"}}
  name: none
contexts:
- context: {{cluster: none, user: none, namespace: kubespawner-test}}
  name: none
current-context: none
users:
- name: none
  user: {{token: not-a-cluster}}
""")
    return path
