import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyterhub_saturn.policy.durations import MAX_SECONDS
from jupyterhub_saturn.policy.shutoff_state import LoadedShutoff, Shutoff, load_shutoff

from ._strategies import SETTINGS, json_values


def test_user_options_shape_is_small_and_json_able():
    shutoff = Shutoff("1h", 3600, 43200, 300)
    stored = shutoff.to_user_options()
    assert stored == {
        "auto_shutoff": "1h",
        "saturn_shutoff": {"idle_timeout": 3600, "max_age": 43200, "warn_before": 300, "count_busy_kernels": False},
    }
    assert load_shutoff(json.loads(json.dumps(stored))) == LoadedShutoff(shutoff, None)


def test_round_trip_inside_other_user_options():
    shutoff = Shutoff("never", None, None, 0, True)
    options = {"size": "small", "gpu": "none", **shutoff.to_user_options()}
    assert load_shutoff(options).shutoff == shutoff


def test_summary():
    assert Shutoff("1h", 3600, None, 300).summary() == "shuts off after 1h idle"
    assert Shutoff("1h", 3600, 43200, 300).summary() == "shuts off after 1h idle, at most 12h after start"
    assert Shutoff("never", None, 86400, 0).summary() == "never shuts off when idle, at most 1d after start"


def test_missing_optional_fields_take_defaults_and_label_is_derived():
    loaded = load_shutoff({"saturn_shutoff": {"idle_timeout": 5400.0}})
    assert loaded == LoadedShutoff(Shutoff("1h30m", 5400, None, 0, False), None)
    assert load_shutoff({"auto_shutoff": 7, "saturn_shutoff": {"idle_timeout": None}}).shutoff.choice == "never"


@pytest.mark.parametrize(
    "options, problem",
    [
        (None, "user_options is NoneType, not a mapping"),
        ([1], "user_options is list, not a mapping"),
        ({}, "no saturn_shutoff in user_options"),
        ({"auto_shutoff": "1h"}, "no saturn_shutoff in user_options"),
        ({"saturn_shutoff": "1h"}, "saturn_shutoff is str, not a mapping"),
        ({"saturn_shutoff": {}}, "saturn_shutoff.idle_timeout is missing"),
        ({"saturn_shutoff": {"idle_timeout": "1h"}}, "saturn_shutoff.idle_timeout is '1h', not a number of seconds"),
        ({"saturn_shutoff": {"idle_timeout": 0}}, "idle_timeout is 0"),
        ({"saturn_shutoff": {"idle_timeout": True}}, "idle_timeout is True"),
        ({"saturn_shutoff": {"idle_timeout": 1.5}}, "idle_timeout is 1.5"),
        ({"saturn_shutoff": {"idle_timeout": float("nan")}}, "idle_timeout is nan"),
        ({"saturn_shutoff": {"idle_timeout": MAX_SECONDS + 1}}, "idle_timeout is"),
        ({"saturn_shutoff": {"idle_timeout": 60, "max_age": -1}}, "max_age is -1"),
        ({"saturn_shutoff": {"idle_timeout": 60, "warn_before": None}}, "warn_before is None"),
        ({"saturn_shutoff": {"idle_timeout": 60, "warn_before": -1}}, "warn_before is -1"),
        ({"saturn_shutoff": {"idle_timeout": 60, "count_busy_kernels": "no"}}, "count_busy_kernels is 'no'"),
    ],
)
def test_garbage_yields_none_and_a_reason(options, problem):
    loaded = load_shutoff(options)
    assert loaded.shutoff is None
    assert problem in loaded.problem


def test_long_garbage_is_truncated_in_the_reason():
    loaded = load_shutoff({"saturn_shutoff": {"idle_timeout": "x" * 10_000}})
    assert loaded.shutoff is None and len(loaded.problem) < 120


shutoffs = st.builds(
    Shutoff,
    choice=st.text(min_size=1, max_size=32),
    idle_timeout=st.none() | st.integers(1, MAX_SECONDS),
    max_age=st.none() | st.integers(1, MAX_SECONDS),
    warn_before=st.integers(0, MAX_SECONDS),
    count_busy_kernels=st.booleans(),
)


@SETTINGS
@given(shutoffs)
def test_every_shutoff_round_trips_through_json(shutoff):
    stored = json.loads(json.dumps(shutoff.to_user_options()))
    assert load_shutoff(stored) == LoadedShutoff(shutoff, None)


@SETTINGS
@given(json_values, st.dictionaries(st.sampled_from(["idle_timeout", "max_age", "warn_before", "count_busy_kernels", "x"]), json_values))
def test_load_never_raises(anything, state):
    for options in (anything, {"saturn_shutoff": anything}, {"saturn_shutoff": state, "auto_shutoff": anything}):
        loaded = load_shutoff(options)
        assert (loaded.shutoff is None) != (loaded.problem is None)
