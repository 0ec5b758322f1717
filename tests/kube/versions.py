"""Pinned upstream versions for the test control plane (the ONE place to change them)."""

import os
from pathlib import Path

# Kubernetes release whose kube-apiserver we build from k8s.io/kubernetes.
KUBERNETES_VERSION = "v1.34.4"
# etcd release used by Kubernetes v1.34's own integration tests (hack/lib/etcd.sh).
ETCD_VERSION = "v3.6.5"


def staging_version(k8s_version: str = KUBERNETES_VERSION) -> str:
    """The tag of the k8s.io staging modules (k8s.io/api, ...) matching a Kubernetes tag."""
    return "v0." + k8s_version[len("v1."):]


def cache_root() -> Path:
    """Cache directory for built binaries (env SATURN_KUBE_CACHE overrides)."""
    env = os.environ.get("SATURN_KUBE_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "jupyterhub-saturn" / "kube"


def version_dir() -> Path:
    """Directory holding everything built for the pinned versions."""
    return cache_root() / f"k8s-{KUBERNETES_VERSION}_etcd-{ETCD_VERSION}"


def bin_dir() -> Path:
    return version_dir() / "bin"

# Helm, built from its Go module (helm.sh/helm/v3) with its default Kubernetes version set to the
# control plane's, for `helm template` of the Zero-to-JupyterHub chart.
HELM_VERSION = "v3.20.2"


def helm_dir() -> Path:
    """Directory holding the helm build for the pinned helm and Kubernetes versions."""
    return cache_root().parent / f"helm-{HELM_VERSION}_k8s-{KUBERNETES_VERSION}"
