"""The in-server stop rules, on a controlled clock (no processes, no network)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jupyterhub_saturn.singleuser.lifetime import (
    ENV_INTERVAL, ENV_MAX_AGE, ENV_UNREACHABLE, FORGOTTEN, HUB_FORGOT, HUB_UNREACHABLE, MAX_AGE, OK, UNREACHABLE,
    Bounds, Lifetime,
)


def test_hub_unreachable_fires_exactly_at_the_bound_after_the_last_answer():
    life = Lifetime(Bounds(hub_unreachable=60, check_interval=10), started=1000)
    life.observe(1010, OK)
    life.observe(1020, UNREACHABLE)
    assert life.verdict(1069.9) is None
    reason, message = life.verdict(1070)
    assert reason == HUB_UNREACHABLE and "60 s" in message


def test_an_answer_resets_the_unreachable_clock():
    life = Lifetime(Bounds(hub_unreachable=60), started=0)
    life.observe(50, UNREACHABLE)
    life.observe(59, OK)  # hub restarted within the bound
    assert life.verdict(100) is None  # 100 s after start, but only 41 s after the answer
    assert life.verdict(118.9) is None
    assert life.verdict(119)[0] == HUB_UNREACHABLE


def test_a_hub_never_reached_counts_from_the_start():
    life = Lifetime(Bounds(hub_unreachable=30), started=5)
    assert life.verdict(34) is None
    assert life.verdict(35)[0] == HUB_UNREACHABLE


def test_forgotten_needs_two_answers_in_a_row():
    life = Lifetime(Bounds(hub_unreachable=600), started=0)
    life.observe(1, FORGOTTEN)
    assert life.verdict(2) is None
    life.observe(3, OK)  # a fluke: the count starts again
    life.observe(4, FORGOTTEN)
    assert life.verdict(5) is None
    life.observe(6, FORGOTTEN)
    assert life.verdict(6)[0] == HUB_FORGOT


def test_forgotten_answers_do_not_count_as_reachable():
    life = Lifetime(Bounds(hub_unreachable=10), started=0)
    life.observe(9, FORGOTTEN)
    assert life.verdict(10)[0] == HUB_UNREACHABLE


def test_max_age_holds_whatever_the_hub_says_and_wins_ties():
    life = Lifetime(Bounds(hub_unreachable=100, max_age=100), started=0)
    for t in range(0, 100, 10):
        life.observe(t, OK)
    assert life.verdict(99.9) is None
    life2 = Lifetime(Bounds(hub_unreachable=100, max_age=100), started=0)
    assert life2.verdict(100)[0] == MAX_AGE  # both bounds reached at 100 s: max age is the reason
    assert life.verdict(100)[0] == MAX_AGE


def test_bounds_off():
    life = Lifetime(Bounds(hub_unreachable=None, max_age=None), started=0)
    life.observe(1, UNREACHABLE)
    assert life.verdict(10**9) is None
    assert life.seconds_to_next_event(5) is None


def test_seconds_to_next_event():
    life = Lifetime(Bounds(hub_unreachable=60, max_age=500), started=0)
    life.observe(30, OK)
    assert life.seconds_to_next_event(40) == 50
    assert life.seconds_to_next_event(1000) == 0


def test_unknown_outcome_is_refused():
    with pytest.raises(ValueError):
        Lifetime(Bounds(), 0).observe(1, "maybe")


def test_probe_every_is_at_least_three_checks_per_bound():
    assert Bounds(hub_unreachable=90, check_interval=30).probe_every == 30
    assert Bounds(hub_unreachable=3, check_interval=30).probe_every == 1
    assert Bounds(hub_unreachable=None, check_interval=30).probe_every == 30


@pytest.mark.parametrize("kwargs", [{"hub_unreachable": 0}, {"max_age": -1}, {"check_interval": 0},
                                    {"stop_grace": -1}])
def test_invalid_bounds(kwargs):
    with pytest.raises(ValueError):
        Bounds(**kwargs)


def test_env_round_trip_and_zero_means_off():
    b = Bounds(hub_unreachable=90, max_age=3660, check_interval=0.5, stop_grace=10)
    assert Bounds.from_env(b.to_env()) == b
    off = Bounds(hub_unreachable=None, max_age=None)
    env = off.to_env()
    assert env[ENV_UNREACHABLE] == "0" and ENV_MAX_AGE not in env
    assert Bounds.from_env(env) == off
    assert Bounds.from_env({}) == Bounds()


@pytest.mark.parametrize("env,name", [
    ({ENV_UNREACHABLE: "5m"}, ENV_UNREACHABLE), ({ENV_MAX_AGE: "-3"}, ENV_MAX_AGE), ({ENV_MAX_AGE: "nan"}, ENV_MAX_AGE),
    ({ENV_INTERVAL: "0"}, ENV_INTERVAL), ({ENV_UNREACHABLE: "inf"}, ENV_UNREACHABLE),
    ({ENV_INTERVAL: "\u0661\u0662"}, None),  # Arabic-Indic digits: float() accepts them, still a number
])
def test_bad_env_values_name_the_variable(env, name):
    if name is None:
        assert Bounds.from_env(env).check_interval == 12
        return
    with pytest.raises(ValueError, match=name):
        Bounds.from_env(env)


@given(st.lists(st.tuples(st.floats(0, 50), st.sampled_from([OK, UNREACHABLE, FORGOTTEN])), max_size=30))
def test_never_stops_for_the_hub_while_it_answered_within_the_bound(steps):
    """Whatever the history: an unreachable verdict only a full bound after the last answer, a forgotten
    verdict only after two "unknown token" answers with no valid answer since."""
    life = Lifetime(Bounds(hub_unreachable=60, max_age=None), started=0)
    now = 0.0
    for dt, outcome in steps:
        now += dt
        life.observe(now, outcome)
    v = life.verdict(now)
    if v is not None and v[0] == HUB_UNREACHABLE:
        assert now - life.last_answer >= 60
    if v is not None and v[0] == HUB_FORGOT:
        outcomes = [o for _, o in steps]
        since_ok = outcomes[len(outcomes) - outcomes[::-1].index(OK):] if OK in outcomes else outcomes
        assert since_ok.count(FORGOTTEN) >= 2
