"""The hub image's build context (.dockerignore) holds the package sources and nothing else: no
virtualenvs, node_modules, .demo, cookie secrets or databases; the package builds from it alone."""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def context_files(root: Path) -> list[Path]:
    """Files Docker would send for ``root`` with its .dockerignore (the subset of the syntax it uses:
    ``*``, ``!name`` re-including a top-level entry, ``**/pattern``); the last matching line wins."""
    rules = [line.strip() for line in (root / ".dockerignore").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    tops = [rule for rule in rules if not rule.lstrip("!").startswith("**/")]

    def top_included(name: str) -> bool:
        included = True
        for rule in tops:
            if fnmatch.fnmatch(name, rule.lstrip("!")):
                included = rule.startswith("!")
        return included

    kept = []
    candidates = [p for top in root.iterdir() if top_included(top.name)
                  for p in ([top] if top.is_file() else top.rglob("*")) if p.is_file()]
    for path in sorted(candidates):
        rel = path.relative_to(root).as_posix()
        included = True
        for rule in rules:
            negate, pattern = rule.startswith("!"), rule.lstrip("!")
            if pattern.startswith("**/"):
                hit = any(fnmatch.fnmatch(part, pattern[3:]) for part in rel.split("/"))
            else:
                hit = fnmatch.fnmatch(rel.split("/")[0], pattern)
            if hit:
                included = negate
        if included:
            kept.append(path)
    return kept


def test_the_context_is_the_package_sources_only(tmp_path):
    # things a developer's checkout has that must never reach an image layer
    for junk in (".venv/bin/python", ".venv-jh55/x", "node_modules/x/index.js", ".demo/jupyterhub_cookie_secret",
                 "jupyterhub_saturn/__pycache__/x.pyc", "jupyterhub.sqlite", "tests/oidc/node_modules/y.js"):
        (tmp_path / junk).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / junk).write_text("secret")
    shutil.copy(REPO / ".dockerignore", tmp_path / ".dockerignore")
    assert context_files(tmp_path) == []
    tops = {p.relative_to(REPO).parts[0] for p in context_files(REPO)}
    assert tops == {"jupyterhub_saturn", "setup.cfg", "pyproject.toml", "README.md"}
    assert not any("__pycache__" in p.parts or p.name.endswith((".pyc", "cookie_secret", ".sqlite"))
                   for p in context_files(REPO))


@pytest.mark.processes  # a setuptools build
def test_the_package_builds_from_the_context_alone(tmp_path):
    ctx = tmp_path / "ctx"
    for path in context_files(REPO):
        dest = ctx / path.relative_to(REPO)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest)
    # setuptools' build step (what the image's pip install runs first), offline and without the wheel package
    out = subprocess.run([sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build_py",
                          "-d", str(tmp_path / "build")], cwd=ctx, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    built = {p.relative_to(tmp_path / "build").as_posix() for p in (tmp_path / "build").rglob("*") if p.is_file()}
    assert {"jupyterhub_saturn/templates/home.html", "jupyterhub_saturn/auth/mount.py",
            "jupyterhub_saturn/compat.py"} <= built
