"""helm-values/hub-rbac-saturn.yaml, applied the way its header says (``kubectl apply -n <ns> -f``), grants
`patch` on PVCs to that release's hub ServiceAccount and to no other namespace's, on the real apiserver."""

from __future__ import annotations

import uuid
from pathlib import Path

import yaml

pytest_plugins = ["tests.kube.fixtures"]

RBAC = Path(__file__).resolve().parents[2] / "helm-values" / "hub-rbac-saturn.yaml"


def _may(cp, namespace: str, sa_namespace: str, verb: str) -> bool:
    review = cp.admin.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": f"system:serviceaccount:{sa_namespace}:hub",
                 "groups": ["system:serviceaccounts", f"system:serviceaccounts:{sa_namespace}"],
                 "resourceAttributes": {"namespace": namespace, "verb": verb, "resource": "persistentvolumeclaims"}},
    })
    return bool(review["status"].get("allowed"))


def test_the_header_command_binds_the_release_namespaces_hub(kube_control_plane):
    cp = kube_control_plane
    release, other = f"jhub-{uuid.uuid4().hex[:6]}", f"other-{uuid.uuid4().hex[:6]}"
    for ns in (release, other):
        cp.create_namespace(ns)
    assert "kubectl apply -n <ns> -f helm-values/hub-rbac-saturn.yaml" in RBAC.read_text()
    assert not _may(cp, release, release, "patch")
    for doc in yaml.safe_load_all(RBAC.read_text()):   # what `kubectl apply -n <release> -f` does
        if doc:
            cp.apply(doc, release)
    assert _may(cp, release, release, "patch")
    assert not _may(cp, release, other, "patch")       # another namespace's hub account
    assert not _may(cp, other, release, "patch")       # nothing outside the release namespace
    assert not _may(cp, release, release, "update")    # patch only
