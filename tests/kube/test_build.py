"""The build driver, exercised with a stand-in ``go`` (no network, no real compile)."""

from __future__ import annotations

import json
import os
import sys
import textwrap

import pytest

from tests.kube import build, versions

pytestmark = pytest.mark.processes  # runs a stand-in go

FAKE_GO = textwrap.dedent("""\
    #!{python}
    import json, os, pathlib, sys
    args = sys.argv[1:]
    log = pathlib.Path(os.environ["FAKE_GO_LOG"])
    log.write_text(log.read_text() + json.dumps([os.getcwd()] + args) + "\\n"
                   if log.exists() else json.dumps([os.getcwd()] + args) + "\\n")
    if args[0] == "version":
        print("go version fake")
    elif args[:2] == ["mod", "download"]:
        gomod = pathlib.Path(os.getcwd()) / "upstream.mod"
        gomod.write_text("module k8s.io/kubernetes\\nreplace (\\n"
                         "\\tk8s.io/api => ./staging/src/k8s.io/api\\n"
                         "\\tk8s.io/client-go => ./staging/src/k8s.io/client-go\\n)\\n")
        print(json.dumps({{"GoMod": str(gomod)}}))
    elif args[0] == "build":
        if os.environ.get("FAKE_GO_FAIL"):
            print("line 1 of noise\\nfatal: cannot find module providing package x")
            sys.exit(1)
        out = args[args.index("-o") + 1]
        pathlib.Path(out).write_text("#!/bin/sh\\n")
        os.chmod(out, 0o755)
    """)


@pytest.fixture
def fake_go(tmp_path, monkeypatch):
    go = tmp_path / "go"
    go.write_text(FAKE_GO.format(python=sys.executable))
    go.chmod(0o755)
    monkeypatch.setenv("SATURN_GO", str(go))
    monkeypatch.setenv("SATURN_KUBE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FAKE_GO_LOG", str(tmp_path / "calls.jsonl"))
    return tmp_path / "calls.jsonl"


def _calls(log):
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_builds_both_into_versioned_cache_with_staging_replaces(fake_go, tmp_path):
    paths = build.ensure_binaries()
    assert versions.version_dir() == tmp_path / "cache" / (
        f"k8s-{versions.KUBERNETES_VERSION}_etcd-{versions.ETCD_VERSION}")
    assert set(paths) == {"etcd", "kube-apiserver"}
    assert all(os.access(p, os.X_OK) and p.parent == versions.bin_dir() for p in paths.values())
    builds = [c for c in _calls(fake_go) if c[1] == "build"]
    assert [c[-1] for c in builds] == ["go.etcd.io/etcd/server/v3",
                                       "k8s.io/kubernetes/cmd/kube-apiserver"]
    assert all("-trimpath" in c for c in builds)
    gomod = (versions.version_dir() / "src" / "kube-apiserver" / "go.mod").read_text()
    staging = versions.staging_version()
    assert f"require k8s.io/kubernetes {versions.KUBERNETES_VERSION}" in gomod
    assert f"k8s.io/api => k8s.io/api {staging}" in gomod
    assert f"k8s.io/client-go => k8s.io/client-go {staging}" in gomod
    times = json.loads((versions.version_dir() / "build-times.json").read_text())
    assert set(times) == {"etcd", "kube-apiserver"}


def test_cached_binaries_are_not_rebuilt(fake_go):
    build.ensure_binaries()
    n = len(_calls(fake_go))
    build.ensure_binaries()
    assert len(_calls(fake_go)) == n
    build.ensure_binaries(force=True)
    assert len([c for c in _calls(fake_go)[n:] if c[1] == "build"]) == 2


def test_failed_build_reports_the_log_tail(fake_go, monkeypatch, capsys):
    monkeypatch.setenv("FAKE_GO_FAIL", "1")
    with pytest.raises(build.BuildError) as info:
        build.ensure_binaries()
    assert "fatal: cannot find module providing package x" in str(info.value)
    assert not build.binary_paths()["etcd"].exists()
    assert build.main([]) == 1
    assert "cannot find module" in capsys.readouterr().err
