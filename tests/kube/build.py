"""Build etcd and kube-apiserver from their upstream Go modules into the cache.

Usage: ``python -m tests.kube.build [--force]``. Binaries land in
``<cache>/k8s-<ver>_etcd-<ver>/bin/`` (see ``versions.py``); a binary that is
already there is not rebuilt.  Each build runs in a throwaway Go module under
the cache whose generated ``go.mod`` requires the upstream module at the pinned
tag (plus, for Kubernetes, ``replace`` lines mapping its staging modules to the
matching ``v0.X.Y`` tags).  Nothing is written inside the repository.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import versions

K8S_MODULE = "k8s.io/kubernetes"
ETCD_MODULE = "go.etcd.io/etcd/server/v3"


class BuildError(RuntimeError):
    """A Go build failed; the message ends with the tail of the build log."""


def _log(msg: str) -> None:
    print(f"[kube-build] {msg}", file=sys.stderr, flush=True)


def find_go() -> str:
    """Path of the Go toolchain (env SATURN_GO, PATH, or /usr/local/go/bin/go)."""
    for cand in (os.environ.get("SATURN_GO"), shutil.which("go"), "/usr/local/go/bin/go"):
        if cand and os.access(cand, os.X_OK):
            return cand
    raise BuildError("Go toolchain not found (set SATURN_GO or put go on PATH)")


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GOTOOLCHAIN="local", CGO_ENABLED="0", GOFLAGS="-mod=mod")
    return env


def _run(cmd: list[str], cwd: Path, log: Path) -> str:
    """Run a command, appending its output to ``log``; raise BuildError with the tail."""
    with log.open("a") as fh:
        fh.write(f"\n$ {' '.join(cmd)}  (cwd={cwd})\n")
        fh.flush()
        proc = subprocess.run(cmd, cwd=cwd, env=_go_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        fh.write(proc.stdout)
    if proc.returncode != 0:
        raise BuildError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n"
                         f"--- tail of {log} ---\n{log_tail(log)}")
    return proc.stdout


def log_tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no build log)"


def _staging_replaces(go: str, workdir: Path, log: Path) -> list[str]:
    """Module paths that k8s.io/kubernetes replaces with its ./staging directories."""
    out = _run([go, "mod", "download", "-json", f"{K8S_MODULE}@{versions.KUBERNETES_VERSION}"],
               workdir, log)
    gomod = Path(json.loads(out)["GoMod"]).read_text()
    mods = re.findall(r"^\s*(k8s\.io/[\w.-]+)\s+=>\s+\./staging/", gomod, re.M)
    if not mods:
        raise BuildError(f"no staging replace directives found in {K8S_MODULE} go.mod")
    return sorted(set(mods))


def _write_module(workdir: Path, name: str, require: str, replaces: list[str]) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    lines = [f"module saturn.invalid/{name}-build", "", "go 1.24.0", "", f"require {require}", ""]
    if replaces:
        lines.append("replace (")
        lines += [f"\t{r}" for r in replaces]
        lines.append(")")
    (workdir / "go.mod").write_text("\n".join(lines) + "\n")


def _version_ldflags() -> str:
    v = versions.KUBERNETES_VERSION
    major, minor = v[1:].split(".")[:2]
    flags = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {pkg}.gitVersion={v}", f"-X {pkg}.gitMajor={major}",
                  f"-X {pkg}.gitMinor={minor}", f"-X {pkg}.gitTreeState=clean"]
    return " ".join(flags)


def _build(go: str, name: str, pkg: str, workdir: Path, ldflags: str, log: Path) -> None:
    out = versions.bin_dir() / name
    tmp = out.with_name(f".{name}.tmp")
    cmd = [go, "build", "-trimpath", f"-ldflags=-s -w {ldflags}".strip(), "-o", str(tmp), pkg]
    _run(cmd, workdir, log)
    tmp.replace(out)


def build_etcd(go: str, log: Path) -> None:
    work = versions.version_dir() / "src" / "etcd"
    _write_module(work, "etcd", f"{ETCD_MODULE} {versions.ETCD_VERSION}", [])
    _build(go, "etcd", ETCD_MODULE, work, "", log)


def build_kube_apiserver(go: str, log: Path) -> None:
    work = versions.version_dir() / "src" / "kube-apiserver"
    work.mkdir(parents=True, exist_ok=True)
    staging = versions.staging_version()
    replaces = [f"{m} => {m} {staging}" for m in _staging_replaces(go, work, log)]
    _write_module(work, "kube-apiserver", f"{K8S_MODULE} {versions.KUBERNETES_VERSION}", replaces)
    _build(go, "kube-apiserver", f"{K8S_MODULE}/cmd/kube-apiserver", work, _version_ldflags(), log)


BUILDERS = {"etcd": build_etcd, "kube-apiserver": build_kube_apiserver}


@contextlib.contextmanager
def build_lock(directory: Path):
    """Hold ``directory/.build.lock`` (one build per cache directory, across processes and test runs)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".build.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def binary_paths() -> dict[str, Path]:
    return {name: versions.bin_dir() / name for name in BUILDERS}


def ensure_binaries(force: bool = False) -> dict[str, Path]:
    """Build missing binaries (all of them with ``force``); return name -> path."""
    paths = binary_paths()
    if not force and all(os.access(p, os.X_OK) for p in paths.values()):
        return paths
    with build_lock(versions.version_dir()):
        versions.bin_dir().mkdir(parents=True, exist_ok=True)
        log = versions.version_dir() / "build.log"
        go = find_go()
        times_file = versions.version_dir() / "build-times.json"
        times = json.loads(times_file.read_text()) if times_file.exists() else {}
        for name, builder in BUILDERS.items():
            if not force and os.access(paths[name], os.X_OK):
                _log(f"{name}: cached at {paths[name]}")
                continue
            _log(f"{name}: building (log: {log}) ...")
            t0 = time.monotonic()
            builder(go, log)
            took = time.monotonic() - t0
            times[name] = {"seconds": round(took, 1), "go": _go_version(go), "at": time.ctime()}
            _log(f"{name}: built in {took:.0f}s -> {paths[name]}")
        times_file.write_text(json.dumps(times, indent=2) + "\n")
    return paths


def _go_version(go: str) -> str:
    return subprocess.run([go, "version"], capture_output=True, text=True).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="rebuild even if binaries exist")
    args = ap.parse_args(argv)
    _log(f"kubernetes {versions.KUBERNETES_VERSION}, etcd {versions.ETCD_VERSION}, "
         f"cache {versions.version_dir()}")
    try:
        paths = ensure_binaries(force=args.force)
    except BuildError as exc:
        _log(f"FAILED: {exc}")
        return 1
    for name, path in paths.items():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
