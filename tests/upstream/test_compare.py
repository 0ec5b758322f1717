"""The comparison of upstream runs (tests/upstream/compare.py), the class substitution, and the agreement of
intended.yaml with docs/compat.md."""

from __future__ import annotations

import re
import types

import pytest

from . import compare, plugin
from .compare import FAILED, PASSED, SKIPPED, Intended
from .suites import REPO, SUITES

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="4">
<testcase classname="jupyterhub.tests.test_api" name="test_ok" time="0.1"/>
<testcase classname="jupyterhub.tests.test_api" name="test_bad[a]" time="0.1"><failure message="x">tb</failure></testcase>
<testcase classname="jupyterhub.tests.test_api" name="test_err" time="0.1"><error message="x">tb</error></testcase>
<testcase classname="jupyterhub.tests.test_api" name="test_skip" time="0.1"><skipped message="s"/></testcase>
</testsuite></testsuites>"""


def test_read_junit_outcomes(tmp_path):
    path = tmp_path / "j.xml"
    path.write_text(JUNIT)
    assert compare.read_junit(path) == {
        "jupyterhub.tests.test_api::test_ok": PASSED,
        "jupyterhub.tests.test_api::test_bad[a]": FAILED,
        "jupyterhub.tests.test_api::test_err": FAILED,
        "jupyterhub.tests.test_api::test_skip": SKIPPED,
    }
    assert compare.failure_messages(path) == {"jupyterhub.tests.test_api::test_bad[a]": "x",
                                              "jupyterhub.tests.test_api::test_err": "x"}


def test_compare_sorts_differences_into_intended_unexplained_control_and_stale():
    stock = {"m::same": PASSED, "m::fixed[x]": PASSED, "m::fixed[y]": PASSED, "m::broken": PASSED,
             "m::control": FAILED, "m::gone": PASSED, "m::skipped_now": PASSED, "m::better": SKIPPED}
    saturn = {"m::same": PASSED, "m::fixed[x]": FAILED, "m::fixed[y]": FAILED, "m::broken": FAILED,
              "m::control": FAILED, "m::skipped_now": SKIPPED, "m::better": PASSED}
    intended = [
        Intended("jupyterhub", "m::fixed[*", "a saturn rule"),
        Intended("jupyterhub", "m::no_longer", "was different once"),
        Intended("jupyterhub", "m::control", "cannot tell while stock fails"),
        Intended("jupyterhub", "m::broken", "only on 5.5", versions=("5.5",)),
        Intended("oauthenticator", "m::broken", "another suite"),
    ]
    r = compare.compare("jupyterhub", "6.1", stock, saturn, intended)
    assert sorted(r.intended) == ["m::fixed[x]", "m::fixed[y]"]
    assert r.unexplained == ["m::broken", "m::gone", "m::skipped_now"]
    assert r.control_failures == ["m::control"]
    assert [e.test for e in r.stale] == ["m::no_longer"]
    assert r.saturn_only_passes == ["m::better"]
    assert compare.unexplained_total([r]) == 3
    on55 = compare.compare("jupyterhub", "5.5", stock, saturn, intended)
    assert "m::broken" in on55.intended and "m::broken" not in on55.unexplained


def test_a_difference_that_passes_when_run_again_is_reported_not_counted():
    r = compare.compare("jupyterhub", "6.1", {"m::a": PASSED, "m::b": PASSED}, {"m::a": FAILED, "m::b": FAILED}, [])
    r.passed_on_retry({"m::a": PASSED, "m::b": FAILED})
    assert r.unexplained == ["m::b"] and r.retried == ["m::a"]
    assert any(line.startswith("retried [jupyterhub, JupyterHub 6.1] m::a") for line in compare.details([r]))


def test_junit_ids_map_back_to_node_ids():
    suite = next(s for s in SUITES if s.name == "jupyterhub")
    node = suite.node_id("jupyterhub.tests.test_api::test_spawn[a.b]")
    assert node.endswith("jupyterhub/tests/test_api.py::test_spawn[a.b]")
    with pytest.raises(ValueError, match="no test file"):
        suite.node_id("jupyterhub.tests.no_such_module::test_x")


def test_table_and_details_name_counts_and_tests():
    r = compare.compare("kubespawner", "6.1", {"t::a": PASSED, "t::b": PASSED}, {"t::a": PASSED, "t::b": FAILED}, [])
    text = compare.table([r])
    assert text.splitlines()[0].split()[:2] == ["suite", "JupyterHub"]
    assert "kubespawner  6.1" in text and "2/0" in text and "1/1" in text
    assert compare.details([r]) == ["UNEXPLAINED [kubespawner, JupyterHub 6.1] t::b: passes stock, failed saturn"]


@pytest.mark.parametrize("text, problem", [
    ("jupyterhub: [{test: a}]", "needs a test id and a reason"),
    ("jupyterhub: [{test: a, reason: b, version: [6.1]}]", "unknown key"),
])
def test_malformed_intended_entries_are_refused(tmp_path, text, problem):
    path = tmp_path / "intended.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=problem):
        compare.load_intended(path)


def test_patch_globals_replaces_stock_classes_only_by_identity():
    class Stock: ...
    class Saturn(Stock): ...
    class Lookalike: ...
    module = types.ModuleType("m")
    module.Stock, module.Alias, module.Other, module.value = Stock, Stock, Lookalike, 3
    assert plugin.patch_globals([module], {Stock: Saturn}) == ["m.Alias", "m.Stock"]
    assert module.Stock is Saturn and module.Alias is Saturn and module.Other is Lookalike and module.value == 3


def test_cluster_tests_are_told_by_their_fixtures():
    assert plugin.needs_cluster(["config", "kube_client"]) and plugin.needs_cluster(["hub"])
    assert not plugin.needs_cluster(["config", "kube_ns", "reset_pod_reflectors"])


def compat_rows() -> set[tuple[str, str, tuple[str, ...]]]:
    """(suite, test, versions) of the intended-differences table in docs/compat.md's "Upstream suites"."""
    text = (REPO / "docs" / "compat.md").read_text()
    section = text.split("## Upstream suites", 1)[1].split("\n## ", 1)[0]
    table = section.split("### Intended differences", 1)[1]
    rows = set()
    for line in table.splitlines():
        m = re.match(r"\|\s*(\w+)\s*\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|", line)
        if m:
            versions = () if m.group(3) == "all" else tuple(v.strip() for v in m.group(3).split(","))
            rows.add((m.group(1), m.group(2), versions))
    return rows


def test_every_intended_difference_is_listed_in_docs_compat_and_nothing_else():
    data = {(e.suite, e.test, e.versions) for e in compare.load_intended()}
    assert compat_rows() == data
