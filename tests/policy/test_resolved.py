"""What a server was started with, read from its state (or, started before the split, its user_options)."""

import pytest

from jupyterhub_saturn.policy import NOTEBOOK_KEY, RESOLVED_KEY, notebook_of, resolved_options

RESOLVED = {"size": "small", "auto_shutoff": "1h", "saturn_shutoff": {"idle_timeout": 3600}, NOTEBOOK_KEY: "nb"}


def test_state_wins_over_user_options():
    assert resolved_options({"size": "medium"}, {"pid": 1, RESOLVED_KEY: RESOLVED}) is RESOLVED
    assert notebook_of({NOTEBOOK_KEY: "spoofed"}, {RESOLVED_KEY: RESOLVED}) == "nb"


def test_servers_started_before_the_split_are_read_from_user_options():
    legacy = {"size": "small", "saturn_shutoff": {"idle_timeout": 60}, NOTEBOOK_KEY: "old"}
    assert resolved_options(legacy, {"pid": 1}) is legacy
    assert resolved_options(legacy, None) is legacy
    assert notebook_of(legacy, {}) == "old"


@pytest.mark.parametrize("user_options,state", [
    (None, None), ("x", 5), ([], {RESOLVED_KEY: "not a dict"}), ({}, {RESOLVED_KEY: None}),
])
def test_garbage_reads_as_nothing(user_options, state):
    assert resolved_options(user_options, state) in ({}, user_options)
    assert notebook_of(user_options, state) is None


@pytest.mark.parametrize("notebook", ["", "x" * 129, 5, None, ["nb"]])
def test_bad_notebook_ids_are_none(notebook):
    assert notebook_of({}, {RESOLVED_KEY: {NOTEBOOK_KEY: notebook}}) is None
