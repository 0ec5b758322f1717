"""Build helm from its upstream Go module into the cache, like :mod:`tests.kube.build` builds the apiserver.

Usage: ``python -m tests.kube.helm [--force]``; prints the binary's path. The binary lands in
``<cache>/helm-<ver>_k8s-<ver>/bin/helm`` with helm's own version and its default Kubernetes version
(what ``helm template`` checks a chart's ``kubeVersion`` against) set at link time to the test control
plane's. It has its own lock, so it builds in parallel with the apiserver (``make -j``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from . import versions
from .build import BuildError, _run, _write_module, build_lock, find_go

HELM_MODULE = "helm.sh/helm/v3"


def _log(msg: str) -> None:
    print(f"[helm-build] {msg}", file=sys.stderr, flush=True)


def helm_path() -> Path:
    return versions.helm_dir() / "bin" / "helm"


def ldflags() -> str:
    major, minor = versions.KUBERNETES_VERSION[1:].split(".")[:2]
    return " ".join([
        f"-X {HELM_MODULE}/internal/version.version={versions.HELM_VERSION}",
        f"-X {HELM_MODULE}/internal/version.gitTreeState=clean",
        f"-X {HELM_MODULE}/pkg/lint/rules.k8sVersionMajor={major}",
        f"-X {HELM_MODULE}/pkg/lint/rules.k8sVersionMinor={minor}",
        f"-X {HELM_MODULE}/pkg/chartutil.k8sVersionMajor={major}",
        f"-X {HELM_MODULE}/pkg/chartutil.k8sVersionMinor={minor}",
    ])


def ensure_helm(force: bool = False) -> Path:
    """Build helm if it is missing (or with ``force``); return its path."""
    path = helm_path()
    if not force and os.access(path, os.X_OK):
        return path
    with build_lock(versions.helm_dir()):
        if not force and os.access(path, os.X_OK):  # built by another process while we waited
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        log = versions.helm_dir() / "build.log"
        work = versions.helm_dir() / "src"
        _write_module(work, "helm", f"{HELM_MODULE} {versions.HELM_VERSION}", [])
        _log(f"helm {versions.HELM_VERSION}: building (log: {log}) ...")
        t0 = time.monotonic()
        go = find_go()
        tmp = path.with_name(".helm.tmp")
        _run([go, "build", "-trimpath", f"-ldflags=-s -w {ldflags()}", "-o", str(tmp), f"{HELM_MODULE}/cmd/helm"],
             work, log)
        tmp.replace(path)
        _log(f"helm: built in {time.monotonic() - t0:.0f}s -> {path}")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="rebuild even if the binary exists")
    args = ap.parse_args(argv)
    try:
        print(ensure_helm(force=args.force))
    except BuildError as exc:
        _log(f"FAILED: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
