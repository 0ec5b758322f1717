"""pytest fixtures for the real test control plane.

Use with ``pytest_plugins = ["tests.kube.fixtures"]`` (in a conftest.py or test module):

* ``kube_control_plane`` (session): a started :class:`ControlPlane` (builds the
  binaries first if they are not cached; a failed build fails the test with the log tail);
* ``kube_hub`` (function): :class:`HubAccess` for a fresh namespace with the hub
  ServiceAccount/Role/RoleBinding of ``hub-rbac.yaml`` (token + kubeconfig);
* ``kube_node_factory`` (function): ``make(name=None, **NodeAgent kwargs) -> NodeAgent``,
  all agents stopped (their pods force-deleted, nodes removed) after the test;
* ``kube_node`` (function): one default node (4 cpu, 8Gi, no GPU).
"""

from __future__ import annotations

import itertools
import os
import uuid

import pytest

from . import build
from .control_plane import ControlPlane, ControlPlaneError, HubAccess
from .node_agent import NodeAgent

_counter = itertools.count(1)


def _binaries_or_go_available() -> bool:
    if all(os.access(p, os.X_OK) for p in build.binary_paths().values()):
        return True
    try:
        build.find_go()
        return True
    except build.BuildError:
        return False


@pytest.fixture(scope="session")
def kube_control_plane():
    if not _binaries_or_go_available():
        if os.environ.get("CI"):
            pytest.fail("CI must run the Kubernetes tests: install Go (the Makefile's kube-binaries step builds "
                        "etcd and kube-apiserver)", pytrace=False)
        pytest.skip("no Go toolchain and no cached etcd/kube-apiserver binaries "
                    "(run `python -m tests.kube.build` where Go is installed)")
    cp = ControlPlane()
    try:
        cp.start()
    except ControlPlaneError as exc:
        cp.stop()
        pytest.fail(str(exc), pytrace=False)
    yield cp
    cp.stop()


@pytest.fixture
def kube_hub(kube_control_plane) -> HubAccess:
    ns = f"hub-{next(_counter)}-{uuid.uuid4().hex[:6]}"
    access = kube_control_plane.setup_hub(ns)
    yield access
    access.client.close()


@pytest.fixture
def kube_node_factory(kube_control_plane):
    agents: list[NodeAgent] = []

    def make(name: str | None = None, **kwargs) -> NodeAgent:
        name = name or f"node-{next(_counter)}-{uuid.uuid4().hex[:4]}"
        agent = NodeAgent(kube_control_plane, name, **kwargs)
        agents.append(agent)
        return agent.start()

    yield make
    for agent in reversed(agents):
        agent.stop()


@pytest.fixture
def kube_node(kube_node_factory) -> NodeAgent:
    return kube_node_factory()
