"""No forced upgrades: what the package declares admits every version the z2jh hub image pins, and in
the venv built from those pins (``make venv55``) every pin is still the installed version."""

from __future__ import annotations

import configparser
import os
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from .hub_image_pins import REPO, canonical, changed, read_pins

pytestmark = pytest.mark.hub_versions

CHART_DIR = Path(os.environ.get("Z2JH_CHART_DIR", REPO.parent / "shared" / "z2jh-chart" / "4.4.0"))
PINS_FILE = CHART_DIR / "hub-image-requirements.txt"
#: the stock parts the issue names; the image must keep these whatever else changes
STOCK = {"jupyterhub": "5.5.0", "jupyterhub-kubespawner": "7.0.0", "oauthenticator": "17.4.0",
         "tornado": "6.5.7", "sqlalchemy": "2.0.50"}


def declared_requirements(extras=("kube", "oauth")) -> list[Requirement]:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    lines = cfg["options"]["install_requires"].splitlines()
    for extra in extras:
        lines += cfg["options.extras_require"][extra].splitlines()
    return [Requirement(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def pins() -> dict[str, str]:
    assert PINS_FILE.is_file(), f"{PINS_FILE} missing: set Z2JH_CHART_DIR to the chart directory"
    return read_pins(PINS_FILE)


def test_the_pins_file_is_the_hub_image_the_product_supports(pins):
    assert {name: pins.get(name) for name in STOCK} == STOCK


def test_every_declared_range_admits_the_pinned_version(pins):
    refused = [f"{req} refuses {pins[canonical(req.name)]}" for req in declared_requirements()
               if canonical(req.name) in pins and not req.specifier.contains(pins[canonical(req.name)], prereleases=True)]
    assert refused == []


def test_installing_the_package_changed_no_pin():
    """Runs in the venv ``make venv55`` built from the hub image's pins (it leaves a copy of them there)."""
    copy = Path(sys.prefix) / "hub-image-pins.txt"
    if not copy.is_file():
        pytest.skip("not the hub-image venv (make venv55 builds it; make test-jh55 runs this there)")
    assert changed(read_pins(copy)) == {}
